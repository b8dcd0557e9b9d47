"""``immunocycle export-sbml``: a model, with its dosing as events, as SBML L3V2."""

from __future__ import annotations

from pathlib import Path

import typer

from immunocycle._commands.simulate import in_declared_units
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
    cohort: str = typer.Option(None, "--cohort", help="Export virtual patient --patient of this "
                               "cohort (its preset, sampled parameters with the cohort's fitted "
                               "values, and diagnosis size), as `trial --cohort` simulates it."),
    patient: int = typer.Option(0, "--patient", min=0, help="Patient id in the cohort (0-based)."),
    seed: int = typer.Option(0, "--seed", min=0, help="The trial seed the patient belongs to."),
    out: Path = typer.Option(None, "--out", help="SBML file to write (default: stdout)."),
) -> None:
    """Export a model, with its dosing as events, to SBML Level 3 Version 2.

    With --preset the cycle model is exported as `simulate --preset` runs it from diagnosis: t = 0 is diagnosis (the start of treatment), species start at the state the untreated patient reaches at the preset's diagnosis diameter, and the --therapy doses are events at their days from diagnosis.

    With --cohort C --patient K the model is patient K of `trial --cohort C --seed S` (S from --seed): the cohort's preset with that patient's parameters, grown to that patient's diagnosis size.

    Example: immunocycle export-sbml --preset inflamed --therapy nivolumab --out inflamed.xml
    """
    from immunocycle._commands.simulate import PRESET_ALIASES, in_declared_units, parse_assignments

    if sum(x is not None for x in (model, preset, cohort)) != 1:
        raise InputError("give one of a MODEL argument, --preset or --cohort")
    values = parse_assignments(set_)
    if cohort is not None:
        m = _patient_model(cohort, patient, seed, therapy, values)
    elif preset is None:
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
                                 compiled.default_values())
        m = model_at_diagnosis(preset, therapies, values)
    from immunocycle.sbml import to_sbml

    text = to_sbml(m)
    if out is None:
        typer.echo(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        console.print(f"[green]wrote[/] {out}")


def _patient_model(cohort: str, patient: int, seed: int, therapy: list[str], values: dict):
    """Patient ``patient`` of ``cohort`` (trial seed ``seed``) at diagnosis, with ``therapy``."""
    from immunocycle._commands.simulate import _resolve
    from immunocycle._inputs import check_overrides
    from immunocycle.cycle import compiled_cycle_model, model_at_diagnosis
    from immunocycle.population import sample_cohort
    from immunocycle.trial import make_task

    # The trial's own task holds the cohort with its fitted values; the arm only fills the slot.
    task = make_task(cohort, ["nivolumab"], seed=seed)
    c = task.cohort
    mult = {task.parameter: task.multiplier} if task.parameter else None
    row = sample_cohort(c, patient, 1, seed, tmb=task.tmb, multipliers=mult).iloc[0]
    therapies = _resolve(c.base, therapy)
    compiled = compiled_cycle_model(c.base, therapies)
    declared = compiled.default_values()
    params = {k: float(v) for k, v in row.items() if k in declared}
    units = {n: p.units for n, p in compiled.model.parameters.items()}
    params.update(check_overrides(in_declared_units(values, units), declared))
    return model_at_diagnosis(c.base, therapies, params,
                              diagnosis_diameter_mm=float(row["diagnosis_sum_mm"]))
