"""The Rosenbrock kernels (Rodas4, Rodas5P) and the generated sparse LU of the iteration matrix."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from immunocycle._errors import InputError
from immunocycle.engine import SolverOptions, compile_model, simulate
from immunocycle.engine._codegen import markowitz_order, render_sparse_lu
from immunocycle.model import Compartment, Model, Parameter, Species, load_reference


def generated_lu(n, entries):
    """The generated ``lu``/``lu_solve`` as plain Python (the same source numba compiles)."""
    namespace = {"njit": lambda *a, **k: (lambda f: f), "LU_SIG": None, "LU_SOLVE_SIG": None}
    exec(render_sparse_lu(n, entries), namespace)  # noqa: S102 - our own generated code
    return namespace["lu"], namespace["lu_solve"], namespace["LU_SIZE"]


@settings(max_examples=25, deadline=None, derandomize=True)
@given(n=st.integers(2, 10), density=st.floats(0.05, 0.7), seed=st.integers(0, 10_000),
       c=st.sampled_from([1e-3, 1.0, 1e3]))
def test_generated_lu_solves_the_iteration_matrix(n, density, seed, c):
    rng = np.random.default_rng(seed)
    mask = rng.random((n, n)) < density
    J = np.where(mask, rng.normal(size=(n, n)) * 10.0 ** rng.integers(-6, 7, (n, n)), 0.0)
    J[np.diag_indices(n)] -= np.abs(J).sum(axis=1) + 1.0  # decaying states: a regular W
    lu, lu_solve, size = generated_lu(n, [(i, j) for i in range(n) for j in range(n)
                                          if J[i, j] != 0.0])
    w = np.zeros(size)
    assert lu(J, c, w)
    b = rng.normal(size=n)
    x = b.copy()
    lu_solve(w, x)
    W = c * np.eye(n) - J
    np.testing.assert_allclose(x, np.linalg.solve(W, b), rtol=1e-8, atol=1e-300)


def test_generated_lu_refuses_a_zero_or_cancelled_pivot():
    lu, _, size = generated_lu(2, [(0, 1), (1, 0)])
    assert not lu(np.array([[0.0, 1.0], [1.0, 0.0]]), 0.0, np.zeros(size))  # zero diagonal
    lu, _, size = generated_lu(2, [(0, 0), (0, 1), (1, 0), (1, 1)])
    # W = [[1, 1], [1, 1 + 1e-12]]: the second pivot keeps 1e-12 of its 1
    J = -np.array([[1.0, 1.0], [1.0, 1.0 + 1e-12]])
    assert not lu(J, 0.0, np.zeros(size))
    assert lu(J, 1.0, np.zeros(size))


def test_markowitz_order_avoids_fill_on_an_arrow_matrix():
    n = 8  # state 0 couples to all: eliminating it first would fill the whole matrix
    entries = [(0, j) for j in range(1, n)] + [(i, 0) for i in range(1, n)]
    order, lower, upper = markowitz_order(n, entries)
    assert order[0] != 0
    assert sum(len(a) for a in lower) + sum(len(b) for b in upper) == len(entries)


def test_both_methods_match_a_closed_form_and_rodas5p_takes_fewer_steps():
    m = Model("logistic")
    m.add(Compartment("body", 1.0), Species("T", "body", 1e3, "cell"),
          Parameter("a", 50.0, "1/day", source="test"), Parameter("K", 1e9, "cell", source="test"))
    m.add_terms("T", "a * T * (1 - T / K)")
    times = np.linspace(0.0, 2.0, 57)
    exact = 1e9 / (1 + (1e9 / 1e3 - 1) * np.exp(-50.0 * times))
    for method in ("rodas4", "rodas5p"):
        res = simulate(m, times, options=SolverOptions(rtol=1e-9, atol=1e-6, method=method))
        np.testing.assert_allclose(res["T"][0], exact, rtol=1e-6)
    compiled = compile_model(load_reference("depillis2005"))
    times = np.arange(0.0, 120.0)
    steps = {}
    states = {}
    for method in ("rodas4", "rodas5p"):
        res = simulate(compiled, times, options=SolverOptions(rtol=1e-8, atol=1e-8, method=method))
        steps[method], states[method] = res.n_steps[0], res.states[0]
    assert steps["rodas5p"] < 0.7 * steps["rodas4"]
    np.testing.assert_allclose(states["rodas5p"], states["rodas4"], rtol=1e-5, atol=1e-6)


def test_unknown_method_is_refused():
    with pytest.raises(InputError, match="method"):
        SolverOptions(method="euler")
