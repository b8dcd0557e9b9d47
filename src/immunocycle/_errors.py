"""The library's error types: one base, :class:`ImmunocycleError`, and a subclass per kind.

Every error a user can cause or fix (a bad argument, a bad file, a run folder that conflicts or
changed, an unreachable cluster) is an :class:`ImmunocycleError`. It is a :class:`ValueError`, so
code that catches ``ValueError`` keeps working. Its message reads
``<where>: [<field>: ]<problem> (<fix>)``; the command line prints it as ``error: <message>``
with exit code 2 and maps ``where``/``field`` to the flag when they name a parameter.

This module imports nothing from the package, so every layer may raise these.
"""

from __future__ import annotations


class ImmunocycleError(ValueError):
    """A problem the user can fix: names where it is, what is wrong and, if known, how to fix it.

    Parameters
    ----------
    where : str
        The argument, file or folder the problem is in (``"n"``, ``"--out"``, a path). Given
        alone, it is the whole message (``InputError("n must be >= 1")``): ``where`` is then
        empty and the message is the ``problem``.
    problem : str, optional
        What is wrong.
    fix : str, optional
        How to fix it (printed in parentheses).
    field : str, optional
        The field inside ``where`` (a dotted path in a file: ``parameters.k.units``).
    """

    def __init__(self, where: str, problem: str | None = None, fix: str | None = None, *,
                 field: str | None = None) -> None:
        if problem is None:
            where, problem = "", str(where)
        self.where, self.problem, self.fix, self.field = str(where), problem, fix, field
        super().__init__(self.message())

    def message(self, where: str | None = None) -> str:
        """The one-line message, with ``where`` replaced (the CLI passes the flag)."""
        parts = [where or self.where, *([self.field] if self.field else []), self.problem]
        text = ": ".join(p for p in parts if p)
        return f"{text} ({self.fix})" if self.fix else text

    def __reduce__(self):  # picklable across Dask workers despite the keyword-only field
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type, state: dict) -> ImmunocycleError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    ValueError.__init__(err, ImmunocycleError.message(err))
    return err


class InputError(ImmunocycleError):
    """An argument or input value is invalid; ``where`` names it (``n``, ``--arm``, a file)."""


class ParameterError(InputError):
    """A model parameter value (``--set``, a cohort or therapy file) is unknown or out of range."""


class DataError(ImmunocycleError):
    """A data file (packaged or shared) is missing, unreadable or inconsistent."""


class RunFolderError(ImmunocycleError):
    """An output folder cannot be used: it holds another run, or a file changed after a run
    wrote it (checksum mismatch)."""


class ClusterError(ImmunocycleError):
    """The Dask scheduler cannot be reached or a cluster cannot be started."""


class SolverError(ImmunocycleError):
    """A simulation cannot be set up or did not finish (non-finite values, step limit)."""


class SBMLError(InputError):
    """An SBML file is missing or malformed, or uses a construct immunocycle cannot simulate
    (the message names the element and its id)."""


__all__ = ["ClusterError", "DataError", "ImmunocycleError", "InputError", "ParameterError",
           "RunFolderError", "SBMLError", "SolverError"]
