"""Repeated nanoparticle doses: each dose keeps its own uptake clock; optional ABC.

The phagocytic uptake law of the PBPK rises with the time since a particle was injected
(``K_max t^n / (K50^n + t^n)``, Lin 2016 / Cheng 2020). Giving several doses to one model run
would put every later dose on the first dose's clock, so a dose given a week later would meet
uptake that is already at its maximum "because time has passed". Here each dose is a cohort
simulated from its own injection (one row of a batch), and the cohorts are added: exact when
uptake is not capped (``res_capacity_on = 0``, the default: the model is then linear in the
dose). With the capacity cap on, uptake depends on how many particles the phagocytes already
hold, so the doses are simulated together in one run (uptake then saturates by dose and
capacity; the onset clock is the first dose's, which in humans, where uptake starts within an
hour, does not matter).

Accelerated blood clearance (ABC) of PEGylated carriers: with ``abc=True``, every dose given
at least ``abc_min_interval_h`` after the first has its liver and spleen uptake multiplied by
``abc_uptake_factor`` (``repeat_dosing.yaml``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from immunocycle._errors import InputError, SolverError
from immunocycle.engine import SolverOptions, simulate
from immunocycle.pk._data import _read
from immunocycle.pk._formulation import Release, pbpk_values
from immunocycle.pk._pbpk import ROUTES
from immunocycle.pk._properties import Particle

# Concentration time courses handed to other modules (mg/L of carrier; free payload if any).
_CARRIER_SITES = {
    "blood": (("art", "ven"), "V_plasma"),
    "tumor": (("T_b", "T_t", "T_res", "it"), "V_T"),
    "lymph_node": (("ln", "ln_cell"), "V_LN"),
}


@functools.cache
def repeat_dosing_parameters() -> dict[str, float]:
    """``abc_uptake_factor`` and ``abc_min_interval_h`` (``repeat_dosing.yaml``)."""
    p = _read("repeat_dosing")
    return {k: v.value for k, v in p.items()}


@dataclass(frozen=True)
class ScheduleResult:
    """Carrier (and payload) time courses of a dosing schedule.

    Attributes
    ----------
    times : ndarray
        Output times, h after the first dose.
    dose_times_h : tuple of float
    concentrations : DataFrame
        Index time (h); columns ``blood``, ``tumor``, ``lymph_node`` (carrier, mg/L: plasma,
        whole tumor, tumor-draining node) and, with a payload, ``free_blood``, ``free_tumor``,
        ``free_lymph_node`` (released payload, mg/L).
    per_dose_blood_auc : list of float
        Plasma carrier AUC (mg h/L) of each dose's own particles over the horizon (cohorts; with
        the capacity cap on, the AUC of all particles over each dosing interval instead).
    abc_applied : list of bool
        Whether ABC accelerated each dose.
    """

    times: np.ndarray
    dose_times_h: tuple[float, ...]
    concentrations: pd.DataFrame
    per_dose_blood_auc: list[float]
    abc_applied: list[bool]


def _grid(horizon_h: float) -> np.ndarray:
    early = [0.0, 0.02, 0.05, 0.1, 0.25, 0.5, 0.75]
    return np.unique(np.concatenate([early, np.arange(1.0, horizon_h + 1e-9, 1.0), [horizon_h]]))


def _courses(sim, row: int, values: dict, payload: bool) -> dict[str, np.ndarray]:
    out = {}
    bw = values["BW"]
    vols = {"V_plasma": bw * values["VPlasC"], "V_T": bw * values["VTC"],
            "V_LN": bw * values["VLNC"]}
    for name, (locs, vol) in _CARRIER_SITES.items():
        out[name] = sum(np.asarray(sim[f"NP_{loc}"][row]) for loc in locs) / vols[vol]
    if payload:
        out["free_blood"] = np.asarray(sim["C_free_blood"][row])
        out["free_tumor"] = np.asarray(sim["C_free_tumor"][row])
        out["free_lymph_node"] = np.asarray(sim["C_free_ln"][row])
    return out


def run_pk_schedule(particle: Particle | None, dose_times_h: Sequence[float], *,
                    payload: str | None = None, release: Release | None = None,
                    species: str = "mouse", route: str = "iv", horizon_h: float | None = None,
                    loading: float = 0.1, abc: bool = False,
                    tumor: Mapping[str, float] | None = None,
                    overrides: Mapping[str, float] | None = None) -> ScheduleResult:
    """Simulate repeated administrations of one formulation (same dose each time).

    Parameters
    ----------
    particle : Particle
        The carrier (its ``dose_mg_per_kg`` is the dose of every administration).
    dose_times_h : sequence of float
        Administration times, h (first >= 0, increasing). Q1W x4: ``(0, 168, 336, 504)``.
    payload, release, species, route, loading, tumor, overrides
        As for :func:`immunocycle.pk.run_pk`.
    horizon_h : float, optional
        Simulated time; default one week after the last dose.
    abc : bool
        Accelerated blood clearance of doses given ``abc_min_interval_h`` or more after the first
        (PEGylated carriers; ``repeat_dosing.yaml``).

    Returns
    -------
    ScheduleResult

    Raises
    ------
    ValueError
        Empty or decreasing dose times, a route not in :data:`ROUTES`, no particle.
    """
    from immunocycle.pk._run import _compiled

    if particle is None:
        raise InputError("particle: a schedule needs a particle")
    if route not in ROUTES:
        raise InputError(f"route: unknown route {route!r}; choose one of {', '.join(ROUTES)}")
    doses = tuple(float(t) for t in dose_times_h)
    if not doses or doses[0] < 0 or any(b <= a for a, b in zip(doses, doses[1:], strict=False)):
        raise InputError(f"dose_times_h: need increasing times >= 0, got {list(dose_times_h)}")
    horizon = float(horizon_h) if horizon_h is not None else doses[-1] + 168.0
    if horizon <= doses[-1]:
        raise InputError(f"horizon_h: must be after the last dose ({doses[-1]} h), got {horizon}")
    values, _, _ = pbpk_values(species, route, particle, payload, release, tumor, loading)
    values.update({k: float(v) for k, v in (overrides or {}).items()})
    rep = repeat_dosing_parameters()
    abc_on = [bool(abc) and (t - doses[0]) >= rep["abc_min_interval_h"] for t in doses]
    has_payload = payload is not None
    trigger = release.trigger if release is not None else None
    opts = SolverOptions(rtol=1e-7, atol=1e-12 * max(values["dose_mg_per_kg"] * values["BW"], 1e-9))
    capped = values.get("res_capacity_on", 0.0) > 0
    times = _grid(horizon)
    if capped:
        compiled = _compiled(has_payload, route, 0.0, doses, trigger)
        if any(abc_on):
            raise InputError("abc: not available with the uptake capacity cap (res_capacity_on)")
        frame = pd.DataFrame([{k: v for k, v in values.items() if k in compiled.parameter_names}])
        sim = simulate(compiled, times, frame, options=opts)
        if sim.status[0] != 0:
            raise SolverError(f"PBPK integration failed: {sim.status_text()[0]}")
        total = _courses(sim, 0, values, has_payload)
        edges = [*doses, horizon]
        blood = total["blood"]
        aucs = []
        for a, b in zip(edges, edges[1:], strict=False):
            m = (times >= a) & (times <= b)
            aucs.append(float(np.trapezoid(blood[m], times[m])))
    else:
        compiled = _compiled(has_payload, route, 0.0, (0.0,), trigger)
        rows = []
        for on in abc_on:
            row = {k: v for k, v in values.items() if k in compiled.parameter_names}
            if on:
                for name in ("KLRESmax", "KSRESmax"):
                    row[name] = row[name] * rep["abc_uptake_factor"]
            rows.append(row)
        # identical cohorts share one simulation
        uniq = {tuple(sorted(r.items())): i for i, r in enumerate(rows)}
        order = list(uniq.values())
        sim = simulate(compiled, times, pd.DataFrame([rows[i] for i in order]), options=opts)
        if np.any(sim.status != 0):
            raise SolverError(f"PBPK integration failed: {sim.status_text()}")
        cohort = {i: _courses(sim, j, values, has_payload) for j, i in enumerate(order)}
        total = {k: np.zeros_like(times) for k in next(iter(cohort.values()))}
        aucs = []
        for t0, row in zip(doses, rows, strict=True):
            course = cohort[uniq[tuple(sorted(row.items()))]]
            shifted = times - t0
            for k, y in course.items():
                total[k] += np.where(shifted >= 0, np.interp(shifted, times, y), 0.0)
            aucs.append(float(np.trapezoid(course["blood"], times)))
    conc = pd.DataFrame(total, index=pd.Index(times, name="time_h"))
    return ScheduleResult(times=times, dose_times_h=doses, concentrations=conc,
                          per_dose_blood_auc=aucs, abc_applied=abc_on)
