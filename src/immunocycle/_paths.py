"""Where immunocycle finds its packaged data and the shared (external) data sets.

The shared data sets (the Nano-Tumor data set, calibration targets) are never copied into the
package. They are looked for, in this order, in ``$IMMUNOCYCLE_SHARED_DATA``, in
``../shared/data`` beside the project checkout or beside the current working directory, and in
the user data folder (``$XDG_DATA_HOME/immunocycle/data``, by default
``~/.local/share/immunocycle/data``), where ``immunocycle data fetch NAME`` puts them.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
_REPO_ROOT = Path(__file__).resolve().parents[2]
#: Environment variable naming the shared data folder (it holds one sub-folder per data set).
ENV_VAR = "IMMUNOCYCLE_SHARED_DATA"


def user_data_dir() -> Path:
    """The user's data folder for immunocycle: ``$XDG_DATA_HOME/immunocycle/data`` (by default
    ``~/.local/share/immunocycle/data``)."""
    base = os.environ.get("XDG_DATA_HOME")
    if not base:
        try:
            base = str(Path.home() / ".local" / "share")
        except RuntimeError:  # no home directory: fall back to the working directory
            base = str(Path.cwd() / ".local" / "share")
    return Path(base) / "immunocycle" / "data"


def _candidates() -> list[Path]:
    env = os.environ.get(ENV_VAR)
    found = [Path(env)] if env else []
    found += [_REPO_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data",
              user_data_dir()]
    return found


def shared_data_dir() -> Path:
    """Return the first existing folder of shared data sets.

    Raises
    ------
    FileNotFoundError
        If none of the folders exists; the message says how to get the data.
    """
    candidates = _candidates()
    for path in candidates:
        if path.is_dir():
            return path
    raise FileNotFoundError(
        "shared data folder not found (looked in: " + ", ".join(str(p) for p in candidates)
        + f"); run `immunocycle data fetch nanotumor` or set {ENV_VAR} to the folder of the "
        "shared data sets")


def dataset_dir(name: str) -> Path:
    """The folder of the shared data set ``name`` (``"nanotumor"``), from the first place that
    has it.

    Raises
    ------
    FileNotFoundError
        If no searched folder holds it; the message says how to get it.
    """
    candidates = [path / name for path in _candidates()]
    for path in candidates:
        if path.is_dir():
            return path
    raise FileNotFoundError(
        f"data set {name!r} not found (looked in: " + ", ".join(str(p) for p in candidates)
        + f"); run `immunocycle data fetch {name}` or set {ENV_VAR} to a folder holding {name}/")
