"""`immunocycle diagnose`: JSON contract, files written, clear errors with exit code 2."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from immunocycle._commands.diagnose import diagnose_command

app = typer.Typer()
app.command()(diagnose_command)
runner = CliRunner()


def test_json_contract_and_files(tmp_path):
    res = runner.invoke(app, ["--preset", "excluded", "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for key in ("limiting_step", "step_scores", "phenotype", "barriers", "sensitivity",
                "cycle_gain", "fluxes", "evidence"):
        assert key in out
    assert out["limiting_step"]["at_diagnosis"] in (4, 5) and len(out["step_scores"]) == 7
    assert 1 <= out["limiting_step"]["at_end"] <= 7
    assert json.loads((tmp_path / "diagnosis.json").read_text())["limiting_step"] == \
        out["limiting_step"]
    for name in ("steps.csv", "elasticities.csv", "barriers.csv", "step_scores.png",
                 "elasticities.png", "inputs.json"):
        assert (tmp_path / name).stat().st_size > 0


def test_bad_input_exit_code_2(tmp_path):
    for args, message in ((["--preset", "lukewarm"], "unknown preset"),
                          (["--preset", "human", "--n", "-4"], "--n"),
                          (["--cohort", "no_such_cohort"], "unknown cohort"),
                          ([], "exactly one"),
                          (["--preset", "human", "--cohort", "melanoma"], "exactly one")):
        res = runner.invoke(app, [*args, "--out", str(tmp_path)])
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output, res.output
