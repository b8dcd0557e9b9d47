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


def test_chunks_in_flight_run_at_once_and_give_the_serial_result(tmp_path, monkeypatch):
    import threading

    import immunocycle.trial._runner as runner

    monkeypatch.setattr(runner, "threads_can_overlap", lambda: True)
    meet = threading.Barrier(2, timeout=20)
    threads = {}

    def meets(start, count):
        if start in (10, 20):  # chunks 1 and 2 must be running at the same time to pass this
            meet.wait()
        threads[start] = threading.current_thread().name
        return toy_task(start, count)

    a = pd.read_parquet(run_chunked(meets, 45, tmp_path / "a", chunk_size=10, progress=False,
                                    in_flight=2))
    b = pd.read_parquet(run_chunked(toy_task, 45, tmp_path / "b", chunk_size=10,
                                    progress=False))
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    # the first chunk runs alone in the calling thread (it compiles the models and starts
    # numba's threading layer), the others in the pool's threads
    assert threads[0] == threading.current_thread().name
    assert all(threads[s].startswith("immunocycle-chunk") for s in (10, 20, 30, 40))


def test_chunks_run_one_at_a_time_where_numba_threads_cannot_overlap(tmp_path, monkeypatch):
    import threading

    import immunocycle.trial._runner as runner

    monkeypatch.setattr(runner, "threads_can_overlap", lambda: False)  # workqueue layer
    names = set()

    def records(start, count):
        names.add(threading.current_thread().name)
        return toy_task(start, count)

    run_chunked(records, 30, tmp_path, chunk_size=10, progress=False, in_flight=2)
    assert names == {threading.current_thread().name}


def test_a_failed_chunk_in_flight_stops_the_run_and_keeps_the_written_chunks(tmp_path,
                                                                                monkeypatch):
    import immunocycle.trial._runner as runner

    monkeypatch.setattr(runner, "threads_can_overlap", lambda: True)
    started = []

    def fails_at_two(start, count):
        started.append(start)
        if start == 20:
            raise Killed
        return toy_task(start, count)

    with pytest.raises(Killed):
        run_chunked(fails_at_two, 100, tmp_path, chunk_size=10, progress=False, in_flight=2)
    # at most the chunks in flight when it failed were started, never the whole queue
    assert max(started) <= 40
    written = sorted(p.name for p in (tmp_path / "chunks").glob("part-*.parquet"))
    assert "part-000000.parquet" in written and "part-000002.parquet" not in written
    again = pd.read_parquet(run_chunked(toy_task, 100, tmp_path, chunk_size=10,
                                        progress=False, in_flight=2))
    assert list(again["patient_id"]) == list(range(100))
