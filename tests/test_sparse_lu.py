"""The sparse LU of the iteration matrix agrees with dense LU with pivoting, and falls back."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from immunocycle.engine._rodas import _lu, _lu_solve, _lu_solve_sparse, _lu_sparse, sparse_pattern


@settings(max_examples=30, deadline=None, derandomize=True)
@given(n=st.integers(2, 12), density=st.floats(0.05, 0.6), seed=st.integers(0, 10_000))
def test_sparse_solve_matches_dense(n, density, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((n, n)) < density
    J = np.where(mask, rng.normal(size=(n, n)), 0.0)
    W = np.eye(n) * 10.0 - J  # I/(h gamma) - J with h gamma = 0.1
    b = rng.normal(size=n)
    pattern = sparse_pattern(n, list(zip(*np.nonzero(mask), strict=True)))
    sparse = W.copy()
    assert _lu_sparse(sparse, pattern, np.abs(W).max(axis=1))
    x = b.copy()
    _lu_solve_sparse(sparse, pattern, x)
    dense, piv = W.copy(), np.zeros(n, dtype=np.int64)
    assert _lu(dense, piv)
    y = b.copy()
    _lu_solve(dense, piv, y)
    np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(W @ x, b, rtol=1e-9, atol=1e-10)


def test_zero_pivot_is_refused_so_the_solver_can_pivot():
    W = np.array([[0.0, 1.0], [1.0, 0.0]])
    pattern = sparse_pattern(2, [(0, 1), (1, 0)])
    assert not _lu_sparse(W.copy(), pattern, np.ones(2))
