"""The one error type of the model layer: it names where, which field, and what is wrong."""

from __future__ import annotations


class ModelError(ValueError):
    """A model, parameter set or expression is invalid.

    Parameters
    ----------
    where : str
        The file or model the problem is in.
    field : str
        The dotted path of the offending field (``parameters.k_growth.units``).
    problem : str
        What is wrong, and where possible how to fix it.
    """

    def __init__(self, where: str, field: str, problem: str) -> None:
        self.where, self.field, self.problem = where, field, problem
        super().__init__(f"{where}: {field}: {problem}")
