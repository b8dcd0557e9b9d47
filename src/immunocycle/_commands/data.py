"""``immunocycle data``: fetch the public data sets that shared-data features need."""

from __future__ import annotations

from pathlib import Path

import typer

data_app = typer.Typer(help="Public data sets: fetch them where immunocycle looks.\n\n"
                       "Example: immunocycle data fetch nanotumor",
                       no_args_is_help=True)


@data_app.command("fetch")
def fetch(
    name: str = typer.Argument(..., help="Data set to fetch: nanotumor."),
    dest: Path = typer.Option(None, "--dest", help="Folder that receives NAME/ (default: "
                              "$IMMUNOCYCLE_SHARED_DATA, else ~/.local/share/immunocycle/data)."),
    url: str = typer.Option(None, "--url", help="Base URL of a mirror instead of the published "
                            "source (checksums are still those of the published files)."),
) -> None:
    """Download a public data set, check its sha256 and place it where immunocycle looks.

    Example: immunocycle data fetch nanotumor
    """
    from immunocycle._console import console
    from immunocycle._console import fail as _fail
    from immunocycle._datasets import fetch_dataset

    try:
        folder = fetch_dataset(name, dest, url=url, log=lambda line: console.print(line))
    except ValueError as exc:  # DataError / ChecksumError are ImmunocycleErrors (ValueError)
        _fail(exc)
    console.print(f"[green]wrote[/] {folder}")
