"""``immunocycle sbml-test-suite``: the suite's pass criterion, per-tag rates and failure reasons,
on a fixed subset of the shared SBML Test Suite cases (read in place) and on synthetic cases."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from immunocycle._commands.sbml_test_suite import run_case, run_suite
from immunocycle.cli import app
from immunocycle.engine import SolverOptions, simulate
from immunocycle.model import load_reference
from immunocycle.sbml import write_sbml

#: Cases that pass: basic reactions, boundary species, non-unity compartments and stoichiometry,
#: local parameters, function definitions, initial assignments, assignment and rate rules, a
#: stoichiometry set by an initial assignment, a compartment size with a rate rule, piecewise
#: kinetic laws with relational conditions.
PASSING = ["00001", "00007", "00021", "00027", "00034", "00037", "00057", "00067", "00078",
           "01064", "00905", "00190", "00270"]
#: A case that uses factorial (outside the model's expression language).
UNSUPPORTED = "00028"
#: Event cases that pass: a state trigger on a species, an event-assigned parameter with a rate
#: rule, priorities of simultaneous events, a trigger true at t = 0 (initialValue false), a
#: concentration species in a non-unity compartment.
EVENTS = ["00041", "00172", "00930", "00995", "00746"]


def test_fixed_subset_passes_with_the_suites_criterion(shared_data):
    suite = shared_data("sbml-test-suite")
    summary = run_suite(suite, [*PASSING, UNSUPPORTED])
    assert summary["cases"] == len(PASSING) + 1
    assert summary["passed"] == len(PASSING), summary["failures"]
    assert summary["pass_rate_ode"] == pytest.approx(len(PASSING) / (len(PASSING) + 1))
    [failure] = summary["failures"]
    assert failure["case"] == UNSUPPORTED and "factorial" in failure["reason"]
    assert summary["by_tag"]["Compartment"]["cases"] == len(PASSING) + 1


def test_event_cases_pass(shared_data):
    summary = run_suite(shared_data("sbml-test-suite"), EVENTS)
    assert summary["passed"] == len(EVENTS), summary["failures"]
    assert summary["pass_rate_event"] == 1.0


def test_cli_prints_json_and_refuses_an_unknown_case(shared_data):
    suite = shared_data("sbml-test-suite")
    out = CliRunner().invoke(app, ["sbml-test-suite", str(suite), "--cases", "1,28", "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert summary["pass_rate_ode"] == 0.5 and summary["failures"][0]["case"] == "00028"
    out = CliRunner().invoke(app, ["sbml-test-suite", str(suite), "--cases", "99999"])
    assert out.exit_code == 2 and "unknown case" in out.output and "Traceback" not in out.output


def _case(folder, offset: float) -> None:
    """A synthetic case: Kuznetsov exported, expected values from the engine (times 1 + offset)."""
    folder.mkdir()
    model = load_reference("kuznetsov1994")
    write_sbml(model, folder / f"{folder.name}-sbml-l3v2.xml")
    times = np.linspace(0.0, 10.0, 11)
    states = simulate(model, times, options=SolverOptions(rtol=1e-10, atol=1e-10)).states[0]
    frame = pd.DataFrame({"time": times, "E": states[:, 0] * (1 + offset), "T": states[:, 1]})
    frame.to_csv(folder / f"{folder.name}-results.csv", index=False)
    (folder / f"{folder.name}-settings.txt").write_text(
        "start: 0\nduration: 10\nsteps: 10\nvariables: E, T\nabsolute: 1e-7\nrelative: 1e-4\n"
        "amount: E, T\nconcentration:\n")


def test_criterion_fails_a_wrong_answer_and_passes_the_right_one(tmp_path):
    _case(tmp_path / "90001", 0.0)
    _case(tmp_path / "90002", 1e-3)  # 10x the relative tolerance off
    right, wrong = run_case(tmp_path / "90001"), run_case(tmp_path / "90002")
    assert right["passed"] and right["max_error"] < 0.1
    assert not wrong["passed"] and wrong["reason"].startswith("E: error")
    assert wrong["max_error"] == pytest.approx(10.0, rel=0.02)
