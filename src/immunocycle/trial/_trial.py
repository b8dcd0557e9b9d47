"""Virtual clinical trials: every arm's regimen given to the same virtual patients of a cohort.

A patient is a parameter set of a cohort (:func:`immunocycle.population.sample_cohort`), grown
untreated to its diagnosis size, kept if plausible (excluded ones are recorded with the reason),
then treated in every arm from the same state at diagnosis. Per patient and arm the trial reads
the sum of target-lesion diameters every 6 weeks, scores RECIST 1.1 (with confirmation) and
iRECIST, progression-free survival, the immune phenotype at baseline and on treatment, the step
fluxes J1..J7 and the limiting step (:func:`immunocycle.cycle.limiting_step`) at baseline, the
limiting step at the end, and grade >= 3 adverse events (:mod:`immunocycle.trial._toxicity`).

Work runs in chunks through :func:`immunocycle.trial._runner.run_chunked` with the picklable
:class:`TrialTask`, so the results are the same whatever the chunk size or number of Dask
workers: patients come from a Sobol point per patient id, and every random draw is seeded by
``(seed, patient_id)``.
"""

from __future__ import annotations

import math
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from immunocycle._errors import InputError
from immunocycle.catalog import resolve_arm
from immunocycle.engine import STATUS_TEXT
from immunocycle.population import (
    Cohort,
    fitted_values,
    load_cohort,
    plausibility,
    sample_cohort,
    select_to_mix,
)

#: Arm name of the untreated control (no therapy).
UNTREATED = "untreated"
#: Days between tumor assessments (RECIST every 6 weeks).
ASSESSMENT_DAYS = 42.0
#: Output grid step (days): a divisor of the assessment interval, fine enough for exposure AUCs.
STEP_DAYS = 3.5
#: Chunks of a trial run at once in one process (``run_chunked``'s ``in_flight``): with two,
#: one chunk's Python stages (sampling, lesions, scoring, tables) run while the other's numba
#: kernels do, so 2 cores stay busy (bench, 10^4 patients: 3.50 -> 3.14 ms wall per patient).
IN_FLIGHT = 2


def parse_regimen(regimen: str, species: str = "human") -> tuple[str, ...]:
    """Model names of the therapies of an arm (``"untreated"``: none), checked by
    :func:`immunocycle.catalog.resolve_arm` (cycle antibodies, catalog therapies and regimens,
    each with an optional ``@dose:schedule``).

    Raises
    ------
    InputError
        Naming ``--arm`` and the item: unknown name (with close matches), bad dose or schedule.
    """
    return tuple(t.name for t in resolve_arm(regimen, species))


def resolve_arms(arms: Sequence[str], species: str = "human") -> tuple[tuple, ...]:
    """Per arm, its cycle-model therapies (:func:`immunocycle.catalog.resolve_arm`)."""
    return tuple(tuple(resolve_arm(arm, species)) for arm in arms)


@dataclass(frozen=True)
class TrialTask:
    """One chunk of a trial: ``task(start, count) -> DataFrame`` (one row per patient and arm).

    A frozen dataclass of plain data, so it pickles to Dask workers. The cohort is resolved
    (with its fitted multiplier and AE offset) when the task is made, so workers read no files
    but the packaged model and therapies.

    Attributes
    ----------
    cohort : Cohort
    arms : tuple of str
        Regimens (``"nivolumab"``, ``"nivolumab+ipilimumab"``, ``"untreated"``).
    seed : int
    days : float
        Treatment and follow-up (days).
    tmb : float or None
        Condition every patient on this TMB (mutations/Mb).
    multiplier : float
        Cohort-level multiplier on the median of ``parameter`` (calibrated).
    parameter : str or None
        The calibrated parameter (None: no multiplier).
    ae_offset : float
        Cohort-level shift of the AE log-odds (calibrated).
    step, assessment_days : float
        Output grid step and days between tumor assessments.
    options : SolverOptions, optional
        Solver settings of the treatment phase (default: the cycle model's).
    arm_therapies : tuple of tuples of Therapy, optional
        Per arm, the cycle-model therapies to give, when they are not packaged names (catalog
        therapies); ``arms`` then only labels the arms.
    replicates : ReplicateDraws, optional
        Drawn effect sizes (:mod:`immunocycle.trial._uncertainty`): every patient is then
        treated once per replicate, in the same batched solve, and the rows get a
        ``replicate`` column (patient ids repeat).
    in_flight : int
        Class constant: chunks may run this many at once in one process (:data:`IN_FLIGHT`;
        a chunk shares no mutable state with another).
    """

    in_flight: ClassVar[int] = IN_FLIGHT

    cohort: Cohort
    arms: tuple[str, ...]
    seed: int
    days: float = 365.0
    tmb: float | None = None
    multiplier: float = 1.0
    parameter: str | None = None
    ae_offset: float = 0.0
    step: float = STEP_DAYS
    assessment_days: float = ASSESSMENT_DAYS
    options: Any = None
    arm_therapies: tuple = ()
    new_lesion_rate: float = 1e-3
    replicates: Any = None

    def __call__(self, start: int, count: int) -> pd.DataFrame:
        return self.finish(self.simulate(start, count))

    def simulate(self, start: int, count: int) -> dict[str, Any]:
        """The expensive part: patients grown to diagnosis and treated in every arm, with dosing
        stopped at a grade >= 3 AE where the protocol stops it. :meth:`finish` turns it into
        rows (cheap; calibration reuses one simulation for many new-lesion rates)."""
        from immunocycle.cycle import phenotype, preset_species, treat
        from immunocycle.trial._progression import draw_lesions
        from immunocycle.trial._toxicity import ae_columns, ae_uniforms
        from immunocycle.trial._uncertainty import AE_OFFSET_SHIFT

        mult = {self.parameter: self.multiplier} if self.parameter else None
        patients = sample_cohort(self.cohort, start, count, self.seed, tmb=self.tmb,
                                 multipliers=mult)
        if self.replicates is not None:  # one row per patient and replicate (drawn effects)
            patients = self.replicates.tile(patients)
        ids = patients.index.to_numpy()
        therapies_given = self.arm_therapies or resolve_arms(
            self.arms, preset_species(self.cohort.base))
        arm_therapies = [list(t) for t in therapies_given]
        # Grown to diagnosis once; every arm treats the same state there.
        # a replicate's shift of the AE offset (conditioned cap draws), per row
        offset = self.ae_offset + (patients[AE_OFFSET_SHIFT].to_numpy(float)
                                   if AE_OFFSET_SHIFT in patients else 0.0)
        treated = treat(self.cohort.base, arm_therapies, days=self.days, step=self.step,
                        parameters=patients.drop(columns=["tmb", "diagnosis_sum_mm",
                                                          AE_OFFSET_SHIFT], errors="ignore"),
                        diagnosis_diameter_mm=patients["diagnosis_sum_mm"].to_numpy(),
                        options=self.options)
        lesions = draw_lesions(ids, self.seed, self.cohort.tumor_type,
                               patients["diagnosis_sum_mm"].to_numpy())
        uniforms = ae_uniforms(ids, self.seed)
        aes, stops = [], []
        for res, therapies in zip(treated.arms, arm_therapies, strict=True):
            ae = ae_columns(res, therapies, ids, self.seed, step=self.step,
                            offset=offset, uniforms=uniforms).reset_index(drop=True)
            stop, reason = _ae_stop(ae, lesions) if therapies else (
                np.full(len(ids), np.inf), np.full(len(ids), "", object))
            if np.isfinite(stop).any():
                _stop_dosing(res, self.cohort.base, therapies, stop, treated.times,
                             self.options)
            aes.append(ae)
            stops.append((stop, reason))
        return {"patients": patients, "ids": ids, "treated": treated, "lesions": lesions,
                "therapies": arm_therapies, "ae": aes, "stops": stops,
                "baseline": _baseline(treated.arms[0], treated.pretreatment, phenotype)}

    def finish(self, sim: dict[str, Any], new_lesion_rate: float | None = None,
               post_progression: bool = True) -> pd.DataFrame:
        """Rows of a simulated chunk (one per patient and arm): lesions, new lesions, RECIST
        1.1 / iRECIST, death, PFS and OS; drugs stop at iCPD (``post_progression``: the
        re-simulation after iCPD, needed for OS only)."""
        from dataclasses import replace

        from immunocycle.cycle import phenotype
        from immunocycle.trial._cutoff import cutoff_uniforms
        from immunocycle.trial._progression import load_progression

        rate = self.new_lesion_rate if new_lesion_rate is None else float(new_lesion_rate)
        patients, treated = sim["patients"], sim["treated"]
        pre, times = treated.pretreatment, treated.times
        base = patients.reset_index()
        base["days_to_diagnosis"] = pre.t_diagnosis
        at_icpd = bool(load_progression()["discontinuation"]["at_icpd"])
        k_assess = int(np.argmin(np.abs(times - min(42.0, times[-1]))))
        frames = []
        for k, (arm, res, therapies) in enumerate(zip(self.arms, treated.arms,
                                                      sim["therapies"], strict=True)):
            frame = base.copy()
            frame.insert(1, "arm", arm)
            frame.insert(2, "arm_index", k)
            for key, values in sim["baseline"].items():
                frame[key] = values
            frame["limiting_step_at_end"] = _limiting_step_at(res, -1)
            frame["phenotype_on_treatment"] = phenotype(
                res["density_parenchyma"][:, k_assess],
                res["density_margin"][:, k_assess]).astype(object)
            included = frame["exclusion"].to_numpy() == ""
            frame["included"] = included
            frame["cutoff_u"] = cutoff_uniforms(frame["patient_id"].to_numpy(), self.seed)
            stop, reason = sim["stops"][k]
            out = _outcomes(res, times, sim["lesions"], self.cohort.tumor_type, rate,
                            included)
            if post_progression and at_icpd and therapies:
                icpd = out.pop("_icpd_day")
                later = np.isfinite(icpd) & (icpd < np.minimum(stop, times[-1]))
                if later.any():
                    # only the patients who stop at iCPD are simulated and scored again (every
                    # step of both is per patient, so the rows are those of the whole arm's)
                    rows = np.flatnonzero(later)
                    res = replace(res, status=res.status.copy())  # sim's result stays as is
                    sub = _result_rows(res, rows)
                    _stop_dosing(sub, self.cohort.base, therapies, icpd[rows], times,
                                 self.options)
                    res.status[rows] = sub.status
                    again = _outcomes(sub, times, _lesion_rows(sim["lesions"], rows),
                                      self.cohort.tumor_type, rate, included[rows])
                    again.pop("_icpd_day")
                    for key, value in again.items():
                        out[key] = _merge_rows(out[key], value, rows, later)
                    stop = np.where(later, icpd, stop)
                    reason = np.where(later, "icpd", reason)
            else:
                out.pop("_icpd_day")
            frame["status"] = res.status.astype(int)
            frame["discontinued_day"] = np.where(np.isfinite(stop), stop, np.nan)
            frame["discontinuation"] = np.asarray(reason, dtype=object)
            scored = pd.DataFrame(out)
            frame = pd.concat([frame, scored], axis=1)
            frames.append(pd.concat([frame, sim["ae"][k]], axis=1))
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["patient_id", "arm_index"], kind="stable").reset_index(drop=True)


def _result_rows(res, rows: np.ndarray):
    """The patients ``rows`` of a SimulationResult, as a new result (copies)."""
    from dataclasses import replace

    return replace(res, states=res.states[rows], derived=res.derived[rows],
                   status=res.status[rows], n_steps=res.n_steps[rows],
                   parameters=res.parameters.iloc[rows].reset_index(drop=True))


def _lesion_rows(lesions, rows: np.ndarray):
    """The patients ``rows`` of a :class:`~immunocycle.trial._progression.Lesions`."""
    from dataclasses import fields, replace

    return replace(lesions, **{f.name: getattr(lesions, f.name)[rows] for f in fields(lesions)})


def _merge_rows(old, new, rows: np.ndarray, mask: np.ndarray):
    """``old`` (one value per patient) with ``new`` (one per patient of ``rows``) put at
    ``rows``; as ``np.where(mask, <new at its rows>, old)``, so the dtype is the same."""
    if isinstance(old, list):
        merged = list(old)
        for r, v in zip(rows, new, strict=True):
            merged[r] = v
        return merged
    new = np.asarray(new)
    if new.ndim == 0:
        return np.where(mask, new, old)
    full = np.zeros((mask.size, *new.shape[1:]), dtype=new.dtype)
    full[rows] = new
    return np.where(mask if full.ndim == 1 else mask.reshape(-1, *[1] * (full.ndim - 1)),
                    full, old)


def _ae_stop(ae: pd.DataFrame, lesions) -> tuple[np.ndarray, np.ndarray]:
    """Day each patient stops treatment for a grade >= 3 AE (``inf``: never), and the reason.

    A grade >= 3 AE of a law type (``ae_<type>`` of :func:`immunocycle.trial._toxicity.ae_types`)
    stops every drug of the arm with the probability of its therapy class
    (``data/trial/progression.yaml`` ``discontinuation.after_grade3``; the largest where several
    types occur), at the first grade >= 3 onset: the AE model's ``onset_grade3_days`` where it
    gives one, else a log-normal onset time."""
    from immunocycle.trial._progression import ae_onset_days, load_progression
    from immunocycle.trial._toxicity import ae_types

    probs = load_progression()["discontinuation"]["after_grade3"]
    n = len(ae)
    p_stop = np.zeros(n)
    for kind in ae_types():
        if f"ae_{kind}" in ae:
            flagged = ae[f"ae_{kind}"].to_numpy(bool)
            p_kind = float(probs.get(kind, probs["other"]))
            p_stop = np.where(flagged, np.maximum(p_stop, p_kind), p_stop)
    onset = ae_onset_days(lesions.ae_onset_u)
    if "onset_grade3_days" in ae:
        given = ae["onset_grade3_days"].to_numpy(float)
        onset = np.where(np.isfinite(given), given, onset)
    stop = np.where(lesions.discontinue_u < p_stop, onset, np.inf)
    return stop, np.where(np.isfinite(stop), "ae", "").astype(object)


def _stop_dosing(res, preset: str, therapies, stop_day: np.ndarray, times: np.ndarray,
                 options) -> None:
    """Re-simulate (in place) each patient with a finite ``stop_day`` from the first grid time
    at or after it with every dose of the arm set to zero: the drugs stop there and wash out.

    One engine call for all of them, each starting at its own grid time (``simulate(start=)``:
    bitwise the run on the grid from there); a patient whose state there is not finite (failed
    before) keeps its result."""
    from immunocycle.cycle import compiled_cycle_model
    from immunocycle.engine import SolverOptions, simulate

    compiled = compiled_cycle_model(preset, therapies)
    dose_params = set()
    for d in compiled.model.doses:
        if d.name in compiled.parameter_names:
            dose_params.add(d.name)
        elif isinstance(d.amount, str):
            dose_params.update(w for w in compiled.parameter_names
                               if w.endswith("_dose") and w in d.amount)
    idx = np.searchsorted(times, np.asarray(stop_day, float) - 1e-9)
    rows = np.flatnonzero(idx < times.size - 1)
    start = idx[rows]
    initial = res.states[rows, start, :]
    finite = np.all(np.isfinite(initial), axis=1)
    rows, start, initial = rows[finite], start[finite], initial[finite]
    if not rows.size:
        return
    frame = res.parameters.iloc[rows].reset_index(drop=True).copy()
    for name in dose_params:
        frame[name] = 0.0
    new = simulate(compiled, times, parameters=frame,
                   initial=pd.DataFrame(initial, columns=res.state_names),
                   options=options or SolverOptions(rtol=1e-6, atol=1e-6, max_steps=100_000),
                   start=times[start])
    later = np.arange(times.size)[None, :] >= start[:, None]  # (patients, grid)
    res.states[rows] = np.where(later[:, :, None], new.states, res.states[rows])
    res.derived[rows] = np.where(later[:, :, None], new.derived, res.derived[rows])
    res.status[rows] = np.maximum(res.status[rows], new.status)


def _outcomes(res, times: np.ndarray, lesions, tumor_type: str, rate: float,
              included: np.ndarray) -> dict[str, Any]:
    """Lesions, new lesions, RECIST 1.1 / iRECIST, PFS, death and OS of one arm's patients."""
    from immunocycle.trial._lesions import recorded_sizes
    from immunocycle.trial._progression import (
        assessment_times,
        death_times,
        lesion_course,
        load_progression,
        mixed_response,
        new_lesion_burden,
        new_lesion_flags,
        new_lesion_times,
        organ_death_hr,
    )
    from immunocycle.trial._recist import score_until

    laws = load_progression()
    step = float(times[1] - times[0]) if times.size > 1 else STEP_DAYS
    follow = max(float(laws["followup_days"]["value"]), float(times[-1]))
    t_ext = np.arange(0.0, follow + step / 2, step)
    t_ext[:times.size] = times
    names = set(res.state_names) | set(res.derived_names)
    series = {k: res[k] for k in ("C", "C_dead", "J7", "C_neg", "cancer_deaths_chemo", "T_E_B")
              if k in names}
    course = lesion_course(series, res.parameters, lesions, times, t_ext)
    n = len(lesions.n)
    appear = new_lesion_times(course["viable"], course["escape"], t_ext, np.full(n, rate),
                              lesions.new_thresholds)
    t_assess = assessment_times(tumor_type, follow)
    ia = np.searchsorted(t_ext, t_assess - 1e-6)
    diam = course["diameter"]
    L = lesions.diameter0.shape[1]
    target = diam[:, :L, :][:, :, ia]  # (N, L, A)
    # what the radiologist records (record_lesions' rule, per patient's lesion sites; '' padding
    # is the default site); a failed patient's NaN sizes give NaN sums, screened out by `ok`
    recorded, gone = recorded_sizes(np.moveaxis(target, 1, -1), lesions.site[:, None, :],
                                    allow_nan=True)
    recorded = np.moveaxis(recorded, -1, 1)  # (N, L, A)
    sums = recorded.sum(1)
    flags = new_lesion_flags(appear, t_assess)
    ok = res.ok & np.all(np.isfinite(res["tumor_diameter"]), axis=1) & np.all(
        np.isfinite(sums), axis=1)
    evaluable = included & ok
    cols = {"bor": np.full(n, "", object), "irecist_bor": np.full(n, "", object),
            "pfs_days": np.full(n, np.nan), "pfs_event": np.zeros(n, bool),
            "ipfs_days": np.full(n, np.nan), "ipfs_event": np.zeros(n, bool),
            "best_pct_change": np.full(n, np.nan), "response_start_days": np.full(n, np.nan),
            "cr_start_days": np.full(n, np.nan)}
    rows = np.flatnonzero(evaluable)
    icpd = np.full(n, np.inf)
    if rows.size:
        scored = score_until(t_assess, sums[rows], gone[rows], flags[rows], np.inf)
        for col in cols:
            cols[col][rows] = scored[col].to_numpy()
        found = scored["icpd_days"].to_numpy()
        icpd[rows] = np.where(np.isnan(found), np.inf, found)
    # death: all target and new lesions, organs, progression
    progression = np.where(cols["pfs_event"].astype(bool), cols["pfs_days"].astype(float),
                           np.inf)
    # whole burden as the volume-equivalent diameter of all target and new lesions (mm)
    burden = np.cbrt((diam[:, :L, :] ** 3).sum(1)
                     + new_lesion_burden(appear, diam[:, L, :], t_ext, power=3.0))
    death = death_times(burden, t_ext, organ_death_hr(lesions), progression,
                        lesions.death_threshold)
    # no scan after death: score a patient who died during follow-up again on the scans up to
    # death (a response, or its confirmation, seen only on later scans does not count; progression
    # before death, which the death hazard used, is unchanged)
    cut = np.flatnonzero(evaluable & (death <= follow) & (death < t_assess[-1]))
    if cut.size:
        scored = score_until(t_assess, sums[cut], gone[cut], flags[cut], death[cut])
        for col in cols:
            cols[col][cut] = scored[col].to_numpy()
        icpd[cut] = np.where(icpd[cut] <= death[cut], icpd[cut], np.inf)
    pfs = cols["pfs_days"].astype(float)
    died_first = evaluable & (death < np.where(cols["pfs_event"].astype(bool), pfs, np.inf))         & (death <= follow)
    cols["pfs_days"] = np.where(died_first, death, pfs)
    cols["pfs_event"] = cols["pfs_event"].astype(bool) | died_first
    ipfs = cols["ipfs_days"].astype(float)
    died_i = evaluable & (death < np.where(cols["ipfs_event"].astype(bool), ipfs, np.inf))         & (death <= follow)
    cols["ipfs_days"] = np.where(died_i, death, ipfs)
    cols["ipfs_event"] = cols["ipfs_event"].astype(bool) | died_i
    os_event = evaluable & np.isfinite(death) & (death <= follow)
    cols["os_days"] = np.where(evaluable, np.where(os_event, death, follow), np.nan)
    cols["os_event"] = os_event
    cols["death_before_progression"] = died_first
    # a patient is not scanned after death: the series stop there
    alive = t_assess[None, :] <= np.where(os_event, death, np.inf)[:, None]
    cols["time_d"] = [t_assess[a].tolist() for a in alive]
    cols["sum_mm"] = [s[a].tolist() for s, a in zip(sums, alive, strict=True)]
    # every target lesion recorded as gone (RECIST CR of the targets), per recorded scan: lets
    # the data-cutoff view (trial._cutoff) score the same scans again
    cols["target_gone"] = [g[a].tolist() for g, a in zip(gone, alive, strict=True)]
    cols["new_lesion"] = [f[a].tolist() for f, a in zip(flags, alive, strict=True)]
    seen = appear[:, :, None] <= np.where(os_event, death, follow)[:, None, None]
    cols["n_new_lesions"] = seen[:, :, 0].sum(1)
    first_new = np.where(np.isfinite(appear[:, 0]) & seen[:, 0, 0], appear[:, 0], np.nan)
    cols["first_new_lesion_day"] = first_new
    cols["n_lesions"] = lesions.n
    # mixed response on the recorded sizes at the first scan (Bernard-Tessier 2020 definition)
    first_scan = alive[:, 1] if t_assess.size > 1 else np.zeros(n, bool)
    cols["mixed_response"] = mixed_response(recorded, lesions.n, first_scan) & evaluable
    k_end = times.size - 1
    cols["resistant_share_end"] = course["resistant_share"][:, k_end]
    for j in range(L):
        has = lesions.diameter0[:, j] > 0
        cols[f"lesion{j + 1}_organ"] = lesions.organ[:, j]
        cols[f"lesion{j + 1}_site"] = np.where(has, lesions.site[:, j], "")
        cols[f"lesion{j + 1}_baseline_mm"] = np.where(has, lesions.diameter0[:, j], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            change = 100.0 * (target[:, j, 1:] / target[:, j, :1] - 1.0)
        best = np.where(has, np.nanmin(np.where(np.isfinite(change), change, np.inf), axis=1),
                        np.nan)
        cols[f"lesion{j + 1}_best_pct"] = np.where(np.isfinite(best), best, np.nan)
    # per lesion and scan (mm; target lesions only, in lesion order), for spider plots per lesion
    cols["lesion_mm"] = [[[float(x) for x in t[j][a]] for j in range(m)] for t, a, m in
                         zip(target, alive, lesions.n, strict=True)]
    cols["evaluable"] = evaluable
    cols["_icpd_day"] = icpd
    return cols


def _baseline(res, pre, phenotype) -> dict[str, np.ndarray]:
    """State at diagnosis (t = 0, before any drug acts): fluxes, phenotype, plausibility."""
    from immunocycle.cycle import FLUXES

    dens_p = res["density_parenchyma"][:, 0]
    dens_m = res["density_margin"][:, 0]
    out = {f"{f}_baseline": res[f][:, 0] for f in FLUXES}
    out["phenotype"] = phenotype(dens_p, dens_m).astype(object)
    out["limiting_step_at_diagnosis"] = _limiting_step_at(res, 0)
    out["density_parenchyma_baseline"] = dens_p
    out["density_margin_baseline"] = dens_m
    out["exclusion"] = plausibility(pre.reached, np.nan_to_num(pre.t_diagnosis, nan=-1.0), dens_p,
                                    dens_m, res["T_E_P"][:, 0] + res["T_E_M"][:, 0],
                                    res["C"][:, 0])
    return out


def _limiting_step_at(res, k: int) -> np.ndarray:
    """:func:`immunocycle.cycle.limiting_step` of every patient at output time index ``k``."""
    from immunocycle.cycle import STATE_INPUTS, limiting_step

    return limiting_step({name: res[name][:, k] for name in STATE_INPUTS})


def make_task(cohort: str | Path | Cohort, arms: Sequence[str], *, seed: int = 0,
              days: float = 365.0, tmb: float | None = None, multiplier: float | None = None,
              ae_offset: float | None = None, cr_multiplier: float | None = None,
              new_lesion_rate: float | None = None) -> TrialTask:
    """A :class:`TrialTask` with the cohort's fitted values (unless overridden), inputs checked.

    ``new_lesion_rate`` overrides the tumor type's fitted new-lesion hazard (1/day).

    ``cr_multiplier`` scales the median of the cohort's ``calibration.cr_parameter`` (default:
    the value fitted to the complete-response rate).
    """
    c = load_cohort(cohort)
    if not arms:
        raise InputError("--arm: give at least one regimen (e.g. --arm nivolumab)")
    if len(set(arms)) != len(arms):
        raise InputError(f"--arm: the same regimen is given twice ({list(arms)})")
    from immunocycle.cycle import preset_species

    arm_therapies = resolve_arms(arms, preset_species(c.base))
    if not (isinstance(days, int | float) and math.isfinite(days) and days >= 2 * ASSESSMENT_DAYS):
        raise InputError(f"--days: must be >= {2 * ASSESSMENT_DAYS:g} (two assessments), got {days}")
    if tmb is not None and not (math.isfinite(tmb) and tmb >= 0):
        raise InputError(f"--tmb: must be a number >= 0 mutations/Mb, got {tmb}")
    fitted = fitted_values(c.name)
    parameter = c.calibration.parameter if c.calibration else (
        fitted.parameter if fitted.parameter in c.parameters else None)
    c = _with_cr_multiplier(c, fitted.cr_multiplier if cr_multiplier is None else cr_multiplier)
    return TrialTask(cohort=c, arms=tuple(arms), seed=int(seed), days=float(days), tmb=tmb,
                     multiplier=fitted.multiplier if multiplier is None else float(multiplier),
                     parameter=parameter,
                     ae_offset=(fitted.ae_offset or 0.0) if ae_offset is None else float(ae_offset),
                     arm_therapies=arm_therapies,
                     new_lesion_rate=_new_lesion_rate(fitted) if new_lesion_rate is None
                     else float(new_lesion_rate))


def _new_lesion_rate(fitted) -> float:
    """The fitted new-lesion rate, or the packaged default where the cohort has none."""
    from immunocycle.trial._progression import load_progression

    value = getattr(fitted, "new_lesion_rate", None)
    return float(value) if value is not None else float(
        load_progression()["new_lesions"]["rate_default"])


def _with_cr_multiplier(c: Cohort, factor: float) -> Cohort:
    """The cohort with the median of its ``calibration.cr_parameter`` scaled by ``factor``."""
    name = c.calibration.cr_parameter if c.calibration else None
    if name is None or float(factor) == 1.0:
        return c
    dist = c.parameters[name]
    if dist.median is None:
        raise InputError(f"cohort {c.name!r}: parameters.{name}.median: give the median of the "
                         "parameter fitted to the complete-response rate")
    scaled = dist.model_copy(update={"median": dist.median * float(factor)})
    return c.model_copy(update={"parameters": {**c.parameters, name: scaled}})


def summarize_trial(patients: pd.DataFrame, arms: Sequence[str], *, seed: int = 0,
                    match_phenotypes: dict[str, float] | None = None,
                    cutoff: dict[str, Any] | None = None,
                    scans: str | Path | None = None) -> dict[str, Any]:
    """Per-arm summary (:func:`summarize_arms`) of the evaluable patients, with the counts of
    excluded and failed patients.

    Parameters
    ----------
    patients : DataFrame
        The trial's ``patients.parquet`` (one row per patient and arm).
    arms : sequence of str
        Arm order (the first is the reference for hazard ratios).
    match_phenotypes : mapping phenotype -> share, optional
        Keep a subset of included patients matching this baseline phenotype mix
        (:func:`select_to_mix`), the same subset in every arm.
    cutoff : dict, optional
        Data cutoff (:func:`immunocycle.trial._cutoff.cutoff_settings`): every arm then also
        gets ``orr_at_cutoff``, ``cr_rate_at_cutoff`` (with ``_ci``) and ``cr_at_cutoff``,
        counted only on each patient's scans up to its follow-up at the cutoff.
    scans : path, optional
        The table file to read the per-scan lists from, a batch at a time, when ``patients``
        lacks them (:func:`immunocycle.trial._table.read_patients`, as :func:`run_trial` reads).
    """
    from immunocycle.trial._statistics import summarize_arms, summarize_response

    first = patients[patients["arm"] == arms[0]]
    included = first[first["included"]]
    selected = set(included["patient_id"])
    if match_phenotypes:
        keep = select_to_mix(included["phenotype"].to_numpy(), included["patient_id"].to_numpy(),
                             match_phenotypes, seed)
        selected = set(included["patient_id"].to_numpy()[keep])
    work = patients[patients["evaluable"] & patients["patient_id"].isin(selected)]
    cols = ["arm", "bor", "irecist_bor", "pfs_days", "pfs_event", "phenotype",
            *[c for c in patients.columns if c.startswith("ae_")]]
    table = work[cols].reset_index(drop=True)
    arms_out = summarize_arms(table, list(arms)) if len(table) else []
    if len(table) and "os_days" in work:
        from immunocycle.trial._statistics import summarize_survival

        # only the columns it reads: a copy of the whole table per arm costs memory at 10^5
        keep = [c for c in ("arm", "os_days", "os_event", "n_lesions", "n_new_lesions",
                            "mixed_response", "discontinuation", "death_before_progression")
                if c in work.columns]
        extra = summarize_survival(work[keep].reset_index(drop=True), list(arms))
        for rec in arms_out:
            rec.update(extra[rec["name"]])
    irecist = {a["name"]: a["orr"] for a in summarize_response(table, list(arms),
                                                                bor_col="irecist_bor")} \
        if len(table) else {}
    for rec in arms_out:
        sub = patients[patients["arm"] == rec["name"]]
        rec["n_failed"] = int((sub["included"] & ~sub["evaluable"]).sum())
        rec["failed_status"] = sorted({int(s) for s in sub.loc[sub["included"]
                                                                & ~sub["evaluable"], "status"]})
        # the solver's status per included patient, by name ({"ok": 98, "too many steps": 2})
        rec["solver_status"] = {STATUS_TEXT.get(int(s), f"status {s}"): int(c) for s, c in
                                sorted(sub.loc[sub["included"], "status"].value_counts().items())}
        rec["irecist_orr"] = irecist.get(rec["name"])
    if cutoff is not None and len(table) and "cutoff_u" in work:
        _add_cutoff(arms_out, work, table, list(arms), cutoff, scans)
    reasons = first.loc[~first["included"], "exclusion"].value_counts().to_dict()
    return {"n_sampled": int(len(first)), "n_included": int(len(included)),
            "n_selected": int(len(selected)), "excluded": {str(k): int(v) for k, v in reasons.items()},
            "arms": arms_out}


def _add_cutoff(arms_out: list[dict[str, Any]], work: pd.DataFrame, table: pd.DataFrame,
                arms: list[str], cutoff: dict[str, Any], scans: str | Path | None) -> None:
    """Response counted at the data cutoff (:mod:`immunocycle.trial._cutoff`), per arm; the
    per-scan lists from ``work`` or else from the table file ``scans``."""
    from immunocycle.trial._cutoff import (
        SCAN_COLUMNS,
        bor_at_cutoff,
        bor_at_cutoff_file,
        followup_at_cutoff,
    )
    from immunocycle.trial._statistics import summarize_response

    work = work[[c for c in ("patient_id", "arm", "evaluable", "cutoff_u", "bor", "pfs_days",
                             *SCAN_COLUMNS) if c in work.columns]].reset_index(drop=True)
    follow = followup_at_cutoff(work["cutoff_u"].to_numpy(), cutoff)
    # The best response reads the scans up to the first progression only (and pfs_days is that
    # scan, death, or the last scan): a cutoff at or after pfs_days keeps the response of all
    # scans. Only the others are scored again (melanoma: a third of the rows).
    bor = work["bor"].to_numpy(object).copy()
    again = follow < work["pfs_days"].to_numpy(float)
    if "time_d" in work.columns or scans is None:
        missing = [c for c in SCAN_COLUMNS[:2] if c not in work.columns]
        if missing:
            raise InputError(f"patients: the data cutoff needs the per-scan column(s) {missing}; "
                             "pass the table file as scans=")
        bor[again] = bor_at_cutoff(work[again].reset_index(drop=True), follow[again])
    elif again.any():
        bor[again] = bor_at_cutoff_file(scans, work[again].reset_index(drop=True), follow[again])
    table = table.assign(bor_at_cutoff=bor)
    at = {a["name"]: a for a in summarize_response(table, arms, bor_col="bor_at_cutoff")}
    for rec in arms_out:
        a = at[rec["name"]]
        rec.update({"orr_at_cutoff": a["orr"], "orr_at_cutoff_ci": a["orr_ci"],
                    "cr_at_cutoff": a["cr"], "cr_rate_at_cutoff": a["cr_rate"],
                    "cr_rate_at_cutoff_ci": a["cr_rate_ci"],
                    "median_follow_up_at_cutoff_days": float(np.median(
                        follow[(work["arm"] == rec["name"]).to_numpy()]))})


def run_trial(cohort: str | Path | Cohort, arms: Sequence[str], n: int, out: str | Path, *,
              seed: int = 0, days: float = 365.0, tmb: float | None = None,
              chunk_size: int = 250, scheduler: str | None = None,
              local_cluster: int | None = None, progress: bool = True,
              figures: Callable[[pd.DataFrame, Sequence[str], Path], Mapping[str, Path]]
              | None = None,
              match_phenotypes: bool = False, multiplier: float | None = None,
              ae_offset: float | None = None, replicates: int | None = None,
              accrual_months: float | None = None,
              min_follow_up_months: float | None = None) -> dict[str, Any]:
    """Run a virtual trial and write its results under ``out``.

    Parameters
    ----------
    cohort : str, path or Cohort
        Cohort name (``immunocycle cohort list``) or file.
    arms : sequence of str
        Regimens, therapy names joined by ``+``; the first arm is the reference.
    n : int
        Virtual patients sampled (each gets every arm); excluded ones are recorded.
    out : path
        Output folder: ``patients.parquet``, ``summary.json``, ``inputs.json``, figures.
    seed : int
        Sobol scrambling seed and per-patient random seed.
    days : float
        Treatment and follow-up (days); tumors assessed every 42 days.
    tmb : float, optional
        Condition the cohort on a tumor mutational burden (mutations/Mb).
    chunk_size : int
        Patients per chunk (memory; results do not depend on it).
    scheduler, local_cluster
        A Dask scheduler address, or a local cluster of this many workers.
    figures : callable, optional
        Figure writer ``figures(patients, arms, out) -> {name: path}``, for example
        :func:`immunocycle.report.trial_figures` (trial knows nothing of figures); its paths go
        into the summary under ``figures``. None: no figures.
    match_phenotypes : bool
        Select included patients to match the cohort's observed phenotype mix.
    multiplier, ae_offset : float, optional
        Override the cohort's fitted values (calibration uses this).
    replicates : int, optional
        Draws of every effect size (default 20, ``data/trial/uncertainty.yaml``; 0: none), each
        treating the first patients again (``replicates/patients.parquet``): every arm then gets
        the 90 % prediction intervals ``orr_pi``, ``cr_rate_pi``, ``median_pfs_days_pi`` and
        ``ae_grade3plus_rate_pi`` (:mod:`immunocycle.trial._uncertainty`).
    accrual_months, min_follow_up_months : float, optional
        Data cutoff of the compared trial (months; default: the cohort's entry in
        ``data/trial/data_cutoff.yaml``): every arm then also reports ``orr_at_cutoff`` and
        ``cr_rate_at_cutoff``, counted on each patient's scans up to ``min_follow_up + accrual
        * u`` months (:mod:`immunocycle.trial._cutoff`); the settings are under ``data_cutoff``.

    Returns
    -------
    dict
        The summary written to ``summary.json`` (per arm under ``arms``, in the given order).
    """
    from immunocycle._provenance import provenance, write_json
    from immunocycle.trial._runner import run_chunked

    if not isinstance(n, int | np.integer) or n < 1:
        raise InputError(f"--n: must be a whole number >= 1, got {n}")
    if chunk_size < 1:
        raise InputError(f"--chunk-size: must be >= 1, got {chunk_size}")
    if replicates is not None and (isinstance(replicates, bool) or int(replicates) != replicates
                                   or replicates < 0):
        raise InputError(f"--replicates: must be a whole number >= 0, got {replicates}")
    task = make_task(cohort, arms, seed=seed, days=days, tmb=tmb, multiplier=multiplier,
                     ae_offset=ae_offset)
    c = task.cohort
    from immunocycle.trial._cutoff import cutoff_settings

    cutoff = cutoff_settings(c.name, accrual_months, min_follow_up_months)
    out = Path(out)
    arguments = {"cohort": c.model_dump(mode="json"), "arms": list(task.arms), "seed": task.seed,
                 "days": task.days, "tmb": task.tmb, "multiplier": task.multiplier,
                 "parameter": task.parameter, "ae_offset": task.ae_offset,
                 "new_lesion_rate": task.new_lesion_rate}
    path = run_chunked(task, int(n), out, chunk_size=chunk_size, arguments=arguments,
                       scheduler=scheduler, local_cluster=local_cluster, progress=progress,
                       description=f"trial {c.name}")
    from immunocycle.trial._table import read_patients, summary_columns, with_scans

    # the columns the summary reads, without the per-scan lists (streamed where needed) and the
    # per-patient details: memory flat in the trial size (issue 18)
    patients = read_patients(path, summary_columns(path, list(c.parameters)))
    mix = c.phenotype_mix.shares() if (match_phenotypes and c.phenotype_mix) else None
    summary = {"cohort": c.name, "tmb": task.tmb, "seed": task.seed, "days": task.days, "n": int(n),
               **summarize_trial(patients, task.arms, seed=task.seed, match_phenotypes=mix,
                                 cutoff=cutoff, scans=path),
               "data_cutoff": cutoff}
    from immunocycle.trial._uncertainty import add_prediction_intervals

    add_prediction_intervals(summary, task, patients, out, replicates, chunk_size=chunk_size,
                              arguments=arguments, progress=progress, n=int(n), mix=mix,
                              cluster={"scheduler": scheduler, "local_cluster": local_cluster})
    if figures:
        # spider plots need the per-scan sums: of the first SCAN_PATIENTS patients only
        summary["figures"] = {k: str(v) for k, v in
                              figures(with_scans(patients, path), task.arms, out).items()}
    summary["outputs"] = {"patients": str(path), "summary": str(out / "summary.json"),
                          "inputs": str(out / "inputs.json")}
    write_json(out / "summary.json", summary)
    from immunocycle.trial._toxicity import mapping_summary

    write_json(out / "inputs.json", provenance(**arguments, n=int(n), chunk_size=chunk_size,
                                               match_phenotypes=match_phenotypes,
                                               toxicity=mapping_summary()))
    return summary


#: Largest bench size whose Python heap peak is measured (a second, traced run of that size).
TRACE_MAX_PATIENTS = 2000


def bench_trial(n_values: Sequence[int] = (1000, 10000), arms: int = 2, days: float = 365.0, *,
                cohort: str = "melanoma", chunk_size: int = 250, seed: int = 0,
                out: str | Path | None = None, replicates: int = 0) -> dict[str, Any]:
    """Time per patient and peak memory of a trial at each ``n``.

    Parameters
    ----------
    n_values : sequence of int
        Trial sizes (patients; each gets every arm).
    arms : int
        Number of arms (1: nivolumab; 2: + nivolumab+ipilimumab; 3: + untreated).
    days : float
        Treatment and follow-up (days).
    replicates : int
        Effect-size replicates of each run (:func:`run_trial`; default 0: the trial pipeline
        alone, whose cost scales with n; the replicates treat a fixed subset again, a cost
        that does not).

    Returns
    -------
    dict
        ``{"case": "trial", "cohort", "arms", "days", "replicates", "results": [{"n", "seconds",
        "seconds_per_patient", "seconds_per_patient_arm", "peak_python_mb", "max_rss_mb"}]}``.
        ``speedup_vs_baseline``: CPU seconds of the first size on the engine before issue 18
        over today's engine, both run warm and back to back (:func:`_bench_baseline`). Times
        are of untraced runs after a warm-up trial; ``peak_python_mb`` is the Python heap peak
        (:mod:`tracemalloc`) of a second run of the same size, up to
        :data:`TRACE_MAX_PATIENTS` patients (None above); ``max_rss_mb`` is the process's
        resident peak
        (:mod:`resource`), which includes numba's compiled code and never decreases. ``stages``:
        seconds per patient of the systemic simulation and of the lesion layer (several lesions,
        new lesions, scoring, death), on up to 100 patients (:func:`_bench_stages`).
    """
    import resource
    import shutil
    import tempfile

    regimens = ["nivolumab", "nivolumab+ipilimumab", UNTREATED][:max(1, arms)]

    def run(n: int, folder: Path) -> tuple[float, float]:
        # A finished run left by an earlier bench would be resumed, timing nothing.
        shutil.rmtree(folder / "chunks", ignore_errors=True)
        for name in ("run.json", "patients.parquet"):
            (folder / name).unlink(missing_ok=True)
        t0, c0 = time.perf_counter(), time.process_time()
        run_trial(cohort, regimens, int(n), folder, seed=seed, days=days,
                  chunk_size=chunk_size, progress=False, replicates=replicates)
        return time.perf_counter() - t0, time.process_time() - c0

    # Compile every model structure and load every module once (a whole small trial), so the
    # timing is of simulation, not compilation or first use.
    with tempfile.TemporaryDirectory() as tmp:
        run(2, Path(tmp))
    results = []
    for n in n_values:
        with tempfile.TemporaryDirectory() as tmp:
            seconds, cpu = run(n, Path(out) / f"n{n}" if out else Path(tmp))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        peak = None
        if n <= TRACE_MAX_PATIENTS:
            # tracemalloc slows the pipeline's Python parts ~4x (the run 2.3x), so the heap
            # peak comes from a separate run, never from the timed one
            with tempfile.TemporaryDirectory() as tmp:
                tracemalloc.start()
                try:
                    run(n, Path(tmp))
                    peak = tracemalloc.get_traced_memory()[1] / 2**20
                finally:
                    tracemalloc.stop()
        results.append({"n": int(n), "seconds": seconds, "seconds_per_patient": seconds / n,
                        "seconds_per_patient_arm": seconds / (n * len(regimens)),
                        "cpu_seconds": cpu, "cpu_ms_per_patient": 1e3 * cpu / n,
                        "peak_python_mb": peak, "max_rss_mb": rss})
    baseline = _bench_baseline(cohort, regimens, days, seed, chunk_size, min(n_values), out,
                               replicates)
    return {"case": "trial", "cohort": cohort, "arms": regimens, "days": days,
            "chunk_size": chunk_size, "replicates": int(replicates), "results": results,
            "ms_per_patient": results[-1]["seconds_per_patient"] * 1e3,
            "cpu_ms_per_patient": results[-1]["cpu_ms_per_patient"], "baseline": baseline,
            "speedup_vs_baseline": baseline["speedup_cpu"],
            "stages": _bench_stages(cohort, regimens, days, seed, min(100, max(n_values)))}


def _bench_baseline(cohort: str, regimens: Sequence[str], days: float, seed: int,
                    chunk_size: int, n: int, out: str | Path | None,
                    replicates: int = 0) -> dict[str, Any]:
    """The same trial as the first bench size on the engine pinned before issue 18
    (``engine.solver_method("legacy")``: Rodas4 with the pattern-driven LU and the dispatcher
    call path) and on today's engine, back to back after the timed sizes (both warm), in CPU
    seconds of this process. The pinned engine also keeps the old call pattern of the engine's
    newer options: one call per dose-stop day (``simulate(start=)``) and growth to diagnosis
    over the whole window (``simulate(until=)``); the rest of the trial code is today's."""
    import shutil
    import tempfile

    from immunocycle.engine import SolverOptions, solver_method

    timing = {}
    # both warm (after the timed sizes) and back to back, so one-time costs fall on neither
    for method in ("legacy", SolverOptions().method):
        with tempfile.TemporaryDirectory() as tmp, solver_method(method):
            folder = Path(out) / f"baseline_{method}" if out else Path(tmp)
            shutil.rmtree(folder, ignore_errors=True)
            t0, c0 = time.perf_counter(), time.process_time()
            run_trial(cohort, regimens, int(n), folder, seed=seed, days=days,
                      chunk_size=chunk_size, progress=False, replicates=replicates)
            timing[method] = (time.perf_counter() - t0, time.process_time() - c0)
    seconds, cpu = timing["legacy"]
    now = timing[SolverOptions().method]
    return {"n": int(n), "engine": "legacy (Rodas4, pattern-driven sparse LU, before issue 18)",
            "seconds": seconds, "cpu_seconds": cpu, "cpu_ms_per_patient": 1e3 * cpu / n,
            "current_seconds": now[0], "current_cpu_seconds": now[1],
            "speedup_cpu": cpu / now[1]}


def _bench_stages(cohort: str, regimens: Sequence[str], days: float, seed: int,
                  n: int) -> dict[str, float]:
    """Seconds per patient (all arms) of the two stages of a chunk: the systemic simulation
    (growth to diagnosis, every arm, re-simulation after a grade >= 3 AE stop) and the lesion
    layer (several lesions, new lesions, RECIST, death; with the re-simulation after iCPD)."""
    task = make_task(cohort, regimens, seed=seed, days=days)
    t0 = time.perf_counter()
    sim = task.simulate(0, n)
    t1 = time.perf_counter()
    task.finish(sim, post_progression=False)
    t2 = time.perf_counter()
    rows = task.finish(sim)
    t3 = time.perf_counter()
    ev = rows[rows["evaluable"]]
    return {"n": int(n), "simulate_seconds_per_patient": (t1 - t0) / n,
            "lesions_seconds_per_patient": (t2 - t1) / n,
            "lesions_with_icpd_resimulation_seconds_per_patient": (t3 - t2) / n,
            "lesions_per_patient_mean": float(ev["n_lesions"].mean()) if len(ev) else None}


__all__ = ["ASSESSMENT_DAYS", "UNTREATED", "TrialTask", "bench_trial", "make_task",
           "parse_regimen", "resolve_arms", "run_trial", "summarize_trial"]
