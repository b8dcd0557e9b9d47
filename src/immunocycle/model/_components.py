"""The named parts a model is built from (PySB style): each is a frozen record.

Expressions are strings over the names of other parts and ``t`` (time, in the model's time units).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from immunocycle._errors import InputError


@dataclass(frozen=True)
class Parameter:
    """A constant with units and provenance.

    Attributes
    ----------
    name : str
    value : float
        In ``units``.
    units : str
        Any pint unit string (``"1/day"``, ``"cell"``, ``"nmol/L"``).
    description, source : str
        What it is, and where the value comes from (paper and table, or "calibrated to X").
    """

    name: str
    value: float
    units: str = "dimensionless"
    description: str = ""
    source: str = ""


@dataclass(frozen=True)
class Compartment:
    """A volume; ``size`` is a number or, for a time-varying volume, an expression."""

    name: str
    size: float | str
    units: str = "L"
    description: str = ""


@dataclass(frozen=True)
class Species:
    """A state variable living in a compartment.

    ``amount=True`` means the value is an amount (cells, mg, nmol); otherwise it is a
    concentration and reactions change it by rate / compartment volume (the volume must then be
    constant).
    """

    name: str
    compartment: str
    initial: float | str = 0.0
    units: str = "dimensionless"
    amount: bool = True
    description: str = ""


@dataclass(frozen=True)
class Reaction:
    """A process with rate ``rate`` (amount per time) changing species by their coefficients."""

    name: str
    rate: str
    stoichiometry: dict[str, float] = field(default_factory=dict)
    description: str = ""

    def __hash__(self) -> int:
        return hash((self.name, self.rate, tuple(sorted(self.stoichiometry.items()))))


@dataclass(frozen=True)
class RateRule:
    """``d target / dt = expression`` for a species not changed by any reaction."""

    target: str
    expression: str


@dataclass(frozen=True)
class Assignment:
    """A derived quantity ``name = expression`` (tumor volume, a step flux, an occupancy)."""

    name: str
    expression: str
    units: str = "dimensionless"
    description: str = ""


@dataclass(frozen=True)
class Dose:
    """Drug input into ``target`` at each time in ``times``.

    Attributes
    ----------
    target : str
        A species.
    amount : float or str
        Amount per administration, in the target's amount units (for a concentration species:
        its units times its compartment's volume units); an expression of parameters allowed
        (``"dose_mg_per_kg * body_weight"``).
    times : tuple of float
        Administration times in the model's time units.
    duration : float
        0 for a bolus; otherwise a zero-order infusion of ``amount`` spread over this time.
    name : str
        Label used in exports.
    """

    target: str
    amount: float | str
    times: tuple[float, ...]
    duration: float = 0.0
    name: str = ""


@dataclass(frozen=True)
class Event:
    """A discontinuity: when ``trigger`` turns from false to true, set ``assignments``.

    SBML's events without delay (Level 3 core semantics). Doses (``S = S + amount`` at fixed
    times) are :class:`Dose`; an event is anything else, e.g. a state-triggered reset.

    Attributes
    ----------
    name : str
    trigger : str
        A condition over symbols and ``t``: comparisons joined by ``and``, ``or``, ``not``
        (``"S1 < 0.75"``, ``"t >= 5 and P > 1e3"``).
    assignments : tuple of (target, expression)
        Species (in their own quantity: amount or concentration) given new values. The
        expressions use the values at the trigger time when ``use_values_from_trigger_time``
        (always the same time here: no delays).
    priority : str or float or None
        Among events firing at one time, higher priorities execute first (ties and None: in
        declaration order).
    persistent : bool
        False: an event still waiting to execute is dropped if its trigger turns false (by an
        earlier event's assignment at the same time).
    initial_value : bool
        The trigger's value just before the start: False lets an event whose trigger holds at
        the start fire there.
    use_values_from_trigger_time : bool
    """

    name: str
    trigger: str
    assignments: tuple[tuple[str, str | float], ...]
    priority: str | float | None = None
    persistent: bool = True
    initial_value: bool = True
    use_values_from_trigger_time: bool = True


def schedule(start: float, every: float, count: int) -> tuple[float, ...]:
    """Administration times of a repeating schedule: ``start, start+every, ...`` (``count`` doses).

    >>> schedule(0, 14, 3)
    (0.0, 14.0, 28.0)
    """
    if count < 1 or every <= 0 and count > 1:
        raise InputError(f"schedule needs count >= 1 and every > 0, got count={count}, every={every}")
    return tuple(float(start + i * every) for i in range(int(count)))
