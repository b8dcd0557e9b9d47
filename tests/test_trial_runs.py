"""The real trial task: outputs, determinism across chunking and Dask workers, resume after a
kill, failing patients, and clear errors for bad input."""

import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from immunocycle._commands.cohort import cohort_app
from immunocycle._commands.trial import trial_command
from immunocycle._errors import ImmunocycleError
from immunocycle.engine import SolverOptions
from immunocycle.model import ModelError
from immunocycle.population import load_cohort
from immunocycle.report import trial_figures
from immunocycle.trial._runner import run_chunked
from immunocycle.trial._trial import make_task, parse_regimen, run_trial

ARMS = ["nivolumab", "nivolumab+ipilimumab"]


class KilledAfterFirstChunk:
    """A trial task that dies on any chunk but the first (a killed run)."""

    def __init__(self, task):
        self.task = task

    def __call__(self, start, count):
        if start > 0:
            raise KeyboardInterrupt("killed")
        return self.task(start, count)


def _patients(folder):
    return pd.read_parquet(folder / "patients.parquet")


def _compare(a: pd.DataFrame, b: pd.DataFrame):
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    summary = run_trial("melanoma", ARMS, 6, out, seed=5, days=126, chunk_size=6, progress=False,
                        figures=trial_figures)
    return out, summary


def test_trial_writes_the_contracted_outputs(reference):
    out, summary = reference
    on_disk = json.loads((out / "summary.json").read_text())
    assert [a["name"] for a in on_disk["arms"]] == ARMS
    for arm in on_disk["arms"]:
        for key in ("n", "orr", "orr_ci", "cr", "pr", "sd", "pd", "median_pfs_days", "hr_vs_first",
                    "ae_grade3plus_rate", "phenotype_counts", "orr_by_phenotype"):
            assert key in arm
        assert set(arm["phenotype_counts"]) >= {"inflamed", "excluded", "desert"}
        assert arm["cr"] + arm["pr"] + arm["sd"] + arm["pd"] + arm["ne"] == arm["n"]
    assert on_disk["n_sampled"] == 6
    assert on_disk["n_included"] + sum(on_disk["excluded"].values()) == 6
    inputs = json.loads((out / "inputs.json").read_text())
    assert inputs["inputs"]["arms"] == ARMS and inputs["inputs"]["seed"] == 5
    assert "immunocycle_version" in inputs
    for name in ("kaplan_meier.png", "kaplan_meier_os.png", "waterfall_arm0.png", "spider_arm1.png",
                 "response_by_phenotype_arm0.png"):
        assert (out / name).stat().st_size > 1000
    p = _patients(out)
    assert len(p) == 12 and set(p["arm"]) == set(ARMS)
    # Both arms treat the same patients from the same state at diagnosis.
    first, second = (p[p["arm"] == a].reset_index(drop=True) for a in ARMS)
    for col in ("T_N0", "tmb", "diagnosis_sum_mm", "phenotype", "J1_baseline", "J7_baseline",
                "exclusion"):
        pd.testing.assert_series_equal(first[col], second[col])
    ev = p[p["evaluable"] & (p["os_days"] > 63.0)].iloc[0]  # alive at the first scan
    # scans at week 9, then every 6 weeks (CheckMate 066), until death or 3 years of follow-up
    times = list(ev["time_d"])
    assert times[:2] == [0.0, 63.0] and np.allclose(np.diff(times[1:]), 42.0)
    assert times[-1] <= 1096.0 and (ev["os_event"] or times[-1] > 1050.0)
    # the target lesions split the lumped tumor's volume: the RECIST baseline sum is their sum
    # of diameters, their volume-equivalent diameter the diagnosis diameter
    base = np.array([ev[f"lesion{j}_baseline_mm"] for j in range(1, ev["n_lesions"] + 1)])
    assert ev["sum_mm"][0] == pytest.approx(base.sum(), rel=0.02)
    assert np.cbrt((base ** 3).sum()) == pytest.approx(ev["diagnosis_sum_mm"], rel=1e-6)
    assert ev["bor"] in {"CR", "PR", "SD", "PD"} and ev["irecist_bor"] != ""
    assert {"ae_immune_pd1", "ae_immune_ctla4", "ae_other", "exposure_pd1", "activation"} <= set(p.columns)


def test_same_results_whatever_the_chunk_size(reference, tmp_path):
    out, _ = reference
    run_trial("melanoma", ARMS, 6, tmp_path, seed=5, days=126, chunk_size=4, progress=False,
              figures=False)
    _compare(_patients(out), _patients(tmp_path))


def test_resume_after_kill_gives_the_uninterrupted_result(reference, tmp_path):
    out, _ = reference
    task = make_task("melanoma", ARMS, seed=5, days=126)
    args = {"run": "resume-test"}
    with pytest.raises(KeyboardInterrupt):
        run_chunked(KilledAfterFirstChunk(task), 6, tmp_path, chunk_size=3, arguments=args,
                    progress=False)
    done = tmp_path / "chunks" / "part-000000.parquet"
    assert done.exists() and not (tmp_path / "chunks" / "part-000001.parquet").exists()
    stamp = done.stat().st_mtime_ns
    run_chunked(task, 6, tmp_path, chunk_size=3, arguments=args, progress=False)
    assert done.stat().st_mtime_ns == stamp  # the finished chunk was not recomputed
    _compare(_patients(out), _patients(tmp_path))


def test_same_results_on_a_two_worker_dask_cluster(reference, tmp_path):
    out, _ = reference
    run_trial("melanoma", ARMS, 6, tmp_path, seed=5, days=126, chunk_size=3, local_cluster=2,
              progress=False, figures=False)
    _compare(_patients(out), _patients(tmp_path))


def test_a_failing_patient_is_recorded_not_fatal():
    task = make_task("melanoma", ["nivolumab"], seed=5, days=126)
    starved = type(task)(**{**task.__dict__, "options": SolverOptions(max_steps=3)})
    frame = starved(0, 3)
    assert (frame["status"] != 0).all()
    assert not frame["evaluable"].any() and (frame["bor"] == "").all()


def test_regimens_parse_and_unknown_therapies_are_named():
    assert parse_regimen("nivolumab+ipilimumab") == ("nivolumab", "ipilimumab")
    assert parse_regimen("untreated") == ()
    with pytest.raises(ImmunocycleError, match=r"--arm.*unknown therapy 'nivolumabb'.*nivolumab"):
        parse_regimen("nivolumabb")
    with pytest.raises(ImmunocycleError, match="empty therapy"):
        parse_regimen("nivolumab+")


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"cohort": "atlantis"}, "unknown cohort 'atlantis'"),
    ({"arms": ["nivolumab+unobtainium"]}, "unknown therapy 'unobtainium'"),
    ({"n": -5}, "--n"),
    ({"n": 0}, "--n"),
    ({"days": 10.0}, "--days"),
    ({"tmb": -1.0}, "--tmb"),
    ({"arms": []}, "--arm"),
])
def test_bad_input_is_refused_with_the_field_named(tmp_path, kwargs, match):
    args = {"cohort": "melanoma", "arms": ["nivolumab"], "n": 2, "days": 126.0, **kwargs}
    with pytest.raises((ModelError, ValueError), match=match):
        run_trial(args["cohort"], args["arms"], args["n"], tmp_path, days=args["days"],
                  tmb=args.get("tmb"), progress=False)
    assert not (tmp_path / "patients.parquet").exists()


def _cli():
    app = typer.Typer()
    app.command("trial")(trial_command)
    app.add_typer(cohort_app, name="cohort")
    return app


def test_command_line_errors_and_listing():
    runner = CliRunner()
    bad = runner.invoke(_cli(), ["trial", "--cohort", "melanoma", "--arm", "nivolumab+foo",
                                 "--n", "2", "--out", "unused"])
    assert bad.exit_code == 2 and "unknown therapy 'foo'" in bad.output
    neg = runner.invoke(_cli(), ["trial", "--cohort", "melanoma", "--arm", "nivolumab", "--n", "-3"])
    assert neg.exit_code == 2 and "--n" in neg.output
    listing = runner.invoke(_cli(), ["cohort", "list", "--json"])
    assert listing.exit_code == 0
    names = {row["name"] for row in json.loads(listing.output)}
    assert {"melanoma", "nsclc", "rcc", "urothelial", "crc_msi_high", "crc_mss", "tnbc"} <= names
    shown = runner.invoke(_cli(), ["cohort", "show", "melanoma", "--json"])
    assert shown.exit_code == 0 and json.loads(shown.output)["calibration"]["orr"] \
        == load_cohort("melanoma").calibration.orr
    unknown = runner.invoke(_cli(), ["cohort", "show", "atlantis"])
    assert unknown.exit_code == 2 and "unknown cohort" in unknown.output
    untargeted = runner.invoke(_cli(), ["cohort", "calibrate", "tnbc"])
    assert untargeted.exit_code == 2 and "no calibration section" in untargeted.output
    nothing = runner.invoke(_cli(), ["cohort", "calibrate"])
    assert nothing.exit_code == 2 and "--all" in nothing.output


def test_command_line_trial_prints_the_json_summary(tmp_path):
    result = CliRunner().invoke(_cli(), [
        "trial", "--cohort", "desert", "--arm", "nivolumab", "--arm", "untreated", "--n", "3",
        "--seed", "1", "--days", "84", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert [a["name"] for a in summary["arms"]] == ["nivolumab", "untreated"]
    assert np.isfinite(summary["arms"][0]["orr"])


def test_phenotype_matching_selects_the_same_patients_in_every_arm(reference):
    from immunocycle.trial._trial import summarize_trial

    out, _ = reference
    patients = _patients(out)
    plain = summarize_trial(patients, ARMS, seed=5)
    matched = summarize_trial(patients, ARMS, seed=5,
                              match_phenotypes={"inflamed": 0.2, "excluded": 0.3, "desert": 0.5})
    assert matched["n_selected"] <= plain["n_selected"] == plain["n_included"]
    assert len({a["n"] for a in matched["arms"]}) == 1
