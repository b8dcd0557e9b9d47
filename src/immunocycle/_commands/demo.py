"""``immunocycle demo``: the main job on the embedded default."""

from __future__ import annotations

from pathlib import Path

import typer

from immunocycle._console import console, overwrite_option, writes_run


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
    console.print(f"[green]demo written[/] to {out}: open {report}")
