"""A trial's patient table is bitwise identical whatever the chunk size, the number of numba
threads and the number of Dask workers (issue 18: scale-out must not change a single bit)."""

import numba
import pandas as pd
import pytest

from immunocycle.trial._trial import run_trial

ARMS = ["nivolumab", "nivolumab+ipilimumab"]
KW = {"seed": 11, "days": 126, "progress": False, "figures": False, "replicates": 0}


def _table(folder) -> pd.DataFrame:
    return pd.read_parquet(folder / "patients.parquet").reset_index(drop=True)


def _bitwise(a: pd.DataFrame, b: pd.DataFrame):
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    run_trial("melanoma", ARMS, 7, out, chunk_size=7, **KW)
    return _table(out)


def test_chunk_sizes_and_thread_counts_give_the_same_bits(whole, tmp_path):
    # 3 chunks: the first alone, the other two in flight at once in threads (run_trial's
    # IN_FLIGHT), against one chunk
    run_trial("melanoma", ARMS, 7, tmp_path / "c3", chunk_size=3, **KW)
    _bitwise(whole, _table(tmp_path / "c3"))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        run_trial("melanoma", ARMS, 7, tmp_path / "t1", chunk_size=2, **KW)
    finally:
        numba.set_num_threads(before)
    _bitwise(whole, _table(tmp_path / "t1"))


def test_two_dask_workers_give_the_same_bits(whole, tmp_path):
    run_trial("melanoma", ARMS, 7, tmp_path, chunk_size=4, local_cluster=2, **KW)
    _bitwise(whole, _table(tmp_path))
