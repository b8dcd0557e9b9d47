"""``immunocycle trial``: a virtual trial of one cohort, every arm on the same patients.

Top layer: the trial runs through :func:`immunocycle.trial.run_trial` and its figures are drawn by
:func:`immunocycle.report.trial_figures`, since trial may not import report.
"""

from __future__ import annotations

from pathlib import Path

import typer

from immunocycle._console import fail as _fail
from immunocycle._console import overwrite_option, writes_run


@writes_run("trial")
def trial_command(
    cohort: str = typer.Option(..., "--cohort", help="Cohort name (immunocycle cohort list) or file."),
    arm: list[str] = typer.Option(..., "--arm", help="Regimen: cycle antibodies, catalog "
                                  "therapies or regimens joined by '+', each with an optional "
                                  "@dose:schedule (nivolumab, nivolumab_ipilimumab, "
                                  "doxil@40mg/m2:q28d+nivolumab, untreated); repeat per arm."),
    n: int = typer.Option(100, "--n", min=1, help="Virtual patients (each gets every arm)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Sampling and per-patient random seed."),
    out: Path = typer.Option(Path("results/trial"), "--out", help="Output folder."),
    tmb: float | None = typer.Option(None, "--tmb", help="Condition on a TMB (mutations/Mb)."),
    days: float = typer.Option(365.0, "--days", help="Treatment and follow-up (days)."),
    chunk_size: int = typer.Option(250, "--chunk-size", min=1,
                                   help="Patients per chunk (memory only)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address, "
                                         "tcp://host:8786 (only a trusted one: Dask sends pickles)."),
    local_cluster: int | None = typer.Option(None, "--local-cluster", min=1,
                                             help="Start a local Dask cluster of K workers."),
    match_phenotypes: bool = typer.Option(False, "--match-phenotypes",
                                          help="Select patients to the cohort's phenotype mix."),
    replicates: int | None = typer.Option(None, "--replicates", min=0,
                                          help="Draws of every effect size from its evidence-"
                                          "graded prior, for the 90 % prediction intervals "
                                          "(default 20; 0: none)."),
    accrual_months: float | None = typer.Option(
        None, "--accrual-months", help="Enrolment period of the compared trial (months) for the "
        "response at its data cutoff (default: the cohort's, data/trial/data_cutoff.yaml)."),
    min_follow_up_months: float | None = typer.Option(
        None, "--min-follow-up-months", help="Follow-up of the last enrolled patient at the "
        "data cutoff (months; default: the cohort's, data/trial/data_cutoff.yaml)."),
    overwrite: bool = overwrite_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run a virtual trial: every arm treats the same virtual patients.

    Writes summary.json, patients.parquet, figures (PNG) and inputs.json under --out.

    Example: immunocycle trial --cohort melanoma --arm nivolumab --arm nivolumab+ipilimumab
    """
    from immunocycle.report import trial_figures
    from immunocycle.trial import run_trial

    if scheduler and local_cluster:
        _fail(ValueError("--scheduler and --local-cluster exclude each other"))
    from immunocycle._inputs import check_number, check_time_grid

    days = check_time_grid(days)
    if tmb is not None:
        tmb = check_number(tmb, "--tmb", low=0.0, strict_low=True)
    summary = run_trial(cohort, arm, n, out, seed=seed, days=days, tmb=tmb,
                        chunk_size=chunk_size, scheduler=scheduler,
                        local_cluster=local_cluster, progress=not as_json,
                        match_phenotypes=match_phenotypes, figures=trial_figures,
                        replicates=replicates, accrual_months=accrual_months,
                        min_follow_up_months=min_follow_up_months)
    if as_json:
        from immunocycle._provenance import dumps_json

        typer.echo(dumps_json(summary))
        return
    from immunocycle import _summaries

    _summaries.show(_summaries.trial(summary), [out / "summary.json", out / "patients.parquet"])


__all__ = ["trial_command"]
