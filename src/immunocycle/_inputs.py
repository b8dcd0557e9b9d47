"""The checks every input passes once, wherever it enters (CLI flag, ``--set``, YAML file).

Numbers must be finite and inside their physical range; time grids are bounded; YAML is read
with a safe loader that refuses to expand aliases past a limit (an "alias bomb" of a few lines
expands to billions of values); values quoted in messages are shortened. The bounds live in
``data/limits.yaml``.
"""

from __future__ import annotations

import math
import reprlib
from functools import lru_cache
from typing import Any

import yaml

from immunocycle._errors import InputError
from immunocycle._paths import PACKAGE_DATA

LIMITS_FILE = PACKAGE_DATA / "limits.yaml"


@lru_cache(maxsize=1)
def limits() -> dict:
    """The input bounds (``data/limits.yaml``)."""
    return yaml.safe_load(LIMITS_FILE.read_text())


def short(value: Any) -> str:
    """``repr(value)``, shortened so that a huge input cannot flood an error message."""
    size = int(limits()["messages"]["max_value_chars"])
    r = reprlib.Repr()
    r.maxstring = r.maxother = r.maxlong = size
    r.maxlist = r.maxtuple = r.maxdict = r.maxset = 6
    r.maxlevel = 3
    text = r.repr(value)
    return text if len(text) <= size else text[: size - 3] + "..."


def check_number(value: Any, field: str, *, low: float | None = None, high: float | None = None,
                 strict_low: bool = False) -> float:
    """``value`` as a finite float inside ``[low, high]`` (``(low, high]`` if ``strict_low``).

    Raises
    ------
    InputError
        Naming ``field`` (its ``where``) and the bound that is broken.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(field, f"{short(value)} is not a number") from None
    if not math.isfinite(number):
        raise InputError(field, f"must be a finite number, got {short(value)}")
    if low is not None and (number <= low if strict_low else number < low):
        raise InputError(field, f"must be {'>' if strict_low else '>='} {low:g}, got {number:g}")
    if high is not None and number > high:
        raise InputError(field, f"must be <= {high:g}, got {number:g}")
    return number


def check_time_grid(days: float, points_per_day: float = 1.0, field: str = "--days") -> float:
    """Check a simulated span (days) and its output density against ``limits.yaml``.

    Returns
    -------
    float
        ``days`` as a float.

    Raises
    ------
    InputError
        If ``days`` is not finite, not positive, longer than ``time_grid.max_days`` or the grid
        would have more than ``time_grid.max_points`` points.
    """
    grid = limits()["time_grid"]
    days = check_number(days, field, low=0.0, strict_low=True, high=float(grid["max_days"]))
    points = days * float(points_per_day) + 1
    if points > grid["max_points"]:
        raise InputError(field, f"{days:g} days at {points_per_day:g} points per day make "
                         f"{points:.3g} output points, more than the limit of "
                         f"{grid['max_points']:,} (data/limits.yaml): use fewer days or points")
    return days


def check_overrides(values: dict[str, Any], declared: dict[str, float],
                    field: str = "--set") -> dict[str, float]:
    """Check parameter overrides (``--set NAME=VALUE``) against the declared parameters.

    Every name must be declared; every value finite, and not negative where the declared value
    is not (rates, counts, volumes and concentrations keep their sign).

    Parameters
    ----------
    values : mapping of name -> value
    declared : mapping of name -> declared value
    field : str
        The flag or field the overrides came in, for messages.

    Returns
    -------
    dict
        The values as floats.
    """
    unknown = sorted(set(values) - set(declared))
    if unknown:
        near = sorted(n for n in declared if n.lower().startswith(unknown[0][:3].lower()))[:5]
        hint = f"; similar: {', '.join(near)}" if near else ""
        raise InputError(field, f"unknown parameter(s) {', '.join(short(u) for u in unknown)}"
                         f"{hint}", "see `immunocycle simulate --help` and the preset's "
                         "parameter file for the names")
    return {name: check_number(value, f"{field} {name}",
                               low=0.0 if declared[name] >= 0 else None)
            for name, value in values.items()}


class CappedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses documents whose aliases expand past
    ``yaml.max_expanded_nodes`` values (counted with every alias resolved)."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._expanded = 0
        self._sizes: dict[int, int] = {}
        self._cap = int(limits()["yaml"]["max_expanded_nodes"])

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)
            self._expanded += _node_size(node, self._sizes) if node is not None else 1
        else:
            self._expanded += 1
        if self._expanded > self._cap:
            raise yaml.composer.ComposerError(
                None, None, f"the aliases expand to more than {self._cap:,} values (limit in "
                "data/limits.yaml)", self.peek_event().start_mark)
        return super().compose_node(parent, index)


def _node_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Values in ``node`` with its aliases expanded (memoised: shared nodes are counted once)."""
    key = id(node)
    if key not in sizes:
        if isinstance(node, yaml.SequenceNode):
            sizes[key] = 1 + sum(_node_size(c, sizes) for c in node.value)
        elif isinstance(node, yaml.MappingNode):
            sizes[key] = 1 + sum(_node_size(k, sizes) + _node_size(v, sizes) for k, v in node.value)
        else:
            sizes[key] = 1
    return sizes[key]


def load_yaml(text: str) -> Any:
    """Parse YAML text safely (no Python objects, capped alias expansion).

    Raises
    ------
    yaml.YAMLError
        Malformed YAML or too large an expansion; ``problem_mark`` says where.
    """
    return yaml.load(text, Loader=CappedLoader)  # noqa: S506 - a SafeLoader subclass


__all__ = ["CappedLoader", "check_number", "check_overrides", "check_time_grid", "limits", "load_yaml",
           "short"]
