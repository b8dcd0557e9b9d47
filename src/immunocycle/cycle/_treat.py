"""Grow patients to diagnosis once, then treat them in several arms from that same state.

The common core of :func:`immunocycle.cycle.simulate_cycle` (one arm, read as a cycle frame) and
of virtual trials (every arm of a trial treats the same patients from the same state at
diagnosis, :mod:`immunocycle.trial`): the untreated model grows each patient to its diagnosis
diameter (:func:`pretreatment_state`), then each arm's model runs from the state there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from immunocycle.cycle._analysis import settings
from immunocycle.cycle._build import build_cycle_model
from immunocycle.cycle._pretreatment import Pretreatment, pretreatment_state
from immunocycle.cycle._therapy import Therapy, load_therapy
from immunocycle.engine import (
    CompiledModel,
    SimulationResult,
    SolverOptions,
    compile_model,
    simulate,
)

#: Solver settings of the cycle model (growth to diagnosis and treatment).
OPTIONS = SolverOptions(rtol=1e-6, atol=1e-6, max_steps=100_000)


@lru_cache(maxsize=32)
def _compiled(preset: str, therapies: tuple[str, ...]) -> CompiledModel:
    loaded = [load_therapy(Therapy.model_validate_json(t)) if t.startswith("{") else t
              for t in therapies]
    return compile_model(build_cycle_model(preset, loaded))


def compiled_cycle_model(preset: str | Path = "human",
                         therapies: Sequence[str | Therapy] = ()) -> CompiledModel:
    """The compiled cycle model, cached per preset and therapy list within the process."""
    key = tuple(t.model_dump_json() if isinstance(t, Therapy) else str(t) for t in therapies)
    return _compiled(str(preset), key)


@dataclass(frozen=True)
class Treatment:
    """Patients grown to diagnosis and treated in several arms.

    Attributes
    ----------
    pretreatment : Pretreatment
        Growth to diagnosis, shared by every arm; ``pretreatment.reached`` flags patients that
        never got there.
    arms : tuple of SimulationResult
        Per arm (in the order given), the treatment phase; time 0 is diagnosis.
    times : ndarray
        Output grid of every arm (days from diagnosis).
    """

    pretreatment: Pretreatment
    arms: tuple[SimulationResult, ...]
    times: np.ndarray


def treat(preset: str | Path, arms: Sequence[Sequence[str | Therapy]], *, days: float = 84.0,
          step: float = 1.0, parameters=None, n: int = 1,
          diagnosis_diameter_mm: float | np.ndarray | None = None,
          treatment_parameters: Mapping[str, float] | None = None,
          options: SolverOptions | None = None,
          pretreatment_options: SolverOptions | None = None) -> Treatment:
    """Grow patients of a preset to diagnosis once, then treat them in every arm.

    Parameters
    ----------
    preset : str or path
        ``"human"``, ``"mouse"``, ``"inflamed"``, ``"excluded"``, ``"desert"`` or a parameter file.
    arms : sequence of sequences of str or Therapy
        Per arm, packaged therapy names or :class:`Therapy` objects, doses timed from diagnosis
        (day 0); an empty sequence is an untreated arm.
    days : float
        Length of the treatment phase (days).
    step : float
        Output grid step (days); the grid is ``0, step, ...`` up to ``days``.
    parameters : DataFrame or mapping of name -> array, optional
        Per-patient parameter values (both phases); names the model lacks are ignored.
    n : int
        Number of patients when ``parameters`` is None (all identical).
    diagnosis_diameter_mm : float or array, optional
        Tumor diameter (mm) at which treatment starts, one for all or one per patient; default
        from ``analysis.yaml`` for the preset.
    treatment_parameters : mapping, optional
        Parameter values applied from diagnosis on only, in every arm.
    options : SolverOptions, optional
        Solver settings of the treatment phase (default :data:`OPTIONS`).
    pretreatment_options : SolverOptions, optional
        Solver settings of the growth to diagnosis (default :data:`OPTIONS`).

    Returns
    -------
    Treatment
    """
    conf = settings()["presets"].get(Path(str(preset)).stem, settings()["presets"]["human"])
    diameter = conf["diagnosis_diameter_mm"] if diagnosis_diameter_mm is None \
        else diagnosis_diameter_mm
    frame = _parameter_frame(parameters, n)
    untreated = compiled_cycle_model(preset)
    pre = _unique_pretreatment(untreated, diameter, _full_frame(untreated, frame),
                               days=conf["pretreatment_days"], step=conf["pretreatment_step"],
                               options=pretreatment_options or OPTIONS)
    times = np.arange(0.0, days + step / 2, step)
    results = []
    for therapies in arms:
        treated = compiled_cycle_model(preset, therapies)
        treat_frame = _full_frame(treated, frame)
        for key, value in (treatment_parameters or {}).items():
            treat_frame[key] = value
        results.append(simulate(treated, times, parameters=treat_frame, initial=pre.initial,
                                options=options or OPTIONS))
    return Treatment(pre, tuple(results), times)


def _unique_pretreatment(untreated: CompiledModel, diameter, full: pd.DataFrame,
                         **kwargs) -> Pretreatment:
    """:func:`pretreatment_state` of each distinct patient once (rows that differ only in
    treatment parameters, such as effect-size replicates of one patient, grow identically to
    diagnosis), expanded back to every row. Per-patient adaptive steps make a patient's result
    independent of the batch, so this changes run time only."""
    d = np.broadcast_to(np.asarray(diameter, dtype=float), (len(full),))
    key = np.column_stack([full.to_numpy(dtype=float), d])
    if len(full) < 2 or not np.all(np.isfinite(key)):
        return pretreatment_state(untreated, diameter, full, **kwargs)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    if first.size == len(full):
        return pretreatment_state(untreated, diameter, full, **kwargs)
    inverse = inverse.ravel()
    sub = pretreatment_state(untreated, d[first], full.iloc[first].reset_index(drop=True),
                             **kwargs)

    def expand(value):
        if isinstance(value, pd.DataFrame):
            return value.iloc[inverse].reset_index(drop=True)
        if isinstance(value, np.ndarray) and value.ndim and value.shape[0] == first.size:
            return value[inverse]
        if isinstance(value, dict):
            return {k: expand(v) for k, v in value.items()}
        return value  # per-run values (history_times)

    return Pretreatment(**{f.name: expand(getattr(sub, f.name)) for f in fields(sub)})


def _parameter_frame(parameters, n: int) -> pd.DataFrame:
    if parameters is None:
        return pd.DataFrame(index=range(n))
    frame = pd.DataFrame(parameters) if isinstance(parameters, Mapping) else parameters.copy()
    return frame.reset_index(drop=True)


def _full_frame(compiled: CompiledModel, overrides: pd.DataFrame) -> pd.DataFrame:
    """Every parameter of ``compiled`` per patient: its defaults with ``overrides`` on top."""
    n = len(overrides)
    full = pd.DataFrame(np.tile(compiled.default_parameters(), (n, 1)),
                        columns=compiled.parameter_names)
    for col in overrides.columns:
        if col in full:
            full[col] = overrides[col].to_numpy(dtype=float)
    return full


__all__ = ["OPTIONS", "Treatment", "compiled_cycle_model", "treat"]
