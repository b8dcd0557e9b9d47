"""``immunocycle report DIR``: a saved run folder rendered into one HTML report."""

from __future__ import annotations

from pathlib import Path

import typer

from immunocycle._console import console, guard


@guard
def report_command(
    run_dir: Path = typer.Argument(..., help="Run folder (holding inputs.json, diagnosis/, "
                                   "design.json and/or trial/patients.parquet)."),
    out: Path | None = typer.Option(None, "--out", help="HTML file to write (default: "
                                    "RUN_DIR/report.html)."),
) -> None:
    """Render a saved run folder into one self-contained HTML report (figures embedded).

    Diagnosis, ranked regimens, Pareto plot, nano versus free, trial waterfalls and Kaplan-Meier.

    Example: immunocycle report results/design
    """
    from immunocycle.report import render_report

    with console.status("rendering the report...", spinner="dots"):
        path = render_report(run_dir, out)
    console.print(f"wrote {path}")


__all__ = ["report_command"]
