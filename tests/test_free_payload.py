"""Free (released) payload in blood (issue 15): a nano-formulated payload's ``<agent>_released_conc_C``
is the drug released from its carrier at the formulation's rate, cleared as the free agent; a
free agent's free concentration is its blood concentration itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunocycle.catalog import (
    load_catalog,
    null_release,
    release_pk,
    simulate_catalog,
    to_cycle_therapy,
)
from immunocycle.cycle import build_cycle_model, simulate_cycle

CAT = load_catalog()


def _auc(res, name: str) -> np.ndarray:
    r = res.result
    return np.trapezoid(np.asarray(r[name], dtype=float), r.times, axis=1)


@pytest.fixture(scope="module")
def doxil_run():
    """One Doxil dose, followed until the carrier has cleared (half-life about 2.5 days), in two
    patients whose release flow differs fourfold (carrier PK unchanged)."""
    th = to_cycle_therapy("doxil").with_dosing(count=1)
    k = th.release["k_release"].value
    params = pd.DataFrame({"doxil_k_release": [k, 4.0 * k]})
    return th, simulate_cycle("human", [th], days=60.0, n=2, parameters=params, step=0.05)


def test_released_payload_is_below_total_and_follows_release(doxil_run):
    th, res = doxil_run
    total = np.asarray(res.result["doxil_conc_C"], dtype=float)
    free = np.asarray(res.result["doxil_released_conc_C"], dtype=float)
    assert np.all(free <= total + 1e-12) and free[:, 1:].max() > 0
    # Same carrier exposure in both patients; released payload four times larger.
    auc_total, auc_free = _auc(res, "doxil_conc_C"), _auc(res, "doxil_released_conc_C")
    assert auc_total[1] == pytest.approx(auc_total[0], rel=1e-6)
    assert auc_free[1] / auc_free[0] == pytest.approx(4.0, rel=0.02)
    # Mass balance: AUC(free) = release flow x AUC(carried) / clearance of the free drug.
    expected = th.release["k_release"].value / th.release["released_k_cl"].value
    assert auc_free[0] / auc_total[0] == pytest.approx(expected, rel=0.02)


def test_release_flow_is_the_formulations_cited_rate():
    entry = CAT.therapy("bempegaldesleukin")  # a protein: released in blood only
    agent, form = CAT.agents[entry.agents[0]], CAT.formulations[entry.formulation]
    base = release_pk(agent, form, CAT.pk, route=entry.route)
    assert base["k_release"]["value"] == pytest.approx(
        form.release.k_blood_per_h * form.carrier_pk.v1_l * 24.0)
    assert "Charych" in base["k_release"]["source"]
    faster = form.model_copy(update={"release": form.release.model_copy(
        update={"k_blood_per_h": 4 * form.release.k_blood_per_h})})
    assert release_pk(agent, faster, CAT.pk, route=entry.route)["k_release"]["value"] == \
        pytest.approx(4 * base["k_release"]["value"])
    # Free drugs and carriers that dissolve in minutes (nab-paclitaxel) have no carried payload.
    assert release_pk(agent, None, CAT.pk) is None
    nab = CAT.therapy("nab_paclitaxel")
    assert release_pk(CAT.agents["paclitaxel"], CAT.formulations[nab.formulation], CAT.pk) is None
    assert to_cycle_therapy("doxorubicin_free").release is None


def test_small_molecule_release_matches_the_pbpk():
    """Doxil: payload also returns to blood after liposome uptake in organs, so the flow is the
    PBPK's free / bound plasma AUC ratio x free clearance, above release in blood alone and at
    most the carrier's whole clearance."""
    from immunocycle.catalog._convert import _pbpk_free_over_bound

    entry = CAT.therapy("doxil")
    form = CAT.formulations[entry.formulation]
    th = to_cycle_therapy("doxil")
    flow, cl_free = th.release["k_release"].value, th.release["released_k_cl"].value
    in_blood = form.release.k_blood_per_h * form.carrier_pk.v1_l * 24.0
    assert in_blood < flow <= th.pk["k_cl"].value
    assert flow / cl_free == pytest.approx(_pbpk_free_over_bound(form, "iv"), rel=1e-9)
    assert "PBPK" in th.release["k_release"].source


def test_free_drug_free_concentration_is_its_blood_concentration():
    res = simulate_cycle("human", [to_cycle_therapy("doxorubicin_free").with_dosing(count=1)],
                         days=7.0, step=0.05)
    r = res.result
    assert np.array_equal(np.asarray(r["doxorubicin_free_released_conc_C"]),
                          np.asarray(r["doxorubicin_free_conc_C"]))


def test_catalog_run_reports_released_payload():
    """simulate_catalog pads free drugs with a release block that changes nothing."""
    th = to_cycle_therapy("doxorubicin_free")
    null = null_release(th)
    assert null["carried"].value == 0.0 and null["k_release"].value == 0.0
    run = simulate_catalog(["doxorubicin_free", "doxil"], days=14.0, step=0.05, catalog=CAT)
    free, nano = run.therapy("doxorubicin_free"), run.therapy("doxil")
    assert np.array_equal(free["free_blood"].to_numpy(), free["conc_C"].to_numpy())
    assert (nano["free_blood"] <= nano["conc_C"]).all()
    assert run.exposure("doxil")["blood_free"] < 0.01 * run.exposure("doxil")["blood_total"]


def test_blood_free_effect_site_reads_the_released_payload():
    th = to_cycle_therapy("liposomal_irinotecan")
    marrow = [e for e in th.effects if e.parameter == "marrow_tox"]
    assert marrow and all(e.concentration == "blood_free" for e in marrow)
    model = build_cycle_model("human", [th])
    assert "liposomal_irinotecan_released_conc_C" in model.assignments["marrow_tox_eff"].expression
    # A free agent's blood_free effect reads its blood concentration.
    free = th.model_copy(update={"release": None, "name": "irinotecan_plain"})
    model = build_cycle_model("human", [free])
    assert "irinotecan_plain_conc_C" in model.assignments["marrow_tox_eff"].expression


def test_an_agent_and_its_catalog_free_form_share_one_model():
    """The cycle antibody ``nivolumab`` and the catalog's ``nivolumab_free`` in one regimen (as
    the validate constraints build them: a catalog regimen plus the cohort's PD-1 blocker): the
    released-payload names of one may not collide with the other's (``<a>_free_conc_C`` of
    ``nivolumab`` was ``nivolumab_free``'s ``<a>_conc_C``)."""
    from immunocycle.cycle import load_therapy

    model = build_cycle_model("human", [load_therapy("nivolumab"),
                                        to_cycle_therapy("nivolumab_free")])
    assert "nivolumab_released_conc_C" in model.assignments
    assert "nivolumab_free_conc_C" in model.assignments
    assert "nivolumab_free_released_conc_C" in model.assignments
