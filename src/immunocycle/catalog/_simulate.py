"""Simulate many catalog therapies on one patient preset with few compilations.

Every therapy is mapped to the cycle model (:func:`to_cycle_therapy`), then padded to one
shared structure: one agent name and the union of all effect "slots" (parameter, mode, site,
Hill) across the therapies, a slot a therapy does not use getting ``emax = 0`` (an exact
identity: ``p * (1 + 0)`` or ``p + 0``). The engine caches compiled code by structure, not by
values, so the whole catalog needs one compilation; therapies that share a dosing schedule run
as one batch whose patients differ only in parameter values (PK, dose, Emax, EC50).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from immunocycle.catalog._convert import to_cycle_therapy

AGENT = "catalog_agent"


@dataclass(frozen=True)
class CatalogRun:
    """Fluxes and exposures of catalog therapies and of the untreated control.

    Attributes
    ----------
    frame : DataFrame
        One row per therapy and time: ``therapy`` (``"control"`` for no treatment), ``time``
        (days), the fluxes ``J1``-``J7``, ``tumor_diameter`` (mm) and, for treated rows, the
        agent's concentrations ``conc_C`` (serum), ``conc_T`` (tumor), ``conc_LN`` (node),
        nmol/L, and ``free_blood`` (free, i.e. released, payload in plasma, nmol/L; ``conc_C``
        for a free drug).
    """

    frame: pd.DataFrame

    def therapy(self, therapy_id: str) -> pd.DataFrame:
        return self.frame[self.frame["therapy"] == therapy_id].set_index("time")

    def flux_change(self, therapy_id: str, flux: str) -> tuple[float, float]:
        """Mean and peak relative change of a flux against the control, (treated/control - 1)."""
        t, c = self.therapy(therapy_id)[flux], self.therapy("control")[flux]
        rel = t.to_numpy() / c.to_numpy() - 1.0
        return float(t.mean() / c.mean() - 1.0), float(rel[np.argmax(np.abs(rel))])

    def exposure(self, therapy_id: str) -> dict[str, float]:
        """AUCs (nmol*day/L) of the agent in tumor, node, serum (total) and free in plasma, from
        the simulated time courses, and their peaks (``<site>_cmax``, nmol/L)."""
        t = self.therapy(therapy_id)
        x = t.index.to_numpy()
        sites = (("tumor", "conc_T"), ("lymph_node", "conc_LN"), ("blood_total", "conc_C"),
                 ("blood_free", "free_blood"))
        out = {k: float(np.trapezoid(t[col].to_numpy(), x)) for k, col in sites}
        out.update({f"{k}_cmax": float(t[col].max()) for k, col in sites})
        return out


def _slot_key(e) -> tuple:
    return (e.parameter, e.mode, e.concentration, e.hill)


def effect_slots(therapies) -> tuple[list[tuple], dict[tuple, object]]:
    """The union of the therapies' effect slots (parameter, mode, site, Hill, k-th such effect of
    one therapy), in a fixed order, and the first effect seen in each slot (it gives a padding
    effect its units)."""
    protos: dict[tuple, object] = {}
    for th in therapies:
        seen: dict[tuple, int] = defaultdict(int)
        for e in th.effects:
            key = _slot_key(e)
            protos.setdefault((*key, seen[key]), e)
            seen[key] += 1
    return sorted(protos, key=repr), protos


def schedule_key(th) -> str:
    """A therapy's dosing schedule without its amount: therapies with equal keys can run in one
    batched call (doses are per call, amounts per patient)."""
    return th.dosing.model_dump_json(exclude={"amount", "source"})


def padded_therapy(th, slots, protos):
    """``th`` with an effect in every slot: unused slots get ``emax = 0`` (an exact identity), so
    therapies that share slots share one compiled model. ``protos[slot]`` gives the slot's units."""
    from immunocycle.cycle import Effect

    used: dict[tuple, object] = {}
    seen: dict[tuple, int] = defaultdict(int)
    for e in th.effects:
        key = _slot_key(e)
        used[(*key, seen[key])] = e
        seen[key] += 1
    effects = []
    for slot in slots:
        e = used.get(slot)
        if e is None:
            p, mode, site, hill, _ = slot
            e = Effect(parameter=p, law="emax", mode=mode, emax=0.0,
                       emax_units=protos[slot].emax_units, ec50=1.0, ec50_units="nmol/L", hill=hill,
                       concentration=site, source="padding: no effect (emax 0)")
        effects.append(e)
    return th.model_copy(update={"name": AGENT, "effects": effects,
                                 "release": th.release or null_release(th)})


def null_release(th) -> dict[str, dict]:
    """A release block that changes nothing (``carried = 0``, no release: free conc = conc_C),
    so a free therapy shares one compiled structure with carried ones."""
    from immunocycle.model import ParameterSpec

    src = "padding: a free agent (no carrier, nothing released)"
    pk = {k: float(v.value) for k, v in th.pk.items()}
    values = {"k_release": (0.0, "L/day"), "carried": (0.0, "dimensionless"),
              "released_k_cl": (pk["k_cl"], "L/day"), "released_q_P": (pk["q_P"], "L/day"),
              "released_gamma_C": (pk["gamma_C"], "dimensionless"),
              "released_gamma_P": (pk["gamma_P"], "dimensionless")}
    return {k: ParameterSpec(value=v, units=u, source=src) for k, (v, u) in values.items()}


def simulate_catalog(therapy_ids=None, *, preset: str = "human", days: float = 42.0,
                     step: float = 1.0, catalog=None, therapies: dict | None = None) -> CatalogRun:
    """Simulate catalog therapies (each alone) and the untreated control on one preset.

    Parameters
    ----------
    therapy_ids : iterable of str, optional
        Catalog ids (default: every therapy).
    preset : str
        Cycle-model preset (``"human"`` reference patient).
    days, step : float
        Treatment horizon and output step (days).
    catalog : Catalog, optional
    therapies : dict of id -> catalog Therapy, optional
        Extra entries not in the catalog (e.g. from :func:`paired_free_therapy`).

    Returns
    -------
    CatalogRun
    """
    from immunocycle.catalog._store import load_catalog
    from immunocycle.cycle import build_cycle_model, preset_species, resolve_preset, simulate_cycle

    cat = catalog or load_catalog()
    entries = {t: cat.therapy(t) for t in (therapy_ids or cat.therapies)}
    entries.update(therapies or {})
    species = preset_species(preset)
    cycle = {tid: to_cycle_therapy(e, species, catalog=cat) for tid, e in entries.items()}
    # Slots come from the whole catalog, so any subset shares one compiled structure.
    universe = {tid: to_cycle_therapy(e, species, catalog=cat)
                for tid, e in cat.therapies.items() if tid not in cycle}
    universe.update(cycle)
    slots, protos = effect_slots(universe.values())
    padded = {tid: padded_therapy(th, slots, protos) for tid, th in cycle.items()}
    params, _ = resolve_preset(preset)
    base = build_cycle_model(preset)
    groups: dict[str, list[str]] = defaultdict(list)
    for tid, th in padded.items():
        groups[schedule_key(th)].append(tid)
    times = np.arange(0.0, days + step / 2, step)
    frames = [_control(simulate_cycle(preset, [], days=days, step=step), times)]
    for members in groups.values():
        rows = []
        for tid in members:
            model = base.copy()
            padded[tid].apply(model, params)  # values only: same names for every member
            rows.append({n: p.value for n, p in model.parameters.items()
                         if n not in base.parameters})
        res = simulate_cycle(preset, [padded[members[0]]], days=days, n=len(members),
                             parameters=pd.DataFrame(rows), step=step)
        r = res.result
        for k, tid in enumerate(members):
            conc_c = r[f"{AGENT}_conc_C"][k]
            # Released payload as the model traces it (cycle._pk.released_payload); for a free
            # drug, conc_C itself: the model clears k_cl * amount / V1, so
            # AUC(conc_C) = dose / CL, the free drug's exposure measure.
            free = r[f"{AGENT}_released_conc_C"][k]
            f = res.patient(k).reset_index()
            frames.append(pd.DataFrame({
                "therapy": tid, "time": f["time"],
                **{j: f[j] for j in ("J1", "J2", "J3", "J4", "J5", "J6", "J7", "tumor_diameter")},
                "conc_C": conc_c, "conc_T": r[f"{AGENT}_conc_T"][k],
                "conc_LN": r[f"{AGENT}_conc_LN"][k], "free_blood": free}))
    return CatalogRun(pd.concat(frames, ignore_index=True))


def _control(res, times) -> pd.DataFrame:
    f = res.patient(0).reset_index()
    out = {"therapy": "control", "time": f["time"]}
    out.update({j: f[j] for j in ("J1", "J2", "J3", "J4", "J5", "J6", "J7", "tumor_diameter")})
    return pd.DataFrame(out)


def compare_free_nano(therapy_id: str, *, days: float = 14.0, step: float = 0.02,
                      catalog=None) -> pd.DataFrame:
    """Simulated exposures of a nano-formulation and of its free counterpart at the same dose,
    schedule and route (one row each: AUCs in tumor, node, serum, free payload in plasma, and
    their peaks), read off the cycle model's time courses: a linked nano-formulation's tumor and
    node follow the kinetics fitted to the PBPK's time courses (:mod:`immunocycle.catalog._kinetics`)."""
    from immunocycle.catalog._convert import paired_free_therapy
    from immunocycle.catalog._store import load_catalog

    cat = catalog or load_catalog()
    paired = paired_free_therapy(therapy_id, catalog=cat)
    run = simulate_catalog([therapy_id], days=days, step=step, catalog=cat,
                           therapies={paired.id: paired})
    rows = [{"therapy": t, "formulation": cat.carrier(cat.therapies.get(t, paired)),
             **run.exposure(t)} for t in (therapy_id, paired.id)]
    return pd.DataFrame(rows)


__all__ = ["CatalogRun", "compare_free_nano", "effect_slots", "null_release", "padded_therapy",
           "schedule_key", "simulate_catalog"]
