"""``immunocycle sbml-test-suite``: run SBML Test Suite time-course cases through the importer and
the engine, with the suite's pass criterion."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from immunocycle._console import guard
from immunocycle._errors import InputError

#: Engine tolerances for the suite (its own criterion is about 1e-4 relative).
RTOL, ATOL = 1e-10, 1e-14


def _settings(path: Path) -> dict:
    import yaml

    raw = yaml.safe_load(path.read_text()) or {}

    def names(key):
        value = raw.get(key)
        return [v.strip() for v in str(value).split(",") if v.strip()] if value else []

    return {"start": float(raw["start"]), "duration": float(raw["duration"]),
            "steps": int(raw["steps"]), "variables": names("variables"),
            "absolute": float(raw["absolute"]), "relative": float(raw["relative"]),
            "amount": set(names("amount")), "concentration": set(names("concentration"))}


def _tags(path: Path) -> list[str]:
    tags = []
    for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
        key, _, value = line.partition(":")
        if key.strip() in ("componentTags", "testTags"):
            tags += [t.strip() for t in value.split(",") if t.strip()]
    return tags


def _model_file(folder: Path, case: str) -> Path:
    for suffix in ("l3v2", "l3v1"):
        path = folder / f"{case}-sbml-{suffix}.xml"
        if path.exists():
            return path
    raise InputError(str(folder), "no SBML model file (NNNNN-sbml-l3v2.xml or -l3v1.xml)")


def run_case(folder: Path) -> dict:
    """Run one case folder; returns ``{"case", "passed", "reason", "max_error"}``.

    ``max_error`` is the largest |computed - expected| / (absolute + relative |expected|) (<= 1
    passes).
    """
    import warnings

    import libsbml
    import numpy as np
    import pandas as pd

    from immunocycle._errors import ImmunocycleError
    from immunocycle.engine import SolverOptions, simulate
    from immunocycle.sbml import read_sbml

    case = folder.name
    out = {"case": case, "passed": False, "reason": "", "max_error": math.nan}
    try:
        settings = _settings(folder / f"{case}-settings.txt")
        expected = pd.read_csv(folder / f"{case}-results.csv")
        path = _model_file(folder, case)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = read_sbml(path)
        times = np.linspace(settings["start"], settings["start"] + settings["duration"],
                            settings["steps"] + 1)
        result = simulate(model, times, options=SolverOptions(rtol=RTOL, atol=ATOL,
                                                               max_steps=1_000_000))
    except ImmunocycleError as exc:
        out["reason"] = f"{type(exc).__name__}: {exc.problem if exc.where else exc}"[:300]
        return out
    except Exception as exc:  # noqa: BLE001 - a runner reports every case, whatever breaks
        out["reason"] = f"internal error {type(exc).__name__}: {exc}"[:300]
        return out
    if not result.ok[0]:
        out["reason"] = f"solver: {result.status_text()[0]}"
        return out
    sbml = libsbml.readSBMLFromFile(str(path)).getModel()
    errors = []
    for var in settings["variables"]:
        try:
            computed = _value(var, sbml, model, result, settings)
        except KeyError as exc:
            out["reason"] = f"variable {var!r} not in the imported model ({exc})"
            return out
        want = expected[var].to_numpy(dtype=float)
        if want.shape != computed.shape:
            out["reason"] = f"{var}: {computed.size} values, {want.size} expected"
            return out
        bound = settings["absolute"] + settings["relative"] * np.abs(want)
        with np.errstate(invalid="ignore"):
            err = np.where(np.isnan(want) & np.isnan(computed), 0.0,
                           np.abs(computed - want) / bound)
        errors.append(np.nan_to_num(err, nan=np.inf).max())
    worst = float(max(errors)) if errors else 0.0
    out["max_error"] = worst
    out["passed"] = worst <= 1.0
    if not out["passed"]:
        var = settings["variables"][int(np.argmax(errors))]
        out["reason"] = f"{var}: error {worst:.3g} x the suite's tolerance"
    return out


def _value(var: str, sbml, model, result, settings):
    """A reported variable's time course: species as the settings ask (amount/concentration)."""
    import numpy as np

    n = len(result.times)

    def series(sid: str) -> np.ndarray:
        name = sid if sid in model.symbols() else f"{sid}_"
        if name in result.names:
            return np.asarray(result[name][0], dtype=float)
        if name in model.parameters:
            return np.full(n, model.parameters[name].value)
        if name in model.compartments and not isinstance(model.compartments[name].size, str):
            return np.full(n, float(model.compartments[name].size))
        if name in model.species:
            return np.full(n, float(model.species[name].initial))
        raise KeyError(sid)

    values = series(var)
    species = sbml.getSpecies(var)
    if species is None:
        return values
    comp = species.getCompartment()
    as_amount = species.getHasOnlySubstanceUnits() or \
        sbml.getCompartment(comp).getSpatialDimensions() == 0
    if var in settings["amount"] and not as_amount:
        return values * series(comp)
    if var in settings["concentration"] and as_amount:
        return values / series(comp)
    return values


def run_suite(directory: Path, cases: list[str] | None = None) -> dict:
    """Run the suite's cases (all in ``cases.txt``, or ``cases``); pass rates per type and tag."""
    listing = directory / "cases.txt"
    if not (directory / "cases").is_dir() or not listing.exists():
        raise InputError(str(directory), "not an SBML Test Suite folder (cases/ and cases.txt)")
    kinds = dict(line.split()[:2] for line in listing.read_text().splitlines() if line.strip())
    chosen = list(kinds) if not cases else [c.zfill(5) for c in cases]
    unknown = [c for c in chosen if c not in kinds]
    if unknown:
        raise InputError("--cases", f"unknown case(s) {', '.join(unknown[:10])}")
    rows = []
    for case in chosen:
        folder = directory / "cases" / case
        row = run_case(folder)
        row["type"] = kinds[case]
        row["tags"] = _tags(folder / f"{case}-model.m")
        rows.append(row)
    summary: dict = {"cases": len(rows), "passed": sum(r["passed"] for r in rows)}
    for kind in sorted(set(kinds[c] for c in chosen)):
        of = [r for r in rows if r["type"] == kind]
        summary[f"pass_rate_{kind}"] = sum(r["passed"] for r in of) / len(of)
    tags: dict[str, list[int]] = {}
    for r in rows:
        for tag in r["tags"]:
            tags.setdefault(tag, [0, 0])
            tags[tag][0] += bool(r["passed"])
            tags[tag][1] += 1
    summary["pass_rate"] = summary["passed"] / max(len(rows), 1)
    summary["by_tag"] = {t: {"passed": p, "cases": n, "pass_rate": p / n}
                         for t, (p, n) in sorted(tags.items())}
    summary["failures"] = [{k: r[k] for k in ("case", "type", "reason")}
                           for r in rows if not r["passed"]]
    return summary


@guard
def sbml_test_suite(
    directory: Path = typer.Argument(..., help="The suite's folder (cases/ and cases.txt)."),
    cases: str = typer.Option(None, "--cases", help="Comma-separated case numbers "
                              "(default: every case in cases.txt)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run SBML Test Suite time courses through the importer and the engine.

    Each case's model is imported (read_sbml) and simulated at rtol 1e-10; every reported value must satisfy the suite's criterion |computed - expected| <= absolute + relative |expected|. Prints the pass rate per case type and per tag, and each failure with its reason.

    Example: immunocycle sbml-test-suite ../shared/data/sbml-test-suite --cases 1,6,7 --json
    """
    chosen = [c.strip() for c in cases.split(",") if c.strip()] if cases else None
    summary = run_suite(directory, chosen)
    if as_json:
        from immunocycle._provenance import dumps_json

        typer.echo(dumps_json(summary))
        return
    from rich.table import Table

    from immunocycle._console import console

    rates = ", ".join(f"{k[10:]} {v:.1%}" for k, v in summary.items()
                      if k.startswith("pass_rate_"))
    console.print(f"{summary['passed']}/{summary['cases']} cases pass ({rates})")
    tags = Table("tag", "passed", "cases", "rate", title="pass rate per tag")
    for tag, row in summary["by_tag"].items():
        tags.add_row(tag, str(row["passed"]), str(row["cases"]), f"{row['pass_rate']:.0%}")
    console.print(tags)
    if summary["failures"]:
        fails = Table("case", "type", "reason", title="failures")
        for row in summary["failures"]:
            fails.add_row(row["case"], row["type"], row["reason"])
        console.print(fails)
