"""Human nanomedicine PK: the calibration set, the fit of the human MPS factors, leave-one-out.

The human PBPK is the mouse structure with human physiology and allometrically scaled particle
rate constants. Its organ-phagocyte (MPS) uptake and release are multiplied by three factors
(``allometry.yaml``: ``human_mps_uptake_scale``, ``human_mps_release_scale``,
``human_non_peg_uptake_factor``) fitted here to the total-drug terminal half-life and clearance
of the products in ``human_nano_pk.yaml`` by a grid search (log errors, squared, summed).
Leave-one-out: each product is predicted with the factors fitted to the others.

Each product is simulated as given: its payload dose (mg/m2 x the reference surface area), a
bolus (infusions of 0.5-3 h are short against the half-lives scored), its release class (not
fitted to clearance or half-life; the leaky class is calibrated to Myocet's encapsulated share
of plasma AUC) and the free payload as a two-compartment model built from the conventional
drug's half-life, clearance and Vss (:func:`free_two_compartment`). Plasma total drug is
carrier-bound plus free payload.

Known structural limit: the terminal half-life is read where the assay would see it (above 0.1 %
of Cmax, within 2 weeks). A carrier that leaks its drug within hours (Myocet) then shows the
carrier's half-life (~0.5 h), while the published 52.6 h is the free-drug tail far below 0.1 % of
Cmax, which a sensitive assay still measured; no shared factor changes that.

Refit (prints the factors to put into ``allometry.yaml``) with
``python -m immunocycle.pk._human``.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pandas as pd
import yaml

from immunocycle._errors import DataError
from immunocycle.engine import SolverOptions, simulate
from immunocycle.pk._data import PK_DATA, human_mps_factors, human_mps_values
from immunocycle.pk._formulation import Release, pbpk_values
from immunocycle.pk._human_tumor import harrington_deposition
from immunocycle.pk._properties import Particle

HUMAN_SET_FILE = PK_DATA / "human_nano_pk.yaml"
REFIT_COMMAND = "python -m immunocycle.pk._human"
SCORED = ("half_life_h", "clearance_l_per_h")
LLOQ_FRACTION = 0.001  # concentrations below 0.1 % of Cmax count as unobserved (assay range)
SAMPLING_H = 336.0  # last sampling time of a clinical PK study (2 weeks)
# Grid of the fit (log-spaced multipliers). Coarse enough to run in about a minute.
GRID = {
    "uptake_scale": tuple(float(x) for x in np.logspace(-1, 2, 31)),
    "release_scale": (0.0, 0.1, 1.0),
    "non_peg_factor": tuple(float(x) for x in np.logspace(0, 2, 17)),
}


@functools.cache
def human_set() -> dict:
    """The human calibration set (``human_nano_pk.yaml``), parsed.

    Raises
    ------
    DataError
        If a product lacks a field the evaluation needs.
    """
    data = yaml.safe_load(HUMAN_SET_FILE.read_text())
    need = ("payload", "diameter_nm", "pegylated", "release", "dose_mg_per_m2", "source")
    for key, prod in data["products"].items():
        missing = [f for f in need if f not in prod]
        if missing:
            raise DataError(f"{HUMAN_SET_FILE.name}: products.{key} lacks {missing}")
        if prod["payload"] not in data["free_payloads"]:
            raise DataError(f"{HUMAN_SET_FILE.name}: products.{key}.payload "
                            f"{prod['payload']!r} has no free_payloads entry")
        if prod["release"] not in data["release_classes"]:
            raise DataError(f"{HUMAN_SET_FILE.name}: products.{key}.release "
                            f"{prod['release']!r} is not a release class")
    return data


def free_two_compartment(half_life_h: float, clearance_l_per_h: float, vss_l: float,
                         central_fraction: float = 0.05) -> dict[str, float]:
    """A two-compartment model (``CL_f``, ``V1_f``, ``Q_f``, ``V2_f``) with the given terminal
    half-life, clearance and Vss; the central volume is ``central_fraction`` of Vss.

    The intercompartmental clearance is solved (bisection on log Q) so that the slower
    eigenvalue equals ln2 / half-life. A half-life shorter than ``ln2 Vss / CL`` (the
    one-compartment limit) cannot be met with that Vss; the nearest attainable is used.
    """
    cl, v1 = clearance_l_per_h, central_fraction * vss_l
    v2 = vss_l - v1
    target = math.log(2) / half_life_h

    def lam_z(q: float) -> float:
        k10, k12, k21 = cl / v1, q / v1, q / v2
        s = k10 + k12 + k21
        return 0.5 * (s - math.sqrt(s * s - 4 * k10 * k21))

    lo, hi = -8.0, 8.0  # log10 Q; lam_z rises with Q towards CL / Vss
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if lam_z(10 ** mid) < target:
            lo = mid
        else:
            hi = mid
    return {"CL_f": cl, "V1_f": v1, "Q_f": 10 ** (0.5 * (lo + hi)), "V2_f": v2}


def _particle(prod: dict, dose_mg_per_kg: float) -> Particle:
    return Particle(carrier_class="Organic", diameter_nm=prod["diameter_nm"],
                    tumor_model="Xenograft Heterotopic", cancer_type="breast",
                    dose_mg_per_kg=dose_mg_per_kg)


@functools.cache
def _product_base(key: str) -> tuple[tuple[tuple[str, float], ...], float]:
    data = human_set()
    prod = data["products"][key]
    bsa = data["reference_bsa_m2"]["value"]
    dose_mg = prod["dose_mg_per_m2"] * bsa
    release = Release(rate_per_h=data["release_classes"][prod["release"]]["rate_per_h"])
    values, _, _ = pbpk_values("human", "iv", None, "doxorubicin", release)
    particle = _particle(prod, dose_mg / values["BW"])
    values, _, _ = pbpk_values("human", "iv", particle, "doxorubicin", release, loading=1.0)
    free = data["free_payloads"][prod["payload"]]
    values.update(free_two_compartment(free["half_life_h"], free["clearance_l_per_h"],
                                       free["vss_l"]))
    return tuple(values.items()), dose_mg


def product_values(key: str, factors: dict[str, float] | None = None) -> tuple[dict, float]:
    """Model parameter values of one product in a human, and its payload dose (mg).

    ``factors``: ``uptake_scale``, ``release_scale``, ``non_peg_factor``, ``onset_h``
    (default: the fitted ones of ``allometry.yaml``).
    """
    base, dose_mg = _product_base(key)
    values = dict(base)
    prod = human_set()["products"][key]
    f = {**human_mps_factors(), **(factors or {})}
    values.update(human_mps_values(f["uptake_scale"], f["release_scale"], f["onset_h"],
                                   pegylated=bool(prod["pegylated"]),
                                   non_peg_factor=f["non_peg_factor"]))
    return values, dose_mg


def _times(horizon_h: float) -> np.ndarray:
    early = [0.0, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0]
    return np.unique(np.concatenate([early, np.arange(12.0, horizon_h + 1e-9, 4.0)]))


def _nca(t: np.ndarray, c: np.ndarray, dose: float) -> dict[str, float]:
    """Non-compartmental terminal half-life, clearance (dose/AUCinf) and Vss (CL x MRT).

    As a clinical study: concentrations below ``LLOQ_FRACTION`` of Cmax or after
    ``SAMPLING_H`` are not observed, the terminal slope is fitted over the last 40 % of the
    observed points.
    """
    cmax = float(np.max(c))
    ok = np.nonzero((c > LLOQ_FRACTION * cmax) & (t <= SAMPLING_H))[0]
    last = ok[-1]
    first = max(int(np.argmax(c)) + 1, int(0.6 * last))
    sl = slice(first, last + 1)
    lam = -np.polyfit(t[sl], np.log(c[sl]), 1)[0]
    auc = float(np.trapezoid(c[:last + 1], t[:last + 1]))
    aumc = float(np.trapezoid(c[:last + 1] * t[:last + 1], t[:last + 1]))
    cl_, tl = c[last], t[last]
    auc_inf = auc + cl_ / lam
    aumc_inf = aumc + cl_ * tl / lam + cl_ / lam ** 2
    cl = dose / auc_inf
    return {"half_life_h": float(math.log(2) / lam), "clearance_l_per_h": float(cl),
            "vss_l": float(cl * aumc_inf / auc_inf)}


def simulate_products(rows: list[tuple[str, dict[str, float]]]) -> list[dict[str, float]]:
    """Plasma total-drug NCA metrics for (product key, factors) pairs, in one batch.

    Each result has ``half_life_h``, ``clearance_l_per_h`` and ``vss_l`` (:func:`_nca`) and
    ``encapsulated_auc_fraction``: the carrier-bound share of the plasma total-drug AUC over
    the horizon (what a study that assays encapsulated and total drug reports; the leaky release
    class is calibrated to Myocet's).
    """
    from immunocycle.pk._run import _compiled

    compiled = _compiled(True, "iv", 0.0, (0.0,), None)
    horizon = float(human_set()["horizon_h"]["value"])
    t = _times(horizon)
    frames, doses, vps = [], [], []
    for key, factors in rows:
        values, dose = product_values(key, factors)
        frames.append({k: v for k, v in values.items() if k in compiled.parameter_names})
        doses.append(dose)
        vps.append(values["BW"] * values["VPlasC"])
    sim = simulate(compiled, t, pd.DataFrame(frames),
                   options=SolverOptions(rtol=1e-7, atol=1e-10 * max(doses)))
    out = []
    for i, dose in enumerate(doses):
        if sim.status[i] != 0:
            out.append({k: float("nan") for k in (*SCORED, "vss_l", "encapsulated_auc_fraction")})
            continue
        bound = np.asarray((sim["PB_art"][i] + sim["PB_ven"][i]) / vps[i], dtype=float)
        plasma = bound + np.asarray(sim["C_free_blood"][i], dtype=float)
        res = _nca(t, plasma, dose)
        res["encapsulated_auc_fraction"] = float(np.trapezoid(bound, t) / np.trapezoid(plasma, t))
        out.append(res)
    return out


def human_product_pk(key: str) -> dict[str, float]:
    """Predicted total-drug terminal half-life (h), clearance (L/h) and Vss (L) of one product of
    the human calibration set (``human_nano_pk.yaml``) with the fitted human factors."""
    if key not in human_set()["products"]:
        from immunocycle._errors import InputError

        raise InputError(f"product: unknown product {key!r}; choose one of "
                         f"{', '.join(human_set()['products'])}")
    return simulate_products([(key, {})])[0]


def scored_products() -> list[str]:
    """Products with an observed half-life or clearance (the fit and the score use these)."""
    return [k for k, p in human_set()["products"].items()
            if p.get("observed") and any(p["observed"].get(m) for m in SCORED)]


def _log_errors(pred: dict, obs: dict) -> float:
    return sum(math.log(pred[m] / obs[m]) ** 2 for m in SCORED if obs.get(m))


def fit_grid() -> dict:
    """Grid search of the human factors; the in-sample best and the leave-one-out picks.

    Returns
    -------
    dict
        ``best`` (factors minimising the summed squared log errors over all scored
        products), ``objective`` (that minimum), ``objective_in_use`` (the objective at the
        grid point nearest the factors of ``allometry.yaml``; the surface is flat enough that
        the two can differ by a fraction of a percent), ``loo`` (product -> factors fitted
        without it).
    """
    keys = scored_products()
    onset = human_mps_factors()["onset_h"]
    combos = [dict(zip(GRID, c, strict=True)) | {"onset_h": onset}
              for c in itertools.product(*GRID.values())]
    # Non-PEG factor only matters for non-PEG products: simulate PEG products once per
    # (uptake, release) pair.
    prods = human_set()["products"]
    rows, index = [], {}
    for ci, c in enumerate(combos):
        for k in keys:
            eff = dict(c)
            if prods[k]["pegylated"]:
                eff["non_peg_factor"] = 1.0
            sig = (k, eff["uptake_scale"], eff["release_scale"], eff["non_peg_factor"])
            if sig not in index:
                index[sig] = len(rows)
                rows.append((k, eff))
            index[(ci, k)] = index[sig]
    preds = simulate_products(rows)
    err = np.array([[_log_errors(preds[index[(ci, k)]], prods[k]["observed"]) for k in keys]
                    for ci in range(len(combos))])
    err = np.where(np.isfinite(err), err, np.inf)
    best = int(np.argmin(err.sum(axis=1)))
    loo = {}
    for j, k in enumerate(keys):
        others = err.sum(axis=1) - err[:, j]
        loo[k] = combos[int(np.argmin(others))]
    use = human_mps_factors()
    near = int(np.argmin([sum(math.log((c[f] + 1e-3) / (use[f] + 1e-3)) ** 2 for f in GRID)
                          for c in combos]))
    return {"best": combos[best], "loo": loo, "objective": float(err[best].sum()),
            "objective_in_use": float(err[near].sum())}


def _fold(pred: float, obs: float) -> float:
    return float(max(pred / obs, obs / pred))


def evaluate_human(loo: bool = True) -> dict:
    """Predicted vs observed half-life, clearance and Vss of every product in the human set.

    Parameters
    ----------
    loo : bool
        Also refit the factors without each product (grid search, about a minute) and report
        the leave-one-out predictions and fold errors.

    Returns
    -------
    dict
        ``factors`` (the fitted factors in use), ``products`` (per product: observed,
        predicted, fold errors, LOO predictions and fold errors, source), ``summary`` (how
        many products fall within 2-fold, in-sample and LOO), ``tumor_deposition`` (64Cu-MM-302
        prediction against the published range).
    """
    data = human_set()
    factors = human_mps_factors()
    keys = list(data["products"])
    preds = simulate_products([(k, factors) for k in keys])
    fit = fit_grid() if loo else None
    loo_preds = {}
    if fit is not None:
        rows = [(k, fit["loo"][k]) for k in scored_products()]
        loo_preds = dict(zip(scored_products(), simulate_products(rows), strict=True))
    out_products = {}
    for k, pred in zip(keys, preds, strict=True):
        prod = data["products"][k]
        obs = prod.get("observed") or {}
        entry = {"label": prod.get("label", k), "payload": prod["payload"],
                 "release": prod["release"], "pegylated": bool(prod["pegylated"]),
                 "verified": bool(prod.get("verified", False)),
                 "verified_metrics": (list(obs) if prod.get("verified")
                                      else list(prod.get("verified_metrics", []))),
                 "observed": obs or None, "predicted": pred, "source": prod["source"]}
        if obs:
            entry["fold_error"] = {m: _fold(pred[m], obs[m]) for m in obs if obs.get(m)}
            entry["within_2fold"] = {m: v <= 2.0 for m, v in entry["fold_error"].items()}
        if k in loo_preds:
            entry["loo_predicted"] = loo_preds[k]
            entry["loo_fold_error"] = {m: _fold(loo_preds[k][m], obs[m]) for m in obs
                                       if obs.get(m)}
            entry["loo_factors"] = fit["loo"][k]
        out_products[k] = entry
    scored = scored_products()

    def within(which: str, metric: str) -> int:
        return sum(1 for k in scored if out_products[k].get(which, {}).get(metric, np.inf) <= 2.0)

    summary = {"n_scored": len(scored), "not_scored": [k for k in keys if k not in scored]}
    for m in (*SCORED, "vss_l"):
        summary[f"n_observed_{m}"] = sum(1 for k in scored if out_products[k]["observed"].get(m))
    for which in ("fold_error", "loo_fold_error"):
        if which == "loo_fold_error" and not loo:
            continue
        for m in (*SCORED, "vss_l"):
            summary[f"{which}_within_2fold_{m}"] = within(which, m)
    return {"factors": factors, "refit_command": REFIT_COMMAND,
            "grid_best": fit["best"] if fit else None,
            "grid_objective": ({"best": fit["objective"], "in_use": fit["objective_in_use"]}
                               if fit else None),
            "products": out_products,
            "summary": summary, "tumor_deposition": mm302_deposition(),
            "tumor_deposition_by_size": harrington_deposition()}


def mm302_deposition() -> dict:
    """Predicted 64Cu-MM-302 tumor deposition (%ID/kg) at 24 and 48 h vs the published range."""
    from immunocycle.pk._run import run_pk

    target = human_set()["tumor_deposition"]["mm302"]
    particle = Particle(carrier_class="Organic", diameter_nm=target["diameter_nm"],
                        targeted=True, tumor_model="Xenograft Heterotopic",
                        cancer_type="breast", dose_mg_per_kg=0.5)
    res = run_pk(particle, species="human", horizon_h=max(target["time_h"]) + 24.0)
    v_kg = res.parameters["BW"] * res.parameters["VTC"]  # L = kg at 1 kg/L
    pct = res.pct_id["tumor"]
    pred = {f"{h:g}h": float(np.interp(h, pct.index, pct.to_numpy()) / v_kg)
            for h in target["time_h"]}
    lo, hi = target["range_pct_id_per_kg"]
    return {"label": target["label"], "predicted_pct_id_per_kg": pred,
            "published_range_pct_id_per_kg": [lo, hi], "tumor_mass_kg": v_kg,
            "within_range": all(lo <= v <= hi for v in pred.values()),
            "source": target["source"]}


if __name__ == "__main__":  # pragma: no cover - the refit command
    res = fit_grid()
    print("best factors (put into allometry.yaml):", res["best"])
    print("objective (sum of squared log errors):", res["objective"],
          "; at the factors in use:", res["objective_in_use"])
    for k, v in res["loo"].items():
        print("LOO without", k, v)
