"""Chemotherapy as real arms: cell-cycle-aware, dose-dependent kill by the unbound drug,
myelosuppression with a delayed nadir, label doses in the catalog, and nab- over solvent-based
paclitaxel from exposure alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunocycle.catalog import load_catalog, resolve_therapy
from immunocycle.cycle import simulate_cycle


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


def test_label_doses_and_schedules_of_the_new_chemotherapies(cat):
    expected = {"nab_paclitaxel": (260.0, 21), "paclitaxel": (175.0, 21),
                "liposomal_irinotecan": (70.0, 14), "docetaxel": (75.0, 21)}
    for tid, (amount, every) in expected.items():
        t = cat.therapy(tid)
        assert (t.dose.amount, t.dose.units, t.schedule.every) == (amount, "mg/m2", every)
        assert t.evidence and all(cat.evidence[e].doi for e in t.evidence)
    assert cat.therapy("nab_paclitaxel").free_counterpart == "paclitaxel"
    assert cat.therapy("liposomal_irinotecan").free_counterpart == "irinotecan_free"


def test_effects_are_driven_by_unbound_drug(cat):
    sb, nab = resolve_therapy("paclitaxel"), resolve_therapy("nab_paclitaxel")
    kill = {t.name: next(e for e in t.effects if e.parameter == "chemo_kill") for t in (sb, nab)}
    # the same unbound IC50 (5 nM), applied to total drug through each formulation's fu
    assert kill["paclitaxel"].ec50 == pytest.approx(5.0 / 0.024)
    assert kill["nab_paclitaxel"].ec50 == pytest.approx(5.0 / 0.063)
    assert kill["paclitaxel"].emax == kill["nab_paclitaxel"].emax  # one potency per agent


def test_no_drug_no_chemotherapy_terms():
    res = simulate_cycle("human", ["nivolumab"], days=14, step=7).result
    assert np.all(res["cancer_deaths_chemo"] == 0.0)
    assert np.all(res["marrow_reserve"] == 1.0)


def test_kill_rises_with_dose_and_marrow_nadir_comes_days_later():
    therapy = resolve_therapy("paclitaxel").with_dosing(count=1)
    doses = [0.0, 90.0 / 37.0, 175.0 / 37.0, 350.0 / 37.0]  # mg/m2 -> mg/kg (Km 37)
    res = simulate_cycle("human", [therapy], days=21, step=0.25, n=len(doses),
                         parameters=pd.DataFrame({"paclitaxel_dose": doses})).result
    times = res.times
    killed = np.trapezoid(res["cancer_deaths_chemo"], times, axis=1)
    cells = res["C"][:, -1]
    assert killed[0] == 0.0 and np.all(np.diff(killed) > 0)
    assert np.all(np.diff(cells) < 0)  # more drug, fewer viable cancer cells at day 21
    reserve = res["marrow_reserve"][2]
    nadir = times[np.argmin(reserve)]
    assert reserve.min() < 1.0 and 3.0 <= nadir <= 14.0  # neutrophil-nadir-like timing


def test_nab_paclitaxel_beats_solvent_paclitaxel_on_the_same_patients():
    from immunocycle.trial import make_task, summarize_trial

    task = make_task("breast", ["paclitaxel", "nab_paclitaxel"], seed=3)
    frame = task(0, 60)
    arms = {a["name"]: a for a in summarize_trial(frame, task.arms)["arms"]}
    assert arms["nab_paclitaxel"]["orr"] > arms["paclitaxel"]["orr"]
    ok = frame[frame["evaluable"]]
    change = ok.pivot(index="patient_id", columns="arm", values="best_pct_change").dropna()
    assert change["nab_paclitaxel"].median() < change["paclitaxel"].median()
