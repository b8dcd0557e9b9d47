"""The command line answers at once: no compiled engine at import, help grouped by task, examples.

Timings are measured by ``immunocycle bench --case startup``, never asserted here; these tests check
what makes start-up fast (which modules the command line imports) and that the help reads well.
"""

import json
import subprocess
import sys

import click
import pytest
import typer
from typer.testing import CliRunner

from immunocycle.cli import PANELS, app

#: Modules that must stay out of ``import immunocycle.cli`` and of every ``--help``: the
#: numba-compiled engine and the packages that import it, plus the heavy libraries under them.
HEAVY = ("numba", "immunocycle.engine", "immunocycle.engine._rodas", "immunocycle.engine._codegen",
         "immunocycle.cycle", "immunocycle.trial", "immunocycle.design", "immunocycle.population",
         "immunocycle.catalog", "immunocycle.pk", "immunocycle.report", "immunocycle.model",
         "pandas", "matplotlib", "scipy", "sympy")

_PROBE = """
import json, sys
import immunocycle.cli
after_import = [m for m in {heavy!r} if m in sys.modules]
from typer.testing import CliRunner
runner = CliRunner()
codes = [runner.invoke(immunocycle.cli.app, [*args, "--help"]).exit_code for args in {commands!r}]
after_help = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"import": after_import, "help": after_help, "codes": codes}}))
"""


def _commands(group: click.Group, prefix=()):
    """Every command path of the app (``("catalog", "show")``, ...)."""
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_import_and_help_do_not_load_the_compiled_engine():
    commands = [[], *[list(c) for c in COMMANDS]]
    probe = _PROBE.format(heavy=HEAVY, commands=commands)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["import"] == [], f"import immunocycle.cli loaded {found['import']}"
    assert found["help"] == [], f"--help loaded {found['help']}"
    assert found["codes"] == [0] * len(commands)


def test_help_groups_commands_by_task_in_workflow_order():
    text = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"}).output
    positions = [text.index(f"─ {panel} ") for panel in PANELS]
    assert positions == sorted(positions), text
    # each command sits in its panel: after its own panel title, before the next one
    bounds = [*positions, len(text)]
    for k, (_panel, names) in enumerate(PANELS.items()):
        section = text[bounds[k]:bounds[k + 1]]
        listed = [n for n in names if f"│ {n} " in section]
        assert listed, section
        assert [section.index(f"│ {n} ") for n in listed] == sorted(
            section.index(f"│ {n} ") for n in listed)
    for name in ("demo", "diagnose", "design", "trial", "pk", "simulate"):
        assert f"│ {name} " in text[positions[0]:positions[1]]


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_help_has_no_hard_breaks_and_ends_with_an_example(path):
    group = typer.main.get_command(app)
    cmd = group
    for name in path:
        cmd = cmd.commands[name]
    paragraphs = [p.strip() for p in (cmd.help or "").strip().split("\n\n")]
    for p in paragraphs:
        assert "\n" not in p, f"hard line break in the help of {' '.join(path)}: {p!r}"
    assert paragraphs[-1].startswith(f"Example: immunocycle {' '.join(path)}"), paragraphs[-1]
    shown = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"}).output
    assert paragraphs[-1] in shown
