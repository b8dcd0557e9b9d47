"""Design: candidates from the diagnosis, screen, confirming trial, ranking, Pareto, synergy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from immunocycle.design._design import Design, design, pareto_front, rank
from immunocycle.design._synergy import bliss_excess

# Two step-5 interventions (anti-TGF-beta, anti-VEGF) keep the confirming trial small and fast.
CANDIDATES = ["fresolimumab_free", "bevacizumab_free"]
N = 24


@pytest.fixture(scope="module")
def excluded() -> Design:
    return design("excluded", budget=2, n=N, seed=0, candidates=CANDIDATES)


def test_excluded_step5_plus_pd1_ranks_above_pd1_alone(excluded):
    assert excluded.limiting_step == 5
    recs = [r["regimen"] for r in excluded.recommendations]
    assert "nivolumab" in recs
    combos = [r for r in excluded.recommendations
              if "nivolumab" in r["therapies"] and len(r["therapies"]) == 2 and 5 in r["steps"]]
    assert combos
    best = recs.index(combos[0]["regimen"])
    assert best < recs.index("nivolumab")
    top = excluded.recommendations[0]
    alone = next(r for r in excluded.recommendations if r["regimen"] == "nivolumab")
    assert (top["orr"], top["median_pfs_days"]) >= (alone["orr"], alone["median_pfs_days"])
    assert top["orr"] > alone["orr"]


def test_to_dict_contract(excluded):
    out = excluded.to_dict()
    json.dumps(out, default=str)
    assert set(out) >= {"recommendations", "pareto"}
    for r in out["recommendations"]:
        assert set(r) >= {"regimen", "steps", "orr", "orr_ci", "median_pfs_days",
                          "ae_grade3plus_rate", "synergy_bliss"}
        lo, hi = r["orr_ci"]
        assert 0.0 <= lo <= r["orr"] <= hi <= 1.0
        assert 0.0 <= r["ae_grade3plus_rate"] <= 1.0
        if len(r["therapies"]) == 2:
            s = r["synergy_bliss"]
            assert s["ci"][0] <= s["excess"] + 1e-12 and s["excess"] <= s["ci"][1] + 1e-12
        else:
            assert r["synergy_bliss"] is None
    assert set(out["pareto"]) <= {r["regimen"] for r in out["recommendations"]}
    # Screen: every candidate alone and with PD-1 blockade, the best `budget` kept.
    assert len(excluded.screen) == 2 * len(CANDIDATES)
    assert int(excluded.screen["kept"].sum()) == 2


def test_ae_limit_respected(excluded):
    rates = sorted({r["ae_grade3plus_rate"] for r in excluded.confirmed})
    for limit in [0.0, *rates]:
        d = excluded.with_ae_limit(limit)
        assert all(r["ae_grade3plus_rate"] <= limit + 1e-12 for r in d.recommendations)
        assert set(d.pareto) <= {r["regimen"] for r in d.recommendations}


def test_ae_limit_argument_matches_rerank(excluded):
    limit = min(r["ae_grade3plus_rate"] for r in excluded.confirmed)
    d = design("excluded", budget=2, n=N, seed=0, candidates=CANDIDATES, ae_limit=limit)
    assert d.recommendations
    assert all(r["ae_grade3plus_rate"] <= limit for r in d.recommendations)
    assert [r["regimen"] for r in d.recommendations] == \
        [r["regimen"] for r in excluded.with_ae_limit(limit).recommendations]


def test_raising_ae_limit_never_shrinks_pareto(excluded):
    limits = [0.0, *sorted({r["ae_grade3plus_rate"] for r in excluded.confirmed}), 1.0]
    fronts = [set(excluded.with_ae_limit(x).pareto) for x in limits]
    for small, large in zip(fronts, fronts[1:], strict=False):
        assert small <= large


def test_pareto_front_synthetic():
    pts = [("a", 0.1, 0.1), ("b", 0.3, 0.2), ("c", 0.2, 0.3), ("d", 0.3, 0.2)]
    assert pareto_front(pts) == ["a", "b", "d"]
    rows = [{"regimen": n, "orr": o, "ae_grade3plus_rate": a, "median_pfs_days": None}
            for n, o, a in pts]
    ranked, front = rank(rows, ae_limit=0.15)
    assert [r["regimen"] for r in ranked] == ["a"] and front == ["a"]


def test_bliss_zero_for_independent_agents():
    rng = np.random.default_rng(1)
    n = 4000
    a = rng.random(n) < 0.3
    b = rng.random(n) < 0.2
    # Independent action: a patient responds to A+B when A or B alone would (Bliss).
    res = bliss_excess(a, b, a | b, seed=0, n_boot=1000)
    assert res.ci[0] <= 0.0 <= res.ci[1]
    assert abs(res.excess) < 0.02
    assert res.expected == pytest.approx(1 - (1 - a.mean()) * (1 - b.mean()))


def test_bliss_detects_synergy_and_is_seeded():
    rng = np.random.default_rng(2)
    a = rng.random(200) < 0.2
    b = rng.random(200) < 0.2
    res = bliss_excess(a, b, np.ones(200, bool), seed=3, n_boot=500)
    assert res.excess > 0 and res.ci[0] > 0
    assert bliss_excess(a, b, np.ones(200, bool), seed=3, n_boot=500) == res
    with pytest.raises(ValueError):
        bliss_excess(a, b[:10], a)


def test_design_cli_json_contract_and_errors(tmp_path):
    import json

    from typer.testing import CliRunner

    from immunocycle.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["design", "--preset", "excluded", "--n", "8", "--budget", "1",
                              "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["recommendations"] and isinstance(data["pareto"], list)
    for key in ("regimen", "steps", "orr", "orr_ci", "median_pfs_days", "ae_grade3plus_rate",
                "synergy_bliss"):
        assert key in data["recommendations"][0]
    assert (tmp_path / "design.json").exists()
    bad = runner.invoke(app, ["design", "--preset", "nosuch", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "nosuch" in bad.output
