"""Ranking of confirmed regimens under an adverse-event limit, and their Pareto front."""

from __future__ import annotations

import numpy as np

from immunocycle.design._uncertain import rank_key


def pareto_front(points: list[tuple[str, float, float]]) -> list[str]:
    """Names not dominated in (ORR higher, AE rate lower): ``points`` are (name, orr, ae)."""
    front = []
    for name, orr, ae in points:
        dominated = any((o >= orr and a <= ae) and (o > orr or a < ae)
                        for other, o, a in points if other != name)
        if not dominated:
            front.append(name)
    return front


def within_limits(arm: dict, ae_limit: float | dict | None) -> bool:
    """True when the arm's grade >= 3 AE rate, overall (a number, or the key ``"any"``) and per
    AE type (``{"hepatotoxicity": 0.1}``: the arm's ``ae_by_type``), is within the limits."""
    if ae_limit is None:
        return True
    limits = ae_limit if isinstance(ae_limit, dict) else {"any": float(ae_limit)}
    by_type = arm.get("ae_by_type") or {}
    for key, limit in limits.items():
        rate = arm["ae_grade3plus_rate"] if key == "any" else by_type.get(key, 0.0)
        if (rate or 0.0) > float(limit) + 1e-12:
            return False
    return True


def rank(arms: list[dict], ae_limit: float | dict | None = None) -> tuple[list[dict], list[str]]:
    """Arms within ``ae_limit`` (:func:`within_limits`: overall and per AE type) ranked by ORR,
    then median PFS (not reached = longest), then lower AE rate, then fewer agents (an agent that
    adds nothing measurable is not recommended above the regimen without it), and the ORR / AE
    Pareto front among them. With effect-size replicates, the chance of beating nivolumab
    alone (``p_beats_comparator``) and the expected ORR gain rank first, the point estimates
    after them."""
    allowed = [dict(a) for a in arms if within_limits(a, ae_limit)]

    def key(a):
        pfs = a["median_pfs_days"]
        return (*rank_key(a), -a["orr"], -(np.inf if pfs is None else pfs),
                a["ae_grade3plus_rate"] or 0.0,
                len(a.get("therapies") or a["regimen"].split("+")), a["regimen"])

    ranked = sorted(allowed, key=key)
    front = pareto_front([(a["regimen"], a["orr"], a["ae_grade3plus_rate"] or 0.0)
                          for a in allowed])
    return ranked, front


__all__ = ["pareto_front", "rank", "within_limits"]
