"""Fetch the public data sets the shared-data features need (``immunocycle data fetch NAME``).

Each data set is described in ``data/datasets.yaml``: where its published files are, their
sha256, and the CSV each becomes (with that CSV's sha256, the copy the package was fitted on).
Files are downloaded with :mod:`urllib`, checked, converted and moved into place atomically
(written to a temporary file, then renamed), so an interrupted or corrupted download never
leaves a partial data set where the code looks.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from functools import lru_cache
from pathlib import Path

import yaml

from immunocycle._errors import DataError
from immunocycle._paths import ENV_VAR, PACKAGE_DATA, user_data_dir

DATASETS_FILE = PACKAGE_DATA / "datasets.yaml"
_TIMEOUT_S = 60.0


class ChecksumError(DataError):
    """A downloaded or converted file does not have the published sha256."""


@lru_cache(maxsize=1)
def datasets() -> dict[str, dict]:
    """The data sets that can be fetched (``data/datasets.yaml``), by name."""
    return yaml.safe_load(DATASETS_FILE.read_text())


def default_destination() -> Path:
    """Where fetched data sets go: ``$IMMUNOCYCLE_SHARED_DATA`` if set, else the user data folder
    (both are searched by :func:`immunocycle._paths.dataset_dir`)."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else user_data_dir()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_dataset(name: str, dest: str | Path | None = None, *, url: str | None = None,
                  spec: dict | None = None, log=None) -> Path:
    """Download data set ``name``, check its sha256, convert it and place it in ``dest/name``.

    Parameters
    ----------
    name : str
        A data set of ``data/datasets.yaml`` (``"nanotumor"``).
    dest : path, optional
        Folder that receives ``name/`` (default :func:`default_destination`).
    url : str, optional
        Base URL to download from instead of the published one (a mirror, or a local server in
        tests); the file names and checksums stay those of the description.
    spec : dict, optional
        A description to use instead of the packaged one (same layout as ``datasets.yaml``).
    log : callable, optional
        Receives one line per step.

    Returns
    -------
    Path
        The data set's folder.

    Raises
    ------
    ChecksumError
        A file's sha256 differs from the published one (nothing is written).
    DataError
        Unknown name, or a file cannot be downloaded.
    """
    if spec is None:
        if name not in datasets():
            raise DataError("data set", f"unknown data set {name!r}",
                            f"choose from {', '.join(sorted(datasets()))}")
        spec = datasets()[name]
    base = url or spec["url"]
    if not base.endswith("/"):
        base += "/"
    target = Path(dest) if dest is not None else default_destination()
    outputs: dict[str, bytes] = {}
    for entry in spec["files"]:
        link = base + urllib.parse.quote(entry["download"])
        if log:
            log(f"downloading {link}")
        raw = _download(link)
        _check(raw, entry["sha256"], entry["download"], link)
        text = _to_csv(raw, entry).encode()
        _check(text, entry["output_sha256"], entry["output"], link)
        outputs[entry["output"]] = text
    folder = target / name
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, data in outputs.items():
        _write_atomic(folder / file_name, data)
    _write_atomic(folder / "SOURCE.txt", (f"{spec.get('description', name)}\n\nSource: "
                                          f"{spec.get('source', '')}\nLicense: "
                                          f"{spec.get('license', '')}\nDownloaded from: {base}\n")
                  .encode())
    return folder


def _download(link: str) -> bytes:
    try:
        with urllib.request.urlopen(link, timeout=_TIMEOUT_S) as response:  # noqa: S310 - https or a given mirror
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(link, f"download failed ({reason})",
                        "check the network, or give --url of a mirror") from None


def _check(data: bytes, expected: str, file_name: str, link: str) -> None:
    got = sha256(data)
    if got != expected:
        raise ChecksumError(link, f"{file_name}: sha256 {got} differs from the published "
                            f"{expected}; nothing was written",
                            "the download is corrupted or the source changed")


def _to_csv(raw: bytes, entry: dict) -> str:
    """The CSV of a downloaded file: spreadsheets are read (first sheet), IDs filled down and
    columns renamed as ``entry`` says; CSV files pass through unchanged."""
    if not entry["download"].endswith(".xlsx"):
        return raw.decode()
    import pandas as pd

    try:
        frame = pd.read_excel(io.BytesIO(raw))
    except ImportError as exc:  # openpyxl is a dependency; say so if an install lacks it
        raise DataError(entry["download"], f"cannot read the spreadsheet ({exc})",
                        "pip install openpyxl") from None
    for column in entry.get("fill_down", []):
        frame[column] = frame[column].ffill().astype(int)
    frame = frame.rename(columns=entry.get("rename", {}))
    return frame.to_csv(index=False)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a data set is for every user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def available() -> list[str]:
    """Names of the data sets that can be fetched."""
    return sorted(datasets())


__all__ = ["ChecksumError", "available", "datasets", "default_destination", "fetch_dataset"]
