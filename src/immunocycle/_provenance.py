"""What every run records next to its outputs so that any figure can be reproduced."""

from __future__ import annotations

import json
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


def write_json(path: Path, data: Any) -> Path:
    """Write JSON (numpy scalars and paths converted) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=_default))
    return path


def _default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)
