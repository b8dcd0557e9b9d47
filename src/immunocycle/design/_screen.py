"""Candidates and the cheap screen of the design: which catalog therapies, which regimens, and
their final tumor diameter on one reference patient.

Every catalog therapy is padded to one shared effect structure (the union of effect "slots",
unused slots with ``emax = 0``, an exact identity; as :func:`immunocycle.catalog.simulate_catalog`)
under a positional agent name, so regimens reuse a few compiled models and candidates with the
same dosing schedules run as one batched call.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import pandas as pd

from immunocycle.catalog import effect_slots, padded_therapy, schedule_key

#: The PD-1 blockade combined with every candidate (a packaged cycle-model therapy).
PD1 = "nivolumab"
#: Agent names of the padded catalog therapies in the cycle model (first, second).
AGENTS = ("catalog_agent", "catalog_agent_2")
#: Candidates whose doublet with nivolumab enter the triplet search (pruning).
TRIPLET_POOL = 6
_CHECKPOINT_PARAMETERS = {"pd1_free", "pdl1_free"}

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


def regimens_of(therapies: list[str], max_agents: int) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for tid in therapies:
        out.append((tid,))
        if max_agents >= 2:
            out.append((tid, PD1))
    return out


def triplets(table: pd.DataFrame, steps: dict[str, set[int]], agents: dict[str, set[str]],
              pool: int = TRIPLET_POOL) -> list[tuple[str, ...]]:
    """Pairs of candidates + nivolumab from the doublets that beat nivolumab alone (pruning:
    only the best ``pool``), each pair acting on different steps (complementary) with no agent
    in common (a nano-formulation and its own free drug are not a combination)."""
    doublets = table[table["therapies"].map(len).eq(2) & (table["vs_pd1_mm"] < 0)]
    best = [r[0] for r in doublets.sort_values("diameter_end_mm", kind="stable")["therapies"]]
    best = best[:pool]
    return [(a, b, PD1) for a, b in itertools.combinations(best, 2)
            if steps[a] != steps[b] and not agents[a] & agents[b]]


# --------------------------------------------------------------------------- padding
def pad_therapies(cycle: dict) -> dict:
    """Every therapy padded to the union of effect slots, under each agent name of
    :data:`AGENTS` (position in a regimen -> name)."""
    slots, protos = effect_slots(cycle.values())
    out = {}
    for tid, th in cycle.items():
        first = padded_therapy(th, slots, protos)
        out[tid] = (first, first.model_copy(update={"name": AGENTS[1]}))
    return out


def regimen_therapies(regimen: tuple[str, ...], padded: dict) -> list:
    """Cycle-model therapies of a regimen: catalog ids padded (k-th catalog agent under the
    k-th name of :data:`AGENTS`), packaged names loaded."""
    from immunocycle.cycle import load_therapy

    out, k = [], 0
    for t in regimen:
        if t in padded:
            out.append(padded[t][k])
            k += 1
        else:
            out.append(load_therapy(t))
    return out


# --------------------------------------------------------------------------- screen
def screen(preset: str, regimens: list[tuple[str, ...]], padded: dict, *,
           days: float = 84.0, reference: dict[str, float] | None = None) -> pd.DataFrame:
    """Final tumor diameter of each regimen on one reference patient (one batched call per
    structure: packaged partners x dosing schedules of the catalog therapies).

    Parameters
    ----------
    preset : str
        Cycle-model preset of the patient.
    regimens : list of tuple of str
        Catalog ids (keys of ``padded``, at most two per regimen) and packaged therapy names.
    padded : dict
        From :func:`pad_therapies`.
    days : float
        Horizon (days from diagnosis).
    reference : dict, optional
        Parameter values overriding the preset (e.g. a cohort's median patient).
    """
    from immunocycle.cycle import build_cycle_model, resolve_preset, simulate_cycle

    params, _ = resolve_preset(preset)
    reference = dict(reference or {})
    groups: dict[tuple, list[tuple[str, ...]]] = defaultdict(list)
    for reg in regimens:
        cat_ids = [t for t in reg if t in padded]
        partners = tuple(t for t in reg if t not in padded)
        groups[(len(cat_ids), partners,
                tuple(schedule_key(padded[t][0]) for t in cat_ids))].append(reg)
    end: dict[tuple[str, ...], float] = {}
    for members in groups.values():
        arm0 = regimen_therapies(members[0], padded)
        extra = [th for th in arm0 if th.name not in AGENTS]
        base = build_cycle_model(preset, extra)
        rows = []
        for reg in members:
            model = base.copy()
            for th in regimen_therapies(reg, padded):
                if th.name in AGENTS:
                    th.apply(model, params)
            rows.append({**reference, **{n: p.value for n, p in model.parameters.items()
                                         if n not in base.parameters}})
        res = simulate_cycle(preset, arm0, days=days, n=len(members),
                             parameters=pd.DataFrame(rows), step=days / 12)
        for k, reg in enumerate(members):
            end[reg] = float(res.patient(k)["tumor_diameter"].iloc[-1])
    ref = simulate_cycle(preset, [PD1], days=days, step=days / 12,
                         parameters=pd.DataFrame([reference]) if reference else None)
    ref_end = float(ref.patient(0)["tumor_diameter"].iloc[-1])
    rows = [{"regimen": "+".join(r), "therapies": list(r), "diameter_end_mm": end[r],
             "vs_pd1_mm": end[r] - ref_end} for r in regimens]
    return pd.DataFrame(rows).sort_values("diameter_end_mm", kind="stable").reset_index(drop=True)


__all__ = ["AGENTS", "PD1", "candidate_therapies", "screen"]
