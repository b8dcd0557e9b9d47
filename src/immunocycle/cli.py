"""The ``immunocycle`` command line (Typer + Rich). Each command mirrors a Python API function.

Start-up is kept light: the command modules in :mod:`immunocycle._commands` declare their options
with typer and rich only and import the packages they drive (numba-compiled engine, cycle, trial,
design) inside the command, so ``immunocycle --help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import typer

from immunocycle import __version__
from immunocycle._commands.simulate import PRESET_ALIASES, parse_assignments
from immunocycle._console import GuardedGroup

#: The ``--help`` panels, in the user's workflow order, and their commands in listing order.
PANELS: dict[str, tuple[str, ...]] = {
    "Run": ("demo", "diagnose", "design", "trial", "study", "pk", "simulate"),
    "Inspect": ("catalog", "cohort", "report", "validate"),
    "Interchange": ("export-sbml", "sbml-test-suite"),
    "Tools": ("bench", "data", "app"),
}
_ORDER = [name for names in PANELS.values() for name in names]


class _WorkflowOrder(GuardedGroup):
    """Lists commands in :data:`PANELS` order (typer would list sub-apps after commands)."""

    def list_commands(self, ctx) -> list[str]:
        return sorted(super().list_commands(ctx),
                      key=lambda n: _ORDER.index(n) if n in _ORDER else len(_ORDER))


app = typer.Typer(help="immunocycle: design nano-immunotherapies on the cancer-immunity cycle.",
                  cls=_WorkflowOrder, no_args_is_help=True, pretty_exceptions_enable=False)


def _mount() -> None:
    from immunocycle._commands.app import app_command
    from immunocycle._commands.bench import bench
    from immunocycle._commands.catalog import catalog_app
    from immunocycle._commands.cohort import cohort_app
    from immunocycle._commands.data import data_app
    from immunocycle._commands.demo import demo
    from immunocycle._commands.design import design_command
    from immunocycle._commands.diagnose import diagnose_command
    from immunocycle._commands.export_sbml import export_sbml
    from immunocycle._commands.pk import pk
    from immunocycle._commands.report import report_command
    from immunocycle._commands.sbml_test_suite import sbml_test_suite
    from immunocycle._commands.simulate import simulate
    from immunocycle._commands.study import study_command
    from immunocycle._commands.trial import trial_command
    from immunocycle._commands.validate import validate_command

    run, inspect, interchange, tools = PANELS
    # Commands not written yet (validate) keep their place in PANELS.
    for name, command in (("demo", demo), ("diagnose", diagnose_command),
                          ("design", design_command), ("trial", trial_command),
                          ("study", study_command), ("pk", pk), ("simulate", simulate)):
        app.command(name, rich_help_panel=run)(command)
    app.add_typer(catalog_app, name="catalog", rich_help_panel=inspect)
    app.add_typer(cohort_app, name="cohort", rich_help_panel=inspect)
    app.command("report", rich_help_panel=inspect)(report_command)
    app.command("validate", rich_help_panel=inspect)(validate_command)
    app.command("export-sbml", rich_help_panel=interchange)(export_sbml)
    app.command("sbml-test-suite", rich_help_panel=interchange)(sbml_test_suite)
    app.command("bench", rich_help_panel=tools)(bench)
    app.add_typer(data_app, name="data", rich_help_panel=tools)
    app.command("app", rich_help_panel=tools)(app_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"immunocycle {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """immunocycle command line."""


_mount()

__all__ = ["PANELS", "PRESET_ALIASES", "app", "parse_assignments"]
