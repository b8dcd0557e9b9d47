"""``immunocycle export-sbml``: a model, with its dosing as events, as SBML L3V2."""

from __future__ import annotations

from pathlib import Path

import typer

from immunocycle._console import console, guard


@guard
def export_sbml(
    model: str = typer.Argument(..., help="Reference model name or model YAML file."),
    out: Path = typer.Option(None, "--out", help="SBML file to write (default: stdout)."),
) -> None:
    """Export a model, with its dosing as events, to SBML Level 3 Version 2.

    Example: immunocycle export-sbml kuznetsov1994 --out kuznetsov1994.xml
    """
    from immunocycle.model import load_reference
    from immunocycle.sbml import to_sbml

    text = to_sbml(load_reference(model))
    if out is None:
        typer.echo(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        console.print(f"[green]wrote[/] {out}")
