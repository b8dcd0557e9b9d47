"""Presets grow untreated; the archetypes differ where they should; MC38 growth matches."""

import numpy as np
import pytest

from immunocycle.cycle import simulate_cycle

ARCHETYPES = ("inflamed", "excluded", "desert")


@pytest.fixture(scope="module")
def untreated():
    return {p: simulate_cycle(p, days=84) for p in ("human", "mouse", *ARCHETYPES)}


@pytest.fixture(scope="module")
def starts(untreated):
    return {p: r.patient(0).iloc[0] for p, r in untreated.items()}


@pytest.mark.parametrize("preset", ["human", "mouse", *ARCHETYPES])
def test_untreated_tumors_grow(untreated, preset):
    res = untreated[preset]
    assert res.pretreatment.reached.all() and (res.result.status == 0).all()
    d = res.patient(0)["tumor_diameter"]
    if preset == "mouse":  # MC38 reaches ethical end points within about 3 weeks
        d = d.loc[:21]
    assert d.iloc[-1] > 1.1 * d.iloc[0]
    assert np.all(np.diff(d.to_numpy()) > 0)


def test_mouse_matches_mc38_growth(untreated):
    # calibration_targets.md: MC38 untreated, 165 mm3 at day 0 -> 265, 580, 945 mm3
    v = untreated["mouse"].patient(0)["tumor_volume"]
    assert v.loc[0] == pytest.approx(165.0, rel=0.02)
    for day, target in ((3, 265.0), (7, 580.0), (10, 945.0)):
        assert v.loc[day] == pytest.approx(target, rel=0.25)


def test_desert_has_the_lowest_antigen_presentation_and_priming(starts):
    for flux in ("J2", "J3"):
        values = {p: starts[p][flux] for p in ("human", *ARCHETYPES)}
        assert min(values, key=values.get) == "desert"
        assert values["desert"] < 0.1 * values["human"]


def test_excluded_has_effectors_in_blood_and_margin_but_low_infiltration(starts, untreated):
    ex, ref = starts["excluded"], starts["human"]
    blood = {p: untreated[p].result["T_E_B"][0, 0] for p in ("human", "excluded", "desert")}
    assert blood["excluded"] > 0.5 * blood["human"] and blood["excluded"] > 100 * blood["desert"]
    assert ex["density_margin"] > ref["density_margin"]
    assert ex["density_margin"] > 3 * ex["density_parenchyma"]
    assert ex["J5"] < 0.3 * ref["J5"]
    assert ex["J5"] < 0.1 * starts["inflamed"]["J5"]


def test_inflamed_has_high_infiltration_and_pd1_engagement(starts):
    # The homeostatic ceiling bounds how many more effectors a high antigen load buys: the
    # inflamed archetype infiltrates about 1.6x the reference at diagnosis (not the 5x it had
    # without the ceiling), but several times the excluded and desert tumors.
    inf = starts["inflamed"]
    for other in ("human", "excluded", "desert"):
        assert inf["J5"] > (1.3 if other == "human" else 5) * starts[other]["J5"]
        assert inf["density_parenchyma"] > 3 * starts[other]["density_parenchyma"]
        assert inf["pd1_engagement"] > starts[other]["pd1_engagement"] + 0.2
    assert inf["pd1_engagement"] > 0.5


@pytest.mark.parametrize("preset", ARCHETYPES)
def test_classifier_labels_each_archetype_at_diagnosis(starts, preset):
    assert starts[preset]["phenotype"] == preset


def test_limiting_step_of_the_excluded_tumor_is_infiltration(untreated):
    assert untreated["excluded"].summary()["limiting_step"]["at_diagnosis"] == 5
    assert untreated["desert"].summary()["limiting_step"]["at_diagnosis"] in (1, 2, 3)


def test_summary_keys(untreated):
    s = untreated["inflamed"].summary()
    for key in ("phenotype_at_start", "phenotype_at_end", "limiting_step", "cycle_gain",
                "diameter_mm_start", "diameter_mm_end", "pd1_occupancy_mean", "fluxes"):
        assert key in s
    assert set(s["fluxes"]) == {f"J{k}" for k in range(1, 8)}
    assert s["diameter_mm_start"] == pytest.approx(30.0, rel=1e-3)


def test_mouse_anti_pdl1_slows_mc38_as_observed(untreated):
    # calibration_targets.md: anti-PD-L1 alone, median about 290 mm3 at day 7 and 345 at day 10
    treated = simulate_cycle("mouse", ["anti_pdl1_mouse"], days=10).patient(0)["tumor_volume"]
    assert treated.loc[7] == pytest.approx(290.0, rel=0.25)
    assert treated.loc[10] == pytest.approx(345.0, rel=0.25)
    assert treated.loc[10] < 0.5 * untreated["mouse"].patient(0)["tumor_volume"].loc[10]
