"""Background jobs of the workbench: a run in its own thread, with progress and cancel.

A page starts a :class:`Job` and keeps it in its session; each rerun of the page reads its
state (``running``, ``done``, ``failed``, ``cancelled``), its progress (from a function that
looks at the run folder, e.g. the trial's finished chunks) and, once done, its result. A job's
failure is kept as the project's one-line message (:func:`immunocycle._console.describe`), never
a traceback; the page's earlier result is left as it was.

Cancel raises :class:`Cancelled` inside the job's thread (``PyThreadState_SetAsyncExc``): it
takes effect at the next Python instruction the job runs (between two compiled solver calls),
and the run folder's manifest then records the run as failed/interrupted, as a killed command's
would.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Cancelled(Exception):
    """Raised inside a job's thread when the user cancels it."""


class Job:
    """Run ``func()`` in a daemon thread.

    Parameters
    ----------
    func : callable
        The work; its return value is :attr:`result`.
    folder : Path, optional
        The run folder it writes (shown while it runs).
    progress : callable, optional
        Returns the fraction done in [0, 1] (read on each page rerun); ``None``: unknown.
    label : str
        What the job does, for the page.
    """

    def __init__(self, func: Callable[[], Any], *, folder: Path | None = None,
                 progress: Callable[[], float | None] | None = None, label: str = "") -> None:
        self.folder, self.label = folder, label
        self._func, self._progress = func, progress
        self.state = "running"
        self.result: Any = None
        self.error: str | None = None
        self.started = time.monotonic()
        self.finished: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"immunocycle-app-{label}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from immunocycle._console import describe, handled

        try:
            self.result = self._func()
            self.state = "done"
        except Cancelled:
            self.state = "cancelled"
        except Exception as exc:  # shown on the page as one line; a bug keeps its type name
            self.error = describe(exc) if handled(exc) else f"{type(exc).__name__}: {exc}"
            self.state = "failed"
        finally:
            self.finished = time.monotonic()

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def elapsed(self) -> float:
        """Seconds since the start (until the end once finished)."""
        return (self.finished or time.monotonic()) - self.started

    def progress(self) -> float | None:
        """Fraction done (1 once finished), ``None`` if the job cannot tell."""
        if not self.running:
            return 1.0
        if self._progress is None:
            return None
        try:
            value = self._progress()
        except OSError:
            return None
        return None if value is None else min(max(float(value), 0.0), 1.0)

    def cancel(self) -> None:
        """Ask the job's thread to stop (see the module docstring)."""
        if not self.running or self._thread.ident is None:
            return
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread.ident),
                                                   ctypes.py_object(Cancelled))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (tests, scripts); True if it ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()


def _chunks_done(folder: Path, n: int | None = None, chunk: int | None = None) -> float:
    """Finished chunks of one chunked run over all of them (its ``run.json`` gives the sizes)."""
    import json

    if n is None or chunk is None:
        try:
            state = json.loads((folder / "run.json").read_text())
            n, chunk = int(state["n"]), int(state["chunk_size"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0.0
    total = max(1, -(-n // max(1, chunk)))
    return min(1.0, len(list((folder / "chunks").glob("part-*.parquet"))) / total)


def chunk_progress(out: Path, n: int, chunk: int, replicates: bool = False
                   ) -> Callable[[], float]:
    """Progress of a chunked trial: its finished chunks over all of them, then (with effect-size
    replicates) the replicates' chunks; the last 5 %: merging, figures and the report."""
    out = Path(out)

    def fraction() -> float:
        main = _chunks_done(out, n, chunk)
        if not replicates:
            return 0.95 * main
        return 0.5 * main + 0.45 * _chunks_done(out / "replicates")

    return fraction


__all__ = ["Cancelled", "Job", "chunk_progress"]
