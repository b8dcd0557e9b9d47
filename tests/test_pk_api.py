"""Public API: summary keys, figures, bad input, out-of-domain warning."""

from __future__ import annotations

import warnings

import matplotlib.figure
import pytest
from pydantic import ValidationError

from immunocycle.pk import (
    SUMMARY_KEYS,
    OutOfDomainWarning,
    Particle,
    Release,
    build_pbpk,
    plot_organ_distribution,
    plot_tumor_ln_blood,
    run_pk,
)

FIELDS = dict(carrier_class="gold", diameter_nm=50.0, zeta_mv=-10.0,
              tumor_model="Xenograft Heterotopic", cancer_type="breast", dose_mg_per_kg=2.0,
              tumor_weight_g=0.2)


@pytest.fixture(scope="module")
def result():
    return run_pk(Particle(**FIELDS))


def test_summary_has_exactly_the_documented_keys(result) -> None:
    s = result.summary()
    assert tuple(s) == SUMMARY_KEYS
    assert s["demax"] >= s["de24"] > 0
    assert set(s["pct_id_at_24h"]) >= {"blood", "liver", "spleen", "tumor", "lymph_node"}
    assert result.pct_id.index.name == "time_h"
    assert not result.out_of_domain


def test_figures_are_written(result, tmp_path) -> None:
    for fn, name in ((plot_organ_distribution, "organs.png"), (plot_tumor_ln_blood, "tumor.png")):
        fig = fn(result, tmp_path / name)
        assert isinstance(fig, matplotlib.figure.Figure)
        assert (tmp_path / name).stat().st_size > 1000


def test_builder_documents_payload_outputs() -> None:
    model = build_pbpk(particle=Particle(**FIELDS), payload="doxorubicin", route="sc")
    for name in ("C_free_tumor", "C_free_ln", "C_free_blood", "tumor_amount", "ln_amount"):
        assert name in model.assignments
    assert model.doses[0].target == "NP_site"


def test_micron_particle_is_rejected() -> None:
    with pytest.raises(ValidationError, match="diameter_nm"):
        Particle(**(FIELDS | {"diameter_nm": 5000.0}))


def test_negative_doses_are_rejected() -> None:
    with pytest.raises(ValidationError, match="dose_mg_per_kg"):
        Particle(**(FIELDS | {"dose_mg_per_kg": -1.0}))
    with pytest.raises(ValueError, match="free_dose_mg_per_kg"):
        run_pk(Particle(**FIELDS), payload="doxorubicin", free_dose_mg_per_kg=-1.0)


def test_unknown_route_class_species_payload_are_named() -> None:
    with pytest.raises(ValueError, match="route"):
        run_pk(Particle(**FIELDS), route="oral")
    with pytest.raises(ValidationError, match="carrier class"):
        Particle(**(FIELDS | {"carrier_class": "unobtainium"}))
    with pytest.raises(ValueError, match="species"):
        run_pk(Particle(**FIELDS), species="rat")
    with pytest.raises(ValueError, match="payload"):
        run_pk(Particle(**FIELDS), payload="aspirin")
    with pytest.raises(ValidationError, match="rate_per_h"):
        Release(rate_per_h=-0.1)
    with pytest.raises(ValueError, match="tumor"):
        run_pk(Particle(**FIELDS), tumor={"PX": 1.0})
    with pytest.raises(ValueError, match="overrides"):
        run_pk(Particle(**FIELDS), overrides={"no_such_parameter": 1.0})


def test_out_of_domain_property_warns_and_flags() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = run_pk(Particle(**(FIELDS | {"diameter_nm": 900.0})), horizon_h=24.0)
    assert r.out_of_domain
    assert "diameter_nm" in r.domain_notes
    assert any(issubclass(w.category, OutOfDomainWarning) for w in caught)
