"""Particle properties -> tumor delivery: a model trained on the Nano-Tumor data set.

From a nanoparticle's properties and the tumor model it is given to, predict the delivery
efficiency to the tumor (DE24, DE168, DEmax in % of injected dose, %ID) and the tumor parameters
of the PBPK model fitted to each data set (Cheng 2020, ACS Nano; see
``shared/data/nanotumor/README.md``), as refitted to the measured time courses
(:mod:`immunocycle.pk._nanotumor_fit`, ``data/pk/nanotumor_fits.csv``).

Model: extremely randomized trees (scikit-learn ``ExtraTreesRegressor``), multi-output, on
log10 targets. One forest predicts the three delivery endpoints jointly (each tree leaf averages
whole data sets, so DEmax >= DE24 and DE168 is kept); a second forest predicts the six PBPK
parameters. The 10-90 % band comes from the spread of the trees, widened by a factor measured
out of fold so that it covers 80 % of held-out data sets (a normalized conformal band).

Refit and rewrite the shipped model with ``python -m immunocycle.pk._properties`` (after
``python -m immunocycle.pk._nanotumor_fit`` when the tumor fits change).
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import sys
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import sklearn
import skops.io as sio
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sklearn.compose import make_column_transformer
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.impute import SimpleImputer
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from immunocycle._errors import DataError, InputError
from immunocycle._paths import PACKAGE_DATA, dataset_dir

MODEL_FILE = PACKAGE_DATA / "pk" / "delivery_model.skops"
REFIT_COMMAND = "python -m immunocycle.pk._properties"
#: Tumor parameters of every data set refitted to its measured time course (derived from the
#: shared data; ``immunocycle.pk._nanotumor_fit`` writes it and its description beside it).
TUMOR_FITS_FILE = PACKAGE_DATA / "pk" / "nanotumor_fits.csv"
TUMOR_FITS_COMMAND = "python -m immunocycle.pk._nanotumor_fit"

# Test-set R2 of the deep neural network of Lin Z et al. 2022, Int J Nanomedicine 17:1365
# (one random train/test split; the abstract does not say whether on the %ID or log scale).
PUBLISHED_R2 = {"de24": 0.46, "de168": 0.33, "demax": 0.70}

DE_COLUMNS = {"de24": "DE24", "de168": "DE168", "demax": "Demax"}
PARAM_COLUMNS = ("KTRESrelease", "KTRESmax", "KTRES50", "KTRESn", "PT", "PATC")
_INPUT_COLUMNS = ("Type", "TS", "HD", "Zeta", "Charge", "Shape", "TM", "CT", "Dose", "BW", "TW")

CARRIER_CLASSES = ("Organic", "Inorganic", "Hybrid")
_CARRIER_ALIASES = {
    **{n: "Organic" for n in ("liposome", "lipid", "polymeric", "polymer", "micelle", "nanodisc",
                              "nanogel", "dendrimer", "protein", "albumin", "organic")},
    **{n: "Inorganic" for n in ("gold", "silica", "iron-oxide", "iron oxide", "quantum-dot",
                                "quantum dot", "mno2", "inorganic")},
    **{n: "Hybrid" for n in ("hybrid", "lipid-coated", "cell-membrane", "cell membrane")},
}
SHAPES = ("Spherical", "Rod", "Flake", "Plate", "Irregular", "Other")
TUMOR_MODELS = ("Xenograft Heterotopic", "Xenograft Orthotopic", "Allograft Heterotopic",
                "Allograft Orthotopic", "Other")
# The data set's 22 spellings collapse to these 13 when lower-cased.
CANCER_TYPES = ("breast", "liver", "colon", "cervix", "skin", "lung", "brain", "ovary",
                "pancreas", "prostate", "stomach", "kidney", "other")
_CANCER_ALIASES = {
    "melanoma": "skin", "colorectal": "colon", "nsclc": "lung", "hepatocellular": "liver",
    "hcc": "liver", "glioma": "brain", "glioblastoma": "brain", "renal": "kidney",
    "gastric": "stomach", "ovarian": "ovary", "pancreatic": "pancreas", "cervical": "cervix",
}
# Legend of the source's Charge code, inferred (the README leaves it undocumented): the two rows
# whose TS field reads "negtive"/"positive" carry codes 0/1, and code-2 rows have |Zeta| ~ 0 mV.
_CHARGE_CODES = {0.0: "negative", 1.0: "positive", 2.0: "neutral"}

RENAL_CUTOFF_NM = 5.5  # calibration_targets.md: renal filtration below ~5.5 nm
_RARE_LEVEL = 5  # categories seen in fewer training data sets than this are out of domain
_DOMAIN_QUANTILES = (0.01, 0.99)  # numeric domain: central 98 % of the training data
_MIN_SPREAD_LOG10 = 0.05  # floor on the tree spread so the band never collapses to a point

_CATEGORICAL = ["carrier", "charge", "shape", "graft", "site", "cancer"]
_NUMERIC = ["active", "log10_hd", "abs_zeta_mv", "log10_dose", "body_weight_g",
            "log10_tumor_g", "log10_tumor_per_bw", "log10_dose_mg"]


def load_nanotumor(data_dir: Path | None = None,
                   tumor_fits: Literal["refit", "released"] = "refit") -> pd.DataFrame:
    """Read the Nano-Tumor data sets (one row per published data set).

    Parameters
    ----------
    data_dir : Path, optional
        Folder holding ``datasets.csv``; default: the ``nanotumor`` data set where
        :func:`immunocycle._paths.dataset_dir` finds it (``immunocycle data fetch nanotumor``).
    tumor_fits : {"refit", "released"}
        The six fitted tumor parameters (:data:`PARAM_COLUMNS`): ``refit``, those refitted to
        each data set's measured time course (``data/pk/nanotumor_fits.csv``; the released ones
        over-predict the measured 24-h points 1.31x, median), or ``released``, the file's own.

    Returns
    -------
    pandas.DataFrame
        378 rows; columns as in the data README (HD in nm, Zeta in mV, Dose in mg/kg, BW and TW
        in g, DE columns in %ID).

    Raises
    ------
    FileNotFoundError
        If the file is absent; the message says where it was looked for.
    ValueError
        If columns the model needs are missing.
    """
    folder = Path(data_dir) if data_dir is not None else dataset_dir("nanotumor")
    path = folder / "datasets.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"Nano-Tumor data not found at {path}; run `immunocycle data fetch nanotumor` or set "
            "IMMUNOCYCLE_SHARED_DATA to the shared data folder (it holds nanotumor/datasets.csv)"
        )
    df = pd.read_csv(path)
    missing = set(_INPUT_COLUMNS) | set(DE_COLUMNS.values()) | set(PARAM_COLUMNS)
    missing -= set(df.columns)
    if missing:
        raise DataError(f"{path} lacks columns {sorted(missing)}")
    if tumor_fits == "released":
        return df
    if tumor_fits != "refit":
        raise InputError("tumor_fits", f"must be 'refit' or 'released' (got {tumor_fits!r})")
    return _with_refitted_tumors(df)


def tumor_fits_digest() -> str:
    """SHA-256 of the shipped tumor fits (``nanotumor_fits.csv``): the property model's card
    records the one it was trained on, so a refit without a retrain is seen."""
    import hashlib

    return hashlib.sha256(TUMOR_FITS_FILE.read_bytes()).hexdigest()


def _with_refitted_tumors(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with :data:`PARAM_COLUMNS` replaced by the shipped refit, joined on ``ID``."""
    if not TUMOR_FITS_FILE.is_file():
        raise FileNotFoundError(f"{TUMOR_FITS_FILE} missing; create it with "
                                f"`{TUMOR_FITS_COMMAND}`")
    fits = pd.read_csv(TUMOR_FITS_FILE).set_index("ID")
    ids = df["ID"].to_numpy()
    if set(fits.index) != set(ids):
        raise DataError(f"{TUMOR_FITS_FILE} does not hold the data sets of datasets.csv "
                        f"({len(fits)} vs {len(df)}); rerun `{TUMOR_FITS_COMMAND}`")
    out = df.copy()
    for c in PARAM_COLUMNS:
        out[c] = fits.loc[ids, c].to_numpy(float)
    return out


def _lookup(value: object, allowed: Iterable[str], aliases: dict[str, str], what: str) -> str:
    """Match ``value`` case-insensitively to an allowed level or a common-name alias."""
    key = str(value).strip().lower()
    by_lower = {a.lower(): a for a in allowed} | aliases
    if key not in by_lower:
        extra = f"; or a common name: {', '.join(sorted(aliases))}" if aliases else ""
        raise InputError(f"unknown {what} {value!r}; allowed: {', '.join(allowed)}{extra}")
    return by_lower[key]


class Particle(BaseModel):
    """One nanoparticle given intravenously to a tumor-bearing mouse.

    Parameters
    ----------
    carrier_class : str
        "Organic", "Inorganic" or "Hybrid"; common names are accepted (liposome, polymeric,
        micelle, nanodisc, nanogel, dendrimer, protein -> Organic; gold, silica, iron-oxide,
        quantum-dot, MnO2 -> Inorganic; hybrid, lipid-coated, cell-membrane -> Hybrid).
    diameter_nm : float or None
        Hydrodynamic diameter, nm (> 0, at most 1000); None when not reported.
    zeta_mv : float or None
        Zeta potential, mV, signed (the sign gives the surface-charge class); None if unknown.
    shape : str
        One of Spherical, Rod, Flake, Plate, Irregular, Other.
    targeted : bool
        True for active targeting (a ligand), False for passive.
    tumor_model : str
        Xenograft/Allograft x Heterotopic/Orthotopic, or Other.
    cancer_type : str
        Tumor origin (breast, colon, skin, ...; melanoma, colorectal etc. are accepted).
    dose_mg_per_kg : float
        Injected dose, mg/kg (> 0).
    body_weight_g : float
        Mouse body weight, g (default 20).
    tumor_weight_g : float or None
        Tumor weight at dosing, g; None uses the training median (flagged in ``domain_notes``).
    """

    # allow_inf_nan=False: diameters, charges, doses and weights must be finite numbers.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    carrier_class: Literal["Organic", "Inorganic", "Hybrid"]
    diameter_nm: float | None = Field(gt=0)
    zeta_mv: float | None = None
    shape: Literal["Spherical", "Rod", "Flake", "Plate", "Irregular", "Other"] = "Spherical"
    targeted: bool = False
    tumor_model: Literal[
        "Xenograft Heterotopic", "Xenograft Orthotopic", "Allograft Heterotopic",
        "Allograft Orthotopic", "Other",
    ]
    cancer_type: str
    dose_mg_per_kg: float = Field(gt=0)
    body_weight_g: float = Field(default=20.0, gt=0)
    tumor_weight_g: float | None = Field(default=None, gt=0)

    @field_validator("carrier_class", mode="before")
    @classmethod
    def _carrier(cls, v: object) -> str:
        return _lookup(v, CARRIER_CLASSES, _CARRIER_ALIASES, "carrier class")

    @field_validator("shape", mode="before")
    @classmethod
    def _shape(cls, v: object) -> str:
        return _lookup(v, SHAPES, {}, "shape")

    @field_validator("tumor_model", mode="before")
    @classmethod
    def _tumor_model(cls, v: object) -> str:
        return _lookup(v, TUMOR_MODELS, {}, "tumor model")

    @field_validator("cancer_type", mode="before")
    @classmethod
    def _cancer(cls, v: object) -> str:
        return _lookup(v, CANCER_TYPES, _CANCER_ALIASES, "cancer type")

    @field_validator("diameter_nm")
    @classmethod
    def _nanoscale(cls, v: float | None) -> float | None:
        if v is not None and v > 1000:
            raise ValueError(
                f"diameter_nm = {v} nm is above 1000 nm: not a nanoparticle, outside this model"
            )
        return v


def particles_from_nanotumor(df: pd.DataFrame) -> list[Particle]:
    """Turn Nano-Tumor rows into :class:`Particle` objects (e.g. to predict the training set).

    The zeta magnitude takes the sign of the source's charge code (0 negative, 1 positive,
    2 neutral -> 0 mV; an unknown code keeps the magnitude as positive).
    """
    out = []
    for row in df.itertuples(index=False):
        sign = {0.0: -1.0, 1.0: 1.0, 2.0: 0.0}.get(row.Charge, 1.0)
        out.append(Particle(
            carrier_class=row.Type,
            diameter_nm=None if pd.isna(row.HD) else row.HD,
            zeta_mv=None if pd.isna(row.Zeta) else sign * row.Zeta,
            shape=row.Shape,
            targeted=row.TS == "Active",
            tumor_model=row.TM,
            cancer_type=row.CT,
            dose_mg_per_kg=row.Dose,
            body_weight_g=row.BW,
            tumor_weight_g=row.TW,
        ))
    return out


def _frame_from_particles(particles: Iterable[Particle]) -> pd.DataFrame:
    """Write particles in the Nano-Tumor column layout, so one feature function serves both."""
    rows = []
    for p in particles:
        charge = np.nan if p.zeta_mv is None else 2.0 if p.zeta_mv == 0 else float(p.zeta_mv > 0)
        rows.append({
            "Type": p.carrier_class, "TS": "Active" if p.targeted else "Passive",
            "HD": p.diameter_nm, "Zeta": None if p.zeta_mv is None else abs(p.zeta_mv),
            "Charge": charge, "Shape": p.shape, "TM": p.tumor_model, "CT": p.cancer_type,
            "Dose": p.dose_mg_per_kg, "BW": p.body_weight_g, "TW": p.tumor_weight_g,
        })
    return pd.DataFrame(rows, columns=list(_INPUT_COLUMNS)).astype({"HD": float, "Zeta": float,
                                                                    "TW": float})


def _features(df: pd.DataFrame) -> pd.DataFrame:
    """Model inputs from Nano-Tumor columns; NaN marks a value not reported."""
    graft_site = df["TM"].str.split(" ", n=1, expand=True).reindex(columns=[0, 1])
    return pd.DataFrame({
        "carrier": df["Type"],
        "charge": df["Charge"].map(_CHARGE_CODES).fillna("unknown"),
        "shape": df["Shape"],
        "graft": graft_site[0],
        "site": graft_site[1].fillna("Other"),
        "cancer": df["CT"].str.lower(),
        # The two stray TS values ("negtive", "positive") are read as passive.
        "active": (df["TS"] == "Active").astype(float),
        "log10_hd": np.log10(df["HD"]),
        "abs_zeta_mv": df["Zeta"],
        "log10_dose": np.log10(df["Dose"]),
        "body_weight_g": df["BW"],
        # %ID in the tumor scales with the tumor's size, the strongest single predictor.
        "log10_tumor_g": np.log10(df["TW"]),
        "log10_tumor_per_bw": np.log10(df["TW"] / df["BW"]),
        "log10_dose_mg": np.log10(df["Dose"] * df["BW"] / 1000),
    }, index=df.index)


class DeliveryModel:
    """Predict tumor delivery efficiency and tumor PBPK parameters from particle properties.

    Parameters
    ----------
    n_estimators : int
        Trees per forest.
    max_features : float
        Fraction of features tried at each split.
    min_samples_leaf : int
        Smallest leaf (data sets).
    band : tuple of float
        Lower and upper quantile of the prediction band (default 10 % and 90 %).
    random_state : int
        Seed; the same seed and data give identical predictions.
    n_jobs : int or None
        Threads for the forests (results do not depend on it).

    Attributes
    ----------
    de_forest_, param_forest_ : sklearn.pipeline.Pipeline
        Fitted forests on log10 of (DE24, DE168, DEmax) and of the six PBPK parameters.
    band_scale_ : numpy.ndarray
        Per endpoint, the factor on the tree spread that gives the requested coverage out of fold.
    domain_ : dict
        Training ranges (numeric: central 98 %) and category counts used for domain flags.
    """

    def __init__(self, n_estimators: int = 100, max_features: float = 0.7,
                 min_samples_leaf: int = 1, band: tuple[float, float] = (0.1, 0.9),
                 random_state: int = 0, n_jobs: int | None = None) -> None:
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.band = band
        self.random_state = random_state
        self.n_jobs = n_jobs

    def get_params(self) -> dict:
        """Constructor settings, as a dict."""
        return {k: getattr(self, k) for k in ("n_estimators", "max_features", "min_samples_leaf",
                                              "band", "random_state", "n_jobs")}

    def _forest(self, seed: int) -> Pipeline:
        prep = make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore", sparse_output=False), _CATEGORICAL),
            # Missing HD/zeta: median plus a was-missing indicator the trees can split on.
            (SimpleImputer(strategy="median", add_indicator=True), _NUMERIC),
        )
        trees = ExtraTreesRegressor(n_estimators=self.n_estimators, max_features=self.max_features,
                                    min_samples_leaf=self.min_samples_leaf, random_state=seed,
                                    n_jobs=self.n_jobs)
        return make_pipeline(prep, trees)

    @staticmethod
    def _tree_quantiles(forest: Pipeline, X: pd.DataFrame, qs: tuple[float, float]) -> np.ndarray:
        """Quantiles over trees of the log10 predictions: shape (2, n, n_outputs)."""
        Xt = forest[0].transform(X)
        per_tree = np.stack([t.predict(Xt) for t in forest[-1].estimators_])
        return np.quantile(per_tree, qs, axis=0)

    def fit(self, df: pd.DataFrame) -> DeliveryModel:
        """Fit on Nano-Tumor rows (the layout of :func:`load_nanotumor`).

        Returns
        -------
        DeliveryModel
            ``self``, fitted.
        """
        levels = set(df["CT"].str.lower())
        if not levels <= set(CANCER_TYPES):
            raise InputError(f"cancer types {sorted(levels - set(CANCER_TYPES))} not supported")
        X = _features(df)
        Y = np.log10(df[list(DE_COLUMNS.values())].to_numpy(float))
        self.de_forest_ = self._forest(self.random_state).fit(X, Y)
        self.param_forest_ = self._forest(self.random_state).fit(
            X, np.log10(df[list(PARAM_COLUMNS)].to_numpy(float)))
        self.band_scale_ = self._calibrate_band(X, Y)
        self.domain_ = self._domain(df, X)
        return self

    def _calibrate_band(self, X: pd.DataFrame, Y: np.ndarray) -> np.ndarray:
        """Out-of-fold factor c so that point +- c * tree half-spread covers the band's mass."""
        scores = np.empty_like(Y)
        for train, test in KFold(5, shuffle=True, random_state=self.random_state).split(X):
            forest = self._forest(self.random_state).fit(X.iloc[train], Y[train])
            point = forest.predict(X.iloc[test])
            lo, hi = self._tree_quantiles(forest, X.iloc[test], self.band)
            half = np.maximum((hi - lo) / 2, _MIN_SPREAD_LOG10)
            scores[test] = np.abs(Y[test] - point) / half
        return np.quantile(scores, self.band[1] - self.band[0], axis=0)

    @staticmethod
    def _domain(df: pd.DataFrame, X: pd.DataFrame) -> dict:
        numeric = {"diameter_nm": df["HD"], "abs_zeta_mv": df["Zeta"],
                   "dose_mg_per_kg": df["Dose"], "body_weight_g": df["BW"],
                   "tumor_weight_g": df["TW"]}
        ranges = {k: [float(v) for v in s.quantile(_DOMAIN_QUANTILES)] for k, s in numeric.items()}
        counts = {c: {str(k): int(n) for k, n in X[c].value_counts().items()}
                  for c in ("carrier", "shape", "cancer")}
        counts["tumor_model"] = {str(k): int(n) for k, n in df["TM"].value_counts().items()}
        return {"ranges": ranges, "counts": counts, "tumor_weight_median_g": float(df["TW"].median())}

    def _check_fitted(self) -> None:
        if not hasattr(self, "de_forest_"):
            raise RuntimeError("DeliveryModel is not fitted: call fit(df) or DeliveryModel.load")

    def _domain_notes(self, p: Particle) -> tuple[bool, str]:
        ranges, counts = self.domain_["ranges"], self.domain_["counts"]
        values = {"diameter_nm": p.diameter_nm,
                  "abs_zeta_mv": None if p.zeta_mv is None else abs(p.zeta_mv),
                  "dose_mg_per_kg": p.dose_mg_per_kg, "body_weight_g": p.body_weight_g,
                  "tumor_weight_g": p.tumor_weight_g}
        flags = [f"{k}={v:g} outside training range {ranges[k][0]:g}-{ranges[k][1]:g}"
                 for k, v in values.items()
                 if v is not None and not ranges[k][0] <= v <= ranges[k][1]]
        levels = {"carrier": p.carrier_class, "shape": p.shape, "cancer": p.cancer_type,
                  "tumor_model": p.tumor_model}
        flags += [f"{k}={v!r} seen in only {counts[k].get(v, 0)} training data sets"
                  for k, v in levels.items() if counts[k].get(v, 0) < _RARE_LEVEL]
        notes = list(flags)
        if p.diameter_nm is not None and p.diameter_nm < RENAL_CUTOFF_NM:
            notes.append(f"diameter below the ~{RENAL_CUTOFF_NM} nm renal filtration cutoff")
        notes += [f"{k} not given: treated as not reported"
                  for k in ("diameter_nm", "zeta_mv") if getattr(p, k) is None]
        if p.tumor_weight_g is None:
            median = self.domain_["tumor_weight_median_g"]
            notes.append(f"tumor_weight_g not given: training median {median:g} g used")
        return bool(flags), "; ".join(notes)

    def predict(self, particles: Particle | Iterable[Particle]) -> pd.DataFrame:
        """Predict delivery and tumor PBPK parameters.

        Parameters
        ----------
        particles : Particle or iterable of Particle

        Returns
        -------
        pandas.DataFrame
            One row per particle: ``de24``, ``de168``, ``demax`` (%ID, back-transformed log10
            predictions, i.e. median-type) each with ``_lo``/``_hi`` (band quantiles, default
            10-90 %); ``KTRESrelease`` (1/h), ``KTRESmax`` (1/h), ``KTRES50`` (h), ``KTRESn`` (-),
            ``PT`` (-), ``PATC`` (fraction of tumor blood flow); ``out_of_domain`` (bool) and
            ``domain_notes`` (str).
        """
        self._check_fitted()
        particles = [particles] if isinstance(particles, Particle) else list(particles)
        frame = _frame_from_particles(particles)
        frame["TW"] = frame["TW"].fillna(self.domain_["tumor_weight_median_g"])
        X = _features(frame)
        point = self.de_forest_.predict(X)
        lo, hi = self._tree_quantiles(self.de_forest_, X, self.band)
        out = pd.DataFrame(index=range(len(particles)))
        for j, name in enumerate(DE_COLUMNS):
            half = self.band_scale_[j] * np.maximum((hi[:, j] - lo[:, j]) / 2, _MIN_SPREAD_LOG10)
            out[name] = 10 ** point[:, j]
            out[f"{name}_lo"] = 10 ** (point[:, j] - half)
            out[f"{name}_hi"] = 10 ** (point[:, j] + half)
        # The maximum over time cannot be below a single time point (one source row breaks this).
        out["demax"] = out[["demax", "de24", "de168"]].max(axis=1)
        params = 10 ** self.param_forest_.predict(X)
        for j, name in enumerate(PARAM_COLUMNS):
            out[name] = params[:, j]
        domain = [self._domain_notes(p) for p in particles]
        out["out_of_domain"] = [d[0] for d in domain]
        out["domain_notes"] = [d[1] for d in domain]
        return out

    def evaluate(self, df: pd.DataFrame, n_splits: int = 5,
                 seeds: Iterable[int] = (0, 1, 2, 3, 4)) -> dict:
        """Repeated k-fold cross-validation of the delivery endpoints and PBPK parameters.

        Returns
        -------
        dict
            ``r2_de24``, ``r2_de168``, ``r2_demax``: R2 on the %ID scale (back-transformed
            predictions), mean over repeats, with ``*_std``; ``r2_log10_*``: R2 of log10 %ID;
            ``r2_log10_<param>`` for the PBPK parameters; ``published_r2_*`` (Lin 2022 DNN);
            and the CV settings. Each repeat seeds both the folds and the forests with its seed.
        """
        seeds = tuple(seeds)
        X = _features(df)
        Y = np.log10(df[list(DE_COLUMNS.values())].to_numpy(float))
        P = np.log10(df[list(PARAM_COLUMNS)].to_numpy(float))
        scores: dict[str, list[float]] = {}
        for seed in seeds:
            Y_hat, P_hat = np.empty_like(Y), np.empty_like(P)
            for train, test in KFold(n_splits, shuffle=True, random_state=seed).split(X):
                Y_hat[test] = self._forest(seed).fit(X.iloc[train], Y[train]).predict(X.iloc[test])
                P_hat[test] = self._forest(seed).fit(X.iloc[train], P[train]).predict(X.iloc[test])
            for j, name in enumerate(DE_COLUMNS):
                scores.setdefault(f"r2_{name}", []).append(r2_score(10 ** Y[:, j], 10 ** Y_hat[:, j]))
                scores.setdefault(f"r2_log10_{name}", []).append(r2_score(Y[:, j], Y_hat[:, j]))
            for j, name in enumerate(PARAM_COLUMNS):
                scores.setdefault(f"r2_log10_{name}", []).append(r2_score(P[:, j], P_hat[:, j]))
        result: dict = {}
        for key, values in scores.items():
            result[key] = round(float(np.mean(values)), 4)
            result[f"{key}_std"] = round(float(np.std(values)), 4)
        result.update({f"published_r2_{k}": v for k, v in PUBLISHED_R2.items()})
        result.update({"n_splits": n_splits, "seeds": list(seeds), "n_datasets": len(df),
                       "r2_scale": "r2_<endpoint>: %ID; r2_log10_<endpoint>: log10 %ID"})
        return result

    # -- persistence: skops with an explicit list of trusted types, never pickle ------------
    _FORMAT = "immunocycle.pk.DeliveryModel"
    _FORMAT_VERSION = 1
    # skops trusts scikit-learn estimators itself; these are the only further types a model
    # file may hold. Anything else in a file is refused before any object is built.
    TRUSTED_TYPES = ("numpy.dtype", "sklearn.tree._tree.Tree")

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path`` (skops zip, deflate-compressed)."""
        self._check_fitted()
        state = {
            "format": self._FORMAT, "format_version": self._FORMAT_VERSION,
            "sklearn_version": sklearn.__version__, "settings": json.dumps(self.get_params()),
            "de_forest": self.de_forest_, "param_forest": self.param_forest_,
            "band_scale": self.band_scale_, "domain": json.dumps(self.domain_),
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        sio.dump(state, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
        return path

    @classmethod
    def load(cls, path: str | Path) -> DeliveryModel:
        """Read a model written by :meth:`save`; no code from the file is executed.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If the file is corrupt, not a delivery model, or holds untrusted types.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"delivery model file not found: {path}")
        try:
            state = sio.load(path, trusted=list(cls.TRUSTED_TYPES))
        except sio.exceptions.UntrustedTypesFoundException as exc:
            raise DataError(f"{path} holds types outside the trusted list: {exc}") from exc
        except Exception as exc:  # zip/JSON/array errors: report them all as one clear error
            raise DataError(f"{path} is not a readable delivery model file "
                             f"(corrupt or not skops): {type(exc).__name__}: {exc}") from exc
        if not isinstance(state, dict) or state.get("format") != cls._FORMAT:
            raise DataError(f"{path} is a skops file but not an immunocycle delivery model")
        settings = json.loads(state["settings"])
        settings["band"] = tuple(settings["band"])
        model = cls(**settings)
        model.de_forest_ = state["de_forest"]
        model.param_forest_ = state["param_forest"]
        model.band_scale_ = np.asarray(state["band_scale"])
        model.domain_ = json.loads(state["domain"])
        return model


@functools.cache
def default_model() -> DeliveryModel:
    """The shipped model (``immunocycle/data/pk/delivery_model.skops``), loaded once."""
    if not MODEL_FILE.is_file():
        raise FileNotFoundError(f"{MODEL_FILE} missing; create it with `{REFIT_COMMAND}`")
    return DeliveryModel.load(MODEL_FILE)


def refit(out_path: str | Path | None = None) -> dict:
    """Refit the model on the shared data, write it and its description, return CV metrics.

    Parameters
    ----------
    out_path : path, optional
        Model file to write (default: the shipped ``delivery_model.skops``); a ``.yaml``
        description is written beside it.

    Returns
    -------
    dict
        The metrics of :meth:`DeliveryModel.evaluate` (5-fold CV, seeds 0-4).
    """
    start = time.perf_counter()
    df = load_nanotumor()
    model = DeliveryModel()
    metrics = model.evaluate(df)
    metrics["cv_seconds"] = round(time.perf_counter() - start, 1)
    model.fit(df)
    path = model.save(out_path or MODEL_FILE)
    card = {
        "name": "tumor delivery from nanoparticle properties",
        "date": _dt.date.today().isoformat(),
        "refit_command": REFIT_COMMAND,
        "data": {
            "file": "shared/data/nanotumor/datasets.csv (not copied into the package)",
            "source": "Nano-Tumor Database, Cheng YH et al. ACS Nano 2020 (PMID 32078303), "
                      "CC0, repository UFPBPK/Nano-AI-PBPK-G1",
            "n_datasets": len(df),
        },
        "features": {
            "categorical": ["Type (carrier class)", "Charge code (0 negative, 1 positive, "
                            "2 neutral; inferred)", "Shape", "TM split into graft and site",
                            "CT lower-cased (13 levels)"],
            "numeric": ["TS == Active", "log10 HD (nm)", "|Zeta| (mV)", "log10 Dose (mg/kg)",
                        "BW (g)", "log10 TW (g)", "log10 TW/BW", "log10 dose mass (mg)"],
            "missing": "median imputation plus missing-value indicator (HD, Zeta)",
        },
        "targets": {"delivery": "log10 of DE24, DE168, Demax (%ID)",
                    "pbpk": "log10 of " + ", ".join(PARAM_COLUMNS),
                    "pbpk_from": f"{TUMOR_FITS_FILE.name} (refitted to the time courses, "
                                 f"`{TUMOR_FITS_COMMAND}`)",
                    "pbpk_sha256": tumor_fits_digest()},
        "model": {
            "estimator": f"sklearn {sklearn.__version__} ExtraTreesRegressor, multi-output, "
                         "one forest for delivery, one for PBPK parameters",
            "settings": model.get_params(),
            "band": "tree-spread quantiles scaled out of fold to cover 80 % (10-90 %)",
            "band_scale": [round(float(c), 3) for c in model.band_scale_],
            "format": "skops (trusted types: " + ", ".join(DeliveryModel.TRUSTED_TYPES) + ")",
        },
        "cv_metrics": metrics,
        "published_reference": "Lin Z et al. 2022 Int J Nanomedicine 17:1365, DNN test R2 "
                               "(one split): DEmax 0.70, DE24 0.46, DE168 0.33",
    }
    path.with_suffix(".yaml").write_text(yaml.safe_dump(card, sort_keys=False))
    return metrics


if __name__ == "__main__":
    json.dump(refit(), sys.stdout, indent=2)
    print()
