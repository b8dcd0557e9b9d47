"""Per-arm trial statistics: response rates, progression-free survival, adverse events.

All interval and survival statistics come from :mod:`scipy.stats` (binomial confidence intervals)
and :mod:`lifelines` (Kaplan-Meier medians, Cox proportional hazards, log-rank test); nothing here
re-implements them.

The patients table has one row per patient with columns ``arm``, ``bor`` (best overall response,
RECIST 1.1 ``CR/PR/SD/PD/NE`` or iRECIST ``iCR/iPR/iSD/iUPD/iCPD/NE``), ``pfs_days`` (days) and
``pfs_event`` (True for progression, False for censoring), and optionally boolean ``ae_<type>``
columns (True when the patient had a grade >= 3 adverse event of that type) and ``phenotype``
(``inflamed``, ``excluded`` or ``desert``; Chen & Mellman, Nature 2017). :func:`score_patients` in
:mod:`immunocycle.trial._recist` produces the response and PFS columns.

Response criteria: Eisenhauer et al., RECIST 1.1, Eur J Cancer 2009, doi:10.1016/j.ejca.2008.10.026;
Seymour et al., iRECIST, Lancet Oncol 2017, doi:10.1016/S1470-2045(17)30074-8.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from immunocycle._errors import InputError

# lifelines and scipy.stats are imported inside the functions: importing lifelines takes seconds,
# and ``import immunocycle.trial`` should stay cheap.

__all__ = ["PHENOTYPES", "is_response", "km_median", "normalize_bor", "orr_with_ci",
           "summarize_arms", "summarize_response", "summarize_survival"]

#: Immune phenotypes reported by :func:`summarize_arms`, always present as keys.
PHENOTYPES: tuple[str, ...] = ("inflamed", "excluded", "desert")

_BOR_MAP = {
    "CR": "cr",
    "PR": "pr",
    "SD": "sd",
    "PD": "pd",
    "NE": "ne",
    "ICR": "cr",
    "IPR": "pr",
    "ISD": "sd",
    "IUPD": "pd",
    "ICPD": "pd",
}


def orr_with_ci(
    n_responders: int, n: int, method: str = "wilson", confidence: float = 0.95
) -> tuple[float, float, float]:
    """Objective response rate with a binomial confidence interval.

    Parameters
    ----------
    n_responders : int
        Number of patients with best overall response CR or PR (0 <= n_responders <= n).
    n : int
        Number of evaluable patients (>= 1).
    method : {"wilson", "exact"}, default "wilson"
        Wilson score interval or Clopper-Pearson exact interval, both from
        :meth:`scipy.stats.binomtest(...).proportion_ci <scipy.stats._result_classes.BinomTestResult.proportion_ci>`.
        ``"wilsoncc"`` (with continuity correction) is passed through as well.
    confidence : float, default 0.95
        Confidence level of the two-sided interval.

    Returns
    -------
    (orr, lo, hi) : tuple of float
        Point estimate ``n_responders / n`` and interval bounds, all fractions in [0, 1].

    Raises
    ------
    ValueError
        For non-integer counts, ``n < 1``, ``n_responders`` outside [0, n], an unknown ``method`` or a
        confidence outside (0, 1).

    Examples
    --------
    CheckMate 066 nivolumab arm (84/210, published 40.0 %, 95 % CI 33.3-47.0):

    >>> orr, lo, hi = orr_with_ci(84, 210, method="exact")
    >>> round(orr, 3), round(lo, 3), round(hi, 3)
    (0.4, 0.333, 0.47)
    """
    k = _as_count(n_responders, "n_responders")
    nn = _as_count(n, "n")
    if nn < 1:
        raise InputError(f"n must be >= 1, got {n!r}")
    if not 0 <= k <= nn:
        raise InputError(f"n_responders must lie in [0, n={nn}], got {n_responders!r}")
    if method not in ("wilson", "exact", "wilsoncc"):
        raise InputError(f"method must be 'wilson' or 'exact' (or 'wilsoncc'), got {method!r}")
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must lie in (0, 1), got {confidence!r}")
    from scipy.stats import binomtest

    ci = binomtest(k, nn).proportion_ci(confidence_level=confidence, method=method)
    return k / nn, float(ci.low), float(ci.high)


def _as_count(value, name: str) -> int:
    if isinstance(value, bool | np.bool_):
        raise InputError(f"{name} must be an integer count, got {value!r}")
    try:
        as_int = int(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be an integer count, got {value!r}") from None
    if as_int != value:
        raise InputError(f"{name} must be an integer count, got {value!r}")
    if as_int < 0:
        raise InputError(f"{name} must be >= 0, got {value!r}")
    return as_int


def normalize_bor(values: pd.Series) -> pd.Series:
    """Map RECIST 1.1 or iRECIST best overall responses to ``cr/pr/sd/pd/ne``.

    Parameters
    ----------
    values : pandas.Series of str
        ``CR``, ``PR``, ``SD``, ``PD``, ``NE`` or ``iCR``, ``iPR``, ``iSD``, ``iUPD``, ``iCPD``
        (case-insensitive). iUPD and iCPD both count as ``pd``.

    Returns
    -------
    pandas.Series of str

    Raises
    ------
    ValueError
        On any other value (including missing values).
    """
    upper = values.astype("string").str.strip().str.upper()
    mapped = upper.map(_BOR_MAP)
    bad = mapped.isna()
    if bad.any():
        examples = sorted({str(v) for v in values[bad.to_numpy()]})[:5]
        raise InputError(
            f"bor contains values that are not RECIST 1.1/iRECIST categories: {examples}"
        )
    return mapped.astype(object)


def is_response(bor) -> np.ndarray:
    """Whether each best overall response is an objective response: the one definition of a
    responder behind every ORR (trial summaries, calibration, synergy, figures).

    Parameters
    ----------
    bor : sequence or Series of str
        RECIST 1.1 or iRECIST best overall responses (case-insensitive).

    Returns
    -------
    ndarray of bool
        True for CR or PR (iCR or iPR); False for SD, PD, NE, iUPD, iCPD and anything else (such
        as ``''`` for a patient who was not evaluable).
    """
    labels = pd.Series(np.asarray(bor, dtype=object)).astype("string").str.strip().str.upper()
    return labels.map(_BOR_MAP).isin(["cr", "pr"]).to_numpy(bool)


def paired_patients(frame: pd.DataFrame, arms: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of the patients included and evaluable in every arm: the one set of patients
    behind every paired comparison of arms (design's table and synergy, the replicates' paired
    intervals, the validation constraints), so that each arm is read on the same patients.

    Parameters
    ----------
    frame : DataFrame
        A trial's patient table (``patient_id``, ``arm``, ``included``, ``evaluable``; with a
        ``replicate`` column, each replicate's patients are paired within the replicate).
    arms : sequence of str, optional
        Pair over these arms only (their rows are returned); default every arm of ``frame``.

    Returns
    -------
    DataFrame
        The rows of ``frame`` (of ``arms``) whose patient appears in each of those arms, included
        and evaluable in all of them.
    """
    rows = frame if arms is None else frame[frame["arm"].isin(list(arms))]
    n_arms = rows["arm"].nunique() if arms is None else len(set(arms))
    keys = ["patient_id"] + (["replicate"] if "replicate" in rows else [])
    by = rows.assign(_usable=rows["included"] & rows["evaluable"]).groupby(keys)
    ok = by["_usable"].transform("all") & (by["arm"].transform("nunique") == n_arms)
    return rows[ok.to_numpy(bool)]


def _none_if_inf(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def km_median(durations, events) -> tuple[float | None, list[float | None]]:
    """Kaplan-Meier median time to event and its 95 % interval (lifelines ``KaplanMeierFitter``).

    Parameters
    ----------
    durations : array of float
        Times (days) to the event or to censoring.
    events : array of bool
        True for an event (progression), False for censoring.

    Returns
    -------
    (median, [lo, hi])
        Days; ``None`` where not reached (the curve stays above 0.5).
    """
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter()
    kmf.fit(np.asarray(durations, dtype=float), np.asarray(events, dtype=bool))
    median = _none_if_inf(kmf.median_survival_time_)
    ci = median_survival_times(kmf.confidence_interval_)
    lo, hi = (float(v) for v in np.asarray(ci, dtype=float).ravel()[:2])
    return median, [_none_if_inf(lo), _none_if_inf(hi)]


def _compare_to_reference(
    ref: pd.DataFrame, arm: pd.DataFrame
) -> tuple[float | None, list[float | None] | None, float | None]:
    """Cox hazard ratio (arm vs reference) with 95 % CI, and the log-rank p value."""
    from lifelines import CoxPHFitter
    from lifelines.statistics import logrank_test

    lr = logrank_test(
        arm["pfs_days"].to_numpy(float),
        ref["pfs_days"].to_numpy(float),
        event_observed_A=arm["pfs_event"].to_numpy(bool),
        event_observed_B=ref["pfs_event"].to_numpy(bool),
    )
    p = float(lr.p_value)
    p = p if math.isfinite(p) else None
    # The partial-likelihood MLE of the HR diverges when one arm has no events.
    if not arm["pfs_event"].any() or not ref["pfs_event"].any():
        return None, None, p
    data = pd.DataFrame(
        {
            "T": np.concatenate([ref["pfs_days"].to_numpy(float), arm["pfs_days"].to_numpy(float)]),
            "E": np.concatenate([ref["pfs_event"].to_numpy(bool), arm["pfs_event"].to_numpy(bool)]),
            "treat": np.concatenate([np.zeros(len(ref)), np.ones(len(arm))]),
        }
    )
    cph = CoxPHFitter(alpha=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph.fit(data, duration_col="T", event_col="E")
    row = cph.summary.loc["treat"]
    hr = float(row["exp(coef)"])
    ci = [float(row["exp(coef) lower 95%"]), float(row["exp(coef) upper 95%"])]
    return hr, ci, p


def _validate_patients(df: pd.DataFrame, arm_order: Sequence[str], bor_col: str,
                       survival: bool = True) -> None:
    """The checks of :func:`summarize_arms`; ``survival=False`` (:func:`summarize_response`)
    leaves out the PFS and AE columns, which a response-only summary does not read."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    needed = ("arm", bor_col, "pfs_days", "pfs_event") if survival else ("arm", bor_col)
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(f"df is missing required column(s) {missing}; has {list(df.columns)}")
    if isinstance(arm_order, str) or len(arm_order) == 0:
        raise InputError("arm_order must be a non-empty sequence of arm names")
    if len(set(arm_order)) != len(arm_order):
        raise InputError(f"arm_order contains duplicates: {list(arm_order)}")
    present = set(df["arm"].unique())
    absent = [a for a in arm_order if a not in present]
    if absent:
        raise InputError(f"arm_order names arm(s) {absent} with no patients in df['arm']")
    if not survival:
        return
    pfs = pd.to_numeric(df["pfs_days"], errors="coerce")
    if pfs.isna().any() or not np.all(np.isfinite(pfs)) or (pfs < 0).any():
        raise InputError("df['pfs_days'] must be finite, non-negative numbers of days")
    ev = df["pfs_event"]
    if ev.isna().any() or not ev.isin([True, False, 0, 1]).all():
        raise InputError("df['pfs_event'] must be boolean (True = progression, False = censored)")
    for col in (c for c in df.columns if c.startswith("ae_")):
        if df[col].isna().any() or not df[col].isin([True, False, 0, 1]).all():
            raise InputError(f"df[{col!r}] must be boolean (True = grade >= 3 event of that type)")


def summarize_arms(
    df: pd.DataFrame,
    arm_order: Sequence[str],
    *,
    bor_col: str = "bor",
    ci_method: str = "wilson",
) -> list[dict[str, Any]]:
    """Per-arm summary of response, progression-free survival and adverse events.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient with columns ``arm``, ``bor`` (or ``bor_col``), ``pfs_days`` (days),
        ``pfs_event`` (bool); optional boolean ``ae_<type>`` columns (grade >= 3 adverse event of
        that type) and ``phenotype``.
    arm_order : sequence of str
        Arms to summarise, in order; the first is the reference for hazard ratios and log-rank tests.
        Every arm must have patients in ``df``; other arms in ``df`` are ignored.
    bor_col : str, default "bor"
        Column holding the best overall response (RECIST 1.1 or iRECIST labels; iUPD and iCPD count as
        PD). Use ``"irecist_bor"`` for an iRECIST summary.
    ci_method : {"wilson", "exact"}, default "wilson"
        Interval for the objective response rate, see :func:`orr_with_ci`.

    Returns
    -------
    list of dict
        One dict per arm, in ``arm_order``, with keys

        ``name``, ``n``
            Arm name and number of patients (all patients are in the denominators, NE included).
        ``orr``, ``orr_ci``
            Objective response rate (CR + PR) / n and its 95 % interval ``[lo, hi]`` (fractions).
        ``cr``, ``pr``, ``sd``, ``pd``, ``ne``
            Counts by best overall response.
        ``cr_rate``, ``cr_rate_ci``
            Complete response rate CR / n and its 95 % interval ``[lo, hi]`` (fractions), by the
            same :func:`orr_with_ci` as the ORR.
        ``dcr``
            Disease control rate (CR + PR + SD) / n.
        ``median_pfs_days``, ``median_pfs_ci_days``
            Kaplan-Meier median PFS (days, lifelines ``KaplanMeierFitter``) and its 95 % interval
            ``[lo, hi]``. ``None`` where the estimate is not reached (the survival curve stays above
            0.5, lifelines returns ``inf``); an upper bound of ``None`` means "not reached".
        ``n_events``
            Number of progression events.
        ``hr_vs_first``, ``hr_ci``, ``logrank_p``
            Cox proportional-hazards ratio of progression for this arm versus the first arm (lifelines
            ``CoxPHFitter``, Efron ties, one binary covariate), its 95 % CI ``[lo, hi]``, and the
            two-sided log-rank p value (lifelines ``logrank_test``). For the first arm: ``1.0``,
            ``None``, ``None``. HR and CI are ``None`` when either arm has no events (the estimate
            diverges); ``logrank_p`` is still given.
        ``ae_grade3plus_rate``, ``ae_rates``
            Fraction of patients with any ``ae_*`` column True, and ``{type: fraction}`` per column
            (prefix ``ae_`` stripped). ``None`` and ``{}`` without ``ae_*`` columns.
        ``phenotype_counts``, ``orr_by_phenotype``
            ``{phenotype: count}`` and ``{phenotype: ORR or None when no patients}`` for
            ``inflamed``, ``excluded``, ``desert`` (always present) and any other phenotype found.
            Both ``{}`` without a ``phenotype`` column.

    Raises
    ------
    ValueError
        For missing columns, arms without patients, unknown response labels, negative or non-finite
        PFS times or non-boolean event/AE columns.

    Notes
    -----
    Response categories follow RECIST 1.1 (Eisenhauer 2009, doi:10.1016/j.ejca.2008.10.026) or
    iRECIST (Seymour 2017, doi:10.1016/S1470-2045(17)30074-8).
    """
    _validate_patients(df, arm_order, bor_col)
    work = df.loc[df["arm"].isin(list(arm_order))].copy()
    work["_bor"] = normalize_bor(work[bor_col]).to_numpy()
    work["pfs_days"] = pd.to_numeric(work["pfs_days"]).astype(float)
    work["pfs_event"] = work["pfs_event"].astype(bool)
    ae_cols = [c for c in work.columns if c.startswith("ae_")]
    has_pheno = "phenotype" in work.columns

    ref = work.loc[work["arm"] == arm_order[0]]
    out: list[dict[str, Any]] = []
    for i, arm in enumerate(arm_order):
        sub = work.loc[work["arm"] == arm]
        responder = is_response(sub[bor_col])
        median, median_ci = km_median(
            sub["pfs_days"].to_numpy(float), sub["pfs_event"].to_numpy(bool)
        )
        if i == 0:
            hr, hr_ci, p = 1.0, None, None
        else:
            hr, hr_ci, p = _compare_to_reference(ref, sub)
        rec: dict[str, Any] = {
            **_response(arm, sub["_bor"], responder, ci_method),
            "median_pfs_days": median,
            "median_pfs_ci_days": median_ci,
            "n_events": int(sub["pfs_event"].sum()),
            "hr_vs_first": hr,
            "hr_ci": hr_ci,
            "logrank_p": p,
        }
        if ae_cols:
            ae = sub[ae_cols].astype(bool)
            rec["ae_grade3plus_rate"] = float(ae.any(axis=1).mean())
            rec["ae_rates"] = {c[3:]: float(ae[c].mean()) for c in ae_cols
                               if not c.startswith("ae_type_")}
            # per AE type (organ): ae_type_<type> columns, subsets of the law flags
            rec["ae_by_type"] = {c[8:]: float(ae[c].mean()) for c in ae_cols
                                 if c.startswith("ae_type_")}
        else:
            rec["ae_grade3plus_rate"] = None
            rec["ae_rates"] = {}
            rec["ae_by_type"] = {}
        if has_pheno:
            phen = sub["phenotype"].astype("string")
            names = list(PHENOTYPES) + sorted(set(phen.dropna()) - set(PHENOTYPES))
            rec["phenotype_counts"] = {p_: int((phen == p_).sum()) for p_ in names}
            orr_ph: dict[str, float | None] = {}
            for p_ in names:
                mask = (phen == p_).fillna(False).to_numpy(bool)
                orr_ph[p_] = float(responder[mask].mean()) if mask.any() else None
            rec["orr_by_phenotype"] = orr_ph
        else:
            rec["phenotype_counts"] = {}
            rec["orr_by_phenotype"] = {}
        out.append(rec)
    return out


def _response(arm: str, bor: pd.Series, responder: pd.Series, ci_method: str) -> dict[str, Any]:
    """``name``, ``n``, the counts by best response, ORR, CR rate (with intervals) and DCR of one
    arm from its normalized best responses ``bor`` and ``responder`` flags."""
    n = len(bor)
    counts = {k: int((bor == k).sum()) for k in ("cr", "pr", "sd", "pd", "ne")}
    n_resp = int(responder.sum())
    orr, lo, hi = orr_with_ci(n_resp, n, method=ci_method)
    cr_rate, cr_lo, cr_hi = orr_with_ci(counts["cr"], n, method=ci_method)
    return {"name": arm, "n": n, "orr": orr, "orr_ci": [lo, hi], **counts, "cr_rate": cr_rate,
            "cr_rate_ci": [cr_lo, cr_hi], "dcr": (n_resp + counts["sd"]) / n}


def summarize_response(df: pd.DataFrame, arm_order: Sequence[str], *, bor_col: str = "bor",
                       ci_method: str = "wilson") -> list[dict[str, Any]]:
    """Per-arm response only: the ``name``, ``n``, ``orr``, ``orr_ci``, ``cr`` ... ``ne``,
    ``cr_rate``, ``cr_rate_ci`` and ``dcr`` of :func:`summarize_arms`, without its survival
    statistics (Kaplan-Meier, Cox, log-rank: the costly part at 10^5 patients), for a second
    reading of the same patients' response (iRECIST, the response at a data cutoff).

    ``df`` needs ``arm`` and ``bor_col``; the arguments and errors are those of
    :func:`summarize_arms`.
    """
    _validate_patients(df, arm_order, bor_col, survival=False)
    out = []
    for arm in arm_order:
        sub = df.loc[df["arm"] == arm, bor_col]
        out.append(_response(arm, normalize_bor(sub), is_response(sub), ci_method))
    return out


def _km_at(durations, events, days: float) -> float | None:
    """Kaplan-Meier survival probability at ``days`` (None past the last follow-up)."""
    from lifelines import KaplanMeierFitter

    t = np.asarray(durations, dtype=float)
    if t.size == 0 or days > t.max():
        return None
    kmf = KaplanMeierFitter().fit(t, np.asarray(events, dtype=bool))
    return float(kmf.survival_function_at_times(days).iloc[0])


def summarize_survival(df: pd.DataFrame, arm_order: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per arm: overall survival, lesions and discontinuation (issue #14).

    Parameters
    ----------
    df : DataFrame
        One row per evaluable patient and arm with ``arm``, ``os_days``, ``os_event`` and
        optionally ``n_lesions``, ``n_new_lesions``, ``mixed_response``, ``discontinuation``,
        ``death_before_progression``.
    arm_order : sequence of str
        The first arm is the reference of the OS hazard ratio.

    Returns
    -------
    dict
        ``{arm: {"median_os_days", "median_os_ci_days", "os_12m", "os_24m" (KM survival at 365.25
        and 730.5 days; None past follow-up), "n_deaths", "hr_os_vs_first", "hr_os_ci",
        "logrank_os_p", "lesions_per_patient_mean", "new_lesions_per_patient_mean",
        "mixed_response_rate", "discontinued_ae_rate", "discontinued_icpd_rate",
        "death_before_progression_rate"}}``.
    """
    os_df = df.rename(columns={"pfs_days": "_pfs_days", "pfs_event": "_pfs_event"}).rename(
        columns={"os_days": "pfs_days", "os_event": "pfs_event"})
    ref = os_df[os_df["arm"] == arm_order[0]]
    out: dict[str, dict[str, Any]] = {}
    for i, arm in enumerate(arm_order):
        sub = os_df[os_df["arm"] == arm]
        t, e = sub["pfs_days"].to_numpy(float), sub["pfs_event"].to_numpy(bool)
        median, ci = km_median(t, e) if len(sub) else (None, [None, None])
        hr, hr_ci, p = (1.0, None, None) if i == 0 else _compare_to_reference(ref, sub)
        rec: dict[str, Any] = {
            "median_os_days": median, "median_os_ci_days": ci,
            "os_12m": _km_at(t, e, 365.25), "os_24m": _km_at(t, e, 730.5),
            "n_deaths": int(e.sum()), "hr_os_vs_first": hr, "hr_os_ci": hr_ci,
            "logrank_os_p": p,
        }
        for key, col in (("lesions_per_patient_mean", "n_lesions"),
                         ("new_lesions_per_patient_mean", "n_new_lesions")):
            rec[key] = float(sub[col].mean()) if col in sub and len(sub) else None
        for key, col in (("mixed_response_rate", "mixed_response"),
                         ("death_before_progression_rate", "death_before_progression")):
            rec[key] = float(sub[col].astype(bool).mean()) if col in sub and len(sub) else None
        if "discontinuation" in sub and len(sub):
            reason = sub["discontinuation"].astype(str)
            rec["discontinued_ae_rate"] = float((reason == "ae").mean())
            rec["discontinued_icpd_rate"] = float((reason == "icpd").mean())
        out[arm] = rec
    return out

