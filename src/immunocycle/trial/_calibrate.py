"""Calibrate a cohort: one cohort-level multiplier to the published ORR, one new-lesion rate to
the published median PFS and one AE offset to the published grade 3-4 AE rate
(``calibration_targets.md``, nothing else).

1. ORR: the multiplier ``m`` on the median of the cohort's calibrated parameter (``k_rec``, the
   productive recognitions per effector: the tumor's antigenicity as kill per effector; issue 13
   moved it from ``T_N0``, the naive precursors, because under the homeostatic CD8 ceiling more
   precursors no longer make more effectors) is found by bracketing and
   bisection in ``log m`` on ``n_search`` patients, then refined on ``n`` patients until the
   target lies inside the simulated ORR's 95 % Wilson interval. The same patients (same seed) are
   used at every ``m``, so ORR(m) is a deterministic, near-monotone step function.
1b. CR (a target with a published complete-response rate ``cr`` and a ``cr_parameter``): before
   step 1, a multiplier on the median of ``cr_parameter`` is found by bisection in its log so
   that, with ``m`` refitted to the ORR at each value (``n_search`` patients), the CR rate
   matches the target; step 1 then runs at that value. Without ``cr_parameter`` the achieved CR
   rate is only reported.
1c. PFS (a target with ``median_pfs_months``): at every multiplier evaluated in step 1, the
   tumor type's new-lesion rate (:mod:`immunocycle.trial._progression`) is fitted so that the
   Kaplan-Meier median PFS is the scan day nearest the published median
   (:func:`fit_new_lesion_rate`, cheap: the rate changes no simulation), so the ORR is searched
   with new lesions at their fitted rate.
1d. Uncertainty of ``m``: the ORR on the ``n`` patients at ``m * exp(-h)`` and ``m * exp(h)``,
   with the new-lesion rate fixed at the fitted one (as the trial replicates that draw ``m``
   keep it), gives the secant slope ``dORR/dlog m`` over the span the draws cover (``h`` = 1.96
   sd, found in at most two tries), which maps the binomial errors of the published ORR and of
   the fit onto ``multiplier_log_sd`` (:mod:`immunocycle.trial._multiplier_sd`): drawn from it,
   the calibrated arm's ORR spreads about as the published one is uncertain.
2. AE: with ``m`` fixed, the cohort offset of the AE laws (:mod:`immunocycle.trial._toxicity`) is
   solved (Brent) so that the mean probability of any grade >= 3 AE in the monotherapy arm equals
   the target; the realized rate (common random numbers) is reported beside it. Grade >= 3 AEs
   stop treatment, which lowers the ORR, so step 1 is then run again at that offset (from the
   first ``m``) and the offset refitted on the final run (``fit.ae_offset_rounds``): the
   calibrated ORR is the one a trial at the fitted offset reports.

Cohorts without a target borrow the calibrated tumor types' means (:func:`fill_uncalibrated`);
one that names a published median time to progression of another regimen (``progression`` in
its file, e.g. breast: Gradishar 2005's nab-paclitaxel) gets its new-lesion rate fitted to it
instead (:func:`fit_progression`, the step 1c fit at the borrowed multiplier).

The result is written to ``data/cohorts/fitted.yaml`` with the achieved fit and the command that
reproduces it (``immunocycle cohort calibrate NAME``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from immunocycle._errors import InputError
from immunocycle.population import available_cohorts, fitted_path, load_cohort
from immunocycle.trial._multiplier_sd import borrowed_log_sd, fit_spread

#: The target must lie inside the simulated ORR's interval; the search stops within this much.
SEARCH_TOLERANCE = 0.015
#: Per-patient exposures and activation the AE laws read (trial rows).
AE_DRIVERS = ("exposure_pd1", "exposure_pdl1", "exposure_ctla4", "exposure_total", "activation")


def _run(task, n: int, chunk: int = 250) -> pd.DataFrame:
    """All patients of a task in this process (the same rows run_chunked would write)."""
    return pd.concat([task(s, min(chunk, n - s)) for s in range(0, n, chunk)], ignore_index=True)


def _simulate(task, n: int, chunk: int = 250) -> list:
    """The simulated chunks of a task (:meth:`TrialTask.simulate`), for many cheap finishes."""
    return [task.simulate(s, min(chunk, n - s)) for s in range(0, n, chunk)]


def _finish(task, sims: list, rate: float) -> pd.DataFrame:
    """Rows of simulated chunks at a new-lesion rate (without the post-iCPD re-simulation,
    which changes OS only)."""
    return pd.concat([task.finish(sim, rate, post_progression=False) for sim in sims],
                     ignore_index=True)


def pfs_target_days(cohort, months: float | None = None) -> tuple[float, float, float] | None:
    """``(target, aim, previous)``: the published median PFS (days) of the cohort (or
    ``months``), the scan day nearest to it, which the fit aims at (a Kaplan-Meier median of
    scan-dated progressions is a scan day), and the scan before it (0: the aim is the first
    scan). None without a PFS target."""
    from immunocycle.trial._progression import assessment_times

    target = months if months is not None else (
        cohort.calibration.median_pfs_months if cohort.calibration else None)
    if target is None:
        return None
    days = float(target) * 30.4375
    scans = assessment_times(cohort.tumor_type, 3 * days + 200)
    k = 1 + int(np.argmin(np.abs(scans[1:] - days)))
    return days, float(scans[k]), float(scans[k - 1])


#: Bracket (1/day) and bisection steps of the new-lesion rate fit.
RATE_BRACKET = (1e-7, 1.0)
RATE_STEPS = 14
#: Margin (fraction) under one half of the progression-free share on the aimed scan day when it
#: is the first scan (no earlier scan to centre the crossing of one half on).
PFS_MARGIN = 0.05


def _pfs_at(frame: pd.DataFrame, day: float) -> float:
    """Kaplan-Meier progression-free share of the evaluable rows at ``day``."""
    from lifelines import KaplanMeierFitter

    ev = frame[frame["evaluable"]]
    if ev.empty:
        return math.nan
    kmf = KaplanMeierFitter().fit(ev["pfs_days"].to_numpy(float), ev["pfs_event"].to_numpy(bool))
    return float(kmf.survival_function_at_times(day).iloc[0])


def fit_new_lesion_rate(task, sims: list, aim_days: float, say=None,
                        previous_days: float = 0.0) -> tuple[float, float | None]:
    """The new-lesion rate whose Kaplan-Meier median PFS falls on ``aim_days`` (the scan day
    nearest the published median) as robustly as the curve allows.

    The progression-free share ``S`` falls as the rate rises (common random numbers: every
    event time falls monotonically), so the rate is found by bisection in ``log rate`` on
    ``(S(previous scan) + S(aim)) / 2 = 1/2`` (the curve crosses one half midway between the
    two scans), or on ``S(aim) = 1/2 - PFS_MARGIN`` when the aim is the first scan. If even the
    smallest rate gives progression sooner, that rate is returned. Returns
    ``(rate, median_pfs_days)``.
    """
    cache: dict[float, pd.DataFrame] = {}

    def frame(rate: float) -> pd.DataFrame:
        if rate not in cache:
            cache[rate] = _finish(task, sims, rate)
        return cache[rate]

    def level(rate: float) -> float:
        f = frame(rate)
        if previous_days <= 0:
            return _pfs_at(f, aim_days) + PFS_MARGIN
        return 0.5 * (_pfs_at(f, previous_days) + _pfs_at(f, aim_days))

    lo, hi = (math.log(x) for x in RATE_BRACKET)
    if not level(math.exp(lo)) > 0.5:
        rate = math.exp(lo)
    elif level(math.exp(hi)) > 0.5:
        rate = math.exp(hi)
    else:
        for _ in range(RATE_STEPS):
            mid = 0.5 * (lo + hi)
            if level(math.exp(mid)) > 0.5:
                lo = mid
            else:
                hi = mid
        rate = math.exp(hi)
    f = frame(rate)
    median = _median_pfs(f[f["evaluable"]])
    if say:
        say(f"    new-lesion rate {rate:.4g}/day: PFS {_pfs_at(f, previous_days):.3f} at day "
            f"{previous_days:g}, {_pfs_at(f, aim_days):.3f} at day {aim_days:g}, median {median} d")
    return rate, median


def _orr(frame: pd.DataFrame) -> tuple[float, int, int]:
    from immunocycle.trial._statistics import is_response

    ev = frame[frame["evaluable"]]
    k = int(is_response(ev["bor"]).sum())
    return (k / len(ev) if len(ev) else math.nan), k, len(ev)


def calibrate_cohort(name: str, *, n: int = 1000, n_search: int = 300, seed: int = 0,
                     days: float = 365.0, write: bool = True, max_evaluations: int = 14,
                     multiplier: float | None = None, fitted_file: Path | None = None,
                     log=print) -> dict[str, Any]:
    """Fit a cohort's ORR multiplier and AE offset to its published targets.

    Parameters
    ----------
    name : str
        Cohort with a ``calibration`` section.
    n : int
        Patients of the final check (the target must lie in its 95 % ORR interval).
    n_search : int
        Patients used while bracketing (cheaper, same seed).
    seed : int
    days : float
        Follow-up (days), as the trials that will use the cohort.
    write : bool
        Write the result into ``fitted.yaml``.
    max_evaluations : int
        Most trial simulations in the search.
    multiplier : float, optional
        Skip the ORR search and use this multiplier (refits the AE offset only; the search is
        deterministic, so the full command reproduces the multiplier it found).
    log : callable
        Progress messages (``print``; None for silence).

    Returns
    -------
    dict
        The ``fitted.yaml`` entry: ``parameter``, ``multiplier``, ``ae_offset``, ``fit`` (target
        and achieved ORR with interval, AE target and achieved, median PFS, n, seed, days) and
        ``command``.
    """
    from immunocycle.trial._statistics import orr_with_ci
    from immunocycle.trial._toxicity import (
        ae_flags,
        ae_probabilities,
        ae_uniforms,
        any_ae_probability,
        fit_ae_offset,
    )
    from immunocycle.trial._trial import make_task

    say = log or (lambda *_: None)
    cohort = load_cohort(name)
    target = cohort.calibration
    if target is None:
        raise InputError(f"cohort {name!r} has no calibration section (no published target)")
    # An ORR of 0 (KEYNOTE-016, 0/18) cannot be hit from inside: aim at 1 %, well within its CI.
    aim = max(target.orr, 0.01)
    cr_multiplier, start = 1.0, 1.0
    if target.cr is not None and target.cr_parameter is not None and multiplier is None:
        cr_multiplier, start = _fit_cr(cohort, target, aim, n_search=n_search, seed=seed,
                                       days=days, say=say)

    pfs = pfs_target_days(cohort)
    rates: dict[tuple[float, int, float], float] = {}
    cache: dict[tuple[float, int, float], pd.DataFrame] = {}

    def evaluate(m: float, size: int, offset: float) -> float:
        # With a PFS target, the new-lesion rate is refitted at every multiplier (new lesions
        # turn responses into PD, so the ORR is searched along the PFS fit).
        key = (round(m, 10), size, offset)
        if key not in cache:
            task = make_task(cohort, [target.regimen], seed=seed, days=days, multiplier=m,
                             ae_offset=offset, cr_multiplier=cr_multiplier)
            if pfs is None:
                cache[key] = _run(task, size)
            else:
                sims = _simulate(task, size)
                rates[key], _ = fit_new_lesion_rate(task, sims, pfs[1], say, pfs[2])
                cache[key] = _finish(task, sims, rates[key])
            orr, k, ev = _orr(cache[key])
            say(f"  {name}: multiplier {m:.4g}, n {size}, AE offset {offset:.4g}: ORR {orr:.3f} "
                f"({k}/{ev})")
        return _orr(cache[key])[0]

    def fit_orr(m0: float, offset: float, budget: int) -> float:
        """The multiplier whose ORR on ``n`` patients holds the target in its 95 % interval,
        at the AE offset ``offset``: bracket by 3x steps from ``m0``, bisect in log m on
        ``n_search`` patients, refine on ``n`` (at most ``budget`` searching runs)."""
        evaluations = 0

        def search(lo: float, hi: float):
            nonlocal evaluations
            # Bisection in log m keeps the bracket; ORR rises with m.
            m = math.sqrt(lo * hi)
            while evaluations < budget and hi / lo > 1.01:
                m = math.sqrt(lo * hi)
                f = evaluate(m, n_search, offset)
                evaluations += 1
                if abs(f - aim) <= SEARCH_TOLERANCE:
                    return m, lo, hi
                if f < aim:
                    lo = m
                else:
                    hi = m
            return m, lo, hi

        f0 = evaluate(m0, n_search, offset) if budget else aim
        evaluations += 1
        lo = hi = m0
        f_lo = f_hi = f0
        step = 3.0
        while f_lo > aim and evaluations < budget and lo > 1e-3:
            hi, f_hi = lo, f_lo
            lo = lo / step
            f_lo = evaluate(lo, n_search, offset)
            evaluations += 1
        while f_hi < aim and evaluations < budget and hi < 1e3:
            lo, f_lo = hi, f_hi
            hi = hi * step
            f_hi = evaluate(hi, n_search, offset)
            evaluations += 1
        if abs(f0 - aim) <= SEARCH_TOLERANCE:
            m = m0
        else:
            m, lo, hi = search(lo, hi)
        # Refine on the full n until the aim is inside the 95 % interval.
        for _ in range(4 if budget else 1):
            orr = evaluate(m, n, offset)
            _, k, ev = _orr(cache[(round(m, 10), n, offset)])
            _, ci_lo, ci_hi = orr_with_ci(k, ev)
            inside = ci_lo <= target.orr <= ci_hi if target.orr > 0 else orr <= 0.02
            if inside or hi / lo <= 1.01:
                break
            if orr < aim:
                lo = m
            else:
                hi = m
            m = math.sqrt(lo * hi)
        return m

    def fit_offset(frame: pd.DataFrame) -> float:
        evaluable = frame[frame["evaluable"]].reset_index(drop=True)
        return fit_ae_offset(evaluable[list(AE_DRIVERS)], target.ae_grade3plus)

    budget = 0 if multiplier is not None else max_evaluations
    m0 = start if multiplier is None else float(multiplier)
    # Grade >= 3 AEs stop treatment (progression.yaml), which lowers the ORR a trial reports, so
    # the ORR is fitted at the AE offset the trial will use: first at offset 0, then the offset
    # is fitted on that run's exposures and the ORR refitted at it (from the first multiplier),
    # and the offset refitted once more on the final run. The offset moves little with m
    # (exposures barely depend on the response), so two rounds suffice; both are recorded.
    ae_offset = offset_first = None
    run_offset = 0.0
    m = fit_orr(m0, run_offset, budget)
    if target.ae_grade3plus is not None:
        offset_first = fit_offset(cache[(round(m, 10), n, run_offset)])
        run_offset = float(f"{offset_first:.6g}")
        m = fit_orr(m, run_offset, min(budget, 6))
        ae_offset = fit_offset(cache[(round(m, 10), n, run_offset)])
    key = (round(m, 10), n, run_offset)
    frame = cache[key]
    orr, k, ev = _orr(frame)
    _, ci_lo, ci_hi = orr_with_ci(k, ev)
    # Calibration uncertainty of m (trial/_multiplier_sd.py): the local ORR slope maps the
    # target's and the fit's binomial errors onto log m. The new-lesion rate stays at the fitted
    # one, as in the trial replicates that draw m (refitting it flattens ORR(m) about 2-fold in
    # melanoma, which would overstate the spread those replicates give).
    spread = _spread(cohort, target, m, k, ev, seed=seed, days=days, n=n,
                     cr_multiplier=cr_multiplier, rate=rates.get(key), say=say,
                     ae_offset=run_offset)
    evaluable = frame[frame["evaluable"]].reset_index(drop=True)
    fit: dict[str, Any] = {
        "regimen": target.regimen, "target_orr": target.orr, "achieved_orr": round(orr, 4),
        "achieved_orr_ci": [round(ci_lo, 4), round(ci_hi, 4)], "responders": k,
        "n_sampled": n, "n_evaluable": ev, "seed": seed, "days": days,
        "target_source": target.source,
        "median_pfs_days": _median_pfs(evaluable),
        "median_os_days": _median_os(evaluable),
        "achieved_cr": round(_cr(frame)[0], 4),
        "multiplier_uncertainty": {key: v for key, v in spread.items() if key != "log_sd"},
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if ae_offset is not None:
        drivers = evaluable[list(AE_DRIVERS)]
        probs = ae_probabilities(drivers, ae_offset)
        flags = ae_flags(probs, ae_uniforms(evaluable["patient_id"].to_numpy(), seed))
        fit["target_ae_grade3plus"] = target.ae_grade3plus
        fit["achieved_ae_expected"] = round(float(np.mean(any_ae_probability(drivers, ae_offset))), 4)
        fit["achieved_ae_realized"] = round(float(flags.any(axis=1).mean()), 4)
        fit["ae_offset_rounds"] = [round(offset_first, 4), round(ae_offset, 4)]
        fit["orr_fitted_at_ae_offset"] = run_offset
    if target.cr is not None:
        _, k_cr, _ = _cr(frame)
        _, cr_lo, cr_hi = orr_with_ci(k_cr, ev)
        fit["target_cr"] = target.cr
        fit["achieved_cr_ci"] = [round(cr_lo, 4), round(cr_hi, 4)]
        fit["complete_responders"] = k_cr
    new_rate = rates.get(key)
    if pfs is not None:
        fit["target_median_pfs_days"] = round(pfs[0], 1)
        fit["aimed_scan_day"] = pfs[1]
        fit["achieved_pfs_at_aimed_scan"] = round(_pfs_at(frame, pfs[1]), 4)
        fit["pfs_source"] = target.pfs_source
        fit["new_lesion_rate_fit"] = (
            "one hazard scale per tumor type (1/day at 1e9 viable cells), bisection in its log "
            "on the same patients (common random numbers) until the Kaplan-Meier PFS crosses "
            "0.5 midway between the scan day nearest the published median and the scan before "
            "it (first scan: PFS 0.45 there), so the median is that scan day; refitted at "
            "each ORR multiplier")
    entry = {"parameter": target.parameter, "multiplier": float(f"{m:.6g}"),
             "multiplier_log_sd": spread["log_sd"],
             **({"new_lesion_rate": float(f"{new_rate:.6g}")} if new_rate is not None else {}),
             "ae_offset": None if ae_offset is None else float(f"{ae_offset:.6g}"), "fit": fit,
             **({"cr_parameter": target.cr_parameter, "cr_multiplier": float(f"{cr_multiplier:.6g}")}
                if target.cr_parameter is not None else {}),
             "command": f"immunocycle cohort calibrate {name} --n {n} --seed {seed} --days {days:g}"}
    say(f"{name}: multiplier {m:.4g} ORR {orr:.3f} [{ci_lo:.3f}, {ci_hi:.3f}] (target "
        f"{target.orr:.3f}); AE offset {ae_offset}")
    if write:
        write_fitted(name, entry, fitted_file)
    return entry


def _spread(cohort, target, m: float, responders: int, evaluable: int, *, seed: int,
            days: float, n: int, cr_multiplier: float, rate: float | None, say,
            ae_offset: float = 0.0) -> dict:
    """:func:`immunocycle.trial._multiplier_sd.fit_spread` of a fit: the ORR on its ``n``
    patients at other multipliers, the new-lesion rate fixed at ``rate`` (the fitted one) and
    the AE offset at the one the ORR was fitted at."""
    from immunocycle.trial._trial import make_task

    def orr_at(mm: float) -> float:
        task = make_task(cohort, [target.regimen], seed=seed, days=days, multiplier=mm,
                         ae_offset=ae_offset, cr_multiplier=cr_multiplier, new_lesion_rate=rate)
        value, k_mm, ev_mm = _orr(_run(task, n))
        say(f"  {cohort.name}: multiplier {mm:.4g} (spread of m), n {n}: ORR {value:.3f} "
            f"({k_mm}/{ev_mm})")
        return value

    return fit_spread(m, target.orr, target.n_trial, responders, evaluable, orr_at)


def calibrate_spread(name: str, *, write: bool = True, fitted_file: Path | None = None,
                     log=print) -> dict[str, Any]:
    """Recompute only the multiplier's calibration spread (``multiplier_log_sd`` and
    ``fit.multiplier_uncertainty``) of a calibrated cohort at the values ``fitted.yaml`` holds
    (multiplier, new-lesion rate, seed, days, n, responders), without refitting them: what
    :func:`calibrate_cohort` would record for the same fit. Returns the updated entry.

    Raises
    ------
    InputError
        If the cohort has no calibration target or no calibrated entry in ``fitted.yaml``.
    """
    from immunocycle.population import fitted_values

    say = log or (lambda *_: None)
    cohort = load_cohort(name)
    target = cohort.calibration
    path = fitted_file or fitted_path()
    fitted = fitted_values(name, path)
    fit = fitted.fit or {}
    needed = ("n_sampled", "seed", "days", "responders", "n_evaluable")
    if target is None:
        raise InputError(f"cohort {name!r} has no calibration section (no published target): "
                         "its multiplier is borrowed, and so is its spread (--all sets it)")
    if any(k not in fit for k in needed):
        raise InputError(f"cohort {name!r}: no calibrated entry in {path} to take the spread of "
                         f"(run immunocycle cohort calibrate {name} first)")
    entry = fitted.model_dump(exclude_unset=True)
    spread = _spread(cohort, target, fitted.multiplier, int(fit["responders"]),
                     int(fit["n_evaluable"]), seed=int(fit["seed"]), days=float(fit["days"]),
                     n=int(fit["n_sampled"]), cr_multiplier=fitted.cr_multiplier,
                     rate=fitted.new_lesion_rate, say=say,
                     ae_offset=float(fit.get("orr_fitted_at_ae_offset", 0.0)))
    entry["multiplier_log_sd"] = spread.pop("log_sd")
    entry["fit"] = {**fit, "multiplier_uncertainty": spread}
    say(f"{name}: multiplier {fitted.multiplier:.4g}, log-sd {entry['multiplier_log_sd']} "
        f"(95% {spread['interval95']})")
    if write:
        write_fitted(name, entry, path)
    return entry


def _cr(frame: pd.DataFrame) -> tuple[float, int, int]:
    """Complete-response rate (RECIST 1.1 BOR CR) of the evaluable patients, with its counts."""
    ev = frame[frame["evaluable"]]
    k = int((ev["bor"] == "CR").sum())
    return (k / len(ev) if len(ev) else math.nan), k, len(ev)


def _fit_cr(cohort, target, aim: float, *, n_search: int, seed: int, days: float, say,
            low: float = 0.1, high: float = 3.0, max_steps: int = 7,
            tolerance: float = 0.01) -> tuple[float, float]:
    """Multiplier on the median of ``target.cr_parameter`` whose CR rate matches ``target.cr``
    once the ORR multiplier is refitted at that value; returns ``(cr_multiplier, multiplier)``.

    The CR rate falls as the multiplier rises (for ``k_TE_death``: effectors that die sooner
    stop killing sooner, so responses relapse before every lesion is gone)."""
    from immunocycle.population import fitted_values
    from immunocycle.trial._trial import make_task

    def orr_cr(c_m: float, m: float) -> tuple[float, float]:
        frame = _run(make_task(cohort, [target.regimen], seed=seed, days=days, multiplier=m,
                               ae_offset=0.0, cr_multiplier=c_m), n_search)
        return _orr(frame)[0], _cr(frame)[0]

    def fit_m(c_m: float, m: float) -> tuple[float, float]:
        # ORR rises with m: double or halve until bracketed, then bisect in log m.
        orr, cr = orr_cr(c_m, m)
        lo = hi = None
        for _ in range(10):
            if abs(orr - aim) <= SEARCH_TOLERANCE or (lo and hi and hi / lo <= 1.02):
                break
            lo, hi = (m, hi) if orr < aim else (lo, m)
            m = m * 2.0 if hi is None else m / 2.0 if lo is None else math.sqrt(lo * hi)
            orr, cr = orr_cr(c_m, m)
        say(f"  {cohort.name}: {target.cr_parameter} x {c_m:.4g}, multiplier {m:.4g}: "
            f"ORR {orr:.3f}, CR {cr:.3f}")
        return m, cr

    previous = fitted_values(cohort.name)
    c_m = previous.cr_multiplier if previous.cr_parameter == target.cr_parameter else 1.0
    m, cr = fit_m(c_m, previous.multiplier)
    lo, hi = low, high
    for _ in range(max_steps):
        if abs(cr - target.cr) <= tolerance:
            break
        lo, hi = (lo, c_m) if cr < target.cr else (c_m, hi)
        c_m = math.sqrt(lo * hi)
        m, cr = fit_m(c_m, m)
    return c_m, m


def _median_pfs(evaluable: pd.DataFrame) -> float | None:
    from immunocycle.trial._statistics import km_median

    if evaluable.empty:
        return None
    return km_median(evaluable["pfs_days"], evaluable["pfs_event"])[0]


def _median_os(evaluable: pd.DataFrame) -> float | None:
    from immunocycle.trial._statistics import km_median

    if "os_days" not in evaluable or evaluable.empty:
        return None
    return km_median(evaluable["os_days"], evaluable["os_event"])[0]


def write_fitted(name: str, entry: dict[str, Any], path: Path | None = None) -> Path:
    """Insert or replace one cohort's entry in ``fitted.yaml`` (other entries kept)."""
    path = path or fitted_path()
    data = (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
    data[name] = entry
    header = ("# Cohort-level values fitted by `immunocycle cohort calibrate` to calibration_targets.md\n"
              "# (ORR: multiplier on the median of `parameter`; AE: offset of the AE log-odds;\n"
              "# median PFS: `new_lesion_rate`, the new-lesion hazard of the tumor type in 1/day at\n"
              "# 1e9 viable cells, data/trial/progression.yaml).\n"
              "# Regenerate with the `command` of each entry; do not edit by hand.\n")
    path.write_text(header + yaml.safe_dump(data, sort_keys=True, width=100))
    return path


def _calibrate_one(args: tuple) -> tuple[str, dict]:
    name, kwargs = args
    return name, calibrate_cohort(name, write=False, log=None, **kwargs)


def calibrate_all(*, n: int = 1000, n_search: int = 300, seed: int = 0, days: float = 365.0,
                  write: bool = True, log=print, jobs: int = 1) -> dict[str, dict]:
    """Calibrate every cohort with a target, then :func:`fill_uncalibrated`.

    ``jobs`` > 1 calibrates that many cohorts at once in worker processes (each fit is a
    deterministic function of its cohort and seed, so the result is the same); entries are
    written by this process, one at a time.
    """
    names = [name for name in available_cohorts() if load_cohort(name).calibration is not None]
    kwargs = {"n": n, "n_search": n_search, "seed": seed, "days": days}
    results: dict[str, dict] = {}
    if jobs > 1 and len(names) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=int(jobs), mp_context=context) as pool:
            for name, entry in pool.map(_calibrate_one, [(m, kwargs) for m in names]):
                results[name] = entry
                if log:
                    fit = entry["fit"]
                    log(f"{name}: multiplier {entry['multiplier']:.4g} ORR "
                        f"{fit['achieved_orr']:.3f} (target {fit['target_orr']:.3f}); "
                        f"new-lesion rate {entry.get('new_lesion_rate')}; median PFS "
                        f"{fit.get('median_pfs_days')} d (target "
                        f"{fit.get('target_median_pfs_days')}); AE offset {entry['ae_offset']}")
                if write:
                    write_fitted(name, entry)
    else:
        for name in names:
            results[name] = calibrate_cohort(name, write=write, log=log, **kwargs)
    return fill_uncalibrated(results, n=n, seed=seed, write=write)


def fill_uncalibrated(results: dict[str, dict] | None = None, *, n: int = 1000, seed: int = 0,
                      write: bool = True) -> dict[str, dict]:
    """Values for tumor-type cohorts without a published target (none is invented).

    A cohort without an ORR target gets the geometric mean of the calibrated multipliers on the
    same parameter (of the
    cohorts without a CR fit, whose other parameters are the preset's, where there are any), and
    one without an AE target the mean calibrated AE offset; the entry says so. Means are over
    tumor types: cohorts of one tumor type (squamous and non-squamous NSCLC beside the pooled
    one) are averaged first, so a type with several cohorts weighs as one; a cohort whose
    target has no responders (an upper bound only) is left out of the borrowed multiplier. ``results``
    defaults to the calibrated entries in ``fitted.yaml``.
    """
    if results is None:
        data = yaml.safe_load(fitted_path().read_text()) if fitted_path().exists() else {}
        results = {k: v for k, v in (data or {}).items()
                   if load_cohort(k).calibration is not None}
    results = dict(results)
    offsets = _by_tumor_type({k: r["ae_offset"] for k, r in results.items()
                              if load_cohort(k).calibration
                              and load_cohort(k).calibration.ae_grade3plus}, log=False)
    # Cohorts whose CR fit changed another parameter (cr_multiplier) have multipliers for a
    # different model; the uncalibrated ones keep the preset, so they average the others. A
    # target of no responders (MSS colorectal, 0/18) bounds the multiplier only from above:
    # the search stops at the first value inside the interval, which says nothing about a
    # typical tumor, so it is left out too.
    borrowed = ({k: r for k, r in results.items() if "cr_multiplier" not in r
                 and load_cohort(k).calibration.orr > 0}
                or dict(results))
    multipliers = _by_tumor_type({k: r["multiplier"] for k, r in borrowed.items()}, log=True)
    sds = _by_tumor_type({k: r["multiplier_log_sd"] for k, r in borrowed.items()
                          if r.get("multiplier_log_sd") is not None}, log=False)
    mult_sd = borrowed_log_sd(multipliers, sds) if multipliers else None
    rates = _by_tumor_type({k: r["new_lesion_rate"] for k, r in results.items()
                            if r.get("new_lesion_rate")}, log=True)
    mean_rate = float(f"{np.exp(np.mean(np.log(rates))):.6g}") if rates else None
    mean_offset = float(f"{np.mean(offsets):.6g}") if offsets else 0.0
    mean_mult = float(f"{np.exp(np.mean(np.log(multipliers))):.6g}") if multipliers else 1.0
    for name in available_cohorts():
        cohort = load_cohort(name)
        if cohort.tumor_type == "archetype":
            continue  # the archetypes are their presets, whose k_rec is the calibrated mean
        entry = results.get(name)
        if entry is None:
            # Cohorts without a target borrow a multiplier of the same parameter as the others
            # (k_rec, issue 13), so it means the same thing.
            entry = {"parameter": _calibrated_parameter(results), "multiplier": mean_mult, "ae_offset": mean_offset,
                     "multiplier_log_sd": mult_sd,
                     "fit": {"note": "no ORR or AE target in calibration_targets.md: not "
                                     "calibrated; multiplier is the geometric mean and AE offset "
                                     "the mean of the calibrated tumor types; multiplier_log_sd "
                                     "combines the spread of their log multipliers with their "
                                     "mean calibration variance (trial/_multiplier_sd.py)"},
                     "command": f"immunocycle cohort calibrate --all --n {n} --seed {seed}"}
        elif cohort.calibration.ae_grade3plus is None:
            entry["ae_offset"] = mean_offset
            entry["fit"]["ae_note"] = ("no AE rate in calibration_targets.md: mean AE offset of "
                                       "the calibrated tumor types")
        if cohort.calibration is None and cohort.progression is not None:
            entry["new_lesion_rate"], entry["fit"]["progression"] = fit_progression(
                cohort, multiplier=entry["multiplier"], ae_offset=entry["ae_offset"], n=n,
                seed=seed)
            entry["fit"].pop("new_lesion_note", None)
        elif mean_rate is not None and not (cohort.calibration
                                            and cohort.calibration.median_pfs_months):
            entry["new_lesion_rate"] = mean_rate
            entry["fit"]["new_lesion_note"] = (
                "no median PFS in calibration_targets.md: new-lesion rate is the geometric mean "
                "of the tumor types fitted to their median PFS")
        results[name] = entry
        if write:
            write_fitted(name, entry)
    return results


def fit_progression(cohort, *, multiplier: float, ae_offset: float, n: int = 1000,
                    seed: int = 0, days: float = 365.0, log=None) -> tuple[float, dict]:
    """The new-lesion rate (1/day) of a cohort without a PD-1 PFS target, fitted to the median
    time to progression of its ``progression`` regimen (:class:`~immunocycle.population.
    ProgressionTarget`) at the cohort's (borrowed) ``multiplier`` and ``ae_offset``, as
    :func:`fit_new_lesion_rate` fits the calibrated cohorts' rates. Returns ``(rate, fit)``,
    ``fit`` the target, the scan day aimed at, the achieved median and ORR (JSON-ready)."""
    from immunocycle.trial._trial import make_task

    target = cohort.progression
    pfs = pfs_target_days(cohort, target.median_pfs_months)
    task = make_task(cohort, [target.regimen], seed=seed, days=days, multiplier=multiplier,
                     ae_offset=ae_offset)
    sims = _simulate(task, n)
    rate, median = fit_new_lesion_rate(task, sims, pfs[1], log, pfs[2])
    rate = float(f"{rate:.6g}")
    orr, k, evaluable = _orr(_finish(task, sims, rate))
    return rate, {"regimen": target.regimen, "target_median_pfs_days": round(pfs[0], 1),
                  "aimed_scan_day": pfs[1], "median_pfs_days": median,
                  "orr_at_fit": round(orr, 4), "evaluable": evaluable, "n": n, "seed": seed,
                  "days": days, "source": target.source,
                  "note": "new-lesion rate fitted to this regimen's median time to progression "
                          "(the tumor type has no PD-1 PFS in calibration_targets.md)"}


def _calibrated_parameter(results: dict[str, dict]) -> str:
    """The one parameter the calibrated cohorts' multipliers scale (they must agree)."""
    names = {r.get("parameter", "T_N0") for r in results.values()}
    if len(names) != 1:
        raise ValueError(f"calibrated cohorts scale different parameters {sorted(names)}: a "
                         "borrowed geometric-mean multiplier would mix them")
    return names.pop()


def _by_tumor_type(values: dict[str, float], *, log: bool) -> list[float]:
    """One value per tumor type: the (geometric if ``log``) mean of its cohorts' values."""
    groups: dict[str, list[float]] = {}
    for name, value in values.items():
        groups.setdefault(load_cohort(name).tumor_type, []).append(float(value))
    if log:
        return [float(np.exp(np.mean(np.log(v)))) for v in groups.values()]
    return [float(np.mean(v)) for v in groups.values()]


def calibrate_spread_all(*, write: bool = True, log=print) -> dict[str, dict]:
    """:func:`calibrate_spread` of every calibrated cohort, then the borrowed spread of the
    uncalibrated ones (:func:`fill_uncalibrated`, which recomputes their other borrowed values
    from the same entries, so they stay as they were)."""
    names = [name for name in available_cohorts() if load_cohort(name).calibration is not None]
    results = {name: calibrate_spread(name, write=write, log=log) for name in names}
    return fill_uncalibrated(results if not write else None, write=write)


__all__ = ["calibrate_all", "calibrate_cohort", "calibrate_spread", "calibrate_spread_all",
           "fill_uncalibrated", "write_fitted"]
