"""Run folders that cannot lie: one manifest per command run, with a sha256 per file.

Every command that writes a folder records ``manifest.json`` there::

    {"format": "immunocycle-run/1", "command": "trial",
     "arguments": {"--cohort": "melanoma", "--n": 100, ...},   # what defines the results
     "status": "complete" | "running" | "failed" | "interrupted", "error": "...",
     "started_utc": "...", "finished_utc": "...", "immunocycle_version": "...",
     "files": {"patients.parquet": {"sha256": "...", "bytes": 123}, ...}}

A folder holding a *complete* run of another command, or of the same command with other
arguments or made by other code or data (``code``: :func:`code_fingerprint`, so results of an
older model are never resumed as if they were this one's), is refused unless ``overwrite`` is given (then the files of that run are set aside
in ``.replaced/``, deleted when the new run completes and put back if it fails, so a mistyped
command with ``--overwrite`` costs nothing); the same command with the same arguments resumes or rewrites it, as before. A failed or
interrupted run blocks nothing. The chunked trial runner keeps its own resume state in
``run.json`` with the same ``files`` table (each chunk and ``patients.parquet``).
:func:`verify` checks every checksum recorded under a folder; ``immunocycle report`` runs it
before reading anything.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from immunocycle._errors import RunFolderError
from immunocycle._inputs import short

MANIFEST = "manifest.json"
#: The chunked runner's resume state (chunk checksums), also set aside by ``overwrite``.
RUNNER_STATE = "run.json"
#: Where ``overwrite`` keeps the replaced run's files until the new run completes.
REPLACED = ".replaced"
FORMAT = "immunocycle-run/1"
_SHOWN = 40  # characters of an argument value shown in a conflict message


def sha256_file(path: str | Path) -> str:
    """The hex sha256 of a file's bytes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """What defines results besides a command's arguments: the first 16 hex digits of the
    sha256 over every file of the immunocycle package (code, parameters, fitted values,
    catalog; compiled caches left out), by relative path. Recorded in every manifest and in
    the trial runner's resume state."""
    root = Path(__file__).parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc":
            h.update(p.relative_to(root).as_posix().encode() + b"\0")
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def file_record(path: str | Path) -> dict[str, Any]:
    """``{"sha256", "bytes"}`` of a file."""
    return {"sha256": sha256_file(path), "bytes": Path(path).stat().st_size}


def write_atomic_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON through a temporary file, so a kill never leaves half a manifest."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    """A manifest's content, ``None`` if there is none; an unreadable one is an error."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(path, f"unreadable ({type(exc).__name__})",
                             "delete it, or pass --overwrite") from None
    if not isinstance(data, dict):
        raise RunFolderError(path, "not a run manifest", "delete it, or pass --overwrite")
    return data


def check_out(out: Path, where: str = "--out") -> None:
    """Refuse an output folder path that is (or lies inside) an existing file; writes nothing."""
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                what = "is a file" if p == out else f"lies inside the file {p}"
                raise RunFolderError(where, f"{out} {what}, not a folder", "give a folder path")
            return


def differences(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """``"<name>: <old> there, <new> here"`` for each argument that differs."""
    norm = lambda d: json.loads(json.dumps(d, default=str))  # noqa: E731 - lists vs tuples, paths
    a, b = norm(dict(before)), norm(dict(now))
    return [f"{k}: {short(a.get(k), _SHOWN)} there, {short(b.get(k), _SHOWN)} here"
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def claim(out: str | Path, command: str, arguments: Mapping[str, Any], *,
          overwrite: bool = False, accumulates: bool = False) -> dict[str, Any] | None:
    """Check that ``command`` may write into ``out`` (before anything is written).

    Parameters
    ----------
    out : path
        The output folder.
    command : str
        The command about to write (``"trial"``).
    arguments : mapping
        What defines its results (flag -> value); compared with the folder's run.
    overwrite : bool
        Replace a conflicting run: its recorded files (and the runner's state) are moved to
        ``out/.replaced/`` (:func:`run_folder` deletes or restores them).
    accumulates : bool
        Runs of this command with other arguments add to the folder (``bench`` writes one file
        per case) instead of conflicting.

    Returns
    -------
    dict or None
        The folder's previous manifest, if any.

    Raises
    ------
    RunFolderError
        ``out`` is a file, or holds a complete run of another command or with other arguments
        and ``overwrite`` is not given; the message names the differing arguments.
    """
    out = Path(out)
    check_out(out)
    try:
        previous = read_json(out / MANIFEST) if out.is_dir() else None
    except RunFolderError:
        if not overwrite:
            raise
        previous = None  # an unreadable manifest is replaced, as asked
    if previous is None:
        if overwrite:
            _set_aside(out, [])
        return None
    same = previous.get("command") == command
    diffs = [] if (same and accumulates) else differences(previous.get("arguments", {}), arguments)
    if not (same and accumulates) and previous.get("code") != code_fingerprint():
        diffs.append(f"immunocycle code and data: {previous.get('code') or 'not recorded'} there"
                     f" (another version of the model), {code_fingerprint()} here")
    if previous.get("status") == "complete" and not overwrite:
        if not same:
            raise RunFolderError("--out", f"{out} holds a `{previous.get('command')}` run",
                                 "use another --out, or --overwrite to replace it")
        if diffs:
            raise RunFolderError("--out", f"{out} holds a `{command}` run with other arguments: "
                                 + "; ".join(diffs), "rerun with the same arguments, use another "
                                 "--out, or --overwrite to replace it")
    if overwrite and not (same and not diffs):
        _set_aside(out, [*previous.get("files", {}), MANIFEST])
    return previous


def _set_aside(out: Path, names: list[str]) -> None:
    """Move a replaced run's files (and the runner's state) to ``out/.replaced/``."""
    if not out.is_dir():
        return
    _discard(out)  # what an earlier interrupted replacement left
    # The runner's states and chunks at any depth (a trial's replicates run in a subfolder):
    # an interrupted run's manifest lists no files.
    runner = [*out.rglob(RUNNER_STATE), *out.rglob("chunks/part-*.parquet")]
    names = [*names, *(p.relative_to(out).as_posix() for p in runner
                       if p.relative_to(out).parts[0] != REPLACED)]
    for name in dict.fromkeys(names):
        source = out / name
        if source.is_file():
            target = out / REPLACED / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)


def _restore(out: Path) -> None:
    """Put a replaced run's files back (the replacing run failed)."""
    stash = out / REPLACED
    if not stash.is_dir():
        return
    for path in sorted(p for p in stash.rglob("*") if p.is_file()):
        target = out / path.relative_to(stash)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
    _discard(out)


def _discard(out: Path) -> None:
    import shutil

    shutil.rmtree(out / REPLACED, ignore_errors=True)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def listing(out: Path) -> dict[str, dict[str, Any]]:
    """``{relative path: {"sha256", "bytes"}}`` of every file under ``out`` (manifests and
    temporary files left out)."""
    files = {}
    for p in sorted(out.rglob("*")):
        if p.is_file() and p.name != MANIFEST and not p.name.endswith(".tmp") \
                and ".tmp" not in p.suffixes and p.relative_to(out).parts[0] != REPLACED:
            files[p.relative_to(out).as_posix()] = file_record(p)
    return files


def finish(out: str | Path, command: str, arguments: Mapping[str, Any], *, status: str,
           started: str | None = None, error: str | None = None) -> Path:
    """Write ``out/manifest.json``; a complete run lists every file with its sha256."""
    from immunocycle import __version__

    out = Path(out)
    record: dict[str, Any] = {"format": FORMAT, "command": command, "arguments": dict(arguments),
                              "status": status, "started_utc": started, "finished_utc": _now(),
                              "immunocycle_version": __version__, "code": code_fingerprint()}
    if error:
        record["error"] = " ".join(error.split())[:500]
    record["files"] = listing(out) if status == "complete" else {}
    write_atomic_json(out / MANIFEST, record)
    return out / MANIFEST


@contextmanager
def run_folder(out: str | Path, command: str, arguments: Mapping[str, Any], *,
               overwrite: bool = False, accumulates: bool = False) -> Iterator[Path]:
    """Claim ``out`` for ``command`` (:func:`claim`), run the body, then record the manifest.

    Nothing is written before the body runs. On success the manifest lists every file with its
    sha256 (status ``complete``) and a run replaced by ``overwrite`` is deleted; if the body
    raises, a replaced run is put back, and where the body wrote nothing the earlier manifest
    stands, otherwise it says ``failed`` (with the error) or ``interrupted``, which blocks no
    later run.
    """
    out = Path(out)
    previous = claim(out, command, arguments, overwrite=overwrite, accumulates=accumulates)
    started = _now()
    if previous is not None:  # its checksums no longer hold once this run rewrites files
        finish(out, command, arguments, status="running", started=started)
    try:
        yield out
    except Exception as exc:
        if getattr(exc, "exit_code", None) == 0:  # typer.Exit(0): a normal early end
            finish(out, command, arguments, status="complete", started=started)
            _discard(out)
            raise
        _restore(out)
        _record_end(out, command, arguments, started, "failed", str(exc) or type(exc).__name__,
                    previous)
        raise
    except BaseException:
        _restore(out)
        _record_end(out, command, arguments, started, "interrupted", None, previous)
        raise
    finish(out, command, arguments, status="complete", started=started)
    _discard(out)


def _untouched(out: Path, previous: Mapping[str, Any] | None) -> bool:
    """Whether a complete earlier run's files are all still as it recorded them."""
    if not previous or previous.get("status") != "complete":
        return False
    files = previous.get("files", {})
    return all((out / n).is_file() and sha256_file(out / n) == e.get("sha256")
               for n, e in files.items()) and set(files) == set(listing(out))


def _record_end(out: Path, command, arguments, started, status, error, previous=None) -> None:
    if not out.is_dir():
        return  # nothing was written: leave no trace
    if _untouched(out, previous):  # failed before writing: the earlier run stands as it was
        write_atomic_json(out / MANIFEST, previous)
        return
    try:
        finish(out, command, arguments, status=status, started=started, error=error)
    except OSError:
        pass  # an unwritable folder: the original error is the one to report


def verify(folder: str | Path, *, skip: tuple[str | Path, ...] = ()) -> int:
    """Check every sha256 recorded under ``folder`` (``manifest.json`` and ``run.json`` at any
    depth) against the files that exist; return how many were checked.

    Raises
    ------
    RunFolderError
        Naming the first file whose bytes changed after its run wrote them.
    """
    folder = Path(folder)
    skipped = {Path(s).resolve() for s in skip}
    checked = 0
    for name in (MANIFEST, RUNNER_STATE):
        for manifest in sorted(folder.rglob(name)):
            record = read_json(manifest) or {}
            files = record.get("files")
            if not isinstance(files, dict):
                continue
            for rel, entry in files.items():
                path = manifest.parent / rel
                expected = entry.get("sha256") if isinstance(entry, dict) else None
                if not expected or not path.is_file() or path.resolve() in skipped:
                    continue
                if sha256_file(path) != expected:
                    raise RunFolderError(path, f"checksum mismatch with {manifest.name}: the file "
                                         "changed after its run wrote it", "rerun the command "
                                         "that wrote it, or restore the file")
                checked += 1
    return checked


def refresh(path: str | Path) -> None:
    """Record the new checksum of ``path`` in its folder's complete manifest (a report
    re-rendered into a run folder), so that folder still verifies."""
    path = Path(path)
    manifest = path.parent / MANIFEST
    record = read_json(manifest)
    if record is None or record.get("status") != "complete":
        return
    record.setdefault("files", {})[path.name] = file_record(path)
    write_atomic_json(manifest, record)


__all__ = ["MANIFEST", "RUNNER_STATE", "check_out", "claim", "differences", "file_record",
           "finish", "listing", "refresh", "run_folder", "sha256_file", "verify"]
