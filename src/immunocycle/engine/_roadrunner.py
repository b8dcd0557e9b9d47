"""Reference backend: the same model exported to SBML and integrated by libroadrunner (CVODE).

Used to check the engine against an independent implementation (SBML semantics, a BDF solver
and root-finding events). libroadrunner is only in the ``test`` extra, so it is imported when
this backend is called.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

from immunocycle._errors import InputError
from immunocycle.engine._codegen import CompiledModel
from immunocycle.engine._rodas import MAX_STEPS, NOT_FINITE
from immunocycle.model import Model, ModelError


def model_parameter_matrix(model: Model, parameters=None) -> np.ndarray:
    """Per-patient parameter overrides expanded to a full (N, P) matrix in ``model``'s order.

    Parameters
    ----------
    model : Model
    parameters : DataFrame or mapping of name -> array, optional
        One row per patient; missing columns take the model's values; ``None`` is one patient
        with the model's values.

    Raises
    ------
    ModelError
        If a column names no parameter of the model.
    """
    names = list(model.parameters)
    base = np.array([model.parameters[n].value for n in names], dtype=float)
    if parameters is None:
        return base[None, :]
    frame = pd.DataFrame(parameters) if isinstance(parameters, Mapping) else pd.DataFrame(parameters)
    unknown = [str(c) for c in frame.columns if c not in model.parameters]
    if unknown:
        raise ModelError(model.source, "parameters", f"unknown parameter(s) {', '.join(unknown)}")
    P = np.tile(base, (len(frame), 1))
    for j, name in enumerate(names):
        if name in frame:
            P[:, j] = frame[name].to_numpy(dtype=float)
    return P


def _doses_from(model: Model, t0: float) -> Model:
    """``model`` without administrations before ``t0``: the engine starts at ``t0`` and ignores
    them, whereas an SBML event ``time >= t`` with t < t0 would fire at the start."""
    kept = []
    for d in model.doses:
        times = tuple(t for t in d.times if t >= t0)
        if times:
            kept.append(dataclasses.replace(d, times=times))
    return model.with_doses(kept)


def simulate_roadrunner(model: Model | CompiledModel, times, parameters=None, rtol: float = 1e-10,
                        atol: float = 1e-12, max_steps: int = 100_000
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Simulate a batch of parameter sets with libroadrunner, on the engine's conventions.

    The model is exported to SBML and loaded once. For each patient every parameter is set, the
    parameters that events change (the infusion rates) are put back to their initial values, and
    ``reset()`` restores time and species and re-evaluates the initial assignments with the new
    parameter values, so each run depends only on its own parameters, not on the patient before.
    (``setValue("init(p)")`` would do the same but costs about 0.2 s per call in roadrunner 2.10;
    ``reset()`` alone would keep an infusion rate left on by the previous run, and re-fires the
    events at time 0, so an un-restored rate would be counted twice.)

    Parameters
    ----------
    model : Model or CompiledModel
    times : array_like
        Increasing output times; integration starts at ``times[0]`` (doses before it are dropped,
        as the engine does).
    parameters : DataFrame or mapping of name -> array, optional
        One row per patient (see :func:`model_parameter_matrix`).
    rtol, atol : float
        CVODE relative and absolute tolerances.
    max_steps : int
        CVODE's step limit between two output times.

    Returns
    -------
    states : ndarray, shape (N, T, S)
        Species values in the engine's state order (amounts for ``amount=True`` species,
        concentrations otherwise); values at a dose time are post-dose values, as in the engine.
    status : ndarray of int, shape (N,)
        0 on success; ``MAX_STEPS`` (1) if CVODE failed, ``NOT_FINITE`` (3) if it returned
        non-finite values. A failed patient's row is NaN from the failure on (all of it if
        CVODE raised, since roadrunner returns no partial result).
    """
    import libsbml
    import roadrunner

    from immunocycle.sbml import to_sbml_document

    model = model.model if isinstance(model, CompiledModel) else model
    times = np.asarray(times, dtype=float)
    if times.ndim != 1 or times.size < 1 or np.any(np.diff(times) <= 0):
        raise InputError("times must be a 1-d, strictly increasing array")
    P = model_parameter_matrix(model, parameters)
    names = list(model.parameters)
    species = list(model.species)
    # Bare ids select amounts, [id] concentrations: pick what the engine's states hold.
    selections = ["time", *(s if model.species[s].amount else f"[{s}]" for s in species)]

    document = to_sbml_document(_doses_from(model, float(times[0])))
    sbml_model = document.getModel()
    ruled = {sbml_model.getRule(i).getVariable() for i in range(sbml_model.getNumRules())}
    event_state = {p.getId(): p.getValue() for p in sbml_model.getListOfParameters()
                   if not p.getConstant() and p.getId() not in ruled}
    rr = roadrunner.RoadRunner(libsbml.writeSBMLToString(document))
    rr.timeCourseSelections = selections
    integ = rr.integrator
    integ.relative_tolerance = float(rtol)
    integ.absolute_tolerance = float(atol)
    integ.maximum_num_steps = int(max_steps)
    integ.stiff = True

    n = P.shape[0]
    out = np.full((n, times.size, len(species)), np.nan)
    status = np.zeros(n, dtype=np.int64)
    for k in range(n):
        for j, name in enumerate(names):
            rr[name] = float(P[k, j])
        for name, value in event_state.items():
            rr[name] = value
        rr.reset()
        try:
            if times.size == 1:
                result = np.array([[times[0], *(rr[s] for s in selections[1:])]])
            else:
                result = np.asarray(rr.simulate(times=times))
        except RuntimeError:
            status[k] = MAX_STEPS
            continue
        values = result[:, 1:]
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            status[k] = NOT_FINITE
            values = values.copy()
            values[np.argmax(bad):] = np.nan
        out[k] = values
    return out, status


__all__ = ["model_parameter_matrix", "simulate_roadrunner"]
