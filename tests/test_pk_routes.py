"""Routes: s.c. lymph-node drainage by size, intratumoral retention, renal filtration, human scale."""

from __future__ import annotations

import pytest

from immunocycle.pk import Particle, run_pk


def particle(diameter_nm: float, **changes) -> Particle:
    fields = dict(carrier_class="polymeric", diameter_nm=diameter_nm, zeta_mv=-10.0,
                  tumor_model="Allograft Heterotopic", cancer_type="colon", dose_mg_per_kg=5.0,
                  tumor_weight_g=0.2)
    return Particle(**(fields | changes))


@pytest.fixture(scope="module")
def sc_by_size():
    return {d: run_pk(particle(d), route="sc") for d in (25.0, 100.0, 200.0)}


def test_small_particles_reach_the_lymph_node(sc_by_size) -> None:
    # The node draining the injection site (Reddy 2007: 25 nm >> 100 nm).
    ln = {d: r.vaccine_node_max_pct_id for d, r in sc_by_size.items()}
    assert ln[25.0] >= 3 * ln[100.0]
    assert ln[100.0] > ln[200.0]


def test_an_sc_dose_drains_to_its_own_node_not_the_tumors(sc_by_size) -> None:
    """Separate vaccine-draining node: the tumor-draining node of an s.c. dose gets only what
    reaches the tumor and drains from it, far less than the injection site's node; an i.v. dose
    has no vaccine-draining node exposure."""
    r = sc_by_size[25.0]
    assert r.vaccine_node_max_pct_id > 50 * r.lymph_node_max_pct_id
    iv = run_pk(particle(25.0), route="iv")
    assert iv.vaccine_node_max_pct_id == 0.0 and iv.lymph_node_max_pct_id > 0


def test_large_particles_stay_at_the_injection_site(sc_by_size) -> None:
    # "Mostly stays at the site": > 50 % of the dose still at the site at 24 h (measured 95.6 %
    # at 200 nm, 86 % at 100 nm, 20 % at 25 nm), the criterion of calibration_targets.md.
    assert sc_by_size[200.0].pct_id_at_24h["injection_site"] > 50.0
    assert sc_by_size[25.0].pct_id_at_24h["injection_site"] < 50.0


def test_intradermal_drains_faster_than_subcutaneous(sc_by_size) -> None:
    r = run_pk(particle(25.0), route="id")
    assert r.vaccine_node_max_pct_id >= sc_by_size[25.0].vaccine_node_max_pct_id


def test_intratumoral_depot_keeps_the_dose_in_the_tumor() -> None:
    it = run_pk(particle(100.0), route="it")
    iv = run_pk(particle(100.0), route="iv")
    assert it.de24 > 20 * iv.de24
    assert it.de24 > 50.0


@pytest.mark.filterwarnings("ignore::immunocycle.pk.OutOfDomainWarning")  # 3 nm: below training range
def test_ultrasmall_particles_are_filtered_by_the_kidney() -> None:
    small = run_pk(particle(3.0), horizon_h=24.0)
    large = run_pk(particle(20.0), horizon_h=24.0)
    assert small.pct_id_at_24h["urine"] > 50.0
    assert large.pct_id_at_24h["urine"] < 1.0


def test_human_model_scales_rates_allometrically() -> None:
    mouse = run_pk(particle(100.0))
    human = run_pk(particle(100.0), species="human")
    # Slower phagocytic uptake (rate constants x (73/0.02)^-0.25 = 0.13, times the factor fitted to
    # clinical nanomedicine PK, human_nano_pk.yaml) keeps particles in blood longer than in a
    # mouse, for days as PEG-liposomes in patients (Doxil 55 h), not the ~130 h before the fit.
    assert mouse.blood_half_life_h < human.blood_half_life_h < 96.0
    assert 0 < human.de24 < 5
