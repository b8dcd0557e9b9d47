"""The ``immunocycle`` command line (Typer)."""

from __future__ import annotations

import typer

from immunocycle import __version__

app = typer.Typer(help="immunocycle: design nano-immunotherapies on the cancer-immunity cycle.",
                  no_args_is_help=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"immunocycle {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """immunocycle command line."""
