"""The cycle model's plasma PK is the agent's cited two-compartment population PK (issue 16):
its central concentration is the amount over the central volume V1 and clearance acts on it, so a
dose's plasma curve, terminal half-life and AUC are those of CL, V1, Q and V2 (a clearance on
amount / blood volume made the curve fall V1 / V_blood times too fast)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

from immunocycle.catalog import load_catalog, to_cycle_therapy
from immunocycle.cycle import load_therapy, simulate_cycle

CAT = load_catalog()
BODY_WEIGHT_KG = 80.0  # the human preset's


def _two_compartment(cl: float, v1: float, q: float, v2: float, dose: float, duration: float,
                     times: np.ndarray) -> np.ndarray:
    """Plasma concentration (dose units / L) of a zero-order infusion over ``duration`` days into
    the central compartment of a linear two-compartment model (L/day, L), exactly (matrix
    exponential of the amounts' linear system)."""
    m = np.array([[-(cl + q) / v1, q / v2], [q / v1, -q / v2]])
    rate = np.array([dose / duration, 0.0])
    minv = np.linalg.inv(m)
    at_end = minv @ (expm(m * duration) - np.eye(2)) @ rate
    out = []
    for t in times:
        x = minv @ (expm(m * t) - np.eye(2)) @ rate if t <= duration else \
            expm(m * (t - duration)) @ at_end
        out.append(x[0] / v1)
    return np.asarray(out)


def _terminal_half_life(cl: float, v1: float, q: float, v2: float) -> float:
    m = np.array([[-(cl + q) / v1, q / v2], [q / v1, -q / v2]])
    return float(np.log(2.0) / -np.linalg.eigvals(m).real.max())


def _simulated(therapy, days: float, step: float):
    th = therapy.with_dosing(count=1, start=0.0)
    res = simulate_cycle("human", [th], days=days, step=step)
    r = res.result
    d = th.dosing
    dose_mg = d.amount * (BODY_WEIGHT_KG if d.units == "mg/kg" else 1.0)
    dose_nmol = dose_mg / th.pk["MW"].value
    return r.times, np.asarray(r[f"{th.name}_conc_C"], dtype=float)[0], dose_nmol, d.duration


def _catalog_poppk(agent: str) -> tuple[float, float, float, float]:
    p = CAT.agents[agent].pk["human"]
    return p.cl_l_per_h * 24.0, p.v1_l, p.q_l_per_h * 24.0, p.v2_l


@pytest.mark.parametrize(("therapy", "agent", "days", "step", "fit_window"), [
    ("nivolumab_free", "nivolumab", 150.0, 0.05, (60.0, 120.0)),
    ("paclitaxel", "paclitaxel", 8.0, 0.002, (3.0, 6.0)),
])
def test_catalog_agent_plasma_curve_is_its_poppk(therapy, agent, days, step, fit_window):
    cl, v1, q, v2 = _catalog_poppk(agent)
    t, c, dose, duration = _simulated(to_cycle_therapy(therapy), days, step)
    expected = _two_compartment(cl, v1, q, v2, dose, duration, t)
    # Concentrations wherever the curve is above a thousandth of its peak (after the infusion).
    keep = (t > duration) & (expected > 1e-3 * expected.max())
    np.testing.assert_allclose(c[keep], expected[keep], rtol=0.02)
    # Terminal half-life: the log-linear slope of the simulated curve late after the dose.
    w = (t >= fit_window[0]) & (t <= fit_window[1])
    slope = np.polyfit(t[w], np.log(c[w]), 1)[0]
    assert np.log(2.0) / -slope == pytest.approx(_terminal_half_life(cl, v1, q, v2), rel=0.02)
    # AUC to infinity (trapezoid plus the log-linear tail) is dose / CL.
    auc = np.trapezoid(c, t) + c[-1] / -slope
    assert auc == pytest.approx(dose / cl, rel=0.02)


def test_paclitaxel_terminal_half_life_is_the_cited_one():
    """Paclitaxel's catalog PK cites a terminal half-life of about 20 h (Gianni 1995); the old
    clearance on amount / blood volume (V1 12 L, blood 5 L) made it 2.4 times too short."""
    cl, v1, q, v2 = _catalog_poppk("paclitaxel")
    assert _terminal_half_life(cl, v1, q, v2) * 24.0 == pytest.approx(
        CAT.agents["paclitaxel"].pk["human"].half_life_h, rel=0.25)


def test_cycle_nivolumab_matches_bajaj_2017():
    """The cycle's own nivolumab file: CL 0.228 L/day, Vc 3.63 L, Q 0.76 L/day, Vp 2.78 L
    (Bajaj 2017), so Vss about 6.4 L and AUC = dose / CL."""
    th = load_therapy("nivolumab")
    pk = {k: v.value for k, v in th.pk.items()}
    v1, v2 = pk["gamma_C"] * 5.0, pk["gamma_P"] * 60.0
    assert v1 == pytest.approx(3.63, rel=0.01) and v2 == pytest.approx(2.78, rel=0.01)
    t, c, dose, duration = _simulated(th, 150.0, 0.05)
    expected = _two_compartment(pk["k_cl"], v1, pk["q_P"], v2, dose, duration, t)
    keep = t > duration
    np.testing.assert_allclose(c[keep], expected[keep], rtol=0.02)
    slope = np.polyfit(t[(t >= 60) & (t <= 120)], np.log(c[(t >= 60) & (t <= 120)]), 1)[0]
    assert np.trapezoid(c, t) + c[-1] / -slope == pytest.approx(dose / 0.228, rel=0.02)
