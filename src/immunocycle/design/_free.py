"""Nano-formulations against their free drugs at the same dose: the extra trial arms and the
``vs_free`` record (outcome differences and the exposures that explain them)."""

from __future__ import annotations

import numpy as np

from immunocycle.design._screen import regimen_therapies


def has_free_counterpart(cat, therapy_id: str) -> bool:
    t = cat.therapies[therapy_id]
    return not t.is_free and t.free_counterpart is not None


def free_arms(kept, paired: dict, padded: dict) -> dict[tuple[str, ...], tuple[str, tuple, list]]:
    """For each kept regimen holding nano-formulations with free counterparts (``paired``: nano
    id -> free therapy at the nano's dose, schedule and route): the same regimen with each of them
    replaced by its free drug. Regimen -> (arm name, nano ids replaced, therapies)."""
    out: dict[tuple[str, ...], tuple[str, tuple, list]] = {}
    for reg in kept:
        nanos = tuple(x for x in reg if x in paired)
        if nanos:
            free_reg = tuple(paired[x].id if x in paired else x for x in reg)
            out[reg] = ("+".join(free_reg), nanos, regimen_therapies(free_reg, padded))
    return out


def vs_free(nano_row: dict, free_arm: dict, free_name: str, nanos: tuple[str, ...],
             cat) -> dict:
    """The regimen minus its all-free version (same doses): ORR, median PFS, AE rate, and the
    exposures that explain it (nano / free AUC and peak concentration in tumor, lymph node and
    of free payload in blood on the reference patient, from the time courses of
    :func:`immunocycle.catalog.compare_free_nano`; ``exposure_ratio`` and ``peak_ratio`` are the
    first nano-formulation's)."""
    from immunocycle.catalog import compare_free_nano

    by_nano, peaks = {}, {}
    for nano in nanos:
        exp = compare_free_nano(nano, catalog=cat).set_index("therapy")
        nano_x, free_x = exp.iloc[0], exp.iloc[1]
        by_nano[nano], peaks[nano] = (_ratios(nano_x, free_x, s) for s in ("", "_cmax"))
    pn, pf = nano_row["median_pfs_days"], free_arm["median_pfs_days"]
    return {"free_regimen": free_name,
            "free_therapies": {x: cat.therapies[x].free_counterpart for x in nanos},
            "d_orr": nano_row["orr"] - free_arm["orr"],
            "d_median_pfs_days": None if pn is None or pf is None else pn - pf,
            "d_ae_grade3plus_rate": (nano_row["ae_grade3plus_rate"] or 0.0)
            - (free_arm["ae_grade3plus_rate"] or 0.0),
            "free_orr": free_arm["orr"], "free_median_pfs_days": pf,
            "free_ae_grade3plus_rate": free_arm["ae_grade3plus_rate"],
            "exposure_ratio": by_nano[nanos[0]], "exposure_by_formulation": by_nano,
            "peak_ratio": peaks[nanos[0]], "peak_by_formulation": peaks,
            "d_ae_by_type": {k: (nano_row.get("ae_by_type") or {}).get(k, 0.0)
                             - (free_arm.get("ae_by_type") or {}).get(k, 0.0)
                             for k in sorted({*(nano_row.get("ae_by_type") or {}),
                                              *(free_arm.get("ae_by_type") or {})})},
            "organ_exposure_ratio": {x: organ_ratios(x, cat) for x in nanos},
            "why": " ".join(f"{x}: {_why(r)}{_extra_agents(cat, x)}." for x, r in by_nano.items())}


def _ratios(nano_x, free_x, suffix: str) -> dict[str, float | None]:
    """Nano / free of the exposures ``<site><suffix>`` (AUC: "", peak: "_cmax")."""
    return {key: (float(nano_x[col + suffix]) / float(free_x[col + suffix])
                  if float(free_x[col + suffix]) > 0 else None)
            for key, col in (("tumor", "tumor"), ("lymph_node", "lymph_node"),
                             ("blood", "blood_free"))}


def organ_ratios(nano: str, cat) -> dict[str, dict[str, float | None]]:
    """Nano / free (same dose and schedule) organ AUC of free and of total (free + bound)
    payload per organ in the reference patient (:func:`immunocycle.trial.organ_exposure_table`)."""
    from immunocycle.catalog import paired_free_therapy, to_cycle_therapy
    from immunocycle.trial import organ_exposure_table

    days = 84.0
    n = organ_exposure_table([to_cycle_therapy(nano, catalog=cat)], days)
    f = organ_exposure_table([to_cycle_therapy(paired_free_therapy(nano, catalog=cat),
                                               catalog=cat)], days)

    def ratio(a: float, b: float) -> float | None:
        return a / b if b > 0 else None

    return {o: {"free": ratio(n[o]["free_auc"], f[o]["free_auc"]),
                "total": ratio(n[o]["free_auc"] + n[o]["bound_auc"],
                               f[o]["free_auc"] + f[o]["bound_auc"])} for o in n}


def _extra_agents(cat, nano: str) -> str:
    """Agents the nano-formulation co-delivers that its free counterpart lacks (their effects are
    part of the difference too)."""
    free = cat.therapies[cat.therapies[nano].free_counterpart]
    extra = [a for a in cat.therapies[nano].agents if a not in free.agents]
    return f"; it also carries {', '.join(extra)}, which the free drug lacks" if extra else ""


def _why(ratios: dict) -> str:
    words = {"tumor": "tumor", "lymph_node": "lymph node", "blood": "free payload in blood"}
    parts = []
    for key, r in ratios.items():
        if r is None or not np.isfinite(r):
            parts.append(f"{words[key]}: no free-drug exposure to compare")
        elif r == 0:
            parts.append(f"{words[key]}: none from the nano-formulation")
        elif r >= 1.25:
            parts.append(f"{words[key]} exposure {r:.3g}x higher")
        elif r <= 0.8:
            parts.append(f"{words[key]} exposure {1 / r:.3g}x lower")
        else:
            parts.append(f"{words[key]} exposure about equal ({r:.2g}x)")
    return "vs free at the same dose (AUC, reference patient): " + "; ".join(parts)
