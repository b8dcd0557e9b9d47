"""A model: named parts, composed from modules, checked for names and units when built."""

from __future__ import annotations

import ast as _ast
import dataclasses
import keyword
import math
from collections.abc import Callable, Iterable, Mapping
from graphlib import CycleError, TopologicalSorter

import pint

from immunocycle._inputs import short
from immunocycle.model import _expressions as ex
from immunocycle.model._components import (
    Assignment,
    Compartment,
    Dose,
    Event,
    Parameter,
    RateRule,
    Reaction,
    Species,
)
from immunocycle.model._errors import ModelError
from immunocycle.model._units import conversion_factor, parse_units, ureg

Part = Parameter | Compartment | Species | Reaction | RateRule | Assignment | Dose | Event
_RESERVED = {"t", *ex.FUNCTIONS, "time"}


#: Result units of checked expressions (see ``Model._check_units``).
_UNITS_SEEN: dict[tuple, pint.Unit] = {}

class Model:
    """A declarative ODE model: compartments, species, parameters, reactions, rules and doses.

    Build it part by part (``model.add(Parameter(...))``) or from modules, functions that add
    their parts (``model.extend(cancer_cells, growth="logistic")``), as QSP-IO's module functions
    do. :meth:`check` validates names and units; the engine and the SBML exporter call it.

    Parameters
    ----------
    name : str
    time_units : str
        The unit of ``t`` and of every rate (``"day"``).
    source : str
        Where the model comes from (file or citation), used in error messages.
    """

    def __init__(self, name: str, time_units: str = "day", source: str = "", description: str = ""):
        self.name, self.time_units, self.description = name, time_units, description
        self.source = source or f"model {name!r}"
        self.parameters: dict[str, Parameter] = {}
        self.compartments: dict[str, Compartment] = {}
        self.species: dict[str, Species] = {}
        self.reactions: dict[str, Reaction] = {}
        self.rate_rules: dict[str, RateRule] = {}
        self.assignments: dict[str, Assignment] = {}
        self.doses: list[Dose] = []
        self.events: list[Event] = []

    # ----------------------------------------------------------------- building
    def add(self, *parts: Part) -> Model:
        """Add parts; a name may be used once across all kinds of part."""
        for part in parts:
            if isinstance(part, Dose):
                self.doses.append(part)
                continue
            if isinstance(part, Event):
                if any(e.name == part.name for e in self.events):
                    raise ModelError(self.source, f"events.{part.name}", "defined twice")
                self.events.append(part)
                continue
            if isinstance(part, RateRule):
                if part.target in self.rate_rules:
                    raise ModelError(self.source, f"rate_rules.{part.target}", "defined twice")
                self.rate_rules[part.target] = part
                continue
            table = self._table(part)
            name = part.name
            if not name.isidentifier() or keyword.iskeyword(name) or name in _RESERVED:
                raise ModelError(self.source, name, "not a valid symbol name (reserved or not an identifier)")
            if not name.isascii():
                # Python folds look-alike letters in generated code (fullwidth k reads as k), so
                # a non-ASCII name could silently overwrite another symbol; SBML ids are ASCII too.
                raise ModelError(self.source, name, "not a valid symbol name: names must be ASCII "
                                 "letters, digits and underscores")
            if name in self.symbols() or name in self.reactions:
                raise ModelError(self.source, name, "name already used in this model")
            table[name] = part
        return self

    def extend(self, module: Callable[..., None], **options) -> Model:
        """Apply a module: a function ``module(model, **options)`` that adds its parts."""
        module(self, **options)
        return self

    def add_terms(self, target: str, expression: str) -> Model:
        """Add a term to the rate rule of ``target`` (creating it), so modules can share a state."""
        rule = self.rate_rules.get(target)
        combined = expression if rule is None else f"{rule.expression} + ({expression})"
        self.rate_rules[target] = RateRule(target, combined)
        return self

    def _table(self, part: Part) -> dict:
        return {Parameter: self.parameters, Compartment: self.compartments, Species: self.species,
                Reaction: self.reactions, Assignment: self.assignments}[type(part)]

    def copy(self) -> Model:
        """An independent copy (parts are immutable, the tables are new)."""
        new = Model(self.name, self.time_units, self.source, self.description)
        for attr in ("parameters", "compartments", "species", "reactions", "rate_rules", "assignments"):
            setattr(new, attr, dict(getattr(self, attr)))
        new.doses = list(self.doses)
        new.events = list(self.events)
        return new

    def with_values(self, values: Mapping[str, float], where: str = "") -> Model:
        """A copy with new values for parameters or species initial values (in declared units)."""
        new = self.copy()
        for name, value in values.items():
            if isinstance(value, str) or not math.isfinite(float(value)):
                raise ModelError(where or self.source, name,
                                 f"must be a finite number, got {short(value)}")
            if name in new.parameters:
                new.parameters[name] = dataclasses.replace(new.parameters[name], value=float(value))
            elif name in new.species:
                new.species[name] = dataclasses.replace(new.species[name], initial=float(value))
            else:
                raise ModelError(where or self.source, name,
                                 f"no parameter or species of that name in model {self.name!r}")
        return new

    def with_doses(self, doses: Iterable[Dose]) -> Model:
        """A copy whose dosing is replaced by ``doses``."""
        new = self.copy()
        new.doses = list(doses)
        return new

    # ----------------------------------------------------------------- queries
    def symbols(self) -> dict[str, Part]:
        """Every named symbol usable in expressions (parameters, compartments, species, assignments)."""
        return {**self.parameters, **self.compartments, **self.species, **self.assignments}

    @property
    def state_names(self) -> list[str]:
        return list(self.species)

    @property
    def parameter_names(self) -> list[str]:
        return list(self.parameters)

    def symbol_units(self) -> dict[str, pint.Unit]:
        """Units of every symbol and of ``t``."""
        units = {name: parse_units(p.units, self.source, f"{_kind(p)}.{name}.units")
                 for name, p in self.symbols().items()}
        units["t"] = parse_units(self.time_units, self.source, "time_units")
        return units

    def amount_units(self, species: str) -> pint.Unit:
        """Units in which reactions change ``species`` (its units times its volume if a concentration)."""
        sp = self.species[species]
        units = parse_units(sp.units, self.source, f"species.{species}.units")
        if sp.amount:
            return units
        comp = self.compartments[sp.compartment]
        return units * parse_units(comp.units, self.source, f"compartments.{comp.name}.units")

    def derived_order(self) -> list[str]:
        """Assignments and variable compartment sizes, in an order where each follows its inputs."""
        derived = {a.name: a.expression for a in self.assignments.values()}
        derived.update({c.name: c.size for c in self.compartments.values() if isinstance(c.size, str)})
        graph = {n: {d for d in ex.names(ex.parse(e, self.source, n)) if d in derived}
                 for n, e in derived.items()}
        try:
            return list(TopologicalSorter(graph).static_order())
        except CycleError as exc:
            raise ModelError(self.source, "assignments", f"circular definitions: {exc.args[1]}") from None

    def derivative_terms(self) -> dict[str, list[tuple[float, str, str | None]]]:
        """For each species: (coefficient, rate expression, volume to divide by or None) terms."""
        terms: dict[str, list[tuple[float, str, str | None]]] = {s: [] for s in self.species}
        for reaction in self.reactions.values():
            for sp, coef in reaction.stoichiometry.items():
                volume = None if self.species[sp].amount else self.species[sp].compartment
                terms[sp].append((float(coef), reaction.rate, volume))
        for rule in self.rate_rules.values():
            terms[rule.target].append((1.0, rule.expression, None))
        return terms

    def exponent_parameters(self) -> set[str]:
        """Parameters used as exponents (Hill coefficients): perturbing them changes the law's
        shape, and non-integer powers of slightly negative states are undefined."""
        texts = [r.rate for r in self.reactions.values()]
        texts += [r.expression for r in self.rate_rules.values()]
        texts += [a.expression for a in self.assignments.values()]
        found: set[str] = set()
        for text in texts:
            for node in _ast.walk(ex.parse(text, self.source, "expression")):
                if isinstance(node, _ast.BinOp) and isinstance(node.op, _ast.Pow):
                    found |= ex.names(_ast.Expression(node.right))
                elif isinstance(node, _ast.Call) and node.func.id == "pow" and len(node.args) == 2:
                    found |= ex.names(_ast.Expression(node.args[1]))
        return found & set(self.parameters)

    # ----------------------------------------------------------------- checking
    def check(self) -> None:
        """Validate names, references, values and units; raise :class:`ModelError` on the first problem."""
        src = self.source
        for p in self.parameters.values():
            if not isinstance(p.value, int | float) or not math.isfinite(p.value):
                raise ModelError(src, f"parameters.{p.name}.value",
                                 f"must be a finite number, got {short(p.value)}")
        for c in self.compartments.values():
            if not isinstance(c.size, str) and not (0 < c.size < math.inf):
                raise ModelError(src, f"compartments.{c.name}.size",
                                 f"volume must be positive and finite, got {c.size}")
        for s in self.species.values():
            if not isinstance(s.initial, str) and not (0 <= s.initial < math.inf):
                raise ModelError(src, f"species.{s.name}.initial",
                                 f"must be a finite number >= 0, got {s.initial}")
            if s.compartment not in self.compartments:
                raise ModelError(src, f"species.{s.name}.compartment",
                                 f"unknown compartment {s.compartment!r}")
            if not s.amount and isinstance(self.compartments[s.compartment].size, str):
                raise ModelError(src, f"species.{s.name}.amount", "a concentration species needs a "
                                 "constant compartment volume; declare it as an amount")
        for r in self.reactions.values():
            for sp in r.stoichiometry:
                if sp not in self.species:
                    raise ModelError(src, f"reactions.{r.name}.stoichiometry", f"unknown species {sp!r}")
                if sp in self.rate_rules:
                    raise ModelError(src, f"reactions.{r.name}",
                                     f"species {sp!r} has a rate rule and cannot be in a reaction")
        for target in self.rate_rules:
            if target not in self.species:
                raise ModelError(src, f"rate_rules.{target}", "the target is not a species")
        for d in self.doses:
            if d.target not in self.species:
                raise ModelError(src, f"doses.{d.name or d.target}.target", f"unknown species {d.target!r}")
            if not all(0 <= t < math.inf for t in (*d.times, d.duration)):
                raise ModelError(src, f"doses.{d.name or d.target}",
                                 "times and duration must be finite and >= 0")
            if not isinstance(d.amount, str) and not (0 <= d.amount < math.inf):
                raise ModelError(src, f"doses.{d.name or d.target}.amount",
                                 f"dose must be finite and >= 0, got {d.amount}")
        for e in self.events:
            for target, _ in e.assignments:
                if target not in self.species:
                    raise ModelError(src, f"events.{e.name}.assignments.{target}",
                                     "an event may assign species only (make the quantity a "
                                     "species with no reactions)")
        self.derived_order()
        self._check_units()

    def _check_units(self) -> None:
        units = self.symbol_units()
        time = units["t"]
        dimless = {n: float(p.value) for n, p in self.parameters.items()}
        known = set(units)

        def check(text: str | float, field: str, expected: pint.Unit) -> None:
            if not isinstance(text, str):
                return
            tree = ex.parse(text, self.source, field)
            names = ex.names(tree)
            unknown = names - known
            if unknown:
                raise ModelError(self.source, field,
                                 f"unknown name(s) {_first(sorted(unknown))} in "
                                 f"{short(text, 200)}")
            # Units depend only on the text and the units (and, for exponents, the values) of
            # its names: models rebuilt with other values or therapies reuse the checks.
            key = (text, tuple(sorted((n, str(units[n]), dimless.get(n)) for n in names)))
            got = _UNITS_SEEN.get(key)
            if got is None:
                got = ex.result_units(tree, text, units, dimless, self.source, field)
                if len(_UNITS_SEEN) > 100_000:
                    _UNITS_SEEN.clear()
                _UNITS_SEEN[key] = got
            try:
                factor = conversion_factor(got, expected, self.source, field)
            except ModelError:
                raise ModelError(self.source, field, f"{short(text, 200)} has units {got:~} but "
                                 f"{expected:~} are required") from None
            if abs(factor - 1.0) > 1e-9:
                raise ModelError(self.source, field, f"{short(text, 200)} has units {got:~}, which differ from "
                                 f"the required {expected:~} by a factor {factor:g}: convert the "
                                 "parameter or declare it in consistent units")

        for c in self.compartments.values():
            check(c.size, f"compartments.{c.name}.size", units[c.name])
        for s in self.species.values():
            check(s.initial, f"species.{s.name}.initial", units[s.name])
        for a in self.assignments.values():
            check(a.expression, f"assignments.{a.name}", units[a.name])
        for r in self.reactions.values():
            for sp in r.stoichiometry:
                check(r.rate, f"reactions.{r.name}.rate", self.amount_units(sp) / time)
        for rule in self.rate_rules.values():
            check(rule.expression, f"rate_rules.{rule.target}", units[rule.target] / time)
        for d in self.doses:
            field = f"doses.{d.name or d.target}.amount"
            check(d.amount, field, self.amount_units(d.target))
            if isinstance(d.amount, str):
                extra = ex.names(ex.parse(d.amount, self.source, field)) - set(self.parameters)
                if extra:
                    raise ModelError(self.source, field, "a dose amount may use parameters only, "
                                     f"not {', '.join(sorted(extra))}")

        for e in self.events:
            field = f"events.{e.name}"
            # Names only: a trigger compares a quantity with a bare number (S < 0.75), whose
            # units the language cannot know. A condition stands only inside a piecewise.
            for text, part in ((f"piecewise(1, {e.trigger}, 0)", "trigger"),
                               (e.priority, "priority")):
                if isinstance(text, str):
                    unknown = ex.names(ex.parse(text, self.source, f"{field}.{part}")) - known
                    if unknown:
                        raise ModelError(self.source, f"{field}.{part}", "unknown name(s) "
                                         f"{_first(sorted(unknown))} in {short(text, 200)}")
            for target, value in e.assignments:
                check(value, f"{field}.assignments.{target}", units[target])

    def __repr__(self) -> str:
        return (f"Model({self.name!r}: {len(self.species)} species, {len(self.parameters)} parameters, "
                f"{len(self.reactions)} reactions, {len(self.rate_rules)} rate rules, "
                f"{len(self.assignments)} assignments, {len(self.doses)} doses)")


def _first(names: list[str], count: int = 10) -> str:
    """The first ``count`` names, comma-separated, and how many more there are."""
    more = f" and {len(names) - count} more" if len(names) > count else ""
    return ", ".join(short(n, 60).strip("'") for n in names[:count]) + more


def _kind(part: Part) -> str:
    return {Parameter: "parameters", Compartment: "compartments", Species: "species",
            Assignment: "assignments"}[type(part)]


def unit_scale(units: str, target: str) -> float:
    """Conversion factor between two unit strings (for callers converting user input)."""
    return float(ureg.Quantity(1.0, units).to(target).magnitude)


__all__ = ["Model", "unit_scale"]
