"""The catalog's time-resolved link to the nanoparticle PBPK: the cycle model's tumor and node
follow the first-order kinetics fitted to the PBPK's time courses of released payload, with the
PBPK's exposure ratios, nothing capped or floored."""

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
# (therapy, species): i.v. small-molecule payloads, biologic carriers, s.c. and i.t. depots
LINKED = [("doxil", "human"), ("nanodisc_doxorubicin", "human"), ("doxil", "mouse"),
          ("cdnp_r848", "mouse"), ("hyaluronidase_np_doxorubicin", "mouse"),
          ("bempegaldesleukin", "human"), ("nanodisc_neoantigen_cpg", "human"),
          ("liposomal_acd137_il2fc_it", "human")]
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


def _cycle_single_dose(therapy, species: str, catalog=CAT, days: float = 28.0):
    """Times (day) and conc_C, conc_T, conc_LN (nmol/L) of one dose in the cycle model.

    Effects are dropped and the agent renamed, so every call shares one compiled structure."""
    from immunocycle.catalog import to_cycle_therapy

    single = therapy.model_copy(update={
        "schedule": therapy.schedule.model_copy(update={"count": 1, "start": 0.0})})
    th = to_cycle_therapy(single, species, catalog=catalog)
    th = th.model_copy(update={"name": "link_agent", "effects": []})
    # fine grid: a fast-releasing carrier (cdnp_r848 in mice) leaves plasma with a half-life of
    # about 20 min, which a 30-min trapezoid would overestimate
    res = simulate_cycle(species, [th], days=days, step=0.002)
    r = res.result
    return r.times, {k: r[f"link_agent_conc_{k}"][0] for k in ("C", "T", "LN")}, th


def _kinetics(therapy, species):
    from immunocycle.catalog._convert import pk_link

    return pk_link(therapy, CAT.agents[therapy.agents[0]], CAT.formulations[therapy.formulation],
                   CAT.pk, species)


def _cycle_ratios(therapy, species: str, catalog=CAT) -> tuple[float, float]:
    """AUC(conc_T)/AUC(conc_C) and AUC(conc_LN)/AUC(conc_C) of one dose over 28 days."""
    t, c, _ = _cycle_single_dose(therapy, species, catalog)
    return (float(np.trapezoid(c["T"], t) / np.trapezoid(c["C"], t)),
            float(np.trapezoid(c["LN"], t) / np.trapezoid(c["C"], t)))


@pytest.mark.parametrize("therapy, species", [c for c in LINKED if c[1] == "human"])
def test_cycle_sites_follow_the_fitted_kinetics(therapy, species):
    """The cycle model's tumor, fed by its own plasma, is the fitted first-order filter of it:
    the parameters mapped to (q, K) and the model's equations agree with catalog._kinetics."""
    from immunocycle.catalog._kinetics import first_order

    t = CAT.therapy(therapy)
    _, kin, _ = _kinetics(t, species)
    days, c, th = _cycle_single_dose(t, species)
    pk = {k: float(v.value) for k, v in th.pk.items()}
    from immunocycle.catalog._convert import _start_tumor_volume_l

    lymph = pk["q_LD"] * _start_tumor_volume_l(species)
    gain = kin.q_T * kin.K_T / (kin.q_T + lymph)
    expected = gain * first_order(days, c["C"], kin.tau_T_h / 24.0)
    # The fit holds the tumor volume at its start; the simulated tumor grows (a mouse tumor
    # about 20% a day, hence human cases only, over the first 3 days).
    early = days <= 3.0
    peak = float(np.max(expected[early]))
    assert np.max(np.abs(c["T"] - expected)[early]) < 0.05 * peak, (therapy, species)


@pytest.mark.parametrize("therapy, species", LINKED)
def test_fitted_courses_reproduce_the_pbpk(therapy, species):
    """Fitted to the PBPK's own plasma course, the sites keep its AUC ratios over the horizon and
    its course within a factor of about 2 (i.v. tumor) to 10 (depots, bounded nodes)."""
    t = CAT.therapy(therapy)
    exp, kin, _ = _kinetics(t, species)
    assert kin.r_T == pytest.approx(exp.tumor_over_blood, rel=1e-6)
    assert kin.r_LN == pytest.approx(exp.ln_over_blood, rel=1e-6)
    if t.route == "iv":
        assert kin.rms_log10_T < 0.3, kin
    assert kin.rms_log10_T < 1.0 and kin.rms_log10_LN < 1.2, kin


def test_no_cap_and_no_floor():
    """An s.c. carrier draining to the node holds many times plasma there; a small molecule
    released in the tumor reaches the node less than the tumor (the old link compressed the
    first below plasma and raised the second to the tumor's)."""
    disc = CAT.therapy("nanodisc_neoantigen_cpg")
    assert _kinetics(disc, "human")[0].ln_over_blood > 10.0
    assert _cycle_ratios(disc, "human")[1] > 10.0
    sting = _cycle_ratios(CAT.therapy("sting_nanoparticle_cgamp"), "human")
    assert sting[1] < 0.1 * sting[0], sting


def test_only_carrier_that_can_act_counts():
    """A biologic's carrier proxy is the carrier in the tumor's interstitium and free in the node,
    not what the node's phagocytes took up (most of the PBPK's node carrier)."""
    t = CAT.therapy("bempegaldesleukin")
    exp = _kinetics(t, "human")[0]
    assert exp.ln_over_blood < 0.1 * exp.carrier_ln_over_blood
    assert exp.tumor_over_blood < exp.carrier_tumor_over_blood


def test_an_it_depot_gives_the_tumor_more_than_an_iv_dose():
    it = _cycle_ratios(CAT.therapy("liposomal_acd137_il2fc_it"), "human")
    iv = _cycle_ratios(CAT.therapy("liposomal_acd137_il2fc_iv"), "human")
    assert it[0] > 100.0 * iv[0], (it, iv)


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
    for key in ("q_T", "q_LN", "K_T", "K_LN"):
        assert pk[key]["source"].startswith(
            "derived from the PBPK (immunocycle.pk.run_pk, human, iv, 85 nm)"), pk[key]["source"]
        assert "time constant" in pk[key]["source"]
        assert "assumption" not in pk[key]["source"]
    free = cycle_pk(CAT.therapy("doxorubicin_free"), CAT.agents["doxorubicin"], None, CAT.pk)
    assert free["K_T"]["value"] == 1.0 and free["K_LN"]["value"] == 1.0


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
