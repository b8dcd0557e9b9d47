"""``immunocycle design``: rank nano-immunotherapies and combinations, confirm in a trial."""

from __future__ import annotations

from pathlib import Path

import typer

from immunocycle._console import console, overwrite_option, writes_run
from immunocycle._console import fail as _fail


@writes_run("design")
def design_command(
    preset: str = typer.Option(None, "--preset", help="Cycle-model preset (excluded, desert, inflamed, human)."),
    cohort: str = typer.Option(None, "--cohort", help="Design for a cohort (name or YAML file) "
                               "instead of a preset: diagnosed, screened on its median patient, "
                               "confirmed on its patients."),
    trial_cohort: str = typer.Option(None, "--trial-cohort",
                                     help="Confirming-trial cohort of a preset (default: as the preset)."),
    candidates: str = typer.Option(None, "--candidates",
                                   help="Comma-separated catalog therapy ids (default: from the diagnosis)."),
    max_agents: int = typer.Option(3, "--max-agents", min=1, help="Agents per regimen at most."),
    ae_limit: str = typer.Option(None, "--ae-limit",
                                 help="Largest grade >= 3 adverse-event rate allowed: a fraction "
                                 "(all types), or TYPE=fraction per AE type, comma-separated "
                                 "(hepatotoxicity=0.1,any=0.3)."),
    budget: int = typer.Option(3, "--budget", min=1, help="Candidates kept after the screen."),
    n: int = typer.Option(20, "--n", min=1, help="Patients in the confirming trial."),
    out: Path = typer.Option(Path("results/design"), "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", min=0),
    replicates: int | None = typer.Option(None, "--replicates", min=0,
                                          help="Draws of every effect size from its evidence-"
                                          "graded prior: 90 % prediction intervals and "
                                          "p_beats_comparator (default 20; 0: none)."),
    overwrite: bool = overwrite_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON result to stdout."),
) -> None:
    """Rank nano-immunotherapies and combinations for a tumor or cohort, confirmed in a trial.

    Screen, confirming trial, Pareto front, synergy, nano vs free; writes design.json and a report.

    Example: immunocycle design --preset excluded --n 20
    """
    from immunocycle._provenance import dumps_json, provenance, write_json
    from immunocycle.design import design
    from immunocycle.report import render_report

    if (preset is None) == (cohort is None):
        _fail("give exactly one of --preset or --cohort")
    ids = [c.strip() for c in candidates.split(",") if c.strip()] if candidates else None
    if ae_limit is not None:
        ae_limit = _parse_ae_limit(ae_limit)
    with console.status("designing (screen, then confirming trial)...", spinner="dots"):
        result = design(preset, cohort=cohort, max_agents=max_agents, ae_limit=ae_limit,
                        budget=budget, n=n, seed=seed, candidates=ids,
                        trial_cohort=trial_cohort, replicates=replicates)
    result.write(out)
    write_json(out / "inputs.json", provenance(
        preset=preset, cohort=cohort, trial_cohort=trial_cohort, candidates=ids,
        max_agents=max_agents, ae_limit=ae_limit, budget=budget, n=n, seed=seed,
        replicates=replicates, command=_design_command_line(
            preset=preset, cohort=cohort, trial_cohort=trial_cohort, candidates=candidates,
            max_agents=max_agents, ae_limit=ae_limit, budget=budget, n=n, out=out, seed=seed,
            replicates=replicates)))
    report = render_report(out)
    summary = result.to_dict()
    if as_json:
        typer.echo(dumps_json(summary))
    else:
        from immunocycle import _summaries

        _summaries.show(_summaries.design(summary), [out / "design.json", report])


def _design_command_line(**options) -> str:
    """The ``immunocycle design`` command that reproduces these options (unset ones left out)."""
    parts = ["immunocycle", "design"]
    for name, value in options.items():
        if value is not None:
            parts += [f"--{name.replace('_', '-')}", str(value)]
    return " ".join(parts)


def _parse_ae_limit(text: str):
    """``"0.3"`` -> 0.3; ``"hepatotoxicity=0.1,any=0.3"`` -> {type: fraction} (checked)."""
    from immunocycle._inputs import check_number

    if "=" not in text:
        try:
            value = float(text)
        except ValueError:
            _fail(f"--ae-limit: {text!r} is not a fraction or TYPE=fraction")
        return check_number(value, "--ae-limit", low=0.0, high=1.0)
    out = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        try:
            out[key.strip()] = check_number(float(value), f"--ae-limit {key.strip()}", low=0.0,
                                            high=1.0)
        except ValueError:
            _fail(f"--ae-limit: {part!r} is not TYPE=fraction")
    return out
