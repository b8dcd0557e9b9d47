"""Candidate delivery models: study groups and grouped cross-validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunocycle.pk._candidates import CANDIDATES, candidate, compare_candidates, study_groups


def test_study_groups_are_runs_of_consecutive_ids_with_one_setting() -> None:
    df = pd.DataFrame({"ID": [1, 2, 3, 4, 5], "TM": ["a", "a", "b", "b", "a"],
                       "CT": ["x", "x", "x", "x", "x"], "TW": [0.1, 0.1, 0.1, 0.2, 0.1]})
    g = study_groups(df)
    assert g[0] == g[1] != g[2] != g[3] != g[4]
    assert len(np.unique(g)) == 4  # the last row starts a new run, not study 1 again


def test_unknown_candidate_is_named() -> None:
    with pytest.raises(ValueError, match="candidate"):
        candidate("random_forest", 0)


def test_grouped_cv_keeps_a_study_out_of_its_own_training_fold(shared_data) -> None:
    from immunocycle.pk import load_nanotumor

    df = load_nanotumor(shared_data("nanotumor")).iloc[:120]
    res = compare_candidates(df, n_splits=3, seeds=(0,), names=("extra_trees",))
    g = res["grouped"]["extra_trees"]
    r = res["random"]["extra_trees"]
    for key in ("r2_de24", "r2_de168", "r2_demax"):
        assert np.isfinite(g[key]) and np.isfinite(r[key])
    # leaking a study's sibling data sets into training helps: random folds score higher
    assert r["r2_log10_de24"] > g["r2_log10_de24"]
    assert 0.0 <= g["within_2fold_de24"] <= g["within_3fold_de24"] <= 1.0
    assert set(CANDIDATES) >= {"extra_trees", "gradient_boosting", "gaussian_process",
                               "neural_net"}
