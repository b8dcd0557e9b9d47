"""Simulate a preset with therapies: grow to diagnosis, treat, read the cycle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from immunocycle.cycle._analysis import (
    FLUXES,
    cycle_gain,
    limiting_step,
    phenotype,
    settings,
    transfer_ratios,
)
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

OPTIONS = SolverOptions(rtol=1e-6, atol=1e-6, max_steps=100_000)
COLUMNS = ("tumor_volume", "tumor_diameter", *FLUXES, "pd1_occupancy", "pd1_engagement",
           "density_parenchyma", "density_margin", "antigenicity", "C")


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
class CycleResult:
    """A treated simulation of the cycle.

    Attributes
    ----------
    result : SimulationResult
        The treatment phase; time 0 is diagnosis (start of treatment).
    pretreatment : Pretreatment
        Growth to diagnosis; ``pretreatment.reached`` flags patients that never got there.
    frame : DataFrame
        One row per patient and time: tumor volume (mm3) and diameter (mm), fluxes J1-J7
        (cells or events per day), viable cancer cells, PD-1 occupancy and engagement, effector densities
        (cells/mm3), phenotype, cycle gain, limiting step.
    preset : str
    therapies : list of str
    """

    result: SimulationResult
    pretreatment: Pretreatment
    frame: pd.DataFrame
    preset: str
    therapies: list[str]

    def patient(self, k: int = 0) -> pd.DataFrame:
        """Patient ``k``'s rows of :attr:`frame`, indexed by time."""
        return self.frame[self.frame["patient"] == k].set_index("time")

    def summary(self, patient: int = 0) -> dict:
        """Key numbers of one patient: phenotypes, limiting step, cycle gain, diameters, PD-1
        occupancy (mean over treatment) and the fluxes J1-J7 at the start of treatment."""
        p = self.patient(patient)
        start, end = p.iloc[0], p.iloc[-1]
        return {
            "preset": self.preset,
            "therapies": list(self.therapies),
            "reached_diagnosis": bool(self.pretreatment.reached[patient]),
            "phenotype_at_start": str(start["phenotype"]),
            "phenotype_at_end": str(end["phenotype"]),
            "limiting_step": int(start["limiting_step"]),
            "cycle_gain": float(start["cycle_gain"]),
            "diameter_mm_start": float(start["tumor_diameter"]),
            "diameter_mm_end": float(end["tumor_diameter"]),
            "pd1_occupancy_mean": float(p["pd1_occupancy"].mean()),
            "fluxes": {f: float(start[f]) for f in FLUXES},
        }

    def summaries(self) -> pd.DataFrame:
        """:meth:`summary` of every patient, one row each (fluxes as columns)."""
        rows = []
        for k in range(self.result.n):
            s = self.summary(k)
            fluxes = s.pop("fluxes")
            rows.append({**s, **fluxes})
        return pd.DataFrame(rows)


def simulate_cycle(preset: str | Path = "human", therapies: Sequence[str | Therapy] = (),
                   days: float = 84.0, n: int = 1, parameters=None, *,
                   diagnosis_diameter_mm: float | np.ndarray | None = None,
                   treatment_parameters: Mapping[str, float] | None = None,
                   step: float = 1.0, options: SolverOptions | None = None) -> CycleResult:
    """Grow patients of a preset to diagnosis, treat them, and read the cycle.

    Parameters
    ----------
    preset : str or path
        ``"human"``, ``"mouse"``, ``"inflamed"``, ``"excluded"``, ``"desert"`` or a parameter file.
    therapies : sequence of str or Therapy
        Packaged therapy names or :class:`Therapy` objects, doses timed from diagnosis (day 0).
    days : float
        Length of the treatment phase (days).
    n : int
        Number of patients when ``parameters`` is None (all identical).
    parameters : DataFrame or mapping of name -> array, optional
        Per-patient parameter values (both phases).
    diagnosis_diameter_mm : float or array, optional
        Tumor diameter (mm) at which treatment starts; default from ``analysis.yaml``.
    treatment_parameters : mapping, optional
        Parameter values applied from diagnosis on only (a mechanism switched on with the
        treatment, e.g. ``{"barrier_scale": 0.2}``).
    step : float
        Output grid step (days).
    options : SolverOptions, optional

    Returns
    -------
    CycleResult
    """
    name = Path(str(preset)).stem
    conf = settings()["presets"].get(name, settings()["presets"]["human"])
    diameter = conf["diagnosis_diameter_mm"] if diagnosis_diameter_mm is None else diagnosis_diameter_mm
    options = options or OPTIONS
    untreated = compiled_cycle_model(preset)
    treated = compiled_cycle_model(preset, therapies)
    frame = _parameter_frame(parameters, n)
    pre = pretreatment_state(untreated, diameter, _full_frame(untreated, frame), days=conf["pretreatment_days"],
                             step=conf["pretreatment_step"], options=options)
    treat_frame = _full_frame(treated, frame)
    for key, value in (treatment_parameters or {}).items():
        treat_frame[key] = value
    times = np.arange(0.0, days + step / 2, step)
    result = simulate(treated, times, parameters=treat_frame, initial=pre.initial, options=options)
    names = [t.name if isinstance(t, Therapy) else load_therapy(t).name for t in therapies]
    return CycleResult(result, pre, _frame(result, pre), name, names)


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


def _frame(result: SimulationResult, pre: Pretreatment) -> pd.DataFrame:
    n, times = result.n, result.times
    data = {c: result[c] for c in COLUMNS}
    gain = cycle_gain(times, data["J1"], data["J7"], data["antigenicity"], pre.history_times,
                      pre.history["J1"])
    ratios = transfer_ratios({f: data[f] for f in FLUXES}, data["C"])
    out = pd.DataFrame({"patient": np.repeat(np.arange(n), times.size),
                        "time": np.tile(times, n)})
    for c in COLUMNS:
        out[c] = data[c].ravel()
    out["phenotype"] = phenotype(data["density_parenchyma"], data["density_margin"]).ravel()
    out["cycle_gain"] = gain.ravel()
    out["limiting_step"] = limiting_step(ratios).ravel()
    return out.rename(columns={"C": "cancer_cells"})


__all__ = ["CycleResult", "compiled_cycle_model", "simulate_cycle"]
