"""The validation scorecard: targets as data, check kinds, verdicts, the command's exit codes."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from immunocycle.cli import app
from immunocycle.validate import (
    KINDS,
    Context,
    Measurement,
    Target,
    evaluate,
    load_targets,
    run_validation,
)

runner = CliRunner()

RENAL = {"id": "renal", "group": "delivery", "what": "renal cutoff (nm)", "source": "Choi 2007",
         "doi": "10.1038/nbt1340", "value": 5.5, "units": "nm", "band": [5.0, 6.0],
         "check": {"kind": "renal_cutoff"}}


def _write(tmp_path, entries, name="t.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"targets": entries}))
    return path


def test_packaged_targets_load_and_name_known_kinds():
    targets = load_targets()
    assert len(targets) >= 60
    assert len({t.id for t in targets}) == len(targets)
    for t in targets:
        assert t.source and (t.status != "active" or t.check["kind"] in KINDS), t.id
        if t.status == "active":
            lo, hi = t.interval()
            assert lo <= hi
    ids = {t.id for t in targets}
    # the second round's figures are all there
    for needed in ("keynote006_ipilimumab_orr", "atkins1999_il2_orr", "echo301_pfs_hr",
                   "gradishar2005_nab_paclitaxel_orr", "checkmate017_docetaxel_orr",
                   "constraint_peak_cd8_blood", "constraint_orr_gain", "mm302_human_tumor_deposition_24h",
                   "crlx101_human_clearance", "myocet_human_clearance",
                   "impassion130_orr_gain_over_nab_paclitaxel"):
        assert needed in ids


def test_renal_cutoff_kind_computes_the_half_filtration_diameter():
    from immunocycle.pk import renal_sieving

    m = KINDS["renal_cutoff"]({"kind": "renal_cutoff"}, Context(quick=True))
    assert renal_sieving(m.value) == pytest.approx(0.5, abs=1e-9)
    assert 5.0 <= m.value <= 6.0


def test_lymph_drainage_ratio_falls_with_size():
    m = KINDS["lymph_drainage_ratio"]({"kind": "lymph_drainage_ratio", "small": 30, "large": 200},
                                      Context(quick=True))
    assert m.value > 1.0


def test_bands_and_verdicts():
    assert Target(**{**RENAL, "band": {"wilson": [0, 18]}}).interval()[1] == pytest.approx(0.176, abs=1e-3)
    assert Target(**{**RENAL, "band": {"relative": 0.25}}).interval() == pytest.approx((4.125, 6.875))
    # a sampled value passes when its interval overlaps the band, a point value only inside it
    KINDS["_test_point"] = lambda check, ctx: Measurement(0.30, None)
    KINDS["_test_sampled"] = lambda check, ctx: Measurement(0.30, (0.25, 0.36))
    try:
        point = Target(**{**RENAL, "band": [0.33, 0.47], "check": {"kind": "_test_point"}})
        sampled = Target(**{**RENAL, "band": [0.33, 0.47], "check": {"kind": "_test_sampled"}})
        assert evaluate(point, Context())["status"] == "fail"
        assert evaluate(sampled, Context())["status"] == "pass"
        gap = Target(**{**RENAL, "band": [0.33, 0.47], "check": {"kind": "_test_point"},
                        "known_gap": "issue 99"})
        assert evaluate(gap, Context())["status"] == "known gap"
        slow = Target(**{**RENAL, "quick": False})
        assert evaluate(slow, Context(quick=True))["status"] == "full run only"
        assert evaluate(slow, Context(quick=False))["status"] == "pass"
    finally:
        del KINDS["_test_point"], KINDS["_test_sampled"]


def test_not_yet_modelled_is_shown_never_passed(tmp_path):
    path = _write(tmp_path, [{**RENAL, "id": "x", "status": "not yet modelled",
                              "reason": "issue 16", "check": {}}])
    card = run_validation(load_targets([path]))
    assert card.rows[0]["status"] == "not yet modelled" and card.rows[0]["pass"] is None
    assert not card.failed


def test_json_shape_and_exit_0(tmp_path):
    path = _write(tmp_path, [RENAL, {**RENAL, "id": "later", "status": "not yet modelled",
                                     "reason": "issue 15"}])
    res = runner.invoke(app, ["validate", "--targets", str(path), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["target"] for r in rows] == ["renal", "later"]
    for key in ("target", "source", "model", "band", "pass"):
        assert all(key in r for r in rows)
    assert rows[0]["pass"] is True and rows[0]["band"] == [5.0, 6.0]
    assert rows[0]["model"] == pytest.approx(5.5, rel=1e-6)
    assert rows[1]["pass"] is None


def test_broken_band_fails_with_exit_1_and_writes_the_scorecard(tmp_path):
    path = _write(tmp_path, [{**RENAL, "band": [1.0, 2.0]}])
    out = tmp_path / "card"
    res = runner.invoke(app, ["validate", "--targets", str(path), "--out", str(out)])
    assert res.exit_code == 1, res.output
    assert "renal" in res.output
    html = (out / "scorecard.html").read_text()
    assert "Choi 2007" in html and "fail" in html
    assert json.loads((out / "scorecard.json").read_text())["rows"][0]["pass"] is False
    assert "| renal cutoff (nm) |" in (out / "scorecard.md").read_text()


def test_known_gap_does_not_fail_the_run(tmp_path):
    path = _write(tmp_path, [{**RENAL, "band": [1.0, 2.0], "known_gap": "issue 99: test"}])
    res = runner.invoke(app, ["validate", "--targets", str(path), "--markdown"])
    assert res.exit_code == 0, res.output
    assert "known gap (issue 99: test)" in res.stdout


def test_a_full_run_known_gap_is_scored_as_any_target_in_a_quick_run(tmp_path):
    """``known_gap_run: full``: the quick run's subset must pass on its own (a failure fails the
    run), and a pass is a plain pass, not a stale known gap; the full run keeps the gap."""
    gap = {"known_gap": "issue 99: full run", "known_gap_run": "full"}
    failing = _write(tmp_path, [{**RENAL, "band": [1.0, 2.0], **gap}], "fail.yaml")
    passing = _write(tmp_path, [{**RENAL, **gap}], "pass.yaml")
    quick_fail = runner.invoke(app, ["validate", "--quick", "--targets", str(failing), "--json"])
    assert quick_fail.exit_code == 1, quick_fail.output
    quick_pass = runner.invoke(app, ["validate", "--quick", "--targets", str(passing), "--json"])
    assert quick_pass.exit_code == 0, quick_pass.output
    assert json.loads(quick_pass.stdout)[0]["status"] == "pass"
    full = runner.invoke(app, ["validate", "--targets", str(failing), "--json"])
    assert full.exit_code == 0, full.output
    assert json.loads(full.stdout)[0]["status"] == "known gap"


@pytest.mark.parametrize("entry, message", [
    ({**RENAL, "band": None}, "band"),
    ({**RENAL, "band": [2.0, 1.0]}, "band"),
    ({**RENAL, "check": {}}, "check"),
    ({**RENAL, "group": "nope"}, "group"),
    ({**RENAL, "status": "not yet modelled"}, "reason"),
])
def test_bad_target_file_exit_2(tmp_path, entry, message):
    path = _write(tmp_path, [entry])
    res = runner.invoke(app, ["validate", "--targets", str(path)])
    assert res.exit_code == 2, res.output
    assert "error:" in res.output and message in res.output and "Traceback" not in res.output


def test_unknown_only_and_duplicate_ids_exit_2(tmp_path):
    path = _write(tmp_path, [RENAL])
    res = runner.invoke(app, ["validate", "--targets", str(path), "--only", "nothing_like_it"])
    assert res.exit_code == 2 and "--only" in res.output
    other = _write(tmp_path, [RENAL], name="u.yaml")
    res = runner.invoke(app, ["validate", "--targets", str(path), "--targets", str(other)])
    assert res.exit_code == 2 and "also in" in res.output


def test_overall_survival_landmarks_read_the_trial_summary():
    import math

    from immunocycle.validate._registry import NotModelled

    class Ctx:
        def arm_summary(self, cohort, arm):
            assert (cohort, arm) == ("melanoma", "nivolumab")
            return {"os_12m": 0.64, "os_24m": None, "n": 80}

    check = {"kind": "os_landmark", "cohort": "melanoma", "arm": "nivolumab", "months": 12}
    m = KINDS["os_landmark"](check, Ctx())
    assert m.value == 0.64 and m.n == 80 and "12 months" in m.detail
    # past the follow-up the summary has no estimate: NaN, which no band passes
    assert math.isnan(KINDS["os_landmark"]({**check, "months": 24}, Ctx()).value)
    with pytest.raises(NotModelled, match="os_36m"):
        KINDS["os_landmark"]({**check, "months": 36}, Ctx())
    held_out = [t for t in load_targets() if t.check.get("kind") == "os_landmark"]
    assert {t.id for t in held_out} >= {"checkmate066_nivolumab_os12", "checkmate066_dacarbazine_os12"}
    assert all("held out" in t.what for t in held_out)


def test_responders_are_the_patients_evaluable_in_every_arm():
    import pandas as pd

    from immunocycle.validate._constraints import responders

    frame = pd.DataFrame({
        "patient_id": [0, 0, 1, 1, 2, 2, 3],
        "arm": ["a", "b", "a", "b", "a", "b", "a"],
        "included": [True, True, True, True, False, False, True],
        "evaluable": [True, True, True, False, True, True, True],
        "bor": ["PR", "SD", "CR", "PR", "CR", "CR", "PR"]})
    # patient 1 is not evaluable under b, 2 is not included, 3 has no b row: only 0 is kept
    r = responders(frame, ["b", "a"])
    assert r.shape == (2, 1) and r[:, 0].tolist() == [False, True]


def test_orr_gain_cap_measures_the_flagged_pairs_again_on_more_patients():
    """The screen's pairs above ``confirm_above`` are run again on ``n_confirm`` patients and
    that gain is the one checked; pairs below are not re-run; a listed "X + PD-1 blocker" pair
    carries its Bliss excess on the confirming patients."""
    from immunocycle.design import synergy
    from immunocycle.validate._constraints import responders

    check = {"kind": "orr_gain_cap", "n_quick": 40, "confirm_above": 0.2, "n_confirm": 120,
             "list_above": 0.3, "quick_cohorts": ["tnbc"],
             "quick_regimens": ["nab_paclitaxel", "paclitaxel"]}
    ctx = Context(quick=True)
    m = KINDS["orr_gain_cap"](check, ctx)
    runs = {k[3]: v for k, v in ctx.cache.items() if k[0] == "gain"}
    screen = {r["name"]: r["orr"] for r in runs[40][0]}
    big, frame = runs[120]
    again = {r["name"]: r["orr"] for r in big}
    assert screen["paclitaxel+nivolumab"] - screen["nivolumab"] < 0.2
    assert "paclitaxel+nivolumab" not in again
    gain = again["nab_paclitaxel+nivolumab"] - again["nivolumab"]
    assert m.value == pytest.approx(gain)
    assert gain != pytest.approx(screen["nab_paclitaxel+nivolumab"] - screen["nivolumab"])
    assert "measured again on 120" in m.detail
    r = responders(frame, ["nivolumab", "nab_paclitaxel", "nab_paclitaxel+nivolumab"])
    excess = synergy(r[:2], r[2], seed=0, confidence=0.9).bliss.excess
    assert f"excess {excess:+.0%}" in m.detail


def test_constraint_arms_never_give_a_second_pd1_axis_blocker():
    from immunocycle.validate._constraints import _arms, blocks_pd1_axis

    assert blocks_pd1_axis("nivolumab_ipilimumab") and blocks_pd1_axis("platelet_anti_pdl1")
    assert not blocks_pd1_axis("nab_paclitaxel") and not blocks_pd1_axis("mfolfox6")
    arms = _arms("melanoma", ["nivolumab_ipilimumab", "atezolizumab_free", "nab_paclitaxel"])
    assert arms == ["nivolumab", "nivolumab_ipilimumab", "atezolizumab_free", "nab_paclitaxel",
                    "nab_paclitaxel+nivolumab"]
