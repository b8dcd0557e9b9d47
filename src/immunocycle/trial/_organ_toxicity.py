"""Organ-level grade >= 3 adverse events by agent class, organ and formulation.

Each law of ``data/trial/organ_toxicity.yaml`` is

    P = expit( logit(rate_ref) + slope * ln(x) ),   x = organ exposure / reference organ exposure

per agent of the law in the arm (agents combined as independent risks). The organ exposure of a
therapy is its plasma exposure of payload as delivered (the cycle model's agent PK, solved here
exactly for the reference patient: a linear two-compartment system with bolus or infusion doses,
so short-lived cytokines dosed every 8 hours are not lost on a coarse output grid) times its organ
factors (:func:`immunocycle.catalog.organ_factors`: PBPK organ / plasma ratios of free and
carrier-bound payload). Metrics: ``auc`` (over the law's window), ``cmax`` (running peak) and
``cumulative_cmax`` (the sum over doses of the organ's free-drug peak per dose, in bolus-equivalent
mg/m2 of the reference therapy: anthracycline cardiotoxicity).

P(t) is evaluated on a grid from the start of treatment with the exposure accumulated up to t; a
patient's grade >= 3 event of a law happens when its uniform u (common random numbers, seeded by
``(seed, patient_id, law)``) is below P(end), at the first time P(t) >= u (the onset time). The
checkpoint irAE laws of ``data/cohorts/toxicity.yaml`` (per patient, driven by their simulated
blood exposure and activation) are split by organ with the cited shares and get onset times the
same way.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from immunocycle._paths import PACKAGE_DATA
from immunocycle._seeded import patient_uniforms

# The uniforms of the AE draws are keyed (seed, patient, _STREAM, offset + j) for the j-th name
# (patient_uniform_columns): the AE types (trial._toxicity.ae_uniforms) from 0, the organ laws
# from 100, the organ split of immune AEs from 200.
_STREAM = 0xAE
AE_TYPE_STREAM = 0
_LAW_STREAM = 100
_SPLIT_STREAM = 200
GRID_STEP_DAYS = 0.25
_SUFFIXES = ("_paired", "_maintenance")


@functools.cache
def organ_laws() -> dict:
    """``data/trial/organ_toxicity.yaml`` (checked: every law has an organ, form, metric,
    reference rate in (0, 1) and slope > 0)."""
    import yaml

    from immunocycle._errors import DataError

    path = PACKAGE_DATA / "trial" / "organ_toxicity.yaml"
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    for name, law in data["laws"].items():
        refs = [law["reference"], *law.get("references", {}).values()]
        for ref in refs:
            if not 0 < float(ref["rate"]) < 1:
                raise DataError(f"{path}: laws.{name}.reference.rate must be in (0, 1)")
            if len(str(ref.get("source", ""))) < 3:
                raise DataError(f"{path}: laws.{name}: every reference needs a source")
        if not float(law["slope"]) > 0 or len(str(law.get("slope_source", ""))) < 3:
            raise DataError(f"{path}: laws.{name}.slope must be > 0 with a slope_source")
        if law["form"] not in ("free", "bound", "total"):
            raise DataError(f"{path}: laws.{name}.form must be free, bound or total")
        if law["metric"] not in ("auc", "cmax", "cumulative_cmax"):
            raise DataError(f"{path}: laws.{name}.metric must be auc, cmax or cumulative_cmax")
    return data


def law_names() -> list[str]:
    """Names of the organ laws (``ae_<law>`` columns)."""
    return list(organ_laws()["laws"])


def split_types() -> list[str]:
    """Organ types the checkpoint irAE laws are split into."""
    out: list[str] = []
    for shares in organ_laws()["immune_split"].values():
        out += [t for t in shares if t not in out]
    return out


def ae_type_names() -> list[str]:
    """Every reported AE type (``ae_by_type`` keys, ``ae_type_<type>`` columns)."""
    return [*split_types(), "other", *law_names()]


# ---------------------------------------------------------------- plasma exposure (exact PK)
@dataclass(frozen=True)
class PlasmaExposure:
    """Plasma exposure of one therapy's payload as delivered, in the reference patient.

    Attributes
    ----------
    grid : ndarray
        Days from the start of treatment.
    auc : ndarray
        Running AUC (nmol/L x day) on ``grid``.
    peak : ndarray
        Running maximum concentration (nmol/L) on ``grid``.
    dose_times : ndarray
        Administration times (days).
    dose_peak : float
        Peak plasma concentration of one administration alone (nmol/L).
    dose_mg_per_m2 : float
        One administration in mg/m2 (Km factor of the species).
    """

    grid: np.ndarray
    auc: np.ndarray
    peak: np.ndarray
    dose_times: np.ndarray
    dose_peak: float
    dose_mg_per_m2: float

    def at(self, values: np.ndarray, t: float) -> float:
        return float(np.interp(t, self.grid, values))


@functools.cache
def _preset(species: str) -> dict[str, float]:
    from immunocycle.cycle import resolve_preset

    p = resolve_preset(species)[0]
    return {k: float(p[k].value) for k in ("V_blood", "V_P", "body_weight")}


@functools.cache
def _km(species: str) -> float:
    from immunocycle.catalog import load_catalog

    return float(load_catalog().pk.km[species])


def plasma_exposure(therapy, days: float, species: str = "human") -> PlasmaExposure:
    """Exact plasma exposure of a cycle-model therapy (its blood and peripheral PK states; the
    tumor and node take a negligible share of the dose)."""
    pk = {k: float(v.value) for k, v in therapy.pk.items()}
    pre = _preset(species)
    vb, vp = pre["V_blood"], pre["V_P"]
    k_cl, q = pk["k_cl"], pk["q_P"]
    gc, gp = pk["gamma_C"], pk["gamma_P"]
    # plasma concentration = central amount / V1 (V1 = gamma_C V_blood), cleared by CL (cycle._pk)
    v1 = gc * vb
    m = np.array([[-(k_cl + q) / v1, q / (gp * vp)], [q / v1, -q / (gp * vp)]])
    lam, vec = np.linalg.eig(m)
    lam, vec = lam.real, vec.real
    a = vec[0, :] * np.linalg.inv(vec)[:, 0] / v1  # conc per nmol = sum_k a_k exp(lam_k s)
    d = therapy.dosing
    dose_mg = d.amount * (pre["body_weight"] if d.units == "mg/kg" else 1.0)
    dose_nmol = dose_mg / pk["MW"]
    mg_per_m2 = (d.amount if d.units == "mg/kg" else d.amount / pre["body_weight"]) * _km(species)
    times = np.array(d.times(), dtype=float)
    n_sub = 1 if d.duration <= 0 else 8
    offsets = (np.arange(n_sub) + 0.5) / n_sub * d.duration if n_sub > 1 else np.zeros(1)
    sub_t = (times[:, None] + offsets[None, :]).ravel()
    sub_d = np.full(sub_t.size, dose_nmol / n_sub)
    grid = np.arange(0.0, float(days) + 1e-9, GRID_STEP_DAYS)

    def conc(t: np.ndarray, ts: np.ndarray, ds: np.ndarray) -> np.ndarray:
        s = t[:, None] - ts[None, :]
        on = s >= 0
        e = np.exp(np.where(on[..., None], s[..., None], 0.0) * lam) @ a
        return (np.where(on, e, 0.0) * ds).sum(axis=1)

    def integral(t: np.ndarray) -> np.ndarray:
        s = np.maximum(t[:, None] - sub_t[None, :], 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(np.abs(lam) > 1e-12, np.expm1(s[..., None] * lam) / lam, s[..., None])
        return (g @ a * sub_d).sum(axis=1)

    auc = integral(grid)
    probe = np.concatenate([sub_t + 1e-9, times + d.duration])
    probe = probe[probe <= grid[-1]]
    c_probe = conc(probe, sub_t, sub_d) if probe.size else np.zeros(0)
    peak = np.zeros_like(grid)
    for t, c in zip(probe, c_probe, strict=True):
        peak[grid >= t] = np.maximum(peak[grid >= t], c)
    one = (offsets + 1e-9) if n_sub > 1 else np.array([1e-9])
    single = conc(np.concatenate([one, [d.duration + 1e-9]]), offsets,
                  np.full(offsets.size, dose_nmol / n_sub))
    return PlasmaExposure(grid=grid, auc=auc, peak=peak, dose_times=times,
                          dose_peak=float(single.max()), dose_mg_per_m2=float(mg_per_m2))


# ---------------------------------------------------------------- therapy identity
def catalog_entry(therapy):
    """The catalog therapy behind a cycle-model therapy (None for the cycle's own antibodies);
    ``_paired`` / ``_maintenance`` suffixes name the same entry."""
    from immunocycle.catalog import load_catalog

    cat = load_catalog()
    name = therapy.name
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in cat.therapies:
            name = name[: -len(suffix)]
    return cat.therapies.get(name)


def therapy_agents(therapy) -> dict[str, float]:
    """Agent -> molar amount per mole of the simulated (primary) agent."""
    entry = catalog_entry(therapy)
    if entry is None:
        return {therapy.name: 1.0}
    return {a: (1.0 if k == 0 else float(entry.dose.co_loading.get(a, 1.0)))
            for k, a in enumerate(entry.agents)}


@functools.lru_cache(maxsize=256)
def _factors(name: str):
    from immunocycle.catalog import load_catalog, organ_factors

    cat = load_catalog()
    base = name
    for suffix in _SUFFIXES:
        if base.endswith(suffix) and base[: -len(suffix)] in cat.therapies:
            base = base[: -len(suffix)]
    entry = cat.therapies.get(base)
    if name.endswith("_paired") and entry is not None:
        # the free counterpart given at the nano's dose: free formulation
        return organ_factors(entry)
    return organ_factors(entry)


def therapy_carrier(therapy) -> str | None:
    """The carrier class of a cycle-model therapy (None: free)."""
    from immunocycle.catalog import load_catalog

    entry = catalog_entry(therapy)
    if entry is None or entry.is_free or therapy.name.endswith("_paired"):
        return None
    return load_catalog().formulations[entry.formulation].carrier


def _window(law: dict, days: float) -> float:
    w = law.get("window_days", "default")
    if w == "default":
        w = organ_laws()["window_days"]
    return float(days) if w is None else min(float(w), float(days))


def _exposure_curve(law: dict, therapy, exp: PlasmaExposure, ratio: float, days: float) -> np.ndarray:
    """Organ exposure of one therapy on its grid for a law (units of the metric)."""
    f = _factors(therapy.name).factor(law["form"], "cmax" if "cmax" in law["metric"] else "auc",
                                      law["organ"], law.get("unbound", True))
    w = _window(law, days)
    if law["metric"] == "auc":
        return ratio * f * np.interp(np.minimum(exp.grid, w), exp.grid, exp.auc)
    if law["metric"] == "cmax":
        return ratio * f * np.interp(np.minimum(exp.grid, w), exp.grid, exp.peak)
    n = np.searchsorted(exp.dose_times, exp.grid, side="right")  # doses given by t
    return ratio * f * exp.dose_peak * n


@functools.lru_cache(maxsize=64)
def reference_exposure(law_name: str, agent: str | None = None) -> float:
    """Exposure of a law's reference therapy (for ``agent``) in the reference patient."""
    from immunocycle.catalog import resolve_arm

    law = organ_laws()["laws"][law_name]
    ref = law.get("references", {}).get(agent, law["reference"])
    therapy = resolve_arm(ref["therapy"], "human")[0]
    horizon = 365.0
    exp = plasma_exposure(therapy, horizon)
    if law["metric"] == "cumulative_cmax":
        f = _factors(therapy.name).factor(law["form"], "cmax", law["organ"],
                                          law.get("unbound", True))
        return f * exp.dose_peak / exp.dose_mg_per_m2 * float(ref["cumulative_mg_per_m2"])
    return float(_exposure_curve(law, therapy, exp, 1.0, horizon)[-1])


def _reference(law: dict, agent: str) -> dict:
    return law.get("references", {}).get(agent, law["reference"])


def law_matches(law: dict, therapy) -> list[tuple[str, float]]:
    """(agent, molar ratio) pairs of a therapy a law applies to."""
    if "carriers" in law:
        carrier = therapy_carrier(therapy)
        return [(therapy.name, 1.0)] if carrier in law["carriers"] else []
    return [(a, r) for a, r in therapy_agents(therapy).items() if a in law.get("agents", [])]


def law_curves(therapies: Sequence, days: float) -> dict[str, np.ndarray]:
    """P(t) of each organ law on the grid for an arm (patient-independent), and ``grid``."""
    laws = organ_laws()["laws"]
    grid = np.arange(0.0, float(days) + 1e-9, GRID_STEP_DAYS)
    out = {"grid": grid}
    exposures = {}
    for name, law in laws.items():
        survive = np.ones_like(grid)
        for therapy in therapies:
            for agent, ratio in law_matches(law, therapy):
                if therapy.name not in exposures:
                    exposures[therapy.name] = plasma_exposure(therapy, days)
                x = _exposure_curve(law, therapy, exposures[therapy.name], ratio, days)
                key = None if "carriers" in law else agent
                ref = reference_exposure(name, key)
                rate = float(_reference(law, key)["rate"])
                with np.errstate(divide="ignore"):
                    z = logit(rate) + float(law["slope"]) * np.log(np.maximum(x / ref, 0.0))
                survive = survive * (1.0 - expit(z))
        out[name] = 1.0 - survive
    return out


def predict_ae(arm: str | Sequence, days: float = 365.0, species: str = "human") -> dict:
    """Grade >= 3 probability of each organ law for an arm in the reference patient (no trial).

    Parameters
    ----------
    arm : str or sequence of cycle-model Therapy
        An arm (``"urelumab_free@1mg/kg:q3w"``, ``"doxil+nivolumab"``) or its therapies.
    days : float
        Treatment and follow-up (days).

    Returns
    -------
    dict
        ``{"laws": {law: P}, "any": P(any organ law)}``.
    """
    from immunocycle.catalog import resolve_arm

    therapies = resolve_arm(arm, species) if isinstance(arm, str) else list(arm)
    curves = law_curves(therapies, days)
    laws = {k: float(v[-1]) for k, v in curves.items() if k != "grid"}
    return {"laws": laws, "any": float(1.0 - np.prod([1.0 - p for p in laws.values()]))}


def organ_exposure_table(therapies: Sequence, days: float) -> dict[str, dict[str, float]]:
    """Per organ, AUC (nmol/L x day, over ``days``) of free and bound payload summed over an
    arm's therapies, in the reference patient (for nano-vs-free rows)."""
    from immunocycle.catalog import organs

    out = {o: {"free_auc": 0.0, "bound_auc": 0.0} for o in organs()}
    for therapy in therapies:
        exp = plasma_exposure(therapy, days)
        f = _factors(therapy.name)
        for o in out:
            out[o]["free_auc"] += f.factor("free", "auc", o) * float(exp.auc[-1])
            out[o]["bound_auc"] += f.factor("bound", "auc", o) * float(exp.auc[-1])
    return out


# ---------------------------------------------------------------- per patient
def patient_uniform_columns(ids: Sequence[int], seed: int, stream: int,
                            names: Sequence[str]) -> pd.DataFrame:
    """One uniform per patient and name, seeded by (seed, patient, AE stream, ``stream`` + the
    name's position); the same in every arm and whatever the chunking."""
    return pd.DataFrame({n: patient_uniforms(seed, ids, _STREAM, stream + j)
                         for j, n in enumerate(names)})


def _onset(grid: np.ndarray, p_t: np.ndarray, u: np.ndarray) -> np.ndarray:
    """First grid time with P(t) >= u per patient (NaN when never); ``p_t`` (n, t) or (t,)."""
    p_t = np.atleast_2d(p_t)
    if p_t.shape[0] == 1 and u.size > 1:
        p_t = np.repeat(p_t, u.size, axis=0)
    hit = p_t >= u[:, None]
    first = np.argmax(hit, axis=1)
    return np.where(hit.any(axis=1), grid[first], np.nan)


def organ_ae_columns(result, therapies: Sequence, patient_ids: Sequence[int], seed: int, *,
                     step: float, offset: float, immune_flags: pd.DataFrame,
                     immune_uniforms: pd.DataFrame, immune_curves: tuple, days: float | None = None) -> pd.DataFrame:
    """Organ-law probabilities and flags (``p_ae_<law>``, ``ae_<law>``), per-type grade >= 3
    flags (``ae_type_<type>``: subsets of the law flags, so any() over ``ae_*`` is unchanged),
    onset times (``onset_<type>_days``) and the first onset of any type (``onset_grade3_days``)
    of one arm's patients.

    ``immune_flags`` / ``immune_uniforms``: the ``ae_<law>`` flags and uniforms of the checkpoint
    laws (data/cohorts/toxicity.yaml), split here by organ.
    """
    ids = list(patient_ids)
    n = len(ids)
    days = float(days if days is not None else np.asarray(result.times)[-1])
    data = organ_laws()
    names = law_names()
    curves = law_curves(therapies, days)
    u = patient_uniform_columns(ids, seed, _LAW_STREAM, names)
    out: dict[str, np.ndarray] = {}
    onsets: dict[str, np.ndarray] = {}
    for name in names:
        p_end = float(curves[name][-1])
        flag = u[name].to_numpy() < p_end
        out[f"p_ae_{name}"] = np.full(n, p_end)
        out[f"ae_{name}"] = flag
        onsets[name] = np.where(flag, _onset(curves["grid"], curves[name], u[name].to_numpy()),
                                np.nan)
    # checkpoint laws: onset from their per-patient P(t); split by organ
    t_imm, imm_curves = immune_curves
    splits = data["immune_split"]
    types = split_types()
    split_u = patient_uniform_columns(ids, seed, _SPLIT_STREAM, list(imm_curves))
    typed = {k: np.zeros(n, bool) for k in ae_type_names()}
    typed_onset = {k: np.full(n, np.nan) for k in ae_type_names()}
    for law, curve in imm_curves.items():
        flag = immune_flags[f"ae_{law}"].to_numpy(dtype=bool)
        when = np.where(flag, _onset(t_imm, curve, immune_uniforms[law].to_numpy()), np.nan)
        when = np.where(flag & np.isnan(when), t_imm[-1], when)
        if law in splits:
            shares = np.array([splits[law].get(k, 0.0) for k in types], dtype=float)
            cum = np.cumsum(shares / shares.sum())
            pick = np.minimum(np.searchsorted(cum, split_u[law].to_numpy(), side="right"),
                              len(types) - 1)
            for j, k in enumerate(types):
                hit = flag & (pick == j)
                typed[k] |= hit
                typed_onset[k] = np.fmin(typed_onset[k], np.where(hit, when, np.nan))
        else:
            key = law if law in typed else "other"
            typed[key] |= flag
            typed_onset[key] = np.fmin(typed_onset[key], when)
    for name in names:
        typed[name] = out[f"ae_{name}"]
        typed_onset[name] = onsets[name]
    first = np.full(n, np.nan)
    for k in ae_type_names():
        out[f"ae_type_{k}"] = typed[k]
        out[f"onset_{k}_days"] = typed_onset[k]
        first = np.fmin(first, typed_onset[k])
    out["onset_grade3_days"] = first
    return pd.DataFrame(out)


def law_summary() -> dict:
    """The organ laws as plain data (provenance)."""
    return {k: v for k, v in organ_laws().items()}


__all__ = ["PlasmaExposure", "ae_type_names", "catalog_entry", "law_curves", "law_matches", "law_names", "law_summary", "organ_ae_columns",
           "organ_exposure_table", "organ_laws", "plasma_exposure", "predict_ae",
           "reference_exposure", "split_types", "therapy_agents", "therapy_carrier"]
