"""Reproduce the Nano-Tumor PBPK fits (Cheng 2020): all 378 data sets in one engine call.

Each data set carries the tumor parameters of the PBPK model fitted to it (QTC, VTC, BVT, PT,
PATC, KTRESrelease/max/50/n) and its body weight; the rest of the model is the Lin 2016 mouse.
The data sets differ only in parameter values, so one compiled model simulates them all at once.

By default the tumor parameters are those refitted to each data set's measured time course
(:mod:`immunocycle.pk._nanotumor_fit`; :meth:`Reproduction.ratio_at` 1.02x at 24 h, 0.98x at
168 h, medians). The released ones over-predict the measured points (1.31x at 24 h, 1.12x at
168 h) and do not give the data set's DE24/DE168 columns (median DE168 0.03 vs 0.34 %ID; the
published G1 code gives 0.027 at the same parameters): most data sets end at 24-48 h, and those
columns are partly the authors' extrapolation with another fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from immunocycle._paths import dataset_dir
from immunocycle.engine import SolverOptions, compile_model, simulate
from immunocycle.pk._pbpk import pbpk_structure
from immunocycle.pk._properties import load_nanotumor

TUMOR_COLUMNS = ("QTC", "VTC", "BVT", "PT", "PATC", "KTRESrelease", "KTRESmax", "KTRES50", "KTRESn")
# The fits were made with the G1 code: uncapped phagocytic uptake, no size-dependent renal
# filtration, no tumor lymph drainage; reproduce with the same switches.
FIT_SETTINGS = {"res_capacity_on": 0.0, "f_renal": 0.0, "tumor_lymph_frac": 0.0}


@dataclass(frozen=True)
class Reproduction:
    """Model vs data for the Nano-Tumor data sets.

    Attributes
    ----------
    datasets : DataFrame
        One row per data set: ``ID``, ``DE24``/``DE168``/``Demax`` (data set, %ID) and
        ``de24_model``/``de168_model``/``demax_model`` (%ID), ``status`` (0 = solved).
    points : DataFrame
        One row per time-course point: ``ID``, ``time_h``, ``observed`` and ``predicted`` (%ID).
    """

    datasets: pd.DataFrame
    points: pd.DataFrame

    def point_errors(self) -> dict[str, float]:
        """Median absolute log10 error and median relative error over all positive points."""
        p = self.points[(self.points["observed"] > 0) & (self.points["predicted"] > 0)]
        log_err = np.abs(np.log10(p["predicted"] / p["observed"]))
        rel = np.abs(p["predicted"] - p["observed"]) / p["observed"]
        return {"n_points": int(len(p)), "median_abs_log10_error": float(np.median(log_err)),
                "median_relative_error": float(np.median(rel)),
                "fraction_within_2fold": float(np.mean(log_err <= np.log10(2)))}

    def ratio_at(self, time_h: float) -> dict[str, float]:
        """Model against the measurements taken at ``time_h`` (h), one per data set that has one.

        Returns ``n`` (points), ``median_ratio`` (median of model / observed) and
        ``fraction_within_2fold``.
        """
        p = self.points
        p = p[np.isclose(p["time_h"], time_h) & (p["observed"] > 0) & (p["predicted"] > 0)]
        if p.empty:
            return {"n": 0, "median_ratio": float("nan"), "fraction_within_2fold": float("nan")}
        log_ratio = np.log10(p["predicted"] / p["observed"])
        return {"n": int(len(p)), "median_ratio": float(10 ** np.median(log_ratio)),
                "fraction_within_2fold": float(np.mean(np.abs(log_ratio) <= np.log10(2)))}

    def fraction_within(self, fold: float = 2.0) -> dict[str, float]:
        """Fraction of data sets whose model DE24 / DE168 lies within ``fold`` of the data set's."""
        d = self.datasets
        out = {}
        for col in ("DE24", "DE168"):
            ratio = d[f"{col.lower()}_model"] / d[col]
            out[col.lower()] = float(np.mean((ratio <= fold) & (ratio >= 1 / fold)))
        return out


def simulate_tumor_pct(tumor: pd.DataFrame, body_weight_g: np.ndarray, grid: np.ndarray,
                       options: SolverOptions | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Tumor amount (%ID) after one i.v. bolus at ``t = 0``, one row per data set.

    Parameters
    ----------
    tumor : DataFrame
        The columns of :data:`TUMOR_COLUMNS` (QTC, VTC, BVT, PT, PATC in model units;
        KTRESrelease and KTRESmax in 1/h, KTRES50 in h, KTRESn).
    body_weight_g : array
        Body weight of each data set's mice (g).
    grid : array
        Output times (h), increasing, starting at 0 (the dose).

    Returns
    -------
    pct, status : arrays
        ``(n_sets, len(grid))`` %ID in the tumor, and the solver status per set (0 = solved).
    """
    params = pd.DataFrame({c: tumor[c].to_numpy(float) for c in TUMOR_COLUMNS})
    params["BW"] = np.asarray(body_weight_g, float) / 1000.0
    # Linear model (capacity off): %ID does not depend on the dose; 1 mg/kg keeps amounts O(1e-2).
    params["dose_mg_per_kg"] = 1.0
    for k, v in FIT_SETTINGS.items():
        params[k] = v
    model = compile_model(pbpk_structure(payload=False))
    res = simulate(model, grid, params, options=options or SolverOptions(rtol=1e-6, atol=1e-12))
    dose = params["dose_mg_per_kg"].to_numpy() * params["BW"].to_numpy()
    return 100.0 * np.asarray(res["tumor_amount"]) / dose[:, None], np.asarray(res.status)


def load_timecourses() -> pd.DataFrame:
    """The measured tumor time courses: ``ID``, ``time_h`` (h after the dose),
    ``tumor_pct_injected_dose`` (%ID), ``tumor_pct_injected_dose_per_g``."""
    return pd.read_csv(dataset_dir("nanotumor") / "tumor_timecourse.csv")


def reproduce_nanotumor(options: SolverOptions | None = None,
                        tumor_fits: Literal["refit", "released"] = "refit") -> Reproduction:
    """Simulate every Nano-Tumor data set with its fitted tumor parameters (mouse, i.v. bolus).

    Parameters
    ----------
    options : SolverOptions, optional
    tumor_fits : {"refit", "released"}
        The tumor parameters refitted to the measured time courses (shipped, see
        :func:`immunocycle.pk.load_nanotumor`), or those released with the data set.

    Returns
    -------
    Reproduction
        DE24/DE168/DEmax per data set and the model at every observed time point.
    """
    data = load_nanotumor(tumor_fits=tumor_fits)
    course = load_timecourses()
    # A grid fine enough for DEmax (the G1 code takes the maximum on a 0.1 h grid).
    grid = np.unique(np.concatenate([np.arange(0.0, 180.01, 0.5), course["time_h"].to_numpy(),
                                     [24.0, 168.0]]))
    pct, status = simulate_tumor_pct(data, data["BW"].to_numpy(float), grid, options)
    at = {t: int(np.searchsorted(grid, t)) for t in (24.0, 168.0)}
    table = pd.DataFrame({"ID": data["ID"], "DE24": data["DE24"], "DE168": data["DE168"],
                          "Demax": data["Demax"], "de24_model": pct[:, at[24.0]],
                          "de168_model": pct[:, at[168.0]],
                          "demax_model": np.nanmax(pct, axis=1), "status": status})
    row = {int(i): k for k, i in enumerate(data["ID"])}
    idx = np.searchsorted(grid, course["time_h"].to_numpy())
    ks = course["ID"].map(row).to_numpy()
    points = pd.DataFrame({"ID": course["ID"], "time_h": course["time_h"],
                           "observed": course["tumor_pct_injected_dose"],
                           "predicted": pct[ks, idx]})
    return Reproduction(table, points)
