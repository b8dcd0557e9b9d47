"""SBML import (:func:`immunocycle.sbml.read_sbml`): export -> import reproduces the reference
models, hand-written SBML runs as libroadrunner runs it, unsupported constructs and bad files are
clear errors, and an imported model runs batched with per-patient parameters."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from immunocycle._errors import SBMLError
from immunocycle.cli import app
from immunocycle.engine import SolverOptions, compile_model, simulate
from immunocycle.model import load_reference
from immunocycle.sbml import from_sbml, read_sbml, write_sbml

ENGINE = SolverOptions(rtol=1e-10, atol=1e-10)
FLOOR = 1e-6  # values below FLOOR x the species' maximum are not compared
CASES = {"kuznetsov1994": 100.0, "depillis2005": 100.0, "pk_two_compartment": 90.0}


def grid(model, t_end: float) -> np.ndarray:
    """A daily grid plus every dose start and end."""
    events = [t + o for d in model.doses for t in d.times for o in (0.0, d.duration)]
    times = np.unique(np.concatenate([np.arange(0.0, t_end + 0.5, 1.0), events]))
    return times[times <= t_end]


def relative(a: np.ndarray, b: np.ndarray) -> float:
    scale = np.abs(a).max(axis=(0, 1))
    compared = np.abs(a) > FLOOR * scale
    return float((np.abs(a - b)[compared] / np.abs(a[compared])).max())


@pytest.mark.parametrize("name", list(CASES))
def test_export_then_import_reproduces_the_reference_models(name, tmp_path):
    model = load_reference(name)
    imported = read_sbml(write_sbml(model, tmp_path / f"{name}.xml"))
    assert list(imported.species) == list(model.species)
    assert {n: p.value for n, p in imported.parameters.items()} == \
        {n: p.value for n, p in model.parameters.items()}
    assert {n: p.units for n, p in imported.parameters.items()} == \
        {n: p.units for n, p in model.parameters.items()}
    assert imported.time_units == model.time_units
    assert sum(len(d.times) for d in imported.doses) == sum(len(d.times) for d in model.doses)
    times = grid(model, CASES[name])
    a = simulate(model, times, options=ENGINE)
    b = simulate(imported, times, options=ENGINE)
    assert a.ok.all() and b.ok.all()
    # measured: kuznetsov1994 0, depillis2005 1.6e-14, pk_two_compartment 0 (doses included)
    assert relative(a.states, b.states) <= 1e-6


# A model written by hand (SBML L2V4): a function definition, a local parameter, an initial
# assignment, an assignment rule using the (constant) compartment size, a rate rule on a
# parameter, a concentration species in a 2 L compartment and a bolus event.
HAND = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level2/version4" level="2" version="4">
 <model id="hand">
  <listOfFunctionDefinitions>
   <functionDefinition id="mm"><math xmlns="http://www.w3.org/1998/Math/MathML">
    <lambda><bvar><ci>v</ci></bvar><bvar><ci>s</ci></bvar><bvar><ci>k</ci></bvar>
     <apply><divide/><apply><times/><ci>v</ci><ci>s</ci></apply>
      <apply><plus/><ci>k</ci><ci>s</ci></apply></apply></lambda></math></functionDefinition>
  </listOfFunctionDefinitions>
  <listOfCompartments><compartment id="cell" size="2"/></listOfCompartments>
  <listOfSpecies>
   <species id="S" compartment="cell" initialConcentration="0"/>
   <species id="P" compartment="cell" initialConcentration="0"/>
  </listOfSpecies>
  <listOfParameters>
   <parameter id="S0" value="3"/><parameter id="Km" value="0.5"/>
   <parameter id="total" constant="false"/><parameter id="g" value="1" constant="false"/>
  </listOfParameters>
  <listOfInitialAssignments>
   <initialAssignment symbol="S"><math xmlns="http://www.w3.org/1998/Math/MathML">
    <apply><times/><cn>2</cn><ci>S0</ci></apply></math></initialAssignment>
  </listOfInitialAssignments>
  <listOfRules>
   <assignmentRule variable="total"><math xmlns="http://www.w3.org/1998/Math/MathML">
    <apply><times/><ci>cell</ci><apply><plus/><ci>S</ci><ci>P</ci></apply></apply></math>
   </assignmentRule>
   <rateRule variable="g"><math xmlns="http://www.w3.org/1998/Math/MathML">
    <apply><times/><cn>-0.1</cn><ci>g</ci></apply></math></rateRule>
  </listOfRules>
  <listOfReactions>
   <reaction id="conv" reversible="false">
    <listOfReactants><speciesReference species="S"/></listOfReactants>
    <listOfProducts><speciesReference species="P" stoichiometry="2"/></listOfProducts>
    <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">
     <apply><times/><ci>cell</ci><ci>g</ci><apply><ci>mm</ci><ci>V</ci><ci>S</ci><ci>Km</ci>
     </apply></apply></math>
     <listOfParameters><parameter id="V" value="0.8"/></listOfParameters></kineticLaw>
   </reaction>
  </listOfReactions>
  <listOfEvents>
   <event id="dose"><trigger><math xmlns="http://www.w3.org/1998/Math/MathML">
    <apply><geq/><csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/time">
     t</csymbol><cn>5</cn></apply></math></trigger>
    <listOfEventAssignments><eventAssignment variable="S"><math
     xmlns="http://www.w3.org/1998/Math/MathML"><apply><plus/><ci>S</ci><cn>4</cn></apply></math>
    </eventAssignment></listOfEventAssignments></event>
  </listOfEvents>
 </model>
</sbml>
"""


def test_hand_written_sbml_runs_as_in_roadrunner(tmp_path):
    roadrunner = pytest.importorskip("roadrunner")
    path = tmp_path / "hand.xml"
    path.write_text(HAND)
    model = read_sbml(path)  # no units declared: dimensionless throughout
    assert model.time_units == "dimensionless"
    assert model.parameters["conv_V"].value == 0.8          # the local parameter, renamed
    assert "total" in model.assignments and "g" in model.species  # rate-ruled parameter: a state
    assert not model.species["S"].amount and model.doses[0].times == (5.0,)
    times = np.linspace(0.0, 10.0, 41)
    ours = simulate(model, times, options=ENGINE)
    rr = roadrunner.RoadRunner(str(path))
    rr.timeCourseSelections = ["time", "[S]", "[P]", "g", "total"]
    rr.integrator.relative_tolerance, rr.integrator.absolute_tolerance = 1e-10, 1e-12
    ref = np.asarray(rr.simulate(times=times))
    for k, name in enumerate(["S", "P", "g", "total"], start=1):
        assert np.allclose(ours[name][0], ref[:, k], rtol=1e-6, atol=1e-9), name
    assert ours["S"][0, 20] > ours["S"][0, 19]  # the bolus at day 5 was given


ALGEBRAIC = HAND.replace("<rateRule variable=\"g\">", "<algebraicRule>").replace(
    "<apply><times/><cn>-0.1</cn><ci>g</ci></apply></math></rateRule>",
    "<apply><minus/><ci>g</ci><cn>1</cn></apply></math></algebraicRule>")
DELAY = HAND.replace("</trigger>", "</trigger><delay><math xmlns="
                     "\"http://www.w3.org/1998/Math/MathML\"><cn>1</cn></math></delay>")
FACTORIAL = HAND.replace("<apply><times/><cn>-0.1</cn><ci>g</ci></apply>",
                         "<apply><factorial/><ci>g</ci></apply>")
# g' = -0.1 g while t < 4 and g > 0.5 (g = e^(-0.1 t)), then -0.3 g: g(4) e^(-0.3 (t - 4))
PIECEWISE = HAND.replace(
    "<apply><times/><cn>-0.1</cn><ci>g</ci></apply>",
    "<piecewise><piece><apply><times/><cn>-0.1</cn><ci>g</ci></apply><apply><and/>"
    "<apply><lt/><csymbol encoding=\"text\" definitionURL=\"http://www.sbml.org/sbml/symbols/"
    "time\">t</csymbol><cn>4</cn></apply><apply><not/><apply><leq/><ci>g</ci><cn>0.5</cn>"
    "</apply></apply></apply></piece><otherwise><apply><times/><cn>-0.3</cn><ci>g</ci></apply>"
    "</otherwise></piecewise>")


def test_piecewise_runs_as_in_roadrunner_and_exports_back(tmp_path):
    roadrunner = pytest.importorskip("roadrunner")
    path = tmp_path / "piecewise.xml"
    path.write_text(PIECEWISE)
    model = read_sbml(path)
    assert "piecewise(" in model.rate_rules["g"].expression
    times = np.linspace(0.0, 10.0, 41)
    ours = simulate(model, times, options=ENGINE)
    exact = np.where(times < 4.0, np.exp(-0.1 * times),
                     np.exp(-0.4) * np.exp(-0.3 * (times - 4.0)))
    np.testing.assert_allclose(ours["g"][0], exact, rtol=1e-7)
    rr = roadrunner.RoadRunner(str(path))
    rr.timeCourseSelections = ["time", "[S]", "[P]", "g"]
    rr.integrator.relative_tolerance, rr.integrator.absolute_tolerance = 1e-10, 1e-12
    ref = np.asarray(rr.simulate(times=times))
    for k, name in enumerate(["S", "P", "g"], start=1):
        assert np.allclose(ours[name][0], ref[:, k], rtol=1e-6, atol=1e-9), name
    # exported as MathML and read back: the piecewise, and the bolus into a concentration
    # species of a 2 L compartment (an L3 compartment without spatialDimensions keeps its size)
    text = write_sbml(model, tmp_path / "again.xml").read_text()
    assert "<piecewise>" in text and "<leq/>" in text and "<not/>" in text
    again = read_sbml(tmp_path / "again.xml")
    assert again.doses == model.doses and not again.species["S"].amount
    rerun = simulate(again, times, options=ENGINE)
    np.testing.assert_allclose(rerun["g"][0], exact, rtol=1e-7)
    for name in ("S", "P"):
        np.testing.assert_allclose(rerun[name][0], ours[name][0], rtol=1e-9, atol=1e-12)


SETS_RATE = HAND.replace("<apply><plus/><ci>S</ci><cn>4</cn></apply>", "<cn>4</cn>")
# a state trigger: when P exceeds 5, S is set to 3 (and the time event sets S to 4 at t = 5)
STATE_EVENT = SETS_RATE.replace("</listOfEvents>", """<event id="refill"><trigger><math
    xmlns="http://www.w3.org/1998/Math/MathML"><apply><gt/><ci>P</ci><cn>5</cn></apply></math>
    </trigger><listOfEventAssignments><eventAssignment variable="S"><math
     xmlns="http://www.w3.org/1998/Math/MathML"><cn>3</cn></math></eventAssignment>
    <eventAssignment variable="Km"><math xmlns="http://www.w3.org/1998/Math/MathML"><apply>
     <times/><cn>2</cn><ci>Km</ci></apply></math></eventAssignment></listOfEventAssignments>
    </event></listOfEvents>""").replace('<parameter id="Km" value="0.5"/>',
                                        '<parameter id="Km" value="0.5" constant="false"/>')


def test_state_triggered_events_run_as_in_roadrunner(tmp_path):
    """Events that set values (not doses) and fire on a state: root-found, the assigned
    parameter becomes a state, and the time course matches libroadrunner's."""
    roadrunner = pytest.importorskip("roadrunner")
    path = tmp_path / "events.xml"
    path.write_text(STATE_EVENT)
    model = read_sbml(path)
    assert {e.name for e in model.events} == {"dose", "refill"} and not model.doses
    assert "Km" in model.species  # assigned by an event: a state now
    times = np.linspace(0.0, 10.0, 101)
    ours = simulate(model, times, options=ENGINE)
    assert ours.ok.all()
    rr = roadrunner.RoadRunner(str(path))
    rr.timeCourseSelections = ["time", "[S]", "[P]", "Km"]
    rr.integrator.relative_tolerance, rr.integrator.absolute_tolerance = 1e-10, 1e-12
    ref = np.asarray(rr.simulate(times=times))
    for k, name in enumerate(["S", "P", "Km"], start=1):
        assert np.allclose(ours[name][0], ref[:, k], rtol=1e-5, atol=1e-7), name
    assert ours["Km"][0, -1] > 0.5  # the state event fired (Km doubled)
    # exported back (events with their triggers and assignments) and read again: the same run
    again = read_sbml(write_sbml(model, tmp_path / "again.xml"))
    assert [e.trigger for e in again.events] == [e.trigger for e in model.events]
    rerun = simulate(again, times, options=ENGINE)
    for name in ("S", "P", "Km"):
        np.testing.assert_allclose(rerun[name][0], ours[name][0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("text", "match"), [
    (ALGEBRAIC, "algebraicRule: algebraic rules are not supported"),
    (DELAY, "event 'dose': event delays are not supported"),
    (FACTORIAL, "'factorial' is not supported"),
    ("<sbml><model", "not a valid SBML file"),
])
def test_unsupported_constructs_and_malformed_files_are_named(text, match, tmp_path):
    path = tmp_path / "m.xml"
    path.write_text(text)
    with pytest.raises(SBMLError, match=match):
        read_sbml(path)
    out = CliRunner().invoke(app, ["simulate", str(path), "--days", "2", "--out",
                                   str(tmp_path / "run")])
    assert out.exit_code == 2 and "error:" in out.output and "Traceback" not in out.output
    assert not (tmp_path / "run").exists()


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(SBMLError, match="no such file"):
        from_sbml(tmp_path / "none.xml")
    out = CliRunner().invoke(app, ["simulate", str(tmp_path / "none.xml"), "--days", "2"])
    assert out.exit_code == 2 and "no such file" in out.output and "Traceback" not in out.output


def test_cli_simulates_an_imported_model_with_set(tmp_path):
    path = write_sbml(load_reference("kuznetsov1994"), tmp_path / "k.xml")
    runs = {}
    for label, source in (("sbml", str(path)), ("yaml", "kuznetsov1994")):
        out = CliRunner().invoke(app, ["simulate", source, "--days", "10", "--set", "s=2e4",
                                       "--json", "--out", str(tmp_path / label)])
        assert out.exit_code == 0, out.output
        runs[label] = json.loads(out.output[out.output.index("{"):])["final"]
    assert runs["sbml"] == pytest.approx(runs["yaml"], rel=1e-9)
    default = CliRunner().invoke(app, ["simulate", str(path), "--days", "10", "--json",
                                       "--out", str(tmp_path / "default")])
    assert json.loads(default.output[default.output.index("{"):])["final"] != \
        pytest.approx(runs["sbml"], rel=1e-6)  # --set changed the run


def test_imported_kuznetsov_runs_a_1000_patient_batch(tmp_path):
    model = load_reference("kuznetsov1994")
    imported = read_sbml(write_sbml(model, tmp_path / "k.xml"))
    rng = np.random.default_rng(19)
    params = pd.DataFrame({name: p.value * np.exp(rng.normal(0.0, 0.2, 1000))
                           for name, p in model.parameters.items()})
    times = np.arange(0.0, 31.0)
    batch = simulate(compile_model(imported), times, params, options=ENGINE)
    reference = simulate(model, times, params, options=ENGINE)
    assert batch.n == 1000 and batch.ok.all()
    assert relative(reference.states, batch.states) <= 1e-6
    # per-patient parameters act: the tumor at day 30 spreads over the batch
    assert np.std(np.log(batch["T"][:, -1])) > 0.05


def test_cli_runs_an_imported_model_as_a_population_with_set_distributions(tmp_path):
    """``simulate model.xml --n 1000 --set a=lognormal(...)``: one batched solve; the draws
    follow the distribution, reach the model, and the same seed gives the same numbers."""
    path = write_sbml(load_reference("kuznetsov1994"), tmp_path / "k.xml")
    args = ["simulate", str(path), "--days", "30", "--n", "1000", "--json",
            "--set", "a=lognormal(0.18,0.3)", "--set", "p=uniform(0.1,0.15)"]
    first = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "one")])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output[first.output.index("{"):])
    patients = pd.read_parquet(tmp_path / "one" / "patients.parquet")
    assert len(patients) == 1000 and (patients["status"] == "ok").all()
    assert np.median(patients["a"]) == pytest.approx(0.18, rel=0.02)
    assert np.std(np.log(patients["a"])) == pytest.approx(0.3, rel=0.05)
    assert patients["p"].between(0.1, 0.15).all()
    low, high = summary["final_p5_p95"]["T"]
    assert low < summary["final"]["T"] < high  # the growth rate spreads the tumors
    again = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "two")])
    assert json.loads(again.output[again.output.index("{"):])["final"] == summary["final"]
    other = CliRunner().invoke(app, [*args, "--seed", "1", "--out", str(tmp_path / "three")])
    assert json.loads(other.output[other.output.index("{"):])["final"] != summary["final"]


@pytest.mark.parametrize("extra, message", [
    (["--set", "a=lognormal(-1,0.2)"], "first argument must be > 0"),
    (["--set", "a=normal(0.18,1)"], "negative values"),
    (["--set", "a=uniform(0.3,0.1)"], "must exceed low"),
    (["--set", "zz=normal(1,0.1)"], "unknown parameter"),
    (["--set", "a=lognormal(x,0.1)"], "must be numbers"),
    ([], "copies of one patient"),
])
def test_population_inputs_are_checked(extra, message, tmp_path):
    out = CliRunner().invoke(app, ["simulate", "kuznetsov1994", "--n", "5", "--days", "2",
                                   *extra, "--out", str(tmp_path / "run")])
    assert out.exit_code == 2 and message in out.output and "Traceback" not in out.output
    assert not (tmp_path / "run").exists()
