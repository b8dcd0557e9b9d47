"""``immunocycle bench``: engine throughput against references, and start-up time."""

from __future__ import annotations

from pathlib import Path

import typer

from immunocycle._console import console, overwrite_option, writes_run


@writes_run("bench", accumulates=True)
def bench(
    case: str = typer.Option("depillis", "--case",
                             help="depillis (engine vs references), cycle (the cycle model with "
                             "nivolumab), trial (time per patient and memory at --n/10 and --n), "
                             "design (batched screen vs one simulation per regimen), or startup "
                             "(seconds for immunocycle --help, median of 5 subprocesses)."),
    n: int = typer.Option(10_000, "--n", min=1, help="Batch size for the engine."),
    n_reference: int = typer.Option(200, "--n-reference", min=1,
                                    help="Patients run with libroadrunner and SciPy (subset)."),
    days: float = typer.Option(365.0, "--days", min=1.0),
    out: Path = typer.Option(Path("results/bench"), "--out", help="Output folder for bench.json."),
    seed: int = typer.Option(0, "--seed", min=0),
    replicates: int = typer.Option(0, "--replicates", min=0,
                                   help="--case trial: effect-size replicates of each run "
                                   "(0: the trial pipeline alone)."),
    overwrite: bool = overwrite_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON result to stdout."),
) -> None:
    """Speed: the engine against libroadrunner and SciPy (LSODA) in one run, or start-up time.

    Example: immunocycle bench --case startup --json
    """
    from immunocycle._inputs import check_time_grid
    from immunocycle._provenance import dumps_json, write_json

    days = check_time_grid(days)
    if case == "startup":
        from immunocycle._startup import bench_startup

        result = bench_startup()
    elif case == "trial":
        from immunocycle.trial import bench_trial

        sizes = (1000, 10_000) if n == 10_000 else (max(1, n // 10), n)
        result = bench_trial(sizes, arms=2, days=days, seed=seed, out=out / "trial_runs",
                             replicates=replicates)
    elif case == "design":
        from immunocycle.design import bench_screen

        result = bench_screen()
    else:
        from immunocycle._bench import run_bench

        result = run_bench(case, n=n, n_reference=n_reference, days=days, seed=seed)
    path = write_json(out / f"bench_{case}.json", result)
    if as_json:
        typer.echo(dumps_json(result))
        console.print(f"[green]wrote[/] {path}")
    else:
        from immunocycle import _summaries

        _summaries.show(_summaries.bench(result), [path])
