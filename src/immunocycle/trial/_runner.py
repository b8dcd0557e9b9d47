"""The chunked, resumable trial runner: patients in chunks, results streamed to Parquet.

A run is a pure function of its arguments: each chunk's result depends only on the patients in
it, each chunk is written atomically to ``DIR/chunks/part-NNNNNN.parquet``, and a run restarted
with the same arguments skips the chunks already on disk. Chunks can run in this process or on a
Dask cluster (``scheduler`` address or a local cluster); the results are identical.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

ChunkTask = Callable[[int, int], pd.DataFrame]


class RunConflictError(RuntimeError):
    """The output folder holds a run made with other arguments."""


def _fingerprint(arguments: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(arguments, sort_keys=True, default=str).encode()).hexdigest()


def _chunk_path(out: Path, k: int) -> Path:
    return out / "chunks" / f"part-{k:06d}.parquet"


def _valid_chunk(path: Path, start: int, count: int) -> bool:
    """A chunk file counts as done only if it reads back whole with the expected patients."""
    try:
        ids = pq.read_table(path, columns=["patient_id"]).column("patient_id").to_pylist()
    except (OSError, pa.ArrowException, KeyError):
        return False
    return len(ids) > 0 and min(ids) == start and max(ids) == start + count - 1


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def run_chunked(task: ChunkTask, n: int, out: str | Path, *, chunk_size: int = 500,
                arguments: dict[str, Any] | None = None, scheduler: str | None = None,
                local_cluster: int | None = None, progress: bool = True,
                description: str = "patients") -> Path:
    """Run ``task(start, count)`` over patients ``0..n-1`` in chunks and stream the results.

    Parameters
    ----------
    task : callable (start, count) -> DataFrame
        Must return one or more rows per patient with a ``patient_id`` column, and depend only
        on its arguments (seed per patient, not per chunk), so the result is the same whatever
        the chunking or worker count. Must be picklable for Dask.
    n : int
        Number of patients.
    out : path
        Output folder; ``patients.parquet`` is written there at the end.
    chunk_size : int
        Patients per chunk (memory per chunk; does not change results).
    arguments : dict
        What defines the run (cohort, arms, seed, n, ...). A folder holding a run with other
        arguments is refused rather than mixed; the chunk size is deliberately not part of it.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:8786``).
    local_cluster : int, optional
        Start a local Dask cluster with this many single-threaded workers.

    Returns
    -------
    Path
        ``out/patients.parquet``, rows in patient order.
    """
    if n < 1 or chunk_size < 1:
        raise ValueError(f"n and chunk_size must be >= 1 (got n={n}, chunk_size={chunk_size})")
    out = Path(out)
    (out / "chunks").mkdir(parents=True, exist_ok=True)
    manifest = out / "run.json"
    fingerprint = _fingerprint({**(arguments or {}), "n": n})
    if manifest.exists():
        previous = json.loads(manifest.read_text())
        if previous.get("fingerprint") != fingerprint:
            raise RunConflictError(f"{out} holds a run with other arguments ({previous.get('arguments')}); "
                                   "use another --out or delete that folder")
        if previous.get("chunk_size") != chunk_size:
            # Chunk files of another size cannot be reused piecewise: start the chunks afresh.
            for old in (out / "chunks").glob("part-*.parquet"):
                old.unlink()
    manifest.write_text(json.dumps({"fingerprint": fingerprint, "arguments": arguments or {},
                                    "n": n, "chunk_size": chunk_size}, indent=2, default=str))
    chunks = [(k, s, min(chunk_size, n - s)) for k, s in enumerate(range(0, n, chunk_size))]
    todo = [c for c in chunks if not _valid_chunk(_chunk_path(out, c[0]), c[1], c[2])]
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, disable=not progress, transient=True) as bar:
        job = bar.add_task(description, total=n, completed=n - sum(c[2] for c in todo))
        for k, frame in _execute(task, todo, scheduler, local_cluster):
            _write_atomic(frame, _chunk_path(out, k))
            bar.advance(job, next(c[2] for c in chunks if c[0] == k))
    return _concatenate(out, [k for k, _, _ in chunks])


def _execute(task: ChunkTask, todo, scheduler, local_cluster):
    if not todo:
        return
    if scheduler is None and not local_cluster:
        for k, start, count in todo:
            yield k, task(start, count)
        return
    from distributed import Client, LocalCluster, as_completed

    cluster = LocalCluster(n_workers=local_cluster, threads_per_worker=1, processes=True,
                           dashboard_address=None) if scheduler is None else None
    with Client(scheduler or cluster) as client:
        futures = {client.submit(task, start, count, pure=False): k for k, start, count in todo}
        for future in as_completed(futures):
            yield futures[future], future.result()
    if cluster is not None:
        cluster.close()


def _concatenate(out: Path, ks: list[int]) -> Path:
    """Stream chunk files into one Parquet file in patient order (memory: one chunk)."""
    target = out / "patients.parquet"
    tmp = target.with_suffix(".tmp")
    writer = None
    try:
        for k in ks:
            table = pq.read_table(_chunk_path(out, k))
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, target)
    return target
