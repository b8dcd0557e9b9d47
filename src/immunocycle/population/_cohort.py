"""Cohorts as data: per tumor type or archetype, the distributions that make its patients differ.

A cohort file (``data/cohorts/<name>.yaml``) names a base preset of the cycle model, a small set
of parameter distributions (each with units and a source), the tumor-mutational-burden
distribution that sets antigenicity (:func:`neoantigen_load_from_tmb`), the distribution of the
sum of target-lesion diameters at diagnosis, the observed immune-phenotype mix, and what the
cohort is calibrated to. Fitted cohort-level values live beside the cohort files in
``fitted.yaml``, written by :func:`immunocycle.trial._calibrate.calibrate_cohort`.

Errors name the file and the dotted field (``melanoma.yaml: parameters.T_N0.sigma: ...``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pint
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import stats

from immunocycle._inputs import load_yaml
from immunocycle._paths import PACKAGE_DATA
from immunocycle.model import ModelError, read_yaml, ureg

COHORT_DIR = PACKAGE_DATA / "cohorts"
#: Files in the cohort folder that are not cohorts.
_NOT_COHORTS = {"settings", "toxicity", "fitted"}


class _Strict(BaseModel):
    # allow_inf_nan=False: every number in a cohort file must be finite.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ParameterDistribution(_Strict):
    """A population distribution of one parameter.

    ``lognormal``: ``median`` (parameter units; omitted = the base preset's value) and ``sigma``
    (standard deviation of the natural log); ``normal``: ``median`` = mean and ``sigma`` = sd;
    ``uniform`` / ``loguniform``: ``low`` and ``high``. ``low``/``high`` also truncate a
    lognormal or normal (sampling stays quasi-random: the uniform point is mapped into the
    truncated range, nothing is rejected).
    """

    kind: Literal["lognormal", "normal", "uniform", "loguniform"] = "lognormal"
    median: Annotated[float, Field(gt=0)] | None = None
    sigma: Annotated[float, Field(ge=0)] = 0.0
    low: float | None = None
    high: float | None = None
    units: str
    source: Annotated[str, Field(min_length=3)]

    @model_validator(mode="after")
    def _bounds(self):
        if self.kind in ("uniform", "loguniform") and (self.low is None or self.high is None):
            raise ValueError(f"{self.kind} needs low and high")
        if self.low is not None and self.high is not None and not self.high > self.low:
            raise ValueError(f"high ({self.high}) must exceed low ({self.low})")
        if self.kind in ("lognormal", "loguniform") and self.low is not None and self.low <= 0:
            raise ValueError(f"{self.kind}: low must be > 0")
        return self

    def ppf(self, u: np.ndarray, median: float | None = None) -> np.ndarray:
        """Values at uniform points ``u`` in (0, 1); ``median`` replaces a missing median."""
        u = np.asarray(u, dtype=float)
        if self.kind == "uniform":
            return self.low + (self.high - self.low) * u
        if self.kind == "loguniform":
            return np.exp(np.log(self.low) + (np.log(self.high) - np.log(self.low)) * u)
        center = self.median if self.median is not None else median
        if center is None:
            raise ValueError("no median given and no preset value to default to")
        # Truncation: squeeze u into [F(low), F(high)] of the untruncated law.
        if self.kind == "lognormal":
            z_lo = -np.inf if self.low is None else np.log(self.low / center) / max(self.sigma, 1e-300)
            z_hi = np.inf if self.high is None else np.log(self.high / center) / max(self.sigma, 1e-300)
        else:
            z_lo = -np.inf if self.low is None else (self.low - center) / max(self.sigma, 1e-300)
            z_hi = np.inf if self.high is None else (self.high - center) / max(self.sigma, 1e-300)
        p_lo, p_hi = stats.norm.cdf(z_lo), stats.norm.cdf(z_hi)
        z = stats.norm.ppf(np.clip(p_lo + (p_hi - p_lo) * u, 1e-12, 1 - 1e-12))
        if self.sigma == 0:
            z = np.zeros_like(u)
        out = center * np.exp(self.sigma * z) if self.kind == "lognormal" else center + self.sigma * z
        lo = -np.inf if self.low is None else self.low
        hi = np.inf if self.high is None else self.high
        return np.clip(out, lo, hi)


class TMBDistribution(_Strict):
    """Tumor mutational burden (mutations per megabase): log-normal with ``median`` and ``sigma``."""

    median: Annotated[float, Field(gt=0)]
    sigma: Annotated[float, Field(ge=0)]
    low: Annotated[float, Field(gt=0)] = 0.1
    high: Annotated[float, Field(gt=0)] = 500.0
    units: Literal["mutations/Mb"] = "mutations/Mb"
    source: Annotated[str, Field(min_length=3)]

    def as_distribution(self) -> ParameterDistribution:
        return ParameterDistribution(kind="lognormal", median=self.median, sigma=self.sigma,
                                     low=self.low, high=self.high, units=self.units,
                                     source=self.source)


class PhenotypeMix(_Strict):
    """Observed shares of baseline immune phenotypes (fractions summing to 1)."""

    inflamed: Annotated[float, Field(ge=0, le=1)]
    excluded: Annotated[float, Field(ge=0, le=1)]
    desert: Annotated[float, Field(ge=0, le=1)]
    source: Annotated[str, Field(min_length=3)]

    @model_validator(mode="after")
    def _sums_to_one(self):
        total = self.inflamed + self.excluded + self.desert
        if abs(total - 1.0) > 0.01:
            raise ValueError(f"shares must sum to 1 (got {total:.3f})")
        return self

    def shares(self) -> dict[str, float]:
        return {"inflamed": self.inflamed, "excluded": self.excluded, "desert": self.desert}


class PooledArm(_Strict):
    """One published trial arm of a pooled calibration target (responders of ``n``)."""

    trial: Annotated[str, Field(min_length=3)]
    responders: Annotated[int, Field(ge=0)]
    n: Annotated[int, Field(ge=1)]
    source: Annotated[str, Field(min_length=3)]


class CalibrationTarget(_Strict):
    """What a cohort is calibrated to (``calibration_targets.md`` only).

    ``orr`` is the published objective response rate (fraction) of ``regimen``; ``n_trial`` the
    trial arm's size, used only for its 95 % interval. With ``pooled`` (several trials of the
    tumor type, :class:`PooledArm`), ``orr`` and ``n_trial`` are not given but computed: the
    random-effects pool of the arms and its effective size (:func:`pool_orr`); ``ae_grade3plus`` the monotherapy grade
    >= 3 treatment-related adverse-event rate (fraction), or None where none is given; ``cr`` the
    published complete-response rate (fraction) of ``regimen``, or None; ``cr_parameter`` the
    cohort parameter whose median is fitted to ``cr`` (with ``parameter`` refitted to ``orr``), or
    None (the achieved CR rate is only reported); ``median_pfs_months`` the published median
    progression-free survival of ``regimen`` (months), to which the tumor type's new-lesion rate
    is fitted, or None, with ``pfs_source``.
    """

    parameter: str
    regimen: str
    orr: Annotated[float, Field(ge=0, le=1)]
    n_trial: Annotated[int, Field(ge=1)]
    pooled: list[PooledArm] | None = None
    ae_grade3plus: Annotated[float, Field(gt=0, lt=1)] | None = None
    cr: Annotated[float, Field(ge=0, le=1)] | None = None
    cr_parameter: str | None = None
    median_pfs_months: Annotated[float, Field(gt=0)] | None = None
    pfs_source: str = ""
    source: Annotated[str, Field(min_length=3)]

    @model_validator(mode="before")
    @classmethod
    def _pool(cls, data):
        # a pooled target states its arms, never a hand-computed pool that could drift from them
        if not isinstance(data, dict) or data.get("pooled") is None:
            return data
        arms = data["pooled"]
        if not isinstance(arms, list) or not all(isinstance(a, dict) for a in arms):
            return data  # the field's own validation names what is wrong
        from immunocycle.population._pooling import pool_orr

        try:
            pool = pool_orr([a.get("responders") for a in arms], [a.get("n") for a in arms])
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None
        computed = {"orr": round(pool.orr, 4), "n_trial": pool.n_effective}
        for key, value in computed.items():  # a dumped cohort carries them; they must agree
            if key in data and data[key] != value:
                raise ValueError(f"{key} {data[key]!r} differs from the random-effects pool of "
                                 f"the pooled arms ({value!r}); leave orr and n_trial out, they "
                                 "are computed")
        return {**data, **computed}


class ProgressionTarget(_Strict):
    """A published median time to progression (or PFS) of a regimen other than a PD-1 blocker,
    for a cohort whose tumor type has no PD-1 PFS in ``calibration_targets.md``: the tumor
    type's new-lesion rate is fitted to it (:func:`immunocycle.trial._calibrate.fill_uncalibrated`),
    as the calibrated cohorts' rates are fitted to their PD-1 arm's median PFS.

    ``regimen`` the arm (catalog names joined by ``+``); ``median_pfs_months`` its published
    median (months); ``source`` the trial, with its DOI."""

    regimen: str
    median_pfs_months: Annotated[float, Field(gt=0)]
    source: Annotated[str, Field(min_length=3)]


class Cohort(_Strict):
    """A virtual-patient cohort (one YAML file in ``data/cohorts``).

    Attributes
    ----------
    name : str
        File stem, used on the command line (``--cohort melanoma``).
    base : str
        Base preset of the cycle model (``human``, ``inflamed``, ``excluded``, ``desert``).
    parameters : mapping of parameter name -> ParameterDistribution
        The few parameters that make this cohort's tumors differ.
    tmb : TMBDistribution, optional
        Sets ``neoantigen_load`` per patient through :func:`neoantigen_load_from_tmb`; without
        it ``neoantigen_load`` comes from ``parameters`` or the preset.
    diagnosis_sum_mm : ParameterDistribution
        Sum of target-lesion diameters at diagnosis (mm); the lumped lesion of the cycle model
        takes this diameter, so RECIST's relative changes apply unchanged.
    phenotype_mix : PhenotypeMix, optional
        Observed baseline phenotype shares (for optional selection).
    calibration : CalibrationTarget, optional
        The published figure the cohort is fitted to, if any.
    progression : ProgressionTarget, optional
        Without a calibration PFS: the published median time to progression of another regimen,
        to which the new-lesion rate is fitted.
    """

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    description: str
    tumor_type: str
    setting: str = ""
    base: str = "human"
    parameters: dict[str, ParameterDistribution]
    tmb: TMBDistribution | None = None
    diagnosis_sum_mm: ParameterDistribution
    phenotype_mix: PhenotypeMix | None = None
    calibration: CalibrationTarget | None = None
    progression: ProgressionTarget | None = None


class FittedValues(_Strict):
    """Cohort-level values fitted by calibration (one entry of ``fitted.yaml``): ``multiplier``
    on the median of ``parameter`` (fitted to the ORR), ``cr_multiplier`` on the median of
    ``cr_parameter`` (fitted to the complete-response rate, where the cohort has one) and
    ``new_lesion_rate`` (1/day; fitted to the median PFS, :mod:`immunocycle.trial._progression`;
    None: the packaged default); ``multiplier_log_sd`` the natural-log standard deviation of
    ``multiplier`` from the calibration's binomial errors (None: not recorded; the trial
    replicates then use the documented fallback of ``data/trial/uncertainty.yaml``)."""

    parameter: str = "T_N0"
    multiplier: Annotated[float, Field(gt=0)] = 1.0
    multiplier_log_sd: Annotated[float, Field(ge=0)] | None = None
    cr_parameter: str | None = None
    cr_multiplier: Annotated[float, Field(gt=0)] = 1.0
    ae_offset: float | None = 0.0
    new_lesion_rate: Annotated[float, Field(gt=0)] | None = None
    fit: dict = {}
    command: str = ""


def cohort_path(name: str | Path) -> Path:
    """The file of a packaged cohort (``"melanoma"``) or a path given as is."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise ModelError(str(path), "(file)", "cohort file not found")
        return path
    found = COHORT_DIR / f"{name}.yaml"
    if str(name) in _NOT_COHORTS or not found.exists():
        raise ModelError(str(found), "(cohort)", f"unknown cohort {str(name)!r}; choose from "
                         f"{', '.join(available_cohorts())} or give a cohort file")
    return found


def available_cohorts() -> list[str]:
    """Names of the packaged cohorts."""
    return sorted(p.stem for p in COHORT_DIR.glob("*.yaml") if p.stem not in _NOT_COHORTS)


def load_cohort(name: str | Path | Cohort) -> Cohort:
    """A packaged cohort by name, a cohort file, or a Cohort as is; validated against the
    cycle model (base preset exists, parameters exist in it).

    Raises
    ------
    ModelError
        Naming the file and the field (``parameters.T_N0.sigma``) of the problem.
    """
    if isinstance(name, Cohort):
        return name
    path = cohort_path(name)
    cohort = read_yaml(path, Cohort)
    _check_against_preset(cohort, str(path))
    return _in_model_units(cohort, str(path))


@lru_cache(maxsize=16)
def _preset(base: str) -> dict[str, float]:
    """Parameter values of a base preset (cached: reading and unit-checking a preset takes ~1 s)."""
    return {k: float(v.value) for k, v in _preset_specs(base).items()}


@lru_cache(maxsize=16)
def _preset_specs(base: str) -> dict:
    from immunocycle.cycle import resolve_preset

    params, _ = resolve_preset(base)
    return params


def _in_model_units(cohort: Cohort, where: str) -> Cohort:
    """The cohort with every distribution converted (pint) to its parameter's declared units
    (``diagnosis_sum_mm`` to mm): a growth rate given in 1/hour is sampled in 1/day.

    Raises
    ------
    ModelError
        Naming ``parameters.<name>.units`` if the units are unknown or of another dimension.
    """
    specs = _preset_specs(cohort.base)
    params = {key: _converted(dist, specs[key].units, where, f"parameters.{key}.units")
              for key, dist in cohort.parameters.items()}
    diagnosis = _converted(cohort.diagnosis_sum_mm, "mm", where, "diagnosis_sum_mm.units")
    return cohort.model_copy(update={"parameters": params, "diagnosis_sum_mm": diagnosis})


def _converted(dist: ParameterDistribution, target: str, where: str,
               field: str) -> ParameterDistribution:
    """``dist`` in ``target`` units (values scaled; a log-scale sigma is unit-free)."""
    if dist.units == target:
        return dist
    try:
        factor = float(ureg.Quantity(1.0, dist.units).to(target).magnitude)
    except pint.errors.DimensionalityError:
        raise ModelError(where, field, f"{dist.units!r} cannot be converted to the model's "
                         f"units {target!r} (different dimensions)") from None
    except (pint.errors.UndefinedUnitError, AttributeError, TypeError, ValueError,
            AssertionError) as exc:
        raise ModelError(where, field, f"unknown units {dist.units!r} ({exc})") from None
    if factor == 1.0:
        return dist.model_copy(update={"units": target})

    def scale(v):
        return None if v is None else v * factor

    sigma = dist.sigma * factor if dist.kind == "normal" else dist.sigma
    return dist.model_copy(update={"median": scale(dist.median), "low": scale(dist.low),
                                   "high": scale(dist.high), "sigma": sigma, "units": target})


def _check_against_preset(cohort: Cohort, where: str) -> None:
    try:
        params = _preset(cohort.base)
    except ModelError as exc:
        raise ModelError(where, "base", exc.problem) from None
    for key, dist in cohort.parameters.items():
        if key not in params:
            raise ModelError(where, f"parameters.{key}",
                             f"the cycle model has no parameter {key!r} (preset {cohort.base!r})")
        # Sign: a parameter that is not negative in the preset (a rate, count, volume or
        # concentration) may not be sampled below zero.
        if params[key] >= 0 and dist.kind in ("normal", "uniform") and not (
                dist.low is not None and dist.low >= 0):
            raise ModelError(where, f"parameters.{key}.low", f"{key} is not negative (preset "
                             f"value {params[key]:g}): a {dist.kind} distribution of it needs "
                             "low >= 0")
    if cohort.calibration is not None and cohort.calibration.parameter not in cohort.parameters:
        raise ModelError(where, "calibration.parameter",
                         f"{cohort.calibration.parameter!r} must be one of the cohort's parameters")
    cr_parameter = cohort.calibration.cr_parameter if cohort.calibration else None
    if cr_parameter is not None and cr_parameter not in cohort.parameters:
        raise ModelError(where, "calibration.cr_parameter",
                         f"{cr_parameter!r} must be one of the cohort's parameters")


def preset_values(cohort: Cohort) -> dict[str, float]:
    """Values of the cohort's base preset (the default medians)."""
    return dict(_preset(cohort.base))


def fitted_path() -> Path:
    return COHORT_DIR / "fitted.yaml"


@lru_cache(maxsize=8)
def _read_fitted(path: str, mtime: float) -> dict:
    raw = load_yaml(Path(path).read_text()) or {}
    if not isinstance(raw, dict):
        raise ModelError(path, "(top level)", "expected a mapping of cohort name -> fitted values")
    return raw


def fitted_values(name: str, path: Path | None = None) -> FittedValues:
    """Fitted cohort-level values of cohort ``name`` (defaults if it was never calibrated)."""
    path = path or fitted_path()
    if not path.exists():
        return FittedValues()
    raw = _read_fitted(str(path), path.stat().st_mtime).get(name)
    if raw is None:
        return FittedValues()
    try:
        return FittedValues.model_validate(raw)
    except Exception as exc:  # pydantic ValidationError: name the entry
        raise ModelError(str(path), name, str(exc).splitlines()[0]) from None


__all__ = ["COHORT_DIR", "CalibrationTarget", "Cohort", "FittedValues", "ParameterDistribution",
           "PhenotypeMix", "TMBDistribution", "available_cohorts", "cohort_path", "fitted_values",
           "load_cohort", "preset_values"]
