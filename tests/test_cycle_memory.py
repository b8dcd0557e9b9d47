"""Memory CD8 T cells form at contraction, outlast the effectors and keep a response from relapsing."""

import numpy as np
import pytest

from immunocycle.cycle import build_cycle_model, treat


@pytest.fixture(scope="module")
def responder():
    """The inflamed archetype on nivolumab for a year, with memory (f_mem 0.05) and without (0)."""
    tr = treat("inflamed", [["nivolumab"]], days=365, step=7, parameters={"f_mem": [0.05, 0.0]})
    return tr.pretreatment, tr.arms[0]


def test_the_model_names_both_memory_pools():
    model = build_cycle_model("human")
    assert {"T_mem", "T_RM"} <= set(model.species)
    assert "T_RM" in model.assignments["T_cyt"].expression  # resident memory cells kill
    for name in ("f_mem", "k_mem_loss", "f_mem_LN", "k_RM_loss"):
        assert model.parameters[name].source


def test_no_memory_forms_while_the_effector_pool_is_fed(responder):
    pre, _ = responder
    # years of untreated growth with a growing effector pool: no contraction, no memory
    assert np.all(np.abs(pre.initial["T_mem"]) < 1.0)
    assert np.all(np.abs(pre.initial["T_RM"]) < 1.0)


def test_memory_forms_at_contraction_and_outlasts_the_effectors(responder):
    _, res = responder
    blood, mem, resident = res["T_E_B"][0], res["T_mem"][0], res["T_RM"][0]
    assert blood[-1] < 1e-2 * blood.max()  # the effectors contract with the shrinking tumor
    # the memory pool stays: recall by the antigen left spends part of it, but it outlasts
    # the effectors by an order of magnitude
    assert mem.max() > 1e6 and mem[-1] > 0.5 * mem.max() and mem[-1] > 10 * blood[-1]
    assert resident[-1] > 1e6
    assert np.all(res["T_mem"][1] == 0) and np.all(res["T_RM"][1] == 0)  # f_mem 0: none


def test_memory_keeps_a_responding_tumor_from_relapsing(responder):
    _, res = responder
    d = res["tumor_diameter"]
    with_memory, without = d[0], d[1]
    # predator-prey relapse once effectors contract (the regrowth may turn again later)
    assert without[np.argmin(without):].max() > 1.5 * without.min()
    assert with_memory[-1] <= 1.01 * with_memory.min()  # resident and recalled memory hold it
