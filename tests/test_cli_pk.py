"""``immunocycle pk``: the JSON contract, output files and clear errors."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from immunocycle.cli import app

runner = CliRunner()


def test_pk_json_contract_and_files(tmp_path):
    res = runner.invoke(app, ["pk", "--carrier", "liposome", "--diameter", "25", "--route", "sc",
                              "--dose", "5", "--species", "mouse", "--days", "2", "--out",
                              str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    for key in ("de24", "de168", "demax", "lymph_node_max_pct_id", "blood_half_life_h",
                "auc_tumor_over_blood", "pct_id_at_24h"):
        assert key in summary
    # a 25 nm particle given s.c. drains to the node of its injection site, not the tumor's
    assert summary["vaccine_node_max_pct_id"] > 1.0
    assert summary["vaccine_node_max_pct_id"] > summary["lymph_node_max_pct_id"]
    table = pd.read_csv(tmp_path / "pct_id_by_organ.csv", index_col=0)
    assert {"tumor", "lymph_node", "liver"} <= set(table.columns)
    assert (tmp_path / "organ_distribution.png").exists() and (tmp_path / "tumor_ln_blood.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--diameter", "5000"], "diameter_nm"),
    (["--dose", "-1"], "dose_mg_per_kg"),
    (["--route", "oral"], "route"),
    (["--carrier", "unobtainium"], "carrier"),
])
def test_pk_bad_input(args, message, tmp_path):
    base = {"--carrier": "liposome", "--diameter": "50", "--dose": "1", "--route": "iv"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    res = runner.invoke(app, ["pk", *sum(base.items(), ()), "--out", str(tmp_path)])
    assert res.exit_code == 2 and message in res.output


def test_pk_evaluate_reports_cross_validated_r2(tmp_path, shared_data):
    shared_data("nanotumor")  # the evaluation cross-validates on the Nano-Tumor data set
    res = runner.invoke(app, ["pk", "--evaluate", "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    for key in ("r2_de24", "r2_de168", "r2_demax"):
        assert 0.2 < data[key] < 1.0
    # every candidate model's grouped-CV R2 for the three endpoints (stored comparison)
    cands = data["candidates"]
    assert data["shipped_model"] == cands["best_grouped"] == "extra_trees"
    for name in ("extra_trees", "gradient_boosting", "gaussian_process", "neural_net"):
        for key in ("r2_de24", "r2_de168", "r2_demax", "within_2fold_de24"):
            assert key in cands["grouped"][name] and key in cands["random"][name]
