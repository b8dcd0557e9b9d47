"""Diagnosis of the archetypes: which step limits the cycle, why (barriers), phenotype."""

from __future__ import annotations

import numpy as np
import pytest

from immunocycle.cycle import limiting_scores, reference_ratios, simulate_cycle
from immunocycle.design import diagnose, step_scores
from immunocycle.design._diagnose import leverage_step

# archetype -> (steps it was built to limit, barriers acting there, phenotype)
EXPECTED = {
    "desert": ({2, 3}, {"low_mutational_burden", "poor_dc_maturation"}, "desert"),
    "excluded": ({4, 5}, {"stromal_exclusion", "dense_matrix_hyaluronan"}, "excluded"),
    "inflamed": ({6, 7}, {"pdl1_pd1", "exhaustion"}, "inflamed"),
}


@pytest.fixture(scope="module")
def diagnoses():
    return {name: diagnose(name) for name in EXPECTED}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_archetype_limiting_step_barrier_phenotype(diagnoses, name):
    steps, barriers, phen = EXPECTED[name]
    d = diagnoses[name]
    assert d.limiting_step in steps, d.steps
    top = d.to_dict()["barriers"][:3]
    assert barriers & set(top), top
    assert d.phenotype == phen


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_step_scores_and_evidence(diagnoses, name):
    out = diagnoses[name].to_dict()
    assert len(out["step_scores"]) == 7
    assert all(0.0 <= s <= 1.0 for s in out["step_scores"])
    # the limiting step scores below the reference (0.5)
    assert out["step_scores"][out["limiting_step"]["at_diagnosis"] - 1] < 0.5
    for b in out["barriers"][:3]:
        assert out["evidence"][b] and all(doi.startswith("10.") for doi in out["evidence"][b])
    assert set(out["sensitivity"]) == {str(k) for k in range(1, 8)}
    assert set(out["fluxes"]) == {f"J{k}" for k in range(1, 8)}


def test_inflamed_saturation_is_not_named(diagnoses):
    """Inflamed tumors release more antigen than dendritic cells can carry, so the step-2 ratio
    falls below the reference's; weighting deficits by leverage keeps that saturation from being
    named over the PD-1 veto of recognition (step 6), in simulate and diagnose."""
    d = diagnoses["inflamed"]
    assert d.steps.loc[2, "log_rel"] < -0.1          # the ratio does fall ...
    assert d.steps.loc[2, "leverage"] < 0.2 * d.steps.loc[6, "leverage"]   # ... with little leverage
    lev = d.steps["leverage"].to_numpy()
    scores = limiting_scores(d.steps["ratio"].to_numpy(), lev)
    assert scores[1] > 0 and scores[5] > scores[1]
    assert d.limiting_step == d.limiting_step_local == 6
    assert simulate_cycle("inflamed", days=1.0).summary()["limiting_step"]["at_diagnosis"] == 6


def test_desert_barriers_are_present_in_the_tumor(diagnoses):
    b = diagnoses["desert"].barriers
    assert b.loc["low_mutational_burden", "tier"] == 1
    assert b.loc["poor_dc_maturation", "tier"] == 1
    assert b.loc["pdl1_pd1", "tier"] == 3


def test_step_score_definition():
    ref = reference_ratios()
    assert np.allclose(step_scores(ref), 0.5)
    assert np.allclose(step_scores(ref * np.e), 1 / (1 + np.exp(-1)))
    assert np.all(np.diff(step_scores(ref[None, :] * np.array([[0.1], [1.0], [10.0]]))[:, 0]) > 0)
    assert step_scores(np.zeros(7)).tolist() == [0.0] * 7


def test_limiting_rule_falls_back_to_leverage():
    lev = np.array([1.0, 2.0, 5.0, 0.1, 1.0, 1.0, 1.0])
    ref = reference_ratios()
    assert leverage_step(ref, lev) == 3
    rel = np.array([0, 0, 0, 0, -1.0, 0, -0.3])
    assert leverage_step(ref * np.exp(rel), lev) == 5


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown preset"):
        diagnose("lukewarm")
    with pytest.raises(ValueError, match="positive integer"):
        diagnose("human", n=-1)
    with pytest.raises(ValueError, match="exactly one"):
        diagnose()
    with pytest.raises(ValueError, match="tmb"):
        diagnose("human", tmb=-3.0)
