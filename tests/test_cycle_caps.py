"""Mechanisms that cap efficacy (issue 13): the node's antigen-presenting capacity limits the
DCs a vaccine loads, and IL-2-pathway agonists expand Tregs by their CD25 bias."""

import numpy as np
import pytest

from immunocycle.catalog import to_cycle_therapy
from immunocycle.cycle import build_cycle_model, simulate_cycle

DAYS = 84


@pytest.fixture(scope="module")
def vaccine():
    return to_cycle_therapy("nanodisc_neoantigen_cpg", "human")


def test_ten_times_the_vaccine_dose_does_not_give_ten_times_the_loaded_dcs(vaccine):
    base = simulate_cycle("desert", [vaccine], days=42)
    big = simulate_cycle("desert", [vaccine.with_dosing(amount=10 * vaccine.dosing.amount)],
                         days=42)
    cap = build_cycle_model("desert").parameters["APC_LN_max"].value
    dc1, dc10 = base.result["DC_vax"][0], big.result["DC_vax"][0]
    assert dc10.max() <= cap * 1.0001
    assert dc1.max() > 0.2 * cap  # the standard dose already fills a good part of the node
    assert dc10.max() < 3 * dc1.max()  # not 10x
    # without the capacity the same dose loads more DCs: the node is what holds them
    uncapped = simulate_cycle("desert", [vaccine.with_dosing(amount=10 * vaccine.dosing.amount)],
                              days=42, parameters={"APC_LN_max": np.array([1e15])})
    assert uncapped.result["DC_vax"][0].max() > 1.2 * dc10.max()


def test_without_a_vaccine_the_capacity_changes_nothing():
    free = simulate_cycle("inflamed", ["nivolumab"], days=DAYS)
    tight = simulate_cycle("inflamed", ["nivolumab"], days=DAYS,
                           parameters={"APC_LN_max": np.array([1e3])})
    assert np.array_equal(free.result["C"][0], tight.result["C"][0])


def test_a_cd25_binding_il2_agonist_raises_tregs_and_a_cd122_biased_one_less():
    control = simulate_cycle("human", days=DAYS)
    il2 = simulate_cycle("human", [to_cycle_therapy("aldesleukin_free", "human")], days=DAYS)
    bempeg = simulate_cycle("human", [to_cycle_therapy("bempegaldesleukin", "human")], days=DAYS)

    def tregs(res):
        r = res.result
        return r["Treg_LN"][0] + r["Treg_IL2"][0], r["Treg_T"][0]

    node0, tumor0 = tregs(control)
    node_il2, tumor_il2 = tregs(il2)
    node_bp, _ = tregs(bempeg)
    assert node_il2.max() > 1.5 * node0.max()  # 2-3-fold in patients (Ahmadzadeh 2006)
    assert node_il2.max() < 4 * node0.max()
    assert tumor_il2[14] > 1.1 * tumor0[14]  # more Tregs recruited into the tumor
    assert node_bp.max() < node_il2.max()
    assert np.all(control.result["Treg_IL2"][0] == 0.0)  # no agonist, no expansion


def test_sustained_il2_saturates_node_tregs_at_their_ceiling():
    """An intratumoral IL-2Fc liposome keeps the node above the agonist's CD25 EC50 for weeks:
    the expanded Treg pool rises toward its ceiling (at most Treg_IL2_fold_max resting pools,
    Koreth 2016) instead of growing without bound (7000-fold before the ceiling)."""
    from immunocycle.cycle import resolve_preset

    params, _ = resolve_preset("human")
    fold = float(params["Treg_IL2_fold_max"].value)
    rest = float(params["Treg_LN0"].value)
    res = simulate_cycle("human", [to_cycle_therapy("liposomal_acd137_il2fc_it", "human")],
                         days=84.0)
    pool = res.result["Treg_IL2"][0]
    assert pool.max() > 1.0 * rest  # a real expansion
    assert pool.max() <= fold * rest * (1 + 1e-6)


def test_recognition_per_effector_follows_the_antigen_the_tumor_presents():
    """T cells kill only cells that present an antigen they recognize: the kill per cytotoxic
    effector not vetoed by PD-1 follows ``f_antigen``, which saturates at a few clonal
    neoantigens (half at ``K_neo_kill``) and is 1 at the reference load k_rec is calibrated on.
    The same patient presenting 1, 100 and 1000 neoantigens: a tenth of the kill at 1, little
    more at 1000 (before this cap the kill did not depend on the load)."""
    res = simulate_cycle("human", days=1.0,
                         parameters={"neoantigen_load": np.array([1.0, 100.0, 1000.0])})
    r = res.result
    f = r["f_antigen"][:, 0]
    assert f == pytest.approx([1 / 11 * 1.1, 1.0, 1000 / 1010 * 1.1])  # K_neo_kill 10
    per_effector = r["J7"][:, 0] / (r["T_E_P"][:, 0] + r["T_RM"][:, 0])
    not_vetoed = per_effector / (1 - r["pd1_engagement"][:, 0])
    assert not_vetoed[0] / not_vetoed[1] == pytest.approx(f[0], rel=0.2)
    assert not_vetoed[2] / not_vetoed[1] == pytest.approx(f[2], rel=0.2)


def test_a_tumor_lacking_the_vaccine_antigen_keeps_growing_under_the_vaccine(vaccine):
    """The nanodisc vaccine loads DCs with its own antigen and primes effectors whatever the
    tumor presents. With nivolumab, the reference tumor shrinks; the same tumor presenting almost
    none of the antigen (a thousandth of the load) gets the effectors but not the kill and grows
    as untreated. (The lumped tumor is one clone; the lesion layer carries antigen-negative
    subclones inside a presenting tumor, ``tests/test_progression.py``.)"""
    loads = {"neoantigen_load": np.array([100.0, 0.1])}
    treated = simulate_cycle("human", [vaccine, "nivolumab"], days=DAYS, parameters=loads)
    control = simulate_cycle("human", days=DAYS, parameters=loads)
    tv, cv = treated.result["tumor_volume"], control.result["tumor_volume"]
    effectors = treated.result["T_E_P"]
    assert effectors[1].max() > 100 * control.result["T_E_P"][1].max()  # primed by the vaccine
    assert tv[1, -1] > 0.97 * cv[1, -1]  # ... but its target is missing: grows as untreated
    assert tv[0, -1] < 0.3 * cv[0, -1]  # the presenting tumor shrinks
