"""The AE exposure driver of a free drug that leaves plasma in minutes (issue 16): the trial's
3.5-day grid holds only drug returning from the tumor and node at its points, so the grid AUC
of dacarbazine is noise that differs by orders of magnitude between patients; the driver is then
the exact plasma AUC ratio (1 at the label dose), as the organ laws use."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunocycle.catalog import resolve_arm
from immunocycle.cycle import simulate_cycle
from immunocycle.trial._toxicity import (
    GRID_AUC_RTOL,
    ae_probabilities,
    exact_auc,
    exposure_drivers,
    immune_probability_curves,
    reference_auc,
)

STEP = 3.5  # the trial's output grid (trial._trial.STEP_DAYS)


def test_fast_free_drug_driver_is_its_exact_exposure_ratio():
    (th,) = resolve_arm("dacarbazine")
    own = th.model_dump_json()
    # the grid misses the 28-min plasma half-life: this is the case the exact AUC is for
    assert abs(reference_auc(own, 84.0, STEP) / exact_auc(own, 84.0) - 1.0) > GRID_AUC_RTOL
    # patients with different tumors (diameters 20-60 mm at diagnosis)
    res = simulate_cycle("human", [th], days=84.0, n=3, step=STEP,
                         diagnosis_diameter_mm=np.array([20.0, 35.0, 60.0]))
    x = exposure_drivers(res.result, [th], step=STEP)["exposure_total"].to_numpy()
    np.testing.assert_allclose(x, 1.0, rtol=1e-9)
    # twice the dose, twice the exposure (against the label dose's reference)
    double = th.with_dosing(amount=2.0 * th.dosing.amount)
    ref = exact_auc(double.model_dump_json(), 84.0) / exact_auc(own, 84.0)
    assert ref == pytest.approx(2.0, rel=1e-6)


def test_fast_free_drug_risk_over_time_ends_at_the_risk_its_flags_use():
    # The onset of a checkpoint-law AE is read off P(t), the law with its drivers accumulated
    # up to t; the flag uses P at the window's end. For a drug the grid cannot resolve both must
    # read the exact exposure, or P(t) never reaches the flagged patients' uniforms and every
    # onset falls on the window's last day.
    (th,) = resolve_arm("dacarbazine")
    res = simulate_cycle("human", [th], days=84.0, n=3, step=STEP,
                         diagnosis_diameter_mm=np.array([20.0, 35.0, 60.0]))
    probs = ae_probabilities(exposure_drivers(res.result, [th], step=STEP), 0.0)
    t, curves = immune_probability_curves(res.result, [th], step=STEP, offset=0.0)
    assert t[-1] == pytest.approx(84.0)
    seen = 0
    for law, curve in curves.items():
        np.testing.assert_allclose(curve[:, -1], probs[f"p_ae_{law}"].to_numpy(), rtol=1e-6)
        assert np.all(np.diff(curve, axis=1) >= -1e-12)  # risk accumulates
        if curve[0, -1] > 0.0:
            seen += 1
            # the first dose's exposure is there a grid step after it, the same in every patient
            assert curve[0, 1] > 0.2 * curve[0, -1]
            np.testing.assert_allclose(curve, np.broadcast_to(curve[:1], curve.shape), rtol=1e-9)
    assert seen  # some checkpoint law reads the cytotoxic's exposure


def test_drug_first_given_after_the_window_has_no_exposure():
    """Maintenance after the AE window (nivolumab after ipilimumab, CheckMate 067): driver 0."""
    (th,) = resolve_arm("nivolumab")
    late = th.with_dosing(start=100.0)
    res = simulate_cycle("human", [late], days=84.0, n=1, step=STEP)
    x = exposure_drivers(res.result, [late], step=STEP)["exposure_pd1"].to_numpy()
    assert x[0] == 0.0


def test_resolved_antibody_keeps_its_per_patient_grid_auc():
    (th,) = resolve_arm("nivolumab")
    own = th.model_dump_json()
    assert abs(reference_auc(own, 84.0, STEP) / exact_auc(own, 84.0) - 1.0) <= GRID_AUC_RTOL
    res = simulate_cycle("human", [th], days=84.0, n=2, step=STEP,
                         diagnosis_diameter_mm=np.array([20.0, 60.0]))
    x = exposure_drivers(res.result, [th], step=STEP)["exposure_pd1"]
    assert isinstance(x, pd.Series)
    np.testing.assert_allclose(x.to_numpy(), 1.0, rtol=0.02)


def test_a_conjugate_that_never_releases_is_its_own_exposure():
    """PEGPH20 is carried (a PEGylated enzyme) and never released (k_release 0): its released
    payload is always 0, so reading it gave the exposure 0/0 (NaN) and dropped the arm's
    total exposure from the AE laws; the conjugate in blood is the active drug."""
    from immunocycle.trial._toxicity import any_ae_probability, load_toxicity

    (th,) = resolve_arm("pegph20")
    assert float(th.release["carried"].value) == 1.0 and float(th.release["k_release"].value) == 0.0
    (niv,) = resolve_arm("nivolumab")
    res = simulate_cycle("human", [th, niv], days=84.0, n=2, step=STEP,
                         diagnosis_diameter_mm=np.array([20.0, 60.0]))
    drivers = exposure_drivers(res.result, [th, niv], step=STEP)
    assert np.all(np.isfinite(drivers.to_numpy(dtype=float)))
    np.testing.assert_allclose(drivers["exposure_hyaluronan"], 1.0, rtol=0.02)
    alone = simulate_cycle("human", [niv], days=84.0, n=2, step=STEP,
                           diagnosis_diameter_mm=np.array([20.0, 60.0]))
    base = exposure_drivers(alone.result, [niv], step=STEP)
    laws = load_toxicity()
    # adding a drug adds exposure: the combination's AE probability is not below nivolumab's
    assert np.all(any_ae_probability(drivers, 0.0, laws) >= any_ae_probability(base, 0.0, laws))
