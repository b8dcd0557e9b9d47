"""Virtual mouse studies: each syngeneic model's untreated growth and baseline phenotype, the MC38
calibration targets, the study statistics (CR, TGI, survival), reproducibility, bad input, report."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from immunocycle.cli import app
from immunocycle.population import available_mouse_models, load_mouse_model
from immunocycle.trial import StudyResult, run_study, tgi_pct
from immunocycle.trial._study import caliper, measurement_days, summarize_study

MODELS = ("mc38", "ct26", "b16f10", "4t1", "emt6")


@pytest.fixture(scope="module")
def untreated():
    """An untreated group of 8 mice per model, 14 days."""
    return {m: run_study(m, ["untreated"], mice=8, days=14, seed=1) for m in MODELS}


def test_the_five_models_are_packaged():
    assert set(MODELS) <= set(available_mouse_models())


@pytest.mark.parametrize("model", MODELS)
def test_untreated_doubling_time_is_within_30_percent_of_the_cited_value(untreated, model):
    arm = untreated[model].summary["per_arm"]["untreated"]
    cited = load_mouse_model(model).doubling_time.value
    assert arm["doubling_time_days"] == pytest.approx(cited, rel=0.30)
    assert arm["solver_failures"] == 0


@pytest.mark.parametrize("model", MODELS)
def test_most_mice_read_as_the_published_baseline_phenotype(untreated, model):
    shares = untreated[model].summary["per_arm"]["untreated"]["phenotype_at_start"]
    expected = load_mouse_model(model).phenotype.label
    assert max(shares, key=shares.get) == expected


@pytest.fixture(scope="module")
def mc38():
    return run_study("mc38", ["isotype", "anti_pdl1_mouse"], mice=10, days=28, seed=0)


def test_mc38_reproduces_the_calibration_targets(mc38):
    # calibration_targets.md (Mariathasan 2018): untreated 165 -> 265 / 580 / 945 mm3 at days
    # 3 / 7 / 10; anti-PD-L1 290 / 345 mm3 at days 7 / 10 and complete regression in 0-10 %.
    iso = mc38.measurements.query("arm == 'isotype'").groupby("day")["volume_mm3"].median()
    for day, target in ((3, 265.0), (7, 580.0), (10, 945.0)):
        assert iso.loc[day] == pytest.approx(target, rel=0.25)
    pdl1 = mc38.measurements.query("arm == 'anti_pdl1_mouse'").groupby("day")["volume_mm3"]
    pdl1 = pdl1.median()
    assert pdl1.loc[7] == pytest.approx(290.0, rel=0.25)
    assert pdl1.loc[10] == pytest.approx(345.0, rel=0.25)
    arm = mc38.summary["per_arm"]["anti_pdl1_mouse"]
    assert 0.0 <= arm["cr_fraction"] <= 0.10
    assert arm["tgi_pct"] > 50 and arm["p_logrank"] < 0.05
    assert mc38.summary["per_arm"]["isotype"]["p_logrank"] is None


def test_summary_has_the_per_arm_fields(mc38):
    for arm in mc38.summary["per_arm"].values():
        for key in ("cr_fraction", "tgi_pct", "median_survival_days", "p_logrank"):
            assert key in arm


def test_same_seed_same_study_other_seed_other_mice():
    a = run_study("emt6", ["isotype"], mice=3, days=7, seed=5)
    b = run_study("emt6", ["isotype"], mice=3, days=7, seed=5)
    c = run_study("emt6", ["isotype"], mice=3, days=7, seed=6)
    pd.testing.assert_frame_equal(a.measurements, b.measurements)
    pd.testing.assert_frame_equal(a.mice, b.mice)
    assert not np.allclose(a.mice["k_C_growth"], c.mice["k_C_growth"])


def test_a_longer_study_measures_the_same_mice_alike_on_the_common_days():
    short = run_study("mc38", ["isotype"], mice=3, days=7, seed=2).measurements
    long = run_study("mc38", ["isotype"], mice=3, days=14, seed=2).measurements
    both = short.merge(long, on=["arm", "mouse", "day"])
    assert len(both) == len(short)
    np.testing.assert_allclose(both["volume_mm3_x"], both["volume_mm3_y"], rtol=1e-6)


def test_catalog_therapies_join_mouse_arms_with_mouse_exposure():
    from immunocycle.trial import resolve_mouse_arm

    therapies = resolve_mouse_arm("doxil+anti_pd1_mouse")
    assert [t.name for t in therapies] == ["doxil", "anti_pd1_mouse"]
    assert {t.species for t in therapies} == {"mouse"}
    s = run_study("ct26", ["isotype", "doxil+anti_pd1_mouse"], mice=2, days=3, seed=0)
    assert s.summary["per_arm"]["doxil+anti_pd1_mouse"]["solver_failures"] == 0
    with pytest.raises(ValueError, match="human"):
        resolve_mouse_arm("nivolumab")


def test_groups_are_different_mice():
    s = run_study("emt6", ["isotype", "untreated"], mice=3, days=3, seed=0)
    g = s.mice.set_index(["arm", "mouse"])["k_C_growth"]
    assert not np.allclose(g.loc["isotype"].to_numpy(), g.loc["untreated"].to_numpy())


def test_caliper_noise_has_the_cited_cv_and_median_true_volume():
    rng = np.random.default_rng(0)
    measured = caliper(np.full(20000, 500.0), 0.15, rng)
    assert np.median(measured) == pytest.approx(500.0, rel=0.01)
    assert np.std(measured) / np.mean(measured) == pytest.approx(0.15, rel=0.05)


def test_measurement_days_are_twice_weekly():
    assert measurement_days(17, [0, 3]).tolist() == [0, 3, 7, 10, 14, 17]


def test_tgi_is_100_when_treated_tumors_do_not_grow_and_0_when_they_grow_as_controls():
    control = np.array([[100.0, 1100.0], [100.0, 900.0]])
    assert tgi_pct(np.array([[100.0, 100.0]]), control) == pytest.approx(100.0)
    assert tgi_pct(control, control) == pytest.approx(0.0)
    assert tgi_pct(np.array([[100.0, 550.0]]), control) == pytest.approx(50.0)


def _synthetic() -> StudyResult:
    """Two groups of 4: controls reach 1500 mm3 on days 7, 7, 10, 10; treated: 2 complete
    regressions, 1 stable, 1 reaching the endpoint on day 14."""
    days = [0.0, 3.0, 7.0, 10.0, 14.0]
    ctrl = {0: [100, 400, 1600], 1: [100, 500, 1700], 2: [100, 300, 900, 1600],
            3: [100, 300, 800, 1550]}
    trt = {0: [100, 50, 10, 3, 1], 1: [100, 60, 20, 4, 2], 2: [100, 100, 100, 100, 100],
           3: [100, 300, 700, 1000, 1600]}
    rows, mice = [], []
    for arm, groups in (("control", ctrl), ("treated", trt)):
        for m, vols in groups.items():
            rows += [{"arm": arm, "mouse": m, "day": d, "volume_mm3": float(v),
                      "true_volume_mm3": float(v)} for d, v in zip(days, vols, strict=False)]
            end = days[len(vols) - 1] if vols[-1] >= 1500 else np.nan
            mice.append({"arm": arm, "mouse": m, "endpoint_day": end,
                         "days_on_study": days[len(vols) - 1], "last_volume_mm3": vols[-1],
                         "complete_regression": bool(vols[-1] < 5.0 and np.isnan(end)),
                         "growth_rate_per_day": 0.1, "phenotype_at_start": "inflamed",
                         "solver_status": "ok"})
    return StudyResult("mc38", ["control", "treated"], pd.DataFrame(rows), pd.DataFrame(mice))


def test_cr_fraction_survival_and_logrank_on_a_known_study():
    s = summarize_study(_synthetic(), endpoint_volume=1500.0, start_volume=100.0, days=14.0,
                        mice=4, seed=0)
    ctrl, trt = s["per_arm"]["control"], s["per_arm"]["treated"]
    assert s["last_common_day"] == 7.0  # two controls measured at the endpoint on day 7, then out
    assert ctrl["cr_fraction"] == 0.0 and trt["cr_fraction"] == 0.5
    assert ctrl["median_survival_days"] == pytest.approx(7.0)  # half the controls out on day 7
    assert trt["median_survival_days"] is None  # 3 of 4 never reach the endpoint
    assert 0 < trt["p_logrank"] < 0.05
    # TGI on day 7: treated mean change (10+20+100+700)/4 - 100 = 107.5; controls 1150
    assert trt["tgi_pct"] == pytest.approx(100 * (1 - 107.5 / 1150.0))


@pytest.mark.parametrize("args, words", [
    (["--model", "emt7"], ["unknown mouse model", "emt6"]),
    (["--model", "emt6", "--mice", "0"], ["--mice", "between 1 and"]),
    (["--model", "emt6", "--mice", "1000000"], ["--mice", "between 1 and"]),
    (["--model", "emt6", "--start-volume", "200", "--endpoint-volume", "150"],
     ["endpoint", "start volume"]),
    (["--model", "emt6", "--arm", "anti_pdl1_mous"], ["unknown therapy", "anti_pdl1_mouse"]),
    (["--model", "emt6", "--arm", "anti_pd1_mouse@5"], ["--arm", "no units"]),
])
def test_bad_input_is_one_line_with_exit_2(tmp_path, args, words):
    argv = ["study", *args, "--out", str(tmp_path / "s")]
    if "--arm" not in args:
        argv += ["--arm", "isotype"]
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "Traceback" not in res.output and text.count("error:") == 1
    for w in words:
        assert w in text


def test_cli_json_and_report_render_a_study_folder(tmp_path):
    from immunocycle.report import render_report

    out = tmp_path / "study"
    res = CliRunner().invoke(app, ["study", "--model", "emt6", "--arm", "isotype", "--arm",
                                   "anti_pdl1_mouse+anti_tgfb_mouse", "--mice", "3", "--days",
                                   "7", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert set(summary["per_arm"]) == {"isotype", "anti_pdl1_mouse+anti_tgfb_mouse"}
    assert json.loads((out / "summary.json").read_text())["model"] == "emt6"
    for name in ("measurements.parquet", "mice.parquet", "volumes.png", "survival.png",
                 "inputs.json", "manifest.json"):
        assert (out / name).is_file(), name
    page = render_report(out).read_text()
    assert "Virtual mouse study" in page and 'data-fig="study_volumes"' in page
    assert "anti_pdl1_mouse+anti_tgfb_mouse" in page
