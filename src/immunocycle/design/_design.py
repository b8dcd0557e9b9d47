"""Design: from a diagnosis to ranked nano-immunotherapy regimens (WHAT to give).

1. Candidates: catalog therapies that claim the diagnosed limiting step or list a barrier
   present in the tumor (tier 1 of :func:`rank_barriers`), each alone and combined with PD-1
   blockade (nivolumab), up to ``max_agents`` agents.
2. Screen: every candidate on the preset's reference patient; therapies are padded to one
   shared effect structure (as :func:`immunocycle.catalog.simulate_catalog` does), so candidates
   with the same dosing schedule run as one batched call of one compiled model. Score: final
   tumor diameter (mm, lower is better). The best ``budget`` candidates are kept.
3. Confirm: a small seeded virtual trial on the matching archetype cohort (same patients in every
   arm, RECIST 1.1, grade >= 3 AEs as :mod:`immunocycle.trial`); arms are nivolumab alone, the
   kept candidates, and the single agents of kept two-agent combinations (for Bliss synergy).
4. Rank by ORR, then median PFS (then lower AE rate), excluding regimens whose grade >= 3 AE rate exceeds
   ``ae_limit``; the Pareto front of ORR (higher) versus AE rate (lower) among those allowed.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from immunocycle.catalog._simulate import padded_therapy
from immunocycle.design._synergy import bliss_excess

#: The PD-1 blockade combined with every candidate (a packaged cycle-model therapy).
PD1 = "nivolumab"
#: Agent name of the padded catalog therapy in the cycle model.
AGENT = "design_agent"
#: Presets whose archetype cohort has their own name; others use this cohort.
DEFAULT_COHORT = "melanoma"
_CHECKPOINT_PARAMETERS = {"pd1_free", "pdl1_free"}


@dataclass
class Design:
    """Ranked regimens for a preset.

    Attributes
    ----------
    preset : str
    limiting_step : int
    barriers : list of str
        Barriers present in the tumor (tier 1 of the diagnosis).
    screen : DataFrame
        Per candidate regimen: ``regimen``, ``therapies``, ``steps``, ``diameter_end_mm`` on the
        reference patient, ``kept``.
    arms : list of dict
        Trial summary per arm (:func:`immunocycle.trial._statistics.summarize_arms`).
    recommendations : list of dict
        Ranked regimens within the AE limit.
    pareto : list of str
        Regimens on the ORR / AE-rate Pareto front.
    inputs : dict
    confirmed : list of dict
        Every confirmed regimen (trial arm), whatever its AE rate.
    """

    preset: str
    limiting_step: int
    barriers: list[str]
    screen: pd.DataFrame
    arms: list[dict]
    recommendations: list[dict]
    pareto: list[str]
    inputs: dict = field(default_factory=dict)
    confirmed: list[dict] = field(default_factory=list)

    def with_ae_limit(self, ae_limit: float | None) -> Design:
        """The same design re-ranked under another AE limit (no new simulation)."""
        ranked, front = rank(self.confirmed, ae_limit)
        return replace(self, recommendations=ranked, pareto=front,
                       inputs={**self.inputs, "ae_limit": ae_limit})

    def to_dict(self) -> dict[str, Any]:
        return {"preset": self.preset, "limiting_step": self.limiting_step,
                "barriers": list(self.barriers), "recommendations": self.recommendations,
                "pareto": list(self.pareto),
                "screen": self.screen.to_dict(orient="records"), "inputs": self.inputs}


# --------------------------------------------------------------------------- candidates
def candidate_therapies(limiting_step: int, barriers: list[str], *, catalog=None) -> list[str]:
    """Catalog therapy ids acting on the limiting step or on a present barrier (checkpoint
    blockers excluded: PD-1 blockade is added to every candidate)."""
    from immunocycle.catalog import load_catalog

    cat = catalog or load_catalog()
    out = []
    for tid, t in cat.therapies.items():
        steps = {c.step for c in t.claims}
        if limiting_step not in steps and not set(t.barriers) & set(barriers):
            continue
        if {e.parameter for e in t.effects} & _CHECKPOINT_PARAMETERS:
            continue
        out.append(tid)
    return out


def _regimens(therapies: list[str], max_agents: int) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for tid in therapies:
        out.append((tid,))
        if max_agents >= 2:
            out.append((tid, PD1))
    return out


# --------------------------------------------------------------------------- padding
def _slot_key(e) -> tuple:
    return (e.parameter, e.mode, e.concentration, e.hill)


def _slots(therapies) -> list[tuple]:
    slots: list[tuple] = []
    for th in therapies:
        seen: dict[tuple, int] = defaultdict(int)
        for e in th.effects:
            key = _slot_key(e)
            slot = (*key, seen[key])
            seen[key] += 1
            if slot not in slots:
                slots.append(slot)
    return sorted(slots, key=repr)


def _pad_all(cycle: dict) -> dict:
    protos: dict[tuple, Any] = {}
    for th in cycle.values():
        seen: dict[tuple, int] = defaultdict(int)
        for e in th.effects:
            key = _slot_key(e)
            protos.setdefault((*key, seen[key]), e)
            seen[key] += 1
    slots = _slots(cycle.values())
    return {tid: padded_therapy(th, slots, protos) for tid, th in cycle.items()}


def _schedule_key(th) -> str:
    return th.dosing.model_dump_json(exclude={"amount", "source"})


# --------------------------------------------------------------------------- screen
def screen(preset: str, regimens: list[tuple[str, ...]], padded: dict, *,
           days: float = 84.0) -> pd.DataFrame:
    """Final tumor diameter of each regimen on the preset's reference patient (one batched call
    per structure: partner therapies x dosing schedule)."""
    from immunocycle.cycle import build_cycle_model, load_therapy, resolve_preset, simulate_cycle

    params, _ = resolve_preset(preset)
    groups: dict[tuple, list[tuple[str, ...]]] = defaultdict(list)
    for reg in regimens:
        groups[(reg[1:], _schedule_key(padded[reg[0]]))].append(reg)
    end: dict[tuple[str, ...], float] = {}
    for (partners, _), members in groups.items():
        extra = [load_therapy(p) for p in partners]
        base = build_cycle_model(preset, extra)
        rows = []
        for reg in members:
            model = base.copy()
            padded[reg[0]].apply(model, params)
            rows.append({n: p.value for n, p in model.parameters.items()
                         if n not in base.parameters})
        res = simulate_cycle(preset, [padded[members[0][0]], *extra], days=days,
                             n=len(members), parameters=pd.DataFrame(rows), step=days / 12)
        for k, reg in enumerate(members):
            end[reg] = float(res.patient(k)["tumor_diameter"].iloc[-1])
    ref = simulate_cycle(preset, [PD1], days=days, step=days / 12)
    ref_end = float(ref.patient(0)["tumor_diameter"].iloc[-1])
    rows = [{"regimen": "+".join(r), "therapies": list(r), "diameter_end_mm": end[r],
             "vs_pd1_mm": end[r] - ref_end} for r in regimens]
    return pd.DataFrame(rows).sort_values("diameter_end_mm", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- trial
def _trial(cohort: str, arms: dict[str, list], n: int, seed: int, days: float) -> pd.DataFrame:
    """A trial of :class:`immunocycle.trial.TrialTask` whose arms are cycle-model Therapy lists
    (catalog therapies are not packaged names): one row per patient and arm."""
    from immunocycle.trial._trial import make_task

    task = make_task(cohort, [PD1], seed=seed, days=days)
    task = dataclasses.replace(task, arms=tuple(arms),
                               arm_therapies=tuple(tuple(t) for t in arms.values()))
    return task(0, n)


def _cohort_for(preset: str) -> str:
    from immunocycle.population import load_cohort

    try:
        return load_cohort(preset).name
    except Exception:  # noqa: BLE001 - any failure: no archetype cohort of that name
        return DEFAULT_COHORT


# --------------------------------------------------------------------------- ranking
def pareto_front(points: list[tuple[str, float, float]]) -> list[str]:
    """Names not dominated in (ORR higher, AE rate lower): ``points`` are (name, orr, ae)."""
    front = []
    for name, orr, ae in points:
        dominated = any((o >= orr and a <= ae) and (o > orr or a < ae)
                        for other, o, a in points if other != name)
        if not dominated:
            front.append(name)
    return front


def rank(arms: list[dict], ae_limit: float | None = None) -> tuple[list[dict], list[str]]:
    """Arms within ``ae_limit`` ranked by ORR, then median PFS (not reached = longest), then
    lower AE rate, and the ORR / AE Pareto front among them."""
    allowed = [dict(a) for a in arms
               if ae_limit is None or (a["ae_grade3plus_rate"] or 0.0) <= ae_limit + 1e-12]

    def key(a):
        pfs = a["median_pfs_days"]
        return (-a["orr"], -(np.inf if pfs is None else pfs), a["ae_grade3plus_rate"] or 0.0,
                a["regimen"])

    ranked = sorted(allowed, key=key)
    front = pareto_front([(a["regimen"], a["orr"], a["ae_grade3plus_rate"] or 0.0)
                          for a in allowed])
    return ranked, front


# --------------------------------------------------------------------------- design
def design(preset: str, *, max_agents: int = 2, ae_limit: float | None = None,
           budget: int = 3, n: int = 20, seed: int = 0, days: float = 168.0,
           candidates: list[str] | None = None, cohort: str | None = None) -> Design:
    """Design regimens for a preset: diagnose, screen catalog candidates, confirm in a trial.

    Parameters
    ----------
    preset : str
        Cycle-model preset (``excluded``, ``desert``, ``inflamed``, ``human``...).
    max_agents : int
        At most this many agents per regimen (1: single agents; 2: also + nivolumab).
    ae_limit : float, optional
        No recommendation with a grade >= 3 AE rate above this fraction.
    budget : int
        Candidates kept after the screen for the trial.
    n : int
        Virtual patients of the confirming trial (each gets every arm).
    seed : int
    days : float
        Trial follow-up (days, >= 84).
    candidates : list of str, optional
        Catalog therapy ids to consider (default: from the diagnosis).
    cohort : str, optional
        Trial cohort (default: the cohort named as the preset, else melanoma).
    """
    from immunocycle.catalog import load_catalog, to_cycle_therapy
    from immunocycle.cycle import load_therapy
    from immunocycle.design._diagnose import diagnose

    if max_agents < 1:
        raise ValueError(f"max_agents must be >= 1 (got {max_agents})")
    if budget < 1 or n < 1:
        raise ValueError("budget and n must be >= 1")
    if ae_limit is not None and not 0 <= ae_limit <= 1:
        raise ValueError(f"ae_limit must be a fraction in [0, 1] (got {ae_limit})")
    cat = load_catalog()
    diag = diagnose(preset=preset)
    present = [b for b in diag.barriers.index if diag.barriers.loc[b, "tier"] == 1]
    ids = list(candidates) if candidates is not None else candidate_therapies(
        diag.limiting_step, present, catalog=cat)
    if not ids:
        raise ValueError(f"no catalog therapy acts on step {diag.limiting_step} or on "
                         f"{present}")
    species = "mouse" if preset == "mouse" else "human"
    padded = _pad_all({t: to_cycle_therapy(t, species, catalog=cat) for t in ids})
    regimens = _regimens(ids, max_agents)
    table = screen(preset, regimens, padded)
    kept = [tuple(r) for r in table["therapies"].iloc[:budget]]
    table["kept"] = table["therapies"].apply(lambda r: tuple(r) in kept)
    table["steps"] = table["therapies"].apply(lambda r: _steps(r, cat))

    arms: dict[str, list] = {PD1: [load_therapy(PD1)]}
    for reg in kept:
        arms["+".join(reg)] = [padded[reg[0]], *[load_therapy(p) for p in reg[1:]]]
    singles = {reg[0]: [padded[reg[0]]] for reg in kept if len(reg) == 2}
    extra = {k: v for k, v in singles.items() if k not in arms}
    trial_cohort = cohort or _cohort_for(preset)
    frame = _trial(trial_cohort, {**arms, **extra}, int(n), int(seed), float(days))
    summary = _summarize(frame, list(arms) + list(extra))
    by_name = {a["name"]: a for a in summary}
    synergy = {}
    for reg in kept:
        if len(reg) == 2:
            synergy["+".join(reg)] = _bliss(frame, reg[0], reg[1], "+".join(reg), seed)
    rows = []
    for name in arms:
        a = by_name[name]
        reg = tuple(name.split("+"))
        rows.append({"regimen": name, "therapies": list(reg),
                     "steps": _steps(reg, cat), "n": a["n"], "orr": a["orr"],
                     "orr_ci": a["orr_ci"], "median_pfs_days": a["median_pfs_days"],
                     "ae_grade3plus_rate": a["ae_grade3plus_rate"],
                     "hr_vs_pd1": a["hr_vs_first"],
                     "synergy_bliss": synergy.get(name)})
    ranked, front = rank(rows, ae_limit)
    return Design(preset=preset, limiting_step=int(diag.limiting_step), barriers=present,
                  screen=table, arms=summary, recommendations=ranked, pareto=front,
                  inputs={"max_agents": max_agents, "ae_limit": ae_limit, "budget": budget,
                          "n": int(n), "seed": int(seed), "days": float(days),
                          "cohort": trial_cohort, "candidates": ids},
                  confirmed=rows)


def _steps(regimen, cat) -> list[int]:
    from immunocycle.cycle import load_therapy

    steps: set[int] = set()
    for t in regimen:
        if t in cat.therapies:
            steps |= {c.step for c in cat.therapies[t].claims}
        elif load_therapy(t).target in ("PD-1", "PD-L1"):
            steps.add(6)
    return sorted(steps)


def _evaluable(frame: pd.DataFrame) -> pd.DataFrame:
    first = frame[frame["arm_index"] == 0]
    selected = set(first.loc[first["included"], "patient_id"])
    ok = frame.groupby("patient_id")["evaluable"].all()
    selected &= set(ok[ok].index)
    return frame[frame["patient_id"].isin(selected)]


def _summarize(frame: pd.DataFrame, arms: list[str]) -> list[dict]:
    from immunocycle.trial._statistics import summarize_arms

    work = _evaluable(frame)
    cols = ["arm", "bor", "pfs_days", "pfs_event", "phenotype",
            *[c for c in work.columns if c.startswith("ae_")]]
    return summarize_arms(work[cols].reset_index(drop=True), arms)


def _responders(frame: pd.DataFrame, arm: str) -> np.ndarray:
    sub = frame[frame["arm"] == arm].sort_values("patient_id")
    return sub["bor"].isin(["CR", "PR"]).to_numpy()


def _bliss(frame: pd.DataFrame, a: str, b: str, ab: str, seed: int) -> dict:
    work = _evaluable(frame)
    return bliss_excess(_responders(work, a), _responders(work, b), _responders(work, ab),
                        seed=seed).to_dict()


__all__ = ["Design", "candidate_therapies", "design", "pareto_front", "rank", "screen"]
