"""Effect-size uncertainty: evidence grades, priors, replicates over the same patients,
prediction intervals and the chance of beating the comparator (issue 13, part 3)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pydantic
import pytest

from immunocycle.catalog import GRADES, load_catalog
from immunocycle.catalog._schema import TherapyEffect
from immunocycle.cycle import load_therapy, treat
from immunocycle.design._rank import rank
from immunocycle.population import fitted_values
from immunocycle.trial import (
    cohort_multiplier_sd,
    make_task,
    replicate_count,
    replicate_task,
    run_trial,
    uncertainty,
)
from immunocycle.trial._uncertainty import draw_emax, draw_replicates, load_priors

DAYS = 84.0


def test_every_catalog_effect_has_a_grade_and_the_schema_checks_it():
    cat = load_catalog()
    grades = [e.grade for t in cat.therapies.values() for e in t.effects]
    assert grades and all(g in GRADES for g in grades)
    assert {"measured_human", "assumption"} <= set(grades)
    base = {"agent": "x", "parameter": "p", "emax": 1.0, "ec50_nmol_per_l": 1.0, "source": "abc"}
    with pytest.raises(pydantic.ValidationError, match="contradicts assumption"):
        TherapyEffect(**base, assumption=True, grade="measured_human")
    with pytest.raises(pydantic.ValidationError):
        TherapyEffect(**base, grade="guess")
    assert TherapyEffect(**base, assumption=True).evidence_grade == "assumption"


def test_prior_widths_grow_as_the_evidence_weakens():
    p = load_priors.__wrapped__()  # the packaged file (conftest lowers the replicates)
    order = ["measured_human", "measured_mouse", "inferred", "assumption"]
    ec50 = [p.widths(g)[1] for g in order]
    assert ec50 == sorted(ec50) and ec50[0] < ec50[-1]
    assert p.widths(None) == p.widths("assumption")
    assert p.replicates >= 20 and p.level == pytest.approx(0.9)


@pytest.mark.parametrize("z", [-3.0, -0.5, 0.7, 3.0])
def test_emax_draws_keep_their_meaning(z):
    assert draw_emax(-1.0, "multiply", 0.7, z) == -1.0  # a complete blockade stays complete
    assert draw_emax(0.0, "add", 0.7, z) == 0.0  # no effect stays no effect
    partial = draw_emax(-0.9, "multiply", 0.7, z)
    assert -1.0 < partial < 0.0  # an inhibition stays an inhibition (0-100 %)
    assert draw_emax(2.0, "multiply", 0.7, z) == pytest.approx(2.0 * np.exp(0.7 * z))
    assert draw_emax(-0.9, "multiply", 0.7, 0.0) == pytest.approx(-0.9)


def _graded(therapy, grade: str):
    return therapy.model_copy(update={"effects": [e.model_copy(update={"grade": grade})
                                                  for e in therapy.effects]})


def test_draws_depend_only_on_seed_replicate_and_parameter():
    niv, ipi = load_therapy("nivolumab"), load_therapy("ipilimumab")
    a = draw_replicates([[niv], [niv, ipi]], 3, 6)
    b = draw_replicates([[niv]], 3, 6)  # fewer arms: the shared effect draws the same values
    k = a.columns.index("nivolumab_e0_ec50")
    assert [r[k] for r in a.values] == [r[0] for r in b.values]
    assert a == draw_replicates([[niv], [niv, ipi]], 3, 6)
    assert a != draw_replicates([[niv], [niv, ipi]], 4, 6)
    assert len({r[k] for r in a.values}) == 6


def test_an_assumption_grade_spreads_outcomes_wider_than_a_measured_one():
    """The same standard-normal draws through the same patient: only the prior width differs,
    so the end-of-treatment tumor sizes spread wider for the assumption grade."""
    niv = load_therapy("nivolumab")
    spread = {}
    for grade in ("measured_human", "assumption"):
        t = _graded(niv, grade)
        draws = draw_replicates([[t]], 0, 10)
        frame = draws.tile(pd.DataFrame(index=pd.Index([0], name="patient_id")))
        res = treat("inflamed", [[t]], days=DAYS, step=DAYS / 4,
                    parameters=frame.drop(columns="replicate")).arms[0]
        end = res["tumor_diameter"][:, -1]
        assert np.all(np.isfinite(end))
        spread[grade] = float(np.quantile(end, 0.95) - np.quantile(end, 0.05))
    assert spread["assumption"] > 1.5 * spread["measured_human"] > 0.0


@pytest.fixture(scope="module")
def null_trial():
    """nivolumab vs nivolumab + an agent with zero Emax, 8 patients, 5 replicates."""
    niv = load_therapy("nivolumab")
    null = load_therapy("ipilimumab")
    null = null.model_copy(update={"name": "null_agent", "effects": [
        e.model_copy(update={"emax": 0.0}) for e in null.effects]})
    task = make_task("excluded", ["nivolumab"], seed=2, days=DAYS)
    task = dataclasses.replace(task, arms=("nivolumab", "nivolumab+null_agent"),
                               arm_therapies=((niv,), (niv, null)))
    rep = replicate_task(task, replicates=5)
    return task, rep, task(0, 8), rep(0, 8)


def test_replicates_are_reproducible_and_independent_of_chunking(null_trial):
    _, rep, _, whole = null_trial
    parts = pd.concat([rep(0, 3), rep(3, 5)], ignore_index=True)
    pd.testing.assert_frame_equal(parts, whole)
    assert set(whole["replicate"]) == set(range(5))
    assert len(whole) == 8 * 2 * 5


def test_prediction_intervals_and_a_null_agent(null_trial):
    task, _, frame, reps = null_trial
    u = uncertainty(frame, reps, list(task.arms), days=DAYS, comparator="nivolumab")
    point = u["values"]  # per replicate and arm
    for rec in u["arms"].values():
        for key in ("orr_pi", "cr_rate_pi", "median_pfs_days_pi", "ae_grade3plus_rate_pi"):
            lo, hi = rec[key]
            assert lo <= hi
        assert 0.0 <= rec["p_beats_comparator"] <= 1.0
    # zero Emax: the candidate is the comparator in every replicate -> a coin flip, no gain
    null = u["arms"]["nivolumab+null_agent"]
    assert null["p_beats_comparator"] == pytest.approx(0.5)
    assert null["expected_orr_gain"] == pytest.approx(0.0)
    # the point estimate (all patients) lies in its interval
    evaluable = frame[frame["evaluable"]]
    from immunocycle.trial import is_response

    orr = is_response(evaluable.loc[evaluable["arm"] == "nivolumab", "bor"]).mean()
    lo, hi = u["arms"]["nivolumab"]["orr_pi"]
    assert lo - 1e-12 <= orr <= hi + 1e-12
    assert set(point["replicate"]) == set(range(5))


def test_trial_summary_has_prediction_intervals(tmp_path):
    summary = run_trial("excluded", ["nivolumab"], 4, tmp_path / "t", seed=1, days=DAYS,
                        progress=False, replicates=3)
    arm = summary["arms"][0]
    for key in ("orr_pi", "cr_rate_pi", "median_pfs_days_pi", "ae_grade3plus_rate_pi"):
        assert isinstance(arm[key], list) and len(arm[key]) == 2
        assert all(isinstance(v, float) for v in arm[key])
    assert "orr_ci" in arm
    assert summary["uncertainty"]["replicates"] == 3
    saved = json.loads((tmp_path / "t" / "summary.json").read_text())
    assert saved["arms"][0]["orr_pi"] == arm["orr_pi"]
    assert (tmp_path / "t" / "replicates" / "patients.parquet").is_file()


def test_design_ranks_by_the_chance_of_beating_the_comparator():
    rows = [
        {"regimen": "a+nivolumab", "orr": 0.40, "median_pfs_days": 100.0,
         "ae_grade3plus_rate": 0.1, "p_beats_comparator": 0.55, "expected_orr_gain": 0.20},
        {"regimen": "b+nivolumab", "orr": 0.30, "median_pfs_days": 100.0,
         "ae_grade3plus_rate": 0.1, "p_beats_comparator": 0.95, "expected_orr_gain": 0.10},
        {"regimen": "nivolumab", "orr": 0.10, "median_pfs_days": 80.0,
         "ae_grade3plus_rate": 0.0, "p_beats_comparator": 0.5, "expected_orr_gain": 0.0},
    ]
    ranked, _ = rank(rows)
    assert [r["regimen"] for r in ranked] == ["b+nivolumab", "a+nivolumab", "nivolumab"]
    plain = [{k: v for k, v in r.items() if k not in ("p_beats_comparator",
                                                        "expected_orr_gain")} for r in rows]
    assert [r["regimen"] for r in rank(plain)[0]][0] == "a+nivolumab"  # point estimates


# --------------------------------------------------------------- replicate patients, multiplier
@pytest.fixture(scope="module")
def melanoma_trial():
    """nivolumab in melanoma (some sampled patients not evaluable), 40 patients."""
    task = make_task("melanoma", ["nivolumab"], seed=0, days=DAYS)
    return task, task(0, 40)


def test_replicates_treat_the_sampled_patients_that_hold_k_evaluable(melanoma_trial):
    task, frame = melanoma_trial
    evaluable = sorted(frame.loc[frame["evaluable"], "patient_id"])
    # k = 16: under the homeostatic ceiling 39 of these 40 are evaluable (patient 14 is not)
    m = replicate_count(frame, task.arms, k=16)
    assert len(evaluable) < 40 and m == evaluable[15] + 1 and m > 16  # some are not evaluable
    assert replicate_count(frame, task.arms, k=1000) == 40  # fewer: every sampled patient
    assert replicate_count(frame, task.arms, selected=[]) == 0
    rep = replicate_task(task, replicates=4, multiplier_log_sd=0.3)
    whole = rep(0, m)
    parts = pd.concat([rep(0, 5), rep(5, m - 6), rep(m - 1, 1)], ignore_index=True)
    pd.testing.assert_frame_equal(parts, whole)
    assert set(whole["patient_id"]) == set(range(m)) and len(whole) == m * 4
    # a drawn multiplier changes who is included: a replicate counts whoever is evaluable
    included = whole.groupby("replicate")["included"].sum()
    assert included.nunique() > 1


def test_trial_intervals_do_not_depend_on_the_chunk_size(tmp_path):
    runs = [run_trial("melanoma", ["nivolumab"], 30, tmp_path / str(c), seed=0, days=DAYS,
                      chunk_size=c, progress=False, replicates=4) for c in (7, 30)]
    a, b = (r["arms"][0] for r in runs)
    for key in ("orr_pi", "cr_rate_pi", "median_pfs_days_pi", "ae_grade3plus_rate_pi"):
        assert a[key] == b[key], key
    u = runs[0]["uncertainty"]
    assert u["patients_per_replicate"] == 30  # fewer than 100 evaluable: every sampled patient
    assert u["evaluable_per_replicate"] == a["n"]
    assert u["cohort_multiplier"]["parameter"] == "k_rec" and u["cohort_multiplier"]["log_sd"] > 0


def test_the_cohort_multiplier_is_drawn_once_per_replicate_for_every_arm():
    niv, ipi = load_therapy("nivolumab"), load_therapy("ipilimumab")
    caps = tuple(sorted(load_priors().model_parameters))
    one = draw_replicates([[niv]], 3, 6, preset="human", multiplier=("T_N0", 0.4))
    two = draw_replicates([[niv], [niv, ipi]], 3, 6, preset="human", multiplier=("T_N0", 0.4))
    assert one.factors == two.factors == tuple(sorted((*caps, "T_N0")))
    assert one.factor_values == two.factor_values
    k = one.factors.index("T_N0")
    logs = np.log([v[k] for v in one.factor_values])
    assert 0.1 < logs.std() < 1.0 and len(set(logs)) == 6
    assert draw_replicates([[niv]], 3, 6, preset="human").factors == caps  # no multiplier


def test_cap_priors_follow_their_grade_and_are_shared_by_every_arm():
    """The efficacy caps drawn as model parameters: lognormal around the preset's value with
    the log-sd of their evidence grade, the same factor in every arm of a replicate."""
    niv, ipi = load_therapy("nivolumab"), load_therapy("ipilimumab")
    pri = load_priors()
    assert {"APC_LN_max", "Treg_IL2_fold_max"} <= set(pri.model_parameters)
    many = draw_replicates([[niv]], 5, 400, preset="human")
    assert many.factor_values == draw_replicates([[niv], [niv, ipi]], 5, 400,
                                                 preset="human").factor_values
    logs = np.log(np.array(many.factor_values))
    for k, name in enumerate(many.factors):
        sigma = pri.widths(pri.model_parameters[name])[1]
        assert logs[:, k].std() == pytest.approx(sigma, rel=0.15), name
        assert abs(logs[:, k].mean()) < 0.2 * sigma, name  # median at the preset's value
    assert np.abs(np.corrcoef(logs.T)[0, 1]) < 0.2  # independent draws


def test_the_node_capacity_prior_reaches_the_vaccine_arm_and_not_the_pd1_blocker():
    """A vaccine fills a good part of the desert archetype's node (test_cycle_caps.py), so the
    capacity's prior moves its replicates; nivolumab alone never meets the capacity, so its
    replicates are bitwise those without the prior."""
    task = make_task("desert", ["nivolumab", "nivolumab+nanodisc_neoantigen_cpg"], seed=0,
                     days=DAYS)
    pri = dataclasses.replace(load_priors(), model_parameters={})
    runs = [replicate_task(task, replicates=8, priors=p, multiplier_log_sd=0.0)(0, 30)
            for p in (pri, dataclasses.replace(pri, model_parameters={"APC_LN_max": "inferred"}))]
    nivo = [r[r["arm_index"] == 0].reset_index(drop=True) for r in runs]
    pd.testing.assert_frame_equal(nivo[0], nivo[1])
    vax = [r[r["arm_index"] == 1].reset_index(drop=True) for r in runs]
    assert not vax[0]["pfs_days"].equals(vax[1]["pfs_days"]) or not vax[0]["bor"].equals(vax[1]["bor"])


def test_the_cohort_multiplier_widens_the_prediction_interval(melanoma_trial):
    task, frame = melanoma_trial
    width = {}
    for sd in (0.0, 0.5):
        rep = replicate_task(task, replicates=8, multiplier_log_sd=sd)
        u = uncertainty(frame, rep(0, 40), list(task.arms), days=DAYS,
                        selected=frame.loc[frame["included"], "patient_id"])
        lo, hi = u["arms"]["nivolumab"]["orr_pi"]
        width[sd] = hi - lo
    assert width[0.5] > width[0.0] + 0.05, width


def test_multiplier_sd_comes_from_the_fitted_file(tmp_path, monkeypatch):
    path = tmp_path / "fitted.yaml"
    path.write_text("melanoma: {parameter: T_N0, multiplier: 1.5, multiplier_log_sd: 0.25}\n"
                    "nsclc: {parameter: T_N0, multiplier: 0.8}\n")
    import immunocycle.population as population

    monkeypatch.setattr(population, "fitted_values", lambda name: fitted_values(name, path))
    priors = load_priors()
    on = dataclasses.replace(priors, cohort_multiplier=True, multiplier_fallback_sd=0.2)
    assert cohort_multiplier_sd(make_task("melanoma", ["nivolumab"]), on) == 0.25
    assert cohort_multiplier_sd(make_task("nsclc", ["nivolumab"]), on) == 0.2  # not recorded
    assert cohort_multiplier_sd(make_task("excluded", ["nivolumab"]), on) == 0.0  # archetype
    off = dataclasses.replace(on, cohort_multiplier=False)
    assert cohort_multiplier_sd(make_task("melanoma", ["nivolumab"]), off) == 0.0


def test_an_emax_fitted_in_another_tumor_type_is_drawn_as_inferred():
    """``fitted_in``: nab-paclitaxel's kill was fitted to Gradishar's breast arms, so in
    melanoma its draws use the inferred widths: the same normal draws, their log deviation
    from the catalog value scaled by the ratio of the widths; the PD-1 blocker's EC50 (a binding
    measurement, no ``fitted_in``) draws the same values in both."""
    from immunocycle.catalog import resolve_arm
    from immunocycle.trial._uncertainty import effect_parameters, grade_in

    assert grade_in("measured_human", ("breast",), "melanoma") == "inferred"
    assert grade_in("measured_human", ("breast",), "breast") == "measured_human"
    assert grade_in("measured_human", (), "melanoma") == "measured_human"
    assert grade_in("measured_human", ("breast",), None) == "measured_human"
    assert grade_in("assumption", ("breast",), "melanoma") == "assumption"
    base = {"agent": "x", "parameter": "p", "emax": 1.0, "ec50_nmol_per_l": 1.0, "source": "abc"}
    with pytest.raises(pydantic.ValidationError, match="fitted_in"):
        TherapyEffect(**base, grade="inferred", fitted_in=("breast",))

    arms = [resolve_arm("nab_paclitaxel+nivolumab", "human")]
    specs = effect_parameters(arms)
    pri = load_priors()
    breast, melanoma = (draw_replicates(arms, 0, 8, priors=pri, tumor_type=tt)
                        for tt in ("breast", "melanoma"))
    assert breast.columns == melanoma.columns
    (h_emax, h_ec50), (i_emax, i_ec50) = pri.widths("measured_human"), pri.widths("inferred")
    widened = 0
    for j, c in enumerate(breast.columns):
        a = np.array([row[j] for row in breast.values])
        b = np.array([row[j] for row in melanoma.values])
        if specs[c]["fitted_in"]:
            assert "breast" in specs[c]["fitted_in"] and specs[c]["grade"] == "measured_human"
            ratio = i_emax / h_emax if specs[c]["kind"] == "emax" else i_ec50 / h_ec50
            dev_a, dev_b = np.log(a / specs[c]["value"]), np.log(b / specs[c]["value"])
            np.testing.assert_allclose(dev_b, ratio * dev_a, rtol=1e-9, atol=1e-12)
            assert np.abs(dev_a).max() > 0
            widened += 1
        else:
            np.testing.assert_array_equal(a, b)
    assert widened == 2  # the kill's Emax and EC50
