"""The command line's error channel: one console on stderr and one way to fail."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

#: Messages, progress and errors go to stderr, so ``--json`` output on stdout stays parseable.
console = Console(stderr=True)


def fail(exc: Exception | str) -> None:
    """Print ``error: <message>`` (markup-escaped: messages may hold ``[...]``) and exit with
    status 2."""
    console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
    raise typer.Exit(code=2)


__all__ = ["console", "fail"]
