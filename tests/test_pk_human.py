"""Human nano-PBPK against clinical nanomedicine PK (human_nano_pk.yaml)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from immunocycle.pk._human import (
    free_two_compartment,
    human_set,
    mm302_deposition,
    scored_products,
    simulate_products,
)


def test_every_product_has_a_source_and_known_classes() -> None:
    data = human_set()
    assert len(data["products"]) == 8
    for key, prod in data["products"].items():
        assert "doi" in prod["source"].lower() or "prescribing" in prod["source"].lower() \
            or "smpc" in prod["source"].lower(), key
        assert prod["release"] in data["release_classes"]
    assert len(scored_products()) >= 7


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
