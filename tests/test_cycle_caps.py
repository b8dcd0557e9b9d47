"""Mechanisms that cap efficacy (issue 13): node APC capacity, IL-2 receptor bias on Tregs,
antigen-negative cancer cells, homeostatic space of tumor-specific CD8, saturable infiltration
across the stroma, and exhaustion that rises with antigen stimulation."""

import numpy as np
import pytest
import sympy

from immunocycle.catalog import to_cycle_therapy
from immunocycle.cycle import build_cycle_model, simulate_cycle
from immunocycle.cycle._treat import treat

DAYS = 84


def _value(model, name: str, **state) -> float:
    """An Assignment of the model evaluated at parameter values and the given state/drivers."""
    values = {k: p.value for k, p in model.parameters.items()}
    values.update(state)
    subs = {sympy.Symbol(k): v for k, v in values.items()}
    for a in model.derived_order():
        if a in state or a not in model.assignments:
            continue
        names = [*values, *model.assignments, *model.state_names]
        expr = sympy.sympify(model.assignments[a].expression,
                             locals={k: sympy.Symbol(k) for k in names})
        subs[sympy.Symbol(a)] = expr.subs(subs)
        if a == name:
            return float(subs[sympy.Symbol(a)])
    raise KeyError(name)


@pytest.fixture(scope="module")
def vaccine():
    return to_cycle_therapy("nanodisc_neoantigen_cpg", "human")


def test_ten_times_the_vaccine_dose_does_not_give_ten_times_the_loaded_dcs(vaccine):
    base = simulate_cycle("desert", [vaccine], days=42)
    big = simulate_cycle("desert", [vaccine.with_dosing(amount=10 * vaccine.dosing.amount)],
                         days=42)
    cap = build_cycle_model("desert").parameters["APC_LN_max"].value
    dc1, dc10 = base.result["DC_LN"][0], big.result["DC_LN"][0]
    assert dc10.max() <= cap * 1.0001
    assert dc1.max() > 0.2 * cap  # the standard dose already fills a good part of the node
    assert dc10.max() < 3 * dc1.max()  # not 10x
    # Without the capacity the same dose loads more DCs: the node is what holds them.
    uncapped = simulate_cycle("desert", [vaccine.with_dosing(amount=10 * vaccine.dosing.amount)],
                              days=42, parameters={"APC_LN_max": np.array([1e15])})
    assert uncapped.result["DC_LN"][0].max() > 1.2 * dc10.max()


def test_a_cd25_binding_il2_agonist_raises_tregs_and_a_cd122_biased_one_less():
    control = simulate_cycle("human", days=DAYS)
    il2 = simulate_cycle("human", [to_cycle_therapy("aldesleukin_free", "human")], days=DAYS)
    bempeg = simulate_cycle("human", [to_cycle_therapy("bempegaldesleukin", "human")], days=DAYS)

    def tregs(res):
        r = res.result
        return (r["Treg_LN"][0] + r["Treg_IL2"][0]), r["Treg_T"][0]

    node0, tumor0 = tregs(control)
    node_il2, tumor_il2 = tregs(il2)
    node_bp, _ = tregs(bempeg)
    assert node_il2.max() > 1.5 * node0.max()
    assert tumor_il2[14] > 1.1 * tumor0[14]
    assert node_bp.max() < node_il2.max()
    assert np.all(control.result["Treg_IL2"][0] == 0.0)  # no agonist, no expansion


def test_a_subclone_lacking_the_vaccine_antigen_keeps_growing_under_the_vaccine(vaccine):
    p = {"antigen_negative_fraction": np.array([0.01])}
    untreated = simulate_cycle("desert", days=DAYS, parameters=p)
    treated = simulate_cycle("desert", [vaccine], days=DAYS, parameters=p)
    neg_u, neg_t = untreated.result["C_neg"][0], treated.result["C_neg"][0]
    pres_u = untreated.result["C"][0] - neg_u
    pres_t = treated.result["C"][0] - neg_t
    assert neg_t[-1] > 2 * neg_t[0]  # antigen-negative cells grow through the vaccine course
    assert neg_t[-1] >= 0.99 * neg_u[-1]  # and T cells do not touch them
    assert pres_t[-1] < pres_u[-1]  # while the vaccine does act on the presenting cells
    assert np.all(treated.result["C_neg"][0] <= treated.result["C"][0])


def test_tumor_specific_cd8_stay_within_ten_percent_of_circulating_cd8():
    model = build_cycle_model("human")
    pool = model.parameters["rho_CD8_blood"].value * model.parameters["V_blood"].value
    f = model.parameters["f_specific_max"].value
    assert f == pytest.approx(0.1)
    arms = [["nivolumab", "ipilimumab"]]
    tn = np.array([140000.0, 1.4e6])
    capped = treat("inflamed", arms, days=DAYS, parameters={"T_N0": tn}, n=2).arms[0]
    assert capped["T_E_B"].max() <= f * pool * 1.001
    uncapped = treat("inflamed", arms, days=DAYS, n=2,
                     parameters={"T_N0": tn, "f_specific_max": np.full(2, 1e3)}).arms[0]
    assert uncapped["T_E_B"].max() > f * pool  # the ceiling is what holds them


def test_infiltration_across_the_stroma_saturates():
    model = build_cycle_model("excluded")
    v = 0.014  # L, a 30 mm tumor
    k = model.parameters["K_MP_sat"].value * v
    j5 = [_value(model, "J5", T_E_M=m * k, S=1.0, tumor=v) for m in (0.01, 1.0, 100.0)]
    assert j5[1] < 0.6 * 100 * j5[0]  # sublinear at the saturation density
    assert j5[2] < 2 * j5[1]  # 100x the margin cells, less than 2x the flux
    assert j5[2] < model.parameters["k_MP"].value * k / 2.0  # bounded by k_MP K V / (1 + S)


def test_exhaustion_rises_with_antigen_stimulation_even_under_full_pd1_blockade():
    model = build_cycle_model("human")
    state = {"T_E_P": 1e7, "C": 1e9, "C_neg": 0.0, "Treg_T": 0.0, "MHC": 1.0, "tumor": 0.014,
             "pd1_engagement": 0.0}
    per_cell = [_value(model, "exhaustion", antigenicity=a, **state) / state["T_E_P"]
                for a in (0.05, 0.25, 0.75)]
    assert per_cell[0] < per_cell[1] < per_cell[2]
    # Without stimulation (no presenting cells) nothing exhausts them.
    assert _value(model, "exhaustion", antigenicity=0.75, **{**state, "C_neg": 1e9}) == 0.0


def test_t_cells_recognize_only_presenting_cells_in_proportion_to_antigenicity():
    model = build_cycle_model("human")
    state = {"T_E_P": 1e7, "C": 1e9, "MHC": 1.0, "pd1_engagement": 0.0}
    low = _value(model, "J6", antigenicity=0.1, C_neg=0.0, **state)
    high = _value(model, "J6", antigenicity=0.4, C_neg=0.0, **state)
    assert high == pytest.approx(4 * low)
    assert _value(model, "J6", antigenicity=0.4, C_neg=1e9, **state) == 0.0
