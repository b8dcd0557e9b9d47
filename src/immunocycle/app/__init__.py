"""The browser workbench (``immunocycle app``): Diagnose, Deliver, Design, Trial / Study and
Catalog pages over the public API, served by Streamlit on localhost.

    from immunocycle.app import serve
    serve(port=8501, workspace="results/app")      # blocks; prints the URL

Every run a page starts is written as a normal run folder under the workspace
(:mod:`immunocycle.app._runs`), so ``immunocycle report DIR`` opens it, and each page shows the
command line that reproduces it. Long runs go to a background thread with progress and cancel
(:mod:`immunocycle.app._jobs`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from immunocycle._errors import InputError

#: The Streamlit script (``streamlit run`` target).
SCRIPT = Path(__file__).parent / "main.py"
#: One page script per page (for tests: ``AppTest.from_file``).
VIEWS = {name: Path(__file__).parent / "views" / f"{name}.py"
         for name in ("diagnose", "deliver", "design", "trial", "catalog")}
DEFAULT_PORT = 8501
HEALTH = "/_stcore/health"


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(start: int = DEFAULT_PORT, tries: int = 100) -> int:
    """``start`` or the next free port after it."""
    for port in range(start, start + tries):
        if port_free(port):
            return port
    raise InputError("--port", f"no free port in {start}-{start + tries - 1}",
                     "give another --port")


def server_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """The ``streamlit run`` command line of the workbench."""
    return [sys.executable, "-m", "streamlit", "run", str(SCRIPT),
            "--server.port", str(port), "--server.address", host,
            "--server.headless", "true", "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
            "--client.toolbarMode", "minimal"]


def start_server(port: int, workspace: str | Path, host: str = "127.0.0.1",
                 **popen) -> subprocess.Popen:
    """Start the Streamlit server (not waiting for it); pages write under ``workspace``."""
    from immunocycle.app._pages import WORKSPACE_ENV

    env = {**os.environ, WORKSPACE_ENV: str(Path(workspace).resolve()),
           "MPLBACKEND": os.environ.get("MPLBACKEND", "Agg")}
    return subprocess.Popen(server_command(port, host), env=env, **popen)


def wait_healthy(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None
                 ) -> float:
    """Poll ``url`` + the health endpoint until it answers ``ok``; returns the seconds waited.

    Raises
    ------
    TimeoutError
        If it does not answer within ``timeout`` (or the server process ended).
    """
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process is not None and process.poll() is not None:
            raise TimeoutError(f"the server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url.rstrip("/") + HEALTH, timeout=2) as r:
                if r.status == 200 and r.read().strip() == b"ok":
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url}{HEALTH} did not answer within {timeout:g} s")


def serve(port: int | None = None, workspace: str | Path = "results/app", *,
          open_browser: bool = False, host: str = "127.0.0.1", echo=print) -> int:
    """Serve the workbench until interrupted; prints the URL once it answers.

    ``port``: that port (refused if taken), or ``None`` for 8501 or the next free one.
    Returns the server's exit status.
    """
    if port is None:
        port = free_port()
    elif not 1 <= port <= 65535:
        raise InputError("--port", f"must be in 1-65535 (got {port})")
    elif not port_free(port, host):
        raise InputError("--port", f"port {port} is in use", "give another --port, or none for "
                         "the next free one")
    Path(workspace).mkdir(parents=True, exist_ok=True)
    url = f"http://{'localhost' if host in ('127.0.0.1', 'localhost') else host}:{port}"
    process = start_server(port, workspace, host)
    _stop_on_sigterm()
    try:
        waited = wait_healthy(url, process=process)
        echo(f"immunocycle workbench: {url}  (ready in {waited:.1f} s; runs under "
             f"{Path(workspace).resolve()}; Ctrl-C stops it)")
        if open_browser:
            import webbrowser

            webbrowser.open(url)
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm() -> None:
    """SIGTERM stops the server as Ctrl-C does (the Streamlit child is terminated too)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


__all__ = ["DEFAULT_PORT", "HEALTH", "SCRIPT", "VIEWS", "free_port", "port_free",
           "server_command", "serve", "start_server", "wait_healthy"]
