"""Payload: a PEGylated liposome vs free doxorubicin; triggered release; free-drug PK."""

from __future__ import annotations

import numpy as np
import pytest

from immunocycle.engine import simulate
from immunocycle.pk import Particle, Release, build_free_pk, run_pk

DOX_MG_PER_KG = 5.0


@pytest.fixture(scope="module")
def doxil():
    # Doxil-like: ~90 nm PEG liposome, ~0.1 mg doxorubicin per mg carrier, slow release.
    lipo = Particle(carrier_class="liposome", diameter_nm=90.0, zeta_mv=-10.0,
                    tumor_model="Allograft Heterotopic", cancer_type="colon",
                    dose_mg_per_kg=DOX_MG_PER_KG / 0.1, tumor_weight_g=0.2)
    return run_pk(lipo, payload="doxorubicin", release=Release(rate_per_h=0.005), loading=0.1)


@pytest.fixture(scope="module")
def free_dox():
    return run_pk(None, payload="doxorubicin", free_dose_mg_per_kg=DOX_MG_PER_KG)


def test_liposome_keeps_payload_in_blood(doxil, free_dox) -> None:
    # Measured (mouse): half-life 30.7 h vs 3.9 h; Vz 0.010 L vs 0.72 L.
    assert doxil.payload_blood_half_life_h > 5 * free_dox.payload_blood_half_life_h
    assert doxil.payload_vd_l < 0.1 * free_dox.payload_vd_l


def test_liposome_lowers_free_payload_in_healthy_organs(doxil, free_dox) -> None:
    # Same payload dose; AUC over 0-168 h. Measured ratios: muscle 0.60, rest 0.69, kidney 0.72,
    # brain 0.55, plasma 0.53 (spleen and liver, the phagocyte organs, go up: 8.5x, 1.2x).
    for organ in ("muscle", "rest", "kidney", "brain", "blood"):
        assert doxil.free_payload_auc[organ] < 0.85 * free_dox.free_payload_auc[organ], organ
    assert doxil.free_payload_auc["spleen"] > free_dox.free_payload_auc["spleen"]


def test_triggered_release_raises_free_payload_in_tumor(doxil) -> None:
    lipo = Particle(carrier_class="liposome", diameter_nm=90.0, zeta_mv=-10.0,
                    tumor_model="Allograft Heterotopic", cancer_type="colon",
                    dose_mg_per_kg=DOX_MG_PER_KG / 0.1, tumor_weight_g=0.2)
    hot = run_pk(lipo, payload="doxorubicin", loading=0.1,
                 release=Release(rate_per_h=0.005, trigger_start_h=24.0, trigger_end_h=26.0,
                                 trigger_rate_per_h=2.0))
    assert hot.free_payload_auc["tumor"] > 1.2 * doxil.free_payload_auc["tumor"]
    assert hot.free_payload_auc["muscle"] == pytest.approx(doxil.free_payload_auc["muscle"], rel=0.05)
    assert max(hot.mass_balance_error().values()) < 1e-5


def test_free_payload_in_pbpk_is_the_published_two_compartment_model(free_dox) -> None:
    ref = build_free_pk("doxorubicin", body_weight_kg=0.02, dose_mg_per_kg=DOX_MG_PER_KG)
    sim = free_dox.simulation
    res = simulate(ref, sim.times)
    got, want = sim["C_free_blood"][0][1:], res["C_c"][0][1:]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * want.max())


def test_nivolumab_two_compartment_half_life() -> None:
    # Bajaj 2017: terminal half-life about 25 days (26.7 d reported).
    model = build_free_pk("nivolumab", body_weight_kg=80.0, dose_mg_per_kg=3.0)
    t = np.array([0.0, 24 * 28.0, 24 * 56.0])
    c = simulate(model, t)["C_c"][0]
    half = 24 * 28 * np.log(2) / np.log(c[1] / c[2]) / 24
    assert 20 < half < 32
