"""The arm syntax: ``name[@dose][:schedule]``, read into an :class:`ArmItem`, and applied to a
cycle-model therapy (:func:`with_override`).

Doses are read by pint: a flat mass (``mg``, ``ug``, ``g``), a mass per body weight (``mg/kg``)
or a mass per body-surface area (``mg/m2``). A schedule ``qN(d|w)`` sets the interval; ``*K``
the number of doses (without it the default treatment span is kept:
``K = round(default count x default interval / new interval)``). Names are looked up by
:func:`immunocycle.catalog.resolve_arm`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from immunocycle._errors import InputError

_ITEM = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_]*)(?:@(?P<dose>[^:]*))?(?::(?P<sched>.*))?$")
_SCHEDULE = re.compile(r"^q(?P<n>\d+(?:\.\d+)?)(?P<unit>[dw])(?:\*(?P<count>\d+))?$", re.I)
_AMOUNT = re.compile(r"^[+-]?(\d|\.\d)")
_AREA = re.compile(r"(?<=[a-zA-Z])([23])\b")  # m2 -> m**2, cm2 -> cm**2


@dataclass(frozen=True)
class ArmItem:
    """One parsed item of an arm: a name, and the dose and schedule it overrides (None: keep).

    Attributes
    ----------
    name : str
    dose : tuple of (float, str) or None
        Amount and units, units one of ``"mg"``, ``"mg/kg"``, ``"mg/m2"``.
    every : float or None
        Days between doses.
    count : int or None
        Number of doses.
    text : str
        The item as written (for messages and dosing sources).
    """

    name: str
    dose: tuple[float, str] | None = None
    every: float | None = None
    count: int | None = None
    text: str = ""


def parse_dose(text: str, *, where: str = "--arm", item: str = "") -> tuple[float, str]:
    """A dose ``"40mg/m2"``, ``"3 mg/kg"``, ``"240mg"`` or ``"200ug"`` as (amount, units), units
    ``"mg"``, ``"mg/kg"`` or ``"mg/m2"`` (pint converts from any mass unit).

    Raises
    ------
    InputError
        Naming ``item``, for a dose without units, of another dimension, or not > 0.
    """
    from immunocycle.model import ureg

    label = f"{item}: " if item else ""
    raw = text.strip()
    example = "write e.g. 40mg/m2, 3mg/kg or 240mg"
    if not _AMOUNT.match(raw):
        raise InputError(where, f"{label}the dose {raw!r} has no amount", example)
    try:
        q = ureg.Quantity(_AREA.sub(r"**\1", raw.replace(" ", "")))
    except Exception:  # pint raises several types (undefined unit, syntax, tokenizer)
        raise InputError(where, f"{label}cannot read the dose {raw!r}", example) from None
    if not isinstance(q, ureg.Quantity) or not list(q.unit_items()):
        raise InputError(where, f"{label}the dose {raw!r} has no units", example)
    units = _dose_units(q)
    if units is None:
        raise InputError(where, f"{label}the dose {raw!r} is in {q.units:~} "
                         f"({q.dimensionality}), not a mass, mass/kg or mass/m2", example)
    amount = float(q.to(units.replace("m2", "m**2")).magnitude)
    if not (math.isfinite(amount) and amount > 0):
        raise InputError(where, f"{label}the dose {raw!r} must be a number > 0", example)
    return amount, units


def _dose_units(q) -> str | None:
    dim = q.dimensionality
    if dim == {"[mass]": 1}:
        return "mg"
    if dim == {"[mass]": 1, "[length]": -2}:
        return "mg/m2"
    # mass/mass is dimensionless in pint: accept it only as a mass over a mass, not a bare ratio.
    powers = [(q._REGISTRY.get_dimensionality(u), p) for u, p in q.unit_items()]
    if len(powers) == 2 and sorted(p for _, p in powers) == [-1, 1] and all(
            d == {"[mass]": 1} for d, _ in powers):
        return "mg/kg"
    return None


def parse_schedule(text: str, *, where: str = "--arm",
                   item: str = "") -> tuple[float, int | None]:
    """A schedule ``"q2w"``, ``"q28d"``, ``"q3w*4"`` as (days between doses, count or None)."""
    label = f"{item}: " if item else ""
    m = _SCHEDULE.match(text.strip())
    if m is None:
        raise InputError(where, f"{label}cannot read the schedule {text.strip()!r}",
                         "write qNd or qNw, optionally *K doses: q28d, q2w, q3w*4")
    every = float(m["n"]) * (7.0 if m["unit"].lower() == "w" else 1.0)
    count = int(m["count"]) if m["count"] else None
    if every <= 0 or count == 0:
        raise InputError(where, f"{label}the schedule {text.strip()!r} needs an interval > 0 "
                         "and at least one dose")
    return every, count


def parse_item(text: str, *, where: str = "--arm") -> ArmItem:
    """One item ``name[@dose][:schedule]`` of an arm (names are checked by :func:`resolve_arm`)."""
    raw = text.strip()
    m = _ITEM.match(raw)
    if m is None:
        raise InputError(where, f"cannot read {raw!r}",
                         "write name[@dose][:schedule], e.g. doxil@40mg/m2:q28d")
    name = m["name"]
    dose = parse_dose(m["dose"], where=where, item=name) if m["dose"] is not None else None
    every = count = None
    if m["sched"] is not None:
        every, count = parse_schedule(m["sched"], where=where, item=name)
    return ArmItem(name=name, dose=dose, every=every, count=count, text=raw)


def with_override(therapy, item: ArmItem, km: float):
    """``therapy`` (a cycle-model Therapy) with the dose and schedule of ``item`` applied; a dose
    in mg/m2 becomes mg/kg through ``km`` (kg/m2, the species' Km factor)."""
    changes: dict = {}
    d = therapy.dosing
    if item.dose is not None:
        amount, units = item.dose
        if units == "mg/m2":
            amount, units = amount / km, "mg/kg"
        changes.update(amount=amount, units=units)
    if item.every is not None:
        # A schedule as given replaces the whole pattern, cycles included.
        span = d.count * d.every
        changes["every"] = item.every
        changes["count"] = item.count or max(1, round(span / item.every))
        changes["cycles"] = (0.0,)
    if not changes:
        return therapy
    changes["source"] = f"dose and schedule as given ({item.text}); default: {d.source}"
    return therapy.with_dosing(**changes)


__all__ = ["ArmItem", "parse_dose", "parse_item", "parse_schedule", "with_override"]
