"""The response at a trial's data cutoff (issue 20): each patient's scans count only up to its
follow-up at the cutoff, drawn per patient whatever the chunking."""

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from immunocycle._commands.trial import trial_command
from immunocycle._errors import InputError
from immunocycle.trial._cutoff import (
    DAYS_PER_MONTH,
    bor_at_cutoff,
    cutoff_settings,
    cutoff_uniforms,
    followup_at_cutoff,
    load_data_cutoffs,
)
from immunocycle.trial._recist import score_patients
from immunocycle.trial._trial import run_trial

# A patient in PR from day 63 (confirmed at 105) whose targets are all gone from day 147 on
# (CR confirmed at 189): CR over all scans.
LATE_CR = {"time_d": [0.0, 63.0, 105.0, 147.0, 189.0, 231.0],
           "sum_mm": [50.0, 30.0, 20.0, 0.0, 0.0, 0.0],
           "target_gone": [False, False, False, True, True, True],
           "new_lesion": [False] * 6}


def _table(*records, evaluable=True):
    return pd.DataFrame([{**r, "evaluable": evaluable} for r in records])


def test_a_cr_that_begins_after_the_cutoff_follow_up_counts_only_overall():
    table = _table(LATE_CR, LATE_CR)
    long = pd.DataFrame({"patient_id": 0, **{k: v for k, v in LATE_CR.items()}})
    assert score_patients(long)["bor"].iloc[0] == "CR"
    # followed 120 days at the cutoff (CR starts on day 147): PR; followed 200 days: CR
    assert list(bor_at_cutoff(table, [120.0, 200.0])) == ["PR", "CR"]
    # confirmation needs a later scan within the follow-up: the CR scan alone is not a CR
    assert bor_at_cutoff(table, [150.0, 150.0])[0] == "PR"
    assert list(bor_at_cutoff(_table(LATE_CR, evaluable=False), [500.0])) == [""]


def test_the_follow_up_draw_is_per_patient_whatever_the_chunking():
    whole = cutoff_uniforms(np.arange(10), 3)
    parts = np.concatenate([cutoff_uniforms(np.arange(4), 3), cutoff_uniforms(np.arange(4, 10), 3)])
    assert np.array_equal(whole, parts)
    assert np.all((whole >= 0) & (whole < 1)) and np.unique(whole).size == 10
    assert not np.array_equal(whole, cutoff_uniforms(np.arange(10), 4))
    days = followup_at_cutoff(whole, {"accrual_months": 13.5, "min_follow_up_months": 5.2})
    assert np.all(days >= 5.2 * DAYS_PER_MONTH) and np.all(days <= 18.7 * DAYS_PER_MONTH)


def test_settings_come_from_the_data_file_and_bad_overrides_are_refused():
    assert {"melanoma", "crc_msi_high"} <= set(load_data_cutoffs())
    mel = cutoff_settings("melanoma")
    assert mel["accrual_months"] == 13.5 and mel["min_follow_up_months"] == 5.2
    assert cutoff_settings("melanoma", accrual_months=6)["accrual_months"] == 6.0
    assert cutoff_settings("nsclc") is None
    with pytest.raises(InputError, match="give both"):
        cutoff_settings("nsclc", accrual_months=6)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(InputError, match="--min-follow-up-months"):
            cutoff_settings("melanoma", min_follow_up_months=bad)


def test_command_line_refuses_bad_cutoff_values():
    app = typer.Typer()
    app.command("trial")(trial_command)
    app.command("unused")(lambda: None)
    runner = CliRunner()
    neg = runner.invoke(app, ["trial", "--cohort", "melanoma", "--arm", "nivolumab", "--n", "2",
                              "--accrual-months", "-2", "--out", "unused"])
    assert neg.exit_code == 2 and "--accrual-months" in neg.output
    one = runner.invoke(app, ["trial", "--cohort", "nsclc", "--arm", "nivolumab", "--n", "2",
                              "--min-follow-up-months", "3", "--out", "unused"])
    assert one.exit_code == 2 and "give both" in one.output


def test_trial_reports_the_cutoff_view_the_same_whatever_the_chunk_size(tmp_path):
    kw = {"seed": 2, "days": 126, "progress": False, "figures": False, "replicates": 0}
    # follow-up at the cutoff beyond every scan (3 years): the response at the cutoff is the
    # overall one
    s1 = run_trial("melanoma", ["nivolumab"], 4, tmp_path / "a", chunk_size=4,
                   accrual_months=1.0, min_follow_up_months=40.0, **kw)
    s2 = run_trial("melanoma", ["nivolumab"], 4, tmp_path / "b", chunk_size=1,
                   accrual_months=0.0, min_follow_up_months=0.0, **kw)
    a = pd.read_parquet(tmp_path / "a" / "patients.parquet")
    b = pd.read_parquet(tmp_path / "b" / "patients.parquet")
    assert np.array_equal(a["cutoff_u"], b["cutoff_u"])
    assert np.array_equal(a["cutoff_u"], cutoff_uniforms(a["patient_id"], 2))
    arm = s1["arms"][0]
    assert s1["data_cutoff"]["min_follow_up_months"] == 40.0
    assert arm["cr_rate_at_cutoff"] == arm["cr_rate"] and arm["orr_at_cutoff"] == arm["orr"]
    # a cutoff at enrolment leaves the baseline scan only: no response
    assert s2["arms"][0]["orr_at_cutoff"] == 0.0 and s2["data_cutoff"]["source"] == "override"


def test_the_cutoff_rescores_only_rows_cut_before_their_progression(tmp_path):
    """The summary rescores only rows whose follow-up at the cutoff ends before ``pfs_days``
    (the best response reads scans up to the first progression only): the result equals
    rescoring every row, in memory and streamed from the file."""
    from immunocycle.trial._statistics import summarize_response
    from immunocycle.trial._trial import _add_cutoff

    run_trial("melanoma", ["nivolumab"], 40, tmp_path, seed=3, days=182, progress=False,
              figures=False, replicates=0)
    path = tmp_path / "patients.parquet"
    table = pd.read_parquet(path)
    work = table[table["evaluable"]].reset_index(drop=True)
    cutoff = {"accrual_months": 13.5, "min_follow_up_months": 1.0}
    follow = followup_at_cutoff(work["cutoff_u"].to_numpy(), cutoff)
    cut = follow < work["pfs_days"].to_numpy()
    assert cut.any() and (~cut).any()  # both kinds of rows are exercised
    every = bor_at_cutoff(work, follow)
    expected = summarize_response(work.assign(b=every), ["nivolumab"], bor_col="b")[0]
    for scans in (None, path):
        frame = work.drop(columns=["time_d", "sum_mm", "target_gone", "new_lesion"]) \
            if scans is not None else work
        arms = [{"name": "nivolumab"}]
        _add_cutoff(arms, frame, frame[["arm", "bor"]], ["nivolumab"], cutoff, scans)
        assert arms[0]["orr_at_cutoff"] == expected["orr"]
        assert arms[0]["cr_at_cutoff"] == expected["cr"]
