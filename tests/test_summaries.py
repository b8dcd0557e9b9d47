"""One-screen summaries: every command without --json prints its key numbers with units."""

import json

from rich.console import Console
from typer.testing import CliRunner

from immunocycle import _summaries
from immunocycle.cli import app

runner = CliRunner()


def _text(renderable, width: int = 120) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return " ".join(console.export_text().split())  # cells and wrapped captions on one line


def test_pk_summary_shows_delivery_half_life_and_exposure_with_units():
    summary = {"de24": 3.21, "de168": float("nan"), "demax": 4.56, "blood_half_life_h": 17.9,
               "lymph_node_max_pct_id": 2.34, "auc_tumor_over_blood": 0.0789,
               "pct_id_at_24h": {"liver": 41.0, "spleen": 12.0, "tumor": 3.21},
               "out_of_domain": True, "domain_notes": "diameter_nm 900 above 500",
               "free_payload_auc": {"blood": 1.5, "tumor": 0.25}}
    text = _text(_summaries.pk(summary))
    for shown in ("DE24", "3.21 %ID", "past the horizon", "4.56 %ID", "17.9 h", "2.34 %ID",
                  "0.0789 (ratio)", "liver 41", "1.5 mg h/L", "diameter_nm 900 above 500"):
        assert shown in text, (shown, text)


def test_trial_summary_shows_orr_ci_pfs_and_ae_per_arm():
    summary = {"n_sampled": 120, "n_included": 100, "n_selected": 100, "arms": [
        {"name": "nivolumab", "n": 100, "orr": 0.4, "orr_ci": [0.31, 0.5],
         "median_pfs_days": 212.4, "hr_vs_first": 1.0, "ae_grade3plus_rate": 0.17},
        {"name": "nivolumab+ipilimumab", "n": 100, "orr": 0.58, "orr_ci": [0.48, 0.67],
         "median_pfs_days": None, "hr_vs_first": 0.62, "ae_grade3plus_rate": 0.55}]}
    text = _text(_summaries.trial(summary))
    for shown in ("nivolumab+ipilimumab", "40 % (31\u201350 %)", "58 % (48\u201367 %)", "212 d",
                  "not reached", "0.62", "17 %", "55 %", "included 100"):
        assert shown in text, (shown, text)


def test_simulate_summary_reads_either_limiting_step_form():
    preset = {"preset": "excluded", "therapies": ["nivolumab"], "reached_diagnosis": True,
              "phenotype_at_start": "excluded", "phenotype_at_end": "inflamed",
              "limiting_step": {"at_diagnosis": 5, "at_end": 7}, "cycle_gain": 0.812,
              "diameter_mm_start": 31.46, "diameter_mm_end": 12.04, "pd1_occupancy_mean": 0.93,
              "end_day": 84.0}
    text = _text(_summaries.simulate(preset))
    for shown in ("excluded \u2192 inflamed", "5 infiltration (at diagnosis)",
                  "7 killing (at end)", "31.5 \u2192 12.0 mm", "93 %", "0.812", "84 days"):
        assert shown in text, (shown, text)
    assert "4 trafficking" in _text(_summaries.simulate({**preset, "limiting_step": 4}))
    model = {"model": "kuznetsov1994", "days": 30.0, "status": "ok",
             "final": {"E": 0.3251, "T": 412.7}}
    text = _text(_summaries.simulate(model))
    assert "kuznetsov1994" in text and "ok" in text and "412.7" in text and "30 days" in text


def test_diagnose_and_design_summaries():
    diag = {"source": "preset:excluded", "limiting_step": 5, "phenotype": "excluded",
            "cycle_gain": 0.43, "step_scores": [0.5, 0.6, 0.55, 0.5, 0.12, 0.5, 0.45],
            "sensitivity": {"5": 0.91}, "barriers": ["stromal_barrier", "tgfb"],
            "barrier_scores": {"stromal_barrier": 0.88, "tgfb": 0.61},
            "cohort": {"n": 20, "phenotype_shares": {"excluded": 0.65, "desert": 0.35}}}
    text = _text(_summaries.diagnose(diag))
    for shown in ("5 infiltration", "0.12", "0.91", "stromal_barrier", "0.88",
                  "excluded 65 %", "20 patients"):
        assert shown in text, (shown, text)
    design = {"target": "preset:excluded", "limiting_step": 5, "pareto": ["a+b"],
              "recommendations": [
                  {"regimen": "a+b", "orr": 0.35, "orr_ci": [0.2, 0.5], "median_pfs_days": 150,
                   "ae_grade3plus_rate": 0.1},
                  {"regimen": "nivolumab", "orr": 0.1, "orr_ci": [0.03, 0.3],
                   "median_pfs_days": None, "ae_grade3plus_rate": None}]}
    text = _text(_summaries.design(design))
    for shown in ("a + b", "35 % (20\u201350 %)", "150 d", "not reached", "10 %", "\u2713"):
        assert shown in text, (shown, text)


def test_bench_summary_units_from_keys():
    text = _text(_summaries.bench({"case": "startup", "help_s": 0.4321, "limit_s": 1.0,
                                   "ratio_vs_scipy": 12.5, "runs_s": {"help": [0.4]}}))
    assert "help s" in text and "0.4321 s" in text and "12.5 \u00d7" in text
    assert "runs" not in text  # nested entries stay in the JSON file


def test_catalog_show_prints_a_card_with_dose_effects_and_dois():
    raw = json.loads(runner.invoke(app, ["catalog", "show", "doxil", "--json"]).stdout)
    res = runner.invoke(app, ["catalog", "show", "doxil"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "{" not in res.stdout and "'" + "kind" not in res.stdout  # not a raw dict
    assert raw["name"] in res.stdout
    assert f"{raw['dose']['amount']:g} {raw['dose']['units']}" in res.stdout
    assert raw["schedule"]["label"] in res.stdout
    for effect in raw["effects"]:
        assert effect["parameter"] in res.stdout
    for item in raw["evidence_items"]:
        assert f"doi:{item['doi']}" in res.stdout
    for barrier in raw["barriers"]:
        assert barrier in res.stdout


def test_cohort_list_and_show_tables():
    rows = json.loads(runner.invoke(app, ["cohort", "list", "--json"]).stdout)
    listing = runner.invoke(app, ["cohort", "list"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0, listing.output
    for r in rows:
        assert r["name"] in listing.stdout
    melanoma = next(r for r in rows if r["name"] == "melanoma")
    assert f"{100 * melanoma['target_orr']:.0f} %" in listing.stdout
    shown = runner.invoke(app, ["cohort", "show", "melanoma"], env={"COLUMNS": "200"})
    data = json.loads(runner.invoke(app, ["cohort", "show", "melanoma", "--json"]).stdout)
    assert shown.exit_code == 0 and data["tmb"]["units"] in shown.stdout
    assert "mutations/Mb" in shown.stdout and "k_C_growth" in shown.stdout


def test_demo_prints_the_design_and_trial_it_wrote(tmp_path, capsys):
    from immunocycle._commands.demo import _show_results

    (tmp_path / "trial").mkdir()
    (tmp_path / "design.json").write_text(json.dumps({
        "target": "cohort:excluded", "limiting_step": 5, "pareto": ["x+nivolumab"],
        "recommendations": [{"regimen": "x+nivolumab", "orr": 0.25, "orr_ci": [0.1, 0.4],
                             "median_pfs_days": 120.0, "ae_grade3plus_rate": 0.05}]}))
    (tmp_path / "trial" / "summary.json").write_text(json.dumps({"arms": [
        {"name": "nivolumab", "n": 50, "orr": 0.08, "orr_ci": [0.03, 0.19],
         "median_pfs_days": 61.0, "hr_vs_first": 1.0, "ae_grade3plus_rate": 0.02}]}))
    _show_results(tmp_path, tmp_path / "report.html")
    out = " ".join(capsys.readouterr().out.split())
    for shown in ("x + nivolumab", "25 % (10\u201340 %)", "120 d", "8 % (3\u201319 %)", "61 d",
                  "report.html"):
        assert shown in out, (shown, out)
