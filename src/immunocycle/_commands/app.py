"""``immunocycle app``: the browser workbench (Streamlit) on localhost."""

from __future__ import annotations

from pathlib import Path

import typer

from immunocycle._console import console, guard


@guard
def app_command(
    port: int | None = typer.Option(None, "--port", help="Port (default 8501 or the next free "
                                    "one)."),
    workspace: Path = typer.Option(Path("results/app"), "--workspace",
                                   help="Folder the pages write their run folders under."),
    open_browser: bool = typer.Option(False, "--open/--no-open",
                                      help="Open the workbench in the default browser."),
) -> None:
    """Serve the browser workbench: Diagnose, Deliver, Design, Trial / Study and Catalog pages.

    Prints the URL once the server answers; Ctrl-C stops it.

    Every run is a run folder under --workspace; each page shows its equivalent command.

    Example: immunocycle app --port 8501 --workspace results/app
    """
    from immunocycle.app import serve

    code = serve(port, workspace, open_browser=open_browser,
                 echo=lambda text: console.print(text, soft_wrap=True, highlight=False))
    if code:
        raise typer.Exit(code=code)


__all__ = ["app_command"]
