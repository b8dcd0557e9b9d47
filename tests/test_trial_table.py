"""A trial's table read without its per-scan lists (issue 18: memory flat in the trial size):
the data-cutoff response streamed a batch at a time equals the one on the whole table, and the
figures' scans come for the first patients only."""

import numpy as np
import pandas as pd
import pytest

import immunocycle.trial._table as table_module
from immunocycle.trial._cutoff import bor_at_cutoff, bor_at_cutoff_file
from immunocycle.trial._table import list_columns, read_patients, with_scans


def _scans(rng, n_scans):
    t = 42.0 * np.arange(n_scans)
    # a random walk of the target sum from 50 mm, some patients reaching zero (gone)
    s = np.maximum(0.0, 50.0 * np.cumprod(rng.uniform(0.5, 1.3, n_scans)) - 5.0)
    s[0] = 50.0
    new = rng.uniform(size=n_scans) < 0.05
    new[0] = False  # nothing is new at baseline
    return {"time_d": t.tolist(), "sum_mm": s.tolist(), "target_gone": (s == 0).tolist(),
            "new_lesion": new.tolist()}


@pytest.fixture
def trial_file(tmp_path):
    rng = np.random.default_rng(5)
    rows = [{"patient_id": p, "arm": arm, "evaluable": bool(rng.uniform() < 0.9),
             "cutoff_u": rng.uniform(), **_scans(rng, int(rng.integers(1, 9)))}
            for p in range(40) for arm in ("a", "b")]
    path = tmp_path / "patients.parquet"
    pd.DataFrame(rows).to_parquet(path)
    return path


def test_streamed_cutoff_response_equals_the_whole_table(trial_file, monkeypatch):
    whole = pd.read_parquet(trial_file)
    # some rows, out of file order, scored with batches of 7 rows
    rows = whole[whole["evaluable"]].sample(frac=0.7, random_state=1).reset_index(drop=True)
    follow = np.linspace(30.0, 300.0, len(rows))
    monkeypatch.setattr(table_module, "BATCH_ROWS", 7)
    streamed = bor_at_cutoff_file(trial_file, rows[["patient_id", "arm"]], follow)
    assert list(streamed) == list(bor_at_cutoff(rows, follow))
    assert {"PD", "SD"} <= set(streamed)  # the table exercises more than one category


def test_read_patients_leaves_out_the_list_columns(trial_file):
    assert set(list_columns(trial_file)) == {"time_d", "sum_mm", "target_gone", "new_lesion"}
    frame = read_patients(trial_file)
    assert list(frame.columns) == ["patient_id", "arm", "evaluable", "cutoff_u"]
    assert len(frame) == 80


def test_with_scans_attaches_the_lists_of_the_first_patients_only(trial_file):
    frame = with_scans(read_patients(trial_file), trial_file, n_patients=5)
    whole = pd.read_parquet(trial_file)
    have = frame["time_d"].notna()
    assert set(frame.loc[have, "patient_id"]) == set(range(5)) and have.sum() == 10
    assert frame.loc[~have, "sum_mm"].isna().all()
    # the attached lists are those of the same patient and arm, rows in the original order
    assert frame[["patient_id", "arm"]].equals(whole[["patient_id", "arm"]])
    for i in np.flatnonzero(have.to_numpy()):
        assert list(frame["sum_mm"].iloc[i]) == list(whole["sum_mm"].iloc[i])
