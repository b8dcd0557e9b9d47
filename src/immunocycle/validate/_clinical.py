"""Clinical check kinds: ORR, grade >= 3 AE rate, median PFS, overall-survival landmarks and
hazard ratio of a cohort's arm in a virtual trial at the cohort's fitted values
(``data/cohorts/fitted.yaml``).

Each reads :meth:`Context.arm_summary` (one trial per cohort, every arm on the same patients):
``check: {kind: orr, cohort: melanoma, arm: nivolumab}``.
"""

from __future__ import annotations

import math

from immunocycle.validate._registry import Measurement, NotModelled, arg, check_kind

#: Days per month (365.25 / 12), for PFS targets given in months.
DAYS_PER_MONTH = 30.4375


def _label(check) -> str:
    return f"{arg(check, 'cohort')}: {arg(check, 'arm')}"


@check_kind("orr")
def orr(check, ctx) -> Measurement:
    """Objective response rate (fraction; RECIST 1.1 best overall response CR or PR)."""
    s = ctx.arm_summary(arg(check, "cohort"), arg(check, "arm"))
    return Measurement(s["orr"], tuple(s["orr_ci"]), s["n"], _label(check))


@check_kind("cr_rate")
def cr_rate(check, ctx) -> Measurement:
    """Complete-response rate (fraction)."""
    s = ctx.arm_summary(arg(check, "cohort"), arg(check, "arm"))
    return Measurement(s["cr_rate"], tuple(s["cr_rate_ci"]), s["n"], _label(check))


@check_kind("ae_rate")
def ae_rate(check, ctx) -> Measurement:
    """Rate of any grade >= 3 adverse event (fraction), or of one AE law with ``ae: name``."""
    from immunocycle.validate._targets import wilson

    s = ctx.arm_summary(arg(check, "cohort"), arg(check, "arm"))
    which = arg(check, "ae", None)
    if which is None:
        rate = s["ae_grade3plus_rate"]
    else:
        if which not in s["ae_rates"]:
            raise NotModelled(f"no adverse-event law {which!r} (laws: {sorted(s['ae_rates'])})")
        rate = s["ae_rates"][which]
    n = s["n"]
    return Measurement(rate, wilson(rate * n, n) if n else None, n,
                       _label(check) + (f", {which}" if which else ""))


@check_kind("median_pfs")
def median_pfs(check, ctx) -> Measurement:
    """Median progression-free survival (months, Kaplan-Meier; tumors assessed every 6 weeks)."""
    s = ctx.arm_summary(arg(check, "cohort"), arg(check, "arm"))
    value = s["median_pfs_days"]
    ci = s.get("median_pfs_ci_days")

    def to_m(d):  # not reached: above every band
        return math.inf if d is None else d / DAYS_PER_MONTH

    interval = (to_m(ci[0]), to_m(ci[1])) if ci and None not in ci else None
    return Measurement(to_m(value), interval, s["n"], _label(check))


@check_kind("os_landmark")
def os_landmark(check, ctx) -> Measurement:
    """Overall survival probability at ``months`` (12 or 24; Kaplan-Meier, fraction)."""
    months = int(arg(check, "months"))
    s = ctx.arm_summary(arg(check, "cohort"), arg(check, "arm"))
    key = f"os_{months}m"
    if key not in s:
        raise NotModelled(f"the trial summary has no {key} (it gives os_12m and os_24m)")
    value = s[key]
    return Measurement(math.nan if value is None else value, None, s["n"],
                       f"{_label(check)}, {months} months")


@check_kind("hazard_ratio")
def hazard_ratio(check, ctx) -> Measurement:
    """Hazard ratio of progression, ``arm`` vs ``reference`` (Cox, same patients)."""
    ref = arg(check, "reference")
    s = ctx.arm_summary(arg(check, "cohort"), arg(check, "arm"), reference=ref)
    ci = s.get("hr_ci")
    return Measurement(s["hr_vs_first"], tuple(ci) if ci else None, s["n"],
                       f"{_label(check)} vs {ref}")


@check_kind("orr_difference")
def orr_difference(check, ctx) -> Measurement:
    """ORR of ``arm`` minus ORR of ``reference`` (fraction; same patients), 95 % interval from
    the two arms' binomial variances."""
    cohort, arm, ref = arg(check, "cohort"), arg(check, "arm"), arg(check, "reference")
    a, b = ctx.arm_summary(cohort, arm), ctx.arm_summary(cohort, ref)
    d = a["orr"] - b["orr"]
    se = math.sqrt(a["orr"] * (1 - a["orr"]) / max(a["n"], 1) + b["orr"] * (1 - b["orr"]) / max(b["n"], 1))
    return Measurement(d, (d - 1.96 * se, d + 1.96 * se), a["n"], f"{cohort}: {arm} - {ref}")


__all__ = ["DAYS_PER_MONTH"]
