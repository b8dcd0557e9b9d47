"""The unit registry shared by every model: pint with a ``cell`` count added.

Units are checked when a model is built, never in the simulation loop.
"""

from __future__ import annotations

import pint

from immunocycle._inputs import short
from immunocycle.model._errors import ModelError

ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
ureg.define("cell = [cell_count] = cells")
ureg.define("event = [] = events")


def parse_units(text: str, where: str, field: str) -> pint.Unit:
    """Parse a unit string (``"1/day"``, ``"cell"``, ``"nmol/L"``), naming the field on failure."""
    try:
        return ureg.Unit(text if text.strip() else "dimensionless")
    except (pint.errors.UndefinedUnitError, AttributeError, TypeError, ValueError,
            AssertionError) as exc:
        raise ModelError(where, field, f"unknown units {short(text)} ({short(str(exc), 200)})") from None


def conversion_factor(source: pint.Unit, target: pint.Unit, where: str, field: str) -> float:
    """Factor that converts a value in ``source`` units to ``target`` units.

    Raises
    ------
    ModelError
        If the two units measure different dimensions.
    """
    try:
        return float(ureg.Quantity(1.0, source).to(target).magnitude)
    except pint.errors.DimensionalityError:
        raise ModelError(where, field,
                         f"units {source:~} cannot be converted to {target:~}") from None
