"""Calibration uncertainty of a cohort's fitted multiplier (``immunocycle cohort calibrate``).

The multiplier ``m`` on the median of the cohort's calibrated parameter (``T_N0``) is fitted so
that the simulated ORR of the reference regimen meets the published ORR. Two errors make ``m``
uncertain:

- the published ORR is a binomial count (CheckMate 066: 40 % of 210), so the true ORR lies
  anywhere in its interval;
- the simulated ORR at ``m`` is itself a binomial estimate over the evaluable virtual patients
  (Monte-Carlo error of the fit), and the fit stops once the target is inside its 95 % interval,
  leaving a residual ``achieved - target``.

Both are ORR errors; the slope ``b = dORR/dlog m`` maps them onto ``log m``:

    sd(log m) = sqrt(sd_target^2 + sd_fit^2 + residual^2) / b,

with ``b`` the secant through ``m * exp(-h)`` and ``m * exp(+h)`` on the fit's patients (common
random numbers, the new-lesion rate fixed at the fitted one as in the trial replicates) over
the span the draws cover, ``h = 1.96 sd`` (:func:`fit_spread`: first ``h = SLOPE_STEP``, then
once more at ``1.96 sd`` when that differs by more than a quarter). A secant over that span, not
the tangent at ``m``, because ORR(m) is curved: in melanoma it is flat within x1.5 of the
fitted multiplier (a larger ``T_N0`` also controls more tumors before diagnosis, which leave the
trial) and falls steeply below it, so the tangent would put the 95 % bounds of ``m`` where the
ORR is far outside the published interval.

where each binomial sd is the 95 % Wilson half-width / 1.96 (non-zero at 0/n, e.g. KEYNOTE-016
0/18). The residual enters in quadrature because the replicates stay centred on the fitted ``m``
(the value every point estimate uses). A flat or falling ORR(m) (no information) gives
``MAX_LOG_SD``. The trial replicates (:mod:`immunocycle.trial._uncertainty`) draw
``log m ~ N(log m_fitted, sd^2)`` per replicate, so the calibrated arm's ORR spreads about as
the published ORR is uncertain.

A cohort without a target borrows the geometric mean of the calibrated multipliers
(:func:`immunocycle.trial._calibrate.fill_uncalibrated`); its log-sd is the between-tumor-type
spread of the calibrated log multipliers combined with their mean calibration variance
(:func:`borrowed_log_sd`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: First half-span in natural-log multiplier of the ORR secant (x2 either side), then 1.96 sd.
SLOPE_STEP = math.log(2.0)
#: Smallest half-span (x1.2): the ORR must move by several patients.
MIN_STEP = math.log(1.2)
#: Largest recorded log-sd (a 90 % interval of x0.19..x5.2): an ORR that hardly moves with m
#: (a target near 0 %) constrains m little, and a wider spread would mean m is not identified.
MAX_LOG_SD = 1.0
_Z95 = 1.959963984540054


def binomial_sd(k: int, n: int) -> float:
    """Standard deviation of a proportion ``k/n`` as the 95 % Wilson half-width / 1.96 (> 0 at
    ``k = 0``; ``n >= 1``)."""
    from immunocycle.trial._statistics import orr_with_ci

    _, lo, hi = orr_with_ci(int(k), int(n))
    return (hi - lo) / (2.0 * _Z95)


def orr_slope(points: Mapping[float, float]) -> float:
    """Least-squares slope of ORR (fraction) on ``log m`` through ``{m: orr}`` (>= 2 points)."""
    xs = [math.log(m) for m in points]
    ys = [float(v) for v in points.values()]
    if len(xs) < 2:
        raise ValueError("the ORR slope needs at least two multipliers")
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def multiplier_spread(multiplier: float, target_orr: float, n_trial: int, responders: int,
                      evaluable: int, slope_points: Mapping[float, float]) -> dict[str, Any]:
    """The ``multiplier_uncertainty`` record of a fit and its ``log_sd``.

    Parameters
    ----------
    multiplier : float
        Fitted multiplier.
    target_orr : float
        Published ORR (fraction) of an arm of ``n_trial`` patients.
    responders, evaluable : int
        The fit's simulated responders among its evaluable virtual patients at ``multiplier``.
    slope_points : mapping multiplier -> ORR
        ORR at multipliers around the fitted one (same patients), for ``dORR/dlog m``.

    Returns
    -------
    dict
        ``log_sd`` (natural-log sd of the multiplier), ``interval95`` (multiplier at
        ``log m +- 1.96 sd``), ``slope_orr_per_log_multiplier``, ``slope_points``,
        ``orr_sd_target``, ``orr_sd_fit``, ``orr_residual``, ``method``.
    """
    achieved = responders / evaluable
    sd_target = binomial_sd(round(target_orr * n_trial), n_trial)
    sd_fit = binomial_sd(responders, evaluable)
    residual = achieved - target_orr
    slope = orr_slope(slope_points)
    sd_orr = math.sqrt(sd_target ** 2 + sd_fit ** 2 + residual ** 2)
    log_sd = MAX_LOG_SD if slope <= 0 else min(MAX_LOG_SD, sd_orr / slope)
    return {
        "log_sd": round(log_sd, 4),
        "interval95": [float(f"{multiplier * math.exp(-_Z95 * log_sd):.4g}"),
                       float(f"{multiplier * math.exp(_Z95 * log_sd):.4g}")],
        "slope_orr_per_log_multiplier": round(slope, 4),
        "slope_points": [[float(f"{m:.6g}"), round(float(v), 4)]
                         for m, v in sorted(slope_points.items())],
        "orr_sd_target": round(sd_target, 4), "orr_sd_fit": round(sd_fit, 4),
        "orr_residual": round(residual, 4),
        "method": ("sd(log m) = sqrt(sd_target^2 + sd_fit^2 + residual^2) / (dORR/dlog m): "
                   "binomial sds as 95% Wilson half-width / 1.96 of the published arm "
                   "(n_trial) and of the fit's evaluable patients, the fit's residual, the "
                   "slope the secant through m exp(-h) and m exp(h) on the fit's patients "
                   "(common random numbers, new-lesion rate fixed at the fitted one), h = 1.96 "
                   f"sd; at most {MAX_LOG_SD:g} (trial/_multiplier_sd.py)"),
    }


def fit_spread(multiplier: float, target_orr: float, n_trial: int, responders: int,
               evaluable: int, orr_at: Callable[[float], float]) -> dict[str, Any]:
    """:func:`multiplier_spread` with the secant over the span its draws cover: first at
    ``m * exp(+-SLOPE_STEP)``, then, if ``1.96 sd`` differs from that half-span by more than a
    quarter, once more at ``m * exp(+-1.96 sd)`` (within ``MIN_STEP`` and ``1.96 MAX_LOG_SD``).
    ``orr_at(m)`` is the simulated ORR at multiplier ``m`` (fraction). Adds ``half_span``."""
    step = SLOPE_STEP
    for attempt in range(2):
        points = {mm: orr_at(mm) for mm in (multiplier * math.exp(-step),
                                            multiplier * math.exp(step))}
        spread = multiplier_spread(multiplier, target_orr, n_trial, responders, evaluable, points)
        want = min(max(_Z95 * spread["log_sd"], MIN_STEP), _Z95 * MAX_LOG_SD)
        if attempt or abs(want - step) <= 0.25 * step:
            break
        step = want
    spread["half_span"] = round(step, 4)
    return spread


def borrowed_log_sd(multipliers: Sequence[float], log_sds: Sequence[float | None]) -> float:
    """Log-sd of a multiplier borrowed as the geometric mean of calibrated ones: the sample sd of
    their logs (how much tumor types differ) combined in quadrature with their mean calibration
    variance (``None`` entries count as 0), at most :data:`MAX_LOG_SD`."""
    logs = [math.log(m) for m in multipliers]
    between = 0.0
    if len(logs) > 1:
        mean = sum(logs) / len(logs)
        between = sum((x - mean) ** 2 for x in logs) / (len(logs) - 1)
    within = [float(s) ** 2 for s in log_sds if s is not None]
    total = between + (sum(within) / len(within) if within else 0.0)
    return round(min(MAX_LOG_SD, math.sqrt(total)), 4)


__all__ = ["MAX_LOG_SD", "MIN_STEP", "SLOPE_STEP", "binomial_sd", "borrowed_log_sd",
           "fit_spread", "multiplier_spread", "orr_slope"]
