"""Models with events (:class:`immunocycle.model.Event`): state-triggered discontinuities.

The batched Rodas4 kernel knows dose times in advance; a state-triggered event needs root
finding on the solution. Models that declare events therefore run patient by patient on the
engine's generated right-hand side and Jacobian, integrated by SciPy's ``solve_ivp`` (LSODA)
with its event location (Brent's method on the dense output), between the same dose
boundaries as the engine.

Semantics (SBML Level 3 core, events without delay):

* an event fires when its trigger turns from false to true. Each trigger ``c`` is located as
  the root of a continuous *margin* ``m(c)``, positive where ``c`` holds: ``a < b`` gives
  ``b - a``, ``and`` the minimum, ``or`` the maximum, ``not`` the negation;
* at the start a trigger was ``initial_value``: an event whose trigger holds at ``t0`` fires
  there only if ``initial_value`` is false;
* events firing at one time execute in decreasing ``priority`` (ties: declaration order); after
  each execution every trigger is evaluated again, so an assignment can fire other events (a
  cascade) or, for a non-persistent event, cancel one still waiting;
* assignment values are computed when the event fires (``use_values_from_trigger_time``) or
  when it executes;
* output at an event time is the state after the event.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from immunocycle.engine._codegen import CompiledModel
from immunocycle.engine._rodas import MAX_STEPS, NOT_FINITE, STEP_TOO_SMALL
from immunocycle.model import evaluate_expression, parse_expression

#: Most event executions at one time point before the cascade is called runaway (status).
MAX_CASCADE = 10_000
#: A trigger within NOISE x (1 + scale) of its threshold at an event time holds (round-off of
#: the located root); a fired trigger re-arms only below -REARM x (1 + scale). REARM > NOISE,
#: so the point where an event re-arms is never itself read as a crossing.
NOISE, REARM = 1e-9, 1e-8


@dataclass(frozen=True)
class _Compiled:
    """An event's parsed trigger, priority and assignments (state indices)."""

    trigger: ast.expr
    priority: ast.Expression | float | None
    targets: tuple[int, ...]
    values: tuple[ast.Expression | float, ...]
    persistent: bool
    initial_value: bool
    use_values_from_trigger_time: bool


def _compile_events(compiled: CompiledModel) -> list[_Compiled]:
    model, where = compiled.model, compiled.model.source
    out = []
    for e in model.events:
        field = f"events.{e.name}"
        trigger = parse_expression(f"piecewise(1, {e.trigger}, 0)", where, f"{field}.trigger")
        priority = (parse_expression(e.priority, where, f"{field}.priority")
                    if isinstance(e.priority, str) else e.priority)
        out.append(_Compiled(
            trigger.body.args[1], priority,
            tuple(compiled.state_names.index(t) for t, _ in e.assignments),
            tuple(parse_expression(v, where, f"{field}.assignments.{t}") if isinstance(v, str)
                  else float(v) for t, v in e.assignments),
            e.persistent, e.initial_value, e.use_values_from_trigger_time))
    return out


def _margin(node: ast.expr, values) -> tuple[float, float]:
    """(margin, scale) of a condition: the margin is > 0 where it holds and crosses zero where
    it changes; the scale is the size of the compared quantities (for a noise threshold)."""
    if isinstance(node, ast.Compare):
        out, scale = np.inf, 0.0
        left = float(evaluate_expression(ast.Expression(node.left), values))
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = float(evaluate_expression(ast.Expression(comparator), values))
            diff = right - left if isinstance(op, ast.Lt | ast.LtE) else left - right
            if isinstance(op, ast.Eq):
                diff = -abs(left - right)
            elif isinstance(op, ast.NotEq):
                diff = abs(left - right)
            out, scale = min(out, diff), max(scale, abs(left), abs(right))
            left = right
        return out, scale
    if isinstance(node, ast.BoolOp):
        parts = [_margin(v, values) for v in node.values]
        pick = min if isinstance(node.op, ast.And) else max
        return pick(m for m, _ in parts), max(s for _, s in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        m, s = _margin(node.operand, values)
        return -m, s
    value = bool(evaluate_expression(ast.Expression(node), values))
    return (1.0 if value else -1.0), 1.0


def _holds(node: ast.expr, values) -> bool:
    return bool(evaluate_expression(ast.Expression(node), values))


class _Patient:
    """One patient's integration with events (see the module docstring)."""

    def __init__(self, compiled: CompiledModel, events: list[_Compiled], p: np.ndarray,
                 amounts: np.ndarray, rtol: float, atol: float, max_steps: int):
        self.c, self.events, self.p = compiled, events, p
        self.rtol, self.atol, self.max_steps = rtol, atol, max_steps
        model = compiled.model
        names = compiled.parameter_names  # p continues with the model's constants
        self.base = {n: float(v) for n, v in zip(names, p[:len(names)], strict=True)}
        self.base.update({n: float(c.size) for n, c in model.compartments.items()
                          if not isinstance(c.size, str)})
        self.derived = np.zeros(len(compiled.derived_names))
        d = compiled.doses
        self.bolus = amounts[d.bolus_dose]
        self.rate = amounts[d.inf_dose] / d.inf_duration if d.inf_dose.size else np.zeros(0)
        self.u = np.zeros(compiled.n_states)
        self.armed = np.zeros(len(events), dtype=bool)
        self.steps = 0

    # values of every symbol at (t, y), for the Python-evaluated triggers and assignments
    def values(self, t: float, y: np.ndarray) -> dict:
        vals = dict(self.base)
        vals.update(zip(self.c.state_names, map(float, y), strict=True))
        if self.c.derived_names:
            self.c.module.derived(t, np.ascontiguousarray(y, dtype=float), self.p, self.derived)
            vals.update(zip(self.c.derived_names, map(float, self.derived), strict=True))
        vals["t"] = float(t)
        return vals

    def rhs(self, t, y):
        self.steps += 1
        dy = np.empty(self.c.n_states)
        try:
            self.c.module.rhs(t, np.ascontiguousarray(y, dtype=float), self.p, self.u, dy)
        except ArithmeticError:
            dy[:] = np.nan
        return dy

    def jac(self, t, y):
        J = np.zeros((self.c.n_states, self.c.n_states))
        try:
            self.c.module.jac(t, np.ascontiguousarray(y, dtype=float), self.p, self.u, J)
        except ArithmeticError:
            J[:] = np.nan
        return J

    def _function(self, k: int):
        """The root function of event ``k``: an armed event fires where its margin rises
        through 0; a fired one re-arms only where the margin falls below -REARM x (1 + scale),
        so a state resting at the threshold (an equilibrium there) cannot fire it again and
        again through round-off."""
        armed = bool(self.armed[k])

        def g(t, y):
            margin, scale = _margin(self.events[k].trigger, self.values(t, y))
            return margin if armed else margin + REARM * (1.0 + scale)
        g.terminal = True
        g.direction = 1.0 if armed else -1.0
        return g

    def _assigned(self, e: _Compiled, vals: dict) -> list[float]:
        return [float(v) if isinstance(v, float) else float(evaluate_expression(v, vals))
                for v in e.values]

    def _priority(self, k: int, vals: dict) -> float:
        pr = self.events[k].priority
        if pr is None:
            return -np.inf
        return float(pr) if isinstance(pr, float | int) else float(evaluate_expression(pr, vals))

    def fire(self, t: float, y: np.ndarray, fired: list[int]) -> None:
        """Execute ``fired`` (and whatever they trigger) at ``t``, changing ``y`` in place.

        A fired event re-arms only once its margin is clearly negative, so numerical noise at a
        root cannot fire it twice.
        """
        vals = self.values(t, y)
        pending = {k: (self._assigned(self.events[k], vals)
                       if self.events[k].use_values_from_trigger_time else None) for k in fired}
        self.armed[fired] = False
        for _ in range(MAX_CASCADE):
            if not pending:
                return
            k = min(pending, key=lambda j, v=vals: (-self._priority(j, v), j))
            e, computed = self.events[k], pending.pop(k)
            new = computed if computed is not None else self._assigned(e, vals)
            for idx, value in zip(e.targets, new, strict=True):
                y[idx] = value
            vals = self.values(t, y)
            for j, ev in enumerate(self.events):
                # At a located root the comparison itself is round-off (0.03 - 0.02 < 0.01):
                # a trigger within NOISE x (1 + scale) of its threshold counts as holding.
                margin, scale = _margin(ev.trigger, vals)
                noise = NOISE * (1.0 + scale)
                if j in pending and not ev.persistent and margin < -noise:
                    del pending[j]
                if self.armed[j] and margin > -noise:
                    self.armed[j] = False
                    pending[j] = self._assigned(ev, vals) if ev.use_values_from_trigger_time \
                        else None
                elif not self.armed[j] and margin < -REARM * (1.0 + scale):
                    self.armed[j] = True
        raise RuntimeError("event cascade did not settle")

    def run_from(self, y: np.ndarray, grid, bounds, out) -> int:
        d = self.c.doses
        applied = np.zeros(d.bolus_times.size, dtype=bool)
        t0 = bounds[0]
        g = 0
        for s in range(bounds.size - 1):
            ta, tb = bounds[s], bounds[s + 1]
            due = ~applied & (d.bolus_times <= ta)
            for m in np.flatnonzero(due):
                if d.bolus_times[m] >= t0:
                    y[d.bolus_target[m]] += self.bolus[m]
            applied |= due
            self.u[:] = 0.0
            on = (d.inf_start <= ta) & (ta < d.inf_end)
            np.add.at(self.u, d.inf_target[on], self.rate[on])
            vals = self.values(ta, y)
            if s == 0:  # the trigger's value before the start is its initial_value
                for k, e in enumerate(self.events):
                    self.armed[k] = not e.initial_value
            now = [k for k, e in enumerate(self.events) if self.armed[k] and _holds(e.trigger, vals)]
            for k, e in enumerate(self.events):
                if not self.armed[k] and not _holds(e.trigger, vals) and k not in now:
                    self.armed[k] = True
            if now:
                self.fire(ta, y, now)
            while g < grid.size and grid[g] <= ta:
                out[g] = y
                g += 1
            t = ta
            while t < tb:
                if self.steps > self.max_steps:
                    return MAX_STEPS
                inner = grid[(grid > t) & (grid <= tb)]
                sol = solve_ivp(self.rhs, (t, tb), y, method="LSODA", t_eval=inner,
                                events=[self._function(k) for k in range(len(self.events))],
                                rtol=self.rtol, atol=self.atol, jac=self.jac)
                Y = np.asarray(sol.y, dtype=float)  # a list when no output time was reached
                values = Y.T if Y.size else np.empty((0, self.c.n_states))
                if values.size and not np.isfinite(values).all():
                    return NOT_FINITE
                if sol.status == -1:
                    return STEP_TOO_SMALL
                out[g:g + values.shape[0]] = values
                g += values.shape[0]
                if sol.status == 1:  # a trigger crossed: stop there, fire, go on
                    te = min(float(ts[0]) for ts in sol.t_events if len(ts))
                    k_hit = [k for k, ts in enumerate(sol.t_events) if len(ts) and ts[0] == te]
                    y = np.array(sol.y_events[k_hit[0]][0], dtype=float)
                    if not np.isfinite(y).all():
                        return NOT_FINITE
                    # Triggers crossing at the same time (root-found apart by round-off) fire
                    # together: every armed trigger at its root within the noise level.
                    vals = self.values(te, y)
                    for k, e in enumerate(self.events):
                        margin, scale = _margin(e.trigger, vals)
                        if self.armed[k] and k not in k_hit and margin > -NOISE * (1.0 + scale):
                            k_hit.append(k)
                    fired = sorted(k for k in k_hit if self.armed[k])
                    for k in k_hit:
                        if not self.armed[k]:
                            self.armed[k] = True  # its trigger turned false: it may fire again
                    if fired:
                        self.fire(te, y, fired)
                        # an output time at the event (the root within round-off of it) shows
                        # the state after the event
                        j = g
                        while j > 0 and grid[j - 1] >= te - 1e-9 * (1.0 + abs(te)):
                            j -= 1
                        out[j:g] = y
                    while g < grid.size and grid[g] <= te:
                        out[g] = y
                        g += 1
                    t = te
                else:
                    y = np.array(sol.y[:, -1], dtype=float) if np.size(sol.t) else y
                    t = tb
        return 0


def solve_events(compiled: CompiledModel, P: np.ndarray, Y0: np.ndarray, times: np.ndarray,
                 bounds: np.ndarray, A: np.ndarray, rtol: float, atol: float, max_steps: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate every patient of a model with events; arrays as the batched solver returns.

    Parameters
    ----------
    compiled : CompiledModel
        Its ``model.events`` are honoured (module docstring).
    P : ndarray (N, P + K)
        Parameters per patient, declared units, then the model's constants
        (:meth:`CompiledModel.with_constants`).
    Y0 : ndarray (N, S)
        Initial states.
    times : ndarray (T,)
        Output times, model time units.
    bounds : ndarray
        Segment boundaries: the first and last time and every dose or infusion edge between.
    A : ndarray (N, D)
        Dose amounts per patient.
    rtol, atol : float
        Tolerances of LSODA.
    max_steps : int
        Right-hand-side evaluations allowed per patient.

    Returns
    -------
    out : ndarray (N, T, S), NaN after a failure; status : ndarray (N,); nsteps : ndarray (N,)
    """
    events = _compile_events(compiled)
    n = P.shape[0]
    out = np.full((n, times.size, compiled.n_states), np.nan)
    status = np.zeros(n, dtype=np.int64)
    nsteps = np.zeros(n, dtype=np.int64)
    for k in range(n):
        patient = _Patient(compiled, events, np.ascontiguousarray(P[k]), A[k], rtol, atol,
                           max_steps)
        try:
            status[k] = patient.run_from(Y0[k].copy(), times, bounds, out[k])
        except (RuntimeError, ArithmeticError, ValueError):
            status[k] = NOT_FINITE
        nsteps[k] = patient.steps
    return out, status, nsteps


__all__ = ["solve_events"]
