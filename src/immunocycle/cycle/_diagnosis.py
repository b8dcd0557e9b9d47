"""The cycle model as it is simulated from diagnosis: the treated model started at the state the
untreated patient reaches at its diagnosis diameter (for export, e.g. to SBML)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from immunocycle._errors import SolverError
from immunocycle.cycle._analysis import settings
from immunocycle.cycle._pretreatment import pretreatment_state
from immunocycle.cycle._therapy import Therapy
from immunocycle.cycle._treat import OPTIONS, compiled_cycle_model
from immunocycle.model import Model


def model_at_diagnosis(preset: str | Path = "human", therapies: Sequence[str | Therapy] = (),
                       parameters: Mapping[str, float] | None = None,
                       diagnosis_diameter_mm: float | None = None) -> Model:
    """The treated cycle model whose time 0 is diagnosis, as :func:`simulate_cycle` runs it.

    The untreated model grows the patient to the diagnosis diameter
    (:func:`pretreatment_state`); the returned model is the model with ``therapies`` whose species
    start at that state, so simulating it from t = 0 is the treatment phase of
    :func:`simulate_cycle` (doses at their times from diagnosis).

    Parameters
    ----------
    preset : str or path
        A cycle preset or a parameter file.
    therapies : sequence of str or Therapy
        Cycle-model therapies (:func:`immunocycle.catalog.resolve_arm` resolves names).
    parameters : mapping of name -> float, optional
        Parameter values (declared units) of the patient, used in both phases.
    diagnosis_diameter_mm : float, optional
        Diameter (mm) at which treatment starts; default from ``analysis.yaml``.

    Returns
    -------
    Model
        Species initial values are numbers (the state at diagnosis, declared units).

    Raises
    ------
    SolverError
        If the untreated tumor never reaches the diagnosis diameter.
    """
    conf = settings()["presets"].get(Path(str(preset)).stem, settings()["presets"]["human"])
    diameter = conf["diagnosis_diameter_mm"] if diagnosis_diameter_mm is None \
        else float(diagnosis_diameter_mm)
    values = dict(parameters or {})
    untreated = compiled_cycle_model(preset)
    frame = pd.DataFrame([untreated.default_parameters()], columns=untreated.parameter_names)
    for name, value in values.items():
        if name in frame:
            frame[name] = float(value)
    pre = pretreatment_state(untreated, diameter, frame, days=conf["pretreatment_days"],
                             step=conf["pretreatment_step"], options=OPTIONS)
    if not pre.reached[0]:
        raise SolverError(str(preset), f"the untreated tumor never reaches the diagnosis "
                          f"diameter ({diameter:g} mm)", "check the parameter values")
    treated = compiled_cycle_model(preset, therapies).model
    # Species are amounts >= 0; one that stays at zero can end at round-off below it (the memory
    # pools before any contraction reach about -1e-24 cells): that is zero.
    state = {name: 0.0 if -1e-6 < float(v) < 0.0 else float(v)
             for name, v in pre.initial.iloc[0].items()}
    return treated.with_values({**values, **state}, where=str(preset))


__all__ = ["model_at_diagnosis"]
