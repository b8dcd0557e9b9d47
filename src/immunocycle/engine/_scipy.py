"""Reference backend: the engine's compiled right-hand side integrated by SciPy's ``solve_ivp``.

It shares the generated ``rhs``/``jac`` and the dose table with the engine but none of the
Rodas4 solver, its step control, dense output or event loop, so agreement with
:func:`~immunocycle.engine.simulate` checks the solver and the event handling, not the model
translation (that is the roadrunner backend's job).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from immunocycle._errors import InputError
from immunocycle.engine._codegen import CompiledModel, compile_model, dose_amounts
from immunocycle.engine._rodas import NOT_FINITE, STEP_TOO_SMALL
from immunocycle.engine._simulate import parameter_matrix
from immunocycle.model import Model

_WITH_JACOBIAN = {"LSODA", "BDF", "Radau"}


def event_bounds(compiled: CompiledModel, times: np.ndarray) -> np.ndarray:
    """Segment boundaries: ``times[0]``, every dose/infusion event strictly inside, ``times[-1]``.

    The same boundaries as the engine's, so both integrate smooth pieces only.
    """
    d = compiled.doses
    events = np.concatenate([d.bolus_times, d.inf_start, d.inf_end])
    t0, t1 = times[0], times[-1]
    inside = events[(events > t0) & (events < t1)]
    return np.unique(np.concatenate([[t0], inside, [t1]]))


def simulate_scipy(compiled: CompiledModel | Model, times, parameters=None, rtol: float = 1e-9,
                   atol: float = 1e-12, method: str = "LSODA") -> tuple[np.ndarray, np.ndarray]:
    """Simulate a batch of parameter sets with ``scipy.integrate.solve_ivp``, segment by segment.

    Event semantics are the engine's: boluses at a segment start are added before the next
    segment (and before output at that time, so output at a dose time is post-dose); an
    infusion adds ``amount / duration`` to its target's derivative on ``[start, start+duration)``;
    doses before ``times[0]`` are ignored.

    Parameters
    ----------
    compiled : CompiledModel or Model
        A model is compiled first.
    times : array_like
        Strictly increasing output times; integration starts at ``times[0]``.
    parameters : DataFrame or mapping, optional
        One row per patient; missing columns take the model's values.
    rtol, atol : float
        Tolerances passed to ``solve_ivp``.
    method : str
        A ``solve_ivp`` method; LSODA, BDF and Radau get the generated analytic Jacobian.

    Returns
    -------
    states : ndarray, shape (N, T, S)
        NaN after a failure.
    status : ndarray of int, shape (N,)
        0 on success, ``STEP_TOO_SMALL`` (2) if ``solve_ivp`` failed, ``NOT_FINITE`` (3) if the
        state became non-finite.
    """
    compiled = compiled if isinstance(compiled, CompiledModel) else compile_model(compiled)
    times = np.ascontiguousarray(np.asarray(times, dtype=float))
    if times.ndim != 1 or times.size < 1 or np.any(np.diff(times) <= 0):
        raise InputError("times must be a 1-d, strictly increasing array")
    P, frame = parameter_matrix(compiled, parameters)
    amounts = dose_amounts(compiled, frame)
    n, ns = P.shape[0], compiled.n_states
    out = np.full((n, times.size, ns), np.nan)
    status = np.zeros(n, dtype=np.int64)
    bounds = event_bounds(compiled, times)
    for k in range(n):
        status[k] = _one(compiled, np.ascontiguousarray(P[k]), amounts[k], times, bounds, rtol,
                         atol, method, out[k])
    return out, status


def _one(compiled, p, amounts, grid, bounds, rtol, atol, method, out) -> int:
    mod, d = compiled.module, compiled.doses
    ns = compiled.n_states
    y = np.zeros(ns)
    mod.init(p, y)
    bamt = amounts[d.bolus_dose]
    irate = amounts[d.inf_dose] / d.inf_duration if d.inf_dose.size else np.zeros(0)
    u = np.zeros(ns)

    def f(t, yy):
        dy = np.empty(ns)
        try:
            mod.rhs(t, np.ascontiguousarray(yy, dtype=float), p, u, dy)
        except ArithmeticError:  # generated code raises on x/0; report it as non-finite
            dy[:] = np.nan
        return dy

    def jac(t, yy):
        yy = np.ascontiguousarray(yy, dtype=float)
        J = np.zeros((ns, ns))
        try:
            mod.jac(t, yy, p, u, J)
        except ArithmeticError:
            # The symbolic Jacobian can divide by zero where the right-hand side does not
            # (d/dx max(x, 0)**a is written with 1/max(x, 0)): use differences there.
            f0 = f(t, yy)
            for j in range(ns):
                step = 1e-7 * max(1.0, abs(yy[j]))
                yj = yy.copy()
                yj[j] += step
                J[:, j] = (f(t, yj) - f0) / step
        return J

    options = {"jac": jac} if method in _WITH_JACOBIAN else {}
    t0 = bounds[0]
    applied = np.zeros(d.bolus_times.size, dtype=bool)
    g = 0
    for s in range(bounds.size - 1):
        ta, tb = bounds[s], bounds[s + 1]
        _boluses(d, bamt, applied, t0, ta, y)
        u[:] = 0.0
        on = (d.inf_start <= ta) & (ta < d.inf_end)
        np.add.at(u, d.inf_target[on], irate[on])
        while g < grid.size and grid[g] <= ta:
            out[g] = y
            g += 1
        if tb <= ta:
            continue
        inner = grid[(grid > ta) & (grid < tb)]
        sol = solve_ivp(f, (ta, tb), y, method=method, t_eval=np.append(inner, tb), rtol=rtol,
                        atol=atol, **options)
        values = sol.y.T   # rows at the grid points reached, then tb if reached
        finite = np.isfinite(values).all(axis=1)
        good = int(np.argmin(finite)) if not finite.all() else values.shape[0]
        if not sol.success or good < inner.size + 1:
            kept = min(good, inner.size)  # outputs before the failure stay, NaN after
            out[g:g + kept] = values[:kept]
            return NOT_FINITE if good < values.shape[0] else STEP_TOO_SMALL
        out[g:g + inner.size] = values[:-1]
        g += inner.size
        y = values[-1].copy()
    _boluses(d, bamt, applied, t0, bounds[-1], y)
    out[g:][grid[g:] <= bounds[-1]] = y
    return 0


def _boluses(d, bamt, applied, t0, ta, y) -> None:
    """Add every bolus at or before ``ta`` (and not before the start ``t0``) not yet given."""
    due = ~applied & (d.bolus_times <= ta)
    for m in np.flatnonzero(due):
        if d.bolus_times[m] >= t0:
            y[d.bolus_target[m]] += bamt[m]
    applied |= due


__all__ = ["event_bounds", "simulate_scipy"]
