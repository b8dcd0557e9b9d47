"""Design: from a diagnosis to ranked nano-immunotherapy regimens (WHAT to give).

1. Candidates: catalog therapies that claim the diagnosed limiting step or list a barrier
   present in the tumor (tier 1 of :func:`rank_barriers`), each alone and combined with PD-1
   blockade (nivolumab); with ``max_agents >= 3`` also pairs of candidates acting on different
   steps, with nivolumab.
2. Screen: every candidate on the target's reference patient (a preset, or a cohort's median
   patient); therapies are padded to one shared effect structure (as
   :func:`immunocycle.catalog.simulate_catalog` does), so candidates with the same dosing
   schedules run as one batched call of one compiled model. Score: final tumor diameter (mm,
   lower is better). Triplets are only formed from the candidates whose doublet with nivolumab beat
   nivolumab alone and is not dominated (pruning), and the single and doublet runs are reused.
   The best ``budget`` regimens are kept.
3. Confirm: a small seeded virtual trial on the target cohort (same patients in every arm,
   RECIST 1.1, grade >= 3 AEs as :mod:`immunocycle.trial`); arms are nivolumab alone, the kept
   regimens, each agent of a kept combination alone (for synergy), and for a regimen holding a
   nano-formulation the same regimen with its free counterpart at the same dose, schedule and
   route (for ``vs_free``).
4. Rank by ORR, then median PFS (then lower AE rate), excluding regimens whose grade >= 3 AE rate
   exceeds ``ae_limit``; the Pareto front of ORR (higher) versus AE rate (lower) among those
   allowed. Synergy of combinations: Bliss and highest-single-agent excess on response with
   bootstrap intervals (:func:`immunocycle.design._synergy.synergy`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from immunocycle._errors import InputError
from immunocycle.design._free import free_arms, has_free_counterpart, vs_free
from immunocycle.design._rank import rank
from immunocycle.design._screen import (
    PD1,
    candidate_therapies,
    pad_therapies,
    regimen_therapies,
    regimens_of,
    screen,
    triplets,
)
from immunocycle.design._synergy import synergy
from immunocycle.design._uncertain import arm_uncertainty
from immunocycle.engine import STATUS_TEXT

#: Presets whose archetype cohort has their own name; others use this cohort.
DEFAULT_COHORT = "melanoma"


@dataclass
class Design:
    """Ranked regimens for a tumor (a preset) or a population (a cohort).

    Attributes
    ----------
    target : str
        ``"preset:NAME"`` or ``"cohort:NAME"``.
    limiting_step : int
        The diagnosis's limiting step at diagnosis (:func:`immunocycle.cycle.limiting_step`);
        :meth:`to_dict` writes it as ``{"at_diagnosis": k0, "at_end": k1}`` (end of the
        diagnosis's untreated readout run).
    barriers : list of str
        Barriers present in the tumor (tier 1 of the diagnosis).
    screen : DataFrame
        Per candidate regimen: ``regimen``, ``therapies``, ``steps``, ``diameter_end_mm`` on the
        reference patient, ``vs_pd1_mm`` (against nivolumab alone), ``kept``.
    arms : list of dict
        Trial summary per arm (:func:`immunocycle.trial._statistics.summarize_arms`).
    recommendations : list of dict
        Ranked regimens within the AE limit.
    pareto : list of str
        Regimens on the ORR / AE-rate Pareto front.
    inputs : dict
    confirmed : list of dict
        Every confirmed regimen (trial arm), whatever its AE rate.
    trial : DataFrame or None
        The confirming trial, one row per patient and arm (RECIST, PFS, AEs).
    diagnosis : Diagnosis or None
        The diagnosis the candidates came from.
    arm_therapies : dict
        Cycle-model therapies of every trial arm (padded: they share compiled structures).
    """

    target: str
    limiting_step: int
    barriers: list[str]
    screen: pd.DataFrame
    arms: list[dict]
    recommendations: list[dict]
    pareto: list[str]
    inputs: dict = field(default_factory=dict)
    confirmed: list[dict] = field(default_factory=list)
    trial: pd.DataFrame | None = None
    diagnosis: Any = None
    arm_therapies: dict = field(default_factory=dict, repr=False)

    def with_ae_limit(self, ae_limit: float | dict | None) -> Design:
        """The same design re-ranked under another AE limit (no new simulation)."""
        ranked, front = rank(self.confirmed, ae_limit)
        return replace(self, recommendations=ranked, pareto=front,
                       inputs={**self.inputs, "ae_limit": ae_limit})

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: ``recommendations``, ``pareto``, ``confirmed``, ``screen``."""
        at_end = self.diagnosis.limiting_step_at_end if self.diagnosis is not None else None
        return {"target": self.target,
                "limiting_step": {"at_diagnosis": self.limiting_step, "at_end": at_end},
                "barriers": list(self.barriers), "recommendations": self.recommendations,
                "pareto": list(self.pareto), "confirmed": self.confirmed,
                "screen": self.screen.to_dict(orient="records"), "inputs": self.inputs}

    def write(self, out: str | Path, trial_dir: str = "trial") -> dict[str, Path]:
        """Write ``design.json``, ``screen.csv``, the trial (``<trial_dir>/patients.parquet``) and the
        diagnosis (``diagnosis/``): a run folder that :func:`immunocycle.report.render_report`
        reads."""
        from immunocycle._provenance import write_json

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / "design.json", "screen": out / "screen.csv"}
        write_json(paths["json"], self.to_dict())
        self.screen.to_csv(paths["screen"], index=False)
        if self.trial is not None:
            paths["trial"] = out / trial_dir / "patients.parquet"
            paths["trial"].parent.mkdir(exist_ok=True)
            self.trial.to_parquet(paths["trial"], index=False)
        if self.diagnosis is not None:
            paths.update({f"diagnosis_{k}": v for k, v in
                          self.diagnosis.write(out / "diagnosis").items()})
        return paths


# --------------------------------------------------------------------------- trial
def _task(cohort: str, arms: dict[str, list], seed: int, days: float):
    """A :class:`immunocycle.trial.TrialTask` whose arms are cycle-model Therapy lists (catalog
    therapies are not packaged names)."""
    from immunocycle.trial import make_task

    task = make_task(cohort, [PD1], seed=seed, days=days)
    return dataclasses.replace(task, arms=tuple(arms),
                               arm_therapies=tuple(tuple(t) for t in arms.values()))


def _cohort_for(preset: str) -> str:
    """The archetype cohort named like the preset (``excluded``), else the default cohort
    (``human`` has none); a packaged cohort that fails to load is an error, not a fallback."""
    from immunocycle.population import available_cohorts, load_cohort

    if str(preset) not in available_cohorts():
        return DEFAULT_COHORT
    return load_cohort(preset).name


# --------------------------------------------------------------------------- design
def design(preset: str | None = None, *, cohort: str | None = None, max_agents: int = 3,
           ae_limit: float | None = None, budget: int = 3, n: int = 20, seed: int = 0,
           days: float = 168.0, candidates: list[str] | None = None,
           trial_cohort: str | None = None, global_analysis: bool = False,
           replicates: int | None = None) -> Design:
    """Design regimens for a tumor or a population: diagnose, screen, confirm, rank.

    Parameters
    ----------
    preset : str, optional
        Cycle-model preset (``excluded``, ``desert``, ``inflamed``, ``human``...).
    cohort : str, optional
        Cohort name or file: diagnosed as a population, screened on its median patient, confirmed
        on its patients. Exactly one of ``preset`` and ``cohort``.
    max_agents : int
        At most this many agents per regimen (1: single agents; 2: also + nivolumab; 3: also
        two complementary candidates + nivolumab).
    ae_limit : float or dict, optional
        No recommendation with a grade >= 3 AE rate above this fraction; a dict gives limits per
        AE type (``{"hepatotoxicity": 0.1, "any": 0.3}``; types:
        :func:`immunocycle.trial.ae_type_names`).
    budget : int
        Regimens kept after the screen for the trial.
    n : int
        Virtual patients of the confirming trial (each gets every arm).
    seed : int
    days : float
        Trial follow-up (days, >= 84).
    candidates : list of str, optional
        Catalog therapy ids to consider (default: from the diagnosis).
    trial_cohort : str, optional
        Trial cohort of a preset (default: the cohort named as the preset, else melanoma).
    global_analysis : bool
        For a cohort, confirm the diagnosis with Morris then Sobol indices (adds ~600 runs).
    replicates : int, optional
        Draws of every effect size from its evidence-graded prior over the same patients
        (default 20, ``data/trial/uncertainty.yaml``; 0: none): every confirmed regimen gets
        ``orr_pi``, ``median_pfs_days_pi``, ``ae_grade3plus_rate_pi`` (90 %),
        ``p_beats_comparator`` (share of replicates whose ORR beats nivolumab alone) and
        ``expected_orr_gain``, and the ranking goes by these two first.
    """
    from immunocycle.catalog import (
        load_catalog,
        paired_free_therapy,
        resolve_therapy,
        to_cycle_therapy,
    )
    from immunocycle.cycle import load_therapy, preset_species
    from immunocycle.design._diagnose import diagnose, median_values
    from immunocycle.trial import paired_patients

    if (preset is None) == (cohort is None):
        raise InputError("give exactly one of preset or cohort")
    if max_agents < 1:
        raise InputError(f"max_agents must be >= 1 (got {max_agents})")
    if budget < 1 or n < 1:
        raise InputError("budget and n must be >= 1")
    if ae_limit is not None:
        from immunocycle.trial import ae_type_names

        limits = ae_limit if isinstance(ae_limit, dict) else {"any": ae_limit}
        for key, value in limits.items():
            if key != "any" and key not in ae_type_names():
                raise InputError(f"--ae-limit: unknown AE type {key!r}; choose any or one of "
                                 f"{', '.join(ae_type_names())}")
            if not 0 <= float(value) <= 1:
                raise InputError(f"--ae-limit: {key} must be a fraction in [0, 1] (got {value})")
    cat = load_catalog()
    if cohort is not None:
        from immunocycle.population import load_cohort

        c = load_cohort(cohort)
        diag = diagnose(cohort=cohort, n=max(n, 20), seed=seed, global_analysis=global_analysis)
        # The screen's reference patient: the cohort's median patient (as the diagnosis).
        sim_preset = c.base
        reference = median_values(c)[0]
        trial_target = cohort
    else:
        diag = diagnose(preset=preset)
        sim_preset, reference = preset, None
        trial_target = trial_cohort or _cohort_for(preset)
    present = [b for b in diag.barriers.index if diag.barriers.loc[b, "tier"] == 1]
    ids = list(candidates) if candidates is not None else candidate_therapies(
        diag.limiting_step, present, catalog=cat)
    for t in ids:  # the one lookup: an unknown name is named with its close matches
        if t not in cat.therapies:
            resolve_therapy(t, catalog=cat, where="candidates")
            raise InputError("candidates", f"{t!r} is not a catalog therapy",
                             "give catalog therapy ids (immunocycle catalog list)")
    if not ids:
        raise InputError(f"no catalog therapy acts on step {diag.limiting_step} or on "
                         f"{present}")
    species = preset_species(sim_preset)
    # Free counterparts of the nano-formulations (at the nano's dose) are padded with the
    # candidates: every arm of the confirming trial then reuses the screen's compiled structures.
    paired = {t: paired_free_therapy(t, catalog=cat) for t in ids if has_free_counterpart(cat, t)}
    padded = pad_therapies({**{t: to_cycle_therapy(t, species, catalog=cat) for t in ids},
                       **{p.id: to_cycle_therapy(p, species, catalog=cat)
                          for p in paired.values()}})
    steps = {t: {c.step for c in cat.therapies[t].claims} for t in ids}
    table = screen(sim_preset, regimens_of(ids, max_agents), padded, reference=reference)
    if max_agents >= 3:
        trios = triplets(table, steps, {t: set(cat.therapies[t].agents) for t in ids})
        if trios:
            table = pd.concat([table, screen(sim_preset, trios, padded, reference=reference)],
                              ignore_index=True)
            table = table.sort_values("diameter_end_mm", kind="stable").reset_index(drop=True)
    kept = [tuple(r) for r in table["therapies"].iloc[:budget]]
    table["kept"] = table["therapies"].apply(lambda r: tuple(r) in kept)
    table["steps"] = table["therapies"].apply(lambda r: _steps(r, cat))

    arms: dict[str, list] = {PD1: [load_therapy(PD1)]}
    for reg in kept:
        arms["+".join(reg)] = regimen_therapies(reg, padded)
    extra: dict[str, list] = {}
    for reg in kept:
        if len(reg) > 1:
            for t in reg:
                if t not in arms:
                    extra[t] = regimen_therapies((t,), padded)
    paired_arms = free_arms(kept, paired, padded)
    free = {name: therapies for name, _, therapies in paired_arms.values()}
    task = _task(trial_target, {**arms, **extra, **free}, int(seed), float(days))
    frame = task(0, int(n))
    names = list(arms) + list(extra) + list(free)
    unc = arm_uncertainty(task, frame, list(arms), n=int(n), days=float(days),
                          comparator=PD1, replicates=replicates)
    summary = _summarize(frame, names)
    by_name = {a["name"]: a for a in summary}
    work = paired_patients(frame)
    rows = []
    for name in arms:
        a = by_name[name]
        reg = tuple(name.split("+"))
        syn = (synergy([_responders(work, t) for t in reg], _responders(work, name), seed=seed)
               if len(reg) > 1 else None)
        rows.append({"regimen": name, "therapies": list(reg),
                     "steps": _steps(reg, cat), "n": a["n"], "orr": a["orr"],
                     "orr_ci": a["orr_ci"], "median_pfs_days": a["median_pfs_days"],
                     "ae_grade3plus_rate": a["ae_grade3plus_rate"],
                     "ae_by_type": a.get("ae_by_type") or {},
                     "hr_vs_pd1": a["hr_vs_first"], "solver_status": a["solver_status"],
                     "synergy_bliss": syn.bliss.to_dict() if syn else None,
                     "synergy_hsa": ({**syn.hsa.to_dict(), "best_single":
                                      reg[int(np.argmax(syn.singles))]} if syn else None),
                     "vs_free": None})
    for reg, (name, nanos, _) in paired_arms.items():
        row = next(r for r in rows if r["regimen"] == "+".join(reg))
        row["vs_free"] = vs_free(row, by_name[name], name, nanos, cat)
    for row in rows:  # prediction intervals and the chance of beating nivolumab alone
        row.update(unc["arms"][row["regimen"]])
    ranked, front = rank(rows, ae_limit)
    return Design(target=f"cohort:{cohort}" if cohort else f"preset:{preset}",
                  limiting_step=int(diag.limiting_step), barriers=present,
                  screen=table, arms=summary, recommendations=ranked, pareto=front,
                  inputs={"preset": preset, "cohort": cohort, "max_agents": max_agents,
                          "ae_limit": ae_limit, "budget": budget, "n": int(n), "seed": int(seed),
                          "days": float(days), "trial_cohort": trial_target,
                          "candidates": ids, "uncertainty": unc["uncertainty"]},
                  confirmed=rows, trial=frame, diagnosis=diag,
                  arm_therapies={**arms, **extra, **free})


def confirm(result: Design, *, n: int = 200, seed: int = 1, top: int = 2,
            out: str | Path | None = None, progress: bool = False,
            replicates: int | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Confirmatory trial: the ``top`` recommended regimens against nivolumab alone on fresh
    patients of the design's trial cohort (another ``seed`` than the design's).

    Parameters
    ----------
    result : Design
    n : int
        Patients (each gets every arm).
    seed : int
    top : int
        Recommended regimens taken (nivolumab alone is always the first arm).
    out : path, optional
        Folder for the chunked, resumable run (``patients.parquet`` there); in memory if None.
    progress : bool
    replicates : int, optional
        Effect-size replicates (default 20; 0: none; ``out/replicates`` when ``out`` is given):
        every arm gets ``orr_pi``, ``median_pfs_days_pi``, ``ae_grade3plus_rate_pi``,
        ``p_beats_comparator`` and ``expected_orr_gain`` (vs nivolumab alone).

    Returns
    -------
    (DataFrame, list of dict)
        One row per patient and arm, and the per-arm summary (first arm: nivolumab alone).
    """
    from immunocycle.catalog import load_catalog, resolve_arm
    from immunocycle.cycle import preset_species
    from immunocycle.population import load_cohort
    from immunocycle.trial import run_chunked

    if n < 1 or top < 1:
        raise InputError("n and top must be >= 1")
    cat = load_catalog()
    cohort = result.inputs["trial_cohort"]
    species = preset_species(load_cohort(cohort).base)  # the arms treat this cohort's model
    regimens = [PD1] + [r["regimen"] for r in result.recommendations
                        if r["regimen"] != PD1][:top]
    arms = {reg: result.arm_therapies.get(reg) or resolve_arm(reg, species, catalog=cat)
            for reg in regimens}
    days = float(result.inputs["days"])
    task = _task(cohort, arms, seed, days)
    if out is None:
        frame = task(0, int(n))
    else:
        path = run_chunked(task, int(n), out, chunk_size=100, progress=progress,
                           arguments={"cohort": cohort, "arms": regimens, "seed": seed, "n": n,
                                      "days": days})
        frame = pd.read_parquet(path)
    summary = _summarize(frame, regimens)
    unc = arm_uncertainty(task, frame, regimens, n=int(n), days=days, comparator=PD1,
                          replicates=replicates,
                          out=None if out is None else Path(out) / "replicates")
    for rec in summary:
        rec.update(unc["arms"].get(rec["name"], {}))
    return frame, summary


def _steps(regimen, cat) -> list[int]:
    from immunocycle.cycle import load_therapy

    steps: set[int] = set()
    for t in regimen:
        if t in cat.therapies:
            steps |= {c.step for c in cat.therapies[t].claims}
        elif load_therapy(t).target in ("PD-1", "PD-L1"):
            steps.add(6)
    return sorted(steps)


def _summarize(frame: pd.DataFrame, arms: list[str]) -> list[dict]:
    from immunocycle.trial import paired_patients, summarize_arms

    work = paired_patients(frame)
    cols = ["arm", "bor", "pfs_days", "pfs_event", "phenotype",
            *[c for c in work.columns if c.startswith("ae_")]]
    summaries = summarize_arms(work[cols].reset_index(drop=True), arms)
    for rec in summaries:  # the solver's status of every included patient, by name
        sub = frame[(frame["arm"] == rec["name"]) & frame["included"]]
        rec["solver_status"] = {STATUS_TEXT.get(int(s), f"status {s}"): int(c)
                                for s, c in sorted(sub["status"].value_counts().items())}
    return summaries


def _responders(frame: pd.DataFrame, arm: str) -> np.ndarray:
    from immunocycle.trial import is_response

    sub = frame[frame["arm"] == arm].sort_values("patient_id")
    return is_response(sub["bor"])


__all__ = ["Design", "confirm", "design"]
