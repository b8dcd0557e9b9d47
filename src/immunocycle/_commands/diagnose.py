"""``immunocycle diagnose``: which step of the cycle limits a tumor or cohort, and why."""

from __future__ import annotations

from pathlib import Path

import typer

from immunocycle._console import console, overwrite_option, writes_run
from immunocycle._console import fail as _fail


@writes_run("diagnose")
def diagnose_command(
    preset: str | None = typer.Option(None, "--preset", help="Cycle preset: human, mouse, "
                                      "inflamed, excluded, desert."),
    cohort: str | None = typer.Option(None, "--cohort", help="Cohort name (immunocycle cohort "
                                      "list) or file."),
    tmb: float | None = typer.Option(None, "--tmb", help="Tumor mutational burden (mutations/Mb)."),
    n: int = typer.Option(20, "--n", help="Cohort patients sampled (unused for a preset)."),
    out: Path = typer.Option(Path("results/diagnose"), "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", min=0, help="Cohort sampling and global-sensitivity seed."),
    global_analysis: bool | None = typer.Option(None, "--global/--local-only",
                                                help="Morris + Sobol indices (default: cohorts)."),
    overwrite: bool = overwrite_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the diagnosis as JSON."),
) -> None:
    """Which step of the cancer-immunity cycle limits a tumor or cohort, and why.

    Writes diagnosis.json, CSV tables, a radar and an elasticity chart (PNG) under --out.

    Example: immunocycle diagnose --preset excluded
    """
    from immunocycle._provenance import dumps_json, provenance, write_json
    from immunocycle.design import diagnose

    if (preset is None) == (cohort is None):
        _fail("give exactly one of --preset or --cohort")
    if n < 1:
        _fail(f"--n must be a positive integer (got {n})")
    if tmb is not None:
        from immunocycle._inputs import check_number

        tmb = check_number(tmb, "--tmb", low=0.0, strict_low=True)
    with console.status("diagnosing (batched sensitivity runs)...", spinner="dots"):
        result = diagnose(preset=preset, cohort=cohort, tmb=tmb, n=n, seed=seed,
                          global_analysis=global_analysis)
    paths = result.write(out)
    write_json(out / "inputs.json", provenance(preset=preset, cohort=cohort, tmb=tmb, n=n,
                                               seed=seed, global_analysis=global_analysis))
    summary = result.to_dict()
    if as_json:
        typer.echo(dumps_json(summary))
        return
    from immunocycle import _summaries

    _summaries.show(_summaries.diagnose(summary), paths)


__all__ = ["diagnose_command"]
