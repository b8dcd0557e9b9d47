"""``immunocycle bench --case startup``: how long the command line takes to answer.

Each timing runs the installed ``immunocycle`` script as a fresh subprocess, as a user would type
it, so it includes the interpreter start, the imports and the help rendering.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: ``immunocycle --help`` (median of the repeats) should answer within this many seconds.
LIMIT_S = 1.0


def _launcher() -> list[str]:
    """The ``immunocycle`` script beside this interpreter (or on PATH); else the module itself."""
    script = Path(sys.executable).with_name("immunocycle")
    if script.exists():
        return [str(script)]
    found = shutil.which("immunocycle")
    return [found] if found else [sys.executable, "-c", "from immunocycle.cli import app; app()"]


def _seconds(command: list[str], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return times


def bench_startup(repeats: int = 5, command: str = "simulate") -> dict:
    """Wall-clock seconds of ``immunocycle --help``, ``--version`` and ``<command> --help``.

    Parameters
    ----------
    repeats : int
        Subprocess runs per invocation; the median is reported (robust to other load).
    command : str
        The command whose ``--help`` is timed as well.

    Returns
    -------
    dict
        ``help_s`` (median, s), ``version_s``, ``command_help_s``, every run under ``runs_s``,
        ``python_s`` (a bare interpreter start, for scale), ``limit_s`` and ``help_under_limit``.
    """
    if repeats < 1:
        raise ValueError(f"repeats: must be at least 1 (got {repeats})")
    launcher = _launcher()
    runs = {"help": _seconds([*launcher, "--help"], repeats),
            "version": _seconds([*launcher, "--version"], repeats),
            "command_help": _seconds([*launcher, command, "--help"], repeats),
            "python": _seconds([sys.executable, "-c", "pass"], repeats)}
    median = {k: statistics.median(v) for k, v in runs.items()}
    return {"case": "startup", "repeats": repeats, "launcher": " ".join(launcher),
            "command": f"{command} --help", "help_s": median["help"],
            "version_s": median["version"], "command_help_s": median["command_help"],
            "python_s": median["python"], "limit_s": LIMIT_S,
            "help_under_limit": median["help"] < LIMIT_S, "cpu_count": os.cpu_count(),
            "runs_s": runs}


__all__ = ["LIMIT_S", "bench_startup"]
