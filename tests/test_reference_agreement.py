"""The engine against two independent references, over batches of random parameter sets.

* libroadrunner (CVODE BDF, root-finding events) on the model exported to SBML: checks the model
  translation (codegen and SBML export must mean the same thing) and the solver;
* SciPy's LSODA on the engine's own compiled right-hand side, segment by segment: checks the
  Rodas4 solver, its dense output and the event loop.

Each reference model gets 100 parameter sets, every parameter drawn log-uniform within
x0.7..x1.4 of its nominal value (seeded).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunocycle._paths import PACKAGE_DATA
from immunocycle.engine import SolverOptions, compile_model, simulate
from immunocycle.engine._roadrunner import simulate_roadrunner
from immunocycle.engine._scipy import simulate_scipy
from immunocycle.model import (
    Assignment,
    Compartment,
    Dose,
    Model,
    Parameter,
    Reaction,
    Species,
    load_model,
)

pytest.importorskip("roadrunner")

N_PATIENTS = 100
# Tolerances. The engine runs at rtol 1e-10 with atol 1e-10 (in each species' own units): every
# value compared below lies above FLOOR x the species' maximum, i.e. >= 1e-4 mg (PK) or >= 10
# cells (tumour models), six or more orders above atol, so error control there is relative.
ENGINE = SolverOptions(rtol=1e-10, atol=1e-10)
RR_RTOL, RR_ATOL = 1e-10, 1e-12
SCIPY_RTOL, SCIPY_ATOL = 1e-9, 1e-12
AGREEMENT = 1e-4     # max relative difference allowed
FLOOR = 1e-6         # values below FLOOR x (species' max over batch and grid) are not compared
# (de Pillis tumours are eliminated in some patients: T falls to 1e-270 cells, far below any
# solver's absolute tolerance, where relative differences are meaningless.)


def reference(name: str) -> Model:
    return load_model(PACKAGE_DATA / "models" / f"{name}.yaml")


def grid(model: Model, t_end: float) -> np.ndarray:
    """A daily grid plus every dose event time (bolus times, infusion starts and ends).

    Both references report post-event values at an event time (roadrunner fires the event before
    recording that row), as the engine does, so no grid point needs to be excluded.
    """
    events = [t + offset for d in model.doses for t in d.times
              for offset in ((0.0, d.duration) if d.duration > 0 else (0.0,))]
    times = np.concatenate([np.arange(0.0, t_end + 0.5, 1.0), events])
    return np.unique(times[times <= t_end])


def batch(model: Model, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    nominal = np.array([p.value for p in model.parameters.values()])
    factors = np.exp(rng.uniform(np.log(0.7), np.log(1.4), (n, nominal.size)))
    return pd.DataFrame(nominal * factors, columns=list(model.parameters))


def max_relative_difference(reference_values: np.ndarray, engine_values: np.ndarray) -> float:
    """Largest |ref - engine| / |engine| over values above the floor."""
    scale = np.nanmax(np.abs(engine_values), axis=(0, 1))
    compared = np.abs(engine_values) > FLOOR * scale
    assert compared.any()
    diff = np.abs(reference_values - engine_values)[compared] / np.abs(engine_values[compared])
    assert np.isfinite(diff).all()
    return float(diff.max())


CASES = {"kuznetsov1994": 100.0, "depillis2005": 100.0, "pk_two_compartment": 90.0}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    name = request.param
    model = reference(name)
    times = grid(model, CASES[name])
    params = batch(model, N_PATIENTS, seed=sum(map(ord, name)))
    compiled = compile_model(model)
    result = simulate(compiled, times, params, options=ENGINE)
    assert (result.status == 0).all(), result.status_text()
    return name, model, compiled, times, params, result.states


def test_engine_agrees_with_roadrunner(case):
    name, model, _, times, params, states = case
    ref, status = simulate_roadrunner(model, times, params, rtol=RR_RTOL, atol=RR_ATOL)
    assert (status == 0).all()
    deviation = max_relative_difference(ref, states)
    # measured: kuznetsov1994 2.5e-8, depillis2005 6.1e-7, pk_two_compartment 2.4e-9
    assert deviation <= AGREEMENT, f"{name}: max relative difference {deviation:.2e}"


def test_engine_agrees_with_scipy(case):
    name, _, compiled, times, params, states = case
    ref, status = simulate_scipy(compiled, times, params, rtol=SCIPY_RTOL, atol=SCIPY_ATOL)
    assert (status == 0).all()
    deviation = max_relative_difference(ref, states)
    assert deviation <= AGREEMENT, f"{name}: max relative difference {deviation:.2e}"


def test_pk_grid_includes_the_dose_times():
    model = reference("pk_two_compartment")
    times = grid(model, 90.0)
    assert {20.5, 45.25, 14.0}.issubset(times)
    assert np.isclose(times, 14.0 + 0.0208333333).any()


# --------------------------------------------------------------------------------- features
def features() -> Model:
    """Every construct the exporter translates: concentration species in a non-unit volume,
    stoichiometry 2, an expression compartment, a parameter-dependent initial value, all
    expression functions and t, a parameter called e, a bolus at t = 0, overlapping infusions of
    one dose, and an infusion and a bolus into a rate-rule species."""
    m = Model("features", "day", source="test features model")

    def par(name, value, units):
        return Parameter(name, value, units, source="test")

    m.add(Compartment("plasma", 2.5, "L"), Compartment("tissue", "V_t", "L"),
          par("V_t", 1.5, "L"), par("C0", 4.0, "mg/L"), par("k_el", 0.4, "1/day"),
          par("k_d", 0.02, "L/mg/day"), par("k_t", 0.3, "1/day"), par("k_tl", 0.2, "1/day"),
          par("r_x", 0.5, "1/day"), par("tau", 6.0, "day"), par("k_x", 0.4, "1/day"),
          par("EC50", 3.0, "mg/L"), par("e", 0.3, "dimensionless"),
          par("D_b", 10.0, "mg"), par("D_i", 12.0, "mg"), par("X_in", 2.0e3, "cell"))
    m.add(Species("C", "plasma", "C0", "mg/L", amount=False),
          Species("B", "plasma", 0.0, "mg/L", amount=False),
          Species("A_t", "tissue", 0.0, "mg", amount=True),
          Species("X", "plasma", 1.0e4, "cell", amount=True))
    m.add(Assignment("S", "log(1 + C / EC50) + sqrt(abs(C) / EC50) + min(C, EC50) / EC50"
                          " + max(C, EC50) / EC50 + pow(C / EC50 + 1, 0.5)"),
          Assignment("C_t", "A_t / tissue", "mg/L"))
    m.add(Reaction("elim", "k_el * C * plasma", {"C": -1}),
          Reaction("dimer", "k_d * C**2 * plasma", {"C": -2, "B": 1}),
          Reaction("transfer", "k_t * C * plasma", {"C": -1, "A_t": 1}),
          Reaction("tissue_loss", "k_tl * A_t", {"A_t": -1}))
    m.add_terms("X", "r_x * X * exp(-t / tau) - k_x * e * X * S / 4")
    m.add(Dose("C", "D_b", (0.0, 5.0, 12.5), name="bolus_c"),
          Dose("C", "D_i", (2.0, 3.0), duration=1.5, name="infusion_c"),
          Dose("X", "X_in", (7.0,), duration=2.0, name="infusion_x"),
          Dose("X", 1.0e3, (10.0,), name="bolus_x"))
    m.check()
    return m


def test_features_model_agrees_with_both_references():
    model = features()
    times = grid(model, 20.0)
    times = np.unique(np.concatenate([times, np.arange(0.0, 20.0, 0.25)]))
    params = batch(model, 40, seed=3)
    compiled = compile_model(model)
    states = simulate(compiled, times, params, options=ENGINE).states
    rr, rr_status = simulate_roadrunner(model, times, params, rtol=RR_RTOL, atol=RR_ATOL)
    sp, sp_status = simulate_scipy(compiled, times, params, rtol=SCIPY_RTOL, atol=SCIPY_ATOL)
    assert (rr_status == 0).all() and (sp_status == 0).all()
    # measured: 2e-8 (roadrunner) and 1e-8 (scipy); a wrong volume or a doubled dose is O(1)
    assert max_relative_difference(rr, states) <= 1e-6
    assert max_relative_difference(sp, states) <= 1e-6


def test_roadrunner_runs_are_pure_and_reevaluate_initial_assignments():
    model = features()
    times = np.array([0.0, 2.5, 3.2])   # ends while both infusions of infusion_c are running
    params = pd.DataFrame({"C0": [4.0, 8.0, 4.0], "D_b": [10.0, 20.0, 10.0]})
    out, status = simulate_roadrunner(model, times, params)
    assert (status == 0).all()
    # initial value C0 (an initial assignment) plus the bolus at t = 0 divided by the volume
    np.testing.assert_allclose(out[:, 0, 0], params["C0"] + params["D_b"] / 2.5, rtol=1e-14)
    # the first patient's run did not leak into the third's (infusion rates, events, species)
    np.testing.assert_array_equal(out[0], out[2])
    alone, _ = simulate_roadrunner(model, times, params.iloc[[0]])
    np.testing.assert_array_equal(alone[0], out[0])


# --------------------------------------------------------------------------------- failures
def test_a_failing_patient_is_isolated():
    """b < 0 turns logistic growth into T' ~ a|b|T^2: finite-time blow-up near day 4."""
    model = reference("kuznetsov1994")
    compiled = compile_model(model)
    times = np.arange(0.0, 31.0)
    params = batch(model, 8, seed=11)
    params.loc[3, "b"] = -1e-6
    options = SolverOptions(rtol=1e-8, atol=1e-6)
    result = simulate(compiled, times, params, options=options)
    assert result.status[3] != 0
    assert np.isnan(result.states[3, -1]).all()
    failed_at = int(np.argmax(np.isnan(result.states[3]).any(axis=1)))
    assert 0 < failed_at < times.size and np.isnan(result.states[3, failed_at:]).all()
    assert np.isfinite(result.states[3, :failed_at]).all()
    for k in set(range(8)) - {3}:
        assert result.status[k] == 0
        alone = simulate(compiled, times, params.iloc[[k]], options=options)
        np.testing.assert_array_equal(alone.states[0], result.states[k])
    # the references flag the same patient and leave the others alone
    rr, rr_status = simulate_roadrunner(model, times, params, rtol=1e-8, atol=1e-6)
    sp, sp_status = simulate_scipy(compiled, times, params, rtol=1e-8, atol=1e-6)
    assert rr_status[3] != 0 and sp_status[3] != 0
    ok = np.arange(8) != 3
    assert (rr_status[ok] == 0).all() and (sp_status[ok] == 0).all()
    assert max_relative_difference(rr[ok], result.states[ok]) <= AGREEMENT
    assert np.isnan(sp[3, -1]).all() and np.isnan(rr[3, -1]).all()
