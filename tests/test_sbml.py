"""SBML Level 3 Version 2 export: validity, units, doses as events, formula translation."""

from __future__ import annotations

import math

import libsbml
import pytest

from immunocycle._paths import PACKAGE_DATA
from immunocycle.model import (
    Compartment,
    Dose,
    Model,
    ModelError,
    Parameter,
    Reaction,
    Species,
    load_model,
)
from immunocycle.sbml import (
    export,
    sbml_math,
    to_l3_infix,
    to_sbml,
    to_sbml_document,
    write_sbml,
)

REFERENCE = ["kuznetsov1994", "depillis2005", "pk_two_compartment"]


def reference(name: str) -> Model:
    return load_model(PACKAGE_DATA / "models" / f"{name}.yaml")


def small_model() -> Model:
    """Concentration species, an expression compartment, an initial assignment, infusions into a
    reaction species and into a rate-rule species, and boluses into both kinds of species."""
    m = Model("small", "day", source="test_sbml")
    m.add(Compartment("plasma", 2.5, "L"), Compartment("tissue", "V_t", "L"),
          Parameter("V_t", 1.5, "L", source="test"), Parameter("C0", 4.0, "nmol/L", source="test"),
          Parameter("k", 0.4, "1/day", "elimination", source="test"),
          Parameter("r", 0.2, "1/day", source="test"), Parameter("D", 10.0, "nmol", source="test"),
          Parameter("e", 0.5, "dimensionless", "a symbol called e", source="test"))
    m.add(Species("C", "plasma", "C0", "nmol/L", amount=False),
          Species("A", "tissue", 0.0, "nmol"),
          Species("X", "plasma", 1e4, "cell"))
    m.add(Reaction("elim", "k * C * plasma", {"C": -1}),
          Reaction("transfer", "r * C * plasma", {"C": -1, "A": 1}))
    m.add_terms("X", "e * r * X")
    m.add(Dose("C", "D", (0.0, 7.0), name="bolus_c"), Dose("C", "D", (1.0,), 0.5, "inf_c"),
          Dose("X", 100.0, (2.0, 3.0), 2.0, "inf_x"), Dose("X", 50.0, (4.0,), name="bolus_x"))
    m.check()
    return m


def errors(doc: libsbml.SBMLDocument) -> list[str]:
    """Messages of every problem of severity error or worse after libsbml's consistency check."""
    doc.checkConsistency()
    return [doc.getError(i).getMessage() for i in range(doc.getNumErrors())
            if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]


def factor(definition: libsbml.UnitDefinition) -> dict[str, tuple[float, float]]:
    """{kind: (exponent, multiplier * 10**scale)} of a unit definition."""
    return {libsbml.UnitKind_toString(u.getKind()):
            (u.getExponent(), u.getMultiplier() * 10.0 ** u.getScale())
            for u in definition.getListOfUnits()}


# --------------------------------------------------------------------------------- validity
@pytest.mark.parametrize("name", REFERENCE)
def test_reference_models_export_valid_sbml(name):
    text = to_sbml(reference(name))
    doc = libsbml.readSBMLFromString(text)
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    assert errors(doc) == []


def test_small_model_exports_valid_sbml():
    assert errors(to_sbml_document(small_model())) == []


# --------------------------------------------------------------------------------- units
@pytest.mark.parametrize("name", REFERENCE)
def test_values_round_trip_through_roadrunner(name):
    roadrunner = pytest.importorskip("roadrunner")
    model = reference(name)
    rr = roadrunner.RoadRunner(to_sbml(model))
    for pname, p in model.parameters.items():
        assert rr[pname] == p.value, pname
    for cname, c in model.compartments.items():
        size = model.parameters[c.size].value if isinstance(c.size, str) else c.size
        assert rr[cname] == pytest.approx(size, rel=1e-15), cname
    for sname, s in model.species.items():
        assert rr[f"init({sname})"] == pytest.approx(s.initial, rel=1e-15), sname


def test_unit_definitions_are_the_declared_units():
    sbml = to_sbml_document(small_model()).getModel()
    by_param = {p.getId(): sbml.getUnitDefinition(p.getUnits()) for p in sbml.getListOfParameters()
                if p.isSetUnits() and p.getUnits() != "dimensionless"}
    assert factor(by_param["k"]) == {"second": (-1.0, 86400.0)}        # 1/day
    assert factor(by_param["V_t"]) == {"litre": (1.0, 1.0)}             # L
    kinds = factor(by_param["D"])                                        # nmol
    assert kinds.keys() == {"mole"} and kinds["mole"][1] == pytest.approx(1e-9, rel=1e-15)
    c0 = factor(by_param["C0"])                                          # nmol/L
    assert c0["litre"] == (-1.0, 1.0) and c0["mole"][1] == pytest.approx(1e-9, rel=1e-15)
    assert factor(sbml.getUnitDefinition(sbml.getSpecies("X").getSubstanceUnits())) == {
        "item": (1.0, 1.0)}                                              # cell
    assert sbml.getTimeUnits() == "day"
    # A concentration species declares its amount units (nmol/L times L)
    assert factor(sbml.getUnitDefinition(sbml.getSpecies("C").getSubstanceUnits())).keys() == {"mole"}
    pk = to_sbml_document(reference("pk_two_compartment")).getModel()
    mg = factor(pk.getUnitDefinition(pk.getSpecies("A_c").getSubstanceUnits()))
    assert mg.keys() == {"gram"} and mg["gram"][1] == pytest.approx(1e-3, rel=1e-15)


def test_notes_carry_units_description_and_source():
    pk = to_sbml_document(reference("pk_two_compartment")).getModel()
    notes = pk.getParameter("CL").getNotesString()
    assert "units: L/day" in notes and "Bajaj 2017" in notes and "clearance" in notes
    assert "units: mg" in pk.getSpecies("A_c").getNotesString()


# --------------------------------------------------------------------------------- structure
def test_species_compartments_and_rules_follow_the_model():
    sbml = to_sbml_document(small_model()).getModel()
    assert not sbml.getSpecies("C").getHasOnlySubstanceUnits()
    assert sbml.getSpecies("A").getHasOnlySubstanceUnits()
    assert sbml.getInitialAssignment("C") is not None
    assert sbml.getSpecies("A").getInitialAmount() == 0.0
    assert sbml.getCompartment("plasma").getConstant()
    assert not sbml.getCompartment("tissue").getConstant()
    assert libsbml.formulaToL3String(sbml.getAssignmentRule("tissue").getMath()) == "V_t"
    assert all(p.getConstant() for p in sbml.getListOfParameters() if not p.getId().startswith("inf_"))
    transfer = sbml.getReaction("transfer")
    assert [r.getSpecies() for r in transfer.getListOfReactants()] == ["C"]
    assert [r.getSpecies() for r in transfer.getListOfProducts()] == ["A"]
    assert all(r.getConstant() for r in transfer.getListOfReactants())


def test_boluses_and_infusions_become_events():
    sbml = to_sbml_document(small_model()).getModel()
    events = {e.getId(): e for e in sbml.getListOfEvents()}
    # one event per bolus time; a start and an end event per infusion time
    assert set(events) == {"bolus_c_0", "bolus_c_1", "inf_c_start_0", "inf_c_end_0",
                           "inf_x_start_0", "inf_x_end_0", "inf_x_start_1", "inf_x_end_1",
                           "bolus_x_0"}
    for e in events.values():
        assert not e.getUseValuesFromTriggerTime()
        assert not e.getTrigger().getInitialValue() and e.getTrigger().getPersistent()
    bolus = events["bolus_c_1"]
    assert libsbml.formulaToL3String(bolus.getTrigger().getMath()) == "time >= 7 day"
    # a concentration species gets amount / volume, an amount species the amount
    assignment = bolus.getEventAssignment(0)
    assert assignment.getVariable() == "C"
    assert libsbml.formulaToL3String(assignment.getMath()) == "C + D / plasma"
    assert libsbml.formulaToL3String(events["bolus_x_0"].getEventAssignment(0).getMath()) == "X + 50"
    # infusion into a reaction species: an input reaction; into a rate-rule species: the rule
    assert sbml.getParameter("inf_inf_c") is not None and not sbml.getParameter("inf_inf_c").getConstant()
    feed = sbml.getReaction("inf_inf_c_input")
    assert feed.getNumReactants() == 0 and feed.getProduct(0).getSpecies() == "C"
    rule = libsbml.formulaToL3String(sbml.getRateRule("X").getMath())
    assert rule == "e * r * X + inf_inf_x"
    end = libsbml.formulaToL3String(events["inf_x_end_1"].getEventAssignment(0).getMath())
    assert end == "inf_inf_x - 100 / 2 day"  # the number 2 carries the unit day
    assert libsbml.formulaToL3String(events["inf_x_end_1"].getTrigger().getMath()) == "time >= 5 day"


def test_a_symbol_called_e_is_not_eulers_number():
    sbml = to_sbml_document(small_model()).getModel()
    mathml = libsbml.writeMathMLToString(sbml.getRateRule("X").getMath())
    assert "<ci> e </ci>" in mathml and "exponentiale" not in mathml


# --------------------------------------------------------------------------------- formulas
@pytest.mark.parametrize(("text", "root", "first_child"), [
    ("-x**2", libsbml.AST_MINUS, libsbml.AST_POWER),            # Python: -(x**2)
    ("a**b**c", libsbml.AST_POWER, libsbml.AST_NAME),           # right associative
    ("log(x)", libsbml.AST_FUNCTION_LN, libsbml.AST_NAME),      # natural, not log10
    ("pow(x, 2)", libsbml.AST_POWER, libsbml.AST_NAME),
    ("max(x, 0) * t", libsbml.AST_TIMES, libsbml.AST_FUNCTION_MAX),
])
def test_python_semantics_carry_over(text, root, first_child):
    node = sbml_math(text)
    assert node.getType() == root
    assert node.getChild(0).getType() == first_child
    if text == "a**b**c":
        assert node.getChild(1).getType() == libsbml.AST_POWER
    if "t" in text.split():
        assert node.getChild(1).getType() == libsbml.AST_NAME_TIME


FORMULAS = [
    "exp(-k * y) + sqrt(abs(y - 4))",
    "log(y, 2) - min(y, k) / 2 + max(k, 0.1)",
    "-y**2 / (1 + k)",
    "2**-k**2",
    "pow(y, k) * log(y)",
    "-(y - k) ** 3 + 2.5e-3 - 1e-300",
]


def test_translated_formulas_evaluate_like_python():
    """Each formula, exported and evaluated by roadrunner, equals Python's value."""
    roadrunner = pytest.importorskip("roadrunner")
    m = Model("f", "day", source="test")
    m.add(Compartment("c", 1.0), Species("z", "c", 0.0),
          Parameter("k", 0.5, source="t"), Parameter("y", 3.0, source="t"))
    doc = to_sbml_document(m)
    sbml = doc.getModel()
    for i, text in enumerate(FORMULAS):
        out = sbml.createParameter()
        out.setId(f"out{i}")
        out.setConstant(False)
        rule = sbml.createAssignmentRule()
        rule.setVariable(f"out{i}")
        rule.setMath(sbml_math(text))
    rr = roadrunner.RoadRunner(libsbml.writeSBMLToString(doc))
    env = {"exp": math.exp, "sqrt": math.sqrt, "abs": abs, "log": math.log, "min": min,
           "max": max, "pow": pow, "k": 0.5, "y": 3.0}
    for i, text in enumerate(FORMULAS):
        assert rr[f"out{i}"] == pytest.approx(eval(text, env), rel=1e-14), text


def test_infix_rewrites_operators():
    assert to_l3_infix("-k * x**2 / log(y) + t") == "(((-k) * (x ^ 2)) / ln(y)) + time"
    assert to_l3_infix(2.5) == "2.5"


def test_formula_that_does_not_parse_names_the_field():
    m = Model("bad", "day", source="bad.yaml")
    m.add(Compartment("c", 1.0), Species("A", "c", 1.0, "mg"),
          Parameter("k", 0.1, "1/day", source="t"), Reaction("r", "k * (A", {"A": -1}))
    with pytest.raises(ModelError) as info:
        to_sbml(m)
    assert info.value.field == "reactions.r.rate"


def test_formula_that_does_not_convert_to_sbml_names_the_field():
    # Valid Python (a non-ASCII identifier) but not SBML L3 infix: refused, naming the field.
    with pytest.raises(ModelError, match="ASCII") as info:
        sbml_math("k * \u03b2", "model.yaml", "reactions.r.rate")
    assert info.value.field == "reactions.r.rate" and info.value.where == "model.yaml"
    # A model refuses non-ASCII names when it is built (as SBML ids require), so none reaches
    # the exporter.
    m = Model("unicode", "day", source="u.yaml")
    with pytest.raises(ModelError, match="ASCII") as info:
        m.add(Parameter("\u03b2", 0.1, source="t"))
    assert info.value.field == "\u03b2"


# --------------------------------------------------------------------------------- entry points
def test_export_dispatches_by_format_and_writes(tmp_path):
    model = reference("kuznetsov1994")
    text = to_sbml(model)
    assert export(model, "sbml") == text == export(model, "SBML")
    path = write_sbml(model, tmp_path / "k.xml")
    assert path.read_text(encoding="utf-8") == text


def test_unknown_export_format_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown export format 'cellml'.*sbml"):
        export(reference("kuznetsov1994"), "cellml")


def test_export_is_deterministic():
    assert to_sbml(small_model()) == to_sbml(small_model())
