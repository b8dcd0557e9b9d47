"""Uncertainty of the effect sizes, propagated to every trial number by seeded replicates.

Every therapy effect (Emax, EC50) has a prior whose width follows its evidence grade
(``data/trial/uncertainty.yaml``; the grade is stored with the effect in the catalog). A trial
draws ``R`` replicates of all effect sizes and treats the SAME virtual patients in each
(common random numbers: the same Sobol points, the same AE uniforms), as extra rows of the
engine's batched solve: one row per patient and replicate, the drawn Emax and EC50 as per-row
parameter values (``<therapy>_e<k>_emax``, ``<therapy>_e<k>_ec50``).

A draw depends only on ``(seed, replicate, the effect)`` (the therapy's description, parameter,
mode, site), so the same effect gets the same value in every arm of a replicate, and results do
not depend on chunking, workers or which other arms are run. Arms whose therapies reuse one
model name for different effects (a design's padded slots) run as separate batches.

The efficacy caps that act only through the agents they cap (``model_parameters`` of the
priors: the node's APC capacity, the IL-2 Treg ceiling) are drawn the same way, lognormal around
the preset's value with their grade's EC50 width. The caps that every PD-1 arm meets
(``conditioned_parameters``: homeostatic space, antigen threshold) are calibrated with
``k_rec``, so they are drawn conditioned on the cohort's calibration
(:mod:`immunocycle.trial._conditioning`): within the range where a multiplier still keeps the
cohort on target, with that multiplier (a human cohort without its own fit borrows the
homeostatic space's; mouse models draw neither).

Each replicate also draws the cohort's calibrated multiplier (``fitted.yaml``: ``multiplier`` on
the median of ``parameter``, ``T_N0``) as ``log m ~ N(log m_fitted, multiplier_log_sd^2)``, the
calibration uncertainty that ``immunocycle cohort calibrate`` records
(:mod:`immunocycle.trial._multiplier_sd`), one draw per replicate shared by every arm.

To bound run time each replicate treats the first ``M`` sampled patients ``S``, ``M`` the
smallest count that holds ``patients_per_replicate`` patients (default 100) counted by the
point estimate and evaluable in every arm (all when fewer; :func:`replicate_count`): a cohort
where a third of the sampled patients are evaluable (melanoma) gets as many as one where all
are. ``S`` is every sampled patient up to there, not only the evaluable ones, because a drawn
multiplier changes who is included (a larger ``T_N0`` controls more tumors before diagnosis): a
replicate counts whoever is evaluable under its own draws, patients leaving and entering alike,
so ``S`` stays a random sample of the cohort. ``M`` comes from the point-estimate trial, which
does not depend on chunking, so neither does ``S``. A replicate's statistic is the full trial's
point estimate plus the change that the drawn effects make on ``S`` (a control variate:
``s_r = s_all + (s_r(S) - s_0(S))``), so the spread is that of the effect sizes and the
multiplier, not the sampling noise of a subset. The 90 % prediction interval is the 5 and 95 %
quantiles of ``s_r`` over the replicates.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from immunocycle.trial._conditioning import conditioned_draw
from immunocycle.trial._statistics import paired_patients

#: Column of a tiled patient frame holding the replicate's shift of the AE offset.
AE_OFFSET_SHIFT = "ae_offset_shift"
#: Columns a replicate run keeps per patient, arm and replicate.
REPLICATE_COLUMNS = ("patient_id", "replicate", "arm", "arm_index", "included", "evaluable",
                     "status", "bor", "pfs_days", "pfs_event")
_STREAM = 0x5EED_E44  # separates these draws from the other seeded streams of a trial


@dataclass(frozen=True)
class Priors:
    """Prior widths per grade (natural-log sd of Emax and EC50) and the replicate settings."""

    sigma: dict[str, tuple[float, float]]
    model_parameters: dict[str, str]
    replicates: int
    patients_per_replicate: int
    level: float
    cohort_multiplier: bool = True
    multiplier_fallback_sd: float = 0.2
    conditioned_parameters: dict[str, str] = field(default_factory=dict)

    def widths(self, grade: str | None) -> tuple[float, float]:
        """``(emax_sigma, ec50_sigma)`` of a grade (None: assumption)."""
        return self.sigma[grade or "assumption"]


@functools.cache
def load_priors() -> Priors:
    """``data/trial/uncertainty.yaml``."""
    import yaml

    from immunocycle._paths import PACKAGE_DATA

    raw = yaml.safe_load((PACKAGE_DATA / "trial" / "uncertainty.yaml").read_text())
    sigma = {g: (float(v["emax_sigma"]), float(v["ec50_sigma"])) for g, v in raw["grades"].items()}
    mult = raw.get("cohort_multiplier") or {}
    return Priors(sigma=sigma, model_parameters=dict(raw.get("model_parameters") or {}),
                  replicates=int(raw["replicates"]["default"]),
                  patients_per_replicate=int(raw["patients_per_replicate"]["default"]),
                  level=float(raw["level"]["default"]),
                  cohort_multiplier=bool(mult.get("default", False)),
                  multiplier_fallback_sd=float(mult.get("fallback_log_sd", 0.0)),
                  conditioned_parameters=dict(raw.get("conditioned_parameters") or {}))


def _normal(seed: int, replicate: int, key: str) -> float:
    """One standard normal, seeded by (seed, replicate, key) only."""
    return float(np.random.default_rng([int(seed), int(replicate), _STREAM,
                                        zlib.crc32(key.encode())]).standard_normal())


def _conditioning_entry(cohort: str | None, priors: Priors, preset: str | None
                        ) -> dict[str, Any]:
    """The cohort's conditioning of the caps (``cap_conditioning.yaml``, or borrowed for a
    human cohort without its own fit; empty: none, or nothing to condition)."""
    if cohort is None or preset is None or not priors.conditioned_parameters:
        return {}
    from immunocycle.cycle import preset_species
    from immunocycle.trial._conditioning import cohort_conditioning

    return cohort_conditioning(cohort, preset_species(preset))


def draw_emax(value: float, mode: str, sigma: float, z: float) -> float:
    """Emax under its prior (median ``value``): kept when 0 or a complete blockade (multiply
    mode, ``value <= -1``); a partial inhibition (``-1 < value < 0``, multiply) moves on the
    logit of the inhibited fraction; anything else is lognormal in magnitude, sign kept."""
    if value == 0.0 or (mode == "multiply" and value <= -1.0):
        return float(value)
    if mode == "multiply" and value < 0.0:
        u = -value
        x = math.log(u / (1.0 - u)) + sigma * z
        return -1.0 / (1.0 + math.exp(-x))
    return float(value * math.exp(sigma * z))


def grade_in(grade: str | None, fitted_in: Sequence[str], tumor_type: str | None) -> str | None:
    """An effect's evidence grade in a tumor type: a ``measured_human`` Emax fitted to human
    trials of other tumor types (``fitted_in``) is carried there, so it counts as ``inferred``
    (\"derived from a measurement of something else\", ``data/trial/uncertainty.yaml``); the
    grade as given where ``fitted_in`` is empty, names ``tumor_type``, or ``tumor_type`` is None.
    """
    if grade == "measured_human" and fitted_in and tumor_type is not None \
            and tumor_type not in fitted_in:
        return "inferred"
    return grade


def effect_parameters(arm_therapies: Sequence[Sequence]) -> dict[str, dict[str, Any]]:
    """Every effect parameter of the arms' therapies: model name -> ``{value, kind, mode,
    grade, fitted_in, key}`` (kind ``emax`` or ``ec50``; ``key`` names the effect itself: the therapy's
    description, parameter, mode, site and rank among such effects, so the same effect draws
    the same value under another slot name, as in a design's padded therapies).

    Raises
    ------
    ValueError
        If one parameter name has two values (arms that cannot share one batched run:
        :func:`arm_groups` separates them).
    """
    out: dict[str, dict[str, Any]] = {}
    for therapies in arm_therapies:
        for t in therapies:
            seen: dict[tuple, int] = {}
            for k, e in enumerate(t.effects):
                slot = (e.parameter, e.mode, e.concentration)
                rank = seen[slot] = seen.get(slot, -1) + 1
                ident = f"{t.description or t.name}|{'|'.join(slot)}|{rank}"
                for kind, value in (("emax", e.emax), ("ec50", e.ec50)):
                    name = f"{t.name}_e{k}_{kind}"
                    spec = {"value": float(value), "kind": kind, "mode": e.mode,
                            "grade": getattr(e, "grade", None),
                            "fitted_in": tuple(getattr(e, "fitted_in", ())),
                            "key": f"{ident}|{kind}"}
                    if name in out and (out[name]["value"], out[name]["key"]) != (
                            spec["value"], spec["key"]):
                        raise ValueError(f"{name}: two arms give therapy {t.name!r} different "
                                         f"effects ({out[name]['value']} and {value})")
                    out[name] = spec
    return out


def arm_groups(arm_therapies: Sequence[Sequence]) -> list[list[int]]:
    """Arms that can share one batched run (no parameter name with two effects), greedily in
    order: a design's padded therapies reuse slot names across arms."""
    groups: list[list[int]] = []
    for k, therapies in enumerate(arm_therapies):
        for g in groups:
            try:
                effect_parameters([arm_therapies[j] for j in g] + [therapies])
            except ValueError:
                continue
            g.append(k)
            break
        else:
            groups.append([k])
    return groups


@dataclass(frozen=True)
class ReplicateDraws:
    """Drawn effect sizes of replicates ``0..R-1`` (plain data, picklable).

    Attributes
    ----------
    columns : tuple of str
        Model parameter names (``<therapy>_e<k>_emax`` / ``_ec50``) set per row.
    values : tuple of tuples
        Per replicate, the value of each column.
    factors : tuple of str
        Model parameters (``model_parameters`` of the priors, and the cohort's calibrated
        parameter) drawn as factors on each patient's value.
    factor_values : tuple of tuples
        Per replicate, the factor of each of ``factors``.
    defaults : tuple of float
        Default value of each of ``factors`` (for patients without their own).
    ae_offsets : tuple of float
        Per replicate, a shift of the cohort's AE log-odds offset (empty: none): the shift
        that keeps the calibrated AE rate under conditioned cap draws.
    """

    columns: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]
    factors: tuple[str, ...] = ()
    factor_values: tuple[tuple[float, ...], ...] = ()
    defaults: tuple[float, ...] = ()
    ae_offsets: tuple[float, ...] = ()

    @property
    def replicates(self) -> int:
        return len(self.values)

    def tile(self, patients: pd.DataFrame) -> pd.DataFrame:
        """One row per patient and replicate (replicate-major), with the drawn values as
        parameter columns and a ``replicate`` column; the index (patient ids) repeats."""
        frames = []
        for r, row in enumerate(self.values):
            f = patients.copy()
            f["replicate"] = r
            for col, v in zip(self.columns, row, strict=True):
                f[col] = v
            for col, fac, d in zip(self.factors, self.factor_values[r] if self.factors else (),
                                   self.defaults, strict=True):
                f[col] = (f[col].to_numpy(float) if col in f else d) * fac
            if self.ae_offsets:
                f[AE_OFFSET_SHIFT] = self.ae_offsets[r]
            frames.append(f)
        return pd.concat(frames)


def draw_replicates(arm_therapies: Sequence[Sequence], seed: int, replicates: int, *,
                    priors: Priors | None = None, preset: str | None = None,
                    multiplier: tuple[str, float] | None = None,
                    cohort: str | None = None,
                    tumor_type: str | None = None) -> ReplicateDraws:
    """Draw every effect size of the arms for ``replicates`` replicates.

    Parameters
    ----------
    arm_therapies : sequence of sequences of immunocycle.cycle.Therapy
        Per arm, its therapies (their effects carry their ``grade``).
    seed : int
        The trial's seed; a value depends only on (seed, replicate, parameter name).
    replicates : int
    priors : Priors, optional
        Default :func:`load_priors`.
    preset : str, optional
        Cycle preset whose defaults the ``model_parameters`` factors apply to.
    multiplier : (str, float), optional
        ``(parameter, log_sd)``: the cohort multiplier's calibration uncertainty; each replicate
        scales every patient's ``parameter`` by ``exp(log_sd * z)``, ``z`` seeded by (seed,
        replicate) only, so every arm of a replicate shares it.
    cohort : str, optional
        Cohort whose calibration conditions the ``conditioned_parameters`` of the priors
        (:mod:`immunocycle.trial._conditioning`): each is drawn within the range its
        calibration allows, and the cohort's calibrated parameter is scaled by the multiplier
        that keeps the cohort on target. A human cohort without its own fit borrows the
        homeostatic space's; otherwise (mouse) they are not drawn.
    tumor_type : str, optional
        The cohort's tumor type: an effect fitted to other tumor types' trials is drawn with
        the ``inferred`` widths (:func:`grade_in`).
    """
    pri = priors or load_priors()
    specs = effect_parameters(arm_therapies)
    cols = tuple(sorted(specs))
    values = []
    for r in range(int(replicates)):
        row = []
        for name in cols:
            s = specs[name]
            s_emax, s_ec50 = pri.widths(grade_in(s["grade"], s["fitted_in"], tumor_type))
            z = _normal(seed, r, s["key"])
            row.append(draw_emax(s["value"], s["mode"], s_emax, z) if s["kind"] == "emax"
                       else s["value"] * math.exp(s_ec50 * z))
        values.append(tuple(row))
    # name -> [(log-sd, key of its normal draw), ...]: the factors on each patient's value
    spreads: dict[str, list] = {}
    known: dict[str, float] = {}
    conditioning = _conditioning_entry(cohort, pri, preset)
    if preset is not None and (pri.model_parameters or multiplier or conditioning):
        from immunocycle.cycle import compiled_cycle_model

        model = compiled_cycle_model(preset)
        known = model.default_values()
    for p in pri.model_parameters:
        if p in known:
            spreads[p] = [(pri.widths(pri.model_parameters[p])[1], f"model:{p}")]
    if multiplier is not None and float(multiplier[1]) > 0.0:
        name, sd = multiplier
        spreads.setdefault(name, []).append((float(sd), f"cohort_multiplier:{name}"))
    conditioned = [p for p in pri.conditioned_parameters if p in conditioning and p in known]
    target = conditioning.get("parameter") if conditioned else None
    factors = tuple(sorted({*spreads, *conditioned, *([target] if target else [])}))
    defaults = tuple(float(known.get(p, math.nan)) for p in factors)
    fvalues, ae_shifts = [], []
    for r in range(int(replicates)):
        logs = {p: sum(sd * _normal(seed, r, key) for sd, key in spreads.get(p, ()))
                for p in factors}
        shift = 0.0
        for p in conditioned:  # the cap, and the multiplier and AE offset that keep the cohort
            x, log_r, d_ae = conditioned_draw(conditioning[p],
                                              pri.widths(pri.conditioned_parameters[p])[1],
                                              _normal(seed, r, f"model:{p}"))
            logs[p] += x
            logs[target] += log_r
            shift += d_ae
        fvalues.append(tuple(math.exp(logs[p]) for p in factors))
        ae_shifts.append(shift)
    fvalues = tuple(fvalues) if factors else ()
    return ReplicateDraws(columns=cols, values=tuple(values), factors=factors,
                          factor_values=fvalues, defaults=defaults,
                          ae_offsets=tuple(ae_shifts) if conditioned else ())


@dataclass(frozen=True)
class ReplicateTask:
    """A trial chunk run once per replicate: ``task(start, count)`` gives one row per patient,
    arm and replicate with :data:`REPLICATE_COLUMNS` and the boolean ``ae_*`` columns.

    Attributes
    ----------
    task : TrialTask
    groups : tuple of (tuple of int, ReplicateDraws)
        Arms (indices into ``task.arms``) simulated together, with their draws.
    multiplier_log_sd : float
        Log-sd of the cohort multiplier drawn per replicate (0: not drawn), for the record.
    """

    task: Any  # a TrialTask
    groups: tuple
    multiplier_log_sd: float = 0.0

    @property
    def in_flight(self) -> int:
        """Chunks that may run at once in one process: the trial task's."""
        return getattr(self.task, "in_flight", 1)

    def __call__(self, start: int, count: int) -> pd.DataFrame:
        frames = []
        therapies = self.task.arm_therapies
        for arms, draws in self.groups:
            sub = replace(self.task, arms=tuple(self.task.arms[k] for k in arms),
                          arm_therapies=tuple(therapies[k] for k in arms), replicates=draws)
            frame = sub(start, count)
            frame["arm_index"] = np.asarray(arms)[frame["arm_index"].to_numpy(int)]
            keep = [c for c in REPLICATE_COLUMNS if c in frame] + [
                c for c in frame.columns if c.startswith("ae_") and frame[c].dtype == bool]
            frames.append(frame[keep])
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["patient_id", "arm_index", "replicate"],
                               kind="stable").reset_index(drop=True)


def replicate_task(task, *, replicates: int | None = None, priors: Priors | None = None,
                   multiplier_log_sd: float | None = None) -> ReplicateTask:
    """The :class:`ReplicateTask` of a :class:`immunocycle.trial.TrialTask` (its arms, seed).

    Parameters
    ----------
    multiplier_log_sd : float, optional
        Log-sd of the cohort multiplier (0: not drawn); default :func:`cohort_multiplier_sd`.
    """
    from immunocycle.catalog import resolve_arm
    from immunocycle.cycle import preset_species

    pri = priors or load_priors()
    species = preset_species(task.cohort.base)
    arms = tuple(tuple(a) for a in task.arm_therapies) if task.arm_therapies else tuple(
        tuple(resolve_arm(a, species)) for a in task.arms)
    r = pri.replicates if replicates is None else int(replicates)
    sd = cohort_multiplier_sd(task, pri) if multiplier_log_sd is None else float(multiplier_log_sd)
    mult = (task.parameter, sd) if task.parameter and sd > 0.0 else None
    groups = tuple((tuple(g), draw_replicates([arms[k] for k in g], task.seed, r, priors=pri,
                                              preset=task.cohort.base, multiplier=mult,
                                              cohort=task.cohort.name,
                                              tumor_type=task.cohort.tumor_type))
                   for g in arm_groups(arms))
    return ReplicateTask(replace(task, arm_therapies=arms), groups,
                         sd if mult is not None else 0.0)


def cohort_multiplier_sd(task, priors: Priors | None = None) -> float:
    """Log-sd of the task's cohort multiplier that the replicates draw: the
    ``multiplier_log_sd`` that ``cohort calibrate`` recorded in ``fitted.yaml``, or the
    priors' fallback where an entry records a multiplier but no log-sd; 0 for a cohort with no
    fitted multiplier (the archetypes: their multiplier is 1 by definition) or with
    ``cohort_multiplier`` off in ``data/trial/uncertainty.yaml``."""
    from immunocycle.population import fitted_values

    pri = priors or load_priors()
    if not pri.cohort_multiplier or task.parameter is None:
        return 0.0
    fitted = fitted_values(task.cohort.name)
    if "multiplier" not in fitted.model_fields_set:  # no entry: nothing was fitted
        return 0.0
    sd = fitted.multiplier_log_sd
    return float(pri.multiplier_fallback_sd if sd is None else sd)


def replicate_count(frame: pd.DataFrame, arms: Sequence[str], *, selected=None,
                    k: int | None = None, priors: Priors | None = None) -> int:
    """Sampled patients each replicate treats (ids ``0 .. M-1``): the smallest ``M`` whose
    patients hold ``k`` (default ``patients_per_replicate``) that ``selected`` holds (default:
    all) and that are evaluable in every arm of ``arms`` in the point-estimate trial ``frame``
    (one row per patient and arm); every sampled patient when fewer; 0 when none is."""
    k = (priors or load_priors()).patients_per_replicate if k is None else int(k)
    work = frame[frame["arm"].isin(list(arms))]
    n = int(work["patient_id"].max()) + 1 if len(work) else 0
    if selected is not None:
        work = work[work["patient_id"].isin(set(selected))]
    per = work.groupby("patient_id").agg(evaluable=("evaluable", "all"),
                                         arms=("arm", "nunique"))
    ok = sorted(per.index[per["evaluable"].to_numpy(bool)
                          & (per["arms"] == len(set(arms))).to_numpy()])
    if not ok or k < 1:
        return 0
    return int(ok[k - 1]) + 1 if len(ok) >= k else n


# --------------------------------------------------------------------------- statistics
def _ae_any(sub: pd.DataFrame) -> float | None:
    cols = [c for c in sub.columns if c.startswith("ae_") and sub[c].dtype == bool]
    return float(sub[cols].any(axis=1).mean()) if cols and len(sub) else None


def arm_statistics(frame: pd.DataFrame, arms: Sequence[str], *, days: float) -> pd.DataFrame:
    """Per replicate and arm: ``n``, ``orr``, ``cr_rate`` (RECIST 1.1 best response CR),
    ``median_pfs_days`` (not reached: the follow-up ``days``, a lower bound) and
    ``ae_grade3plus_rate`` of the rows given (a frame without a ``replicate`` column is
    replicate -1)."""
    from immunocycle.trial._statistics import is_response, km_median

    work = frame if "replicate" in frame else frame.assign(replicate=-1)
    rows = []
    for (r, arm), sub in work[work["arm"].isin(list(arms))].groupby(["replicate", "arm"],
                                                                      sort=True):
        if not len(sub):
            continue
        med, _ = km_median(sub["pfs_days"].to_numpy(float), sub["pfs_event"].to_numpy(bool))
        rows.append({"replicate": int(r), "arm": arm, "n": len(sub),
                     "orr": float(is_response(sub["bor"]).mean()),
                     "cr_rate": float((sub["bor"] == "CR").mean()),
                     "median_pfs_days": float(days if med is None else med),
                     "ae_grade3plus_rate": _ae_any(sub)})
    return pd.DataFrame(rows, columns=["replicate", "arm", "n", "orr", "cr_rate",
                                       "median_pfs_days", "ae_grade3plus_rate"])


STATISTICS = ("orr", "cr_rate", "median_pfs_days", "ae_grade3plus_rate")
_BOUNDS = {"orr": (0.0, 1.0), "cr_rate": (0.0, 1.0), "ae_grade3plus_rate": (0.0, 1.0), "median_pfs_days": (0.0, None)}


def replicate_values(point: pd.DataFrame, point_subset: pd.DataFrame,
                     replicates: pd.DataFrame) -> pd.DataFrame:
    """Per replicate and arm, each statistic as the full-trial point estimate plus the
    replicate's change on the subset: ``s_all + s_r(S) - s_0(S)`` (bounded to its range).

    ``point`` and ``point_subset`` are :func:`arm_statistics` of the point-estimate trial (all
    patients, and the replicates' patients); ``replicates`` of the replicate rows.
    """
    p_all = point.set_index("arm")
    p_sub = point_subset.set_index("arm")
    out = replicates.copy()
    for s in STATISTICS:
        base = out["arm"].map(p_all[s]).astype(float)
        sub = out["arm"].map(p_sub[s]).astype(float)
        v = base + out[s].astype(float) - sub
        lo, hi = _BOUNDS[s]
        out[s] = v.clip(lower=lo, upper=hi)
    return out


def _interval(values: np.ndarray, level: float) -> list[float] | None:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return None
    q = (1.0 - level) / 2.0
    return [float(np.quantile(v, q)), float(np.quantile(v, 1.0 - q))]


def prediction_intervals(values: pd.DataFrame, arms: Sequence[str], level: float
                         ) -> dict[str, dict[str, Any]]:
    """Per arm: ``orr_pi``, ``cr_rate_pi``, ``median_pfs_days_pi``, ``ae_grade3plus_rate_pi``
    (``[lo, hi]``, the ``level`` interval of :func:`replicate_values`)."""
    out = {}
    for arm in arms:
        sub = values[values["arm"] == arm]
        out[arm] = {f"{s}_pi": _interval(sub[s].to_numpy(float), level) for s in STATISTICS}
    return out


def beats_comparator(values: pd.DataFrame, arms: Sequence[str], comparator: str
                     ) -> dict[str, dict[str, float]]:
    """Per arm: ``p_beats_comparator`` (share of replicates whose ORR is above the
    comparator's in the same replicate; ties count half) and ``expected_orr_gain`` (mean ORR
    gain over the comparator, fraction)."""
    wide = values.pivot(index="replicate", columns="arm", values="orr")
    out = {}
    for arm in arms:
        if arm not in wide or comparator not in wide:
            continue
        gain = (wide[arm] - wide[comparator]).dropna().to_numpy(float)
        if not gain.size:
            continue
        p = float(np.mean((gain > 1e-12) + 0.5 * (np.abs(gain) <= 1e-12)))
        out[arm] = {"p_beats_comparator": p, "expected_orr_gain": float(gain.mean())}
    return out


def uncertainty(point_frame: pd.DataFrame, replicate_frame: pd.DataFrame, arms: Sequence[str],
                *, days: float, selected=None, comparator: str | None = None,
                level: float | None = None, all_evaluable: bool = False) -> dict[str, Any]:
    """Prediction intervals (and, with a ``comparator``, the chance of beating it) per arm.

    Parameters
    ----------
    point_frame : DataFrame
        The trial (one row per patient and arm).
    replicate_frame : DataFrame
        The replicate rows (:class:`ReplicateTask`) of the first patients.
    arms : sequence of str
    days : float
        Follow-up (a median PFS not reached counts as this).
    selected : collection of int, optional
        Patient ids the point estimate counts (default: every evaluable patient). A replicate
        counts these and the patients excluded from the point-estimate trial who are
        evaluable under its draws (a drawn cohort multiplier changes who is included).
    comparator : str, optional
        Arm the others are compared with (``p_beats_comparator``, ``expected_orr_gain``).
    level : float, optional
        Default from the priors (0.9).
    all_evaluable : bool
        Count a patient only if it is evaluable in every arm (the design's rule), per replicate.

    Returns
    -------
    dict
        ``{"arms": {arm: {orr_pi, cr_rate_pi, median_pfs_days_pi, ae_grade3plus_rate_pi[,
        p_beats_comparator, expected_orr_gain]}}, "replicates", "patients_per_replicate"
        (sampled), "evaluable_per_replicate" (of those, counted by the point estimate),
        "level", "values"}`` (``values``: the per-replicate table).
    """
    lvl = load_priors().level if level is None else float(level)
    point = _usable(point_frame, selected, all_evaluable)
    if selected is not None:  # patients not included at the point estimate may enter
        selected = set(selected) | set(point_frame.loc[~point_frame["included"], "patient_id"])
    reps = _usable(replicate_frame, selected, all_evaluable)
    sub_ids = set(replicate_frame["patient_id"].unique())
    p_all = arm_statistics(point, arms, days=days)
    p_sub = arm_statistics(point[point["patient_id"].isin(sub_ids)], arms, days=days)
    r_stats = arm_statistics(reps, arms, days=days)
    missing = set(arms) - set(p_sub["arm"])
    if missing:  # no replicate patient counted in an arm: its replicates say nothing
        r_stats = r_stats[~r_stats["arm"].isin(missing)]
    values = replicate_values(p_all, p_sub, r_stats)
    out = prediction_intervals(values, arms, lvl)
    if comparator is not None:
        for arm, rec in beats_comparator(values, arms, comparator).items():
            out[arm].update(rec)
    return {"arms": out, "replicates": int(replicate_frame["replicate"].nunique()),
            "patients_per_replicate": len(sub_ids),
            "evaluable_per_replicate": int(point.loc[point["patient_id"].isin(sub_ids),
                                                     "patient_id"].nunique()),
            "level": lvl, "values": values}


def _usable(frame: pd.DataFrame, selected, all_evaluable: bool) -> pd.DataFrame:
    work = frame[frame["evaluable"]] if not all_evaluable else frame
    if selected is not None:
        work = work[work["patient_id"].isin(set(selected))]
    return paired_patients(work) if all_evaluable else work


def add_prediction_intervals(summary: dict, task, patients: pd.DataFrame, out: Path,
                              replicates: int | None, *, chunk_size: int, arguments: dict,
                              progress: bool, n: int, mix: dict | None = None,
                              cluster: dict | None = None) -> None:
    """Run the effect-size replicates (``out/replicates``) and add ``orr_pi``, ``cr_rate_pi``,
    ``median_pfs_days_pi`` and ``ae_grade3plus_rate_pi`` to every arm of ``summary`` (None
    without replicates) and the settings under ``uncertainty``."""
    from immunocycle.population import select_to_mix
    from immunocycle.trial._runner import run_chunked

    priors = load_priors()
    r = priors.replicates if replicates is None else int(replicates)
    keys = ("orr_pi", "cr_rate_pi", "median_pfs_days_pi", "ae_grade3plus_rate_pi")
    if r < 1 or not summary["arms"]:
        for rec in summary["arms"]:
            rec.update(dict.fromkeys(keys))
        summary["uncertainty"] = {"replicates": 0}
        return
    first = patients[patients["arm"] == task.arms[0]]
    included = first[first["included"]]
    selected = set(included["patient_id"])
    if mix:  # the same phenotype-matched subset as summarize_trial
        keep = select_to_mix(included["phenotype"].to_numpy(), included["patient_id"].to_numpy(),
                             mix, task.seed)
        selected = set(included["patient_id"].to_numpy()[keep])
    m = replicate_count(patients, task.arms, selected=selected, priors=priors)
    if m < 1:  # no evaluable patient: the replicates would say nothing
        for rec in summary["arms"]:
            rec.update(dict.fromkeys(keys))
        summary["uncertainty"] = {"replicates": 0, "patients_per_replicate": 0}
        return
    rep = replicate_task(task, replicates=r, priors=priors)
    path = run_chunked(rep, m, out / "replicates", chunk_size=max(1, chunk_size // r),
                       arguments={**arguments, "replicates": r,
                                  "priors": {g: list(v) for g, v in priors.sigma.items()},
                                  "model_parameters": dict(priors.model_parameters),
                                  "conditioned_parameters": dict(priors.conditioned_parameters),
                                  "multiplier_log_sd": rep.multiplier_log_sd},
                       progress=progress, description=f"replicates ({r})", **(cluster or {}))
    from immunocycle.trial._table import read_patients

    u = uncertainty(patients, read_patients(path), task.arms, days=task.days,
                    selected=selected, level=priors.level)
    for rec in summary["arms"]:
        rec.update({k: u["arms"].get(rec["name"], {}).get(k) for k in keys})
    entry = _conditioning_entry(task.cohort.name, priors, task.cohort.base)
    summary["uncertainty"] = {
        "replicates": r, "patients_per_replicate": u["patients_per_replicate"],
        "evaluable_per_replicate": u["evaluable_per_replicate"],
        "level": u["level"], "replicates_file": str(path),
        "cohort_multiplier": {"parameter": task.parameter,
                              "multiplier": task.multiplier if task.parameter else None,
                              "log_sd": rep.multiplier_log_sd},
        "model_parameters": {p: {"grade": g, "log_sd": priors.widths(g)[1]}
                             for p, g in sorted(priors.model_parameters.items())},
        "conditioned_parameters": {
            p: {"grade": g, "log_sd": priors.widths(g)[1],
                "conditioned_on": entry.get("regimen") if p in entry else None}
            for p, g in sorted(priors.conditioned_parameters.items())},
        "method": "effect sizes and the efficacy caps' parameters (model_parameters) drawn from "
                  "their evidence-graded priors (data/trial/uncertainty.yaml) and the cohort "
                  "multiplier from its calibration "
                  "uncertainty (fitted.yaml multiplier_log_sd), over the same patients; a "
                  "replicate's value is the full trial's estimate plus the change the draws "
                  "make on the first sampled patients that hold patients_per_replicate "
                  "evaluable ones"}


__all__ = ["AE_OFFSET_SHIFT", "REPLICATE_COLUMNS", "Priors", "ReplicateDraws", "ReplicateTask",
           "add_prediction_intervals", "arm_groups", "arm_statistics", "beats_comparator",
           "cohort_multiplier_sd", "draw_emax", "draw_replicates", "effect_parameters", "grade_in",
           "load_priors", "prediction_intervals", "replicate_count", "replicate_task",
           "replicate_values", "uncertainty"]
