"""Bad inputs get exit code 2, a one-line message naming the field, no traceback, and leave the
results already in ``--out`` untouched; the solver ends on any input; JSON output is strict."""

from __future__ import annotations

import hashlib
import json
import math
import threading
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from immunocycle._paths import PACKAGE_DATA
from immunocycle._provenance import dumps_json, write_json
from immunocycle.cli import app
from immunocycle.engine import SolverOptions, simulate
from immunocycle.engine._rodas import MAX_STEPS, NOT_FINITE, OK
from immunocycle.model import Compartment, Model, ModelError, Parameter, Species, load_model
from immunocycle.population import load_cohort

runner = CliRunner()

MODEL = """name: growth
compartments: {c: {size: 1.0}}
species: {X: {compartment: c, initial: 1.0, units: cell}}
parameters:
  k: {value: 0.01, units: 1/day/cell, source: test}
"""
BLOW_UP = MODEL + "rate_rules: {X: 'k * X * X'}\n"  # X(t) = 1 / (1 - k t): infinite at t = 1/k
BOMB = "name: bomb\n" + "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))


def _finishes(fn, seconds: float = 120.0):
    """Run ``fn`` in a thread; fail (instead of hanging the suite) if it does not end in time."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"did not finish within {seconds} s (a hang)"
    if "error" in box:
        raise box["error"]
    return box["value"]


def _blow_up_model() -> Model:
    m = Model("blow_up")
    m.add(Compartment("c", 1.0), Species("X", "c", 1.0, "cell"),
          Parameter("k", 1.0, "1/day/cell", source="test"))
    return m.add_terms("X", "k * X * X")


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """Input files of the bad cases."""
    d = tmp_path_factory.mktemp("inputs")
    (d / "blow_up.yaml").write_text(BLOW_UP)
    (d / "bomb.yaml").write_text(BOMB)
    (d / "tower.yaml").write_text(MODEL + "rate_rules: {X: 'k * X * X * 9**9**9'}\n")
    (d / "fullwidth.yaml").write_text(
        MODEL + "  \uff4b: {value: 9.0, units: 1/day/cell, source: test}\n"
        "rate_rules: {X: '-k * X * X'}\n")
    niv = (PACKAGE_DATA / "cycle" / "therapies" / "nivolumab.yaml").read_text()
    (d / "inf_dose.yaml").write_text(niv.replace("amount: 3.0", "amount: .inf"))
    cohort = (PACKAGE_DATA / "cohorts" / "melanoma.yaml").read_text()
    growth = "high: 0.06, units: 1/day"
    assert growth in cohort
    (d / "cohort_mg.yaml").write_text(cohort.replace(growth, "high: 0.06, units: mg"))
    (d / "cohort_hour.yaml").write_text(cohort.replace(growth, "high: 0.06, units: 1/hour"))
    return d


@pytest.fixture(scope="module")
def earlier(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A folder holding an earlier, valid run, and the checksums of its files."""
    out = tmp_path_factory.mktemp("earlier")
    res = runner.invoke(app, ["simulate", "depillis2005", "--days", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out, _digest(out)


BAD = [
    # 1-3: --set values that are unknown, NaN or infinite, under --preset and for a model
    (["simulate", "--preset", "inflamed", "--set", "k_C_growth=nan", "--days", "5"], "--set"),
    (["simulate", "--preset", "inflamed", "--set", "zzz=1", "--days", "1"], "zzz"),
    (["simulate", "--preset", "inflamed", "--set", "k_C_growth=inf", "--days", "1"], "--set"),
    (["simulate", "depillis2005", "--set", "zzz=1", "--days", "1"], "zzz"),
    (["simulate", "depillis2005", "--set", "a=-1", "--days", "1"], "--set a"),
    (["simulate", "depillis2005", "--set", "a=2 mg", "--days", "1"], "--set a"),
    # 3: a therapy dose of .inf
    (["simulate", "--preset", "inflamed", "--therapy", "{inputs}/inf_dose.yaml", "--days", "1"],
     "dosing.amount"),
    # 4: unbounded time grids
    (["simulate", "depillis2005", "--days", "1e9"], "--days"),
    (["simulate", "depillis2005", "--days", "100", "--points-per-day", "100000"], "--days"),
    (["pk", "--carrier", "liposome", "--diameter", "100", "--dose", "5", "--days", "1e9"],
     "--days"),
    (["pk", "--carrier", "liposome", "--diameter", "inf", "--dose", "5"], "diameter"),
    (["trial", "--cohort", "melanoma", "--arm", "nivolumab", "--n", "2", "--days", "1e9"],
     "--days"),
    # 5: a local cluster of -1 workers
    (["trial", "--cohort", "melanoma", "--arm", "nivolumab", "--local-cluster", "-1"],
     "--local-cluster"),
    # 6: a cohort rate given in mg
    (["trial", "--cohort", "{inputs}/cohort_mg.yaml", "--arm", "nivolumab", "--n", "2"],
     "parameters.k_C_growth.units"),
    # 7: an alias bomb, an exponent tower
    (["simulate", "{inputs}/bomb.yaml"], "alias"),
    (["simulate", "{inputs}/tower.yaml", "--days", "1"], "exponent"),
    # 8: a fullwidth look-alike of a parameter name
    (["simulate", "{inputs}/fullwidth.yaml", "--days", "1"], "ASCII"),
    # poor outcomes: a negative seed names its flag
    (["simulate", "depillis2005", "--days", "1", "--seed", "-1"], "--seed"),
    (["trial", "--cohort", "melanoma", "--arm", "nivolumab", "--seed", "-1"], "--seed"),
]


@pytest.mark.parametrize(("args", "field"), BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_input_exit_2_names_the_field_and_keeps_earlier_results(args, field, files, earlier,
                                                                    tmp_path):
    args = [a.replace("{inputs}", str(files)) for a in args]
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "fresh")])
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.output
    assert field in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and field in errors[0], res.output  # one line naming the field
    assert "\u256d" not in res.output  # not click's framed usage box
    assert len(res.output) < 2000  # shortened: no input dumped into the message
    assert not list((tmp_path / "fresh").glob("*.parquet"))  # no results written
    out, digest = earlier
    res = runner.invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert _digest(out) == digest


def test_set_values_with_units_are_converted(tmp_path):
    finals = []
    for value in ("a=0.5/hour", "a=12"):  # depillis2005 declares a in 1/day
        res = runner.invoke(app, ["simulate", "depillis2005", "--days", "3", "--set", value,
                                  "--json", "--out", str(tmp_path / value.replace("/", "_"))])
        assert res.exit_code == 0, res.output
        finals.append(json.loads(res.stdout)["final"])
    assert finals[0] == pytest.approx(finals[1], rel=1e-12)


def test_engine_refuses_an_unbounded_grid():
    with pytest.raises(ValueError, match="times"):
        simulate(_blow_up_model(), np.arange(2e6))


def test_solver_failure_exits_2_and_writes_nothing(files, tmp_path):
    # finite, valid inputs whose solution blows up at day 1: the run fails instead of reporting NaN
    res = runner.invoke(app, ["simulate", str(files / "blow_up.yaml"), "--set", "k=1",
                              "--days", "5", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "solver stopped" in res.output, res.output
    assert not list(tmp_path.glob("*.parquet"))


def test_model_summary_carries_the_solver_status(tmp_path):
    res = runner.invoke(app, ["simulate", "depillis2005", "--days", "2", "--json",
                              "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["status"] == "ok"


def test_nan_parameter_ends_the_patient_with_a_status():
    # Before: the first step size was NaN, every step was rejected and rejections were not
    # counted, so the loop never ended.
    res = _finishes(lambda: simulate(_blow_up_model(), np.linspace(0.0, 5.0, 6),
                                     parameters={"k": [np.nan, 0.01]}))
    assert res.status.tolist() == [NOT_FINITE, OK]
    assert np.isnan(res["X"][0, 1:]).all() and np.isfinite(res["X"][1]).all()


def test_rejected_steps_count_toward_the_step_limit():
    # X' = k K sqrt(1 - X/K) reaches X = K at t = 2 and stays; trial stages past K are NaN, so
    # the solver rejects steps there (about 25) before it settles.
    m = Model("edge")
    m.add(Compartment("c", 1.0), Species("X", "c", 0.0, "cell"),
          Parameter("k", 1.0, "1/day", source="test"), Parameter("K", 1.0, "cell", source="test"))
    m.add_terms("X", "k * K * (1 - X / K) ** 0.5")
    times = np.linspace(0.0, 5.0, 6)
    free = simulate(m, times)
    assert free.status[0] == OK
    np.testing.assert_allclose(free["X"][0], [0.0, 0.75, 1.0, 1.0, 1.0, 1.0], atol=1e-6)
    accepted = int(free.n_steps[0])
    # A limit above the accepted steps: only the rejected attempts can exhaust it.
    capped = simulate(m, times, options=SolverOptions(max_steps=accepted + 1))
    assert capped.status[0] == MAX_STEPS
    assert capped.n_steps[0] < accepted


def test_exponent_tower_fails_fast(files):
    with pytest.raises(ModelError, match="exponent"):
        _finishes(lambda: load_model(files / "tower.yaml"), 60.0)


def test_fullwidth_name_is_refused_at_build_time():
    m = Model("look_alike")
    with pytest.raises(ModelError, match="ASCII"):
        m.add(Parameter("\uff4b", 1.0, "1/day", source="test"))


def test_cohort_units_are_converted(files):
    per_day = load_cohort("melanoma").parameters["k_C_growth"]
    per_hour = load_cohort(files / "cohort_hour.yaml").parameters["k_C_growth"]
    assert per_hour.units == per_day.units
    assert per_hour.median == pytest.approx(24 * per_day.median)
    assert per_hour.high == pytest.approx(24 * per_day.high)
    assert per_hour.sigma == per_day.sigma  # a log-scale spread has no units


def test_cohort_cannot_sample_a_rate_below_zero(files, tmp_path):
    text = (files / "cohort_hour.yaml").read_text().replace(
        "kind: lognormal, median: 0.02, sigma: 0.3, low: 0.006,", "kind: normal, median: 0.02, "
        "sigma: 0.01, low: -0.01,")
    assert "low: -0.01" in text
    (tmp_path / "negative.yaml").write_text(text)
    with pytest.raises(ModelError, match="low >= 0") as info:
        load_cohort(tmp_path / "negative.yaml")
    assert info.value.field == "parameters.k_C_growth.low"


def _refuse(token: str):
    raise ValueError(f"non-standard JSON token {token}")


def test_json_is_strict_with_nan_as_null(tmp_path):
    data = {"a": math.nan, "b": [np.float64(np.inf), 1.5], "c": np.array([np.nan, 2.0]),
            "d": np.int64(3), "e": tmp_path}
    text = dumps_json(data)
    parsed = json.loads(text, parse_constant=_refuse)
    assert parsed == {"a": None, "b": [None, 1.5], "c": [None, 2.0], "d": 3, "e": str(tmp_path)}
    path = write_json(tmp_path / "x.json", data)
    assert json.loads(path.read_text(), parse_constant=_refuse) == parsed


def test_trial_summary_is_strict_json_with_the_solver_status(tmp_path):
    res = runner.invoke(app, ["trial", "--cohort", "melanoma", "--arm", "nivolumab", "--n", "3",
                              "--days", "84", "--json", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout, parse_constant=_refuse)  # no NaN token
    arm = summary["arms"][0]
    assert sum(arm["solver_status"].values()) == summary["n_included"]
    assert arm["median_pfs_days"] is None or arm["median_pfs_days"] > 0
    assert json.loads((tmp_path / "summary.json").read_text(), parse_constant=_refuse)
