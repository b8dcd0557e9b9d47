"""Trial outputs of the organ toxicity laws (issue 15): ``ae_by_type`` per arm in ``trial
--json``, per-patient onset times, and the report's AE heat map."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner


def _cli():
    from immunocycle.cli import app

    return app


def test_trial_json_arms_have_ae_by_type_and_onsets(tmp_path):
    from immunocycle.report._ae_figures import ae_heatmap, ae_rate_table
    from immunocycle.trial import ae_type_names

    result = CliRunner().invoke(_cli(), [
        "trial", "--cohort", "desert", "--arm", "nivolumab", "--arm", "doxil", "--n", "3",
        "--seed", "1", "--days", "84", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    arms = json.loads(result.output)["arms"]
    for arm in arms:
        assert set(arm["ae_by_type"]) == set(ae_type_names())
        assert all(0.0 <= v <= 1.0 for v in arm["ae_by_type"].values())
    # nivolumab has no anthracycline AE; Doxil has no irAE
    assert arms[0]["ae_by_type"]["hand_foot_syndrome"] == 0.0
    assert arms[1]["ae_by_type"]["colitis"] == 0.0
    patients = pd.read_parquet(tmp_path / "patients.parquet")
    laws = [c for c in patients.columns if c.startswith("ae_") and not c.startswith("ae_type_")]
    any_law = patients[laws].astype(bool).any(axis=1).to_numpy()
    assert np.array_equal(np.isfinite(patients["onset_grade3_days"].to_numpy()), any_law)
    for t in ae_type_names():
        flag = patients[f"ae_type_{t}"].astype(bool).to_numpy()
        assert np.array_equal(np.isfinite(patients[f"onset_{t}_days"].to_numpy()), flag)
    doxil = patients[patients["arm"] == "doxil"]
    assert (doxil["p_ae_hand_foot_syndrome"] > doxil["p_ae_cardiotoxicity"]).all()
    table = ae_rate_table(patients, ["nivolumab", "doxil"])
    assert list(table.index) == ["nivolumab", "doxil"]
    fig = ae_heatmap(patients, ["nivolumab", "doxil"], tmp_path / "ae.png")
    assert (tmp_path / "ae.png").stat().st_size > 0 and fig.axes


def test_heatmap_table_from_type_columns():
    from immunocycle.report._ae_figures import ae_rate_table

    df = pd.DataFrame({"arm": ["a", "a", "b", "b"], "ae_type_colitis": [1, 0, 0, 0],
                       "ae_type_cardiotoxicity": [0, 0, 1, 1], "ae_type_crs": [0, 0, 0, 0]})
    table = ae_rate_table(df, ["b", "a"])
    assert list(table.columns) == ["colitis", "cardiotoxicity"]  # never-seen types dropped
    assert table.loc["a", "colitis"] == 0.5 and table.loc["b", "cardiotoxicity"] == 1.0


def test_heatmap_lays_out_long_arm_names_and_one_type():
    """The design's arms have names of 50+ characters and a design trial may record one AE
    type: the figure makes room, so constrained layout does not give up (it warned and drew
    the labels cut off)."""
    import warnings

    from immunocycle.report._ae_figures import ae_heatmap

    arms = ["nivolumab", "fresolimumab_free+hyaluronidase_np_doxorubicin+nivolumab"]
    patients = pd.DataFrame({"arm": [a for a in arms for _ in range(4)],
                             "ae_type_immune_other": [True, False, False, False] * 2})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = ae_heatmap(patients, arms)
        fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_position().width > 0.05 and ax.get_position().height > 0.05
