"""Local elasticities (batched finite differences) and global indices (Morris, Sobol)."""

from __future__ import annotations

import numpy as np
import pytest

from immunocycle.design import diagnose, global_sensitivity, local_elasticities, step_parameters

PARAMS = ["V_P", "icd_boost", "neoantigen_load", "K_neo", "K_neo_kill", "neoantigen_load_ref",
          "pdl1_base", "pdl1_free", "K_PDL1", "n_div_IL2", "s_TGF", "k_MP", "p_kill"]


@pytest.fixture(scope="module")
def excluded():
    return {h: local_elasticities("excluded", parameters=PARAMS, rel_step=h) for h in (0.1, 0.2)}


def test_absent_or_zero_parameter_has_zero_elasticity(excluded):
    t = excluded[0.1].table
    assert not t.loc["V_P", "in_model"]            # antibody PK volume: not in an untreated model
    assert t.loc["V_P", ["e_gain", "e_diameter"]].tolist() == [0.0, 0.0]
    assert t.loc["icd_boost", "value"] == 0.0        # zero: no multiplicative change moves it
    assert t.loc["icd_boost", "e_gain"] == 0.0


def test_elasticities_follow_model_structure(excluded):
    e = excluded[0.1].table["e_gain"]
    # antigenicity = L / (L + K_neo) and f_antigen = L / (L + K_neo_kill) over its value at the
    # reference load: only ratios of loads matter, so the four elasticities sum to zero (to the
    # +/-10% asymmetry); most of the load's goes through antigen release (step 1)
    loads = ["neoantigen_load", "K_neo", "K_neo_kill", "neoantigen_load_ref"]
    assert abs(sum(e[p] for p in loads)) < 0.05 * e["neoantigen_load"]
    assert -e["K_neo"] > 0.5 * e["neoantigen_load"]
    assert e["neoantigen_load"] > 0
    # available PD-L1 = PDL1 * pdl1_free with PDL1 proportional to pdl1_base: equal elasticities
    assert e["pdl1_base"] == pytest.approx(e["pdl1_free"], rel=1e-3)
    assert e["pdl1_base"] < 0 and e["K_PDL1"] > 0
    # the excluded tumor's barrier: crossing the stroma helps, a thicker stroma hurts
    assert e["k_MP"] > 0 and e["s_TGF"] < 0


def test_doubling_the_step_changes_smooth_elasticities_little(excluded):
    a, b = excluded[0.1].table, excluded[0.2].table
    smooth = ["neoantigen_load", "K_neo", "pdl1_base", "k_MP", "s_TGF", "p_kill"]
    for name in smooth:
        assert b.loc[name, "e_gain"] == pytest.approx(a.loc[name, "e_gain"], rel=0.1, abs=0.02)


def test_grouping_by_step_and_mapping_covers_model():
    from immunocycle.cycle import compiled_cycle_model

    mapping = step_parameters()
    assert set(compiled_cycle_model("human").parameter_names) <= set(mapping)
    assert {s for s in mapping.values() if s is not None} == set(range(1, 8))


def test_global_indices_on_small_cohort_are_seeded_and_grouped():
    kw = dict(cohort="excluded", n=6, seed=3, global_analysis=True, morris_trajectories=2,
              sobol_top=5, sobol_samples=8)
    d1 = diagnose(**kw)
    g = d1.global_sensitivity
    assert list(g.by_step.index) == list(range(1, 8))
    assert (g.by_step["mu_star"] >= 0).all() and g.by_step["mu_star"].sum() > 0
    assert set(g.sobol.index) <= {f"step{k}" for k in range(1, 8)}
    assert len(g.top) == 5 and g.runs > 0
    out = d1.to_dict()
    assert set(out["global_sensitivity"]["morris_mu_star"]) == {str(k) for k in range(1, 8)}
    assert out["cohort"]["n"] == 6
    g2 = global_sensitivity("excluded", d1.inputs["values"], seed=3, trajectories=2, top=5,
                            samples=8)
    assert np.allclose(g.by_step.to_numpy(), g2.by_step.to_numpy(), equal_nan=True)
