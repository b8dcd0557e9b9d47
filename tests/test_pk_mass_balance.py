"""Mass balance: amounts in all compartments + excreted + eliminated = dose, at every time."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from immunocycle.pk import Particle, Release, run_pk


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(diameter=st.floats(3.0, 400.0), route=st.sampled_from(["iv", "sc", "id", "it"]),
       release=st.floats(0.0, 1.0), trigger=st.booleans(), infusion=st.sampled_from([0.0, 0.5]),
       species=st.sampled_from(["mouse", "human"]))
def test_mass_balance_over_random_formulations(diameter, route, release, trigger, infusion,
                                               species) -> None:
    p = Particle(carrier_class="lipid", diameter_nm=diameter, zeta_mv=-5.0,
                 tumor_model="Xenograft Heterotopic", cancer_type="breast", dose_mg_per_kg=2.0,
                 tumor_weight_g=0.3)
    # Explicit tumor parameters keep the example fast (no forest prediction) and in range.
    tumor = {"PT": 0.1, "PATC": 0.01, "KTRESrelease": 0.05, "KTRESmax": 0.5, "KTRES50": 10.0,
             "KTRESn": 2.0}
    law = Release(rate_per_h=release, trigger_start_h=10.0, trigger_end_h=12.0,
                  trigger_rate_per_h=0.5) if trigger else Release(rate_per_h=release)
    r = run_pk(p, payload="doxorubicin", release=law, route=route, species=species, tumor=tumor,
               loading=0.05, horizon_h=96.0, infusion_h=infusion)
    err = r.mass_balance_error()
    assert set(err) == {"carrier", "payload"}
    assert max(err.values()) < 1e-5, err


def test_capacity_limited_uptake_saturates_at_high_dose() -> None:
    """With the capacity factor on, a 100-fold higher dose puts a smaller share in liver phagocytes."""
    def liver_res(dose: float) -> tuple[float, float]:
        p = Particle(carrier_class="gold", diameter_nm=30.0, zeta_mv=-5.0,
                     tumor_model="Xenograft Heterotopic", cancer_type="breast",
                     dose_mg_per_kg=dose, tumor_weight_g=0.2)
        r = run_pk(p, overrides={"res_capacity_on": 1.0})
        res = r.simulation["NP_L_res"][0][-1] / r.parameters["_carrier_dose_mg"]
        return float(res), r.mass_balance_error()["carrier"]

    low, err_low = liver_res(1.0)
    high, err_high = liver_res(100.0)
    assert high < 0.5 * low
    assert max(err_low, err_high) < 1e-5
