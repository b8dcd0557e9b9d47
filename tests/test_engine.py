"""The compiled batch engine against closed-form solutions, and its batch guarantees."""

import numba
import numpy as np
import pandas as pd
import pytest

from immunocycle.engine import SolverOptions, compile_model, simulate
from immunocycle.model import Compartment, Dose, Model, Parameter, Species, load_reference, schedule

TIGHT = SolverOptions(rtol=1e-10, atol=1e-12)


def one_compartment(doses) -> Model:
    m = Model("one_cpt")
    m.add(Compartment("central", 5.0, "L"), Species("C", "central", 0.0, "mg/L", amount=False),
          Parameter("k", 0.3, "1/day", source="test"), Parameter("D", 100.0, "mg", source="test"))
    m.add_terms("C", "-k * C")
    return m.with_doses(doses)


@pytest.fixture(scope="module")
def bolus_model():
    return compile_model(one_compartment([Dose("C", "D", schedule(0.0, 7.0, 4))]))


def test_repeated_bolus_matches_closed_form(bolus_model):
    times = np.linspace(0.0, 40.0, 161)
    res = simulate(bolus_model, times, parameters={"k": [0.3, 0.1]}, options=TIGHT)
    for row, k in enumerate([0.3, 0.1]):
        dose_times = np.array([0.0, 7.0, 14.0, 21.0])
        exact = sum(np.where(times >= td, 100.0 / 5.0 * np.exp(-k * (times - td)), 0.0)
                    for td in dose_times)
        np.testing.assert_allclose(res["C"][row], exact, rtol=1e-7)
    assert np.all(res.status == 0)


def test_infusion_matches_closed_form():
    compiled = compile_model(one_compartment([Dose("C", "D", (1.0,), duration=2.0)]))
    times = np.linspace(0.0, 10.0, 101)
    c = simulate(compiled, times, options=TIGHT)["C"][0]
    k, rate = 0.3, 100.0 / 2.0 / 5.0
    during = rate / k * (1 - np.exp(-k * (times - 1.0)))
    end = rate / k * (1 - np.exp(-k * 2.0))
    exact = np.where(times < 1.0, 0.0, np.where(times <= 3.0, during, end * np.exp(-k * (times - 3.0))))
    np.testing.assert_allclose(c, exact, rtol=1e-7, atol=1e-10)


def test_stiff_logistic_growth_with_dense_output():
    m = Model("logistic")
    m.add(Compartment("body", 1.0), Species("T", "body", 1e3, "cell"),
          Parameter("a", 50.0, "1/day", source="test"), Parameter("K", 1e9, "cell", source="test"))
    m.add_terms("T", "a * T * (1 - T / K)")
    times = np.linspace(0.0, 2.0, 57)  # off-step points exercise the interpolant
    res = simulate(m, times, options=SolverOptions(rtol=1e-9, atol=1e-6))
    exact = 1e9 / (1 + (1e9 / 1e3 - 1) * np.exp(-50.0 * times))
    np.testing.assert_allclose(res["T"][0], exact, rtol=1e-6)


def test_results_do_not_depend_on_batch_split_or_threads():
    model = load_reference("depillis2005")
    compiled = compile_model(model)
    rng = np.random.default_rng(3)
    params = pd.DataFrame({n: p.value * rng.uniform(0.7, 1.4, 40) for n, p in model.parameters.items()})
    times = np.arange(0.0, 60.0)
    whole = simulate(compiled, times, params)
    parts = [simulate(compiled, times, params.iloc[i:i + 7]) for i in range(0, 40, 7)]
    np.testing.assert_array_equal(whole.states, np.concatenate([p.states for p in parts]))
    before = numba.get_num_threads()
    try:
        single = simulate(compiled, times, params, threads=1)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(whole.states, single.states)
    np.testing.assert_array_equal(whole.derived, single.derived)


def test_initial_overrides_and_unknown_names(bolus_model):
    res = simulate(bolus_model, [0.0, 1.0], initial={"C": [5.0]}, parameters={"D": [0.0]})
    assert res["C"][0, 1] == pytest.approx(5.0 * np.exp(-0.3), rel=1e-6)
    with pytest.raises(ValueError, match="unknown parameter"):
        simulate(bolus_model, [0.0, 1.0], parameters={"nope": [1.0]})
    with pytest.raises(ValueError, match="strictly increasing"):
        simulate(bolus_model, [1.0, 0.0])


def test_result_tables(bolus_model, tmp_path):
    res = simulate(bolus_model, np.arange(0.0, 5.0), parameters={"k": [0.1, 0.2, 0.3]})
    frame = res.to_frame()
    assert list(frame.columns[:3]) == ["patient", "time", "C"] and len(frame) == 15
    assert res.patient(2).index.name == "time"
    path = res.to_parquet(tmp_path / "r.parquet")
    back = pd.read_parquet(path)
    np.testing.assert_allclose(back["C"].to_numpy(), frame["C"].to_numpy())
    with pytest.raises(KeyError, match="neither a species"):
        res["missing"]


def test_parameter_only_terms_are_computed_once_per_patient():
    # C' = -k C / (V f): the rate constant k / (V f) depends on parameters alone, so the
    # generated right-hand side and Jacobian read it precomputed (no division left), and each
    # patient gets its own: C0 exp(-k t / (V f))
    m = Model("hoist")
    m.add(Compartment("central", 1.0, "L"), Species("C", "central", 10.0, "mg/L", amount=False),
          Parameter("k", 0.5, "L/day", source="test"), Parameter("V", 2.0, "L", source="test"),
          Parameter("f", 0.8, "1", source="test"))
    m.add_terms("C", "-k * C / (V * f)")
    compiled = compile_model(m)
    assert compiled.n_constants >= 1
    source = compiled.source_path.read_text()
    for name in ("rhs", "jac"):
        body = source.split(f"def {name}(")[1].split("@njit")[0]
        assert "/" not in body, name
    times = np.linspace(0.0, 5.0, 11)
    pars = pd.DataFrame({"k": [0.5, 0.2, 0.5], "V": [2.0, 2.0, 1.0], "f": [0.8, 0.5, 0.25]})
    res = simulate(compiled, times, parameters=pars, options=TIGHT)
    rate = (pars["k"] / (pars["V"] * pars["f"])).to_numpy()
    np.testing.assert_allclose(res["C"], 10.0 * np.exp(-rate[:, None] * times), rtol=1e-8)
    # the matrix the generated code reads: the parameters, then each row's constants
    from immunocycle.engine._simulate import parameter_matrix
    P, frame = parameter_matrix(compiled, pars)
    assert P.shape == (3, 3 + compiled.n_constants)
    np.testing.assert_array_equal(P[:, :3], frame.to_numpy())


def test_piecewise_rate_matches_closed_form_per_patient():
    # first order down to a threshold Cs, then zero order at the rate reached there: C0 e^(-kt)
    # until t* = ln(C0/Cs)/k, then Cs - k Cs (t - t*); the Jacobian is -k, then 0
    m = Model("switch")
    m.add(Compartment("central", 1.0, "L"), Species("C", "central", 10.0, "mg/L", amount=False),
          Parameter("k", 0.5, "1/day", source="test"),
          Parameter("Cs", 2.0, "mg/L", source="test"))
    m.add_terms("C", "piecewise(-k * C, C > Cs and not t < 0, -k * Cs)")
    compiled = compile_model(m)
    assert " if " in compiled.source_path.read_text()  # a conditional expression, no recursion
    times = np.linspace(0.0, 5.0, 51)
    cs = np.array([2.0, 4.0])
    res = simulate(compiled, times, parameters={"Cs": cs}, options=TIGHT)
    assert np.all(res.status == 0)
    for row, c in enumerate(cs):
        switch = np.log(10.0 / c) / 0.5
        exact = np.where(times < switch, 10.0 * np.exp(-0.5 * times),
                         c - 0.5 * c * (times - switch))
        np.testing.assert_allclose(res["C"][row], exact, rtol=1e-6, atol=1e-9)
