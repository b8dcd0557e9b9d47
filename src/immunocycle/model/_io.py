"""Models and parameter sets as YAML files, validated by pydantic with errors naming file and field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from immunocycle._inputs import load_yaml, short
from immunocycle.model._components import (
    Assignment,
    Compartment,
    Dose,
    Parameter,
    RateRule,
    Reaction,
    Species,
    schedule,
)
from immunocycle.model._errors import ModelError
from immunocycle.model._model import Model
from immunocycle.model._units import conversion_factor, parse_units


class _Strict(BaseModel):
    # allow_inf_nan=False: every number in a model or parameter file must be finite.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ParameterSpec(_Strict):
    value: float
    units: str
    description: str = ""
    source: Annotated[str, Field(min_length=3)]


class CompartmentSpec(_Strict):
    size: float | str
    units: str = "L"
    description: str = ""


class SpeciesSpec(_Strict):
    compartment: str
    initial: float | str = 0.0
    units: str
    amount: bool = True
    description: str = ""


class ReactionSpec(_Strict):
    rate: str
    reactants: dict[str, float] = {}
    products: dict[str, float] = {}
    description: str = ""


class AssignmentSpec(_Strict):
    expression: str
    units: str = "dimensionless"
    description: str = ""


class ScheduleSpec(_Strict):
    start: Annotated[float, Field(ge=0)] = 0.0
    every: Annotated[float, Field(gt=0)] = 1.0
    count: Annotated[int, Field(ge=1)] = 1


class DoseSpec(_Strict):
    target: str
    amount: Annotated[float, Field(ge=0)] | str
    times: list[Annotated[float, Field(ge=0)]] | ScheduleSpec
    duration: Annotated[float, Field(ge=0)] = 0.0
    name: str = ""


class ModelFile(_Strict):
    name: str
    description: str = ""
    source: str = ""
    time_units: str = "day"
    compartments: dict[str, CompartmentSpec]
    species: dict[str, SpeciesSpec]
    parameters: dict[str, ParameterSpec] = {}
    reactions: dict[str, ReactionSpec] = {}
    rate_rules: dict[str, str] = {}
    assignments: dict[str, AssignmentSpec] = {}
    doses: list[DoseSpec] = []


class ParameterSetFile(_Strict):
    name: str
    description: str = ""
    base: str = ""
    parameters: dict[str, ParameterSpec]


#: Parsed YAML by (path, modification time, size): presets and catalog files are read many
#: times per design run; a changed file is parsed again.
_PARSED: dict[tuple, Any] = {}


def _parsed(path: Path) -> Any:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _PARSED:
        # A safe loader that caps alias expansion (an alias bomb would flood memory and messages).
        _PARSED[key] = load_yaml(path.read_text())
    return copy.deepcopy(_PARSED[key])


def read_yaml(path: str | Path, schema: type[BaseModel]) -> Any:
    """Read a YAML file and validate it against ``schema``; errors name the file and the field."""
    path = Path(path)
    try:
        raw = _parsed(path)
    except FileNotFoundError:
        raise ModelError(str(path), "(file)", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or type(exc).__name__
        raise ModelError(str(path), "(file)", f"cannot be read as a YAML text file ({reason})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ModelError(str(path), "(yaml)", f"{line}malformed YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ModelError(str(path), "(top level)", f"expected a mapping, got {type(raw).__name__}")
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ModelError(str(path), field, f"{err['msg']} (got {short(err.get('input'))})") from None


def _num(value: float | str) -> float | str:
    """YAML 1.1 reads ``3.2e5`` as a string; take number-like strings as numbers."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def load_model(path: str | Path) -> Model:
    """Build a :class:`Model` from a YAML model file, checked for names and units."""
    spec: ModelFile = read_yaml(path, ModelFile)
    model = Model(spec.name, spec.time_units, source=str(path), description=spec.description)
    for name, c in spec.compartments.items():
        model.add(Compartment(name, _num(c.size), c.units, c.description))
    for name, s in spec.species.items():
        model.add(Species(name, s.compartment, _num(s.initial), s.units, s.amount, s.description))
    for name, p in spec.parameters.items():
        model.add(Parameter(name, p.value, p.units, p.description, p.source))
    for name, a in spec.assignments.items():
        model.add(Assignment(name, a.expression, a.units, a.description))
    for name, r in spec.reactions.items():
        stoich = {k: -v for k, v in r.reactants.items()}
        for k, v in r.products.items():
            stoich[k] = stoich.get(k, 0.0) + v
        model.add(Reaction(name, r.rate, stoich, r.description))
    for target, expression in spec.rate_rules.items():
        model.add(RateRule(target, expression))
    for i, d in enumerate(spec.doses):
        times = (schedule(d.times.start, d.times.every, d.times.count)
                 if isinstance(d.times, ScheduleSpec) else tuple(d.times))
        model.add(Dose(d.target, _num(d.amount), times, d.duration, d.name or f"dose{i}"))
    model.check()
    return model


def load_parameter_set(path: str | Path) -> ParameterSetFile:
    """Read a parameter-set YAML file (values with units and sources)."""
    return read_yaml(path, ParameterSetFile)


def apply_parameter_set(model: Model, path_or_set: str | Path | ParameterSetFile) -> Model:
    """A copy of ``model`` with the set's values, converted to the model's declared units.

    Raises
    ------
    ModelError
        If the set names a parameter the model lacks, or gives units of another dimension.
    """
    pset = path_or_set if isinstance(path_or_set, ParameterSetFile) else load_parameter_set(path_or_set)
    where = str(path_or_set) if not isinstance(path_or_set, ParameterSetFile) else pset.name
    values = {}
    for name, p in pset.parameters.items():
        if name not in model.parameters:
            raise ModelError(where, f"parameters.{name}", f"model {model.name!r} has no such parameter")
        target = parse_units(model.parameters[name].units, where, f"parameters.{name}.units")
        given = parse_units(p.units, where, f"parameters.{name}.units")
        values[name] = p.value * conversion_factor(given, target, where, f"parameters.{name}.units")
    return model.with_values(values, where)
