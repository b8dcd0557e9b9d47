"""``immunocycle export-sbml``: a model, with its dosing as events, as SBML L3V2."""

from __future__ import annotations

from pathlib import Path

import typer

from immunocycle._console import console, guard
from immunocycle._errors import InputError


@guard
def export_sbml(
    model: str = typer.Argument(None, help="Reference model name or model YAML file "
                                "(or use --preset)."),
    preset: str = typer.Option(None, "--preset", help="Cycle-model preset: human, mouse-mc38, "
                               "inflamed, excluded, desert (exported from diagnosis)."),
    therapy: list[str] = typer.Option([], "--therapy", help="Therapy to give (repeatable), as in "
                                      "simulate: a cycle antibody, catalog therapy or regimen, "
                                      "with an optional @dose:schedule, or a therapy file."),
    set_: list[str] = typer.Option([], "--set", help="Override a parameter: NAME=VALUE in its "
                                   "declared units (with --preset: applied before growth to "
                                   "diagnosis too)."),
    out: Path = typer.Option(None, "--out", help="SBML file to write (default: stdout)."),
) -> None:
    """Export a model, with its dosing as events, to SBML Level 3 Version 2.

    With --preset the cycle model is exported as `simulate --preset` runs it from diagnosis: t = 0 is diagnosis (the start of treatment), species start at the state the untreated patient reaches at the preset's diagnosis diameter, and the --therapy doses are events at their days from diagnosis.

    Example: immunocycle export-sbml --preset inflamed --therapy nivolumab --out inflamed.xml
    """
    from immunocycle._commands.simulate import PRESET_ALIASES, in_declared_units, parse_assignments

    if (model is None) == (preset is None):
        raise InputError("give either a MODEL argument or --preset")
    values = parse_assignments(set_)
    if preset is None:
        if therapy:
            raise InputError("--therapy needs --preset (therapies act on the cycle model)")
        from immunocycle._inputs import check_overrides
        from immunocycle.model import load_reference

        m = load_reference(model)
        declared = {n: p.value for n, p in m.parameters.items()}
        declared.update({n: s.initial for n, s in m.species.items()
                         if not isinstance(s.initial, str)})
        units = {n: p.units for n, p in m.symbols().items() if n in declared}
        m = m.with_values(check_overrides(in_declared_units(values, units), declared),
                          where="--set")
    else:
        from immunocycle._commands.simulate import _resolve
        from immunocycle._inputs import check_overrides
        from immunocycle.cycle import compiled_cycle_model, model_at_diagnosis

        preset = PRESET_ALIASES.get(preset, preset)
        therapies = _resolve(preset, therapy)
        compiled = compiled_cycle_model(preset, therapies)
        units = {n: p.units for n, p in compiled.model.parameters.items()}
        values = check_overrides(in_declared_units(values, units),
                                 dict(zip(compiled.parameter_names,
                                          compiled.default_parameters(), strict=True)))
        m = model_at_diagnosis(preset, therapies, values)
    from immunocycle.sbml import to_sbml

    text = to_sbml(m)
    if out is None:
        typer.echo(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        console.print(f"[green]wrote[/] {out}")
