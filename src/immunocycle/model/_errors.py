"""The one error type of the model layer: it names where, which field, and what is wrong."""

from __future__ import annotations

from immunocycle._errors import ImmunocycleError


class ModelError(ImmunocycleError):
    """A model, parameter set or expression is invalid.

    Parameters
    ----------
    where : str
        The file or model the problem is in.
    field : str
        The dotted path of the offending field (``parameters.k_growth.units``).
    problem : str
        What is wrong, and where possible how to fix it.
    fix : str, optional
        How to fix it, when the problem does not already say.
    """

    def __init__(self, where: str, field: str, problem: str, fix: str | None = None) -> None:
        super().__init__(where, problem, fix, field=field)
