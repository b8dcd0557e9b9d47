"""Pooling of published response rates: one calibration target from several trials.

A tumor type's PD-1 response rate is reported by several trials whose populations differ (prior
therapy, BRAF status, data cutoff). A cohort fitted to one of them misses the others by more than
their binomial intervals; fitted to their random-effects pool, it carries the between-trial
spread in its target's interval.

The pool is the DerSimonian-Laird random-effects mean of the arms' response rates
(``statsmodels.stats.meta_analysis.combine_effects``, ``method_re="dl"``), each arm weighted by
``1 / (p_i (1 - p_i) / n_i + tau^2)``. Its effective size ``n_eff = p (1 - p) / se^2`` is the
single-arm size with the same binomial interval, so code that reads ``(orr, n_trial)`` gets the
pooled interval unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PooledORR:
    """Random-effects pool of objective response rates.

    Attributes
    ----------
    orr : float
        Pooled response rate (fraction).
    se : float
        Its standard error (fraction).
    n_effective : int
        Arm size with the same binomial standard error, ``round(orr (1 - orr) / se^2)``.
    tau2 : float
        Between-trial variance of the response rate (fraction^2; 0 when the arms agree).
    """

    orr: float
    se: float
    n_effective: int
    tau2: float


def pool_orr(responders: Sequence[int], n: Sequence[int]) -> PooledORR:
    """DerSimonian-Laird random-effects pool of ``responders[i] / n[i]``.

    Parameters
    ----------
    responders, n : sequences of int
        Responders and evaluable patients of each trial arm (at least two arms; ``0 <
        responders < n`` so each arm has a binomial variance).

    Raises
    ------
    ValueError
        Fewer than two arms, lengths that differ, or a count out of range.
    """
    from statsmodels.stats.meta_analysis import combine_effects

    k, m = np.asarray(responders, dtype=float), np.asarray(n, dtype=float)
    if k.shape != m.shape or k.ndim != 1 or k.size < 2:
        raise ValueError("pooled: give at least two arms, each with responders and n")
    if np.any(m < 1) or np.any(k <= 0) or np.any(k >= m):
        raise ValueError("pooled: each arm needs 0 < responders < n")
    p = k / m
    with np.errstate(divide="ignore", invalid="ignore"):  # I^2 of agreeing arms divides by 0
        res = combine_effects(p, p * (1.0 - p) / m, method_re="dl")
    tau2 = float(res.tau2)
    if tau2 > 0.0:
        orr, se = float(res.mean_effect_re), float(res.sd_eff_w_re)
    else:  # DerSimonian-Laird truncates tau^2 at 0; statsmodels returns the negative moment
        # estimate (and a NaN random-effects sd), so the pool is then the fixed-effect one
        tau2, orr, se = 0.0, float(res.mean_effect_fe), float(res.sd_eff_w_fe)
    return PooledORR(orr=orr, se=se, n_effective=int(round(orr * (1.0 - orr) / se**2)),
                     tau2=tau2)


__all__ = ["PooledORR", "pool_orr"]
