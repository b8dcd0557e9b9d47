"""Model constraints over every catalog regimen in every human cohort.

- ``peak_cd8_fraction``: the peak of tumor-specific effector CD8 in blood (``T_E_B``) over all
  patients, regimens and days, as a fraction of the circulating CD8 pool;
- ``loaded_dc_capacity``: the peak of the DCs a vaccine loads in its node (``DC_vax``) over the
  node's APC capacity parameter (not yet modelled while the model has no such parameter);
- ``orr_gain_cap``: the largest ORR gain of a regimen over the cohort's PD-1 blocker alone.

Regimens: every catalog therapy and regimen (``immunocycle catalog``), alone and with the
cohort's PD-1 blocker; ``--quick`` takes the check's ``quick_regimens`` only. Patients: the
cohort's own (fitted values, the first ``patients`` of the trial seed, implausible ones left
out as the trial does).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from immunocycle.validate._registry import Measurement, NotModelled, arg, check_kind

PD1_BLOCKERS = ("nivolumab", "pembrolizumab", "nivolumab_free", "pembrolizumab_free")


def human_cohorts() -> list[str]:
    """Cohorts whose base preset is a human one (tumor types and archetypes)."""
    from immunocycle.cycle import preset_species
    from immunocycle.population import available_cohorts, load_cohort

    return [c for c in available_cohorts() if preset_species(load_cohort(c).base) == "human"]


def pd1_blocker(cohort: str) -> str:
    """The cohort's calibrated PD-1 blocker (nivolumab when it has none)."""
    from immunocycle.population import load_cohort

    cal = load_cohort(cohort).calibration
    return cal.regimen if cal is not None and cal.regimen in PD1_BLOCKERS else "nivolumab"


def catalog_regimens(check, ctx) -> list[str]:
    """The regimens a constraint covers (quick: its ``quick_regimens``)."""
    if ctx.quick:
        return list(arg(check, "quick_regimens"))
    from immunocycle.catalog import load_catalog

    cat = load_catalog()
    return [*cat.therapies, *cat.regimens]


def preset_value(cohort: str, name: str) -> float | None:
    """A parameter of the cohort's base preset (None when the model has no such parameter)."""
    from immunocycle.cycle import resolve_preset
    from immunocycle.population import load_cohort

    spec = resolve_preset(load_cohort(cohort).base)[0].get(name)
    return None if spec is None else float(spec.value)


def cohorts_of(check, ctx) -> list[str]:
    """The cohorts a constraint covers: every human cohort (quick: its ``quick_cohorts``)."""
    if ctx.quick and "quick_cohorts" in check:
        return list(check["quick_cohorts"])
    return list(arg(check, "cohorts", None) or human_cohorts())


def blocks_pd1_axis(regimen: str) -> bool:
    """Whether a catalog therapy or regimen holds a PD-1 or PD-L1 blocker (an agent whose
    catalog target is PD-1 or PD-L1)."""
    from immunocycle.catalog import load_catalog

    cat = load_catalog()
    if regimen in cat.regimens:
        therapies = [item.therapy for item in cat.regimens[regimen].items]
    else:
        therapies = [regimen]
    return any(cat.agents[a].target in ("PD-1", "PD-L1")
               for t in therapies if t in cat.therapies for a in cat.therapies[t].agents)


def _arms(cohort: str, regimens: list[str]) -> list[str]:
    """Each regimen alone and with the cohort's PD-1 blocker, the blocker alone first; a
    regimen that already blocks the PD-1 axis is not given a second blocker."""
    pd1 = pd1_blocker(cohort)
    out = [pd1]
    for r in regimens:
        arms = (r,) if r in PD1_BLOCKERS or blocks_pd1_axis(r) else (r, f"{r}+{pd1}")
        for arm in arms:
            if arm not in out:
                out.append(arm)
    return out


def _time_courses(check, ctx, cohort: str) -> tuple[list[str], Any, np.ndarray]:
    """Per arm, the treatment phase of the cohort's first patients (plausible ones only)."""
    n = int(arg(check, "patients_quick", 3) if ctx.quick else arg(check, "patients", 8))
    regimens = catalog_regimens(check, ctx)
    key = ("courses", cohort, tuple(regimens), n)
    if key not in ctx.cache:
        from immunocycle.cycle import treat
        from immunocycle.population import plausibility, sample_cohort
        from immunocycle.trial import make_task

        arms = _arms(cohort, regimens)
        task = make_task(cohort, arms, seed=ctx.seed, days=ctx.days)
        mult = {task.parameter: task.multiplier} if task.parameter else None
        patients = sample_cohort(task.cohort, 0, n, ctx.seed, multipliers=mult)
        ctx.say(f"constraints {cohort}: {len(arms)} arms x {n} patients")
        treated = treat(task.cohort.base, [list(t) for t in task.arm_therapies], days=ctx.days,
                        parameters=patients.drop(columns=["tmb", "diagnosis_sum_mm"]),
                        diagnosis_diameter_mm=patients["diagnosis_sum_mm"].to_numpy())
        first, pre = treated.arms[0], treated.pretreatment
        keep = plausibility(pre.reached, np.nan_to_num(pre.t_diagnosis, nan=-1.0),
                            first["density_parenchyma"][:, 0], first["density_margin"][:, 0],
                            first["T_E_P"][:, 0] + first["T_E_M"][:, 0], first["C"][:, 0]) == ""
        ctx.cache[key] = (arms, treated, keep)
    return ctx.cache[key]


def _worst(check, ctx, quantity) -> Measurement:
    """The largest ``quantity(result, cohort, keep)`` over cohorts and arms."""
    worst, where, count = -math.inf, "", 0
    for cohort in cohorts_of(check, ctx):
        arms, treated, keep = _time_courses(check, ctx, cohort)
        for arm, res in zip(arms, treated.arms, strict=True):
            ok = keep & res.ok
            if not ok.any():
                continue
            value = float(quantity(res, cohort)[ok].max())
            count += 1
            if value > worst:
                worst, where = value, f"{cohort}: {arm}"
    return Measurement(worst, None, count, f"worst: {where} ({count} cohort-regimen pairs)")


@check_kind("peak_cd8_fraction")
def peak_cd8_fraction(check, ctx) -> Measurement:
    """Peak tumor-specific effector CD8 in blood / circulating CD8 pool (fraction)."""
    name = arg(check, "pool_parameter", None)

    def fraction(res, cohort):
        pool = (preset_value(cohort, name) if name else None) or float(arg(check, "pool_cells"))
        return np.nanmax(res["T_E_B"], axis=1) / pool

    return _worst(check, ctx, fraction)


@check_kind("loaded_dc_capacity")
def loaded_dc_capacity(check, ctx) -> Measurement:
    """Peak loaded DCs in the node / the node's APC capacity (fraction)."""
    name = arg(check, "capacity_parameter")
    if preset_value(cohorts_of(check, ctx)[0], name) is None:
        raise NotModelled(f"the cycle model has no node APC capacity parameter {name!r} yet")
    return _worst(check, ctx, lambda res, cohort: np.nanmax(res["DC_vax"], axis=1)
                  / preset_value(cohort, name))


def _gain_trial(ctx, cohort: str, arms: list[str], n: int) -> tuple[list[dict], Any]:
    """Per-arm trial summary and the patient table of ``arms`` on the cohort's first ``n``
    patients (cached in the context)."""
    import pandas as pd

    from immunocycle.trial import make_task, summarize_trial

    key = ("gain", cohort, tuple(arms), n)
    if key not in ctx.cache:
        ctx.say(f"ORR gain {cohort}: {len(arms)} arms x {n} patients")
        task = make_task(cohort, arms, seed=ctx.seed, days=ctx.days)
        frame = pd.concat([task(s, min(100, n - s)) for s in range(0, n, 100)], ignore_index=True)
        ctx.cache[key] = (summarize_trial(frame, arms, seed=ctx.seed)["arms"],
                          frame[["patient_id", "arm", "included", "evaluable", "bor"]])
    return ctx.cache[key]


def responders(frame, arms: list[str]) -> np.ndarray:
    """Per arm, per patient response (RECIST CR or PR) of the patients included and evaluable in
    every arm of ``arms``: bool array (arms, patients), the same patients in every row."""
    from immunocycle.trial import is_response, paired_patients

    bor = paired_patients(frame, arms).pivot(index="patient_id", columns="arm", values="bor")
    return np.stack([is_response(bor[a]) for a in arms]) if len(bor) else np.zeros((len(arms), 0),
                                                                                   bool)


def _alone(arm: str, pd1: str) -> str | None:
    """The regimen of ``arm`` without the PD-1 blocker (None when ``arm`` is not "X+pd1")."""
    suffix = f"+{pd1}"
    return arm[: -len(suffix)] if arm.endswith(suffix) else None


@check_kind("orr_gain_cap")
def orr_gain_cap(check, ctx) -> Measurement:
    """Largest ORR gain (fraction) of a catalog regimen over the cohort's PD-1 blocker alone.

    Two stages, the same virtual patients in every arm. The screen runs every pair on the
    cohort's first ``n`` patients (``n_quick`` in a quick run); a paired ORR difference of 40
    patients is uncertain by about +/-15 points, so each pair whose screened gain exceeds
    ``confirm_above`` is measured again on the first ``n_confirm`` patients, and that gain
    replaces the screened one. Gains a cited human result shows (``allowed: [{cohort, arm,
    source}]``) are left out. Every pair above ``list_above`` is named in the detail with the
    regimen's ORR alone and, for "X + PD-1 blocker", the Bliss-independence excess of the pair
    (observed minus ``1 - (1 - p_pd1)(1 - p_X)``, :func:`immunocycle.design.synergy`): a gain
    that the two drugs' independent responses explain is the partner's own activity, an excess
    is the model's interaction.
    """
    from immunocycle.design import synergy

    n = int(arg(check, "n_quick", 40) if ctx.quick else arg(check, "n", 100))
    n_confirm = int(arg(check, "n_confirm", n))
    confirm_above = float(arg(check, "confirm_above", math.inf))
    allowed = {(a["cohort"], a["arm"]) for a in arg(check, "allowed", [])}
    regimens = catalog_regimens(check, ctx)
    cap = float(arg(check, "list_above", math.inf))  # pairs above it are named in the detail
    worst, where, count, over, confirmed = -math.inf, "", 0, [], 0

    for cohort in cohorts_of(check, ctx):
        arms = _arms(cohort, regimens)
        summary, _ = _gain_trial(ctx, cohort, arms, n)
        if not summary:
            continue
        pd1 = summary[0]["name"]
        gains = {rec["name"]: (rec["orr"] - summary[0]["orr"], rec["orr"], summary[0]["orr"])
                 for rec in summary[1:] if (cohort, rec["name"]) not in allowed}
        count += len(gains)
        flagged = [a for a, g in gains.items() if g[0] > confirm_above and n_confirm > n]
        if flagged:
            more = list(dict.fromkeys([pd1, *(x for a in flagged for x in (_alone(a, pd1), a)
                                              if x is not None)]))
            big, frame = _gain_trial(ctx, cohort, more, n_confirm)
            orr = {rec["name"]: rec["orr"] for rec in big}
            confirmed += len(flagged)
            for a in flagged:
                gains[a] = (orr[a] - orr[pd1], orr[a], orr[pd1])
        for name, (gain, p_arm, p_pd1) in gains.items():
            if gain > cap:
                text = f"{cohort}: {name} {gain:+.0%} ({n_confirm if name in flagged else n} patients"
                alone = _alone(name, pd1)
                # the Bliss split needs each drug alone on the confirming patients
                r = responders(frame, [pd1, alone, name]) if alone and name in flagged else None
                if r is not None and r.shape[1]:  # no patient evaluable in all three: no split
                    s = synergy(r[:2], r[2], seed=ctx.seed, confidence=0.90)
                    text += (f"; {alone} alone {s.singles[1]:.0%}, Bliss {s.bliss.expected:.0%}, "
                             f"excess {s.bliss.excess:+.0%} [{s.bliss.ci[0]:+.0%}, "
                             f"{s.bliss.ci[1]:+.0%}]")
                over.append((gain, text + ")"))
            if gain > worst:
                worst, where = gain, f"{cohort}: {name} {p_arm:.0%} vs {pd1} {p_pd1:.0%}"
    # Every pair over the cap, largest first: each needs a cited human result (``allowed``) or
    # a model change.
    listed = "; over the cap: " + ", ".join(t for _, t in sorted(over, reverse=True)) if over else ""
    stage = (f", {confirmed} above {confirm_above:+.0%} measured again on {n_confirm}"
             if confirmed else "")
    return Measurement(worst, None, count, f"worst: {where} ({count} cohort-regimen pairs, "
                                           f"{n} patients each{stage}){listed}")


__all__ = ["PD1_BLOCKERS", "blocks_pd1_axis", "catalog_regimens", "cohorts_of", "human_cohorts",
           "pd1_blocker", "preset_value", "responders"]
