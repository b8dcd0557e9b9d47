"""Design: candidates from the diagnosis, screen, confirming trial, ranking, Pareto, synergy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from immunocycle.design import Design, design, pareto_front, rank
from immunocycle.design._synergy import bliss_excess, synergy

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
        assert "vs_free" in r and "synergy_hsa" in r
        assert sum(r["solver_status"].values()) >= r["n"]  # every included patient's status
        if len(r["therapies"]) >= 2:
            for s in (r["synergy_bliss"], r["synergy_hsa"]):
                assert s["ci"][0] <= s["excess"] + 1e-12 and s["excess"] <= s["ci"][1] + 1e-12
        else:
            assert r["synergy_bliss"] is None and r["synergy_hsa"] is None
        # Free drugs only among these candidates: nothing to compare with.
        assert r["vs_free"] is None
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
    # Same seed, same numbers: the re-run reproduces every ranked arm exactly.
    def key(rec):
        return [(r["regimen"], r["orr"], r["orr_ci"], r["median_pfs_days"],
                 r["ae_grade3plus_rate"]) for r in rec]

    assert key(d.recommendations) == key(excluded.with_ae_limit(limit).recommendations)


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


def test_equal_outcomes_rank_the_regimen_with_fewer_agents_first():
    same = {"orr": 0.21, "ae_grade3plus_rate": 0.03, "median_pfs_days": 84.0}
    rows = [{"regimen": "a+z_np+nivolumab", "therapies": ["a", "z_np", "nivolumab"], **same},
            {"regimen": "a+nivolumab", "therapies": ["a", "nivolumab"], **same},
            {"regimen": "nivolumab", "therapies": ["nivolumab"], **same, "orr": 0.06}]
    ranked, _ = rank(rows)
    assert [r["regimen"] for r in ranked] == ["a+nivolumab", "a+z_np+nivolumab", "nivolumab"]


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


def test_hsa_and_bliss_for_three_agents():
    rng = np.random.default_rng(4)
    n = 3000
    a, b, c = (rng.random(n) < p for p in (0.3, 0.2, 0.1))
    # The combination does exactly what its best agent does: no HSA excess, Bliss antagonism.
    res = synergy([a, b, c], a, seed=0, n_boot=500)
    assert res.hsa.excess == pytest.approx(0.0) and res.hsa.ci[0] <= 0.0 <= res.hsa.ci[1]
    assert res.bliss.expected == pytest.approx(1 - (1 - a.mean()) * (1 - b.mean()) * (1 - c.mean()))
    assert res.bliss.ci[1] < 0
    # Independent action of three agents: Bliss excess ~ 0, HSA excess clearly positive.
    res = synergy([a, b, c], a | b | c, seed=0, n_boot=500)
    assert res.bliss.ci[0] <= 0.0 <= res.bliss.ci[1] and abs(res.bliss.excess) < 0.02
    assert res.hsa.ci[0] > 0.1
    with pytest.raises(ValueError, match="2 single-agent"):
        synergy([a], a)


@pytest.fixture(scope="module")
def desert() -> Design:
    # A nanovaccine (step 2-3), its free peptide and an adjuvant photothermal particle (steps
    # 1-2), up to three agents with nivolumab.
    return design("desert", budget=2, n=30, seed=0, max_agents=3,
                  candidates=["nanodisc_neoantigen_cpg", "neoantigen_peptide_free",
                              "plga_icg_r837_ptt"])


def test_desert_step23_intervention_plus_pd1_ranks_above_pd1_alone(desert):
    assert desert.limiting_step in (2, 3)
    recs = [r["regimen"] for r in desert.recommendations]
    alone = next(r for r in desert.recommendations if r["regimen"] == "nivolumab")
    better = [r for r in desert.recommendations
              if "nivolumab" in r["therapies"] and len(r["therapies"]) >= 2
              and set(r["steps"]) & {2, 3} and recs.index(r["regimen"]) < recs.index("nivolumab")]
    assert better
    assert better[0]["orr"] > alone["orr"] or \
        better[0]["median_pfs_days"] > alone["median_pfs_days"]


def test_triplets_are_screened_pruned_and_scored(desert):
    screened = [tuple(t) for t in desert.screen["therapies"]]
    triplets = [t for t in screened if len(t) == 3]
    assert triplets and all(t[-1] == "nivolumab" for t in triplets)
    # A nano-formulation is never combined with its own free drug.
    assert not any({"nanodisc_neoantigen_cpg", "neoantigen_peptide_free"} <= set(t)
                   for t in triplets)
    arms = {a["name"]: a for a in desert.arms}
    for r in desert.confirmed:
        if len(r["therapies"]) == 3:
            p = [arms[t]["orr"] for t in r["therapies"]]
            assert r["synergy_bliss"]["expected"] == pytest.approx(1 - np.prod([1 - x for x in p]))
            assert r["synergy_hsa"]["expected"] == pytest.approx(max(p))
            assert r["synergy_hsa"]["best_single"] in r["therapies"]


def test_nano_vs_free_counterpart_at_the_same_dose(desert):
    nano = [r for r in desert.confirmed if "nanodisc_neoantigen_cpg" in r["therapies"]]
    assert nano
    for r in nano:
        v = r["vs_free"]
        assert v["free_therapies"] == {"nanodisc_neoantigen_cpg": "neoantigen_peptide_free"}
        free_arm = next(a for a in desert.arms if a["name"] == v["free_regimen"])
        assert v["d_orr"] == pytest.approx(r["orr"] - free_arm["orr"])
        # The nanodisc drains to the lymph node far better than the soluble peptide (Kuai 2017).
        assert v["exposure_ratio"]["lymph_node"] > 10
        # time-resolved: the node's peak ratio comes from the same courses, also far above 1
        assert v["peak_ratio"]["lymph_node"] > 10
        assert v["peak_ratio"]["lymph_node"] != pytest.approx(v["exposure_ratio"]["lymph_node"])
        assert "lymph node" in v["why"]
        assert v["d_orr"] >= 0 and (v["d_median_pfs_days"] or 0) >= 0
        # per-type AE differences (nano arm minus free arm) and organ exposure ratios (issue 15)
        nano_ae, free_ae = r.get("ae_by_type") or {}, free_arm.get("ae_by_type") or {}
        assert v["d_ae_by_type"] and set(v["d_ae_by_type"]) == set(nano_ae) | set(free_ae)
        for k, d in v["d_ae_by_type"].items():
            assert d == pytest.approx(nano_ae.get(k, 0.0) - free_ae.get(k, 0.0))
        organs = v["organ_exposure_ratio"]["nanodisc_neoantigen_cpg"]
        assert {"liver", "spleen", "heart", "blood"} <= set(organs)
        # carrier-bound peptide in the MPS organs: more total payload in liver and spleen
        assert organs["liver"]["total"] > 1 and organs["spleen"]["total"] > 1
        assert all(x["free"] is None or x["free"] >= 0 for x in organs.values())
        json.dumps(v, allow_nan=False)  # the design --json record


def test_design_for_a_cohort():
    d = design(cohort="excluded", candidates=["fresolimumab_free"], max_agents=2, budget=1,
               n=10, seed=0)
    assert d.target == "cohort:excluded" and d.inputs["trial_cohort"] == "excluded"
    assert d.limiting_step in (4, 5)
    assert {r["regimen"] for r in d.confirmed} >= {"nivolumab"}
    with pytest.raises(ValueError, match="exactly one"):
        design("excluded", cohort="excluded")
    with pytest.raises(ValueError, match="unknown therapy .no_such_therapy."):
        design("excluded", candidates=["no_such_therapy"])


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
    recorded = json.loads((tmp_path / "inputs.json").read_text())["inputs"]["command"]
    assert recorded == (f"immunocycle design --preset excluded --max-agents 3 --budget 1 --n 8 "
                        f"--out {tmp_path} --seed 0")
    bad = runner.invoke(app, ["design", "--preset", "nosuch", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "nosuch" in bad.output
    bad = runner.invoke(app, ["design", "--preset", "excluded", "--candidates",
                              "fresolimumab_free,not_a_therapy", "--out", str(tmp_path / "c")])
    assert bad.exit_code == 2 and "not_a_therapy" in bad.output
    bad = runner.invoke(app, ["design", "--preset", "excluded", "--cohort", "excluded",
                              "--out", str(tmp_path / "d")])
    assert bad.exit_code == 2 and "exactly one" in bad.output
    bad = runner.invoke(app, ["design", "--cohort", "no_such_cohort", "--out", str(tmp_path / "e")])
    assert bad.exit_code == 2 and "no_such_cohort" in bad.output
    assert not (tmp_path / "c").exists() and not (tmp_path / "e").exists()
