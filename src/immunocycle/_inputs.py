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


def short(value: Any, size: int | None = None) -> str:
    """``repr(value)``, shortened (to ``size`` characters, by default ``messages.max_value_chars``
    of ``data/limits.yaml``) so that a huge input cannot flood an error message."""
    size = int(size or limits()["messages"]["max_value_chars"])
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


#: PyYAML's safe loader, its C version where built (about 8x faster on the packaged data).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """Parse YAML text safely: no Python objects, and aliases that would expand past
    ``yaml.max_expanded_nodes`` values are refused before anything is built from them.

    The document is composed into nodes first (an alias is a shared node, so a bomb stays
    small); its size with every alias expanded is counted on that graph; only then is it built.

    Raises
    ------
    yaml.YAMLError
        Malformed YAML or too large an expansion; ``problem_mark`` says where.
    """
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        cap = int(limits()["yaml"]["max_expanded_nodes"])
        if _expanded_size(node) > cap:
            raise yaml.composer.ComposerError(
                None, None, f"the aliases expand to more than {cap:,} values (limit in "
                "data/limits.yaml)", node.start_mark)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(root: yaml.Node) -> int:
    """Values under ``root`` with every alias expanded, counted on the shared node graph
    (each node once, without recursion, so deep nesting cannot overflow the stack)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = ([c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode)
                    else node.value if isinstance(node, yaml.SequenceNode) else [])
        if children_done or not children:
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


__all__ = ["check_number", "check_overrides", "check_time_grid", "limits", "load_yaml",
           "short"]
