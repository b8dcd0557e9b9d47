"""Where immunocycle finds its packaged data and the shared (external) data sets.

The shared data (calibration targets, the Nano-Tumor data set) are never copied into the package:
they are read from ``$IMMUNOCYCLE_SHARED_DATA`` or, by default, ``../shared/data`` beside the
project checkout (or beside the current working directory).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
_REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    """Return the folder of shared data sets.

    Raises
    ------
    FileNotFoundError
        If neither ``$IMMUNOCYCLE_SHARED_DATA`` nor ``../shared/data`` exists; the message says how
        to point immunocycle at the data.
    """
    env = os.environ.get("IMMUNOCYCLE_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [_REPO_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for path in candidates:
        if path.is_dir():
            return path
    raise FileNotFoundError(
        "shared data folder not found (looked in: "
        + ", ".join(str(p) for p in candidates)
        + "); set IMMUNOCYCLE_SHARED_DATA to the folder holding calibration_targets.md"
    )
