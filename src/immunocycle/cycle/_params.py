"""Parameter sets of the cycle model: YAML files with value, units, description and source.

A preset is a complete set (``human``, ``mouse``) or an overlay that names its ``base`` and changes
only the parameters that define it (the archetypes ``inflamed``, ``excluded``, ``desert``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from immunocycle._paths import PACKAGE_DATA
from immunocycle.model import (
    Model,
    ModelError,
    Parameter,
    ParameterSetFile,
    ParameterSpec,
    load_parameter_set,
    ureg,
)

DATA_DIR = PACKAGE_DATA / "cycle"
PRESETS = ("human", "mouse", "inflamed", "excluded", "desert")

Params = Mapping[str, ParameterSpec]

#: A parameter set is a mouse's when its body weight is below this (kg). Sets carry no species
#: tag; the packaged mouse weighs 0.025 kg and the human 80 kg, so any value between separates them.
MOUSE_BELOW_KG = 1.0


def packaged_file(name: str | Path, folder: Path, kind: str, choices,
                  file_kind: str = "file") -> Path:
    """A YAML path given as is, or the packaged ``folder/<name>.yaml``; an unknown name is a
    :class:`ModelError` listing ``choices()`` (called only then)."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        return path
    found = folder / f"{name}.yaml"
    if not found.exists():
        raise ModelError(str(found), f"({kind})", f"unknown {kind} {name!r}; choose from "
                         f"{', '.join(choices())} or give a {file_kind}")
    return found


def preset_path(preset: str | Path) -> Path:
    """The file of a named preset (``"human"``) or a path given as is."""
    return packaged_file(preset, DATA_DIR, "preset", lambda: PRESETS, "parameter-set file")


def resolve_preset(preset: str | Path) -> tuple[dict[str, ParameterSpec], list[ParameterSetFile]]:
    """All parameters of a preset, overlays applied on their base; and the chain of files read."""
    chain: list[ParameterSetFile] = []
    path = preset_path(preset)
    seen = set()
    while True:
        pset = load_parameter_set(path)
        chain.append(pset)
        if not pset.base:
            break
        if pset.base in seen:
            raise ModelError(str(path), "base", f"circular base chain at {pset.base!r}")
        seen.add(pset.base)
        path = preset_path(pset.base)
    merged: dict[str, ParameterSpec] = {}
    for pset in reversed(chain):
        for name, spec in pset.parameters.items():
            if chain[-1] is not pset and name not in merged:
                raise ModelError(pset.name, f"parameters.{name}",
                                 "an overlay may only change parameters of its base set")
            merged[name] = spec
    return merged, chain


def species_of(params: Params) -> Literal["mouse", "human"]:
    """The species of a resolved parameter set, told by its ``body_weight`` (mouse below 1 kg).

    The one rule for every choice between mouse and human data (therapies, catalog PK, PBPK).
    """
    bw = params["body_weight"]
    kg = ureg.Quantity(bw.value, bw.units).to("kg").magnitude
    return "mouse" if kg < MOUSE_BELOW_KG else "human"


def preset_species(preset: str | Path) -> Literal["mouse", "human"]:
    """The species of a preset (name or parameter-set file): :func:`species_of` its parameters."""
    return species_of(resolve_preset(preset)[0])


def add_parameters(model: Model, params: Params, names: Iterable[str], module: str) -> None:
    """Add the named parameters (value, units, description, source from the set) to ``model``."""
    for name in names:
        if name in model.parameters:
            continue
        spec = params.get(name)
        if spec is None:
            raise ModelError(model.source, f"parameters.{name}",
                             f"module {module!r} needs this parameter; add it to the parameter set")
        model.add(Parameter(name, spec.value, spec.units, spec.description, spec.source))


__all__ = ["DATA_DIR", "PRESETS", "Params", "add_parameters", "preset_path", "preset_species",
           "resolve_preset", "species_of"]
