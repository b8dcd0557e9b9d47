"""``immunocycle demo``: the main job on the embedded default."""

from __future__ import annotations

from pathlib import Path

import typer

from immunocycle._console import overwrite_option, writes_run


@writes_run("demo")
def demo(out: Path = typer.Option(Path("results/demo"), "--out", help="Output folder."),
         seed: int = typer.Option(0, "--seed", min=0),
         overwrite: bool = overwrite_option()) -> None:
    """The main job: diagnose the immune-excluded cohort, design regimens, confirm them in a trial.

    The best regimens are tried against nivolumab alone; writes report.html and its data.

    Example: immunocycle demo --out results/demo
    """
    from immunocycle._demo import run_demo

    report = run_demo(out, seed=seed)
    _show_results(out, report)


def _show_results(out: Path, report: Path) -> None:
    """The design's ranked regimens and the confirmatory trial, from the files just written."""
    import json

    from immunocycle import _summaries

    design, trial = out / "design.json", out / "trial" / "summary.json"
    if design.exists():
        _summaries.show(_summaries.design(json.loads(design.read_text())))
    if trial.exists():
        _summaries.show(_summaries.trial(json.loads(trial.read_text())))
    _summaries.show("[bold]open the report:[/]", [report, out])
