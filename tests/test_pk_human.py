"""Human nano-PBPK against clinical nanomedicine PK (human_nano_pk.yaml)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from immunocycle._errors import InputError
from immunocycle.pk._human import (
    SCORED,
    evaluate_human,
    free_two_compartment,
    human_set,
    mm302_deposition,
    scored_products,
    simulate_products,
)

# a citable source: a DOI, a label, or a journal reference "year;volume:page"
_CITABLE = re.compile(r"doi|prescribing|smpc|\d{4};\d+:\d+", re.IGNORECASE)


def test_every_product_has_a_source_and_known_classes() -> None:
    data = human_set()
    assert len(data["products"]) == 8
    for key, prod in data["products"].items():
        assert _CITABLE.search(prod["source"]), key
        assert prod["release"] in data["release_classes"]
        # partly verified entries name only metrics they observe
        assert set(prod.get("verified_metrics", [])) <= set(prod["observed"]), key
    # all eight products carry observed PK (CRLX101 from its population PK model)
    assert len(scored_products()) == 8


def test_free_two_compartment_has_the_label_half_life_clearance_and_vss() -> None:
    p = free_two_compartment(20.2, 22.0, 409.0)
    k10, k12, k21 = p["CL_f"] / p["V1_f"], p["Q_f"] / p["V1_f"], p["Q_f"] / p["V2_f"]
    s = k10 + k12 + k21
    lam = 0.5 * (s - math.sqrt(s * s - 4 * k10 * k21))
    assert math.log(2) / lam == pytest.approx(20.2, rel=1e-3)
    assert p["V1_f"] + p["V2_f"] == pytest.approx(409.0)


@pytest.fixture(scope="module")
def predictions():
    keys = ["doxil", "onivyde", "abraxane"]
    return dict(zip(keys, simulate_products([(k, {}) for k in keys]), strict=True))


def test_peg_liposome_half_life_is_days_not_weeks(predictions) -> None:
    # Before the human fit a 90 nm PEG liposome had a ~130 h human half-life; Doxil's is 55 h.
    obs = human_set()["products"]
    for key in ("doxil", "onivyde"):
        pred = predictions[key]
        for m in ("half_life_h", "clearance_l_per_h"):
            fold = max(pred[m] / obs[key]["observed"][m], obs[key]["observed"][m] / pred[m])
            assert fold < 2.0, (key, m, pred[m])


def test_dissociating_carrier_follows_its_free_drug(predictions) -> None:
    # nab-paclitaxel sheds its drug at once: its plasma PK is free paclitaxel's (large Vss).
    pred = predictions["abraxane"]
    assert pred["vss_l"] > 20 * predictions["doxil"]["vss_l"]
    assert pred["half_life_h"] == pytest.approx(20.2, rel=0.25)


def test_mm302_tumor_deposition_is_within_the_published_range() -> None:
    dep = mm302_deposition()
    lo, hi = dep["published_range_pct_id_per_kg"]
    assert dep["within_range"]
    assert all(lo <= v <= hi for v in dep["predicted_pct_id_per_kg"].values())
    assert np.isfinite(dep["tumor_mass_kg"])


def test_cli_human_needs_evaluate(tmp_path) -> None:
    from immunocycle.cli import app

    res = CliRunner().invoke(app, ["pk", "--human", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "--human" in res.output


def test_leaky_release_reproduces_myocet_encapsulation_and_predicts_its_clearance() -> None:
    # The leaky class is calibrated to Myocet's encapsulated share of plasma AUC (85 %, Mross
    # 2004), not to its clearance; the clearance then follows (observed 10.1 L/h). A retained
    # carrier (Doxil) stays > 99 % encapsulated.
    myocet, doxil = simulate_products([("myocet", {}), ("doxil", {})])
    assert 0.80 <= myocet["encapsulated_auc_fraction"] <= 0.90
    assert doxil["encapsulated_auc_fraction"] > 0.99
    obs = human_set()["products"]["myocet"]["observed"]["clearance_l_per_h"]
    assert obs / 2 <= myocet["clearance_l_per_h"] <= obs * 2
    assert myocet["clearance_l_per_h"] > 20 * doxil["clearance_l_per_h"]


@pytest.fixture(scope="module")
def evaluation():
    return evaluate_human(loo=True)


def test_leave_one_out_keeps_six_of_eight_products_within_two_fold(evaluation) -> None:
    # issue 16: at least 6 of the 8 products within 2-fold on half-life and on clearance,
    # each predicted with the human factors fitted without it (Marqibo has no published
    # terminal half-life, so half-life is scored on 7).
    s = evaluation["summary"]
    assert s["n_scored"] == 8 and not s["not_scored"]
    assert s["n_observed_half_life_h"] == 7 and s["n_observed_clearance_l_per_h"] == 8
    assert s["loo_fold_error_within_2fold_half_life_h"] >= 6
    assert s["loo_fold_error_within_2fold_clearance_l_per_h"] >= 6
    for key, p in evaluation["products"].items():
        assert set(p["loo_fold_error"]) >= {m for m in SCORED if p["observed"].get(m)}, key
        for m, fold in p["loo_fold_error"].items():
            assert fold >= 1.0 and math.isfinite(fold), (key, m)
    # the grid optimum is no better than the factors in use by more than 1 %
    g = evaluation["grid_objective"]
    assert g["best"] <= g["in_use"] <= 1.01 * g["best"]
    # verified flags travel to the report: CPX-351 is verified on half-life only
    assert evaluation["products"]["cpx351"]["verified_metrics"] == ["half_life_h"]
    assert evaluation["products"]["genexol_pm"]["verified_metrics"] == []


def test_cli_human_evaluate_json_lists_every_product(evaluation, monkeypatch, tmp_path) -> None:
    import json

    from immunocycle import pk as pk_api
    from immunocycle.cli import app

    # the grid search runs once per module: the command gets the fixture's result
    monkeypatch.setattr(pk_api, "evaluate_human", lambda loo=True: evaluation)
    res = CliRunner().invoke(app, ["pk", "--evaluate", "--human", "--json",
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert set(out["products"]) == set(human_set()["products"])
    for p in out["products"].values():
        assert {"observed", "predicted", "fold_error", "loo_fold_error"} <= set(p)
    assert (tmp_path / "o" / "human_evaluation.json").exists()


def test_human_tumor_of_another_mass_keeps_perfusion_per_gram() -> None:
    from immunocycle.pk import human_tumor
    from immunocycle.pk._data import species_parameters

    p = species_parameters("human")
    ref = human_tumor(p["VTC"].value * p["BW"].value * 1000.0)
    assert ref["VTC"] == pytest.approx(p["VTC"].value)
    assert ref["QTC"] == pytest.approx(p["QTC"].value)
    small, big = human_tumor(10.0), human_tumor(100.0)
    assert big["QTC"] / small["QTC"] == pytest.approx(10.0)
    assert big["QTC"] / big["VTC"] == pytest.approx(small["QTC"] / small["VTC"])
    with pytest.raises(InputError, match="mass_g"):
        human_tumor(0.0)


def test_harrington_deposition_is_predicted_held_out() -> None:
    """Three tumor sizes of Harrington 2001: finite predictions in %ID/kg, the fraction of dose
    below the whole dose, and the known gap (under-delivery) still there: each group's
    prediction below its published mean (a change that closes it is seen here)."""
    from immunocycle.pk import harrington_deposition

    dep = harrington_deposition()
    groups = dep["groups"]
    assert set(groups) == {"head_and_neck", "lung", "breast"}
    for g in groups.values():
        assert 0 < g["predicted_pct_id"] < 100
        pred_kg = g["predicted_pct_id"] / (g["volume_cm3"] / 1000.0)
        assert g["predicted_pct_id_per_kg"] == pytest.approx(pred_kg)
        assert g["predicted_pct_id_per_kg"] < g["observed_pct_id_per_kg"]
    assert dep["size_ratio"]["predicted"] < dep["size_ratio"]["observed"]
