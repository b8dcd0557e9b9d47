"""Therapies act where they should: anti-PD-1 in inflamed tumors, stroma in excluded ones,
antigen presentation in deserts."""

import pytest

from immunocycle.cycle import available_therapies, load_therapy, simulate_cycle

ARCHETYPES = ("inflamed", "excluded", "desert")
DAYS = 84


def _end(res):
    return res.patient(0)["tumor_diameter"].iloc[-1]


@pytest.fixture(scope="module")
def control():
    return {p: simulate_cycle(p, days=DAYS) for p in ARCHETYPES}


@pytest.fixture(scope="module")
def nivolumab():
    return {p: simulate_cycle(p, ["nivolumab"], days=DAYS) for p in ARCHETYPES}


def test_anti_pd1_occupies_pd1_and_raises_recognition_and_killing(control, nivolumab):
    res = nivolumab["inflamed"]
    assert res.summary()["pd1_occupancy_mean"] > 0.9
    t, c = res.patient(0), control["inflamed"].patient(0)
    for flux in ("J6", "J7"):
        assert t.loc[14, flux] > 2 * c.loc[14, flux]


def test_anti_pd1_shrinks_inflamed_far_more_than_desert(control, nivolumab):
    effect = {p: _end(control[p]) - _end(nivolumab[p]) for p in ARCHETYPES}
    assert _end(nivolumab["inflamed"]) < 0.7 * 30.0  # a RECIST partial response
    assert effect["inflamed"] > 10 * max(effect["desert"], 0.1)
    assert abs(effect["desert"]) < 0.5


def test_lowering_the_stromal_barrier_helps_excluded_most(control):
    effect = {p: _end(control[p]) - _end(simulate_cycle(p, days=DAYS,
              treatment_parameters={"barrier_scale": 0.1})) for p in ARCHETYPES}
    assert effect["excluded"] > 0
    assert effect["excluded"] > 2 * effect["inflamed"]
    assert effect["excluded"] > 2 * effect["desert"]


def test_antigen_presentation_helps_the_desert_more_than_pd1_blockade(control, nivolumab):
    presentation = _end(control["desert"]) - _end(simulate_cycle(
        "desert", days=DAYS, treatment_parameters={"dc_function": 5.0}))
    blockade = _end(control["desert"]) - _end(nivolumab["desert"])
    assert presentation > 0.5 and presentation > 5 * abs(blockade)


@pytest.mark.parametrize("name", ["atezolizumab", "ipilimumab", "pembrolizumab"])
def test_other_checkpoint_antibodies_help_the_inflamed_tumor(control, name):
    res = simulate_cycle("inflamed", [name], days=42)
    assert (res.result.status == 0).all()
    assert _end(res) < control["inflamed"].patient(0)["tumor_diameter"].loc[42]


def test_packaged_therapies_and_dosing():
    names = available_therapies()
    for name in ("nivolumab", "pembrolizumab", "atezolizumab", "ipilimumab", "anti_pdl1_mouse",
                 "anti_pd1_mouse"):
        assert name in names
    ipi = load_therapy("ipilimumab").with_dosing(amount=1.0)
    assert ipi.dosing.amount == 1.0 and ipi.dosing.count == 4
