"""Complete responses (issue #20): detection limit per lesion site, eradication, CR outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from immunocycle.trial import (
    best_overall_response,
    irecist_timepoints,
    lesion_sites,
    orr_with_ci,
    recist_timepoints,
    record_lesions,
    score_patients,
    summarize_trial,
)

T5 = [0.0, 42.0, 84.0, 126.0, 168.0]


def test_sites_come_from_the_data_file_with_sources():
    sites = lesion_sites()
    assert sites["ct"].detection_limit_mm == pytest.approx(5.0)
    assert sites["lymph_node"].normal_below_mm == pytest.approx(10.0)
    assert all("Eisenhauer" in s.source for s in sites.values())


def test_lesion_under_detection_limit_is_cr_and_pd_again_when_it_regrows():
    # simulated diameters: shrinks under 5 mm (not seen), then regrows to 7 mm
    sums, gone = record_lesions([40.0, 12.0, 3.0, 2.0, 7.0], "ct")
    assert sums.tolist() == [40.0, 12.0, 0.0, 0.0, 7.0]
    assert gone.tolist() == [False, False, True, True, False]
    assert recist_timepoints(T5, sums, target_gone=gone) == ["BL", "PR", "CR", "CR", "PD"]
    assert irecist_timepoints(T5, sums, target_gone=gone) == ["BL", "iPR", "iCR", "iCR", "iUPD"]
    # confirmed CR (84 d, again at 126 d) before the progression
    assert best_overall_response(T5, sums) == "CR"
    # regrowth that stays under the limit stays scored as gone
    sums2, gone2 = record_lesions([40.0, 12.0, 3.0, 4.9], "ct")
    assert recist_timepoints(T5[:4], sums2, target_gone=gone2) == ["BL", "PR", "CR", "CR"]


def test_regrowth_is_pd_only_past_20_percent_and_5_mm_over_the_nadir():
    # a PR nadir of 30 mm: 35.9 mm is +5.9 mm but +19.7 % (SD), 36 mm is +20 % and +6 mm (PD)
    sums, gone = record_lesions([50.0, 30.0, 35.9], "ct")
    assert recist_timepoints(T5[:3], sums, target_gone=gone) == ["BL", "PR", "SD"]
    sums, gone = record_lesions([50.0, 30.0, 36.0], "ct")
    assert recist_timepoints(T5[:3], sums, target_gone=gone) == ["BL", "PR", "PD"]
    # a nadir of 10 mm: 14 mm is +40 % but only +4 mm (still PR), 15 mm is PD
    sums, gone = record_lesions([50.0, 10.0, 14.0, 15.0], "ct")
    assert recist_timepoints(T5[:4], sums, target_gone=gone) == ["BL", "PR", "PR", "PD"]
    # after a CR (recorded nadir 0 mm) a lesion seen again at the limit adds >= 5 mm: PD
    sums, gone = record_lesions([50.0, 3.0, 5.0], "ct")
    assert recist_timepoints(T5[:3], sums, target_gone=gone) == ["BL", "CR", "PD"]


def test_lymph_node_under_10_mm_short_axis_is_normal():
    sums, gone = record_lesions([16.0, 12.0, 9.0], "lymph_node")
    assert sums.tolist() == [16.0, 12.0, 9.0]  # a normal node keeps its size in the sum
    assert gone.tolist() == [False, False, True]
    assert recist_timepoints(T5[:3], sums, target_gone=gone) == ["BL", "SD", "CR"]
    # two lesions: every one must be gone
    both = np.array([[30.0, 16.0], [3.0, 11.0], [3.0, 9.0]])
    sums, gone = record_lesions(both, ["ct", "lymph_node"])
    assert sums.tolist() == [46.0, 11.0, 9.0]
    assert gone.tolist() == [False, False, True]


def test_record_lesions_refuses_bad_input():
    with pytest.raises(ValueError, match="lesion site"):
        record_lesions([10.0], "bone")
    with pytest.raises(ValueError, match="sites"):
        record_lesions(np.ones((3, 2)) * 20, ["ct"])
    with pytest.raises(ValueError, match="diameters_mm"):
        record_lesions([20.0, -1.0], "ct")


def test_score_patients_uses_target_gone_and_reports_response_starts():
    sums, gone = record_lesions([16.0, 12.0, 9.0, 9.0], "lymph_node")
    df = pd.DataFrame({"patient_id": 1, "time_d": T5[:4], "sum_mm": sums, "target_gone": gone})
    row = score_patients(df).iloc[0]
    assert row["bor"] == "CR"
    assert row["cr_start_days"] == 84.0
    assert row["response_start_days"] == 84.0
    without = score_patients(df.drop(columns="target_gone")).iloc[0]
    assert without["bor"] == "PR"  # by the sum alone a normal node is not gone


def test_eradicated_tumor_stays_at_zero():
    from immunocycle.cycle import compiled_cycle_model
    from immunocycle.engine import simulate

    model = compiled_cycle_model("human")
    times = np.linspace(0.0, 365.0, 74)
    # half a cell: extinct; five cells: a living tumor that regrows; half a cell without the
    # switch (h_extinct = 0: growth at half rate for any C) grows back past one cell
    res = simulate(model, times, parameters={"C_0": np.array([0.5, 5.0, 0.5]),
                                             "h_extinct": np.array([4.0, 4.0, 0.0])})
    assert np.all(res.status == 0)
    cells = res["C"]
    assert np.all(cells[0] < 1.0) and np.all(np.diff(cells[0]) <= 0)
    assert cells[1, -1] > 50.0
    assert cells[2, -1] > 1.0  # without the switch a fraction of a cell regrows
    recorded, gone = record_lesions(res["tumor_diameter"][0], "ct")
    assert np.all(recorded == 0.0) and np.all(gone)


def _patients(n_cr: int, n_pr: int, n: int) -> pd.DataFrame:
    bor = ["CR"] * n_cr + ["PR"] * n_pr + ["SD"] * (n - n_cr - n_pr)
    return pd.DataFrame({
        "patient_id": np.arange(n), "arm": "nivolumab", "bor": bor,
        "irecist_bor": ["i" + b for b in bor], "pfs_days": 84.0 + np.arange(n),
        "pfs_event": np.arange(n) % 2 == 0, "phenotype": "inflamed", "included": True,
        "evaluable": True, "exclusion": "", "status": 0})


def test_cr_rate_and_its_ci_are_in_the_trial_summary():
    summary = summarize_trial(_patients(8, 32, 100), ["nivolumab"])
    arm = summary["arms"][0]
    assert arm["cr"] == 8
    _, lo, hi = orr_with_ci(8, 100)
    assert arm["cr_rate"] == pytest.approx(0.08)
    assert arm["cr_rate_ci"] == pytest.approx([lo, hi])
    assert arm["orr"] == pytest.approx(0.40)
    from rich.console import Console

    from immunocycle import _summaries

    console = Console(width=200, record=True)
    console.print(_summaries.trial(summary))
    text = console.export_text()
    assert "complete response (95 % CI): nivolumab 8 %" in " ".join(text.split())


def test_waterfall_marks_cr_at_minus_100_and_swimmer_draws_responders():
    from immunocycle.report import swimmer, waterfall

    df = pd.DataFrame({"best_pct_change": [-95.0, -40.0, 10.0], "bor": ["CR", "PR", "SD"],
                       "pfs_days": [365.0, 168.0, 84.0], "pfs_event": [False, True, True],
                       "response_start_days": [42.0, 84.0, np.nan],
                       "cr_start_days": [84.0, np.nan, np.nan]})
    fig = waterfall(df)
    heights = sorted(p.get_height() for p in fig.axes[0].patches)
    assert heights[0] == pytest.approx(-100.0)
    fig = swimmer(df)
    bars = [p for p in fig.axes[0].patches if p.get_width() > 0]
    assert sorted(p.get_width() for p in bars) == [168.0, 365.0]  # the SD patient is not drawn
    # the durable CR (no progression at its last scan, 365 d) ends in an arrow, the PR that
    # progressed at 168 d in a cross; the CR is marked where it began (84 d)
    ax = fig.axes[0]
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 1 and arrows[0].xy[0] > 365.0
    marks = {line.get_marker(): line.get_xdata().tolist() for line in ax.lines}
    assert marks["x"] == [168.0]
    assert 84.0 in marks["D"]
    with pytest.raises(ValueError, match="responder"):
        swimmer(df[df["bor"] == "SD"])


def test_cr_multiplier_scales_the_cr_parameter_and_is_checked(tmp_path):
    from immunocycle.population import load_cohort
    from immunocycle.trial import make_task

    # No packaged cohort fits a CR rate (CR rates are not calibration targets): a cohort file
    # that declares one exercises the machinery.
    raw = load_cohort("melanoma").model_dump(mode="json")
    raw["calibration"].update(cr_parameter="k_TE_death", cr=0.076)
    declared = tmp_path / "melanoma_cr.yaml"
    declared.write_text(yaml.safe_dump(raw))
    task = make_task(declared, ["nivolumab"], cr_multiplier=0.5)
    assert task.cohort.calibration.cr_parameter == "k_TE_death"
    assert task.cohort.parameters["k_TE_death"].median == pytest.approx(0.05)
    raw["calibration"]["cr_parameter"] = "not_a_parameter"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError, match="cr_parameter"):
        load_cohort(bad)
