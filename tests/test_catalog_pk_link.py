"""The catalog's link to the nanoparticle PBPK: the cycle model's tumor/blood and node/blood AUC
ratios of a nano-formulation reproduce the PBPK's ratios of released payload."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from immunocycle.catalog import cycle_pk, load_catalog
from immunocycle.catalog._pk_link import pbpk_exposure

try:
    from immunocycle.cycle import simulate_cycle

    AVAILABLE = True
except ImportError:  # the cycle model is still being written
    AVAILABLE = False
    simulate_cycle = None

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="immunocycle.cycle.simulate_cycle missing")

CAT = load_catalog()
# (therapy, species) whose PBPK ratios lie inside the range the cycle model can reach.
MATCHED = [("doxil", "human"), ("nanodisc_doxorubicin", "human"), ("doxil", "mouse"),
           ("cdnp_r848", "mouse"), ("hyaluronidase_np_doxorubicin", "mouse")]
SIZES = (25.0, 200.0)


def _sc_variants():
    """The s.c. nanodisc vaccine on discs of 25 and 200 nm (otherwise unchanged)."""
    base = CAT.therapy("nanodisc_neoantigen_cpg")
    forms, therapies = {}, {}
    for size in SIZES:
        fid = f"shdl_nanodisc_{size:g}nm"
        forms[fid] = CAT.formulations[base.formulation].model_copy(
            update={"id": fid, "size_nm": size})
        therapies[f"sc_{size:g}nm"] = base.model_copy(update={"formulation": fid})
    return dataclasses.replace(CAT, formulations={**CAT.formulations, **forms}), therapies


def _cycle_ratios(therapy, species: str, catalog=CAT) -> tuple[float, float]:
    """AUC(conc_T)/AUC(conc_C) and AUC(conc_LN)/AUC(conc_C) of one dose in the cycle model.

    Effects are dropped and the agent renamed, so every call shares one compiled structure."""
    from immunocycle.catalog import to_cycle_therapy

    single = therapy.model_copy(update={
        "schedule": therapy.schedule.model_copy(update={"count": 1, "start": 0.0})})
    th = to_cycle_therapy(single, species, catalog=catalog)
    th = th.model_copy(update={"name": "link_agent", "effects": []})
    # fine grid: a fast-releasing carrier (cdnp_r848 in mice) leaves plasma with a half-life of
    # about 20 min, which a 30-min trapezoid would overestimate
    res = simulate_cycle(species, [th], days=14.0, step=0.002)
    r = res.result
    auc = {k: float(np.trapezoid(r[f"link_agent_conc_{k}"][0], r.times)) for k in ("C", "T", "LN")}
    return auc["T"] / auc["C"], auc["LN"] / auc["C"]


@pytest.mark.parametrize("therapy, species", MATCHED)
def test_cycle_auc_ratios_reproduce_pbpk(therapy, species):
    t = CAT.therapy(therapy)
    exp = pbpk_exposure(CAT.formulations[t.formulation], CAT.agents[t.agents[0]], t.route,
                        species)
    tumor, node = _cycle_ratios(t, species)
    assert tumor == pytest.approx(exp.tumor_over_blood, rel=0.2), (tumor, exp)
    assert node == pytest.approx(exp.ln_over_blood, rel=0.2), (node, exp)


def test_small_sc_carrier_reaches_the_node_more_than_a_large_one():
    cat, variants = _sc_variants()
    small, large = (variants[f"sc_{s:g}nm"] for s in SIZES)
    agent = CAT.agents[small.agents[0]]
    pbpk = [pbpk_exposure(cat.formulations[t.formulation], agent, "sc").ln_over_blood
            for t in (small, large)]
    assert pbpk[0] > 2.0 * pbpk[1]
    cycle = [_cycle_ratios(t, "human", cat)[1] for t in (small, large)]
    assert cycle[0] > cycle[1] * 1.005, cycle


def test_linked_parameters_say_where_they_come_from():
    t = CAT.therapy("doxil")
    pk = cycle_pk(t, CAT.agents["doxorubicin"], CAT.formulations[t.formulation], CAT.pk)
    for key in ("q_T", "q_LN"):
        assert pk[key]["source"].startswith(
            "derived from the PBPK (immunocycle.pk.run_pk, human, iv, 85 nm)"), pk[key]["source"]
        assert "assumption" not in pk[key]["source"]


def test_unrepresentable_formulations_fall_back_to_assumptions():
    backpack = CAT.therapy("il15sa_backpack_t_cells")
    pk = cycle_pk(backpack, CAT.agents[backpack.agents[0]],
                  CAT.formulations[backpack.formulation], CAT.pk)
    assert "assumption" in pk["q_T"]["source"] and "PBPK" not in pk["q_T"]["source"][:20]
    nodal = CAT.therapy("nanodisc_neoantigen_cpg").model_copy(update={"route": "intranodal"})
    pk = cycle_pk(nodal, CAT.agents[nodal.agents[0]], CAT.formulations[nodal.formulation],
                  CAT.pk)
    assert "assumption" in pk["q_LN"]["source"]
    assert "route intranodal emulated" in pk["q_LN"]["source"]


def test_pbpk_runs_are_cached():
    t = CAT.therapy("doxil")
    args = (CAT.formulations[t.formulation], CAT.agents["doxorubicin"], "iv", "human")
    assert pbpk_exposure(*args) is pbpk_exposure(*args)


def test_carrier_bound_payload_does_not_count_as_released():
    # Doxil releases ~0.2 %/h: released doxorubicin in the tumor is far below the carrier there.
    t = CAT.therapy("doxil")
    exp = pbpk_exposure(CAT.formulations[t.formulation], CAT.agents["doxorubicin"], "iv")
    assert exp.tumor_over_blood < 0.1 * exp.carrier_tumor_over_blood
