"""Simulate a preset with therapies: grow to diagnosis, treat, read the cycle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from immunocycle.cycle._analysis import (
    FLUXES,
    LIMITING_STEP_METHOD,
    cycle_gain,
    limiting_step,
    phenotype,
)
from immunocycle.cycle._pretreatment import Pretreatment
from immunocycle.cycle._therapy import Therapy, load_therapy
from immunocycle.cycle._treat import OPTIONS, compiled_cycle_model, treat
from immunocycle.engine import SimulationResult, SolverOptions

COLUMNS = ("tumor_volume", "tumor_diameter", *FLUXES, "pd1_occupancy", "pd1_engagement",
           "density_parenchyma", "density_margin", "antigenicity", "f_antigen", "H_space", "C")


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
        (cells or events per day), viable cancer cells, PD-1 occupancy and engagement, effector
        densities (cells/mm3), phenotype, cycle gain, limiting step
        (:func:`~immunocycle.cycle.limiting_step` at every time).
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
        occupancy (mean over treatment) and the fluxes J1-J7 at the start of treatment.

        ``limiting_step`` is :func:`~immunocycle.cycle.limiting_step` read at two times,
        ``{"at_diagnosis": k0, "at_end": k1}`` (diagnosis = day 0, the start of treatment; end =
        ``end_day``, the last simulated day); ``limiting_step_method`` names the rule.
        ``solver_status`` is the treatment phase's solver status (``"ok"`` or why it stopped;
        after a failure the later values are NaN).
        """
        p = self.patient(patient)
        start, end = p.iloc[0], p.iloc[-1]
        return {
            "preset": self.preset,
            "therapies": list(self.therapies),
            "reached_diagnosis": bool(self.pretreatment.reached[patient]),
            "solver_status": self.result.status_text()[patient],
            "phenotype_at_start": str(start["phenotype"]),
            "phenotype_at_end": str(end["phenotype"]),
            "limiting_step": {"at_diagnosis": int(start["limiting_step"]),
                              "at_end": int(end["limiting_step"])},
            "limiting_step_method": LIMITING_STEP_METHOD,
            "end_day": float(p.index[-1]),
            "cycle_gain": float(start["cycle_gain"]),
            "diameter_mm_start": float(start["tumor_diameter"]),
            "diameter_mm_end": float(end["tumor_diameter"]),
            "pd1_occupancy_mean": float(p["pd1_occupancy"].mean()),
            "fluxes": {f: float(start[f]) for f in FLUXES},
        }

    def summaries(self) -> pd.DataFrame:
        """:meth:`summary` of every patient, one row each (fluxes as columns, the limiting step
        as ``limiting_step_at_diagnosis`` and ``limiting_step_at_end``)."""
        rows = []
        for k in range(self.result.n):
            s = self.summary(k)
            fluxes = s.pop("fluxes")
            steps = {f"limiting_step_{when}": v for when, v in s.pop("limiting_step").items()}
            rows.append({**s, **steps, **fluxes})
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
    options = options or OPTIONS
    treated = treat(preset, [therapies], days=days, step=step, parameters=parameters, n=n,
                    diagnosis_diameter_mm=diagnosis_diameter_mm,
                    treatment_parameters=treatment_parameters, options=options,
                    pretreatment_options=options)
    result, pre, name = treated.arms[0], treated.pretreatment, Path(str(preset)).stem
    names = [t.name if isinstance(t, Therapy) else load_therapy(t).name for t in therapies]
    return CycleResult(result, pre, _frame(result, pre), name, names)


def _frame(result: SimulationResult, pre: Pretreatment) -> pd.DataFrame:
    n, times = result.n, result.times
    data = {c: result[c] for c in COLUMNS}
    gain = cycle_gain(times, data["J1"], data["J7"], data["antigenicity"], pre.history_times,
                      pre.history["J1"])
    out = pd.DataFrame({"patient": np.repeat(np.arange(n), times.size),
                        "time": np.tile(times, n)})
    for c in COLUMNS:
        out[c] = data[c].ravel()
    out["phenotype"] = phenotype(data["density_parenchyma"], data["density_margin"]).ravel()
    out["cycle_gain"] = gain.ravel()
    out["limiting_step"] = limiting_step(data).ravel()
    return out.rename(columns={"C": "cancer_cells"})


__all__ = ["CycleResult", "compiled_cycle_model", "simulate_cycle"]
