"""Grade >= 3 adverse events from exposure: one logistic exposure-response law per AE type.

``logit P(type) = intercept + offset + sum_d slope_d * log(driver_d)`` with the drivers of
model.md's Toxicity section, computed per patient from the simulation over the first weeks of
treatment:

- ``exposure_<target>``: AUC of the free drug in blood of every agent hitting ``target``
  (``<agent>_released_conc_C``: the payload released from its carrier, ``conc_C`` itself for a free
  agent; ``<agent>_conc_C`` in results made before it existed), over the AUC of
  the target's reference therapy at its label dose in the reference patient; a carrier that
  keeps its payload out of blood lowers this driver and hence the risk through the same law.
  Without drug the driver is 0 and the risk of that type is 0 (treatment-related AEs only).
- ``exposure_total``: the sum over agents of their label-dose-equivalent exposures.
- ``activation``: peak of tumor-specific effector CD8 in blood over the window / the larger of
  its value at diagnosis and a typical patient's level (fold), the model's peripheral immune
  activation; the floor keeps a vaccine's expansion from a near-zero baseline (a desert tumor)
  from reading as a systemic activation thousands of times the usual.

Laws, slopes and their sources are in ``data/cohorts/toxicity.yaml``; the cohort-level offset is
fitted to the monotherapy grade 3-4 rate (:mod:`immunocycle.trial._calibrate`). Each patient's AE
of each type is drawn with a uniform seeded by ``(seed, patient_id, type)``, the same in every
arm (common random numbers), so arm differences come from exposure, not from noise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import brentq
from scipy.special import expit

from immunocycle._errors import InputError
from immunocycle._paths import PACKAGE_DATA
from immunocycle.model import read_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Driver(_Strict):
    slope: Annotated[float, Field(ge=0)]
    source: Annotated[str, Field(min_length=3)]


class AEType(_Strict):
    description: str
    intercept: float
    intercept_source: str
    drivers: dict[str, Driver]


class ToxicityLaws(_Strict):
    """The AE laws of ``data/cohorts/toxicity.yaml``."""

    window_days: Annotated[float, Field(gt=0)]
    activation_floor_cells: Annotated[float, Field(gt=0)]
    activation_floor_source: Annotated[str, Field(min_length=3)]
    reference_therapies: dict[str, str]
    types: dict[str, AEType]


@lru_cache(maxsize=1)
def load_toxicity() -> ToxicityLaws:
    """The packaged AE laws (validated; errors name the file and field)."""
    return read_yaml(PACKAGE_DATA / "cohorts" / "toxicity.yaml", ToxicityLaws)


def target_key(target: str) -> str:
    """Driver name of a molecular target: ``"PD-L1"`` -> ``"pdl1"``."""
    return re.sub(r"[^a-z0-9]", "", target.lower())


def _blood_free(result, therapy) -> np.ndarray:
    """The therapy's active drug in blood (nmol/L) per patient and time: the released payload
    of a carrier that releases it, else the agent as given. A carrier that never releases
    (``k_release`` 0: a conjugate that acts as such, PEGPH20) is its own active drug; reading its
    released payload, always 0, left its exposure 0/0 and its AEs never drawn."""
    names = set(result.names)
    released = f"{therapy.name}_released_conc_C"
    rel = therapy.release
    acts_carried = (rel is not None and float(rel["carried"].value) != 0.0
                    and float(rel["k_release"].value) == 0.0)
    name = released if released in names and not acts_carried else f"{therapy.name}_conc_C"
    return np.asarray(result[name], dtype=float)


def _auc(times: np.ndarray, conc: np.ndarray, window: float) -> np.ndarray:
    keep = times <= window + 1e-9
    # C order whatever the batch: numpy sums the rows of an F-ordered block in another order,
    # so a patient's AUC would change in the last bits with the chunk it was simulated in
    return np.trapezoid(np.ascontiguousarray(np.nan_to_num(conc[:, keep])), times[keep], axis=1)


#: A free drug's AUC on the trial grid is used per patient (it then follows the patient's own
#: dosing) while it is within this relative error of the exact AUC; beyond it the grid misses the
#: drug's time course (dacarbazine: plasma half-life 28 min on a 3.5-day grid, where only drug
#: returning from the tumor and node is left at the grid points).
GRID_AUC_RTOL = 0.2


def _load(therapy: str):
    from immunocycle.cycle import Therapy, load_therapy

    return Therapy.model_validate_json(therapy) if therapy.startswith("{") else load_therapy(therapy)


@lru_cache(maxsize=64)
def _exact_auc_course(therapy: str, window_days: float) -> tuple[np.ndarray, np.ndarray]:
    from immunocycle.trial._organ_toxicity import plasma_exposure

    exp = plasma_exposure(_load(therapy), window_days)
    return exp.grid, exp.auc


def exact_auc(therapy: str, window_days: float, upto: np.ndarray | float | None = None):
    """Exact AUC (nmol/L x day) of the plasma concentration over ``window_days`` of a therapy
    (as :func:`reference_auc` names it) in the human reference patient: the linear
    two-compartment solution of :func:`immunocycle.trial._organ_toxicity.plasma_exposure`.
    With ``upto`` (days, within the window): the AUC from 0 to each of those times (array)."""
    grid, auc = _exact_auc_course(therapy, window_days)
    if upto is None:
        return float(np.interp(window_days, grid, auc))
    return np.interp(upto, grid, auc)


def _unresolved_free_drug(therapy, window_days: float, step: float) -> bool:
    """A free drug given within the window whose grid AUC is off its exact AUC by more than
    :data:`GRID_AUC_RTOL` (a drug first given after the window has no exposure to resolve)."""
    rel = therapy.release
    if rel is not None and float(rel["carried"].value) != 0.0:
        return False
    own = therapy.model_dump_json()
    exact = exact_auc(own, window_days)
    return exact > 0.0 and abs(reference_auc(own, window_days, step) / exact - 1.0) > \
        GRID_AUC_RTOL


@lru_cache(maxsize=32)
def reference_auc(therapy: str, window_days: float, step: float) -> float:
    """AUC (nmol/L x day) of free drug in blood over ``window_days`` of a therapy (packaged name,
    file, or a Therapy as JSON) at its own dose in the human reference patient (30 mm at
    diagnosis), on the trial's grid."""
    from immunocycle.cycle import simulate_cycle

    loaded = _load(therapy)
    res = simulate_cycle("human", [loaded], days=window_days, n=1, step=step)
    return float(_auc(res.result.times, _blood_free(res.result, loaded), window_days)[0])


def _exposure(result, therapy, laws: ToxicityLaws, step: float, *,
              running: bool = False) -> np.ndarray:
    """One therapy's AE exposure per patient: the AUC of its free drug in blood over the AE
    window divided by its target's reference therapy's (label-dose equivalents, dimensionless),
    ``(n,)``; with ``running``, the AUC up to each output time within the window, ``(n, t)``.

    A target without a reference therapy (a new agent class) takes its own dose as the unit. A
    free drug the output grid cannot resolve (its grid AUC and its reference's can both be 0)
    takes its exact plasma AUC over the reference's, the same in every patient of the arm
    (linear PK, as the organ laws)."""
    ref_name = laws.reference_therapies.get(therapy.target, therapy.model_dump_json())
    times = np.asarray(result.times, dtype=float)
    w, n = laws.window_days, result.n
    keep = times <= w + 1e-9
    if _unresolved_free_drug(therapy, w, step):
        own = therapy.model_dump_json()
        if running:
            return np.broadcast_to(exact_auc(own, w, upto=times[keep]) / exact_auc(ref_name, w),
                                   (n, int(keep.sum())))
        return np.full(n, exact_auc(own, w) / exact_auc(ref_name, w))
    ref = reference_auc(ref_name, w, step)
    if not running:
        return _auc(times, _blood_free(result, therapy), w) / ref
    t, c = times[keep], np.nan_to_num(_blood_free(result, therapy)[:, keep])
    return np.concatenate([np.zeros((n, 1)), np.cumsum(0.5 * (c[:, 1:] + c[:, :-1])
                                                       * np.diff(t), axis=1)], axis=1) / ref


def exposure_drivers(result, therapies: Sequence, *, step: float,
                     laws: ToxicityLaws | None = None) -> pd.DataFrame:
    """The AE drivers of each patient of one arm.

    Parameters
    ----------
    result : SimulationResult
        The treatment phase (time 0 = diagnosis), on a grid of ``step`` days.
    therapies : sequence of Therapy
        The arm's therapies (loaded).
    step : float
        Output grid step (days), to compute the reference exposure on the same grid.

    Returns
    -------
    DataFrame
        ``exposure_<target>`` per target of :attr:`ToxicityLaws.reference_therapies` and of the
        arm's agents, ``exposure_total`` (label-dose equivalents, dimensionless) and
        ``activation`` (fold).
    """
    laws = laws or load_toxicity()
    times = np.asarray(result.times, dtype=float)
    n = result.n
    out = {f"exposure_{target_key(t)}": np.zeros(n) for t in laws.reference_therapies}
    total = np.zeros(n)
    for therapy in therapies:
        x = _exposure(result, therapy, laws, step)
        key = f"exposure_{target_key(therapy.target)}"
        out[key] = out.get(key, np.zeros(n)) + x
        total += x
    out["exposure_total"] = total
    blood = np.asarray(result["T_E_B"], dtype=float)
    keep = times <= laws.window_days + 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        fold = np.nanmax(blood[:, keep], axis=1) / np.maximum(blood[:, 0],
                                                              laws.activation_floor_cells)
    out["activation"] = np.where(np.isfinite(fold), np.maximum(fold, 1e-3), 1.0)
    return pd.DataFrame(out)


def ae_probabilities(drivers: pd.DataFrame, offset: float = 0.0,
                     laws: ToxicityLaws | None = None) -> pd.DataFrame:
    """Probability of a grade >= 3 AE of each type (columns ``p_ae_<type>``).

    Parameters
    ----------
    drivers : DataFrame
        From :func:`exposure_drivers`. A driver named ``"a+b"`` is the sum of columns; a missing
        exposure column counts as 0 (no such drug), a missing ``activation`` as 1 (none).
    offset : float
        Cohort-level shift of every type's log-odds (calibrated per tumor type).
    """
    laws = laws or load_toxicity()
    n = len(drivers)
    out = {}
    for name, law in laws.types.items():
        z = np.full(n, law.intercept + offset)
        for d, spec in law.drivers.items():
            x = np.zeros(n)
            for part in d.split("+"):
                if part in drivers:
                    x = x + drivers[part].to_numpy(dtype=float)
                elif part == "activation":
                    x = x + 1.0
            with np.errstate(divide="ignore"):
                # log(0) = -inf: no drug, no risk of this type.
                z = z + spec.slope * np.log(np.maximum(x, 0.0))
        out[f"p_ae_{name}"] = expit(z)
    return pd.DataFrame(out, index=drivers.index)


def ae_uniforms(patient_ids: Sequence[int], seed: int,
                laws: ToxicityLaws | None = None) -> pd.DataFrame:
    """Common random numbers: one uniform per patient and AE type, seeded by (seed, patient_id,
    type index), identical in every arm and whatever the chunking."""
    from immunocycle.trial._organ_toxicity import AE_TYPE_STREAM, patient_uniform_columns

    laws = laws or load_toxicity()
    return patient_uniform_columns(patient_ids, seed, AE_TYPE_STREAM, laws.types)


def ae_flags(probabilities: pd.DataFrame, uniforms: pd.DataFrame) -> pd.DataFrame:
    """Boolean ``ae_<type>`` columns: the patient has the AE when its uniform is below P."""
    return pd.DataFrame({f"ae_{t}": uniforms[t].to_numpy() < probabilities[f"p_ae_{t}"].to_numpy()
                         for t in uniforms.columns}, index=probabilities.index)


def any_ae_probability(drivers: pd.DataFrame, offset: float,
                       laws: ToxicityLaws | None = None) -> np.ndarray:
    """P(at least one grade >= 3 AE of any type), types independent given the drivers."""
    p = ae_probabilities(drivers, offset, laws).to_numpy()
    return 1.0 - np.prod(1.0 - p, axis=1)


def fit_ae_offset(drivers: pd.DataFrame, target: float, laws: ToxicityLaws | None = None) -> float:
    """The cohort offset at which the mean P(any grade >= 3 AE) equals ``target`` (fraction)."""
    if not 0 < target < 1:
        raise InputError(f"target AE rate must be in (0, 1), got {target}")

    def gap(offset: float) -> float:
        return float(np.mean(any_ae_probability(drivers, offset, laws))) - target

    return float(brentq(gap, -15.0, 15.0, xtol=1e-6))


def immune_probability_curves(result, therapies: Sequence, *, step: float, offset: float,
                              laws=None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """P(t) per patient of the checkpoint laws of ``data/cohorts/toxicity.yaml`` with their
    drivers accumulated up to t (running AUC, running peak of activation)."""
    laws = laws or load_toxicity()
    times = np.asarray(result.times, dtype=float)
    keep = times <= laws.window_days + 1e-9
    t = times[keep]
    n = result.n
    running = {}
    total = np.zeros((n, t.size))
    for therapy in therapies:
        x = _exposure(result, therapy, laws, step, running=True)
        key = f"exposure_{target_key(therapy.target)}"
        running[key] = running.get(key, 0.0) + x
        total = total + x
    running["exposure_total"] = total
    blood = np.asarray(result["T_E_B"], dtype=float)[:, keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        fold = np.maximum.accumulate(np.nan_to_num(blood, nan=0.0), axis=1) / np.maximum(
            blood[:, :1], laws.activation_floor_cells)
    running["activation"] = np.where(np.isfinite(fold), np.maximum(fold, 1e-3), 1.0)
    curves = {name: np.zeros((n, t.size)) for name in laws.types}
    for k in range(t.size):
        drivers = pd.DataFrame({key: (v[:, k] if np.ndim(v) == 2 else np.zeros(n))
                                for key, v in running.items()})
        probs = ae_probabilities(drivers, offset, laws)
        for name in laws.types:
            curves[name][:, k] = probs[f"p_ae_{name}"].to_numpy()
    return t, curves


def ae_columns(result, therapies: Sequence, patient_ids: Sequence[int], seed: int, *,
               step: float, offset: float = 0.0,
               uniforms: pd.DataFrame | None = None) -> pd.DataFrame:
    """Drivers, per-type probabilities and grade >= 3 flags of one arm's patients."""
    from immunocycle.trial._organ_toxicity import organ_ae_columns

    drivers = exposure_drivers(result, therapies, step=step)
    probs = ae_probabilities(drivers, offset)
    u = ae_uniforms(patient_ids, seed) if uniforms is None else uniforms
    flags = ae_flags(probs, u)
    # organ laws by agent class, the checkpoint laws split by organ, onset times
    organ = organ_ae_columns(result, therapies, patient_ids, seed, step=step, offset=offset,
                             immune_flags=flags, immune_uniforms=u,
                             immune_curves=immune_probability_curves(result, therapies, step=step,
                                                                     offset=offset))
    organ.index = probs.index
    return pd.concat([drivers, probs, flags, organ], axis=1)


def ae_types() -> list[str]:
    """Names of the AE laws (``ae_<law>`` columns: the checkpoint laws of this module and the
    organ laws of :mod:`immunocycle.trial._organ_toxicity`)."""
    from immunocycle.trial._organ_toxicity import law_names

    return [*load_toxicity().types, *law_names()]


def mapping_summary(laws: ToxicityLaws | None = None) -> Mapping[str, dict]:
    """The laws as plain data, for provenance."""
    return (laws or load_toxicity()).model_dump()


__all__ = ["AEType", "Driver", "ToxicityLaws", "ae_columns", "ae_flags", "ae_probabilities",
           "ae_types", "ae_uniforms", "any_ae_probability", "exposure_drivers", "fit_ae_offset",
           "load_toxicity", "mapping_summary", "reference_auc", "target_key"]
