"""Command line of virtual trials and cohorts: ``immunocycle trial`` and ``immunocycle cohort``.

The lead mounts them in ``cli.py``::

    app.command("trial")(trial_command)
    app.add_typer(cohort_app, name="cohort")
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from immunocycle._console import console
from immunocycle._console import fail as _fail
from immunocycle.model import ModelError

cohort_app = typer.Typer(help="Virtual-patient cohorts: list, show, calibrate.",
                         no_args_is_help=True, pretty_exceptions_enable=False)




def trial_command(
    cohort: str = typer.Option(..., "--cohort", help="Cohort name (immunocycle cohort list) or file."),
    arm: list[str] = typer.Option(..., "--arm", help="Regimen: therapy names joined by '+' "
                                  "(nivolumab, nivolumab+ipilimumab, untreated); repeat per arm."),
    n: int = typer.Option(100, "--n", help="Virtual patients (each gets every arm)."),
    seed: int = typer.Option(0, "--seed", help="Sampling and per-patient random seed."),
    out: Path = typer.Option(Path("results/trial"), "--out", help="Output folder."),
    tmb: float | None = typer.Option(None, "--tmb", help="Condition on a TMB (mutations/Mb)."),
    days: float = typer.Option(365.0, "--days", help="Treatment and follow-up (days)."),
    chunk_size: int = typer.Option(250, "--chunk-size", help="Patients per chunk (memory only)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address."),
    local_cluster: int | None = typer.Option(None, "--local-cluster",
                                             help="Start a local Dask cluster of K workers."),
    match_phenotypes: bool = typer.Option(False, "--match-phenotypes",
                                          help="Select patients to the cohort's phenotype mix."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run a virtual trial: every arm treats the same patients; writes summary.json,
    patients.parquet, figures (PNG) and inputs.json under --out."""
    from immunocycle.trial._runner import RunConflictError
    from immunocycle.trial._trial import run_trial

    if scheduler and local_cluster:
        _fail(ValueError("--scheduler and --local-cluster exclude each other"))
    try:
        summary = run_trial(cohort, arm, n, out, seed=seed, days=days, tmb=tmb,
                            chunk_size=chunk_size, scheduler=scheduler,
                            local_cluster=local_cluster, progress=not as_json,
                            match_phenotypes=match_phenotypes)
    except (ModelError, ValueError, RunConflictError) as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    for a in summary["arms"]:
        lo, hi = a["orr_ci"]
        console.print(f"{a['name']}: n {a['n']}, ORR {a['orr']:.1%} [{lo:.1%}, {hi:.1%}], "
                      f"median PFS {a['median_pfs_days']} d, HR {a['hr_vs_first']}, "
                      f"grade>=3 AE {a['ae_grade3plus_rate']:.1%}")
    console.print(f"wrote {out / 'summary.json'}")


@cohort_app.command("list")
def cohort_list(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List the packaged cohorts with their calibration target and fitted multiplier."""
    from immunocycle.population import available_cohorts, fitted_values, load_cohort

    rows = []
    for name in available_cohorts():
        c, f = load_cohort(name), fitted_values(name)
        rows.append({"name": name, "tumor_type": c.tumor_type, "base": c.base,
                     "target_orr": c.calibration.orr if c.calibration else None,
                     "multiplier": f.multiplier, "ae_offset": f.ae_offset,
                     "achieved_orr": f.fit.get("achieved_orr")})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['name']:14s} {r['tumor_type']:14s} base={r['base']:9s} "
                   f"target ORR={r['target_orr']} achieved={r['achieved_orr']} "
                   f"multiplier={r['multiplier']}")


@cohort_app.command("show")
def cohort_show(name: str = typer.Argument(..., help="Cohort name or file.")) -> None:
    """Print a cohort (distributions, TMB, diagnosis size, targets) and its fitted values."""
    from immunocycle.population import fitted_values, load_cohort

    try:
        c = load_cohort(name)
    except ModelError as exc:
        _fail(exc)
    data = c.model_dump(mode="json")
    data["fitted"] = fitted_values(c.name).model_dump(mode="json")
    typer.echo(json.dumps(data, indent=2))


@cohort_app.command("calibrate")
def cohort_calibrate(
    name: str | None = typer.Argument(None, help="Cohort to calibrate (or --all)."),
    all_: bool = typer.Option(False, "--all", help="Calibrate every cohort with a target."),
    n: int = typer.Option(1000, "--n", help="Patients of the final check."),
    n_search: int = typer.Option(300, "--n-search", help="Patients while searching."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed."),
    days: float = typer.Option(365.0, "--days", help="Follow-up (days)."),
    as_json: bool = typer.Option(False, "--json", help="Print the fitted values as JSON."),
) -> None:
    """Fit the ORR multiplier and AE offset to calibration_targets.md; writes fitted.yaml."""
    from immunocycle.trial._calibrate import calibrate_all, calibrate_cohort

    if not all_ and not name:
        _fail(ValueError("give a cohort NAME or --all"))
    log = None if as_json else (lambda msg: console.print(msg))
    try:
        result = (calibrate_all(n=n, n_search=n_search, seed=seed, days=days, log=log) if all_
                  else {name: calibrate_cohort(name, n=n, n_search=n_search, seed=seed,
                                               days=days, log=log)})
    except (ModelError, ValueError) as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))


__all__ = ["cohort_app", "trial_command"]
