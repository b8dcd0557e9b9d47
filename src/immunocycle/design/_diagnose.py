"""Diagnosis of a tumor or a cohort: which step limits the cycle, why, and the phenotype.

WHICH. The limiting step is :func:`immunocycle.cycle.limiting_step`, the one definition every
command uses: each step's transfer ratio (``r1 = J1 / C``, ``r_k = J_k / J_(k-1)``) is compared
with the reference tumor's, ``rho_k = ln(r_k / r_k_ref)``; the step maximizing
``max(0, -rho_k - tol) * L_k`` limits, with ``L`` the tabulated leverage of the tumor's
phenotype. The step score (immunogram) is ``s_k = r_k / (r_k + r_k_ref) = 1 / (1 + exp(-rho_k))``
in [0, 1] (0.5 = reference, higher = better). The diagnosis also reports, under their own names,
the same deficits weighted by this tumor's own local leverage (``limiting_step_local``: summed
|elasticity| of the mean ln cycle gain to the step's parameters) and, with a global analysis,
by the Sobol total index of each step (``limiting_step_sobol``). A cohort is diagnosed at its
median patient (:func:`immunocycle.population.median_patient`); its patients' steps and
phenotypes are reported as shares.

WHY. A catalog barrier acts through parameters, each with a direction. Its harm per parameter
is ``max(0, -d e_p)`` (how much ln G falls when the barrier moves ``p`` its way, ``d = +/-1``);
its presence is ``max(0, d ln(p / p_ref))`` (how far this tumor's value sits from the reference
in the barrier's direction). Barriers present in the tumor rank first, by
``sum_p harm_p * presence_p`` (each term halved when the parameter's own step is not one of the
barrier's steps, and the sum halved when the barrier does not act at the limiting step); then
barriers that act at the limiting step rank by ``sum_p harm_p`` (the emergent limitations, e.g.
adaptive PD-L1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from immunocycle._errors import InputError
from immunocycle._provenance import write_json
from immunocycle.cycle import (
    FLUXES,
    LIMITING_STEP_METHOD,
    compiled_cycle_model,
    limiting_scores,
    reference_ratios,
    simulate_cycle,
    state_ratios,
    step_leverage,
)
from immunocycle.design._sensitivity import (
    STEPS,
    Elasticities,
    GlobalSensitivity,
    global_sensitivity,
    local_elasticities,
    settings,
    step_parameters,
)


def step_scores(ratios: np.ndarray) -> np.ndarray:
    """Immunogram scores in [0, 1]: ``r / (r + r_ref)`` per step (0.5 = reference tumor)."""
    r = np.nan_to_num(np.asarray(ratios, dtype=float), nan=0.0, posinf=np.inf)
    with np.errstate(invalid="ignore"):
        s = r / (r + reference_ratios())
    return np.where(np.isinf(r), 1.0, s)


def leverage_step(ratios: np.ndarray, leverage: np.ndarray) -> int:
    """The step (1-7) maximizing ``deficit x leverage`` for a given leverage profile (the rule of
    :func:`immunocycle.cycle.limiting_step` with another leverage: this tumor's own local
    elasticities or Sobol indices); the step of largest leverage when no ratio falls short."""
    score = limiting_scores(ratios, leverage)
    return int(np.argmax(score if np.any(score > 0) else leverage)) + 1


def rank_barriers(elasticity: pd.Series, values: Mapping[str, float],
                  reference: Mapping[str, float], limiting: int) -> pd.DataFrame:
    """Rank catalog barriers for one tumor (see the module docstring).

    Parameters
    ----------
    elasticity : Series
        d ln G / d ln p per parameter.
    values, reference : mapping
        The tumor's and the reference tumor's parameter values.
    limiting : int
        The limiting step.

    Returns
    -------
    DataFrame
        One row per barrier, best first: ``steps``, ``at_limiting_step``, ``harm``,
        ``presence_score``, ``score``, ``tier`` (1: present in this tumor, 2: acts at the
        limiting step, 3: neither), ``evidence`` (DOIs), ``parameters``.
    """
    from immunocycle.catalog import load_catalog

    cat = load_catalog()
    off = settings()["barriers"]["off_step_weight"]
    param_step = step_parameters()
    rows = []
    for bid, barrier in cat.barriers.items():
        harm = presence = 0.0
        for bp in barrier.parameters:
            d = 1.0 if bp.direction == "up" else -1.0
            e = float(elasticity.get(bp.name, 0.0))
            h = max(0.0, -d * e)
            v, r = values.get(bp.name), reference.get(bp.name)
            dev = 0.0
            if v is not None and r is not None and v > 0 and r > 0:
                dev = max(0.0, d * float(np.log(v / r)))
            own = 1.0 if param_step.get(bp.name) in barrier.steps else off
            harm += h
            presence += h * dev * own
        at = limiting in barrier.steps
        score = presence * (1.0 if at else off)
        tier = 1 if score > 1e-9 else (2 if at and harm > 1e-9 else 3)
        rows.append({"barrier": bid, "name": barrier.name, "steps": list(barrier.steps),
                     "at_limiting_step": at, "harm": harm, "presence_score": score,
                     "score": score if tier == 1 else harm, "tier": tier,
                     "parameters": [f"{p.name}:{p.direction}" for p in barrier.parameters],
                     "evidence": [cat.evidence[e].doi for e in barrier.evidence
                                  if e in cat.evidence]})
    table = pd.DataFrame(rows).sort_values(["tier", "score", "harm", "barrier"],
                                           ascending=[True, False, False, True], kind="stable")
    return table.set_index("barrier")


@dataclass
class Diagnosis:
    """Which step limits the cycle, why, and the phenotype, for one tumor or a cohort.

    Attributes
    ----------
    source : str
        ``"preset:NAME"`` or ``"cohort:NAME"``.
    limiting_step : int
        :func:`immunocycle.cycle.limiting_step` at diagnosis (of a cohort: its median patient).
    limiting_step_at_end : int
        The same at ``end_day`` of the untreated readout run.
    end_day : float
        Last day of the untreated readout run (days after diagnosis).
    limiting_step_local : int
        The deficits weighted by this tumor's own local leverage instead of the phenotype's
        tabulated one (at diagnosis).
    limiting_step_sobol : int or None
        The deficits weighted by each step's Sobol total index (at diagnosis; global runs only).
    step_scores : list of float
        Immunogram scores of steps 1-7 in [0, 1] (0.5 = reference tumor).
    phenotype : str
        At diagnosis (of a cohort: its median patient).
    cycle_gain : float
        At diagnosis.
    fluxes : dict
        J1-J7 at diagnosis (cells or events per day).
    steps : DataFrame
        Per step: ``ratio``, ``reference``, ``log_rel``, ``score``, ``leverage`` (this tumor's
        local leverage), ``leverage_phenotype`` (the tabulated one), ``limiting_score``
        (deficit x tabulated leverage), ``limiting_score_local``, ``leverage_diameter``.
    elasticities : Elasticities
    barriers : DataFrame
        :func:`rank_barriers`.
    global_sensitivity : GlobalSensitivity or None
    cohort : DataFrame or None
        Per patient of a cohort at diagnosis: ``phenotype``, ``limiting_step_at_diagnosis``,
        ``cycle_gain``, ratios ``r1`` .. ``r7``.
    inputs : dict
    """

    source: str
    limiting_step: int
    limiting_step_at_end: int
    end_day: float
    limiting_step_local: int
    step_scores: list[float]
    phenotype: str
    cycle_gain: float
    fluxes: dict[str, float]
    steps: pd.DataFrame
    elasticities: Elasticities
    barriers: pd.DataFrame
    global_sensitivity: GlobalSensitivity | None = None
    cohort: pd.DataFrame | None = None
    inputs: dict = field(default_factory=dict)
    limiting_step_sobol: int | None = None

    @property
    def sensitivity(self) -> dict[int, float]:
        """Per step: the summed |elasticity| of mean ln G (local leverage)."""
        return {int(k): float(v) for k, v in self.steps["leverage"].items()}

    def to_dict(self, top: int = 5) -> dict:
        """The JSON contract: limiting step, scores, phenotype, barriers, sensitivity, evidence.

        ``limiting_step`` is ``{"at_diagnosis": k0, "at_end": k1}`` (:func:`immunocycle.cycle.
        limiting_step`; end = ``end_day`` of the untreated readout run); the answers of other
        leverages keep their own names: ``limiting_step_local`` and, after a global analysis,
        ``limiting_step_sobol`` (``{"at_diagnosis": k}``). A cohort adds ``cohort``:
        ``n``, ``phenotype_shares`` and ``limiting_step_shares`` ``{"at_diagnosis": {step:
        share}}`` over its sampled patients; the headline values are its median patient's.
        """
        ranked = [b for b in self.barriers.index if self.barriers.loc[b, "tier"] < 3]
        out = {
            "source": self.source,
            "limiting_step": {"at_diagnosis": int(self.limiting_step),
                              "at_end": int(self.limiting_step_at_end)},
            "limiting_step_method": LIMITING_STEP_METHOD,
            "end_day": float(self.end_day),
            "limiting_step_local": {"at_diagnosis": int(self.limiting_step_local)},
            "step_scores": [round(float(s), 6) for s in self.step_scores],
            "phenotype": self.phenotype,
            "cycle_gain": float(self.cycle_gain),
            "fluxes": {k: float(v) for k, v in self.fluxes.items()},
            "transfer_ratios": [float(v) for v in self.steps["ratio"]],
            "log_ratio_vs_reference": [float(v) for v in self.steps["log_rel"]],
            "barriers": ranked,
            "barrier_scores": {b: float(self.barriers.loc[b, "score"]) for b in ranked},
            "evidence": {b: list(self.barriers.loc[b, "evidence"]) for b in ranked},
            "sensitivity": {str(k): v for k, v in self.sensitivity.items()},
            "sensitivity_method": "local: sum over the step's parameters of |d mean ln G / d ln p| "
                                  f"(central differences, +/-{self.elasticities.rel_step:g})",
            "top_parameters": _top(self.elasticities.table, top),
            "inputs": self.inputs,
        }
        if self.global_sensitivity is not None:
            g = self.global_sensitivity
            out["global_sensitivity"] = {
                "morris_mu_star": {str(k): float(v) for k, v in g.by_step["mu_star"].items()},
                "sobol_total": {str(k): float(v) for k, v in g.by_step["ST"].items()},
                "sobol_parameters": list(g.top), "runs": int(g.runs)}
            out["limiting_step_sobol"] = {"at_diagnosis": int(self.limiting_step_sobol)}
        if self.cohort is not None:
            c = self.cohort
            out["cohort"] = {
                "n": int(len(c)),
                "phenotype_shares": {k: float(v) for k, v in
                                     c["phenotype"].value_counts(normalize=True).items()},
                "limiting_step_shares": {"at_diagnosis": {
                    str(int(k)): float(v) for k, v in
                    c["limiting_step_at_diagnosis"].value_counts(normalize=True).items()}}}
        return out

    def write(self, out: str | Path) -> dict[str, Path]:
        """Write ``diagnosis.json``, CSV tables and the PNG figures under ``out``."""
        from immunocycle.design._figures import plot_elasticities, plot_step_scores

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / "diagnosis.json", "steps": out / "steps.csv",
                 "elasticities": out / "elasticities.csv", "barriers": out / "barriers.csv",
                 "radar": out / "step_scores.png", "elasticity_bars": out / "elasticities.png"}
        write_json(paths["json"], self.to_dict())  # strict JSON: NaN as null
        self.steps.to_csv(paths["steps"])
        self.elasticities.table.to_csv(paths["elasticities"])
        b = self.barriers.copy()
        for col in ("steps", "parameters", "evidence"):
            b[col] = b[col].apply(lambda v: ";".join(map(str, v)))
        b.to_csv(paths["barriers"])
        if self.global_sensitivity is not None:
            paths["morris"] = out / "morris.csv"
            paths["sobol"] = out / "sobol.csv"
            self.global_sensitivity.morris.to_csv(paths["morris"])
            self.global_sensitivity.sobol.to_csv(paths["sobol"])
        if self.cohort is not None:
            paths["cohort"] = out / "cohort.csv"
            self.cohort.to_csv(paths["cohort"])
        plot_step_scores(self.step_scores, title=self.source,
                         limiting=self.limiting_step).savefig(paths["radar"], dpi=120)
        plot_elasticities(self.elasticities.table).savefig(paths["elasticity_bars"], dpi=120)
        return paths


def _top(table: pd.DataFrame, k: int) -> list[dict]:
    order = table["e_gain"].abs().sort_values(ascending=False, kind="stable").index[:k]
    return [{"parameter": p, "step": int(table.loc[p, "step"]),
             "elasticity": float(table.loc[p, "e_gain"])} for p in order]


def _start_rows(result) -> pd.DataFrame:
    return result.frame[result.frame["time"] == 0.0].set_index("patient")


def model_columns(patients: pd.DataFrame, base: str) -> list[str]:
    """The columns of sampled patients that are parameters of the ``base`` preset's model."""
    names = compiled_cycle_model(base).parameter_names
    return [k for k in patients.columns if k in names]


def median_values(cohort, tmb: float | None = None) -> tuple[dict[str, float], float]:
    """A cohort's median patient (:func:`immunocycle.population.median_patient`) as the values
    of its base preset's model parameters, and its diagnosis size (sum of diameters, mm)."""
    from immunocycle.population import load_cohort, median_patient

    c = load_cohort(cohort)
    med = median_patient(c, tmb=tmb)
    names = compiled_cycle_model(c.base).parameter_names
    return {k: v for k, v in med.items() if k in names}, med["diagnosis_sum_mm"]


def diagnose(preset: str | None = None, cohort: str | None = None, tmb: float | None = None,
             n: int = 20, seed: int = 0, *, global_analysis: bool | None = None,
             morris_trajectories: int | None = None, sobol_top: int | None = None,
             sobol_samples: int | None = None) -> Diagnosis:
    """Diagnose a tumor (preset) or a population (cohort): which step, why, phenotype.

    Parameters
    ----------
    preset : str, optional
        Cycle-model preset (``human``, ``inflamed``, ``excluded``, ``desert``, ``mouse``).
    cohort : str, optional
        Cohort name (``immunocycle.population``); exactly one of ``preset``/``cohort``.
    tmb : float, optional
        Tumor mutational burden (mutations/Mb); sets the neoantigen load (10 per mutation/Mb).
    n : int
        Cohort patients sampled (>= 1; unused for a preset).
    seed : int
        Cohort sampling and global-sensitivity seed.
    global_analysis : bool, optional
        Run Morris then Sobol (default: for a cohort only).
    morris_trajectories, sobol_top, sobol_samples : int, optional
        Global-sensitivity sizes (defaults in ``diagnosis.yaml``).

    Returns
    -------
    Diagnosis
    """
    if (preset is None) == (cohort is None):
        raise InputError("give exactly one of preset or cohort")
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise InputError(f"n must be a positive integer (got {n})")
    if tmb is not None and (not np.isfinite(tmb) or tmb < 0):
        raise InputError(f"tmb must be a number >= 0 mutations/Mb (got {tmb})")
    values: dict[str, float] = {}
    patients = diameter = None
    if cohort is not None:
        from immunocycle.population import load_cohort, sample_cohort

        c = load_cohort(cohort)
        base = c.base
        values, diameter = median_values(c, tmb)
        patients = sample_cohort(c, 0, int(n), seed, tmb=tmb)
        source = f"cohort:{c.name}"
    else:
        from immunocycle.cycle import PRESETS

        if preset not in PRESETS:
            raise InputError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
        base = preset
        source = f"preset:{preset}"
        if tmb is not None:
            from immunocycle.population import neoantigen_load_from_tmb

            values["neoantigen_load"] = float(neoantigen_load_from_tmb(tmb))
    # Row 0 of the elasticity run is the unperturbed tumor (a cohort's median patient): its
    # first and last rows give the state at diagnosis and at the end of the readout window.
    el = local_elasticities(base, values, diagnosis_diameter_mm=diameter)
    own = el.result.patient(0)
    start, end = own.iloc[0], own.iloc[-1]
    ratios = state_ratios(start)
    ref = reference_ratios()
    with np.errstate(divide="ignore", invalid="ignore"):
        log_rel = np.log(ratios / ref)
    leverage = el.by_step("e_gain").to_numpy()
    phen = str(start["phenotype"])
    table_leverage = step_leverage()[phen]
    limiting = int(start["limiting_step"])
    steps = pd.DataFrame({"ratio": ratios, "reference": ref, "log_rel": log_rel,
                          "score": step_scores(ratios), "leverage": leverage,
                          "leverage_phenotype": table_leverage,
                          "limiting_score": limiting_scores(ratios, table_leverage),
                          "limiting_score_local": limiting_scores(ratios, leverage),
                          "leverage_diameter": el.by_step("e_diameter").to_numpy()},
                         index=pd.Index(STEPS, name="step"))
    compiled_ref = compiled_cycle_model("human")
    reference_values = compiled_ref.default_values()
    table = el.table
    tumor_values = {p: float(v) for p, v in table["value"].items()}
    barriers = rank_barriers(table["e_gain"], tumor_values, reference_values, limiting)
    cohort_table = None
    if patients is not None:
        cols = model_columns(patients, base)
        run = simulate_cycle(base, [], days=1.0, parameters=patients[cols].reset_index(drop=True),
                             diagnosis_diameter_mm=patients["diagnosis_sum_mm"].to_numpy())
        rows = _start_rows(run)
        per = state_ratios(rows)
        cohort_table = pd.DataFrame({
            "phenotype": rows["phenotype"].to_numpy(),
            "limiting_step_at_diagnosis": rows["limiting_step"].to_numpy(),
            "cycle_gain": rows["cycle_gain"].to_numpy()}, index=patients.index)
        for k in STEPS:
            cohort_table[f"r{k}"] = per[:, k - 1]
    run_global = (cohort is not None) if global_analysis is None else bool(global_analysis)
    gsa = sobol_step = None
    if run_global:
        gsa = global_sensitivity(base, values, seed=seed, trajectories=morris_trajectories,
                                 top=sobol_top, samples=sobol_samples)
        sobol_step = leverage_step(ratios, gsa.by_step["ST"].to_numpy())
    return Diagnosis(
        source=source, limiting_step=limiting, limiting_step_at_end=int(end["limiting_step"]),
        end_day=float(own.index[-1]), limiting_step_local=leverage_step(ratios, leverage),
        limiting_step_sobol=sobol_step, step_scores=[float(s) for s in steps["score"]],
        phenotype=phen, cycle_gain=float(start["cycle_gain"]),
        fluxes={f: float(start[f]) for f in FLUXES}, steps=steps, elasticities=el,
        barriers=barriers, global_sensitivity=gsa, cohort=cohort_table,
        inputs={"preset": preset, "cohort": cohort, "tmb": tmb, "n": int(n), "seed": int(seed),
                "base_preset": base, "values": values, "diagnosis_sum_mm": diameter,
                "settings": settings()})


__all__ = ["Diagnosis", "diagnose", "leverage_step", "median_values", "rank_barriers",
           "reference_ratios", "step_scores"]
