"""Export a :class:`~immunocycle.model.Model` to SBML Level 3 Version 2 (python-libsbml).

The exported document reproduces the engine's semantics:

* species with ``amount=True`` have ``hasOnlySubstanceUnits=true``; the others are
  concentrations, which SBML reactions change by rate / compartment size, as the engine does;
* rate rules, assignments (as non-constant parameters with assignment rules) and compartments
  whose size is an expression (assignment rules) map one to one;
* each bolus administration is an event ``time >= t`` adding the amount to its target (divided by
  the compartment size for a concentration species);
* each infusion dose is a parameter ``inf_<dose>`` (amount per time) feeding its target, through
  a reaction without reactants or through the target's rate rule, raised by ``amount/duration``
  by an event at each start and lowered by the same at each end (increments, so overlapping
  administrations add up as in the engine).

Expressions are the model's Python syntax; they are rewritten to SBML L3 infix (``**`` becomes
``^``, ``log`` becomes ``ln``, ``t`` becomes ``time``) and parsed with ``libsbml``, with the model
set on the parser so that a symbol called ``e`` or ``pi`` stays a symbol.
"""

from __future__ import annotations

import ast
import html
import math
import re
from pathlib import Path

import libsbml
import pint

from immunocycle._errors import InputError
from immunocycle.model import (
    Model,
    ModelError,
    expression_names,
    parse_expression,
    parse_units,
    ureg,
)

LEVEL, VERSION = 3, 2
_XHTML = "http://www.w3.org/1999/xhtml"
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}
_L3_COMPARE = {ast.Lt: "lt", ast.LtE: "leq", ast.Gt: "gt", ast.GtE: "geq", ast.Eq: "eq", ast.NotEq: "neq"}
# Dimension -> SBML base unit kind and the pint unit whose multiple it is.
_KINDS = (
    ("second", libsbml.UNIT_KIND_SECOND),
    ("gram", libsbml.UNIT_KIND_GRAM),
    ("liter", libsbml.UNIT_KIND_LITRE),
    ("meter", libsbml.UNIT_KIND_METRE),
    ("mole", libsbml.UNIT_KIND_MOLE),
    ("cell", libsbml.UNIT_KIND_ITEM),
    ("kelvin", libsbml.UNIT_KIND_KELVIN),
    ("ampere", libsbml.UNIT_KIND_AMPERE),
    ("candela", libsbml.UNIT_KIND_CANDELA),
)
_BASE_KINDS = {"meter": libsbml.UNIT_KIND_METRE, "kilogram": libsbml.UNIT_KIND_KILOGRAM,
               "second": libsbml.UNIT_KIND_SECOND, "mole": libsbml.UNIT_KIND_MOLE,
               "cell": libsbml.UNIT_KIND_ITEM, "kelvin": libsbml.UNIT_KIND_KELVIN,
               "ampere": libsbml.UNIT_KIND_AMPERE, "candela": libsbml.UNIT_KIND_CANDELA}
_TIME_NAMES = {"second", "minute", "hour", "day", "week", "year", "month"}
# SBO terms: ordinary differential equation model, quantitative systems description parameter,
# physical compartment, material entity, process.
_SBO_MODEL, _SBO_PARAMETER, _SBO_COMPARTMENT, _SBO_SPECIES, _SBO_PROCESS = 62, 2, 290, 240, 375


# --------------------------------------------------------------------------------- formulas
def to_l3_infix(text: str | float, where: str = "", field: str = "") -> str:
    """Rewrite a model expression (Python syntax) as SBML Level 3 infix.

    Every compound operand is parenthesised, so Python's precedence (``-x**2`` is ``-(x**2)``,
    ``**`` associates to the right) carries over whatever the L3 grammar's rules are.

    Parameters
    ----------
    text : str or float
        The expression, or a number.
    where, field : str
        Named in the error if ``text`` is not a valid model expression.

    Returns
    -------
    str

    Raises
    ------
    ModelError
        If ``text`` is not a valid model expression.

    >>> to_l3_infix("-k * x**2 / log(y) + t")
    '(((-k) * (x ^ 2)) / ln(y)) + time'
    """
    if not isinstance(text, str):
        return _number(float(text))
    return _render(parse_expression(text, where, field).body)


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "(-INF)"
    return repr(float(value)) if value >= 0 else f"({value!r})"


def _render(node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        # Integers stay integers (MathML type="integer"), so x**2 is x^2, not x^2.0.
        return str(node.value) if isinstance(node.value, int) else _number(node.value)
    if isinstance(node, ast.Name):
        return "time" if node.id == "t" else node.id
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            return f"not({_render(node.operand)})"
        inner = _wrap(node.operand)
        return f"-{inner}" if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp):
        return f"{_wrap(node.left)} {_OPS[type(node.op)]} {_wrap(node.right)}"
    if isinstance(node, ast.Call):
        name, args = node.func.id, [_render(a) for a in node.args]
        if name == "pow":
            return f"{_wrap(node.args[0])} ^ {_wrap(node.args[1])}"
        if name == "log":
            # Python's log(x) is natural, L3's log(x) is base 10; log(x, b) is log base b.
            return f"ln({args[0]})" if len(args) == 1 else f"(ln({args[0]}) / ln({args[1]}))"
        return f"{name}({', '.join(args)})"
    if isinstance(node, ast.Compare):  # a chain a < b < c is and(lt(a, b), lt(b, c))
        operands = [node.left, *node.comparators]
        parts = [f"{_L3_COMPARE[type(op)]}({_render(a)}, {_render(b)})"
                 for op, a, b in zip(node.ops, operands, operands[1:], strict=False)]
        return parts[0] if len(parts) == 1 else f"and({', '.join(parts)})"
    if isinstance(node, ast.BoolOp):
        name = "and" if isinstance(node.op, ast.And) else "or"
        return f"{name}({', '.join(_render(v) for v in node.values)})"
    raise TypeError(f"unexpected expression node {type(node).__name__}")  # parse_expression forbids it


def _wrap(node: ast.AST) -> str:
    text = _render(node)
    simple = isinstance(node, ast.Name | ast.Call) or (
        isinstance(node, ast.Constant) and float(node.value) >= 0 and math.isfinite(node.value))
    return text if simple else f"({text})"


def _settings() -> libsbml.L3ParserSettings:
    settings = libsbml.L3ParserSettings()
    settings.setParseUnits(False)  # "2 mg" would otherwise be a number with units
    settings.setParseLog(libsbml.L3P_PARSE_LOG_AS_LN)
    return settings


def _parse_l3(infix: str, settings, where: str, field: str, text) -> libsbml.ASTNode:
    node = libsbml.parseL3FormulaWithSettings(infix, settings)
    if node is None:
        shown = repr(text) if text == infix else f"{text!r} (as SBML infix {infix!r})"
        raise ModelError(where, field, f"cannot convert {shown} to SBML math: "
                         f"{libsbml.getLastParseL3Error().strip()}")
    return node


def sbml_math(text: str | float, where: str = "", field: str = "",
              settings: libsbml.L3ParserSettings | None = None) -> libsbml.ASTNode:
    """A model expression (Python syntax) as a libsbml math tree.

    Parameters
    ----------
    text : str or float
    where, field : str
        Named in the error message.
    settings : libsbml.L3ParserSettings, optional
        Parser settings; the exporter passes settings bound to the model being written, so that
        model symbols shadow L3 constants (a parameter ``e`` is not Euler's number).

    Raises
    ------
    ModelError
        If ``text`` is not a valid model expression or libsbml cannot parse its translation (for
        example a non-ASCII symbol name); the error names ``field``.
    """
    return _parse_l3(to_l3_infix(text, where, field), settings or _settings(), where, field, text)


class _Writer:
    """Builds one SBML document from one model; holds the parser settings and unit table."""

    def __init__(self, model: Model):
        self.model = model
        self.where = model.source
        self.doc = libsbml.SBMLDocument(LEVEL, VERSION)
        self.sbml = self.doc.createModel()
        self.settings = _settings()
        self.settings.setModel(self.sbml)  # model ids take precedence over constants (e, pi)
        self.units: dict[str, str] = {}   # canonical pint units -> unit definition id
        self.ids: set[str] = set()

    # ---------------------------------------------------------------- helpers
    def check(self, code: int, what: str) -> None:
        if code != libsbml.LIBSBML_OPERATION_SUCCESS:
            raise ModelError(self.where, what, f"libsbml refused it: "
                             f"{libsbml.OperationReturnValue_toString(code)}")

    def new_id(self, sid: str, field: str) -> str:
        if not libsbml.SyntaxChecker.isValidSBMLSId(sid):
            raise ModelError(self.where, field, f"{sid!r} is not a valid SBML identifier "
                             "(ASCII letters, digits and _, not starting with a digit)")
        if sid in self.ids:
            raise ModelError(self.where, field, f"identifier {sid!r} is already used in the "
                             "SBML export (rename the part or the dose)")
        self.ids.add(sid)
        return sid

    def parse(self, infix: str, field: str) -> libsbml.ASTNode:
        """Parse L3 infix written by the exporter itself (event triggers and assignments)."""
        return _parse_l3(infix, self.settings, self.where, field, infix)

    def set_math(self, element, text: str | float, field: str) -> None:
        """Set ``element``'s math from a model expression (Python syntax)."""
        self.check(element.setMath(sbml_math(text, self.where, field, self.settings)), field)

    def notes(self, element, field: str, **entries: str) -> None:
        lines = [f"<p>{key}: {html.escape(str(val))}</p>" for key, val in entries.items() if val]
        if lines:
            self.check(element.setNotes(f'<body xmlns="{_XHTML}">{"".join(lines)}</body>'),
                       f"{field} (notes)")

    def annotate(self, element, field: str, sbo: int, source: str = "") -> None:
        """An SBO term, and MIRIAM references (identifiers.org) for the DOIs and BioModels ids
        named in ``source``: ``bqmodel:isDescribedBy`` / ``isDerivedFrom`` on the model,
        ``bqbiol:isDescribedBy`` on other elements."""
        self.check(element.setSBOTerm(sbo), f"{field} (sboTerm)")
        dois = sorted(set(re.findall(r"\b(10\.\d{4,9}/[^\s;,()]+[^\s;,().])", source)))
        models = sorted(set(re.findall(r"\b(BIOMD\d{10})\b", source)))
        if not dois and not models:
            return
        if not element.isSetMetaId():
            self.check(element.setMetaId(f"meta_{element.getId()}"), f"{field} (metaid)")
        is_model = isinstance(element, libsbml.Model)
        for qualifier, urls in (
                (libsbml.BQM_IS_DESCRIBED_BY if is_model else libsbml.BQB_IS_DESCRIBED_BY,
                 [f"https://identifiers.org/doi:{d}" for d in dois]),
                (libsbml.BQM_IS_DERIVED_FROM if is_model else libsbml.BQB_IS_DESCRIBED_BY,
                 [f"https://identifiers.org/biomodels.db:{b}" for b in models])):
            if not urls:
                continue
            term = libsbml.CVTerm(libsbml.MODEL_QUALIFIER if is_model
                                  else libsbml.BIOLOGICAL_QUALIFIER)
            if is_model:
                term.setModelQualifierType(qualifier)
            else:
                term.setBiologicalQualifierType(qualifier)
            for url in urls:
                term.addResource(url)
            self.check(element.addCVTerm(term), f"{field} (annotation)")

    def unit_id(self, units: str | pint.Unit, field: str) -> str | None:
        """Id of a unit definition for ``units`` (made on first use); None if not expressible."""
        unit = parse_units(units, self.where, field) if isinstance(units, str) else units
        if unit.dimensionless and not dict(unit._units):
            return "dimensionless"
        key = str(unit)
        if key in self.units:
            return self.units[key]
        factors = _sbml_factors(unit)
        if factors is None:
            return None
        sid = _unit_sid(unit)
        if len(factors) == 1 and factors[0][1:] == (1.0, 0, 1.0):
            kind_name = libsbml.UnitKind_toString(factors[0][0])
            if sid == kind_name or libsbml.UnitKind_forName(sid) == factors[0][0]:
                self.units[key] = kind_name  # exactly a base unit (second, litre): no definition
                return kind_name
        # Unit ids live in their own namespace but may not be base unit names.
        if libsbml.UnitKind_forName(sid) != libsbml.UNIT_KIND_INVALID:
            sid = f"u_{sid}"
        while sid in self.units.values():  # two spellings of one id (pathological)
            sid = f"{sid}_"
        definition = self.sbml.createUnitDefinition()
        definition.setId(sid)
        definition.setName(str(unit))
        for kind, exponent, scale, multiplier in factors:
            u = definition.createUnit()
            u.setKind(kind)
            u.setExponent(float(exponent))
            u.setScale(int(scale))
            u.setMultiplier(float(multiplier))
        self.units[key] = sid
        return sid

    def set_units(self, element, units: str | pint.Unit, field: str, setter: str = "setUnits"):
        sid = self.unit_id(units, field)
        if sid is not None:
            self.check(getattr(element, setter)(sid), field)

    # ---------------------------------------------------------------- the document
    def write(self) -> libsbml.SBMLDocument:
        m, model = self.sbml, self.model
        model.check()
        model_id = re.sub(r"\W", "_", model.name, flags=re.ASCII) or "model"
        m.setId(model_id if not model_id[0].isdigit() else f"m_{model_id}")
        m.setName(model.name)
        self.notes(m, "model", description=model.description.strip(), source=model.source.strip())
        # the model's citations: its own text and the BioModels entries its parameters cite
        cited = " ".join([model.description, model.source,
                          *(b for p in model.parameters.values()
                            for b in re.findall(r"BIOMD\d{10}", p.source))])
        self.annotate(m, "model", _SBO_MODEL, cited)
        self.set_units(m, model.time_units, "time_units", "setTimeUnits")
        self.time_unit = self.unit_id(model.time_units, "time_units") or "dimensionless"
        amount_units = {str(model.amount_units(s)) for s in model.species}
        if len(amount_units) == 1:  # one amount unit: it is the model's substance and extent
            only = model.amount_units(next(iter(model.species)))
            self.set_units(m, only, "species units", "setSubstanceUnits")
            self.set_units(m, only, "species units", "setExtentUnits")
        # Ids first, so that expressions parsed later see every symbol as a model symbol.
        for name, p in model.parameters.items():
            self.parameter(name, p)
        for name, c in model.compartments.items():
            self.compartment(name, c)
        for name, s in model.species.items():
            self.species(name, s)
        for name in model.assignments:
            a = model.assignments[name]
            par = m.createParameter()
            par.setId(self.new_id(name, f"assignments.{name}"))
            par.setConstant(False)
            self.set_units(par, a.units, f"assignments.{name}.units")
            self.notes(par, f"assignments.{name}", units=a.units, description=a.description)
        infusion = self.infusion_parameters()
        for name in model.derived_order():
            rule = m.createAssignmentRule()
            rule.setVariable(name)
            if name in model.assignments:
                self.set_math(rule, model.assignments[name].expression, f"assignments.{name}")
            else:
                self.set_math(rule, model.compartments[name].size, f"compartments.{name}.size")
        for name, s in model.species.items():
            if isinstance(s.initial, str):
                ia = m.createInitialAssignment()
                ia.setSymbol(name)
                self.set_math(ia, s.initial, f"species.{name}.initial")
        for name, r in model.reactions.items():
            self.reaction(name, r)
        for target, rule in model.rate_rules.items():
            rr = m.createRateRule()
            rr.setVariable(target)
            text = rule.expression
            for pid, _ in infusion.get(target, []):
                text = f"({text}) + {self.per_volume(pid, target)}"
            self.set_math(rr, text, f"rate_rules.{target}")
        for target, inputs in infusion.items():
            if target in model.rate_rules:
                continue
            for pid, field in inputs:
                self.input_reaction(pid, target, field)
        self.events()
        self.general_events()
        return self.doc

    def parameter(self, name, p) -> None:
        par = self.sbml.createParameter()
        par.setId(self.new_id(name, f"parameters.{name}"))
        par.setValue(float(p.value))
        par.setConstant(True)
        self.set_units(par, p.units, f"parameters.{name}.units")
        self.annotate(par, f"parameters.{name}", _SBO_PARAMETER, p.source)
        self.notes(par, f"parameters.{name}", units=p.units, description=p.description,
                   source=p.source)

    def compartment(self, name, c) -> None:
        comp = self.sbml.createCompartment()
        comp.setId(self.new_id(name, f"compartments.{name}"))
        unit = parse_units(c.units, self.where, f"compartments.{name}.units")
        if unit.dimensionality == ureg.liter.dimensionality:
            comp.setSpatialDimensions(3)
        if isinstance(c.size, str):
            comp.setConstant(False)  # its assignment rule is written with the others
        else:
            comp.setSize(float(c.size))
            comp.setConstant(True)
        self.set_units(comp, unit, f"compartments.{name}.units")
        self.annotate(comp, f"compartments.{name}", _SBO_COMPARTMENT)
        self.notes(comp, f"compartments.{name}", units=c.units, description=c.description,
                   size=c.size if isinstance(c.size, str) else "")

    def species(self, name, s) -> None:
        sp = self.sbml.createSpecies()
        sp.setId(self.new_id(name, f"species.{name}"))
        sp.setCompartment(s.compartment)
        sp.setHasOnlySubstanceUnits(bool(s.amount))
        sp.setBoundaryCondition(False)
        sp.setConstant(False)
        if not isinstance(s.initial, str):
            if s.amount:
                sp.setInitialAmount(float(s.initial))
            else:
                sp.setInitialConcentration(float(s.initial))
        self.set_units(sp, self.model.amount_units(name), f"species.{name}.units",
                       "setSubstanceUnits")
        self.annotate(sp, f"species.{name}", _SBO_SPECIES)
        self.notes(sp, f"species.{name}", units=s.units,
                   quantity="amount" if s.amount else "concentration",
                   description=s.description)

    def reaction(self, name, r) -> None:
        field = f"reactions.{name}"
        rx = self.sbml.createReaction()
        rx.setId(self.new_id(name, field))
        rx.setReversible(False)
        for sp, coef in r.stoichiometry.items():
            if coef == 0:
                continue
            ref = rx.createReactant() if coef < 0 else rx.createProduct()
            ref.setSpecies(sp)
            ref.setStoichiometry(abs(float(coef)))
            ref.setConstant(True)
        involved = {sp for sp, coef in r.stoichiometry.items() if coef != 0}
        for sym in sorted(expression_names(parse_expression(r.rate, self.where, f"{field}.rate"))):
            if sym in self.model.species and sym not in involved:
                rx.createModifier().setSpecies(sym)
        law = rx.createKineticLaw()
        self.set_math(law, r.rate, f"{field}.rate")
        self.annotate(rx, field, _SBO_PROCESS)
        self.notes(rx, field, description=r.description)

    # ---------------------------------------------------------------- doses
    def dose_names(self) -> list[str]:
        return [d.name or f"dose{i}" for i, d in enumerate(self.model.doses)]

    def per_volume(self, text: str, target: str) -> str:
        """``text`` (an amount, or amount per time) as a change of ``target``'s value."""
        sp = self.model.species[target]
        return f"({text})" if sp.amount else f"({text}) / {sp.compartment}"

    def infusion_parameters(self) -> dict[str, list[tuple[str, str]]]:
        """One ``inf_<dose>`` parameter (amount/time, 0 until an infusion starts) per infusion dose."""
        out: dict[str, list[tuple[str, str]]] = {}
        for d, name in zip(self.model.doses, self.dose_names(), strict=True):
            if d.duration <= 0 or not d.times:
                continue
            field = f"doses.{name}"
            par = self.sbml.createParameter()
            par.setId(self.new_id(f"inf_{name}", field))
            par.setValue(0.0)
            par.setConstant(False)
            t_unit = parse_units(self.model.time_units, self.where, "time_units")
            self.set_units(par, self.model.amount_units(d.target) / t_unit, f"{field}.amount")
            self.notes(par, field, description=f"infusion rate of dose {name} into {d.target}; "
                       f"set by events {name}_start_k and {name}_end_k")
            out.setdefault(d.target, []).append((par.getId(), field))
        return out

    def input_reaction(self, pid: str, target: str, field: str) -> None:
        rx = self.sbml.createReaction()
        rx.setId(self.new_id(f"{pid}_input", field))
        rx.setReversible(False)
        ref = rx.createProduct()
        ref.setSpecies(target)
        ref.setStoichiometry(1.0)
        ref.setConstant(True)
        self.set_math(rx.createKineticLaw(), pid, field)

    def events(self) -> None:
        for d, name in zip(self.model.doses, self.dose_names(), strict=True):
            field = f"doses.{name}"
            amount = to_l3_infix(d.amount, self.where, f"{field}.amount")
            if d.duration > 0:
                rate = f"({amount}) / ({_number(float(d.duration))} {self.time_unit})"
                for k, t0 in enumerate(d.times):
                    self.event(f"{name}_start_{k}", t0, f"inf_{name}", f"inf_{name} + {rate}",
                               field)
                    self.event(f"{name}_end_{k}", t0 + d.duration, f"inf_{name}",
                               f"inf_{name} - {rate}", field)
            else:
                for k, t0 in enumerate(d.times):
                    self.event(f"{name}_{k}", t0, d.target,
                               f"{d.target} + {self.per_volume(amount, d.target)}", field)

    def general_events(self) -> None:
        """:class:`Event` parts (state triggers, assignments that set values) as SBML events."""
        for e in self.model.events:
            field = f"events.{e.name}"
            ev = self.sbml.createEvent()
            ev.setId(self.new_id(e.name, field))
            ev.setUseValuesFromTriggerTime(bool(e.use_values_from_trigger_time))
            trig = ev.createTrigger()
            trig.setInitialValue(bool(e.initial_value))
            trig.setPersistent(bool(e.persistent))
            # a condition is valid only inside a piecewise: parse it there, write it bare
            condition = parse_expression(f"piecewise(1, {e.trigger}, 0)", self.where,
                                         f"{field}.trigger").body.args[1]
            self.check(trig.setMath(self.parse(_render(condition), f"{field}.trigger")), field)
            if e.priority is not None:
                self.set_math(ev.createPriority(), e.priority, f"{field}.priority")
            for target, value in e.assignments:
                ea = ev.createEventAssignment()
                ea.setVariable(target)
                self.set_math(ea, value, f"{field}.assignments.{target}")

    def event(self, eid: str, when: float, variable: str, value: str, field: str) -> None:
        ev = self.sbml.createEvent()
        ev.setId(self.new_id(eid, field))
        ev.setUseValuesFromTriggerTime(False)
        trig = ev.createTrigger()
        trig.setInitialValue(False)  # so that a dose at the start time fires at the start
        trig.setPersistent(True)
        # Literal times carry the time unit (L3 "14 day"), so the unit checks can follow them.
        self.settings.setParseUnits(True)
        try:
            trigger = self.parse(f"time >= {_number(float(when))} {self.time_unit}", field)
            assigned = self.parse(value, field)
        finally:
            self.settings.setParseUnits(False)
        self.check(trig.setMath(trigger), field)
        ea = ev.createEventAssignment()
        ea.setVariable(variable)
        self.check(ea.setMath(assigned), field)


def _sbml_factors(unit: pint.Unit) -> list[tuple[int, float, int, float]] | None:
    """(kind, exponent, scale, multiplier) for each factor of ``unit``; None if not expressible."""
    factors = []
    for name, exponent in unit._units.items():
        q = ureg.Quantity(1.0, name)
        for ref, kind in _KINDS:
            if q.dimensionality == ureg.Quantity(1.0, ref).dimensionality:
                factors.append((kind, exponent, *_scale(q.to(ref).magnitude)))
                break
        else:
            base = q.to_base_units()
            if base.dimensionless:
                factors.append((libsbml.UNIT_KIND_DIMENSIONLESS, exponent, *_scale(base.magnitude)))
                continue
            parts = list(base.units._units.items())
            if any(b not in _BASE_KINDS for b, _ in parts):
                return None
            first = True
            for b, e in parts:
                scale, mult = _scale(base.magnitude ** (1.0 / e)) if first else (0, 1.0)
                factors.append((_BASE_KINDS[b], e * exponent, scale, mult))
                first = False
    return factors


def _scale(multiplier: float) -> tuple[int, float]:
    """Split a factor into a power of ten (SBML ``scale``) and the rest (``multiplier``)."""
    if multiplier > 0:
        power = round(math.log10(multiplier))
        if abs(multiplier / 10.0 ** power - 1.0) < 1e-12:
            return power, 1.0
    return 0, float(multiplier)


def _unit_sid(unit: pint.Unit) -> str:
    """A readable identifier: ``mg_per_kg``, ``cell2_per_day2``, ``per_cell_per_day``."""
    def part(name: str, exponent: float) -> str:
        sym = name if name in _TIME_NAMES or name == "cell" else ureg.get_symbol(name)
        if name.endswith("liter"):  # pint writes litres as "l"; "L" is the usual symbol
            sym = sym[:-1] + "L"
        e = abs(exponent)
        if e == 1:
            return sym
        text = str(int(e)) if float(e).is_integer() else f"pow_{e:g}".replace(".", "p")
        return f"{sym}{text}" if text[0].isdigit() else f"{sym}_{text}"

    items = list(unit._units.items())
    num = "_".join(part(n, e) for n, e in items if e > 0)
    den = "_".join(f"per_{part(n, e)}" for n, e in items if e < 0)
    sid = "_".join(x for x in (num, den) if x)
    sid = re.sub(r"\W", "_", sid, flags=re.ASCII)
    return sid if sid and not sid[0].isdigit() else f"u_{sid}"


# --------------------------------------------------------------------------------- public
def to_sbml_document(model: Model) -> libsbml.SBMLDocument:
    """The model as a libsbml document (SBML L3V2); see :func:`to_sbml`."""
    return _Writer(model).write()


def to_sbml(model: Model) -> str:
    """The model as an SBML Level 3 Version 2 string.

    Parameters
    ----------
    model : Model
        Checked (names and units) before export.

    Returns
    -------
    str
        The SBML document; units and provenance of each element are in its ``notes``.

    Raises
    ------
    ModelError
        If the model is invalid, or a name or expression cannot be expressed in SBML (the error
        names the field).
    """
    return libsbml.writeSBMLToString(to_sbml_document(model))


def write_sbml(model: Model, path: str | Path) -> Path:
    """Write :func:`to_sbml` of ``model`` to ``path``; returns the path."""
    path = Path(path)
    path.write_text(to_sbml(model), encoding="utf-8")
    return path


EXPORT_FORMATS = {"sbml": to_sbml}


def export(model: Model, format: str = "sbml") -> str:
    """Export ``model`` as text in the named format (one of :data:`EXPORT_FORMATS`).

    Raises
    ------
    ValueError
        For an unknown format name.
    """
    key = str(format).strip().lower()
    if key not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {format!r}; choose from "
                         f"{', '.join(sorted(EXPORT_FORMATS))}")
    return EXPORT_FORMATS[key](model)


__all__ = ["EXPORT_FORMATS", "export", "sbml_math", "to_l3_infix", "to_sbml", "to_sbml_document",
           "write_sbml"]
