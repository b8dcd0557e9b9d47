"""``immunocycle catalog``: list, search, show and validate the knowledge base."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from immunocycle._provenance import dumps_json

catalog_app = typer.Typer(help="The knowledge base: steps, barriers, therapies, evidence.\n\n"
                          "Example: immunocycle catalog show doxil",
                          no_args_is_help=True)
_console = Console()


def _records(frame) -> list[dict]:
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in row.items()})
    return out


def _print(frame, as_json: bool) -> None:
    rows = _records(frame)
    if as_json:
        typer.echo(dumps_json(rows, indent=1))
        return
    table = Table("id", "formulation", "route", "steps", "barriers", "agents")
    for r in rows:
        table.add_row(r["id"], str(r["formulation"]), str(r["route"]),
                      ",".join(map(str, r["steps"])), ", ".join(r["barriers"]),
                      ", ".join(r["agents"]))
    _console.print(table)
    _console.print(f"{len(rows)} therapies")


def _load():
    from immunocycle.catalog import CatalogError, load_catalog

    try:
        return load_catalog()
    except CatalogError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=1) from None


@catalog_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON to stdout.")) -> None:
    """List every therapy with its steps, barriers, agents, formulation and route.

    Example: immunocycle catalog list
    """
    _print(_load().list_therapies(), as_json)


@catalog_app.command()
def search(
    step: int | None = typer.Option(None, "--step", min=1, max=7, help="Step the therapy claims."),
    barrier: str | None = typer.Option(None, "--barrier", help="Barrier id."),
    agent: str | None = typer.Option(None, "--agent", help="Agent id."),
    carrier: str | None = typer.Option(None, "--carrier", help="Carrier class or 'free'."),
    route: str | None = typer.Option(None, "--route", help="iv, sc, it, ..."),
    text: str | None = typer.Option(None, "--text", help="Substring of names or descriptions."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON to stdout."),
) -> None:
    """Therapies matching all the given filters.

    Example: immunocycle catalog search --step 2 --route it
    """
    _print(_load().search(step=step, barrier=barrier, agent=agent, carrier=carrier, route=route,
                          text=text), as_json)


@catalog_app.command()
def show(entry_id: str = typer.Argument(..., help="Therapy, agent, formulation, barrier, "
                                        "evidence or regimen id, or a step number."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON to stdout.")) -> None:
    """One entry as a readable card (a therapy: formulation, dose, effects, evidence).

    Example: immunocycle catalog show doxil
    """
    entry = _entry(entry_id)
    if as_json:
        typer.echo(dumps_json(entry, indent=1))
    else:
        from immunocycle import _summaries

        _summaries.show(_summaries.catalog_entry(entry))


def _entry(entry_id: str) -> dict:
    """A catalog entry (or a cycle-model antibody) with, for a therapy or regimen, the doses and
    schedules it gives in a trial arm by default; an unknown id is named with close ids."""
    import difflib

    from immunocycle._errors import InputError
    from immunocycle.catalog import default_dosing
    from immunocycle.cycle import available_therapies, load_therapy

    cat = _load()
    try:
        entry = cat.show(entry_id)
    except KeyError:
        if entry_id not in available_therapies():
            ids = [*cat.therapies, *cat.regimens, *cat.agents, *cat.formulations, *cat.barriers,
                   *cat.evidence, *available_therapies()]
            close = difflib.get_close_matches(entry_id, ids, n=5, cutoff=0.6)
            raise InputError("catalog show", f"no entry with id {entry_id!r}",
                             f"did you mean {', '.join(close)}?" if close
                             else "see immunocycle catalog list") from None
        t = load_therapy(entry_id)
        entry = {"kind": "cycle therapy (data/cycle/therapies)", "id": t.name,
                 "name": t.description or t.name, "target": t.target, "species": t.species}
    if entry["kind"] in ("therapy", "regimen") or entry["kind"].startswith("cycle therapy"):
        species = entry.get("species", "human")
        entry["default_dosing"] = default_dosing(entry_id, species, catalog=cat)
    return entry


@catalog_app.command()
def validate(path: Path | None = typer.Option(None, "--path", help="Catalog folder "
                                               "(default: the packaged catalog).")) -> None:
    """Check every catalog file against the schemas and cross-references.

    Exits with status 1 and one line per problem (file: field: problem).

    Example: immunocycle catalog validate --path my_catalog
    """
    from immunocycle.catalog import validate as validate_catalog

    problems = validate_catalog(path)
    for p in problems:
        typer.echo(str(p))
    if problems:
        raise typer.Exit(code=1)
    typer.echo("catalog OK")


__all__ = ["catalog_app"]
