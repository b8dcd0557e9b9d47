"""Per-arm trial statistics and trial figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from immunocycle.report._trial_figures import (
    kaplan_meier,
    response_by_phenotype,
    spider,
    waterfall,
)
from immunocycle.trial._recist import score_patients
from immunocycle.trial._statistics import normalize_bor, orr_with_ci, summarize_arms

# --------------------------------------------------------------------------------------------
# ORR
# --------------------------------------------------------------------------------------------


def test_orr_wilson_matches_scipy_keynote177():
    # KEYNOTE-177 pembrolizumab: 67/153 responders (43.8 %)
    orr, lo, hi = orr_with_ci(67, 153)
    ci = binomtest(67, 153).proportion_ci(confidence_level=0.95, method="wilson")
    assert orr == pytest.approx(0.438, abs=5e-4)
    assert (lo, hi) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert (lo, hi) == pytest.approx((0.3618, 0.5171), abs=1e-4)


def test_orr_exact_reproduces_published_intervals():
    # CheckMate 066 nivolumab 84/210: 40.0 % (95 % CI 33.3-47.0)
    orr, lo, hi = orr_with_ci(84, 210, method="exact")
    assert (round(100 * orr, 1), round(100 * lo, 1), round(100 * hi, 1)) == (40.0, 33.3, 47.0)
    # KEYNOTE-177: 43.8 % (95 % CI 35.8-52.0)
    _, lo, hi = orr_with_ci(67, 153, method="exact")
    assert (round(100 * lo, 1), round(100 * hi, 1)) == (35.8, 52.0)


@pytest.mark.parametrize("k,n", [(0, 18), (1, 1), (5, 7), (18, 18), (67, 153)])
@pytest.mark.parametrize("method", ["wilson", "exact"])
def test_orr_ci_contains_point_estimate(k, n, method):
    orr, lo, hi = orr_with_ci(k, n, method=method)
    assert 0.0 <= lo <= orr <= hi <= 1.0
    _, lo90, hi90 = orr_with_ci(k, n, method=method, confidence=0.90)
    assert lo <= lo90 and hi90 <= hi


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((3, 0), {}, "n must be >= 1"),
        ((5, 4), {}, "n_responders must lie in"),
        ((-1, 4), {}, "n_responders must be >= 0"),
        ((1.5, 4), {}, "n_responders must be an integer"),
        ((1, 4), {"method": "wald"}, "method must be"),
        ((1, 4), {"confidence": 1.0}, "confidence must lie in"),
    ],
)
def test_orr_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        orr_with_ci(*args, **kwargs)


def test_normalize_bor_maps_irecist_and_rejects_unknown():
    out = normalize_bor(pd.Series(["CR", "iPR", "iUPD", "iCPD", "sd", "NE"]))
    assert list(out) == ["cr", "pr", "pd", "pd", "sd", "ne"]
    with pytest.raises(ValueError, match="not RECIST"):
        normalize_bor(pd.Series(["CR", "MR"]))


# --------------------------------------------------------------------------------------------
# summarize_arms
# --------------------------------------------------------------------------------------------


def _exponential_trial(n=1000, median_ref=150.0, hr=0.6, seed=20240611):
    """Two arms with exponential PFS (known median and hazard ratio), uniform censoring."""
    rng = np.random.default_rng(seed)
    lam = math.log(2.0) / median_ref
    frames = []
    for arm, h in (("chemo", 1.0), ("nivo", hr)):
        t = rng.exponential(1.0 / (lam * h), n)
        c = rng.uniform(300.0, 1200.0, n)
        frames.append(
            pd.DataFrame(
                {
                    "arm": arm,
                    "pfs_days": np.minimum(t, c),
                    "pfs_event": t <= c,
                    "bor": rng.choice(["CR", "PR", "SD", "PD"], n, p=[0.1, 0.3, 0.3, 0.3]),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_median_pfs_and_hazard_ratio_on_exponential_data():
    df = _exponential_trial()
    ref, nivo = summarize_arms(df, ["chemo", "nivo"])
    assert ref["name"] == "chemo" and nivo["name"] == "nivo"
    assert ref["hr_vs_first"] == 1.0 and ref["hr_ci"] is None and ref["logrank_p"] is None
    # true medians 150 d and 250 d
    assert ref["median_pfs_days"] == pytest.approx(150.0, rel=0.12)
    assert nivo["median_pfs_days"] == pytest.approx(250.0, rel=0.12)
    lo, hi = ref["median_pfs_ci_days"]
    assert lo < ref["median_pfs_days"] < hi
    # true HR 0.6
    assert nivo["hr_vs_first"] == pytest.approx(0.6, abs=0.06)
    lo, hi = nivo["hr_ci"]
    assert lo < nivo["hr_vs_first"] < hi and lo < 0.6 < hi
    assert nivo["logrank_p"] < 1e-10
    assert ref["n_events"] == int(df.loc[df.arm == "chemo", "pfs_event"].sum())


def test_hr_of_identical_arms_is_near_one():
    df = _exponential_trial(n=800, hr=1.0, seed=7)
    _, other = summarize_arms(df, ["chemo", "nivo"])
    assert other["hr_ci"][0] < 1.0 < other["hr_ci"][1]
    assert other["logrank_p"] > 0.001


def _small_table():
    return pd.DataFrame(
        {
            "arm": ["A"] * 6 + ["B"] * 4,
            "bor": ["CR", "PR", "SD", "PD", "PD", "NE", "iPR", "iSD", "iUPD", "iCPD"],
            "pfs_days": [300, 250, 120, 40, 42, 10, 200, 150, 80, 60],
            "pfs_event": [False, False, True, True, True, False, False, True, True, True],
            "ae_colitis": [True, False, False, False, False, False, False, False, False, True],
            "ae_pneumonitis": [True, True, False, False, False, False, False, False, False, False],
            "phenotype": [
                "inflamed",
                "inflamed",
                "excluded",
                "desert",
                "desert",
                "desert",
                "inflamed",
                "excluded",
                "excluded",
                "excluded",
            ],
        }
    )


def test_counts_rates_ae_and_phenotypes():
    a, b = summarize_arms(_small_table(), ["A", "B"])
    assert a["n"] == 6
    assert (a["cr"], a["pr"], a["sd"], a["pd"], a["ne"]) == (1, 1, 1, 2, 1)
    assert a["orr"] == pytest.approx(2 / 6)
    assert a["orr_ci"][0] <= a["orr"] <= a["orr_ci"][1]
    assert a["dcr"] == pytest.approx(3 / 6)
    assert a["ae_grade3plus_rate"] == pytest.approx(2 / 6)
    assert a["ae_rates"] == {"colitis": pytest.approx(1 / 6), "pneumonitis": pytest.approx(2 / 6)}
    assert a["phenotype_counts"] == {"inflamed": 2, "excluded": 1, "desert": 3}
    assert a["orr_by_phenotype"] == {"inflamed": 1.0, "excluded": 0.0, "desert": 0.0}
    # iRECIST labels: iUPD and iCPD are PD
    assert (b["cr"], b["pr"], b["sd"], b["pd"]) == (0, 1, 1, 2)
    assert b["phenotype_counts"]["desert"] == 0 and b["orr_by_phenotype"]["desert"] is None
    assert b["orr_by_phenotype"]["excluded"] == 0.0
    assert b["ae_grade3plus_rate"] == pytest.approx(1 / 4)


def test_median_not_reached_is_none_and_no_events_gives_no_hr():
    df = _small_table()
    a, _ = summarize_arms(df, ["A", "B"])
    assert a["median_pfs_days"] == pytest.approx(120.0)  # KM: 0.8, 0.6, 0.4 at 40, 42, 120 d
    df.loc[2, "pfs_event"] = False
    a, _ = summarize_arms(df, ["A", "B"])
    assert a["median_pfs_days"] is None  # KM stays at 0.6 after 42 d: median not reached
    assert a["median_pfs_ci_days"][1] is None
    df2 = df.copy()
    df2.loc[df2.arm == "B", "pfs_event"] = False
    _, b = summarize_arms(df2, ["A", "B"])
    assert b["hr_vs_first"] is None and b["hr_ci"] is None
    assert b["median_pfs_days"] is None and b["n_events"] == 0
    assert 0.0 <= b["logrank_p"] <= 1.0


def test_optional_columns_absent():
    df = _small_table().drop(columns=["ae_colitis", "ae_pneumonitis", "phenotype"])
    (a,) = summarize_arms(df, ["A"])
    assert a["ae_grade3plus_rate"] is None and a["ae_rates"] == {}
    assert a["phenotype_counts"] == {} and a["orr_by_phenotype"] == {}


def test_summarize_arms_bad_input():
    df = _small_table()
    with pytest.raises(ValueError, match="missing required column"):
        summarize_arms(df.drop(columns="pfs_days"), ["A"])
    with pytest.raises(ValueError, match="no patients"):
        summarize_arms(df, ["A", "C"])
    with pytest.raises(ValueError, match="non-empty sequence"):
        summarize_arms(df, "A")
    bad = df.copy()
    bad.loc[0, "pfs_days"] = -1
    with pytest.raises(ValueError, match="pfs_days"):
        summarize_arms(bad, ["A"])
    bad = df.copy()
    bad["pfs_event"] = bad["pfs_event"].astype(object)
    bad.loc[0, "pfs_event"] = "yes"
    with pytest.raises(ValueError, match="pfs_event"):
        summarize_arms(bad, ["A"])
    bad = df.copy()
    bad.loc[0, "bor"] = "MR"
    with pytest.raises(ValueError, match="not RECIST"):
        summarize_arms(bad, ["A"])


def test_pipeline_from_assessments_to_summary():
    """score_patients output feeds summarize_arms directly."""
    rng = np.random.default_rng(1)
    rows = []
    for pid in range(40):
        arm = "io" if pid % 2 else "ctrl"
        rate = -0.01 if arm == "io" else 0.004
        t = np.arange(0, 43 * 7, 42.0)
        s = 40.0 * np.exp((rate + rng.normal(0, 0.004)) * t)
        for ti, si in zip(t, s, strict=True):
            rows.append({"patient_id": pid, "arm": arm, "time_d": ti, "sum_mm": si})
    scored = score_patients(pd.DataFrame(rows), carry=["arm"])
    ctrl, io = summarize_arms(scored, ["ctrl", "io"])
    assert io["orr"] > ctrl["orr"]
    assert ctrl["n"] + io["n"] == 40


# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scored_and_long():
    rng = np.random.default_rng(5)
    rows = []
    for pid in range(30):
        arm = "io" if pid % 2 else "ctrl"
        rate = rng.normal(-0.006 if arm == "io" else 0.003, 0.006)
        t = np.arange(0, 8) * 42.0
        s = 50.0 * np.exp(rate * t)
        for ti, si in zip(t, s, strict=True):
            rows.append(
                {
                    "patient_id": f"p{pid}",
                    "arm": arm,
                    "phenotype": ("inflamed", "excluded", "desert")[pid % 3],
                    "time_d": ti,
                    "sum_mm": si,
                }
            )
    long_df = pd.DataFrame(rows)
    return score_patients(long_df, carry=["arm", "phenotype"]), long_df


def _png_ok(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


def test_figures_write_pngs(tmp_path, scored_and_long):
    from matplotlib.figure import Figure

    scored, long_df = scored_and_long
    figs = {
        "waterfall.png": lambda p: waterfall(scored, p),
        "spider.png": lambda p: spider(long_df, p, color_by="arm"),
        "km.png": lambda p: kaplan_meier(scored, ["ctrl", "io"], p),
        "phenotype.png": lambda p: response_by_phenotype(scored, p),
        "waterfall_irecist.png": lambda p: waterfall(scored, p, bor_col="irecist_bor"),
    }
    for name, make in figs.items():
        fig = make(tmp_path / name)
        assert isinstance(fig, Figure)
        _png_ok(tmp_path / name)
    assert isinstance(spider(long_df), Figure)  # no path: nothing written, figure returned


def test_figure_bad_input(scored_and_long):
    scored, long_df = scored_and_long
    with pytest.raises(ValueError, match="missing required column"):
        waterfall(scored.drop(columns="bor"))
    with pytest.raises(ValueError, match="no patients"):
        kaplan_meier(scored, ["ctrl", "nope"])
    with pytest.raises(ValueError, match="no finite values"):
        waterfall(scored.assign(best_pct_change=np.nan))
    with pytest.raises(ValueError, match="baseline sum_mm"):
        spider(long_df.assign(sum_mm=0.0))


def test_paired_patients_keeps_those_included_and_evaluable_in_every_arm() -> None:
    """One set of patients behind every paired comparison: a patient out of any arm (not
    evaluable there, excluded, or missing from it) is out of all; replicates pair separately."""
    from immunocycle.trial import paired_patients

    rows = []
    for rep in (0, 1):
        for pid in range(5):
            for arm in ("a", "b", "c"):
                if (pid, arm) == (3, "c"):
                    continue  # patient 3 never got arm c
                rows.append({"replicate": rep, "patient_id": pid, "arm": arm,
                             "included": pid != 1,
                             "evaluable": not (pid == 2 and arm == "b" and rep == 0)})
    frame = pd.DataFrame(rows)
    got = paired_patients(frame)
    assert sorted(set(got.loc[got["replicate"] == 0, "patient_id"])) == [0, 4]
    assert sorted(set(got.loc[got["replicate"] == 1, "patient_id"])) == [0, 2, 4]
    # over arms a and c only, patient 2 (not evaluable in b) pairs; patient 3 (no c) does not
    ac = paired_patients(frame[frame["replicate"] == 0].drop(columns="replicate"), ["a", "c"])
    assert sorted(set(ac["patient_id"])) == [0, 2, 4] and set(ac["arm"]) == {"a", "c"}
