"""``immunocycle cohort``: list, show and calibrate the virtual-patient cohorts."""

from __future__ import annotations

import typer

from immunocycle._console import console, guard
from immunocycle._console import fail as _fail
from immunocycle._provenance import dumps_json

cohort_app = typer.Typer(help="Virtual-patient cohorts: list, show, calibrate.\n\n"
                         "Example: immunocycle cohort show melanoma",
                         no_args_is_help=True, pretty_exceptions_enable=False)


@cohort_app.command("list")
def cohort_list(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List the packaged cohorts with their calibration target and fitted multiplier.

    Example: immunocycle cohort list
    """
    from immunocycle.population import available_cohorts, fitted_values, load_cohort

    rows = []
    for name in available_cohorts():
        c, f = load_cohort(name), fitted_values(name)
        rows.append({"name": name, "tumor_type": c.tumor_type, "base": c.base,
                     "target_orr": c.calibration.orr if c.calibration else None,
                     "multiplier": f.multiplier, "ae_offset": f.ae_offset,
                     "achieved_orr": f.fit.get("achieved_orr")})
    if as_json:
        typer.echo(dumps_json(rows))
        return
    from immunocycle import _summaries

    _summaries.show(_summaries.cohort_list(rows))


@cohort_app.command("show")
@guard
def cohort_show(name: str = typer.Argument(..., help="Cohort name or file."),
                as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """One cohort: distributions, TMB, diagnosis size, targets and fitted values.

    Example: immunocycle cohort show melanoma
    """
    from immunocycle.population import fitted_values, load_cohort

    c = load_cohort(name)
    data = c.model_dump(mode="json")
    data["fitted"] = fitted_values(c.name).model_dump(mode="json")
    if as_json:
        typer.echo(dumps_json(data))
        return
    from immunocycle import _summaries

    _summaries.show(_summaries.cohort(data))


@cohort_app.command("calibrate")
@guard
def cohort_calibrate(
    name: str | None = typer.Argument(None, help="Cohort to calibrate (or --all)."),
    all_: bool = typer.Option(False, "--all", help="Calibrate every cohort with a target."),
    n: int = typer.Option(1000, "--n", min=1, help="Patients of the final check."),
    n_search: int = typer.Option(300, "--n-search", min=1, help="Patients while searching."),
    seed: int = typer.Option(0, "--seed", min=0, help="Sampling seed."),
    days: float = typer.Option(365.0, "--days", help="Follow-up (days)."),
    as_json: bool = typer.Option(False, "--json", help="Print the fitted values as JSON."),
    jobs: int = typer.Option(1, "--jobs", min=1,
                             help="With --all: cohorts calibrated at once (processes)."),
    spread_only: bool = typer.Option(
        False, "--spread-only",
        help="Recompute only the multiplier's calibration spread (multiplier_log_sd) at the "
             "fitted values in fitted.yaml (their n, seed, days), without refitting."),
) -> None:
    """Fit the ORR multiplier, the new-lesion rate (median PFS) and the AE offset to the
    calibration targets, and the multiplier's calibration spread; writes fitted.yaml.

    Example: immunocycle cohort calibrate melanoma
    """
    from immunocycle.trial import calibrate_all, calibrate_cohort

    if not all_ and not name:
        _fail(ValueError("give a cohort NAME or --all"))
    log = None if as_json else (lambda msg: console.print(msg))
    from immunocycle._inputs import check_time_grid

    days = check_time_grid(days)
    if spread_only:
        from immunocycle.trial import calibrate_spread, calibrate_spread_all

        result = (calibrate_spread_all(log=log) if all_
                  else {name: calibrate_spread(name, log=log)})
    else:
        result = (calibrate_all(n=n, n_search=n_search, seed=seed, days=days, log=log, jobs=jobs)
                  if all_
                  else {name: calibrate_cohort(name, n=n, n_search=n_search, seed=seed,
                                               days=days, log=log)})
    if as_json:
        typer.echo(dumps_json(result))
        return
    from immunocycle import _summaries

    for cohort_name, values in result.items():
        _summaries.show(_summaries.scalars(f"Calibrated {cohort_name}", values))


__all__ = ["cohort_app"]
