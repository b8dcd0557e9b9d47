"""Every shipped parameter has units and a source; overlays change only what defines them."""

from pathlib import Path

import pytest

from immunocycle._paths import PACKAGE_DATA
from immunocycle.cycle import build_cycle_model, load_therapy, resolve_preset
from immunocycle.model import read_yaml
from immunocycle.model._io import ParameterSetFile
from immunocycle.model._units import parse_units

DATA = PACKAGE_DATA / "cycle"
SETS = sorted(DATA.glob("*.yaml"))
SETS = [p for p in SETS if p.stem not in ("analysis", "step_leverage")]  # settings, not parameters
THERAPIES = sorted((DATA / "therapies").glob("*.yaml"))
GOOD_SOURCE = ("via", "doi", "PMID", "assumption", "calibrated", "definition", "label", "20", "19")


def _check_spec(where: str, name: str, spec) -> None:
    parse_units(spec.units, where, name)  # raises on unknown units
    assert spec.units.strip(), f"{where}: {name} has no units"
    assert len(spec.source) > 5, f"{where}: {name} has no source"
    assert any(s in spec.source for s in GOOD_SOURCE), f"{where}: {name}: {spec.source!r}"
    assert spec.description.strip(), f"{where}: {name} has no description"


@pytest.mark.parametrize("path", SETS, ids=lambda p: Path(p).stem)
def test_every_parameter_has_units_and_a_source(path):
    pset = read_yaml(path, ParameterSetFile)
    assert pset.parameters
    for name, spec in pset.parameters.items():
        _check_spec(str(path), name, spec)


@pytest.mark.parametrize("path", THERAPIES, ids=lambda p: Path(p).stem)
def test_every_therapy_parameter_has_units_and_a_source(path):
    therapy = load_therapy(path)
    for name, spec in therapy.pk.items():
        _check_spec(str(path), name, spec)
    assert len(therapy.dosing.source) > 5
    for effect in therapy.effects:
        assert len(effect.source) > 5


@pytest.mark.parametrize("archetype", ["inflamed", "excluded", "desert"])
def test_archetypes_are_small_overlays_on_the_reference(archetype):
    overlay = read_yaml(DATA / f"{archetype}.yaml", ParameterSetFile)
    assert overlay.base == "human" and 1 <= len(overlay.parameters) <= 3
    merged, _ = resolve_preset(archetype)
    reference, _ = resolve_preset("human")
    changed = {k for k in reference if merged[k] != reference[k]}
    assert changed == set(overlay.parameters)


def test_every_model_parameter_comes_from_the_sets():
    model = build_cycle_model("mouse", ["anti_pdl1_mouse"])
    for p in model.parameters.values():
        assert p.source, p.name
