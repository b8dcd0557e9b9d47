"""The chunked trial runner: determinism across chunking and workers, resume after a kill."""

import sys

import numpy as np
import pandas as pd
import pytest

from immunocycle.population import Distribution, sample_patients
from immunocycle.trial._runner import RunConflictError, run_chunked

DISTS = {"k": Distribution("lognormal", 0.2, 0.3), "x0": Distribution("uniform", 1.0, 5.0)}


def toy_task(start: int, count: int, seed: int = 7) -> pd.DataFrame:
    """A pure per-patient computation with per-patient randomness."""
    patients = sample_patients(DISTS, start, count, seed)
    noise = [np.random.default_rng([seed, int(i)]).normal() for i in patients.index]
    value = patients["x0"] * np.exp(-patients["k"] * 10.0) + 0.01 * np.asarray(noise)
    return pd.DataFrame({"patient_id": patients.index, "value": value.to_numpy()})


class Killed(Exception):
    pass


def test_sampling_is_independent_of_chunking():
    whole = sample_patients(DISTS, 0, 100, seed=1)
    parts = pd.concat([sample_patients(DISTS, s, 30, seed=1) for s in range(0, 100, 30)]).iloc[:100]
    pd.testing.assert_frame_equal(whole, parts.iloc[:100].loc[:99])
    assert not whole.equals(sample_patients(DISTS, 0, 100, seed=2))
    assert np.median(whole["k"]) == pytest.approx(0.2, rel=0.1)
    with pytest.raises(ValueError, match="high"):
        Distribution("uniform", 2.0, 1.0)


def test_same_results_whatever_the_chunk_size(tmp_path):
    a = pd.read_parquet(run_chunked(toy_task, 103, tmp_path / "a", chunk_size=10, progress=False))
    b = pd.read_parquet(run_chunked(toy_task, 103, tmp_path / "b", chunk_size=64, progress=False))
    assert list(a["patient_id"]) == list(range(103))
    pd.testing.assert_frame_equal(a, b)


def test_resume_after_kill_gives_the_uninterrupted_result(tmp_path):
    calls = []

    def dies_after_three(start, count):
        if len(calls) == 3:
            raise Killed
        calls.append(start)
        return toy_task(start, count)

    with pytest.raises(Killed):
        run_chunked(dies_after_three, 95, tmp_path / "run", chunk_size=10, progress=False,
                    arguments={"seed": 7})
    assert len(list((tmp_path / "run" / "chunks").glob("part-*.parquet"))) == 3
    # a half-written chunk file left by the kill must be redone, not trusted
    (tmp_path / "run" / "chunks" / "part-000003.parquet").write_bytes(b"PAR1 truncated")
    resumed_calls = []

    def counting(start, count):
        resumed_calls.append(start)
        return toy_task(start, count)

    resumed = pd.read_parquet(run_chunked(counting, 95, tmp_path / "run", chunk_size=10,
                                          progress=False, arguments={"seed": 7}))
    assert sorted(resumed_calls) == list(range(30, 95, 10))
    straight = pd.read_parquet(run_chunked(toy_task, 95, tmp_path / "straight", chunk_size=10,
                                           progress=False, arguments={"seed": 7}))
    pd.testing.assert_frame_equal(resumed, straight)


def test_other_arguments_are_refused(tmp_path):
    run_chunked(toy_task, 10, tmp_path, chunk_size=5, progress=False, arguments={"seed": 1})
    with pytest.raises(RunConflictError, match="other arguments"):
        run_chunked(toy_task, 10, tmp_path, chunk_size=5, progress=False, arguments={"seed": 2})


def test_dask_local_cluster_gives_identical_results(tmp_path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    local = pd.read_parquet(run_chunked(toy_task, 60, tmp_path / "local", chunk_size=8, progress=False))
    dask = pd.read_parquet(run_chunked(toy_task, 60, tmp_path / "dask", chunk_size=8, progress=False,
                                       local_cluster=2))
    pd.testing.assert_frame_equal(local, dask)
