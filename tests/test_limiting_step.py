"""One limiting step: the same definition, read at the same time, in every command.

``immunocycle.cycle.limiting_step`` is the only rule; simulate, diagnose, design and the trial
tables must report what it gives for the same tumor at diagnosis, and archetype cohorts' median
patients must carry their archetype's phenotype and step.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from immunocycle.cycle import (
    FLUXES,
    PHENOTYPES,
    limiting_step,
    reference_ratios,
    simulate_cycle,
    step_leverage,
)
from immunocycle.design import design, diagnose
from immunocycle.population import available_cohorts, load_cohort, median_patient, sample_cohort

#: Archetype -> the steps its label means at diagnosis (Chen & Mellman 2017).
ARCHETYPES = {"inflamed": (6, 7), "excluded": (4, 5), "desert": (1, 2, 3)}
#: One catalog candidate per archetype keeps each design run small.
CANDIDATE = {"inflamed": "epacadostat_free", "excluded": "fresolimumab_free",
             "desert": "neoantigen_peptide_free"}
HUMAN_COHORTS = [c for c in available_cohorts() if load_cohort(c).tumor_type != "archetype"]


def _state(ratios, parenchyma, margin, cells=1e9):
    """A tumor state with the given transfer ratios and effector densities."""
    fluxes = np.cumprod(np.asarray(ratios, dtype=float) * np.r_[cells, np.ones(6)], axis=-1)
    return {**{f: fluxes[..., k] for k, f in enumerate(FLUXES)}, "C": np.full(fluxes.shape[:-1],
            cells), "density_parenchyma": np.asarray(parenchyma, float),
            "density_margin": np.asarray(margin, float)}


# --- the definition ------------------------------------------------------------------------

def test_reference_tumor_falls_back_to_the_phenotypes_most_leveraged_step():
    ref = reference_ratios()
    for phen, (p, m) in {"desert": (0.0, 0.0), "excluded": (0.0, 1e4),
                         "inflamed": (1e5, 0.0)}.items():
        expected = int(np.argmax(step_leverage()[phen])) + 1
        assert limiting_step(_state(ref, p, m)) == expected, phen


def test_deficit_times_leverage_decides_and_depends_on_the_phenotype():
    ref = reference_ratios()
    # Step 2 falls by e^-1, step 6 by e^-0.5: a deficit-only rule names 2. With the inflamed
    # leverage (saturated DCs, strong killing control) step 6 wins; in a desert, step 2.
    ratios = ref * np.exp([0, -1.0, 0, 0, 0, -0.5, 0])
    lev = step_leverage()
    assert (1.0 - 0.05) * lev["inflamed"][1] < (0.5 - 0.05) * lev["inflamed"][5]
    assert limiting_step(_state(ratios, 1e5, 0.0)) == 6
    assert limiting_step(_state(ratios, 0.0, 0.0)) == 2
    # Within the 5 % tolerance a shortfall is no deficit.
    near = ref * np.exp([0, 0, 0, 0, -0.04, 0, 0])
    assert limiting_step(_state(near, 0.0, 1e4)) == int(np.argmax(lev["excluded"])) + 1


def test_zero_flux_is_a_deficit_and_nothing_reached_is_not():
    ref = reference_ratios()
    ratios = ref.copy()
    ratios[3] = 0.0                       # J4 = 0 although J3 > 0: step 4 limits
    state = _state(ratios, 0.0, 0.0)      # then J5..J7 = 0: r5..r7 = 0/0, no deficit
    with np.errstate(invalid="ignore"):
        assert np.isnan(state["J5"] / state["J4"])
    assert limiting_step(state) == 4


def test_any_shape_and_a_time_course():
    ref = reference_ratios()
    ratios = np.stack([ref, ref * np.exp([0, 0, 0, 0, -2.0, 0, 0])])[None, :, :]  # (1, 2, 7)
    steps = limiting_step(_state(ratios, [[0.0, 0.0]], [[1e4, 1e4]]))
    assert steps.shape == (1, 2) and steps[0, 1] == 5
    run = simulate_cycle("excluded", days=7.0)
    frame = run.frame
    assert np.array_equal(frame["limiting_step"].to_numpy(), limiting_step(frame))


def test_leverage_table_rows_and_provenance():
    import yaml

    from immunocycle.design._leverage import COMMAND, LEVERAGE_FILE

    raw = yaml.safe_load(LEVERAGE_FILE.read_text())
    assert raw["provenance"]["inputs"]["command"] == COMMAND
    for phen in PHENOTYPES:
        assert step_leverage()[phen].sum() == pytest.approx(1.0, abs=1e-5)
        assert np.all(step_leverage()[phen] > 0)


# --- the same answer in every command ------------------------------------------------------

@pytest.fixture(scope="module")
def diagnoses():
    return {p: diagnose(p) for p in ARCHETYPES}


@pytest.mark.parametrize("preset", sorted(ARCHETYPES))
def test_simulate_diagnose_and_design_agree_on_each_archetype(diagnoses, preset):
    sim = simulate_cycle(preset, days=84.0).summary()["limiting_step"]
    diag = diagnoses[preset].to_dict()
    assert sim["at_diagnosis"] == diag["limiting_step"]["at_diagnosis"]
    assert sim["at_diagnosis"] in ARCHETYPES[preset]
    # Both read the untreated tumor over 84 days: the end agrees too.
    assert sim["at_end"] == diag["limiting_step"]["at_end"] and diag["end_day"] == 84.0
    # The table leverage stands in for this tumor's own: at the archetype they are one profile.
    d = diagnoses[preset]
    own = d.steps["leverage"] / d.steps["leverage"].sum()
    assert np.allclose(own, step_leverage()[preset], atol=1e-3)
    assert d.limiting_step_local == d.limiting_step
    made = design(preset, candidates=[CANDIDATE[preset]], max_agents=1, budget=1, n=4,
                  days=84.0)
    assert made.to_dict()["limiting_step"] == diag["limiting_step"]


@pytest.mark.parametrize("cohort", HUMAN_COHORTS)
def test_twenty_patients_of_each_human_cohort(cohort):
    """diagnose's per-patient steps are simulate's for the same 20 patients at diagnosis."""
    n, seed = 20, 7
    d = diagnose(cohort=cohort, n=n, seed=seed, global_analysis=False)
    patients = sample_cohort(cohort, 0, n, seed)
    cols = [c for c in patients.columns if c not in ("tmb", "diagnosis_sum_mm")]
    run = simulate_cycle(load_cohort(cohort).base, days=1.0, parameters=patients[cols],
                         diagnosis_diameter_mm=patients["diagnosis_sum_mm"].to_numpy())
    sim = run.summaries()["limiting_step_at_diagnosis"].to_numpy()
    assert np.array_equal(d.cohort["limiting_step_at_diagnosis"].to_numpy(), sim)
    assert np.array_equal(d.cohort["phenotype"].to_numpy(),
                          run.summaries()["phenotype_at_start"].to_numpy())
    shares = d.to_dict()["cohort"]["limiting_step_shares"]["at_diagnosis"]
    assert sum(shares.values()) == pytest.approx(1.0)


def test_trial_table_reports_the_same_step_as_simulate():
    from immunocycle.trial._trial import make_task

    task = make_task("melanoma", ["untreated"], seed=3, days=84.0)
    table = task(0, 20)
    patients = sample_cohort(task.cohort, 0, 20, 3, multipliers={task.parameter: task.multiplier})
    cols = [c for c in patients.columns if c not in ("tmb", "diagnosis_sum_mm")]
    run = simulate_cycle(task.cohort.base, days=84.0, parameters=patients[cols],
                         diagnosis_diameter_mm=patients["diagnosis_sum_mm"].to_numpy())
    sims = run.summaries()
    assert np.array_equal(table["limiting_step_at_diagnosis"].to_numpy(),
                          sims["limiting_step_at_diagnosis"].to_numpy())
    ok = (table["status"] == 0).to_numpy()
    assert np.array_equal(table["limiting_step_at_end"].to_numpy()[ok],
                          sims["limiting_step_at_end"].to_numpy()[ok])


def test_design_for_a_cohort_reuses_its_diagnosis():
    made = design(cohort="excluded", candidates=["fresolimumab_free"], max_agents=1, budget=1,
                  n=4, days=84.0)
    diag = diagnose(cohort="excluded", n=20, seed=0, global_analysis=False)
    assert made.to_dict()["limiting_step"] == diag.to_dict()["limiting_step"]
    assert made.diagnosis.limiting_step == diag.limiting_step


# --- archetype cohorts keep their label ----------------------------------------------------

@pytest.mark.parametrize("cohort", sorted(ARCHETYPES))
def test_archetype_cohort_median_patient_carries_its_label(cohort):
    c = load_cohort(cohort)
    med = median_patient(c)
    cols = [k for k in med if k not in ("tmb", "diagnosis_sum_mm")]
    run = simulate_cycle(c.base, days=1.0, parameters={k: [med[k]] for k in cols},
                         diagnosis_diameter_mm=med["diagnosis_sum_mm"])
    s = run.summary()
    assert s["phenotype_at_start"] == cohort
    assert s["limiting_step"]["at_diagnosis"] in ARCHETYPES[cohort]
    # The cohort's diagnosis is its median patient's, whatever the sample size.
    for n in (5, 40):
        d = diagnose(cohort=cohort, n=n, seed=1, global_analysis=False)
        assert d.phenotype == cohort
        assert d.limiting_step == s["limiting_step"]["at_diagnosis"]
    # An archetype cohort names its phenotype as the one to select (trial --match-phenotypes).
    assert c.phenotype_mix is not None and c.phenotype_mix.shares()[cohort] == 1.0


def test_diagnose_cohort_excluded_cli(tmp_path):
    from immunocycle.cli import app

    res = CliRunner().invoke(app, ["diagnose", "--cohort", "excluded", "--local-only", "--json",
                                   "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["phenotype"] == "excluded"
    assert out["limiting_step"]["at_diagnosis"] in (4, 5)
    assert out["source"] == "cohort:excluded"
