"""Virtual mouse studies: groups of tumor-bearing mice of one syngeneic model, one per arm.

As a preclinical efficacy study is run: each group is its own mice (seeded per-mouse parameters
of :func:`immunocycle.population.sample_mice`), enrolled at a start volume and treated from day
0; calipers measure them on fixed days with log-normal error (``data/mice/study.yaml``, Euhus
1986); a mouse leaves the study when a measured volume reaches the endpoint volume. Read-outs
per group: volume curves (each mouse, mean and SEM), complete-regression fraction, tumor growth
inhibition at the last day every mouse of every group was still measured, and survival to the
endpoint volume (Kaplan-Meier median, log-rank p versus the first arm).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from immunocycle._errors import InputError
from immunocycle.trial._statistics import km_median

#: Name of the untreated arm (no therapy, no vehicle).
UNTREATED = "untreated"


@dataclass(frozen=True)
class StudyResult:
    """A virtual mouse study.

    Attributes
    ----------
    model : str
        The syngeneic model (``emt6``).
    arms : list of str
        The arms as given, the first one the reference.
    measurements : DataFrame
        One row per arm, mouse and measurement day while on study: ``volume_mm3`` (caliper),
        ``true_volume_mm3`` (model).
    mice : DataFrame
        One row per arm and mouse: parameters, ``phenotype_at_start``, ``growth_rate_per_day``
        (log-linear fit of its measured volumes over the first ``growth_fit_days`` of
        ``data/mice/study.yaml``), ``endpoint_day`` (first day at or above the
        endpoint volume, NaN if never), ``days_on_study``, ``complete_regression``,
        ``solver_status``.
    summary : dict
        Per arm ``cr_fraction``, ``tgi_pct``, ``median_survival_days``, ``p_logrank`` and more;
        see :func:`run_study`.
    """

    model: str
    arms: list[str]
    measurements: pd.DataFrame
    mice: pd.DataFrame
    summary: dict = field(default_factory=dict)


def resolve_mouse_arm(text: str) -> list:
    """The mouse therapies of an arm ``"anti_pdl1_mouse+anti_tgfb_mouse"``.

    The catalog's one lookup (:func:`immunocycle.catalog.resolve_arm`) for mice: cycle
    antibodies, catalog therapies (their exposure from the mouse PBPK) and regimens, joined by
    ``+``, each with an optional ``@dose:schedule``; ``untreated`` is no therapy.

    Raises
    ------
    InputError
        For an unknown name (with close matches), a human-only antibody, a bad dose or schedule.
    """
    from immunocycle.catalog import resolve_arm

    return resolve_arm(str(text).strip(), "mouse", where="--arm")


def measurement_days(days: float, weekdays: Sequence[int]) -> np.ndarray:
    """Caliper days ``0 .. days``: each week's ``weekdays`` (``[0, 3]``: 0, 3, 7, 10, ...)."""
    grid = np.arange(0, int(np.floor(days)) + 1)
    return grid[np.isin(grid % 7, list(weekdays))].astype(float)


def caliper(true_volume: np.ndarray, cv: float, rng: np.random.Generator) -> np.ndarray:
    """Measured volumes: ``true * exp(s z)``, ``s = sqrt(ln(1 + cv^2))`` (median = true)."""
    s = np.sqrt(np.log1p(cv ** 2))
    return true_volume * np.exp(s * rng.standard_normal(np.shape(true_volume)))


def tgi_pct(treated: np.ndarray, control: np.ndarray) -> float:
    """Tumor growth inhibition (%): ``100 (1 - dT / dC)``, ``dT``/``dC`` the change of the group
    mean volume from day 0 (arrays ``(mice, 2)``: day 0 and the day compared)."""
    d_t = np.nanmean(treated[:, 1]) - np.nanmean(treated[:, 0])
    d_c = np.nanmean(control[:, 1]) - np.nanmean(control[:, 0])
    return float(100.0 * (1.0 - d_t / d_c)) if d_c > 0 else float("nan")


def run_study(model: str, arms: Sequence[str], *, mice: int = 10,
              start_volume: float | None = None, days: float = 28.0,
              endpoint_volume: float = 1500.0, seed: int = 0, out: str | Path | None = None,
              figures: Callable[[StudyResult, Path], Mapping[str, Path]] | None = None
              ) -> StudyResult:
    """Run a virtual mouse study: one group of ``mice`` per arm, treated from day 0.

    Parameters
    ----------
    model : str
        Syngeneic model (``mc38``, ``ct26``, ``b16f10``, ``4t1``, ``emt6``) or a model file.
    arms : sequence of str
        Arms: mouse therapies joined by ``+`` (``anti_pdl1_mouse+anti_tgfb_mouse``), any catalog
        therapy, or ``untreated``; the first arm is the reference (TGI, log-rank).
    mice : int
        Mice per group (>= 1).
    start_volume : float, optional
        Tumor volume at enrolment (mm3); default the model's usual start volume.
    days : float
        Study length (days).
    endpoint_volume : float
        Humane endpoint (mm3): a mouse leaves the study at its first measurement at or above it.
    seed : int
        Seeds the mice (Sobol) and the caliper noise: the same seed gives the same study.
    out : str or Path, optional
        Folder for ``summary.json``, ``measurements.parquet``, ``mice.parquet``,
        ``inputs.json`` and figures.
    figures : callable, optional
        Figure writer ``figures(result, out) -> {name: path}`` (for example
        :func:`immunocycle.report.study_figures`); trial knows nothing of figures.

    Returns
    -------
    StudyResult

    Raises
    ------
    InputError
        Unknown model or therapy, ``mice < 1``, a non-positive start volume, an endpoint not
        above the start volume, a study shorter than a day, an arm given twice.
    """
    from immunocycle._inputs import check_number, check_time_grid
    from immunocycle.population import load_mouse_model, study_settings

    mouse_model = load_mouse_model(model)
    conf = study_settings()
    mice = int(mice)
    top = int(conf["limits"]["max_mice_per_group"])
    if not 1 <= mice <= top:
        raise InputError("mice", f"must be between 1 and {top} per group (got {mice})")
    start = float(mouse_model.start_volume.value if start_volume is None else start_volume)
    start = check_number(start, "start_volume", low=0.0, strict_low=True)
    endpoint = check_number(float(endpoint_volume), "endpoint_volume", low=0.0, strict_low=True)
    if not endpoint > start:
        raise InputError("endpoint_volume", f"{endpoint:g} mm3 must exceed the start volume "
                         f"({start:g} mm3)")
    days = check_time_grid(days)
    if days < 1:
        raise InputError("days", f"a study lasts at least 1 day (got {days:g})")
    arms = [str(a).strip() for a in arms]
    if not arms:
        raise InputError("--arm", "give at least one arm")
    if len(set(arms)) < len(arms):
        raise InputError("--arm", "an arm is given twice", "give each arm once")
    therapies = [resolve_mouse_arm(a) for a in arms]

    grid = measurement_days(days, conf["measurement"]["weekdays"])
    per_mouse, per_day = [], []
    for k, (arm, arm_therapies) in enumerate(zip(arms, therapies, strict=True)):
        mice_k, meas_k = _run_group(mouse_model, k, arm, arm_therapies, mice, start, days, grid,
                                    endpoint, seed, conf)
        per_mouse.append(mice_k)
        per_day.append(meas_k)
    mice_df = pd.concat(per_mouse, ignore_index=True)
    meas_df = pd.concat(per_day, ignore_index=True)
    result = StudyResult(mouse_model.name, arms, meas_df, mice_df)
    summary = summarize_study(result, endpoint_volume=endpoint, start_volume=start, days=days,
                              mice=mice, seed=seed)
    result = StudyResult(mouse_model.name, arms, meas_df, mice_df, summary)
    if out is not None:
        _write(result, Path(out), figures)
    return result


def _run_group(model, k: int, arm: str, therapies: list, n: int, start: float, days: float,
               grid: np.ndarray, endpoint: float, seed: int, conf: Mapping):
    """Group ``k``: its own mice (ids ``k*n ..``), treated and measured."""
    from immunocycle.cycle import phenotype, treat
    from immunocycle.population import sample_mice

    params = sample_mice(model, n, seed, start=k * n)
    diameter = (6.0 * start / np.pi) ** (1.0 / 3.0)
    res = treat(model.preset, [therapies], days=days, step=1.0, parameters=params,
                diagnosis_diameter_mm=diameter).arms[0]
    times = res.times
    at = np.searchsorted(times, grid)
    true = np.asarray(res["tumor_volume"], float)[:, at]
    # One stream per mouse: its day-d error does not depend on the study length or group size.
    cv = float(conf["caliper"]["cv"])
    measured = np.vstack([caliper(true[m], cv, np.random.default_rng([seed, k, m]))
                          for m in range(n)])
    # A mouse leaves the study at its first measurement at or above the endpoint volume.
    over = np.nan_to_num(measured, nan=0.0) >= endpoint
    first = np.where(over.any(axis=1), over.argmax(axis=1), -1)
    on = np.ones_like(measured, dtype=bool)
    for m, j in enumerate(first):
        if j >= 0:
            on[m, j + 1:] = False
    last = np.where(first >= 0, first, len(grid) - 1)
    last_volume = measured[np.arange(n), last]
    pheno = phenotype(np.asarray(res["density_parenchyma"])[:, :1],
                      np.asarray(res["density_margin"])[:, :1]).ravel()
    mice = params.reset_index()
    mice.insert(0, "arm", arm)
    mice["mouse"] = np.arange(n)
    mice["phenotype_at_start"] = pheno
    window = on & (grid <= float(conf["measurement"]["growth_fit_days"]))
    mice["growth_rate_per_day"] = [_log_slope(grid[window[m]], measured[m, window[m]])
                                   for m in range(n)]
    mice["endpoint_day"] = np.where(first >= 0, grid[np.maximum(first, 0)], np.nan)
    mice["days_on_study"] = grid[last]
    mice["last_volume_mm3"] = last_volume
    mice["complete_regression"] = (first < 0) & (last_volume < conf["complete_regression"]
                                                 ["below_mm3"])
    mice["solver_status"] = res.status_text()
    rows = pd.DataFrame({"arm": arm, "mouse": np.repeat(np.arange(n), len(grid)),
                         "day": np.tile(grid, n), "volume_mm3": measured.ravel(),
                         "true_volume_mm3": true.ravel(), "on_study": on.ravel()})
    return mice, rows[rows["on_study"]].drop(columns="on_study").reset_index(drop=True)


def _log_slope(t: np.ndarray, v: np.ndarray) -> float:
    """Log-linear growth rate (1/day) of measured volumes (NaN with fewer than 2 points)."""
    ok = np.isfinite(v) & (v > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(t[ok], np.log(v[ok]), 1)[0])


def summarize_study(result: StudyResult, *, endpoint_volume: float, start_volume: float,
                    days: float, mice: int, seed: int) -> dict:
    """The study's numbers per arm (see :func:`run_study`); JSON-ready."""
    from lifelines.statistics import logrank_test

    meas, mdf = result.measurements, result.mice
    ref = result.arms[0]
    # Last common day: every mouse of every group still measured on it.
    counts = meas.groupby("day")["mouse"].size()
    common = counts[counts == mice * len(result.arms)].index
    last_common = float(common.max())
    wide = meas.pivot_table(index=["arm", "mouse"], columns="day", values="volume_mm3")

    def pair(arm: str) -> np.ndarray:
        return wide.loc[arm][[0.0, last_common]].to_numpy()

    def survival(arm: str) -> tuple[np.ndarray, np.ndarray]:
        g = mdf[mdf["arm"] == arm]
        event = g["endpoint_day"].notna().to_numpy()
        return np.where(event, g["endpoint_day"], g["days_on_study"]).astype(float), event

    arms = {}
    for arm in result.arms:
        g = mdf[mdf["arm"] == arm]
        t, e = survival(arm)
        median, ci = km_median(t, e)
        p = None
        if arm != ref:
            t0, e0 = survival(ref)
            p = float(logrank_test(t0, t, event_observed_A=e0, event_observed_B=e).p_value) \
                if (e0.any() or e.any()) else 1.0
        curve = meas[meas["arm"] == arm].groupby("day")["volume_mm3"]
        rate = float(np.nanmedian(g["growth_rate_per_day"]))
        arms[arm] = {
            "mice": int(len(g)),
            "cr_fraction": float(g["complete_regression"].mean()),
            "complete_regressions": int(g["complete_regression"].sum()),
            "tgi_pct": tgi_pct(pair(arm), pair(ref)) if last_common > 0 else None,
            "median_survival_days": median,
            "median_survival_ci_days": ci,
            "p_logrank": p,
            "reached_endpoint": int(g["endpoint_day"].notna().sum()),
            "median_growth_rate_per_day": rate,
            "doubling_time_days": float(np.log(2) / rate) if rate > 0 else None,
            "median_volume_mm3": {f"{d:g}": float(v) for d, v in curve.median().items()},
            "mean_volume_mm3": {f"{d:g}": float(v) for d, v in curve.mean().items()},
            "sem_volume_mm3": {f"{d:g}": float(v) for d, v in curve.sem().items()},
            "phenotype_at_start": {str(k): float(v) for k, v in
                                   g["phenotype_at_start"].value_counts(normalize=True).items()},
            "solver_failures": int((g["solver_status"] != "ok").sum()),
        }
    from immunocycle.population import load_mouse_model

    model = load_mouse_model(result.model)
    return {
        "model": result.model, "strain": model.strain, "preset": model.preset,
        "arms": list(result.arms), "reference_arm": ref, "mice_per_arm": mice,
        "start_volume_mm3": start_volume, "endpoint_volume_mm3": endpoint_volume,
        "days": days, "seed": seed, "last_common_day": last_common,
        "cited_doubling_time_days": model.doubling_time.value,
        "expected_phenotype": model.phenotype.label,
        "tgi_definition": "100 (1 - dT/dC), group-mean volume change from day 0 to the last "
                          "common day, versus the first arm",
        "per_arm": arms,
    }


def _write(result: StudyResult, out: Path, figures) -> None:
    from immunocycle._provenance import provenance, write_json

    out.mkdir(parents=True, exist_ok=True)
    result.measurements.to_parquet(out / "measurements.parquet", index=False)
    result.mice.to_parquet(out / "mice.parquet", index=False)
    summary = result.summary
    if figures is not None:
        summary["figures"] = {k: str(v) for k, v in figures(result, out).items()}
    summary["files"] = {"measurements": str(out / "measurements.parquet"),
                        "mice": str(out / "mice.parquet"), "inputs": str(out / "inputs.json")}
    write_json(out / "summary.json", summary)
    write_json(out / "inputs.json", provenance(
        command="study", model=result.model, arms=list(result.arms),
        mice=summary["mice_per_arm"], start_volume_mm3=summary["start_volume_mm3"],
        days=summary["days"], endpoint_volume_mm3=summary["endpoint_volume_mm3"],
        seed=summary["seed"]))


__all__ = ["UNTREATED", "StudyResult", "caliper", "measurement_days", "resolve_mouse_arm",
           "run_study", "summarize_study", "tgi_pct"]
