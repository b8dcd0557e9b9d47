"""Pre-treatment growth: grow each patient from a small tumor to its diagnosis diameter.

As QSP-IO initializes virtual patients (Sove 2020): the untreated model runs from a small tumor
with resting immune states until the tumor reaches the diagnosis size; the state there starts
treatment. Batch-friendly: one simulation of all patients on a fine grid, the crossing found by
interpolation of the diameter and the state interpolated there (geometrically for positive
states, which grow exponentially between grid points). A patient whose tumor never reaches the
size (immune control or a plateau below it) is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from immunocycle.engine import (
    CompiledModel,
    SimulationResult,
    SolverOptions,
    compile_model,
    simulate,
)
from immunocycle.model import Model

#: The derived quantities the crossing reads (the others are not stored on the 1-day grid).
_READ = ("tumor_diameter", "J1", "J7")


@dataclass(frozen=True)
class Pretreatment:
    """Patients at diagnosis.

    Attributes
    ----------
    initial : DataFrame, shape (N, S)
        State at diagnosis per patient (species in declared units); for a patient whose tumor
        never reaches the diameter, the state at the end of the pre-treatment window.
    reached : ndarray of bool, shape (N,)
        Whether the tumor reached the diagnosis diameter (and the integration succeeded).
    t_diagnosis : ndarray, shape (N,)
        Days from the small tumor to diagnosis (NaN where not reached).
    history_times : ndarray, shape (W,)
        Days before diagnosis (negative) at which :attr:`history` is given.
    history : dict of name -> ndarray (N, W)
        Derived quantities (J1, J7, ...) before diagnosis, for the cycle gain at the start.
    """

    initial: pd.DataFrame
    reached: np.ndarray
    t_diagnosis: np.ndarray
    history_times: np.ndarray
    history: dict[str, np.ndarray]


def pretreatment_state(model: Model | CompiledModel, diameter_mm: float | np.ndarray,
                       parameters=None, *, days: float = 4000.0, step: float = 1.0,
                       history_days: float = 14.0, chunk: int = 32,
                       options: SolverOptions | None = None) -> Pretreatment:
    """Grow untreated tumors to ``diameter_mm`` and return each patient's state there.

    Parameters
    ----------
    model : Model or CompiledModel
        An untreated cycle model (see :func:`build_cycle_model`).
    diameter_mm : float or array of shape (N,)
        Diagnosis diameter (mm), one for all or one per patient.
    parameters : DataFrame or mapping, optional
        Per-patient parameter values (as :func:`immunocycle.engine.simulate`); one patient if None.
    days : float
        Longest pre-treatment window (days).
    step : float
        Grid step (days) on which the crossing is searched.
    history_days : float
        Days before diagnosis kept in :attr:`Pretreatment.history`.
    chunk : int
        Patients simulated at a time, so memory stays flat in N (the fine grid is large). 32
        keeps the output arrays (~70 MB for the cycle model's 4,000 days) small enough for the
        allocator to reuse them: 64 costs ~1.6x the CPU in page faults (measured, 250 patients).
    options : SolverOptions, optional

    Returns
    -------
    Pretreatment
    """
    compiled = model if isinstance(model, CompiledModel) else compile_model(model)
    frame = _frame(parameters)
    n = max(len(frame), 1)
    target = np.broadcast_to(np.asarray(diameter_mm, dtype=float), (n,))
    times = np.arange(0.0, days + step / 2, step)
    back = -np.arange(history_days, 0.0, -step)
    parts = []
    for lo in range(0, n, chunk):
        sub = frame.iloc[lo:lo + chunk] if len(frame) else None
        # Only the grid up to the first crossing is read: each patient stops there (the rows
        # before are bitwise those of the whole window; one that never gets there runs it all).
        res = simulate(compiled, times, parameters=sub,
                       options=options or SolverOptions(rtol=1e-6, atol=1e-6),
                       until=("tumor_diameter", target[lo:lo + (len(sub) if len(frame) else 1)]),
                       derived=_READ)
        parts.append(_crossing(res, target[lo:lo + res.n], times, step, back))
    initial = np.concatenate([p[0] for p in parts])
    history = {name: np.concatenate([p[3][name] for p in parts]) for name in parts[0][3]}
    return Pretreatment(pd.DataFrame(initial, columns=compiled.state_names),
                        np.concatenate([p[1] for p in parts]),
                        np.concatenate([p[2] for p in parts]), back, history)


def _frame(parameters) -> pd.DataFrame:
    if parameters is None:
        return pd.DataFrame()
    frame = pd.DataFrame(parameters) if isinstance(parameters, dict) else parameters
    return frame.reset_index(drop=True)


def _crossing(history: SimulationResult, target: np.ndarray, times: np.ndarray, step: float,
              back: np.ndarray):
    """State at the first crossing of the target diameter, per patient of one chunk."""
    diam = history["tumor_diameter"]
    n = diam.shape[0]
    above = diam >= target[:, None]
    reached = above.any(axis=1) & history.ok
    first = np.where(reached, above.argmax(axis=1), times.size - 1)
    states = history.states
    initial = np.empty((n, states.shape[2]))
    t_diag = np.full(n, np.nan)
    t_end = np.empty(n)
    for k in range(n):
        i = first[k]
        if not reached[k] or i == 0:
            if not history.ok[k]:  # a failed integration: its last finite state
                finite = np.flatnonzero(np.isfinite(states[k, :, 0]))
                i = finite[-1] if finite.size else 0
            initial[k] = states[k, i]
            t_diag[k] = times[i] if reached[k] else np.nan
            t_end[k] = times[i]
            continue
        d0, d1 = diam[k, i - 1], diam[k, i]
        f = (target[k] - d0) / (d1 - d0) if d1 > d0 else 1.0
        y0, y1 = states[k, i - 1], states[k, i]
        positive = (y0 > 0) & (y1 > 0)
        # Positive states grow near-exponentially between grid points: interpolate their logs.
        geo = np.exp(np.log(np.where(positive, y0, 1.0)) * (1 - f)
                     + np.log(np.where(positive, y1, 1.0)) * f)
        initial[k] = np.where(positive, geo, y0 + f * (y1 - y0))
        t_diag[k] = t_end[k] = times[i - 1] + f * step
    kept = {}
    for name in ("J1", "J7"):
        values = history[name]
        kept[name] = np.array([np.interp(t_end[k] + back, times, values[k], left=np.nan)
                               for k in range(n)]).reshape(n, back.size)
    return initial, reached, t_diag, kept


__all__ = ["Pretreatment", "pretreatment_state"]
