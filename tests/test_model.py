"""The model layer: building, unit checking and clear errors for bad input."""

from pathlib import Path

import pytest

from immunocycle.model import (
    Compartment,
    Dose,
    Model,
    ModelError,
    Parameter,
    RateRule,
    Species,
    apply_parameter_set,
    load_model,
    load_reference,
    reference_models,
    schedule,
)

GOOD = """
name: decay
time_units: day
compartments:
  central: {size: 2.0, units: L}
species:
  A: {compartment: central, initial: 10.0, units: mg}
parameters:
  k: {value: 0.5, units: 1/day, source: test}
rate_rules:
  A: "-k * A"
"""


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reference_models_load_and_check():
    assert {"kuznetsov1994", "depillis2005", "pk_two_compartment"} <= set(reference_models())
    for name in reference_models():
        model = load_reference(name)
        assert model.species and all(p.source for p in model.parameters.values())


def test_rate_in_wrong_time_unit_is_an_error_naming_the_expression(tmp_path):
    bad = GOOD.replace("units: 1/day", "units: 1/h")
    with pytest.raises(ModelError) as err:
        load_model(write(tmp_path, bad))
    msg = str(err.value)
    assert "rate_rules.A" in msg and "-k * A" in msg and "factor 24" in msg
    assert "m.yaml" in msg


def test_adding_cells_to_a_concentration_is_an_error(tmp_path):
    text = GOOD + "assignments:\n  X: {expression: 'A / central + n_cells', units: mg/L}\n"
    text = text.replace("  k: {value", "  n_cells: {value: 3, units: cell, source: test}\n  k: {value")
    with pytest.raises(ModelError) as err:
        load_model(write(tmp_path, text))
    assert "assignments.X" in str(err.value) and "inconsistent units" in str(err.value)


def test_unknown_name_in_expression(tmp_path):
    with pytest.raises(ModelError) as err:
        load_model(write(tmp_path, GOOD.replace('"-k * A"', '"-k * A * kk"')))
    assert "unknown name(s) kk" in str(err.value) and "rate_rules.A" in str(err.value)


def test_negative_volume(tmp_path):
    with pytest.raises(ModelError) as err:
        load_model(write(tmp_path, GOOD.replace("size: 2.0", "size: -2.0")))
    assert "compartments.central.size" in str(err.value) and "positive" in str(err.value)


def test_malformed_yaml_names_file_and_line(tmp_path):
    with pytest.raises(ModelError) as err:
        load_model(write(tmp_path, GOOD.replace("  k: {value: 0.5,", "  k: {value: 0.5,, [")))
    assert "m.yaml" in str(err.value) and "line" in str(err.value)


def test_wrong_type_and_missing_source(tmp_path):
    with pytest.raises(ModelError) as err:
        load_model(write(tmp_path, GOOD.replace("value: 0.5", "value: fast")))
    assert "parameters.k.value" in str(err.value)
    with pytest.raises(ModelError) as err:
        load_model(write(tmp_path, GOOD.replace(", source: test", "")))
    assert "parameters.k.source" in str(err.value)


def test_negative_dose_and_unknown_target(tmp_path):
    dose = GOOD + "doses:\n  - {target: A, amount: -5, times: [1.0]}\n"
    with pytest.raises(ModelError) as err:
        load_model(write(tmp_path, dose))
    assert "doses.0.amount" in str(err.value)
    with pytest.raises(ModelError) as err:
        load_model(write(tmp_path, dose.replace("amount: -5", "amount: 5").replace("target: A", "target: B")))
    assert "unknown species 'B'" in str(err.value)


def test_disallowed_syntax_is_rejected(tmp_path):
    with pytest.raises(ModelError) as err:
        load_model(write(tmp_path, GOOD.replace('"-k * A"', '"__import__(1)"')))
    assert "only the functions" in str(err.value)


def test_parameter_set_converts_units_and_rejects_other_dimensions(tmp_path):
    model = load_model(write(tmp_path, GOOD))
    pset = write(tmp_path, "name: s\nparameters:\n  k: {value: 1.0, units: 1/h, source: test}\n", "s.yaml")
    assert apply_parameter_set(model, pset).parameters["k"].value == pytest.approx(24.0)
    bad = write(tmp_path, "name: s\nparameters:\n  k: {value: 1.0, units: mg, source: test}\n", "b.yaml")
    with pytest.raises(ModelError) as err:
        apply_parameter_set(model, bad)
    assert "parameters.k.units" in str(err.value) and "b.yaml" in str(err.value)


def test_modules_compose_and_names_are_unique():
    def cells(m: Model, rate: float = 0.1) -> None:
        m.add(Compartment("body", 1.0), Species("C", "body", 1.0, "cell"),
              Parameter("g", rate, "1/day", source="test"))
        m.add_terms("C", "g * C")

    def death(m: Model) -> None:
        m.add(Parameter("kd", 0.05, "1/day", source="test"))
        m.add_terms("C", "-kd * C")

    model = Model("composed").extend(cells, rate=0.2).extend(death)
    model.check()
    assert model.rate_rules["C"].expression == "g * C + (-kd * C)"
    with pytest.raises(ModelError, match="already used"):
        model.add(Parameter("g", 1.0, "1/day"))
    with pytest.raises(ModelError, match="rate_rules.C"):
        model.add(RateRule("C", "0 * C"))


def test_schedule():
    assert schedule(0, 14, 3) == (0.0, 14.0, 28.0)
    with pytest.raises(ValueError):
        schedule(0, 14, 0)
    assert Dose("A", 1.0, schedule(0, 21, 4)).times[-1] == 63.0


PIECEWISE = GOOD.replace("  k: {value", "  A_low: {value: 1.0, units: mg, source: test}\n  k: {value")


@pytest.mark.parametrize(("rate", "match"), [
    ('"piecewise(-k * A, A > A_low, -k * A_low)"', None),
    ('"piecewise(-k * A, A > A_low and t < 3 * k * t / k or not A < 0, 0)"', None),
    ('"piecewise(-k * A, A > A_low, -k)"', "inconsistent units"),       # a branch in 1/day
    ('"piecewise(-k * A, A > k, -k * A_low)"', "inconsistent units"),   # mg compared with 1/day
    ('"piecewise(-k * A, A > A_low)"', None),                           # NaN when A <= A_low
    ('"piecewise(-k * A, A_low, 0)"', "is not a condition"),
    ('"-k * A * (A > A_low)"', "is a condition where a number is required"),
    ('"piecewise()"', "needs at least one value"),
])
def test_piecewise_units_are_its_branches_and_conditions_compare_like_with_like(
        tmp_path, rate, match):
    text = PIECEWISE.replace('"-k * A"', rate)
    if match is None:
        model = load_model(write(tmp_path, text))
        assert "piecewise" in model.rate_rules["A"].expression
        return
    with pytest.raises(ModelError) as err:
        load_model(write(tmp_path, text))
    assert "rate_rules.A" in str(err.value) and match in str(err.value)
