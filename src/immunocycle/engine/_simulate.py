"""Simulate a batch of parameter sets of one model: the engine's public entry point."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
from numba import types
from numba.experimental.function_type import _get_wrapper_address

from immunocycle._errors import InputError
from immunocycle._inputs import limits
from immunocycle.engine import _rodas
from immunocycle.engine._codegen import CompiledModel, compile_model, dose_amounts
from immunocycle.engine._result import SimulationResult
from immunocycle.engine._rodas import (
    DERIVED_SIG,
    INIT_SIG,
    JAC_SIG,
    LU_SIG,
    LU_SOLVE_SIG,
    RHS_SIG,
    derived_batch,
    derived_select_batch,
    init_batch,
)
from immunocycle.engine._rosenbrock import METHODS, solve_batch
from immunocycle.model import Model, ModelError


@dataclass(frozen=True)
class SolverOptions:
    """Method, tolerances and limits of the Rosenbrock solver.

    Attributes
    ----------
    rtol : float
        Relative tolerance.
    atol : float
        Absolute tolerance, in each species' units (scalar for all).
    max_steps : int
        Steps (accepted and rejected) allowed per patient before it is marked failed
        (status ``MAX_STEPS``).
    method : str
        ``"rodas5p"`` (default: order 5, the fastest on every bundled model from rtol 1e-4 to
        1e-8, see ``immunocycle bench``), ``"rodas4"`` (order 4) or ``"legacy"`` (the engine as
        it was before issue 18: Rodas4 with the pattern-driven sparse LU, kept as the pinned
        baseline of ``immunocycle bench --case trial``).
    """

    rtol: float = 1e-8
    atol: float = 1e-10
    max_steps: int = 200_000
    method: str = "rodas5p"

    def __post_init__(self):
        if not (0 < self.rtol < 1) or self.atol <= 0 or self.max_steps < 1:
            raise InputError(f"invalid solver options: {self}")
        if self.method not in (*METHODS, "legacy"):
            raise InputError("method", f"{self.method!r} is not one of "
                             f"{', '.join([*METHODS, 'legacy'])}")


_METHOD_OVERRIDE: list[str] = []


class _Address(types.WrapperAddressProtocol):
    """A generated function by address, for the kernels' first-class function arguments.

    Handing numba the dispatcher itself costs ~10 ms of CPU per call of a parallel kernel (it is
    resolved again every time), which a trial pays for thousands of calls; the address is
    resolved once per process.
    """

    def __init__(self, dispatcher, sig):
        self._address = _get_wrapper_address(dispatcher, sig)
        self._sig = sig

    def __wrapper_address__(self):
        return self._address

    def signature(self):
        return self._sig


_ADDRESSES: dict[tuple[str, str], _Address] = {}


def _address(module, name: str, sig) -> _Address:
    key = (module.__name__, name)
    if key not in _ADDRESSES:
        _ADDRESSES[key] = _Address(getattr(module, name), sig)
    return _ADDRESSES[key]


def kernel_functions(compiled: CompiledModel) -> dict[str, _Address]:
    """``rhs``, ``jac``, ``lu``, ``lu_solve``, ``init`` and ``derived`` of a compiled model as
    cached addresses for the batch kernels."""
    m = compiled.module
    return {name: _address(m, name, sig) for name, sig in
            (("rhs", RHS_SIG), ("jac", JAC_SIG), ("lu", LU_SIG), ("lu_solve", LU_SOLVE_SIG),
             ("init", INIT_SIG), ("derived", DERIVED_SIG))}


@contextmanager
def solver_method(method: str):
    """Within the block, every :func:`simulate` in this process uses ``method`` whatever its
    options say (``"legacy"`` pins the engine before issue 18 as the baseline of ``immunocycle
    bench --case trial``, without threading an option through every caller)."""
    SolverOptions(method=method)  # checks the name
    _METHOD_OVERRIDE.append(method)
    try:
        yield
    finally:
        _METHOD_OVERRIDE.pop()


def parameter_matrix(compiled: CompiledModel, parameters=None) -> tuple[np.ndarray, pd.DataFrame]:
    """Expand per-patient parameter overrides to the matrix the generated functions read, and
    the full frame of parameters (declared units).

    The matrix is (N, P + K): the P parameters in ``parameter_names`` order, then the model's K
    parameter-only constants (:meth:`CompiledModel.with_constants`).
    """
    base = compiled.default_parameters()
    if parameters is None:
        frame = pd.DataFrame(base[None, :], columns=compiled.parameter_names)
    else:
        frame = pd.DataFrame(parameters) if isinstance(parameters, Mapping) else parameters.copy()
        frame = frame.reset_index(drop=True)
        if list(frame.columns) == list(compiled.parameter_names):  # complete, in order
            return compiled.with_constants(frame.to_numpy(dtype=float)), frame
        known = set(compiled.parameter_names)
        unknown = [c for c in frame.columns if c not in known]
        if unknown:
            raise ModelError(compiled.model.source, "parameters",
                             f"unknown parameter(s) {', '.join(map(str, unknown))}")
        missing = {name: np.full(len(frame), base[i])
                   for i, name in enumerate(compiled.parameter_names) if name not in frame}
        frame = pd.concat([frame, pd.DataFrame(missing, index=frame.index)], axis=1)
        frame = frame[compiled.parameter_names]
    return compiled.with_constants(frame.to_numpy(dtype=float)), frame


def _start_times(start, times: np.ndarray, n: int) -> np.ndarray:
    """Per-patient start times (``times[0]`` for all when ``start`` is None), checked."""
    if start is None:
        return np.full(n, times[0])
    T0 = np.asarray(start, dtype=float)
    if T0.shape != (n,):
        raise InputError("start", f"needs one time per patient ({n}), got shape {T0.shape}")
    if not np.all(np.isin(T0, times[:-1])):
        raise InputError("start", "each start must be an output time before the last")
    return np.array(T0)  # a writable, contiguous copy for the kernel


def _stop_rule(compiled: CompiledModel, until, n: int) -> tuple[int, np.ndarray]:
    """(index of the derived quantity, per-patient values) of ``until`` (-1: none)."""
    if until is None:
        return -1, np.zeros(n)
    name, values = until
    if name not in compiled.derived_names:
        raise InputError("until", f"{name!r} is not a derived quantity of the model")
    values = np.array(np.broadcast_to(np.asarray(values, dtype=float), (n,)))
    return compiled.derived_names.index(name), values


def _derived_indices(compiled: CompiledModel, names) -> np.ndarray:
    """Indices of the derived quantities ``names`` (checked)."""
    unknown = [x for x in names if x not in compiled.derived_names]
    if unknown:
        raise InputError("derived", f"{', '.join(map(repr, unknown))}: not derived quantities "
                         "of the model")
    return np.array([compiled.derived_names.index(x) for x in names], dtype=np.int64)


def _legacy_split(compiled, times, frame, Y0, options, threads, T0, until,
                  keep=None) -> SimulationResult:
    """``start``/``until`` on the pinned pre-issue-18 engine: one call per start time on the
    grid from there (the call pattern the trial used before), the stop applied afterwards."""
    n = len(frame)
    states = np.full((n, times.size, compiled.n_states), np.nan)
    derived = np.full((n, times.size, len(compiled.derived_names)), np.nan)
    status = np.zeros(n, dtype=np.int64)
    nsteps = np.zeros(n, dtype=np.int64)
    for t0 in np.unique(T0):
        rows = np.flatnonzero(T0 == t0)
        s = int(np.searchsorted(times, t0))
        part = simulate(compiled, times[s:], frame.iloc[rows].reset_index(drop=True),
                        pd.DataFrame(Y0[rows], columns=compiled.state_names), options, threads)
        states[rows, s:] = part.states
        derived[rows, s:] = part.derived
        status[rows], nsteps[rows] = part.status, part.n_steps
    if until is not None:
        at, values = _stop_rule(compiled, until, n)
        hit = derived[:, :, at] >= values[:, None]
        first = np.where(hit.any(axis=1), hit.argmax(axis=1), times.size)
        after = np.arange(times.size)[None, :] > first[:, None]
        states[after] = np.nan
        derived[after] = np.nan
    names = list(compiled.derived_names)
    if keep is not None:
        derived, names = np.ascontiguousarray(derived[:, :, keep]), [names[i] for i in keep]
    from immunocycle import __version__

    provenance = {"model": compiled.model.name, "version": __version__, "rtol": options.rtol,
                  "atol": options.atol, "method": options.method, "n": n}
    return SimulationResult(times, states, derived, status, list(compiled.state_names), names,
                            frame, nsteps, provenance)


def simulate(model: Model | CompiledModel, times, parameters=None, initial=None,
             options: SolverOptions | None = None, threads: int | None = None, *,
             start=None, until: tuple[str, object] | None = None,
             derived: Sequence[str] | None = None) -> SimulationResult:
    """Simulate one model for a batch of parameter sets on a shared time grid.

    Parameters
    ----------
    model : Model or CompiledModel
    times : array_like
        Increasing output times (model time units); integration starts at ``times[0]``.
    parameters : DataFrame or mapping of name -> array, optional
        One row per patient; columns override the model's parameter values. ``None``: one
        patient with the model's values.
    initial : DataFrame or mapping, optional
        Per-patient initial values of species (overrides the model's initial expressions).
    options : SolverOptions, optional
    threads : int, optional
        Numba threads to use (results do not depend on it).
    start : array_like of shape (N,), optional
        Per-patient start: each an output time at which that patient's integration starts
        from ``initial`` (doses before it are not given, outputs before it are NaN). Patient
        ``k``'s outputs from ``start[k]`` on are bitwise those of a run on ``times[times >=
        start[k]]`` alone, so patients stopping treatment on different days share one call.
    until : (name, values), optional
        Stop each patient after the first output time at which derived quantity ``name`` is
        at least ``values`` (one for all or one per patient); its later states and derived
        values are NaN and its status stays ``OK``. The rows before are bitwise those of a run
        without ``until`` (the check only reads the output), so a search for a first crossing
        (growth to diagnosis) need not integrate, interpolate and store the rest of the grid.
    derived : sequence of str, optional
        Derived quantities to return (default: all), in this order; the others are not stored
        (a long grid's output arrays cost more than computing them).

    Returns
    -------
    SimulationResult
        A patient whose integration fails is flagged in ``status`` with NaN outputs after the
        failure; the others are unaffected.
    """
    compiled = model if isinstance(model, CompiledModel) else compile_model(model)
    options = options or SolverOptions()
    if _METHOD_OVERRIDE:
        options = SolverOptions(options.rtol, options.atol, options.max_steps, _METHOD_OVERRIDE[-1])
    times = np.ascontiguousarray(np.asarray(times, dtype=float))
    if times.ndim != 1 or times.size < 1 or np.any(np.diff(times) <= 0):
        raise InputError("times must be a 1-d, strictly increasing array")
    if not np.all(np.isfinite(times)):
        raise InputError("times", "must be finite")
    max_points = int(limits()["time_grid"]["max_points"])
    if times.size > max_points:  # the output alone would take N x points x states x 8 bytes
        raise InputError("times", f"{times.size:,} output times, more than the limit of "
                         f"{max_points:,} (data/limits.yaml)", "use a coarser grid")
    P, frame = parameter_matrix(compiled, parameters)
    n = P.shape[0]
    T0 = _start_times(start, times, n)
    stop_at, stop_values = _stop_rule(compiled, until, n)
    keep = None if derived is None else _derived_indices(compiled, derived)
    Y0 = np.zeros((n, compiled.n_states))
    doses = compiled.doses
    n_doses = len(compiled.model.doses)
    legacy = options.method == "legacy"  # also the pre-issue-18 call path (the pinned baseline)
    A = dose_amounts(compiled, frame if legacy else P[:, :len(compiled.parameter_names)])
    if threads:
        numba.set_num_threads(threads)
    fn = ({k: getattr(compiled.module, k) for k in ("rhs", "jac", "init", "derived")} if legacy
          else kernel_functions(compiled))
    init_batch(fn["init"], P, Y0)
    if initial is not None:
        init = pd.DataFrame(initial).reset_index(drop=True)
        for col in init.columns:
            if col not in compiled.state_names:
                raise ModelError(compiled.model.source, "initial", f"unknown species {col!r}")
            Y0[:, compiled.state_names.index(col)] = init[col].to_numpy(dtype=float)
    if np.any(A[:, :n_doses] < 0):
        raise ModelError(compiled.model.source, "doses", "a dose amount evaluates negative")
    if legacy and (start is not None or until is not None):
        return _legacy_split(compiled, times, frame, Y0, options, threads, T0, until, keep)
    t0, t1 = T0.min(initial=times[-1]), times[-1]
    events = np.concatenate([doses.bolus_times, doses.inf_start, doses.inf_end])
    inside = events[(events > t0) & (events < t1)]
    bounds = np.unique(np.concatenate([[t0], inside, [t1]]))
    out = np.full((n, times.size, compiled.n_states), np.nan)
    status = np.zeros(n, dtype=np.int64)
    nsteps = np.zeros(n, dtype=np.int64)
    atol = np.full(compiled.n_states, options.atol)
    rows = np.full(n, times.size, dtype=np.int64)
    if compiled.model.events:  # state-triggered events: root finding, patient by patient
        from immunocycle.engine._events import solve_events

        if start is not None or until is not None:
            raise InputError("start", "per-patient start and until are not supported for "
                             "models with events")
        out, status, nsteps = solve_events(compiled, P, Y0, times, bounds, A, options.rtol,
                                           options.atol, options.max_steps)
    else:
        if legacy:
            _rodas.solve_batch(fn["rhs"], fn["jac"], P, Y0, times, bounds, doses.bolus_times,
                               doses.bolus_target, doses.bolus_dose, doses.inf_start,
                               doses.inf_end, doses.inf_target, doses.inf_dose,
                               doses.inf_duration, A, options.rtol, atol, options.max_steps,
                               compiled.uses_time, out, status, nsteps, compiled.pattern)
        else:
            solve_batch(fn["rhs"], fn["jac"], fn["lu"], fn["lu_solve"], fn["derived"], P, Y0,
                        T0, times, bounds, doses.bolus_times, doses.bolus_target,
                        doses.bolus_dose, doses.inf_start, doses.inf_end, doses.inf_target,
                        doses.inf_dose, doses.inf_duration, A, options.rtol, atol,
                        options.max_steps, compiled.uses_time, out, status, nsteps, rows,
                        compiled.lu_size, METHODS[options.method], stop_at, stop_values,
                        len(compiled.derived_names))
            # derived values of every row, as before (failed patients too), except after a stop
            rows[(status != 0) | (stop_at < 0)] = times.size
    names = list(compiled.derived_names)
    if keep is None:
        values = np.full((n, times.size, len(names)), np.nan)
        if names:
            derived_batch(fn["derived"], P, times, out, values, rows)
    else:
        values = np.full((n, times.size, keep.size), np.nan)
        if keep.size:
            derived_select_batch(fn["derived"], P, times, out, values, rows, keep, len(names))
        names = [names[i] for i in keep]
    from immunocycle import __version__

    provenance = {"model": compiled.model.name, "version": __version__, "rtol": options.rtol,
                  "atol": options.atol, "method": options.method, "n": n}
    return SimulationResult(times, out, values, status, list(compiled.state_names), names,
                            frame, nsteps, provenance)
