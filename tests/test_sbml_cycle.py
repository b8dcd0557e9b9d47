"""``immunocycle export-sbml --preset``: the cycle model from diagnosis, with its doses as events,
is valid SBML and libroadrunner reproduces the engine's treatment phase on the written file."""

from __future__ import annotations

import libsbml
import numpy as np
import pytest
from typer.testing import CliRunner

from immunocycle.catalog import resolve_arm
from immunocycle.cli import app
from immunocycle.cycle import treat
from immunocycle.engine import SolverOptions

DAYS = 28.0  # two nivolumab doses (Q2W from day 0)
ENGINE = SolverOptions(rtol=1e-10, atol=1e-10)
FLOOR = 1e-6  # values below FLOOR x the species' maximum are not compared (as test_reference_agreement)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("sbml") / "x.xml"
    out = CliRunner().invoke(app, ["export-sbml", "--preset", "inflamed", "--therapy", "nivolumab",
                                   "--out", str(path)])
    assert out.exit_code == 0, out.output
    return path


def test_cycle_preset_exports_consistent_sbml(exported):
    doc = libsbml.readSBMLFromFile(str(exported))
    doc.checkConsistency()
    errors = [doc.getError(i).getMessage() for i in range(doc.getNumErrors())
              if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    assert errors == []
    model = doc.getModel()
    # nivolumab's doses are bolus events from diagnosis (t = 0)
    triggers = {libsbml.formulaToL3String(e.getTrigger().getMath())
                for e in model.getListOfEvents()}
    assert "time >= 0 day" in triggers and "time >= 14 day" in triggers


def test_roadrunner_reproduces_the_treatment_phase(exported):
    roadrunner = pytest.importorskip("roadrunner")
    therapies = resolve_arm("nivolumab", "human", where="--therapy")
    treated = treat("inflamed", [therapies], days=DAYS, options=ENGINE)
    engine = treated.arms[0]
    assert engine.ok.all()
    rr = roadrunner.RoadRunner(str(exported))
    doc = libsbml.readSBMLFromFile(str(exported)).getModel()
    species = [doc.getSpecies(i) for i in range(doc.getNumSpecies())]
    rr.timeCourseSelections = ["time", *(s.getId() if s.getHasOnlySubstanceUnits()
                                         else f"[{s.getId()}]" for s in species)]
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-12
    rr.integrator.stiff = True
    ref = np.asarray(rr.simulate(times=treated.times))[:, 1:]
    states = engine.states[0]
    assert [s.getId() for s in species] == engine.state_names
    scale = np.abs(states).max(axis=0)
    # relative floor, and an absolute one: a species that stays at round-off (T_RM at 1e-24)
    # is zero in both
    compared = np.abs(states) > np.maximum(FLOOR * scale, 1e-12)
    deviation = (np.abs(ref - states)[compared] / np.abs(states[compared])).max()
    # measured: 5.6e-9 over 28 days (max at nivolumab_LN); a dose missed or doubled is O(1)
    assert deviation <= 1e-4
    # the antibody was dosed: it is present after the first dose
    assert ref[1, [s.getId() for s in species].index("nivolumab_LN")] > 0


def test_preset_and_model_argument_are_exclusive(tmp_path):
    out = CliRunner().invoke(app, ["export-sbml", "kuznetsov1994", "--preset", "inflamed"])
    assert out.exit_code == 2 and "one of a MODEL argument, --preset or --cohort" in out.output
    out = CliRunner().invoke(app, ["export-sbml", "kuznetsov1994", "--therapy", "nivolumab"])
    assert out.exit_code == 2 and "--therapy needs --preset" in out.output
    out = CliRunner().invoke(app, ["export-sbml", "--preset", "inflamed", "--therapy", "nivolumabb"])
    assert out.exit_code == 2 and "unknown therapy" in out.output and "Traceback" not in out.output


def test_exports_carry_sbo_terms_and_miriam_references():
    from immunocycle.model import load_reference
    from immunocycle.sbml import to_sbml_document

    model = to_sbml_document(load_reference("kuznetsov1994")).getModel()
    assert model.getSBOTermID() == "SBO:0000062"  # an ODE model
    resources = [model.getCVTerm(i).getResourceURI(j) for i in range(model.getNumCVTerms())
                 for j in range(model.getCVTerm(i).getNumResources())]
    assert resources == ["https://identifiers.org/biomodels.db:BIOMD0000000762"]
    assert model.getCVTerm(0).getModelQualifierType() == libsbml.BQM_IS_DERIVED_FROM
    assert {p.getSBOTermID() for p in model.getListOfParameters()} == {"SBO:0000002"}
    assert {s.getSBOTermID() for s in model.getListOfSpecies()} == {"SBO:0000240"}
    assert model.getCompartment(0).getSBOTermID() == "SBO:0000290"


def test_a_cohort_patient_exports_as_the_trial_simulates_it(tmp_path):
    """``export-sbml --cohort melanoma --patient K``: patient K of ``trial --cohort melanoma``
    (sampled parameters with the cohort's fitted values, grown to its own diagnosis size);
    libroadrunner on the file reproduces the engine's treatment phase of that patient."""
    roadrunner = pytest.importorskip("roadrunner")
    from immunocycle.population import sample_cohort
    from immunocycle.trial import make_task

    paths = {}
    for k in range(12):  # the first two patients that reach diagnosis (the trial drops the rest)
        path = tmp_path / f"p{k}.xml"
        out = CliRunner().invoke(app, ["export-sbml", "--cohort", "melanoma", "--patient", str(k),
                                       "--therapy", "nivolumab", "--out", str(path)])
        if out.exit_code == 0:
            paths[k] = path
        else:  # a clear one-line error, exit 2
            assert out.exit_code == 2 and "never reaches the diagnosis diameter" in out.output
        if len(paths) == 2:
            break
    first, second = paths
    task = make_task("melanoma", ["nivolumab"], seed=0)
    row = sample_cohort(task.cohort, first, 1, 0, multipliers={task.parameter: task.multiplier})
    treated = treat(task.cohort.base, [resolve_arm("nivolumab", "human", where="--therapy")],
                    days=DAYS, parameters=row.drop(columns=["tmb", "diagnosis_sum_mm"]),
                    diagnosis_diameter_mm=row["diagnosis_sum_mm"].to_numpy(), options=ENGINE)
    states = treated.arms[0].states[0]
    doc = libsbml.readSBMLFromFile(str(paths[first])).getModel()
    species = [doc.getSpecies(i) for i in range(doc.getNumSpecies())]
    assert [s.getId() for s in species] == treated.arms[0].state_names
    finals = {}
    for k, path in paths.items():
        rr = roadrunner.RoadRunner(str(path))
        rr.timeCourseSelections = ["time", *(s.getId() if s.getHasOnlySubstanceUnits()
                                             else f"[{s.getId()}]" for s in species)]
        rr.integrator.relative_tolerance = 1e-10
        rr.integrator.absolute_tolerance = 1e-12
        rr.integrator.stiff = True
        finals[k] = np.asarray(rr.simulate(times=treated.times))[:, 1:]
    # species above the floor of their maximum; the memory pools stay at round-off (about 1e-24
    # cells, zero in the file) until effectors contract
    compared = (np.abs(states) > FLOOR * np.abs(states).max(axis=0)) & (np.abs(states) > 1e-6)
    assert (np.abs(finals[first] - states)[compared] / np.abs(states[compared])).max() <= 1e-4
    # another patient is another tumor: the sampled parameters reached the file
    assert not np.allclose(finals[first][0], finals[second][0], rtol=1e-3)
