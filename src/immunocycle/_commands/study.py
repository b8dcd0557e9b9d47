"""``immunocycle study``: a virtual mouse study of one syngeneic model, one group per arm.

Top layer: the study runs through :func:`immunocycle.trial.run_study` and its figures are drawn
by :func:`immunocycle.report.study_figures`, since trial may not import report.
"""

from __future__ import annotations

from pathlib import Path

import typer

from immunocycle._console import overwrite_option, writes_run


@writes_run("study")
def study_command(
    model: str = typer.Option(..., "--model", help="Syngeneic model: mc38, ct26, b16f10, 4t1, "
                              "emt6 (or a model file)."),
    arm: list[str] = typer.Option(..., "--arm", help="Group: mouse therapies joined by '+' "
                                  "(isotype, anti_pdl1_mouse+anti_tgfb_mouse) or any catalog "
                                  "therapy; repeat per group, the first is the reference."),
    mice: int = typer.Option(10, "--mice", help="Mice per group."),
    start_volume: float | None = typer.Option(None, "--start-volume", help="Tumor volume at "
                                              "enrolment (mm3); default the model's usual one."),
    days: float = typer.Option(28.0, "--days", help="Study length (days)."),
    endpoint_volume: float = typer.Option(1500.0, "--endpoint-volume",
                                          help="Humane endpoint volume (mm3)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seeds the mice and the caliper noise."),
    out: Path = typer.Option(Path("results/study"), "--out", help="Output folder."),
    overwrite: bool = overwrite_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run a virtual mouse study: groups of tumor-bearing mice, caliper-measured volumes.

    Writes summary.json (CR, TGI, survival per group), measurements, mice, figures under --out.

    Example: immunocycle study --model emt6 --arm isotype --arm anti_pdl1_mouse+anti_tgfb_mouse
    """
    from immunocycle.report import study_figures
    from immunocycle.trial import run_study

    result = run_study(model, arm, mice=mice, start_volume=start_volume, days=days,
                       endpoint_volume=endpoint_volume, seed=seed, out=out,
                       figures=study_figures)
    if as_json:
        from immunocycle._provenance import dumps_json

        typer.echo(dumps_json(result.summary))
        return
    from immunocycle import _summaries

    _summaries.show(_summaries.study(result.summary), [out / "summary.json",
                                                       out / "measurements.parquet"])


__all__ = ["study_command"]
