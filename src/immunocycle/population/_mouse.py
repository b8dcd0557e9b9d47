"""Syngeneic mouse models as data: cohorts of virtual mice for :func:`immunocycle.trial.run_study`.

A model file (``data/mice/<name>.yaml``) names its cycle preset (``data/cycle``, an overlay on
the MC38 ``mouse`` set), the cited untreated volume doubling time, the usual start volume, the
per-mouse spread of a few parameters, the mutational load and the baseline immune phenotype,
each with a source. Mice are sampled as patients are (scrambled Sobol, :func:`sample_patients`):
mouse ``i`` is the same for a seed whatever the group size.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field

from immunocycle._errors import InputError
from immunocycle._paths import PACKAGE_DATA
from immunocycle.model import read_yaml
from immunocycle.population._cohort import ParameterDistribution
from immunocycle.population._sampling import Distribution, sample_patients

MICE_DIR = PACKAGE_DATA / "mice"
#: Files in the mouse folder that are not models.
_NOT_MODELS = {"study"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CitedValue(_Strict):
    """A positive value with its units and source."""

    value: Annotated[float, Field(gt=0)]
    units: str
    source: Annotated[str, Field(min_length=3)]


class Antigenicity(_Strict):
    """Mutational load of the line (the preset's ``neoantigen_load`` follows from it)."""

    nonsynonymous_mutations: Annotated[int, Field(ge=0)]
    source: Annotated[str, Field(min_length=3)]


class BaselinePhenotype(_Strict):
    """The published untreated immune phenotype (what the preset must read as at the start)."""

    label: Literal["inflamed", "excluded", "desert"]
    source: Annotated[str, Field(min_length=3)]


class MouseModel(_Strict):
    """A syngeneic tumor model (one YAML file in ``data/mice``).

    Attributes
    ----------
    name : str
        File stem, used on the command line (``--model emt6``).
    preset : str
        Cycle preset of the model (``mouse`` is MC38).
    doubling_time : CitedValue
        Untreated tumor-volume doubling time (days) in the studied size range.
    start_volume : CitedValue
        Usual tumor volume at enrolment (mm3).
    parameters : mapping of name -> ParameterDistribution
        Per-mouse spread (a missing median is the preset's value).
    antigenicity, phenotype
        Mutational load and baseline phenotype, with sources.
    calibration : dict, optional
        The published figures the model is calibrated to (MC38 only).
    """

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$")]
    description: str
    strain: str
    tissue: str
    preset: str
    doubling_time: CitedValue
    start_volume: CitedValue
    parameters: dict[str, ParameterDistribution]
    antigenicity: Antigenicity
    phenotype: BaselinePhenotype
    calibration: dict | None = None


def available_mouse_models() -> list[str]:
    """Names of the packaged mouse models."""
    return sorted(p.stem for p in MICE_DIR.glob("*.yaml") if p.stem not in _NOT_MODELS)


def load_mouse_model(name: str | Path | MouseModel) -> MouseModel:
    """A packaged mouse model by name (``"emt6"``), a model file, or a MouseModel as is.

    Raises
    ------
    InputError
        For an unknown name, listing the close matches and every model.
    """
    if isinstance(name, MouseModel):
        return name
    path = Path(name)
    if path.suffix not in (".yaml", ".yml"):
        key = str(name).strip().lower()
        choices = available_mouse_models()
        if key not in choices:
            close = difflib.get_close_matches(key, choices, n=3, cutoff=0.4)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise InputError("model", f"unknown mouse model {str(name)!r}",
                             f"{hint}choose from {', '.join(choices)}")
        path = MICE_DIR / f"{key}.yaml"
    return _read(str(path))


@lru_cache(maxsize=16)
def _read(path: str) -> MouseModel:
    return read_yaml(Path(path), MouseModel)


@lru_cache(maxsize=1)
def study_settings() -> dict:
    """``data/mice/study.yaml``: caliper noise, measurement days, complete-regression threshold."""
    return yaml.safe_load((MICE_DIR / "study.yaml").read_text())


def sample_mice(model: str | MouseModel, count: int, seed: int, *, start: int = 0) -> pd.DataFrame:
    """Mice ``start .. start+count-1`` of a model: each mouse's own parameter values (model units).

    Parameters
    ----------
    model : str or MouseModel
    count : int
        Mice per group (>= 1).
    seed : int
        Sobol scrambling seed; the same seed gives the same mice.
    start : int
        First mouse id (a study gives each group its own ids).

    Returns
    -------
    DataFrame
        Index ``mouse``; one column per parameter of :attr:`MouseModel.parameters`.
    """
    from immunocycle.cycle import resolve_preset

    model = load_mouse_model(model)
    if count < 1:
        raise InputError("mice", f"must be at least 1 (got {count})")
    specs, _ = resolve_preset(model.preset)
    uniform = {name: Distribution("uniform", 0.0, 1.0) for name in model.parameters}
    u = sample_patients(uniform, start, count, seed)
    out = pd.DataFrame(index=pd.RangeIndex(count, name="mouse"))  # 0-based within the group
    for name, dist in model.parameters.items():
        if name not in specs:
            raise InputError(f"{model.name}.yaml", f"parameters.{name}: not a parameter of "
                             f"preset {model.preset!r}")
        out[name] = dist.ppf(u[name].to_numpy(), float(specs[name].value))
    return out


def median_mouse(model: str | MouseModel) -> dict[str, float]:
    """The model's median mouse: every sampled parameter at its median (the preset's values)."""
    from immunocycle.cycle import resolve_preset

    model = load_mouse_model(model)
    specs, _ = resolve_preset(model.preset)
    return {name: float(dist.ppf(np.array([0.5]), float(specs[name].value))[0])
            for name, dist in model.parameters.items()}


__all__ = ["MICE_DIR", "Antigenicity", "BaselinePhenotype", "CitedValue", "MouseModel",
           "available_mouse_models", "load_mouse_model", "median_mouse", "sample_mice",
           "study_settings"]
