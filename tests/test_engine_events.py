"""State-triggered events (:class:`immunocycle.model.Event`): root finding, cascades,
priorities and the value at the start, checked against closed-form solutions."""

import numpy as np
import pytest

from immunocycle.engine import SolverOptions, simulate
from immunocycle.model import Compartment, Event, Model, ModelError, Parameter, Reaction, Species

TIGHT = SolverOptions(rtol=1e-10, atol=1e-12)


def decay(*events: Event) -> Model:
    """dS/dt = -k S (k = 1/s), S(0) = 1, with ``events``; X is a counter the events may set."""
    m = Model("decay", time_units="second")
    m.add(Compartment("c", 1.0, "L"), Parameter("k", 1.0, "1/s"),
          Species("S", "c", 1.0, "mol/L", amount=False), Species("X", "c", 0.0, "dimensionless", True),
          Reaction("loss", "k * S * c", {"S": -1}))
    m.add(*events)
    return m


def test_a_state_trigger_resets_at_the_root():
    """S < 0.25 -> S = 1: a saw tooth exp(-(t mod ln 4)); each firing counts once."""
    model = decay(Event("reset", "S < 0.25", (("S", 1.0), ("X", "X + 1"))))
    times = np.linspace(0.0, 5.0, 51)
    res = simulate(model, times, options=TIGHT)
    assert res.ok.all()
    np.testing.assert_allclose(res["S"][0], np.exp(-np.mod(times, np.log(4.0))), atol=1e-7)
    np.testing.assert_array_equal(res["X"][0], np.floor(times / np.log(4.0)))


def test_a_trigger_true_at_the_start_fires_only_with_initial_value_false():
    for initial_value, fired in ((True, 0.0), (False, 1.0)):
        model = decay(Event("start", "S > 0.5", (("X", "X + 1"),), initial_value=initial_value))
        res = simulate(model, np.linspace(0.0, 2.0, 5), options=TIGHT)
        assert res["X"][0, -1] == fired


def test_priorities_order_simultaneous_events_and_assignments_cascade():
    """Both fire at S = 0.5 (t = ln 2); the higher priority executes first, so X ends at the
    lower one's value (both execute: persistent); S then decays again from 0.9."""
    for high, final in (("first", 2.0), ("second", 1.0)):
        model = decay(
            Event("first", "S < 0.5", (("X", 1.0),), priority=2.0 if high == "first" else 1.0),
            Event("second", "S <= 0.5", (("X", 2.0), ("S", 0.9)),
                  priority=2.0 if high == "second" else 1.0))
        res = simulate(model, np.array([0.0, 0.8]), options=TIGHT)
        assert res["X"][0, -1] == final
        # S was reset to 0.9 at t = ln 2 and decays again
        assert res["S"][0, -1] == pytest.approx(0.9 * np.exp(-(0.8 - np.log(2.0))), rel=1e-7)


def test_a_time_trigger_sets_a_value_once():
    model = decay(Event("set", "t >= 1.5", (("S", 2.0),)))
    times = np.linspace(0.0, 3.0, 31)
    res = simulate(model, times, options=TIGHT)
    expected = np.where(times < 1.5, np.exp(-times), 2.0 * np.exp(-(times - 1.5)))
    np.testing.assert_allclose(res["S"][0], expected, rtol=1e-7)


def test_events_per_patient_follow_their_parameters():
    model = decay(Event("reset", "S < 0.25", (("S", 1.0), ("X", "X + 1"))))
    res = simulate(model, np.array([0.0, 5.0]), {"k": [0.5, 1.0, 2.0]}, options=TIGHT)
    np.testing.assert_array_equal(res["X"][:, -1], np.floor(5.0 * np.array([0.5, 1.0, 2.0])
                                                            / np.log(4.0)))


def test_an_event_may_not_assign_a_parameter_or_name_an_unknown_symbol():
    with pytest.raises(ModelError, match="assign species only"):
        simulate(decay(Event("bad", "S < 0.5", (("k", 2.0),))), np.array([0.0, 1.0]))
    with pytest.raises(ModelError, match="unknown name"):
        simulate(decay(Event("bad", "Q < 0.5", (("S", 2.0),))), np.array([0.0, 1.0]))
