"""The command line's error channel: one console on stderr, one way to fail, one handler.

Every command runs inside :class:`GuardedGroup` (the root Typer group, ``cls=GuardedGroup``):
an :class:`~immunocycle._errors.ImmunocycleError`, a file-system error
(``OSError``), an Arrow, Dask, YAML or pydantic error, or ``MemoryError`` becomes one line,
``error: <where>: <what> (<how to fix>)``, and exit code 2, never a traceback. A library error
that names a parameter (``chunk_size``) is shown with its flag (``--chunk-size``). Other
exceptions are bugs and keep their traceback. Warnings print as ``warning: <message>``.

Commands that write a folder declare ``out`` and ``overwrite`` (:func:`overwrite_option`) and
are decorated with :func:`writes_run`, which records the run's manifest
(:mod:`immunocycle._manifest`) and refuses a folder holding another command's run.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer._click.exceptions import UsageError
from typer.core import TyperGroup
from typer.models import ParameterInfo

#: Messages, progress and errors go to stderr, so ``--json`` output on stdout stays parseable.
console = Console(stderr=True)

#: Longest error message printed (a message quoting a huge input is cut).
MAX_MESSAGE = 400
#: Options that do not change a run's results: left out of the manifest's arguments.
PRESENTATION = frozenset({"out", "overwrite", "as_json", "chunk_size", "scheduler",
                          "local_cluster", "progress"})


def fail(exc: Exception | str) -> None:
    """Print ``error: <message>`` (one line, markup-escaped: messages may hold ``[...]``) and
    exit with status 2. Parameter names in library errors are shown as the command's flags."""
    text = exc if isinstance(exc, str) else describe(exc, _current_flags())
    console.print(f"[bold red]error:[/] {escape(text)}", soft_wrap=True)
    raise typer.Exit(code=2)


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."


def _module_of(exc: BaseException) -> str:
    """The top package an exception class comes from (``pyarrow``, ``distributed``...)."""
    for cls in type(exc).__mro__:
        top = cls.__module__.split(".")[0]
        if top in ("pyarrow", "distributed", "dask", "pydantic", "pydantic_core", "yaml"):
            return top
    return ""


def handled(exc: BaseException) -> bool:
    """Whether ``exc`` is a user-facing failure (printed as one line) rather than a bug: a bare
    ``ValueError`` from deep inside (numpy, a format string) keeps its traceback."""
    from immunocycle._errors import ImmunocycleError

    return isinstance(exc, ImmunocycleError | OSError | MemoryError) or bool(_module_of(exc))


def describe(exc: BaseException, flags: dict[str, str] | None = None) -> str:
    """``<where>: <what> (<how to fix>)`` for a handled exception, on one line."""
    from immunocycle._errors import ImmunocycleError

    flags = flags or {}
    if isinstance(exc, ImmunocycleError):
        if exc.where:
            return _one_line(exc.message(flags.get(exc.where, exc.where)))
        return _one_line(_flag_first_word(exc.message(), flags))
    if isinstance(exc, MemoryError):
        return ("out of memory (run fewer patients or days at once: a smaller --n, --days or "
                "--chunk-size)")
    origin = _module_of(exc)
    if isinstance(exc, OSError) and origin not in ("distributed", "dask"):
        return _one_line(_describe_os(exc))
    if origin == "pydantic" or origin == "pydantic_core":
        errors = exc.errors() if hasattr(exc, "errors") else []
        if errors:
            err = errors[0]
            loc = ".".join(map(str, err.get("loc", ()))) or "input"
            return _one_line(f"{flags.get(loc, loc)}: {err.get('msg', exc)}")
    if origin == "pyarrow":
        return _one_line(f"Parquet/Arrow: {exc} (the file may be damaged: rerun the command "
                         "that wrote it)")
    if origin in ("distributed", "dask"):
        return _one_line(f"Dask: {exc} (check --scheduler and that its workers are running)")
    text = str(exc) or type(exc).__name__
    return _one_line(text)


def _flag_first_word(text: str, flags: dict[str, str]) -> str:
    """``"n must be >= 1"`` -> ``"--n must be >= 1"``: a message that starts with a parameter
    name of the command shows its flag."""
    word = text.split(" ", 1)[0].split(":", 1)[0]
    flag = flags.get(word, "")
    return flag + text[len(word):] if flag.startswith("--") else text


def _describe_os(exc: OSError) -> str:
    if exc.filename is None:  # raised by our code with its own message
        return str(exc) or type(exc).__name__
    where = exc.filename
    if isinstance(exc, IsADirectoryError):
        return f"{where}: is a folder, a file path is expected (give a file path)"
    if isinstance(exc, NotADirectoryError | FileExistsError):
        return f"{where}: is a file or lies inside one, a folder is expected (give a folder path)"
    if isinstance(exc, PermissionError):
        return f"{where}: permission denied (choose a location you can write to, e.g. --out)"
    if isinstance(exc, FileNotFoundError):
        return f"{where}: no such file or folder (check the path)"
    if isinstance(exc, TimeoutError):
        return f"timed out: {exc} (check --scheduler and the network)"
    return f"{where}: {exc.strerror or exc}"


def _current_flags() -> dict[str, str]:
    """The running command's flags (typer vendors click: its context lives there)."""
    try:
        from typer._click.globals import get_current_context
    except ImportError:  # another typer layout: messages keep the library's names
        return {}
    ctx = get_current_context(silent=True)
    return _flags(ctx.command) if ctx is not None else {}


def _flag(param: Any) -> str:
    longs = [o for o in getattr(param, "opts", ()) if o.startswith("--")]
    return longs[0] if longs else str(param.name).upper()


def _flags(command: Any) -> dict[str, str]:
    """``{python name: flag}`` of a command's options, and of every subcommand's (a group)."""
    if command is None:
        return {}
    flags: dict[str, str] = {}
    for sub in getattr(command, "commands", {}).values():
        for k, v in _flags(sub).items():
            flags.setdefault(k, v)
    for p in command.params:
        if p.name:
            flags[p.name] = _flag(p)
            flags.setdefault(p.name.rstrip("_"), flags[p.name])  # set_ -> --set
    return flags


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    console.print(f"[yellow]warning:[/] {escape(_one_line(str(message)))}", soft_wrap=True)


@contextmanager
def _warnings_as_lines() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        yield


def _usage_line(exc: UsageError) -> str:
    """``--seed: Input should be ... (see 'immunocycle trial --help')`` for a click usage error."""
    param = getattr(exc, "param", None)
    where = _flag(param) if param is not None else (getattr(exc, "param_hint", None) or "")
    text = exc.message if hasattr(exc, "message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    fix = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return _one_line(f"{where}: {text}{fix}" if where else f"{text}{fix}")


@contextmanager
def guarded(flags: dict[str, str] | Callable[[], dict[str, str]]) -> Iterator[None]:
    """The one error handler: a handled exception (:func:`handled`) becomes ``error: ...`` and
    exit code 2 (:func:`fail`); warnings print as one line. ``flags`` maps parameter names to
    the command's flags (or is a function that returns the map, called only on an error)."""
    with _warnings_as_lines():
        try:
            yield
        except UsageError as exc:  # a bad flag value: one line too, not click's framed box
            fail(_usage_line(exc))
        except (typer.Exit, typer.Abort, typer.TyperException):  # typer's own exits
            raise
        except Exception as exc:
            if not handled(exc):
                raise
            fail(describe(exc, flags() if callable(flags) else flags))


class GuardedGroup(TyperGroup):
    """The root command group: every command runs inside the one error handler (a command
    that writes a folder also has it through :func:`writes_run`, when mounted elsewhere)."""

    def invoke(self, ctx: Any) -> Any:
        with guarded(lambda: _flags(self)):
            return super().invoke(ctx)


def _signature_flags(func: Callable) -> dict[str, str]:
    return {n: _declared_flag(n, p.default) for n, p in inspect.signature(func).parameters.items()}


def guard(func: Callable) -> Callable:
    """Decorate a command so it runs inside the one error handler (:func:`guarded`) wherever it
    is mounted; messages name its flags."""
    flags = _signature_flags(func)

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        with guarded(flags):
            return func(*args, **kwargs)

    return run


def overwrite_option() -> Any:
    """The ``--overwrite`` option of every command that writes a folder."""
    return typer.Option(False, "--overwrite", help="Write into --out even if it holds a run of "
                        "another command or with other arguments (that run's files are replaced once this run "
                        "completes, and kept if it fails).")


def _declared_flag(name: str, default: Any) -> str:
    decls = [d for d in getattr(default, "param_decls", ()) or () if d.startswith("--")]
    return decls[0] if decls else name.upper()


def writes_run(command: str, *, accumulates: bool = False) -> Callable:
    """Decorate a command that writes the folder ``out``: claim it, record ``manifest.json``.

    The command must declare ``out`` and ``overwrite`` parameters. Its other options, by flag,
    except those that do not change results (:data:`PRESENTATION`), are the run's arguments.
    ``accumulates``: runs with other arguments add to the folder (``bench``: a file per case).
    """
    from immunocycle._manifest import run_folder

    def decorate(func: Callable) -> Callable:
        signature = inspect.signature(func)
        flags = _signature_flags(func)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            values = {k: getattr(v, "default", v) if isinstance(v, ParameterInfo) else v
                      for k, v in bound.arguments.items()}
            record = {flags[k]: (str(v) if isinstance(v, Path) else v)
                      for k, v in values.items() if k not in PRESENTATION}
            with guarded(flags):
                with run_folder(Path(values["out"]), command, record,
                                overwrite=bool(values.get("overwrite", False)),
                                accumulates=accumulates):
                    return func(*args, **kwargs)

        return run

    return decorate


__all__ = ["GuardedGroup", "console", "describe", "fail", "guard", "guarded", "overwrite_option",
           "writes_run"]
