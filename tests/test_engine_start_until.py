"""Per-patient start times and the stop rule of the engine: each gives, bitwise, the rows of the
run it stands for (the trial's dose stops and growth to diagnosis depend on it)."""

import numpy as np
import pandas as pd
import pytest

from immunocycle._errors import InputError
from immunocycle.engine import SolverOptions, compile_model, simulate
from immunocycle.model import Assignment, Compartment, Dose, Model, Parameter, Species, schedule

OPTIONS = SolverOptions(rtol=1e-6, atol=1e-8)


@pytest.fixture(scope="module")
def growth():
    """Logistic growth with a weekly bolus of a drug that kills, and a derived diameter."""
    m = Model("grow_and_treat")
    m.add(Compartment("body", 1.0), Species("T", "body", 1e3, "cell"),
          Species("D", "body", 0.0, "mg"),
          Parameter("a", 0.05, "1/day", source="test"), Parameter("K", 1e9, "cell", source="test"),
          Parameter("kill", 0.02, "1/mg/day", source="test"),
          Parameter("k_el", 0.3, "1/day", source="test"),
          Parameter("dose", 5.0, "mg", source="test"),
          Parameter("v_cell", 1e-6, "mm**3/cell", source="test"),
          Assignment("diameter", "(6 * T * v_cell / 3.141592653589793) ** (1 / 3)", "mm"))
    m.add_terms("T", "a * T * (1 - T / K) - kill * D * T")
    m.add_terms("D", "-k_el * D")
    return compile_model(m.with_doses([Dose("D", "dose", schedule(0.0, 7.0, 30))]))


def test_start_gives_the_run_from_there_bitwise(growth):
    times = np.arange(0.0, 120.5, 1.0)
    params = pd.DataFrame({"a": [0.05, 0.08, 0.03], "dose": [5.0, 3.0, 8.0]})
    start_idx = np.array([0, 14, 40])  # days 0 and 14 are dose days: the dose there is given
    initial = pd.DataFrame({"T": [1e3, 2e5, 5e4], "D": [0.0, 1.0, 0.5]})
    together = simulate(growth, times, params, initial, OPTIONS, start=times[start_idx])
    for k, s in enumerate(start_idx):
        alone = simulate(growth, times[s:], params.iloc[[k]], initial.iloc[[k]], OPTIONS)
        np.testing.assert_array_equal(together.states[k, s:], alone.states[0])
        np.testing.assert_array_equal(together.derived[k, s:], alone.derived[0])
        assert np.all(np.isnan(together.states[k, :s]))
    assert np.all(together.status == 0)


def test_until_stops_at_the_first_crossing_bitwise(growth):
    times = np.arange(0.0, 400.5, 1.0)
    params = pd.DataFrame({"a": [0.05, 0.08, 0.01], "dose": [0.0, 0.0, 50.0]})
    target = np.array([6.0, 8.0, 6.0])  # the third patient's tumor never gets there
    full = simulate(growth, times, params, options=OPTIONS)
    cut = simulate(growth, times, params, options=OPTIONS, until=("diameter", target))
    diam = full["diameter"]
    for k in range(3):
        hit = np.flatnonzero(diam[k] >= target[k])
        last = hit[0] if hit.size else times.size - 1
        np.testing.assert_array_equal(cut.states[k, :last + 1], full.states[k, :last + 1])
        np.testing.assert_array_equal(cut.derived[k, :last + 1], full.derived[k, :last + 1])
        assert np.all(np.isnan(cut.states[k, last + 1:]))
        assert np.all(np.isnan(cut.derived[k, last + 1:]))
    assert np.all(cut.status == 0)
    assert np.isnan(cut["diameter"][0, -1]) and np.isfinite(cut["diameter"][2, -1])


def test_start_and_until_inputs_are_checked(growth):
    times = np.arange(0.0, 20.5, 1.0)
    with pytest.raises(InputError, match="start"):
        simulate(growth, times, {"a": [0.05, 0.06]}, start=[0.0, 2.5])
    with pytest.raises(InputError, match="start"):
        simulate(growth, times, {"a": [0.05, 0.06]}, start=[0.0])
    with pytest.raises(InputError, match="start"):
        simulate(growth, times, {"a": [0.05]}, start=[20.0])
    with pytest.raises(InputError, match="until"):
        simulate(growth, times, {"a": [0.05]}, until=("volume", 3.0))


def test_legacy_engine_gives_the_same_rows(growth):
    """The pinned pre-issue-18 engine (another method, so other numbers) honours both too."""
    times = np.arange(0.0, 60.5, 1.0)
    params = pd.DataFrame({"a": [0.05, 0.08], "dose": [0.0, 0.0]})
    legacy = SolverOptions(rtol=1e-8, atol=1e-10, method="legacy")
    res = simulate(growth, times, params, options=legacy, start=[0.0, 14.0],
                   until=("diameter", [0.25, 50.0]))
    assert np.all(np.isnan(res.states[1, :14])) and np.all(np.isfinite(res.states[1, 14:]))
    first = int(np.argmax(res["diameter"][0] >= 0.25))
    assert 0 < first < times.size - 1 and np.all(np.isnan(res.states[0, first + 1:]))


def test_derived_subset_is_the_full_runs_columns(growth):
    times = np.arange(0.0, 60.5, 1.0)
    params = pd.DataFrame({"a": [0.05, 0.08]})
    full = simulate(growth, times, params, options=OPTIONS)
    some = simulate(growth, times, params, options=OPTIONS, derived=["diameter"])
    assert some.derived_names == ["diameter"] and some.derived.shape == (2, times.size, 1)
    np.testing.assert_array_equal(some["diameter"], full["diameter"])
    np.testing.assert_array_equal(some.states, full.states)
    with pytest.raises(InputError, match="derived"):
        simulate(growth, times, params, derived=["volume"])
