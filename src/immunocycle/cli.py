"""The ``immunocycle`` command line (Typer + Rich). Each command mirrors a Python API function."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from immunocycle import __version__
from immunocycle._console import console
from immunocycle._console import fail as _fail
from immunocycle.model import ModelError

app = typer.Typer(help="immunocycle: design nano-immunotherapies on the cancer-immunity cycle.",
                  no_args_is_help=True, pretty_exceptions_enable=False)


def _mount() -> None:
    from immunocycle._commands.catalog import catalog_app
    from immunocycle._commands.cohort import cohort_app
    from immunocycle._commands.diagnose import diagnose_command
    from immunocycle._commands.report import report_command
    from immunocycle._commands.trial import trial_command

    app.add_typer(catalog_app, name="catalog", help="Query and validate the which/why/what catalog.")
    app.command("diagnose")(diagnose_command)
    app.command("report")(report_command)
    app.command("trial")(trial_command)
    app.add_typer(cohort_app, name="cohort", help="Virtual-patient cohorts: list, show, calibrate.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"immunocycle {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """immunocycle command line."""




def parse_assignments(items: list[str]) -> dict[str, float]:
    """Parse ``name=value`` pairs from ``--set``; errors name the offending item."""
    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--set {item!r}: expected NAME=VALUE")
        try:
            values[name.strip()] = float(text)
        except ValueError:
            raise ValueError(f"--set {item!r}: {text!r} is not a number") from None
    return values


PRESET_ALIASES = {"mouse-mc38": "mouse"}


@app.command()
def simulate(
    model: str = typer.Argument(None, help="Reference model name or model YAML file (or use --preset)."),
    preset: str = typer.Option(None, "--preset",
                               help="Cycle-model preset: human, mouse-mc38, inflamed, excluded, desert."),
    therapy: list[str] = typer.Option([], "--therapy", help="Therapy to give (repeatable), e.g. nivolumab."),
    set_: list[str] = typer.Option([], "--set", help="Override a parameter: NAME=VALUE (declared units)."),
    days: float = typer.Option(None, "--days", min=0.0,
                               help="Simulated days (default 100; with --preset, 84 days of treatment)."),
    points_per_day: int = typer.Option(1, "--points-per-day", min=1, help="Output grid density."),
    out: Path = typer.Option(Path("results/simulate"), "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", help="Recorded for reproducibility (deterministic model)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary to stdout."),
) -> None:
    """Simulate a model or a cycle preset; write time courses (Parquet), figures (PNG), inputs (JSON).

    With ``--preset`` the patient is grown to diagnosis and treated with the ``--therapy`` list;
    the outputs add the step-flux table (J1-J7), the cycle diagram and the summary
    (phenotypes, limiting step, cycle gain, diameters, PD-1 occupancy).
    """
    if (model is None) == (preset is None):
        _fail(ValueError("give either a MODEL argument or --preset"))
    try:
        values = parse_assignments(set_)
        if preset is not None:
            summary = _simulate_preset(PRESET_ALIASES.get(preset, preset), therapy, values,
                                       84.0 if days is None else days, points_per_day, out, seed)
        else:
            if therapy:
                raise ValueError("--therapy needs --preset (therapies act on the cycle model)")
            summary = _simulate_model(model, values, 100.0 if days is None else days,
                                      points_per_day, out, seed)
    except (ModelError, ValueError) as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
    else:
        console.print(f"[green]wrote[/] {', '.join(summary['outputs'].values())}")


def _simulate_model(model, values, days, points_per_day, out, seed) -> dict:
    from immunocycle.engine import simulate as run
    from immunocycle.model import load_reference
    from immunocycle.report._runs import write_simulation

    m = load_reference(model).with_values(values, where="--set")
    times = np.linspace(0.0, days, int(round(days * points_per_day)) + 1)
    result = run(m, times)
    paths = write_simulation(result, m, out, days=days, overrides=values, seed=seed)
    final = {n: float(v) for n, v in zip(result.names, np.concatenate(
        [result.states[0, -1], result.derived[0, -1]]), strict=True)}
    return {"model": m.name, "days": days, "status": result.status_text()[0], "final": final,
            "outputs": {k: str(v) for k, v in paths.items()}}


def _simulate_preset(preset, therapies, values, days, points_per_day, out, seed) -> dict:
    from immunocycle.cycle import simulate_cycle
    from immunocycle.report._cycle_runs import write_cycle_run

    params = {k: [v] for k, v in values.items()} or None
    result = simulate_cycle(preset, therapies, days=days, parameters=params, step=1.0 / points_per_day)
    paths = write_cycle_run(result, out, days=days, overrides=values, seed=seed)
    return {**result.summary(), "outputs": {k: str(v) for k, v in paths.items()}}


@app.command("export-sbml")
def export_sbml(
    model: str = typer.Argument(..., help="Reference model name or model YAML file."),
    out: Path = typer.Option(None, "--out", help="SBML file to write (default: stdout)."),
) -> None:
    """Export a model, with its dosing as events, to SBML Level 3 Version 2."""
    from immunocycle.model import load_reference
    from immunocycle.sbml import to_sbml

    try:
        text = to_sbml(load_reference(model))
    except (ModelError, ValueError) as exc:
        _fail(exc)
    if out is None:
        typer.echo(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        console.print(f"[green]wrote[/] {out}")


@app.command()
def pk(
    carrier: str = typer.Option(None, "--carrier", help="Carrier class (Organic, Inorganic, Hybrid, or "
                                "liposome, polymeric, gold, ...)."),
    diameter: float = typer.Option(None, "--diameter", help="Hydrodynamic diameter, nm."),
    zeta: float = typer.Option(None, "--zeta", help="Zeta potential, mV."),
    shape: str = typer.Option("Spherical", "--shape", help="Spherical, Rod, Flake, Plate, Irregular, Other."),
    targeted: bool = typer.Option(False, "--targeted", help="Actively targeted (ligand)."),
    route: str = typer.Option("iv", "--route", help="iv, sc, id or it."),
    dose: float = typer.Option(None, "--dose", help="Carrier dose, mg/kg."),
    species: str = typer.Option("mouse", "--species", help="mouse or human."),
    payload: str = typer.Option(None, "--payload", help="Payload (doxorubicin, nivolumab)."),
    release_rate: float = typer.Option(0.005, "--release-rate", min=0.0, help="Payload release, 1/h."),
    cancer_type: str = typer.Option("colon", "--cancer-type", help="Tumor origin for the property model."),
    days: float = typer.Option(7.0, "--days", min=0.1, help="Simulated days."),
    out: Path = typer.Option(Path("results/pk"), "--out", help="Output folder."),
    evaluate: bool = typer.Option(False, "--evaluate", help="Cross-validate the property model instead."),
    seed: int = typer.Option(0, "--seed", help="Recorded for reproducibility."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary to stdout."),
) -> None:
    """Nanoparticle PBPK: %ID per organ over time, delivery (DE24/DE168/DEmax), exposures, figures."""
    from immunocycle._provenance import provenance, write_json

    try:
        if evaluate:
            from immunocycle.pk import DeliveryModel, load_nanotumor

            summary = DeliveryModel().evaluate(load_nanotumor())
        else:
            summary = _run_pk(carrier, diameter, zeta, shape, targeted, route, dose, species, payload,
                              release_rate, cancer_type, days, out)
    except (ModelError, ValueError) as exc:
        _fail(exc)
    write_json(out / ("evaluation.json" if evaluate else "summary.json"), summary)
    write_json(out / "inputs.json", provenance(
        carrier=carrier, diameter_nm=diameter, zeta_mv=zeta, shape=shape, targeted=targeted,
        route=route, dose_mg_per_kg=dose, species=species, payload=payload,
        release_rate_per_h=release_rate, cancer_type=cancer_type, days=days, evaluate=evaluate,
        seed=seed))
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
    else:
        console.print(f"[green]wrote[/] {out}")


def _run_pk(carrier, diameter, zeta, shape, targeted, route, dose, species, payload, release_rate,
            cancer_type, days, out) -> dict:
    import warnings

    from pydantic import ValidationError

    from immunocycle.pk import (
        Particle,
        Release,
        plot_organ_distribution,
        plot_tumor_ln_blood,
        run_pk,
    )

    missing = [name for name, v in (("--carrier", carrier), ("--diameter", diameter), ("--dose", dose))
               if v is None]
    if missing:
        raise ValueError(f"{', '.join(missing)}: required")
    try:
        particle = Particle(carrier_class=carrier, diameter_nm=diameter, zeta_mv=zeta, shape=shape,
                            targeted=targeted, tumor_model="Allograft Heterotopic",
                            cancer_type=cancer_type, dose_mg_per_kg=dose)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ValueError(f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_pk(particle, payload, Release(rate_per_h=release_rate) if payload else None,
                        species=species, route=route, horizon_h=days * 24.0)
    for w in caught:
        console.print(f"[yellow]warning:[/] {w.message}")
    out.mkdir(parents=True, exist_ok=True)
    result.pct_id.to_csv(out / "pct_id_by_organ.csv")
    plot_organ_distribution(result, out / "organ_distribution.png")
    plot_tumor_ln_blood(result, out / "tumor_ln_blood.png")
    summary = result.summary()
    summary.update(out_of_domain=result.out_of_domain, domain_notes=result.domain_notes,
                   free_payload_auc=result.free_payload_auc)
    return summary


@app.command()
def bench(
    case: str = typer.Option("depillis", "--case",
                             help="depillis (engine vs references), cycle (the cycle model with "
                             "nivolumab), trial (time per patient and memory at --n/10 and --n), "
                             "or design (batched screen vs one simulation per regimen)."),
    n: int = typer.Option(10_000, "--n", min=1, help="Batch size for the engine."),
    n_reference: int = typer.Option(200, "--n-reference", min=1,
                                    help="Patients run with libroadrunner and SciPy (subset)."),
    days: float = typer.Option(365.0, "--days", min=1.0),
    out: Path = typer.Option(Path("results/bench"), "--out", help="Output folder for bench.json."),
    seed: int = typer.Option(0, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON result to stdout."),
) -> None:
    """Throughput of the engine against libroadrunner and SciPy (LSODA) in the same run."""
    from immunocycle._bench import run_bench
    from immunocycle._provenance import write_json

    try:
        if case == "trial":
            from immunocycle.trial import bench_trial

            sizes = (1000, 10_000) if n == 10_000 else (max(1, n // 10), n)
            result = bench_trial(sizes, arms=2, days=days, seed=seed, out=out / "trial_runs")
        elif case == "design":
            from immunocycle.design._bench import bench_screen

            result = bench_screen()
        else:
            result = run_bench(case, n=n, n_reference=n_reference, days=days, seed=seed)
    except (ModelError, ValueError) as exc:
        _fail(exc)
    path = write_json(out / f"bench_{case}.json", result)
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    else:
        console.print_json(json.dumps(result, default=str))
    console.print(f"[green]wrote[/] {path}")


@app.command("design")
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
    ae_limit: float = typer.Option(None, "--ae-limit", min=0.0, max=1.0,
                                   help="Largest grade >= 3 adverse-event rate allowed."),
    budget: int = typer.Option(3, "--budget", min=1, help="Candidates kept after the screen."),
    n: int = typer.Option(20, "--n", min=1, help="Patients in the confirming trial."),
    out: Path = typer.Option(Path("results/design"), "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON result to stdout."),
) -> None:
    """Rank nano-immunotherapies and combinations for a tumor or cohort: screen, confirm,
    Pareto front, synergy, nano vs free; writes design.json, the trial and report.html."""
    from immunocycle._provenance import provenance, write_json
    from immunocycle.design import design
    from immunocycle.report import render_report

    if (preset is None) == (cohort is None):
        _fail("give exactly one of --preset or --cohort")
    ids = [c.strip() for c in candidates.split(",") if c.strip()] if candidates else None
    try:
        with console.status("designing (screen, then confirming trial)...", spinner="dots"):
            result = design(preset, cohort=cohort, max_agents=max_agents, ae_limit=ae_limit,
                            budget=budget, n=n, seed=seed, candidates=ids,
                            trial_cohort=trial_cohort)
    except (ModelError, ValueError, FileNotFoundError) as exc:
        _fail(exc)
    result.write(out)
    write_json(out / "inputs.json", provenance(
        preset=preset, cohort=cohort, trial_cohort=trial_cohort, candidates=ids,
        max_agents=max_agents, ae_limit=ae_limit, budget=budget, n=n, seed=seed,
        command=_design_command_line(
            preset=preset, cohort=cohort, trial_cohort=trial_cohort, candidates=candidates,
            max_agents=max_agents, ae_limit=ae_limit, budget=budget, n=n, out=out, seed=seed)))
    report = render_report(out)
    summary = result.to_dict()
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
    else:
        for k, r in enumerate(summary["recommendations"][:5], 1):
            pfs = r["median_pfs_days"]
            console.print(f"{k}. {r['regimen']}: ORR {r['orr']:.2f}, median PFS "
                          f"{'not reached' if pfs is None else f'{pfs:.0f} d'}, grade>=3 AE "
                          f"{r['ae_grade3plus_rate']:.2f}")
        console.print(f"[green]wrote[/] {out / 'design.json'} and {report}")


def _design_command_line(**options) -> str:
    """The ``immunocycle design`` command that reproduces these options (unset ones left out)."""
    parts = ["immunocycle", "design"]
    for name, value in options.items():
        if value is not None:
            parts += [f"--{name.replace('_', '-')}", str(value)]
    return " ".join(parts)


@app.command()
def demo(out: Path = typer.Option(Path("results/demo"), "--out", help="Output folder."),
         seed: int = typer.Option(0, "--seed")) -> None:
    """The main job on the embedded default (the immune-excluded cohort): diagnose which step
    limits immunity and why, design nano-immunotherapy regimens, confirm the best in a virtual
    trial against nivolumab alone; writes report.html and its data under --out."""
    from immunocycle._demo import run_demo

    report = run_demo(out, seed=seed)
    console.print(f"[green]demo written[/] to {out}: open {report}")


_mount()
