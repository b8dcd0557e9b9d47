"""Sensitivity of the cancer-immunity cycle to its parameters, grouped by step.

Local: elasticities ``e_p = d ln y / d ln p`` by central differences in log space, every +/-
perturbation a row of one batched :func:`~immunocycle.cycle.simulate_cycle` call. Global: Morris
elementary effects (Morris 1991, doi 10.1080/00401706.1991.10484804) over log-uniform ranges of all
step parameters, then Sobol total indices (Saltelli 2010, doi 10.1016/j.cpc.2009.09.018) of the
top parameters, grouped by step, both through SALib.

The readout ``y`` is the geometric-mean cycle gain over the window (``diagnosis.yaml``
explains why); the day-84 tumor diameter is read from the same runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import yaml

from immunocycle._errors import InputError
from immunocycle._paths import PACKAGE_DATA
from immunocycle.cycle import CycleResult, compiled_cycle_model, simulate_cycle

DATA_DIR = PACKAGE_DATA / "design"
STEPS = tuple(range(1, 8))


@lru_cache(maxsize=1)
def settings() -> dict:
    """The diagnosis settings (``data/design/diagnosis.yaml``)."""
    return yaml.safe_load((DATA_DIR / "diagnosis.yaml").read_text())


@lru_cache(maxsize=1)
def step_parameters() -> dict[str, int | None]:
    """Cycle-model parameter -> step (1-7, or None for growth, geometry, units, PK)."""
    raw = yaml.safe_load((DATA_DIR / "step_parameters.yaml").read_text())
    return {name: entry["step"] for name, entry in raw.items()}


def readouts(result: CycleResult) -> pd.DataFrame:
    """Per patient: ``ln_gain`` (mean over the window of ln G) and ``ln_diameter`` (last time)."""
    frame = result.frame
    gain = frame["cycle_gain"].to_numpy(dtype=float)
    frame = frame.assign(ln_gain=np.log(np.clip(np.where(np.isfinite(gain), gain, np.nan),
                                                1e-300, None)))
    grouped = frame.groupby("patient")
    out = pd.DataFrame({"ln_gain": grouped["ln_gain"].mean(),
                        "ln_diameter": np.log(grouped["tumor_diameter"].last())})
    out.loc[~np.asarray(result.pretreatment.reached, dtype=bool)] = np.nan
    return out


def _run(preset: str, params: pd.DataFrame, *, therapies: Sequence[str], days: float,
         diameter: float | None, treatment_parameters: Mapping[str, float] | None) -> CycleResult:
    return simulate_cycle(preset, list(therapies), days=days, parameters=params,
                          diagnosis_diameter_mm=diameter,
                          treatment_parameters=treatment_parameters)


@dataclass(frozen=True)
class Elasticities:
    """Local elasticities of one patient.

    Attributes
    ----------
    table : DataFrame
        One row per parameter: ``value``, ``step`` (0 = tumor/other), ``in_model``,
        ``e_gain`` (d ln G / d ln p) and ``e_diameter`` (d ln D(day) / d ln p).
    base : Series
        The unperturbed readouts (``ln_gain``, ``ln_diameter``).
    result : CycleResult
        The batched run (row 0 unperturbed, then +/- per parameter).
    rel_step : float
    """

    table: pd.DataFrame
    base: pd.Series
    result: CycleResult
    rel_step: float

    def by_step(self, column: str = "e_gain") -> pd.Series:
        """Summed |elasticity| of each step's parameters (steps 1-7)."""
        t = self.table
        return t[t["step"] > 0].groupby("step")[column].apply(lambda s: s.abs().sum()) \
            .reindex(STEPS, fill_value=0.0)


def local_elasticities(preset: str, values: Mapping[str, float] | None = None, *,
                       parameters: Sequence[str] | None = None, rel_step: float | None = None,
                       therapies: Sequence[str] | None = None, days: float | None = None,
                       diagnosis_diameter_mm: float | None = None,
                       treatment_parameters: Mapping[str, float] | None = None) -> Elasticities:
    """Elasticities of the cycle gain and the tumor diameter to each parameter of a patient.

    ``e_p = [y(p (1 + h)) - y(p (1 - h))] / ln[(1 + h) / (1 - h)]``, all perturbations rows of one
    simulate call. A parameter at zero, or one the compiled model does not contain, has
    elasticity 0 (a multiplicative change cannot move it).

    Parameters
    ----------
    preset : str
        Cycle-model preset of the patient.
    values : mapping, optional
        The patient's parameter values on top of the preset.
    parameters : sequence of str, optional
        Parameters to perturb (default: every parameter of ``step_parameters.yaml``).
    rel_step : float, optional
        Relative perturbation ``h`` (default ``diagnosis.yaml``: 0.1).
    therapies, days, diagnosis_diameter_mm, treatment_parameters
        Passed to :func:`~immunocycle.cycle.simulate_cycle` (defaults: untreated, 84 days).
    """
    conf = settings()
    h = float(conf["local"]["rel_step"] if rel_step is None else rel_step)
    if not 0 < h < 1:
        raise InputError(f"rel_step must lie in (0, 1) (got {h})")
    therapies = conf["readout"]["therapies"] if therapies is None else therapies
    days = float(conf["readout"]["days"] if days is None else days)
    compiled = compiled_cycle_model(preset)
    base = pd.Series(compiled.default_parameters(), index=list(compiled.parameter_names))
    for name, value in (values or {}).items():
        if name in base.index:
            base[name] = float(value)
    names = list(step_parameters()) if parameters is None else list(parameters)
    perturbable = [n for n in names if n in base.index and base[n] != 0.0]
    rows = [base.to_numpy()]
    for name in perturbable:
        for factor in (1 + h, 1 - h):
            row = base.copy()
            row[name] *= factor
            rows.append(row.to_numpy())
    frame = pd.DataFrame(rows, columns=base.index)
    result = _run(preset, frame, therapies=therapies, days=days, diameter=diagnosis_diameter_mm,
                  treatment_parameters=treatment_parameters)
    y = readouts(result)
    width = np.log((1 + h) / (1 - h))
    steps = step_parameters()
    table = pd.DataFrame({
        "value": [float(base[n]) if n in base.index else np.nan for n in names],
        "step": [int(steps.get(n) or 0) for n in names],
        "in_model": [n in base.index for n in names],
        "e_gain": 0.0, "e_diameter": 0.0}, index=pd.Index(names, name="parameter"))
    for k, name in enumerate(perturbable):
        up, down = y.iloc[1 + 2 * k], y.iloc[2 + 2 * k]
        table.loc[name, "e_gain"] = (up["ln_gain"] - down["ln_gain"]) / width
        table.loc[name, "e_diameter"] = (up["ln_diameter"] - down["ln_diameter"]) / width
    return Elasticities(table, y.iloc[0], result, h)


@dataclass(frozen=True)
class GlobalSensitivity:
    """Morris screening and Sobol total indices, per parameter and grouped by step.

    Attributes
    ----------
    morris : DataFrame
        Per parameter: ``step``, ``mu_star``, ``sigma`` (of ln G).
    sobol : DataFrame
        Per step group of the top parameters: ``ST``, ``ST_conf``, ``S1``, ``S1_conf``.
    by_step : DataFrame
        Steps 1-7: summed Morris ``mu_star`` and the Sobol ``ST`` of the step group (0 if none
        of its parameters was in the top set).
    top : list of str
        Parameters carried from Morris to Sobol.
    runs : int
        Simulations made.
    """

    morris: pd.DataFrame
    sobol: pd.DataFrame
    by_step: pd.DataFrame
    top: list[str]
    runs: int


def global_sensitivity(preset: str, values: Mapping[str, float] | None = None, *, seed: int = 0,
                       trajectories: int | None = None, top: int | None = None,
                       samples: int | None = None, range_factor: float | None = None,
                       days: float | None = None) -> GlobalSensitivity:
    """Morris screening of every step parameter, then grouped Sobol indices of the top ones.

    Each parameter varies log-uniformly within ``[p / f, p f]`` around the patient's value
    (``f`` = ``range_factor``, default 1.5: the between-patient range); the readout is the
    mean ln cycle gain of the untreated tumor. Sobol indices use SALib's ``groups`` so each
    step's total index is that of its parameters together.

    Parameters
    ----------
    preset : str
    values : mapping, optional
        Center of the ranges (a cohort's median patient); default the preset.
    seed : int
        Seeds the Morris and Sobol samples and the bootstrap.
    trajectories, top, samples, range_factor, days
        Morris trajectories, parameters carried to Sobol, Sobol base samples (a power of 2),
        range factor and window (days); defaults in ``diagnosis.yaml``.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    conf = settings()["global"]
    trajectories = int(conf["morris_trajectories"] if trajectories is None else trajectories)
    top = int(conf["sobol_top"] if top is None else top)
    samples = int(conf["sobol_samples"] if samples is None else samples)
    f = float(conf["range_factor"] if range_factor is None else range_factor)
    days = float(settings()["readout"]["days"] if days is None else days)
    if trajectories < 2 or top < 1 or samples < 2 or f <= 1:
        raise InputError("need trajectories >= 2, top >= 1, samples >= 2, range_factor > 1")
    compiled = compiled_cycle_model(preset)
    center = pd.Series(compiled.default_parameters(), index=list(compiled.parameter_names))
    for name, value in (values or {}).items():
        if name in center.index:
            center[name] = float(value)
    steps = step_parameters()
    names = [n for n, s in steps.items() if s and n in center.index and center[n] > 0]
    log_center = np.log(center[names].to_numpy())
    problem = {"num_vars": len(names), "names": names,
               "bounds": [[c - np.log(f), c + np.log(f)] for c in log_center]}
    levels = int(conf["morris_levels"])

    def evaluate(cols: list[str], x: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(np.tile(center.to_numpy(), (len(x), 1)), columns=center.index)
        frame[cols] = np.exp(x)
        y = readouts(_run(preset, frame, therapies=(), days=days, diameter=None,
                          treatment_parameters=None))["ln_gain"].to_numpy()
        return np.where(np.isfinite(y), y, np.nanmin(y))

    x_m = morris_sample.sample(problem, trajectories, num_levels=levels, seed=seed)
    y_m = evaluate(names, x_m)
    m = morris_analyze.analyze(problem, x_m, y_m, num_levels=levels, seed=seed)
    morris = pd.DataFrame({"step": [steps[n] for n in names], "mu_star": m["mu_star"],
                           "sigma": m["sigma"]}, index=pd.Index(names, name="parameter"))
    chosen = list(morris["mu_star"].sort_values(ascending=False, kind="stable").index[:top])
    groups = [f"step{steps[n]}" for n in chosen]
    sub = {"num_vars": len(chosen), "names": chosen, "groups": groups,
           "bounds": [problem["bounds"][names.index(n)] for n in chosen]}
    group_names = list(dict.fromkeys(groups))
    if len(group_names) == 1:
        # one step holds every top parameter: its group carries all the variance (ST = S1 = 1)
        # exactly, and SALib cannot analyze a single group, so no Sobol runs are needed
        x_s = np.empty((0, len(chosen)))
        sobol = pd.DataFrame({"ST": [1.0], "ST_conf": [0.0], "S1": [1.0], "S1_conf": [0.0]},
                             index=pd.Index(group_names, name="group"))
    else:
        x_s = sobol_sample.sample(sub, samples, calc_second_order=False, seed=seed)
        s = sobol_analyze.analyze(sub, evaluate(chosen, x_s), calc_second_order=False, seed=seed)
        sobol = pd.DataFrame({k: np.asarray(s[k]) for k in ("ST", "ST_conf", "S1", "S1_conf")},
                             index=pd.Index(group_names, name="group"))
    by_step = pd.DataFrame({
        "mu_star": morris.groupby("step")["mu_star"].sum().reindex(STEPS, fill_value=0.0),
        "ST": [float(sobol["ST"].get(f"step{k}", 0.0)) for k in STEPS]},
        index=pd.Index(STEPS, name="step"))
    return GlobalSensitivity(morris, sobol, by_step, chosen, len(x_m) + len(x_s))


__all__ = ["Elasticities", "GlobalSensitivity", "global_sensitivity", "local_elasticities",
           "readouts", "settings", "step_parameters"]
