"""``immunocycle simulate``: one model or cycle preset over time; ``--set`` overrides."""

from __future__ import annotations

import math
import re
from pathlib import Path

import typer

from immunocycle._console import fail as _fail
from immunocycle._console import overwrite_option, writes_run
from immunocycle._errors import InputError

#: ``--set NAME=KIND(A,B)``: a population distribution (immunocycle.population.Distribution).
_DISTRIBUTION = re.compile(r"^\s*(lognormal|normal|uniform|loguniform)\s*\(\s*([^,()]+?)\s*,"
                           r"\s*([^,()]+?)\s*\)\s*$")


def parse_distributions(items: list[str]) -> tuple[list[str], dict]:
    """Split ``--set`` items into plain assignments and population distributions.

    ``NAME=lognormal(MEDIAN,SIGMA)``, ``normal(MEAN,SD)``, ``uniform(LOW,HIGH)`` and
    ``loguniform(LOW,HIGH)`` (arguments in the parameter's declared units; sigma on the log
    scale) become :class:`immunocycle.population.Distribution`; the rest is returned unchanged
    for :func:`parse_assignments`.
    """
    from immunocycle.population import Distribution

    plain: list[str] = []
    dists: dict = {}
    for item in items:
        name, sep, text = item.partition("=")
        match = _DISTRIBUTION.match(text) if sep else None
        if match is None:
            plain.append(item)
            continue
        kind, a, b = match.groups()
        args = []
        for arg in (a, b):
            try:
                args.append(float(arg))
            except ValueError:
                raise InputError(f"--set {name.strip()}", f"{kind}({a}, {b}): the arguments must "
                                 "be numbers in the parameter's declared units") from None
            if not math.isfinite(args[-1]):
                raise InputError(f"--set {name.strip()}", f"{kind}({a}, {b}): the arguments "
                                 "must be finite")
        if kind in ("lognormal", "loguniform") and args[0] <= 0:
            raise InputError(f"--set {name.strip()}", f"{kind}: the first argument must be > 0")
        try:
            dists[name.strip()] = Distribution(kind, args[0], args[1])
        except InputError as exc:
            raise InputError(f"--set {name.strip()}", str(exc)) from None
    return plain, dists


def parse_assignments(items: list[str]) -> dict[str, float | str]:
    """Parse ``name=value`` pairs from ``--set``; errors name the offending item.

    A value is a number in the parameter's declared units, or a quantity with its units
    (``k_C_growth=0.001/hour``), kept as text here and converted by :func:`in_declared_units`.
    """
    values: dict[str, float | str] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--set {item!r}: expected NAME=VALUE")
        try:
            values[name.strip()] = float(text)
        except ValueError:
            values[name.strip()] = text.strip()  # a quantity with units (or an error, later)
            continue
        if not math.isfinite(values[name.strip()]):
            raise InputError(f"--set {item!r}: the value must be a finite number")
    return values


def in_declared_units(values: dict[str, float | str], units: dict[str, str]) -> dict:
    """``--set`` values with units (``"0.001/hour"``) converted (pint) to the declared
    ``units``; plain numbers and unknown names pass through (checked next)."""
    import pint

    from immunocycle.model import ureg

    out: dict = {}
    for name, value in values.items():
        if isinstance(value, float) or name not in units:
            out[name] = value
            continue
        try:
            quantity = ureg.Quantity(value)
            out[name] = float(quantity.to(units[name]).magnitude)
        except pint.errors.DimensionalityError:
            raise InputError(f"--set {name}", f"{value!r} cannot be converted to the declared "
                             f"units {units[name]!r}") from None
        except (pint.errors.PintError, ValueError, TypeError, AttributeError, AssertionError,
                SyntaxError, ArithmeticError) as exc:
            raise InputError(f"--set {name}", f"{value!r} is not a number (nor a quantity "
                             f"with units: {type(exc).__name__})") from None
    return out


PRESET_ALIASES = {"mouse-mc38": "mouse"}


@writes_run("simulate")
def simulate(
    model: str = typer.Argument(None, help="Reference model name, model YAML file or SBML file "
                                "(.xml, imported; or use --preset)."),
    preset: str = typer.Option(None, "--preset",
                               help="Cycle-model preset: human, mouse-mc38, inflamed, excluded, desert."),
    therapy: list[str] = typer.Option([], "--therapy", help="Therapy to give (repeatable): a cycle "
                                      "antibody, catalog therapy or regimen, with an optional "
                                      "@dose:schedule (doxil@40mg/m2:q28d), or a therapy file."),
    set_: list[str] = typer.Option([], "--set", help="Override a parameter: NAME=VALUE in its "
                                   "declared units, or with units (k_C_growth=0.001/hour); or "
                                   "give it a population distribution, NAME=lognormal(MEDIAN,"
                                   "SIGMA) | normal(MEAN,SD) | uniform(LOW,HIGH) | "
                                   "loguniform(LOW,HIGH), in declared units (model files)."),
    n: int = typer.Option(1, "--n", min=1, help="Virtual patients (model files): each draws its "
                          "--set distributions (seeded Sobol); failures are recorded, not fatal."),
    days: float = typer.Option(None, "--days", min=0.0,
                               help="Simulated days (default 100; with --preset, 84 days of treatment)."),
    points_per_day: int = typer.Option(1, "--points-per-day", min=1, help="Output grid density."),
    out: Path = typer.Option(Path("results/simulate"), "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", min=0,
                             help="Seed of the --set distributions (recorded for reproducibility)."),
    overwrite: bool = overwrite_option(),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary to stdout."),
) -> None:
    """Simulate a reference model or a cycle preset over time.

    With --preset the patient is grown to diagnosis, then treated with the --therapy list.

    Writes time courses (Parquet), figures (PNG), step fluxes J1-J7 (CSV) and inputs.json.

    Example: immunocycle simulate --preset excluded --therapy nivolumab --days 42
    """
    if (model is None) == (preset is None):
        _fail(ValueError("give either a MODEL argument or --preset"))
    from immunocycle._inputs import check_time_grid

    plain, dists = parse_distributions(set_)
    values = parse_assignments(plain)
    if preset is not None and (dists or n > 1):
        raise InputError("--set distributions and --n apply to model files; for populations of "
                         "the cycle model use `immunocycle trial --cohort`")
    days = check_time_grid((84.0 if preset is not None else 100.0) if days is None else days,
                           points_per_day)
    if preset is not None:
        summary = _simulate_preset(PRESET_ALIASES.get(preset, preset), therapy, values,
                                   84.0 if days is None else days, points_per_day, out, seed)
    else:
        if therapy:
            raise InputError("--therapy needs --preset (therapies act on the cycle model)")
        summary = _simulate_model(model, values, 100.0 if days is None else days,
                                  points_per_day, out, seed, dists, n)
    if as_json:
        from immunocycle._provenance import dumps_json

        typer.echo(dumps_json(summary))
    else:
        from immunocycle import _summaries

        _summaries.show(_summaries.simulate(summary), summary["outputs"])


def _simulate_model(model, values, days, points_per_day, out, seed, dists=None, n=1) -> dict:
    import numpy as np

    from immunocycle._errors import SolverError
    from immunocycle._inputs import check_overrides
    from immunocycle.engine import simulate as run
    from immunocycle.model import load_reference
    from immunocycle.report import write_simulation

    if Path(model).suffix.lower() in (".xml", ".sbml"):  # an SBML file: imported (sbml layer)
        from immunocycle.sbml import read_sbml

        m = read_sbml(model)
    else:
        m = load_reference(model)
    declared = {n: p.value for n, p in m.parameters.items()}
    declared.update({n: s.initial for n, s in m.species.items() if not isinstance(s.initial, str)})
    units = {n: p.units for n, p in m.symbols().items() if n in declared}
    values = check_overrides(in_declared_units(values, units), declared)
    m = m.with_values(values, where="--set")
    times = np.linspace(0.0, days, int(round(days * points_per_day)) + 1)
    if dists or n > 1:
        return _simulate_population(m, declared, dists or {}, n, times, days, values, out, seed)
    result = run(m, times)
    if result.status[0] != 0:  # nothing written: earlier results in --out stay as they were
        raise SolverError("simulate", f"the solver stopped ({result.status_text()[0]}) before "
                          f"day {days:g}; no results written", "check the --set values")
    paths = write_simulation(result, m, out, days=days, overrides=values, seed=seed)
    final = {n: float(v) for n, v in zip(result.names, np.concatenate(
        [result.states[0, -1], result.derived[0, -1]]), strict=True)}
    return {"model": m.name, "days": days, "status": result.status_text()[0], "final": final,
            "outputs": {k: str(v) for k, v in paths.items()}}


def _resolve(preset, names: list[str]) -> list:
    """The cycle-model therapies of ``--therapy`` items (the one catalog lookup; files as is)."""
    from immunocycle.catalog import resolve_arm
    from immunocycle.cycle import preset_species

    species = preset_species(preset) if names else "human"
    return [t for name in names for t in ([name] if Path(name).suffix in (".yaml", ".yml")
                                          else resolve_arm(name, species, where="--therapy"))]


def _simulate_preset(preset, therapies, values, days, points_per_day, out, seed) -> dict:
    from immunocycle._errors import SolverError
    from immunocycle._inputs import check_overrides
    from immunocycle.cycle import compiled_cycle_model, simulate_cycle
    from immunocycle.report import write_cycle_run

    therapies = _resolve(preset, therapies)
    compiled = compiled_cycle_model(preset, therapies)
    units = {n: p.units for n, p in compiled.model.parameters.items()}
    values = check_overrides(in_declared_units(values, units), compiled.default_values())
    params = {k: [v] for k, v in values.items()} or None
    result = simulate_cycle(preset, therapies, days=days, parameters=params, step=1.0 / points_per_day)
    status = result.result.status_text()[0]
    if status != "ok" or not math.isfinite(result.summary()["diameter_mm_end"]):
        raise SolverError("simulate", f"the solver stopped ({status}) or the tumor became "
                          "non-finite; no results written", "check the --set values")
    paths = write_cycle_run(result, out, days=days, overrides=values, seed=seed)
    return {**result.summary(), "outputs": {k: str(v) for k, v in paths.items()}}


def _simulate_population(m, declared, dists, n, times, days, values, out, seed) -> dict:
    """``n`` patients of a model file, parameters drawn from ``dists`` (seeded Sobol): one
    batched solve; a patient whose integration fails is recorded in ``patients.parquet`` and the
    summary, not fatal (unless every patient fails: then nothing is written)."""
    import numpy as np

    from immunocycle._errors import SolverError
    from immunocycle._inputs import check_number, check_overrides
    from immunocycle.engine import simulate as run
    from immunocycle.population import sample_patients
    from immunocycle.report import write_simulation

    check_number(n, "--n", low=1, high=1_000_000)
    if not dists:
        raise InputError("--n", f"{n} patients with no --set distribution would be {n} copies "
                         "of one patient", "give a parameter a distribution, e.g. "
                         "--set k=lognormal(0.1,0.3)")
    check_overrides({k: 1.0 for k in dists}, {k: abs(v) for k, v in declared.items()})
    patients = sample_patients(dists, 0, n, seed)
    for name in dists:  # rates, counts and volumes keep their sign
        if declared[name] >= 0 and (patients[name] < 0).any():
            raise InputError(f"--set {name}", f"the distribution gives negative values "
                             f"(min {patients[name].min():.3g}) for a parameter declared >= 0",
                             "use lognormal or loguniform")
    initial_names = [k for k in dists if k in m.species]
    result = run(m, times, parameters=patients.drop(columns=initial_names),
                 initial=patients[initial_names] if initial_names else None)
    status = np.asarray(result.status_text())
    failed = [int(i) for i in np.flatnonzero(status != "ok")]
    if len(failed) == n:
        raise SolverError("simulate", f"the solver failed for all {n} patients "
                          f"({status[0]}); no results written", "check the --set values")
    paths = write_simulation(result, m, out, days=days, overrides=values, seed=seed, n=n,
                             distributions={k: {"kind": d.kind, "a": d.a, "b": d.b}
                                            for k, d in dists.items()})
    table = patients.assign(status=status)
    paths["patients"] = Path(out) / "patients.parquet"
    table.to_parquet(paths["patients"])
    last = np.concatenate([result.states[:, -1], result.derived[:, -1]], axis=1)
    ok = last[status == "ok"]
    final = {name: float(v) for name, v in zip(result.names, np.median(ok, axis=0), strict=True)}
    band = {name: [float(a), float(b)] for name, a, b in zip(
        result.names, *np.percentile(ok, [5, 95], axis=0), strict=True)}
    return {"model": m.name, "days": days, "n": n, "seed": seed,
            "status": "ok" if not failed else f"{len(failed)} of {n} patients failed",
            "failed_patients": failed, "final": final, "final_p5_p95": band,
            "distributions": {k: {"kind": d.kind, "a": d.a, "b": d.b} for k, d in dists.items()},
            "outputs": {k: str(v) for k, v in paths.items()}}
