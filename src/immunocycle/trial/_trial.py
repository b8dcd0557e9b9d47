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
from typing import Any

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
FLUXES = ("J1", "J2", "J3", "J4", "J5", "J6", "J7")


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
    """

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
    replicates: Any = None

    def __call__(self, start: int, count: int) -> pd.DataFrame:
        from immunocycle.cycle import phenotype, preset_species, treat
        from immunocycle.trial._lesions import record_lesions
        from immunocycle.trial._recist import score_patients
        from immunocycle.trial._toxicity import ae_columns, ae_uniforms

        mult = {self.parameter: self.multiplier} if self.parameter else None
        patients = sample_cohort(self.cohort, start, count, self.seed, tmb=self.tmb,
                                 multipliers=mult)
        if self.replicates is not None:  # one row per patient and replicate (drawn effects)
            patients = self.replicates.tile(patients)
        ids = patients.index.to_numpy()
        therapies_given = self.arm_therapies or resolve_arms(
            self.arms, preset_species(self.cohort.base))
        arm_names = arm_therapies = [list(t) for t in therapies_given]
        # Grown to diagnosis once; every arm treats the same state there.
        treated = treat(self.cohort.base, arm_names, days=self.days, step=self.step,
                        parameters=patients.drop(columns=["tmb", "diagnosis_sum_mm"]),
                        diagnosis_diameter_mm=patients["diagnosis_sum_mm"].to_numpy(),
                        options=self.options)
        pre, times = treated.pretreatment, treated.times
        assess = np.flatnonzero(np.isclose(np.mod(times + 1e-9, self.assessment_days), 0.0,
                                           atol=1e-6))
        uniforms = ae_uniforms(ids, self.seed)
        base = patients.reset_index()
        base["days_to_diagnosis"] = pre.t_diagnosis
        frames = []
        baseline = _baseline(treated.arms[0], pre, phenotype)
        for k, (arm, res, therapies) in enumerate(zip(self.arms, treated.arms, arm_therapies,
                                                      strict=True)):
            frame = base.copy()
            frame.insert(1, "arm", arm)
            frame.insert(2, "arm_index", k)
            for key, values in baseline.items():
                frame[key] = values
            frame["status"] = res.status.astype(int)
            frame["limiting_step_at_end"] = _limiting_step_at(res, -1)
            frame["phenotype_on_treatment"] = phenotype(
                res["density_parenchyma"][:, assess[min(1, assess.size - 1)]],
                res["density_margin"][:, assess[min(1, assess.size - 1)]]).astype(object)
            diameters = res["tumor_diameter"][:, assess]
            ok_series = res.ok & np.all(np.isfinite(diameters) & (diameters > 0), axis=1)
            # What a radiologist records: the lumped lesion at the default site, 0 mm under its
            # CT detection limit (data/trial/recist.yaml).
            sums, gone = record_lesions(np.where(ok_series[:, None], diameters, 0.0)[..., None])
            included = frame["exclusion"].to_numpy() == ""
            frame["included"] = included
            frame["evaluable"] = included & ok_series
            frame["time_d"] = [times[assess].tolist()] * len(ids)
            frame["sum_mm"] = [s.tolist() for s in sums]
            frame = pd.concat([frame, _score(frame, times[assess], sums, gone, score_patients)],
                              axis=1)
            ae = ae_columns(res, therapies, ids, self.seed, step=self.step,
                            offset=self.ae_offset, uniforms=uniforms)
            frames.append(pd.concat([frame, ae.reset_index(drop=True)], axis=1))
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["patient_id", "arm_index"], kind="stable").reset_index(drop=True)


def _baseline(res, pre, phenotype) -> dict[str, np.ndarray]:
    """State at diagnosis (t = 0, before any drug acts): fluxes, phenotype, plausibility."""
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
    from immunocycle.cycle import limiting_step

    names = (*FLUXES, "C", "density_parenchyma", "density_margin")
    return limiting_step({name: res[name][:, k] for name in names})


def _score(frame: pd.DataFrame, times: np.ndarray, sums: np.ndarray, gone: np.ndarray,
           score_patients) -> pd.DataFrame:
    """RECIST 1.1 / iRECIST columns for the evaluable patients ('' / NaN for the others)."""
    n = len(frame)
    out = pd.DataFrame({"bor": [""] * n, "irecist_bor": [""] * n,
                        "pfs_days": np.full(n, np.nan), "pfs_event": np.zeros(n, bool),
                        "ipfs_days": np.full(n, np.nan), "ipfs_event": np.zeros(n, bool),
                        "best_pct_change": np.full(n, np.nan),
                        "response_start_days": np.full(n, np.nan),
                        "cr_start_days": np.full(n, np.nan)})
    rows = np.flatnonzero(frame["evaluable"].to_numpy())
    if rows.size:
        long = pd.DataFrame({"patient_id": np.repeat(rows, times.size),
                             "time_d": np.tile(times, rows.size),
                             "sum_mm": sums[rows].ravel(), "target_gone": gone[rows].ravel()})
        scored = score_patients(long).set_index("patient_id")
        for col in out.columns:
            out.loc[rows, col] = scored.loc[rows, col].to_numpy()
    out["pfs_event"] = out["pfs_event"].astype(bool)
    out["ipfs_event"] = out["ipfs_event"].astype(bool)
    return out


def make_task(cohort: str | Path | Cohort, arms: Sequence[str], *, seed: int = 0,
              days: float = 365.0, tmb: float | None = None, multiplier: float | None = None,
              ae_offset: float | None = None, cr_multiplier: float | None = None) -> TrialTask:
    """A :class:`TrialTask` with the cohort's fitted values (unless overridden), inputs checked.

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
                     arm_therapies=arm_therapies)


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
                    match_phenotypes: dict[str, float] | None = None) -> dict[str, Any]:
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
    """
    from immunocycle.trial._statistics import summarize_arms

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
    irecist = {a["name"]: a["orr"] for a in summarize_arms(table, list(arms), bor_col="irecist_bor")} \
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
    reasons = first.loc[~first["included"], "exclusion"].value_counts().to_dict()
    return {"n_sampled": int(len(first)), "n_included": int(len(included)),
            "n_selected": int(len(selected)), "excluded": {str(k): int(v) for k, v in reasons.items()},
            "arms": arms_out}


def run_trial(cohort: str | Path | Cohort, arms: Sequence[str], n: int, out: str | Path, *,
              seed: int = 0, days: float = 365.0, tmb: float | None = None,
              chunk_size: int = 250, scheduler: str | None = None,
              local_cluster: int | None = None, progress: bool = True,
              figures: Callable[[pd.DataFrame, Sequence[str], Path], Mapping[str, Path]]
              | None = None,
              match_phenotypes: bool = False, multiplier: float | None = None,
              ae_offset: float | None = None, replicates: int | None = None) -> dict[str, Any]:
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
        the 90 % prediction intervals ``orr_pi``, ``median_pfs_days_pi`` and
        ``ae_grade3plus_rate_pi`` (:mod:`immunocycle.trial._uncertainty`).

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
    out = Path(out)
    arguments = {"cohort": c.model_dump(mode="json"), "arms": list(task.arms), "seed": task.seed,
                 "days": task.days, "tmb": task.tmb, "multiplier": task.multiplier,
                 "parameter": task.parameter, "ae_offset": task.ae_offset}
    path = run_chunked(task, int(n), out, chunk_size=chunk_size, arguments=arguments,
                       scheduler=scheduler, local_cluster=local_cluster, progress=progress,
                       description=f"trial {c.name}")
    patients = pd.read_parquet(path)
    mix = c.phenotype_mix.shares() if (match_phenotypes and c.phenotype_mix) else None
    summary = {"cohort": c.name, "tmb": task.tmb, "seed": task.seed, "days": task.days, "n": int(n),
               **summarize_trial(patients, task.arms, seed=task.seed, match_phenotypes=mix)}
    from immunocycle.trial._uncertainty import add_prediction_intervals

    add_prediction_intervals(summary, task, patients, out, replicates, chunk_size=chunk_size,
                              arguments=arguments, progress=progress, n=int(n), mix=mix,
                              cluster={"scheduler": scheduler, "local_cluster": local_cluster})
    if figures:
        summary["figures"] = {k: str(v) for k, v in figures(patients, task.arms, out).items()}
    summary["outputs"] = {"patients": str(path), "summary": str(out / "summary.json"),
                          "inputs": str(out / "inputs.json")}
    write_json(out / "summary.json", summary)
    from immunocycle.trial._toxicity import mapping_summary

    write_json(out / "inputs.json", provenance(**arguments, n=int(n), chunk_size=chunk_size,
                                               match_phenotypes=match_phenotypes,
                                               toxicity=mapping_summary()))
    return summary


def bench_trial(n_values: Sequence[int] = (1000, 10000), arms: int = 2, days: float = 365.0, *,
                cohort: str = "melanoma", chunk_size: int = 250, seed: int = 0,
                out: str | Path | None = None) -> dict[str, Any]:
    """Time per patient and peak memory of a trial at each ``n``.

    Parameters
    ----------
    n_values : sequence of int
        Trial sizes (patients; each gets every arm).
    arms : int
        Number of arms (1: nivolumab; 2: + nivolumab+ipilimumab; 3: + untreated).
    days : float
        Treatment and follow-up (days).

    Returns
    -------
    dict
        ``{"case": "trial", "cohort", "arms", "days", "results": [{"n", "seconds",
        "seconds_per_patient", "seconds_per_patient_arm", "peak_python_mb", "max_rss_mb"}]}``.
        Python heap peak from :mod:`tracemalloc`; ``max_rss_mb`` is the process's resident peak
        (:mod:`resource`), which includes numba's compiled code and never decreases.
    """
    import resource
    import shutil
    import tempfile

    regimens = ["nivolumab", "nivolumab+ipilimumab", UNTREATED][:max(1, arms)]
    # Compile every model structure once so the timing is of simulation, not compilation.
    make_task(cohort, regimens, seed=seed, days=days)(0, 2)
    results = []
    for n in n_values:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(out) / f"n{n}" if out else Path(tmp)
            # A finished run left by an earlier bench would be resumed, timing nothing.
            shutil.rmtree(folder / "chunks", ignore_errors=True)
            for name in ("run.json", "patients.parquet"):
                (folder / name).unlink(missing_ok=True)
            tracemalloc.start()
            t0 = time.perf_counter()
            run_trial(cohort, regimens, int(n), folder, seed=seed, days=days,
                      chunk_size=chunk_size, progress=False)
            seconds = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        results.append({"n": int(n), "seconds": seconds, "seconds_per_patient": seconds / n,
                        "seconds_per_patient_arm": seconds / (n * len(regimens)),
                        "peak_python_mb": peak / 2**20, "max_rss_mb": rss})
    return {"case": "trial", "cohort": cohort, "arms": regimens, "days": days,
            "chunk_size": chunk_size, "results": results}


__all__ = ["ASSESSMENT_DAYS", "UNTREATED", "TrialTask", "bench_trial", "make_task",
           "parse_regimen", "resolve_arms", "run_trial", "summarize_trial"]
