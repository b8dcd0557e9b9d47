"""Response-only summaries (iRECIST, the data cutoff) and the waterfall of large trials."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection

from immunocycle._errors import InputError
from immunocycle.report import _trial_figures
from immunocycle.trial._statistics import summarize_arms, summarize_response

RESPONSE_KEYS = ("name", "n", "orr", "orr_ci", "cr", "pr", "sd", "pd", "ne", "cr_rate",
                 "cr_rate_ci", "dcr")


def _patients(seed: int = 0, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "arm": np.repeat(["a", "b"], n // 2),
        "bor": rng.choice(["CR", "PR", "SD", "PD", "NE"], n),
        "pfs_days": rng.uniform(10, 300, n),
        "pfs_event": rng.random(n) < 0.7,
        "best_pct_change": rng.uniform(-100, 80, n),
    })


def test_response_summary_is_the_response_part_of_the_arm_summary():
    df = _patients()
    full = summarize_arms(df, ["a", "b"])
    short = summarize_response(df, ["a", "b"])
    for f, s in zip(full, short, strict=True):
        assert {k: f[k] for k in RESPONSE_KEYS} == s
        assert "median_pfs_days" not in s and "hr_vs_first" not in s
    assert summarize_response(df, ["b"])[0]["n"] == 30
    with pytest.raises(InputError, match="missing required column"):
        summarize_response(df.drop(columns="bor"), ["a"])
    with pytest.raises(InputError, match="no patients"):
        summarize_response(df, ["c"])
    with pytest.raises(ValueError):
        summarize_response(df.assign(bor="maybe"), ["a"])


def test_a_waterfall_of_many_patients_draws_one_line_each(monkeypatch):
    df = _patients(n=40)
    few = _trial_figures.waterfall(df, None)
    assert len(few.axes[0].patches) == 40  # bars
    monkeypatch.setattr(_trial_figures, "MAX_WATERFALL_BARS", 10)
    many = _trial_figures.waterfall(df, None)
    ax = many.axes[0]
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert not ax.patches and len(lines) == 1 and len(lines[0].get_segments()) == 40
    # sorted from the largest increase down, as the bars
    tops = [seg[1][1] for seg in lines[0].get_segments()]
    assert tops[0] == pytest.approx(df["best_pct_change"].max()) and np.all(np.diff(tops) <= 0)
