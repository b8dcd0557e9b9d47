"""The command line: outputs written, JSON contracts, clear errors with non-zero exit codes."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from immunocycle import __version__
from immunocycle.cli import app, parse_assignments

runner = CliRunner()


def test_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and __version__ in res.stdout


def test_simulate_writes_outputs_and_json(tmp_path):
    res = runner.invoke(app, ["simulate", "kuznetsov1994", "--days", "30", "--set", "a=0.3",
                              "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["status"] == "ok" and summary["final"]["T"] > 0
    table = pd.read_parquet(tmp_path / "timecourses.parquet")
    assert table["time"].max() == 30 and {"E", "T"} <= set(table.columns)
    inputs = json.loads((tmp_path / "inputs.json").read_text())
    assert inputs["inputs"]["overrides"] == {"a": 0.3}
    assert inputs["inputs"]["parameters"]["a"]["value"] == 0.3
    assert (tmp_path / "timecourses.png").stat().st_size > 5000
    # a larger growth rate gives a larger tumor: the override really reaches the model
    res2 = runner.invoke(app, ["simulate", "kuznetsov1994", "--days", "30", "--set", "a=0.1",
                               "--out", str(tmp_path / "slow"), "--json"])
    assert json.loads(res2.stdout)["final"]["T"] < summary["final"]["T"]


@pytest.mark.parametrize("args, message", [
    (["simulate", "kuznetsov1994", "--set", "nope=1"], "nope"),
    (["simulate", "kuznetsov1994", "--set", "a=fast"], "not a number"),
    (["simulate", "kuznetsov1994", "--set", "a"], "NAME=VALUE"),
    (["simulate", "no_such_model"], "unknown model"),
    (["export-sbml", "no_such_model"], "unknown model"),
])
def test_bad_input_gives_clear_error(args, message, tmp_path):
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "x")] if args[0] == "simulate" else args)
    assert res.exit_code == 2
    assert message in res.output


def test_export_sbml_roundtrip(tmp_path):
    import libsbml

    out = tmp_path / "pk.xml"
    res = runner.invoke(app, ["export-sbml", "pk_two_compartment", "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = libsbml.readSBMLFromString(out.read_text())
    assert doc.getLevel() == 3 and doc.getVersion() == 2
    assert doc.getModel().getNumEvents() >= 8  # infusion on/off and boluses


def test_bench_json_contract(tmp_path):
    res = runner.invoke(app, ["bench", "--n", "40", "--n-reference", "8", "--days", "30",
                              "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    for key in ("ratio_vs_libroadrunner", "ratio_vs_scipy", "max_rel_dev_vs_libroadrunner"):
        assert isinstance(data[key], float) and data[key] > 0
    assert data["max_rel_dev_vs_libroadrunner"] < 1e-3
    assert json.loads((tmp_path / "bench_depillis.json").read_text())["n"] == 40


def test_parse_assignments():
    assert parse_assignments(["a=1", " b = 2e-3"]) == {"a": 1.0, "b": 0.002}


def test_simulate_preset_with_therapy_contract(tmp_path):
    res = runner.invoke(app, ["simulate", "--preset", "inflamed", "--therapy", "nivolumab",
                              "--days", "42", "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    for key in ("phenotype_at_start", "phenotype_at_end", "limiting_step", "cycle_gain",
                "diameter_mm_start", "diameter_mm_end", "pd1_occupancy_mean", "fluxes"):
        assert key in summary
    assert sorted(summary["fluxes"]) == [f"J{i}" for i in range(1, 8)]
    assert set(summary["limiting_step"]) == {"at_diagnosis", "at_end"}
    assert all(1 <= k <= 7 for k in summary["limiting_step"].values())
    assert summary["end_day"] == 42.0
    assert summary["pd1_occupancy_mean"] > 0.5  # nivolumab binds PD-1
    assert summary["diameter_mm_end"] < summary["diameter_mm_start"]
    fluxes = pd.read_csv(tmp_path / "fluxes.csv")
    assert {"J1", "J7", "limiting_step"} <= set(fluxes.columns)
    assert (tmp_path / "cycle.png").stat().st_size > 10_000


def test_simulate_preset_errors(tmp_path):
    res = runner.invoke(app, ["simulate", "kuznetsov1994", "--therapy", "nivolumab", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--preset" in res.output
    res = runner.invoke(app, ["simulate", "--preset", "nosuch", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "nosuch" in res.output
    res = runner.invoke(app, ["simulate", "--preset", "mouse-mc38", "--therapy", "warp_drive",
                              "--out", str(tmp_path)])
    assert res.exit_code == 2 and "warp_drive" in res.output
