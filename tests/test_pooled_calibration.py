"""A cohort calibrated to several trials: the random-effects pool of their response rates."""

import math

import numpy as np
import pytest

from immunocycle.model import ModelError
from immunocycle.population import load_cohort, pool_orr
from immunocycle.population._cohort import COHORT_DIR


def _dersimonian_laird(k, n):
    """Reference: the DerSimonian-Laird estimator written out (Cochran's Q moment estimator)."""
    p = np.asarray(k, float) / np.asarray(n, float)
    v = p * (1 - p) / np.asarray(n, float)
    w = 1 / v
    fixed = np.sum(w * p) / np.sum(w)
    q = np.sum(w * (p - fixed) ** 2)
    tau2 = max(0.0, (q - (p.size - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    wr = 1 / (v + tau2)
    return np.sum(wr * p) / np.sum(wr), math.sqrt(1 / np.sum(wr)), tau2


def test_pool_of_heterogeneous_arms_matches_the_written_out_estimator_and_widens():
    k, n = [84, 185, 111], [210, 556, 352]  # CheckMate 066, KEYNOTE-006, ECHO-301
    pool = pool_orr(k, n)
    orr, se, tau2 = _dersimonian_laird(k, n)
    assert pool.orr == pytest.approx(orr, rel=1e-9)
    assert pool.se == pytest.approx(se, rel=1e-9) and pool.tau2 == pytest.approx(tau2, rel=1e-9)
    assert min(np.divide(k, n)) < pool.orr < max(np.divide(k, n))
    # the between-trial spread makes the pool worth fewer patients than the arms hold
    assert tau2 > 0 and pool.n_effective < sum(n) / 2


def test_pool_of_agreeing_arms_is_the_pooled_proportion_with_all_patients():
    pool = pool_orr([30, 60, 90], [100, 200, 300])
    assert pool.tau2 == 0.0 and pool.orr == pytest.approx(0.3)
    assert pool.n_effective == 600


@pytest.mark.parametrize(("k", "n"), [([5], [10]), ([5, 12], [10, 11]), ([0, 3], [10, 10]),
                                      ([1, 2, 3], [10, 10])])
def test_pool_rejects_bad_counts(k, n):
    with pytest.raises(ValueError, match="pooled"):
        pool_orr(k, n)


def test_melanoma_target_is_the_pool_of_its_stated_arms():
    target = load_cohort("melanoma").calibration
    arms = target.pooled
    assert {a.trial.split()[0] for a in arms} == {"CheckMate", "KEYNOTE-006", "ECHO-301/KEYNOTE-252"}
    pool = pool_orr([a.responders for a in arms], [a.n for a in arms])
    assert target.orr == round(pool.orr, 4) and target.n_trial == pool.n_effective
    # the pool sits below CheckMate 066 alone (40%), inside its published 95% CI (33.3-47.0%)
    assert 0.333 <= target.orr < 0.40


@pytest.mark.parametrize(("edit", "message"), [
    ("  pooled:\n", "  orr: 0.40\n  pooled:\n"),  # a typed ORR that is not the pool's
    ("responders: 84, n: 210", "responders: 284, n: 210"),
])
def test_malformed_pooled_target_names_the_field(tmp_path, edit, message):
    text = (COHORT_DIR / "melanoma.yaml").read_text()
    assert edit in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(edit, message, 1))
    with pytest.raises(ModelError) as info:
        load_cohort(bad)
    assert str(bad) in str(info.value) and "calibration" in str(info.value)
    assert "pooled" in str(info.value)
