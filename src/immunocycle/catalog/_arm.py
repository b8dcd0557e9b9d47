"""One lookup for every therapy name, and the arm syntax with per-item dose and schedule.

An arm is items joined by ``+``; an item is a name with an optional dose and schedule::

    doxil@40mg/m2:q28d          Doxil 40 mg/m2 every 28 days
    nivolumab@240mg:q2w         nivolumab 240 mg flat every 2 weeks
    ipilimumab@3mg/kg:q3w*4     ipilimumab 3 mg/kg every 3 weeks, 4 doses
    nivolumab_ipilimumab        a catalog regimen, with its own doses and schedules

A name is, in this order, a cycle-model antibody (``data/cycle/therapies``), a catalog therapy or
a catalog regimen. Doses are read by pint: a flat mass (``mg``, ``ug``, ``g``), a mass per body
weight (``mg/kg``) or a mass per body-surface area (``mg/m2``). A dose per m2 becomes a dose per
kg through the species' Km factor (body weight / body-surface area, kg/m2; ``pk.yaml``, Nair &
Jacob 2016, doi 10.4103/0976-0105.177703), the convention the catalog uses for every dose.
A schedule ``qN(d|w)`` sets the interval; ``*K`` the number of doses (without it the default
treatment span is kept: ``K = round(default count x default interval / new interval)``).
"""

from __future__ import annotations

import difflib

from immunocycle._errors import InputError
from immunocycle.catalog._convert import to_cycle_therapy
from immunocycle.catalog._dose import parse_item, with_override
from immunocycle.catalog._regimen import regimen_therapies
from immunocycle.catalog._store import load_catalog

#: Arm name of the untreated control.
UNTREATED = "untreated"


def therapy_names(*, catalog=None) -> list[str]:
    """Every name an arm may use: cycle antibodies, catalog therapies, catalog regimens."""
    from immunocycle.cycle import available_therapies

    cat = catalog or load_catalog()
    return [*available_therapies(), *cat.therapies, *cat.regimens]


def _unknown(name: str, where: str, catalog) -> InputError:
    names = therapy_names(catalog=catalog)
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.6)
    if len(name) >= 3:  # a substring of a few letters matches too much to help
        close += [n for n in names if name.lower() in n and n not in close][:5 - len(close)]
    fix = (f"did you mean {', '.join(close)}?" if close
           else "see immunocycle catalog list and immunocycle catalog show ID")
    return InputError(where, f"unknown therapy {name!r}", fix)


def resolve_therapy(name: str, species: str = "human", *, catalog=None, where: str = "--arm"):
    """The cycle-model :class:`immunocycle.cycle.Therapy` of a name, at its default dose.

    Parameters
    ----------
    name : str
        A cycle-model antibody (``nivolumab``) or a catalog therapy id (``doxil``).
    species : {"human", "mouse"}
        Physiology (catalog therapies are converted to it; a cycle antibody must match it).
    catalog : Catalog, optional
    where : str
        What the error names (``--arm``, ``--therapy``).

    Raises
    ------
    InputError
        For an unknown name (listing close matches), a regimen id (use :func:`resolve_arm`) or a
        cycle antibody of another species.
    """
    from immunocycle.cycle import available_therapies, load_therapy

    cat = catalog or load_catalog()
    if name in available_therapies():
        therapy = load_therapy(name)
        if therapy.species != species:
            raise InputError(where, f"{name!r} is a {therapy.species} therapy, not {species}",
                             "pick one of that species (immunocycle catalog list)")
        return therapy
    if name in cat.therapies:
        return to_cycle_therapy(cat.therapies[name], species, catalog=cat)
    if name in cat.regimens:
        raise InputError(where, f"{name!r} is a regimen (several therapies)",
                         "give it as an arm; resolve_arm expands it")
    raise _unknown(name, where, cat)


def km_factor(species: str, *, catalog=None) -> float:
    """Km (kg/m2) of a species: a dose in mg/m2 over Km is the dose in mg/kg."""
    return float((catalog or load_catalog()).pk.km[species])


def dosing_text(therapy) -> str:
    """A cycle-model therapy's dose and schedule in words: ``"nivolumab_free 1 mg/kg every
    21 d x 4 from day 0"``."""
    d = therapy.dosing
    cycles = ("" if d.cycles == (0.0,) else
              " in cycles from days " + ", ".join(f"{c:g}" for c in d.cycles))
    return (f"{therapy.name} {d.amount:.4g} {d.units} every {d.every:g} d x {d.count} "
            f"from day {d.start:g}{cycles}")


def default_dosing(name: str, species: str = "human", *, catalog=None) -> list[str]:
    """The doses and schedules an arm ``name`` gives by default (:func:`dosing_text` of each
    therapy of :func:`resolve_arm`; a dose in mg/m2 shown per kg, as simulated)."""
    return [dosing_text(t) for t in resolve_arm(name, species, catalog=catalog)]


def _therapy_file(path: str, species: str, where: str):
    from immunocycle.cycle import load_therapy

    therapy = load_therapy(path)
    if therapy.species != species:
        raise InputError(where, f"{path}: a {therapy.species} therapy, not {species}")
    return therapy


def resolve_arm(text: str, species: str = "human", *, catalog=None, where: str = "--arm") -> list:
    """The cycle-model therapies of an arm ``"doxil@40mg/m2:q28d+nivolumab"``.

    Parameters
    ----------
    text : str
        Items joined by ``+`` (see the module docstring); ``"untreated"`` gives no therapy. An
        item ending in ``.yaml`` is a therapy file (:func:`immunocycle.cycle.load_therapy`).
        A regimen takes no dose or schedule of its own (list its therapies instead).
    species : {"human", "mouse"}
    catalog : Catalog, optional
    where : str
        What errors name.

    Returns
    -------
    list of immunocycle.cycle.Therapy
        Ready for ``simulate_cycle(preset, therapies)`` or a trial arm.

    Raises
    ------
    InputError
        One line naming the item: unknown name (with close matches), a dose without units or of
        the wrong dimension, an unreadable schedule, an empty item, a therapy given twice.
    """
    raw = str(text).strip()
    if raw == UNTREATED:
        return []
    cat = catalog or load_catalog()
    parts = raw.split("+")
    if not all(p.strip() for p in parts):
        raise InputError(where, f"{raw!r}: empty therapy name",
                         "join items with '+', e.g. doxil+nivolumab")
    out = []
    for part in parts:
        if part.strip().endswith((".yaml", ".yml")):  # a therapy file (cycle-model schema)
            out.append(_therapy_file(part.strip(), species, where))
            continue
        item = parse_item(part, where=where)
        if item.name in cat.regimens:
            if item.dose is not None or item.every is not None:
                raise InputError(where, f"{item.name!r} is a regimen: its doses and schedules "
                                 "are its own", "list its therapies with their own @dose:schedule")
            out.extend(regimen_therapies(item.name, species, catalog=cat))
            continue
        therapy = resolve_therapy(item.name, species, catalog=cat, where=where)
        out.append(with_override(therapy, item, km_factor(species, catalog=cat)))
    names = [t.name for t in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(where, f"{raw!r} gives {', '.join(twice)} twice",
                         "give each therapy once per arm")
    return out


__all__ = ["UNTREATED", "default_dosing", "dosing_text", "km_factor", "resolve_arm",
           "resolve_therapy", "therapy_names"]
