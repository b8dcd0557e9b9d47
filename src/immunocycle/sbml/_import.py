"""Import SBML (Level 2 and 3 core, python-libsbml) into a declarative :class:`Model`.

Mapping:

* compartments, species (amount or concentration: ``hasOnlySubstanceUnits``; boundary and
  constant species are not changed by reactions), parameters;
* reactions with kinetic laws; local parameters become global parameters ``<reaction>_<id>``;
* assignment rules become assignments (or expression compartment sizes; one of parameters only
  is computed at import), rate rules become rate rules (a parameter or compartment size with a
  rate rule becomes an amount species in a unit compartment; its compartment is then
  ``<id>_size``, sized by that state, and may hold amount species only);
* initial assignments: of a species, its initial expression; of a parameter or compartment, the
  value computed from the other values (so it follows them only at import);
* function definitions are expanded (libsbml's ``expandFunctionDefinitions`` converter);
* a model whose values are all set by rules gets one constant placeholder state
  (``sbml_placeholder_state``), since the engine integrates at least one state;
* events that dose: trigger ``time >= c`` (or ``>``) with assignments ``S = S + a`` become
  boluses; pairs of events raising and lowering a parameter that feeds a species additively
  (an input reaction or a rate-rule term, as :func:`to_sbml` writes infusions) become infusions;
* any other event without delay (a state trigger such as ``S1 < 0.75``, an assignment that
  sets a value) becomes an :class:`~immunocycle.model.Event` (priority, persistence,
  initialValue, useValuesFromTriggerTime kept); a parameter it assigns becomes a state; such a
  model runs patient by patient with root finding (``engine._events``);
* units where declared: unit definitions become pint units (the ``units:`` line of an element's
  notes is preferred when it equals the definition); when a unit cannot be expressed or the
  declared units are not consistent, the model is imported without units (a warning says why).

Anything else (algebraic rules, delays, fast reactions, event assignments to compartments,
functions outside the model's expression language, reaction ids in math,
stoichiometry math) raises :class:`~immunocycle._errors.SBMLError` naming the element and id.
Expressions are written in the model's Python syntax (``^`` becomes ``**``, ``ln`` ``log``,
``time`` ``t``); an SBML id that is reserved in the model (``t``, ``exp``, a Python keyword)
gets a trailing underscore.
"""

from __future__ import annotations

import keyword
import math
import re
import warnings
from pathlib import Path

import libsbml

from immunocycle._errors import SBMLError
from immunocycle.model import (
    Assignment,
    Compartment,
    Dose,
    Event,
    Model,
    ModelError,
    Parameter,
    RateRule,
    Reaction,
    Species,
    evaluate_expression,
    expression_names,
    parse_expression,
    ureg,
)

_RESERVED = {"t", "time", "exp", "log", "sqrt", "abs", "min", "max", "pow"}
_BASE = {"litre": "liter", "metre": "meter", "second": "second", "gram": "gram",
         "kilogram": "kilogram", "mole": "mole", "item": "cell", "kelvin": "kelvin",
         "ampere": "ampere", "candela": "candela", "dimensionless": "dimensionless",
         "liter": "liter", "meter": "meter"}
_PREFIX = {-15: "femto", -12: "pico", -9: "nano", -6: "micro", -3: "milli", -2: "centi",
           -1: "deci", 0: "", 3: "kilo"}
_TIMES = {60.0: "minute", 3600.0: "hour", 86400.0: "day", 604800.0: "week"}
_FUNCTIONS = {libsbml.AST_FUNCTION_EXP: "exp", libsbml.AST_FUNCTION_LN: "log",
              libsbml.AST_FUNCTION_ABS: "abs"}
_COMPARISONS = {libsbml.AST_RELATIONAL_LT: "<", libsbml.AST_RELATIONAL_LEQ: "<=",
                libsbml.AST_RELATIONAL_GT: ">", libsbml.AST_RELATIONAL_GEQ: ">=",
                libsbml.AST_RELATIONAL_EQ: "==", libsbml.AST_RELATIONAL_NEQ: "!="}
_RELATIONS = {libsbml.AST_RELATIONAL_GEQ, libsbml.AST_RELATIONAL_GT}
_UNIT_COMPARTMENT = "sbml_unit_compartment"
_PLACEHOLDER = "sbml_placeholder_state"


class _NoUnits(Exception):
    """A unit definition that pint cannot express: import without units."""


# --------------------------------------------------------------------------------- math
class _Reader:
    def __init__(self, doc: libsbml.SBMLDocument, where: str) -> None:
        self.doc, self.sbml, self.where = doc, doc.getModel(), where
        self.names: dict[str, str] = {}
        self.with_units = True
        self.references = {ref.getId() for rx in self.sbml.getListOfReactions()
                           for ref in (*rx.getListOfReactants(), *rx.getListOfProducts())
                           if ref.isSetId()}

    def fail(self, element: str, problem: str) -> SBMLError:
        return SBMLError(self.where, f"{element}: {problem}", "immunocycle imports SBML core "
                         "models with reactions, rules, initial assignments and dosing events",
                         field=None)

    def name(self, sid: str) -> str:
        if sid not in self.names:
            name = sid
            while name in _RESERVED or keyword.iskeyword(name) or name in self.names.values():
                name += "_"
            self.names[sid] = name
        return self.names[sid]

    def expr(self, node: libsbml.ASTNode | None, element: str, local: dict | None = None,
             allow: bool = False) -> str:
        """The math as a model expression (Python syntax); ``allow``: species reference ids
        may appear (initial values computed at import)."""
        if node is None:
            raise self.fail(element, "no math")
        refs = {r: self.name(r) for r in self.references} if allow else {}
        return self._render(node, element, {**refs, **(local or {})})

    def _render(self, node, element: str, local: dict) -> str:  # noqa: C901 - one case per node
        kind = node.getType()
        args = [node.getChild(i) for i in range(node.getNumChildren())]

        def r(n):
            return f"({self._render(n, element, local)})"

        if node.isNumber():
            value = node.getValue()
            if not math.isfinite(value):
                raise self.fail(element, f"the number {value} is not finite")
            return repr(float(value))
        if kind == libsbml.AST_NAME:
            sid = node.getName()
            if sid in local:
                return local[sid]
            if self.sbml.getReaction(sid) is not None:
                raise self.fail(element, f"the reaction id {sid!r} is used in math (a reaction "
                                "rate as a symbol is not supported)")
            if sid in self.references:
                raise self.fail(element, f"the species reference {sid!r} is used in math")
            return self.name(sid)
        if kind == libsbml.AST_NAME_TIME:
            return "t"
        if kind == libsbml.AST_CONSTANT_E:
            return repr(math.e)
        if kind == libsbml.AST_CONSTANT_PI:
            return repr(math.pi)
        if kind == libsbml.AST_NAME_AVOGADRO:
            return "6.02214179e+23"  # the value SBML Level 3 fixes for its avogadro csymbol
        if kind == libsbml.AST_PLUS:
            return " + ".join(r(a) for a in args) if args else "0.0"
        if kind == libsbml.AST_TIMES:
            return " * ".join(r(a) for a in args) if args else "1.0"
        if kind == libsbml.AST_MINUS:
            return f"-{r(args[0])}" if len(args) == 1 else f"{r(args[0])} - {r(args[1])}"
        if kind == libsbml.AST_DIVIDE:
            return f"{r(args[0])} / {r(args[1])}"
        if kind in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER):
            return f"{r(args[0])} ** {r(args[1])}"
        if kind == libsbml.AST_FUNCTION_ROOT:
            degree = "2.0" if len(args) == 1 else self._render(args[0], element, local)
            return f"{r(args[-1])} ** (1.0 / ({degree}))"
        if kind == libsbml.AST_FUNCTION_LOG:
            base = "10.0" if len(args) == 1 else self._render(args[0], element, local)
            return f"log({self._render(args[-1], element, local)}, {base})"
        if kind in _FUNCTIONS:
            return f"{_FUNCTIONS[kind]}({self._render(args[0], element, local)})"
        if kind in (libsbml.AST_FUNCTION_MAX, libsbml.AST_FUNCTION_MIN) and len(args) >= 2:
            fn = "max" if kind == libsbml.AST_FUNCTION_MAX else "min"
            text = self._render(args[0], element, local)
            for a in args[1:]:
                text = f"{fn}({text}, {self._render(a, element, local)})"
            return text
        if kind == libsbml.AST_FUNCTION_PIECEWISE and args:
            # libsbml flattens piece(value, condition)... otherwise(value) into that order,
            # which is the model's piecewise(v1, c1, ..., otherwise)
            return f"piecewise({', '.join(self._render(a, element, local) for a in args)})"
        if kind in _COMPARISONS and len(args) >= 2:
            op = _COMPARISONS[kind]
            return " and ".join(f"{r(a)} {op} {r(b)}" for a, b in zip(args, args[1:], strict=False))
        # true and false as conditions (the model has no boolean constants)
        true, false = "0.0 == 0.0", "0.0 != 0.0"
        if kind in (libsbml.AST_LOGICAL_AND, libsbml.AST_LOGICAL_OR):
            op = " and " if kind == libsbml.AST_LOGICAL_AND else " or "
            empty = true if kind == libsbml.AST_LOGICAL_AND else false  # MathML's empty and/or
            return op.join(r(a) for a in args) if args else empty
        if kind == libsbml.AST_LOGICAL_NOT and len(args) == 1:
            return f"not {r(args[0])}"
        if kind == libsbml.AST_LOGICAL_XOR:
            # an odd number of true arguments, spelled out pairwise
            text = r(args[0]) if args else false
            for a in args[1:]:
                text = f"(({text}) and not {r(a)}) or (not ({text}) and {r(a)})"
            return text
        if kind in (libsbml.AST_CONSTANT_TRUE, libsbml.AST_CONSTANT_FALSE):
            return true if kind == libsbml.AST_CONSTANT_TRUE else false
        what = node.getName() or libsbml.formulaToL3String(node)
        raise self.fail(element, f"the math construct {what!r} is not supported (the model's "
                        "expressions allow + - * / ^, exp, ln, log, root, abs, min, max, "
                        "piecewise, comparisons, and, or, not, xor)")

    # ----------------------------------------------------------------- units
    def units(self, unit_id: str, element, field: str) -> str:
        """A pint unit string for an SBML unit id ('' when not declared)."""
        if not self.with_units:
            return "dimensionless"
        if not unit_id:
            return ""
        definition = self.sbml.getUnitDefinition(unit_id)
        if definition is None:
            if unit_id in _BASE:
                return _BASE[unit_id]
            raise _NoUnits(f"{field}: unknown unit {unit_id!r}")
        quantity = ureg.Quantity(1.0)
        text = []
        for u in definition.getListOfUnits():
            kind = libsbml.UnitKind_toString(u.getKind())
            if kind not in _BASE:
                raise _NoUnits(f"{field}: unit kind {kind!r}")
            factor = u.getMultiplier() * 10.0 ** u.getScale()
            quantity = quantity * (factor * ureg.Quantity(1.0, _BASE[kind])) ** u.getExponent()
            text.append((self._scaled(kind, u.getMultiplier(), u.getScale()), u.getExponent()))
        noted = _notes_units(element)
        if noted is not None and _same(noted, quantity):
            return noted
        if any(t is None for t, _ in text):
            raise _NoUnits(f"{field}: unit definition {unit_id!r} (a factor pint cannot name)")
        parts = [f"{t}" if e == 1 else f"{t}**{e:g}" for t, e in text if t != "dimensionless"]
        return " * ".join(parts) or "dimensionless"

    @staticmethod
    def _scaled(kind: str, multiplier: float, scale: int) -> str | None:
        base = _BASE[kind]
        factor = multiplier * 10.0 ** scale
        if kind == "second":
            for seconds, name in _TIMES.items():
                if abs(factor / seconds - 1.0) < 1e-12:
                    return name
        if multiplier == 1.0 and scale in _PREFIX:
            if base == "gram" and scale == 3:
                return "kilogram"
            return _PREFIX[scale] + base if base != "dimensionless" or scale == 0 else None
        return None


def _notes_units(element) -> str | None:
    if element is None or not element.isSetNotes():
        return None
    found = re.search(r"units:\s*([^<\n]+)", element.getNotesString())
    return found.group(1).strip() if found else None


def _same(text: str, quantity) -> bool:
    try:
        other = ureg.Quantity(1.0, text)
        return abs(float(other.to(quantity.units).magnitude) / quantity.magnitude - 1.0) < 1e-9
    except Exception:  # noqa: BLE001 - any pint failure means "not the same"
        return False


# --------------------------------------------------------------------------------- reading
def _document(path: Path) -> libsbml.SBMLDocument:
    where = str(path)
    if not path.is_file():
        raise SBMLError(where, "no such file")
    doc = libsbml.readSBMLFromFile(str(path))
    problems = [doc.getError(i) for i in range(doc.getNumErrors())
                if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    if problems or doc.getModel() is None:
        first = problems[0] if problems else None
        text = (f"line {first.getLine()}: {first.getShortMessage()}: "
                f"{' '.join(first.getMessage().split())[:300]}") if first else "no model element"
        raise SBMLError(where, f"not a valid SBML file ({text})")
    props = libsbml.ConversionProperties()
    props.addOption("expandFunctionDefinitions", True)
    if doc.getModel().getNumFunctionDefinitions() and \
            doc.convert(props) != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise SBMLError(where, "function definitions could not be expanded")
    return doc


def _refuse_unsupported(reader: _Reader) -> None:
    m = reader.sbml
    event_set = {ea.getVariable() for ev in m.getListOfEvents()
                 for ea in ev.getListOfEventAssignments()}
    for i in range(m.getNumRules()):
        rule = m.getRule(i)
        if rule.isAlgebraic():
            raise reader.fail("algebraicRule", "algebraic rules are not supported")
    for i in range(m.getNumReactions()):
        rx = m.getReaction(i)
        if rx.isSetFast() and rx.getFast():
            raise reader.fail(f"reaction {rx.getId()!r}", "fast reactions are not supported")
        if not rx.isSetKineticLaw():
            raise reader.fail(f"reaction {rx.getId()!r}", "no kinetic law")
        for ref in (*rx.getListOfReactants(), *rx.getListOfProducts()):
            if ref.isSetStoichiometryMath():
                raise reader.fail(f"reaction {rx.getId()!r}", "stoichiometryMath is not "
                                  "supported")
            if ref.isSetId() and (m.getRule(ref.getId()) is not None
                                  or ref.getId() in event_set):
                raise reader.fail(f"reaction {rx.getId()!r}", f"variable stoichiometry "
                                  f"{ref.getId()!r} is not supported")
    if m.getNumConstraints():
        raise reader.fail("constraint", "constraints are not supported")
    for i in range(m.getNumEvents()):
        ev = m.getEvent(i)
        if ev.isSetDelay():
            raise reader.fail(f"event {ev.getId() or i!r}", "event delays are not supported")


def read_sbml(path: str | Path) -> Model:
    """Read an SBML file into a :class:`~immunocycle.model.Model` (see the module docstring).

    Parameters
    ----------
    path : str or path
        An SBML Level 2 or 3 file.

    Returns
    -------
    Model
        Checked (names, references and units).

    Raises
    ------
    SBMLError
        If the file is missing or not valid SBML, or uses a construct the model cannot express
        (the message names the element and its id).
    ModelError
        If the mapped model is invalid (a negative initial value, an unknown name).
    """
    path = Path(path)
    doc = _document(path)
    reader = _Reader(doc, str(path))
    _refuse_unsupported(reader)
    try:
        return _build_any(reader, path)
    except _NoUnits as exc:
        reason = str(exc)
    except ModelError as exc:
        if "units" not in exc.problem and "units" not in (exc.field or ""):
            raise
        reason = exc.problem
    warnings.warn(f"{path}: imported without units ({reason})", stacklevel=2)
    reader.with_units = False
    return _build_any(reader, path)


from_sbml = read_sbml


def _build_any(reader: _Reader, path: Path) -> Model:
    """Dosing events as doses (the batched engine's fast path) where every event is one; else
    the events that are not boluses as general events (:class:`Event`, root-found)."""
    try:
        return _build(reader, path)
    except SBMLError:
        if not reader.sbml.getNumEvents():
            raise
    return _build(reader, path, general=True)


def _build(reader: _Reader, path: Path, general: bool = False) -> Model:  # noqa: C901
    """The model of the SBML document, one pass per SBML list. ``general``: events other than
    boluses into species become :class:`Event` and the parameters they assign, states."""
    m, n = reader.sbml, reader.name
    boluses, others = _split_events(reader) if general else (None, [])
    event_params = {ea.getVariable() for ev in others for ea in ev.getListOfEventAssignments()
                    if m.getParameter(ea.getVariable()) is not None}
    time_units = reader.units(m.getTimeUnits(), None, "timeUnits") or "dimensionless"
    name = m.getId() or m.getName() or path.stem
    model = Model(name, time_units, source=str(path), description=m.getName())
    rules = {m.getRule(i).getVariable(): m.getRule(i) for i in range(m.getNumRules())}
    initial = {ia.getSymbol(): ia for ia in m.getListOfInitialAssignments()}
    values = _initial_values(reader, initial, str(path))  # parameters and compartments

    def value_of(sid: str, default: float, field: str) -> float:
        return values[sid] if sid in initial else default

    def u(unit_id, element, field, fallback=""):
        return reader.units(unit_id, element, field) or reader.units(fallback, None, field) \
            or "dimensionless"

    # parameters (rate-ruled ones become species in a unit compartment, below)
    rate_params = []
    for p in m.getListOfParameters():
        sid, field = p.getId(), f"parameter {p.getId()!r}"
        units = u(p.getUnits(), p, field)
        rule = rules.get(sid)
        if rule is not None and rule.isAssignment():
            model.add(Assignment(n(sid), reader.expr(rule.getMath(), field), units, p.getName()))
            continue
        value = value_of(sid, p.getValue() if p.isSetValue() else math.nan, field)
        if rule is not None and rule.isRate() or sid in event_params:
            rate_params.append((sid, value, units, p.getName()))  # a state (events change it)
            continue
        model.add(Parameter(n(sid), value, units, p.getName(), _source(p)))
    for rx in m.getListOfReactions():
        kl = rx.getKineticLaw()
        for lp in kl.getListOfParameters():
            field = f"reaction {rx.getId()!r} local parameter {lp.getId()!r}"
            model.add(Parameter(n(f"{rx.getId()}_{lp.getId()}"), lp.getValue(),
                                u(lp.getUnits(), lp, field), lp.getName(), _source(lp)))
    # compartments
    volumes: dict[str, str] = {}  # compartments whose size has a rate rule -> model name
    for c in m.getListOfCompartments():
        sid, field = c.getId(), f"compartment {c.getId()!r}"
        units = u(c.getUnits(), c, field, m.getVolumeUnits() if c.getSpatialDimensions() == 3
                  else "")
        rule = rules.get(sid)
        if rule is not None and rule.isRate():
            # the size is a state (an amount species in the unit compartment, named as the
            # compartment) and the compartment ``<id>_size`` follows it
            size = value_of(sid, c.getSize() if c.isSetSize() else 1.0, field)
            rate_params.append((sid, size, units, c.getName()))
            volumes[sid] = f"{n(sid)}_size"
            model.add(Compartment(volumes[sid], n(sid), units, c.getName()))
            continue
        if rule is not None:
            size: float | str = reader.expr(rule.getMath(), field)
            if _symbols(size, model) <= set(model.parameters):
                # constant in time: a number, so concentration species may live in it (it
                # follows its parameters at import, as an initial assignment does)
                size = _constant(size, model, values, reader)
                values[sid] = size  # species amounts convert with this size
        else:
            size = value_of(sid, c.getSize() if c.isSetSize() else 1.0, field)
        model.add(Compartment(n(sid), size, units, c.getName()))
    if rate_params:
        model.add(Compartment(_UNIT_COMPARTMENT, 1.0, "dimensionless"))
    # species
    for s in m.getListOfSpecies():
        sid, field = s.getId(), f"species {s.getId()!r}"
        comp = m.getCompartment(s.getCompartment())
        # A 0-D compartment has no size to divide by; an L3 compartment whose spatialDimensions
        # is unset (no value assumed, L3V2 4.5.2) still has one: its species are concentrations.
        amount = s.getHasOnlySubstanceUnits() or (comp.isSetSpatialDimensions()
                                                  and comp.getSpatialDimensions() == 0)
        substance = u(s.getSubstanceUnits(), s, field, m.getSubstanceUnits())
        if not amount:
            volume = model.compartments[volumes.get(comp.getId(), n(comp.getId()))].units
            substance = f"({substance}) / ({volume})"
        rule = rules.get(sid)
        if rule is not None and rule.isAssignment():
            model.add(Assignment(n(sid), reader.expr(rule.getMath(), field), substance,
                                 s.getName()))
            continue
        start: float | str
        if sid in initial:
            start = reader.expr(initial[sid].getMath(), f"initialAssignment {sid!r}")
        elif s.isSetInitialConcentration():
            start = s.getInitialConcentration()
            if amount:
                start = f"{start!r} * {n(comp.getId())}"
        else:
            start = s.getInitialAmount() if s.isSetInitialAmount() else 0.0
            if not amount:
                start = f"{start!r} / {n(comp.getId())}"
        if isinstance(start, str):
            start = _constant(start, model, values, reader) if sid not in initial else start
        model.add(Species(n(sid), volumes.get(comp.getId(), n(comp.getId())), start, substance,
                          bool(amount), s.getName()))
    _species_in_initials(reader, model)
    for sid, value, units, label in rate_params:
        model.add(Species(n(sid), _UNIT_COMPARTMENT, value, units, True, label))
    # rate rules
    for target, rule in rules.items():
        if rule.isRate():
            model.add(RateRule(n(target), reader.expr(rule.getMath(), f"rateRule {target!r}")))
    # reactions
    fixed = {s.getId() for s in m.getListOfSpecies()
             if s.getBoundaryCondition() or s.getConstant() or s.getId() in rules}
    for rx in m.getListOfReactions():
        field = f"reaction {rx.getId()!r}"
        local = {lp.getId(): n(f"{rx.getId()}_{lp.getId()}")
                 for lp in rx.getKineticLaw().getListOfParameters()}
        rate = reader.expr(rx.getKineticLaw().getMath(), field, local)
        stoichiometry: dict[str, float] = {}
        for sign, refs in ((-1.0, rx.getListOfReactants()), (1.0, rx.getListOfProducts())):
            for ref in refs:
                if ref.getSpecies() in fixed:
                    continue
                coef = ref.getStoichiometry() if ref.isSetStoichiometry() or \
                    m.getLevel() < 3 else 1.0
                if ref.isSetId() and ref.getId() in initial:
                    coef = values[ref.getId()]  # a constant computed by its initial assignment
                key = n(ref.getSpecies())
                stoichiometry[key] = stoichiometry.get(key, 0.0) + sign * coef
        model.add(Reaction(n(rx.getId()), rate, stoichiometry, rx.getName()))
    _events(reader, model, boluses)
    for ev in others:
        model.add(_general_event(reader, model, ev))
    if not model.species:
        # Every value is set by rules: one constant placeholder state lets the engine step
        # through time and evaluate them (it integrates at least one state).
        if _UNIT_COMPARTMENT not in model.compartments:
            model.add(Compartment(_UNIT_COMPARTMENT, 1.0, "dimensionless"))
        model.add(Species(_PLACEHOLDER, _UNIT_COMPARTMENT, 0.0, "dimensionless", True,
                          "placeholder state: every value of the SBML model is set by rules"))
    model.check()
    return model


def _initial_values(reader: _Reader, initial: dict, where: str) -> dict[str, float]:
    """Start values of parameters, compartments and species (SBML's meaning), the initial
    assignments of parameters and compartments computed in the order they depend on each other."""
    m, n = reader.sbml, reader.name
    values: dict[str, float] = {}
    for p in m.getListOfParameters():
        values[p.getId()] = p.getValue() if p.isSetValue() else math.nan
    for c in m.getListOfCompartments():
        values[c.getId()] = c.getSize() if c.isSetSize() else 1.0
    for s in m.getListOfSpecies():
        size = values.get(s.getCompartment(), 1.0)
        if s.isSetInitialAmount():
            amount = s.getInitialAmount()
            values[s.getId()] = amount if s.getHasOnlySubstanceUnits() else amount / size
        else:
            conc = s.getInitialConcentration() if s.isSetInitialConcentration() else 0.0
            values[s.getId()] = conc * size if s.getHasOnlySubstanceUnits() else conc
    for rx in m.getListOfReactions():  # constant stoichiometries (an initial assignment may
        for ref in (*rx.getListOfReactants(), *rx.getListOfProducts()):  # compute them)
            if ref.isSetId():
                values[ref.getId()] = ref.getStoichiometry() if ref.isSetStoichiometry() else 1.0
    pending = {sid: reader.expr(ia.getMath(), f"initialAssignment {sid!r}", allow=True)
               for sid, ia in initial.items()
               if m.getParameter(sid) is not None or m.getCompartment(sid) is not None
               or sid in reader.references}
    reverse = {n(k): k for k in values}
    while pending:
        done = []
        for sid, text in pending.items():
            tree = parse_expression(text, where, f"initialAssignment {sid!r}")
            if any(reverse.get(x) in pending for x in expression_names(tree)):
                continue
            try:
                values[sid] = float(evaluate_expression(tree, {n(k): v for k, v in values.items()}))
            except (KeyError, ArithmeticError, ValueError, TypeError) as exc:
                raise reader.fail(f"initialAssignment {sid!r}", f"cannot be computed from the "
                                  f"model's values ({type(exc).__name__}: {exc})") from None
            done.append(sid)
        if not done:
            raise reader.fail("initialAssignment", f"circular: {', '.join(sorted(pending))}")
        for sid in done:
            del pending[sid]
    return values


def _species_in_initials(reader: _Reader, model: Model) -> None:
    """Initial expressions that use other species or rule-defined values get those values (or
    expressions) written in: the engine evaluates initial values from parameters only."""
    for _ in range(len(model.species) + 1):
        changed = False
        for sp in list(model.species.values()):
            if not isinstance(sp.initial, str):
                continue
            derived = {a.name: a.expression for a in model.assignments.values()}
            derived.update({c.name: c.size for c in model.compartments.values()
                            if isinstance(c.size, str)})
            used = _symbols(sp.initial, model) & (set(model.species) | set(derived))
            text = sp.initial
            for other in used:
                value = model.species[other].initial if other in model.species \
                    else derived[other]
                text = re.sub(rf"\b{re.escape(other)}\b", f"({value})", text)
            if "t" in _symbols(text, model):  # an initial value is the value at time 0
                text, used = re.sub(r"\bt\b", "0.0", text), used | {"t"}
            if used:
                model.species[sp.name] = Species(sp.name, sp.compartment, text, sp.units,
                                                 sp.amount, sp.description)
                changed = True
        if not changed:
            return
    raise reader.fail("initialAssignment", "species initial values depend on each other in a "
                      "circle")


def _constant(text: str, model: Model, values: dict, reader: _Reader) -> float:
    env = {reader.name(k): v for k, v in values.items()}
    return float(evaluate_expression(parse_expression(text, model.source, "initial"), env))


def _source(element) -> str:
    """The ``source:`` line of an element's notes (as :func:`to_sbml` writes), else ''."""
    if not element.isSetNotes():
        return ""
    found = re.search(r"source:\s*([^<\n]+)", element.getNotesString())
    return found.group(1).strip() if found else ""


# --------------------------------------------------------------------------------- events
def _is_bolus(reader: _Reader, ev) -> bool:
    """``S = S + amount`` into species at a fixed time, for every assignment of ``ev``."""
    m = reader.sbml
    try:
        if _trigger_time(ev, reader, "event") is None:
            return False
    except SBMLError:
        return False
    for ea in ev.getListOfEventAssignments():
        var, node = ea.getVariable(), ea.getMath()
        if not (m.getSpecies(var) is not None and node is not None
                and node.getType() == libsbml.AST_PLUS and node.getNumChildren() == 2
                and node.getChild(0).getType() == libsbml.AST_NAME
                and node.getChild(0).getName() == var):
            return False
    return ev.getNumEventAssignments() > 0


def _split_events(reader: _Reader) -> tuple[list, list]:
    """(boluses, other events) of the document, in document order."""
    events = list(reader.sbml.getListOfEvents())
    return ([ev for ev in events if _is_bolus(reader, ev)],
            [ev for ev in events if not _is_bolus(reader, ev)])


def _general_event(reader: _Reader, model: Model, ev) -> Event:
    """An SBML event (no delay) as an :class:`Event`; it may assign species and parameters
    (made states), not compartments or stoichiometries."""
    m, label = reader.sbml, f"event {ev.getId()!r}"
    trig = ev.getTrigger()
    if trig is None or trig.getMath() is None:
        raise reader.fail(label, "the event has no trigger")
    assignments = []
    for ea in ev.getListOfEventAssignments():
        var = ea.getVariable()
        if m.getSpecies(var) is None and m.getParameter(var) is None:
            raise reader.fail(label, f"the assignment to {var!r}: only species and parameters "
                              "can be assigned by events here (not compartments or "
                              "stoichiometries)")
        assignments.append((reader.name(var), reader.expr(ea.getMath(), label)))
    level2 = m.getLevel() < 3
    priority = ev.getPriority() if ev.isSetPriority() else None
    return Event(reader.name(ev.getId()) if ev.getId() else f"event_{len(model.events)}",
                 reader.expr(trig.getMath(), label), tuple(assignments),
                 priority=reader.expr(priority.getMath(), label) if priority is not None and
                 priority.getMath() is not None else None,
                 persistent=True if level2 else bool(trig.getPersistent()),
                 initial_value=True if level2 else bool(trig.getInitialValue()),
                 use_values_from_trigger_time=bool(ev.getUseValuesFromTriggerTime())
                 if ev.isSetUseValuesFromTriggerTime() or not level2 else True)


def _events(reader: _Reader, model: Model, events: list | None = None) -> None:
    """Dosing events as doses: boluses ``S = S + a`` and infusion on/off pairs (``events``:
    these only; default every event of the document)."""
    m = reader.sbml
    infusions: dict[str, list[tuple[float, float, str]]] = {}  # parameter -> (time, sign, rate)
    for i, ev in enumerate(m.getListOfEvents() if events is None else events):
        label = f"event {ev.getId() or i!r}"
        when = _trigger_time(ev, reader, label)
        if when is None:
            continue  # true at the start with initialValue true: never fires
        for ea in ev.getListOfEventAssignments():
            var, node = ea.getVariable(), ea.getMath()
            plus = node is not None and node.getType() in (libsbml.AST_PLUS, libsbml.AST_MINUS) \
                and node.getNumChildren() == 2 and node.getChild(0).getType() == libsbml.AST_NAME \
                and node.getChild(0).getName() == var
            if not plus:
                raise reader.fail(label, f"the assignment to {var!r} is not a dose "
                                  f"({var} = {var} + amount): only dosing events are supported")
            sign = 1.0 if node.getType() == libsbml.AST_PLUS else -1.0
            delta = node.getChild(1)
            species = m.getSpecies(var)
            if species is not None and sign > 0:
                model.add(_bolus(reader, model, var, delta, when, label, ev.getId() or str(i)))
            elif m.getParameter(var) is not None and not m.getParameter(var).getConstant():
                infusions.setdefault(var, []).append(
                    (when, sign, reader.expr(delta, label), delta))
            else:
                raise reader.fail(label, f"the assignment to {var!r} is not a dose "
                                  "(an amount added to a species)")
    for pid, changes in infusions.items():
        _infusion(reader, model, pid, changes)
    # one dose per (target, amount, duration, name) with all its times, as the model writes it
    merged: dict[tuple, list[float]] = {}
    for d in model.doses:
        merged.setdefault((d.target, d.amount, d.duration, d.name), []).extend(d.times)
    model.doses = [Dose(target, amount, tuple(sorted(times)), duration, name)
                   for (target, amount, duration, name), times in merged.items()]


def _trigger_time(ev, reader: _Reader, label: str) -> float | None:
    trig = ev.getTrigger()
    node = trig.getMath() if trig is not None else None
    ok = node is not None and node.getType() in _RELATIONS and node.getNumChildren() == 2 \
        and node.getChild(0).getType() == libsbml.AST_NAME_TIME and node.getChild(1).isNumber()
    if not ok:
        text = libsbml.formulaToL3String(node) if node is not None else "none"
        raise reader.fail(label, f"the trigger {text!r} is not a dose time (time >= number)")
    when = float(node.getChild(1).getValue())
    initial_true = trig.isSetInitialValue() and trig.getInitialValue()
    if when < 0 or (when == 0 and node.getType() == libsbml.AST_RELATIONAL_GEQ):
        return None if initial_true or when < 0 else 0.0
    return when


def _bolus(reader, model, var, delta, when, label, eid) -> Dose:
    sp = model.species[reader.name(var)]
    comp = sp.compartment
    if not sp.amount and delta.getType() == libsbml.AST_DIVIDE and \
            delta.getChild(1).getType() == libsbml.AST_NAME and \
            reader.name(delta.getChild(1).getName()) == comp:
        amount = reader.expr(delta.getChild(0), label)  # (amount) / volume, as to_sbml writes
    else:
        amount = reader.expr(delta, label)
        if not sp.amount:
            size = model.compartments[comp].size
            if isinstance(size, str):
                raise reader.fail(label, f"a dose into {var!r}, whose volume varies")
            amount = f"({amount}) * {size!r}"
    return Dose(sp.name, _number_or_text(amount), (when,), 0.0, re.sub(r"_\d+$", "", eid))


def _number_or_text(text: str) -> float | str:
    try:
        return float(evaluate_expression(parse_expression(text, "", "amount"), {}))
    except (KeyError, ValueError, TypeError, ArithmeticError, ModelError):
        return text


def _infusion(reader: _Reader, model: Model, pid: str, changes) -> None:
    """Replace an event-driven input parameter by infusion doses into the species it feeds."""
    name = reader.name(pid)
    label = f"parameter {pid!r}"
    target = None
    for r in list(model.reactions.values()):
        if name in _symbols(r.rate, model):
            if r.rate.strip("() ") != name or list(r.stoichiometry.values()) != [1.0]:
                raise reader.fail(label, "set by events but not a simple input (reaction rate)")
            target = next(iter(r.stoichiometry))
            del model.reactions[r.name]
    for r in list(model.rate_rules.values()):
        if name in _symbols(r.expression, model):
            if target is not None:
                raise reader.fail(label, "set by events and feeding two species")
            target = r.target
            _check_additive(reader, model, r.expression, name, target, label)
            model.rate_rules[r.target] = RateRule(r.target, _without(r.expression, name))
    others = [a.name for a in model.assignments.values() if name in _symbols(a.expression, model)]
    if target is None or others:
        raise reader.fail(label, "set by events but not an input into one species")
    starts = sorted((c for c in changes if c[1] > 0), key=lambda c: c[0])
    ends = sorted((c for c in changes if c[1] < 0), key=lambda c: c[0])
    if len(starts) != len(ends):
        raise reader.fail(label, "its events do not pair into infusion starts and ends")
    for (t0, _, rate, node), (t1, _, rate1, _) in zip(starts, ends, strict=True):
        if rate != rate1 or t1 <= t0:
            raise reader.fail(label, "its events do not pair into infusion starts and ends")
        duration = t1 - t0
        amount = f"({rate}) * {duration!r}"  # the rate is an amount per time, as the dose
        if node.getType() == libsbml.AST_DIVIDE and node.getChild(1).isNumber() and \
                abs(node.getChild(1).getValue() - duration) <= 1e-9 * max(1.0, t1):
            # amount / duration, as to_sbml writes it: keep both exact (no round-off in t1 - t0)
            duration = float(node.getChild(1).getValue())
            amount = reader.expr(node.getChild(0), label)
        model.add(Dose(target, _number_or_text(amount), (t0,), duration,
                       re.sub(r"^inf_", "", name)))
    del model.parameters[name]


def _check_additive(reader, model: Model, text: str, name: str, target: str, label: str) -> None:
    """Refuse unless ``text`` is ``rest + name`` (amount species) or ``rest + name / volume``."""
    tree = parse_expression(text, model.source, f"rate_rules.{target}")
    env = {s: 1.0 + 0.37 * k for k, s in enumerate(sorted(_symbols(text, model)))}
    volume = model.species[target].compartment
    per = 1.0 if model.species[target].amount else 1.0 / env.get(volume, math.nan)
    values = []
    for x in (0.0, 1.0, 2.0):
        env[name] = x
        values.append(float(evaluate_expression(tree, env)))
    if not (math.isclose(values[1] - values[0], per, rel_tol=1e-9)
            and math.isclose(values[2] - values[0], 2 * per, rel_tol=1e-9)):
        raise reader.fail(label, f"set by events but not an input added to the rate of {target!r}")


def _symbols(text: str, model: Model) -> set[str]:
    return expression_names(parse_expression(text, model.source, "expression"))


def _without(text: str, name: str) -> str:
    """``text`` with the symbol ``name`` set to 0 (it enters additively, checked by the caller)."""
    return re.sub(rf"\b{re.escape(name)}\b", "0.0", text)


__all__ = ["from_sbml", "read_sbml"]
