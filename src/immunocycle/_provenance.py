"""What every run records next to its outputs so that any figure can be reproduced."""

from __future__ import annotations

import json
import math
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from immunocycle import __version__


def git_revision() -> str | None:
    """The source checkout's git revision, if there is one."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def provenance(**inputs: Any) -> dict[str, Any]:
    """A record of the package version, git revision, platform, time and the given inputs."""
    return {"immunocycle_version": __version__, "git_revision": git_revision(),
            "python": sys.version.split()[0], "platform": platform.platform(),
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"), "inputs": inputs}


def to_jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON data: numpy scalars and arrays as numbers and lists, paths and other
    objects as strings, and NaN or infinite floats as ``None`` (JSON has no NaN: strict parsers
    refuse the ``NaN`` token that Python's json writes by default)."""
    if isinstance(obj, dict):
        return {str(k) if not isinstance(k, str | int | float | bool) and k is not None else k:
                to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "tolist"):  # numpy arrays and scalars (0-d: a Python scalar)
        return to_jsonable(obj.tolist())
    if hasattr(obj, "item"):
        return to_jsonable(obj.item())
    return str(obj)


def dumps_json(data: Any, indent: int | None = 2) -> str:
    """Strict JSON text of ``data`` (see :func:`to_jsonable`; NaN becomes ``null``)."""
    return json.dumps(to_jsonable(data), indent=indent, allow_nan=False)


def write_json(path: Path, data: Any) -> Path:
    """Write strict JSON (numpy values and paths converted, NaN as ``null``); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_json(data))
    return path
