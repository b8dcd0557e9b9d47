"""Cap priors conditioned on the cohort calibration (issue 13, part 3): the caps every PD-1 arm
meets are drawn with the multiplier that keeps the cohort on its calibration target, within the
range where one exists."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import immunocycle.trial._conditioning_fit as fitting
from immunocycle.cycle import load_therapy
from immunocycle.trial import make_task, replicate_task
from immunocycle.trial._conditioning import (
    borrowed_entry,
    conditioned_draw,
    feasible,
    load_conditioning,
)
from immunocycle.trial._uncertainty import draw_replicates, load_priors

ENTRY = {"factor": [0.25, 0.5, 2.0, 4.0], "log_multiplier": [None, 0.6, -0.5, -0.8],
         "ae_offset_shift": [None, 0.2, -0.1, -0.3]}


def test_the_prior_is_cut_where_no_multiplier_keeps_the_cohort_on_target():
    xs, rs, ds = feasible(ENTRY)
    assert xs.tolist() == pytest.approx([math.log(0.5), 0.0, math.log(2), math.log(4)])
    assert rs.tolist() == pytest.approx([0.6, 0.0, -0.5, -0.8])
    assert ds.tolist() == pytest.approx([0.2, 0.0, -0.1, -0.3])
    draws = [conditioned_draw(ENTRY, 1.0, z) for z in np.linspace(-4, 4, 81)]
    x = np.array([d[0] for d in draws])
    assert x.min() >= math.log(0.5) - 1e-12 and x.max() <= math.log(4) + 1e-12
    assert np.all(np.diff(x) > 0)  # monotone in z: the same z, the same place in the prior
    assert conditioned_draw(ENTRY, 1.0, 0.3) == conditioned_draw(ENTRY, 1.0, 0.3)
    # the compensation follows the grid: less space needs a larger multiplier
    for xi, ri, di in draws:
        assert ri == pytest.approx(np.interp(xi, xs, rs))
        assert di == pytest.approx(np.interp(xi, xs, ds))
    # a gap ends the range on its side
    gap = {"factor": [0.25, 0.5, 2.0, 4.0], "log_multiplier": [0.9, None, -0.5, None]}
    assert feasible(gap)[0].tolist() == pytest.approx([0.0, math.log(2)])
    assert feasible(gap)[2].tolist() == [0.0, 0.0]  # no AE shift recorded: none


def test_every_calibrated_cohort_has_a_fit_and_less_space_needs_more_kill():
    fits = load_conditioning()
    assert {"melanoma", "crc_msi_high", "rcc", "nsclc", "urothelial"} <= set(fits)
    for name, fit in fits.items():
        f = fit["f_CD8_space"]
        half = f["log_multiplier"][f["factor"].index(0.5)]
        double = f["log_multiplier"][f["factor"].index(2.0)]
        assert half is not None and half > 0, name  # half the space: more kill per effector
        assert double is None or double < 0, name


def test_a_fit_on_few_patients_finds_the_compensating_multiplier(monkeypatch):
    monkeypatch.setattr(fitting, "GRID", (0.5,))
    monkeypatch.setattr(fitting, "CAPS", ("f_CD8_space",))
    fit = fitting.fit_cohort("melanoma", n=40, log=None)
    assert fit["regimen"] == "nivolumab" and fit["parameter"] == "k_rec"
    assert fit["f_CD8_space"]["log_multiplier"][0] > 0.2
    # the AE offset then restores the calibrated expectation on those patients
    task = make_task("melanoma", ["nivolumab"], seed=0)
    _, frame = fitting._run(task, ("f_CD8_space", "k_rec"),
                                 [(0.5, math.exp(fit["f_CD8_space"]["log_multiplier"][0]))], 40)
    shift = fit["f_CD8_space"]["ae_offset_shift"][0]
    assert fitting._ae_rate(task, frame, 0, shift) == pytest.approx(
        fit["ae_any_expected"], abs=2e-4)


def test_cohorts_without_a_fit_borrow_only_the_homeostatic_space():
    niv = load_therapy("nivolumab")
    caps = set(load_priors().conditioned_parameters)
    mel = draw_replicates([[niv]], 3, 6, preset="human", cohort="melanoma")
    assert caps <= set(mel.factors) and "k_rec" in mel.factors
    arch = draw_replicates([[niv]], 3, 6, preset="excluded", cohort="excluded")
    assert caps & set(arch.factors) == {"f_CD8_space"}  # K_neo_kill's depends on the TMB
    fits = load_conditioning()
    borrowed = borrowed_entry()["f_CD8_space"]["log_multiplier"]
    for k, value in enumerate(borrowed):
        own = [f["f_CD8_space"]["log_multiplier"][k] for f in fits.values()]
        assert min(own) <= value <= max(own)
    mouse = draw_replicates([[niv]], 3, 6, preset="mouse", cohort="mc38")
    assert not caps & set(mouse.factors)
    # the cap and its compensation move together: less space, more kill per effector
    k, f = mel.factors.index("k_rec"), mel.factors.index("f_CD8_space")
    pairs = np.log(np.array(mel.factor_values))[:, [f, k]]
    assert np.corrcoef(pairs.T)[0, 1] < -0.5


def test_conditioned_draws_keep_the_calibrated_arm_where_free_draws_do_not():
    """Drawn alone, the homeostatic space moves the calibrated nivolumab arm by tens of
    points; drawn with its compensating multiplier, the arm stays near its target."""
    task = make_task("melanoma", ["nivolumab"], seed=0, days=168.0)
    base = dataclasses.replace(load_priors(), model_parameters={}, conditioned_parameters={})
    conditioned = dataclasses.replace(base, conditioned_parameters={"f_CD8_space": "inferred"})
    free = dataclasses.replace(base, model_parameters={"f_CD8_space": "inferred"})
    spread = {}
    for label, pri in (("conditioned", conditioned), ("free", free)):
        frame = replicate_task(task, replicates=6, priors=pri, multiplier_log_sd=0.0)(0, 60)
        ev = frame[frame["evaluable"]]
        orr = ev["bor"].isin(["CR", "PR"]).groupby(ev["replicate"]).mean()
        spread[label] = orr.max() - orr.min()
    assert spread["free"] > 0.25, spread
    assert spread["conditioned"] < 0.5 * spread["free"], spread


def test_the_conditioning_was_fitted_at_todays_calibration(tmp_path):
    # after `cohort calibrate`, the compensating multipliers belong to another calibration:
    # scripts/condition_cap_priors.py must derive them again
    assert fitting.stale() == {}
    import yaml

    from immunocycle.trial._conditioning import CONDITIONING_FILE

    body = yaml.safe_load(CONDITIONING_FILE.read_text())
    body["cohorts"]["melanoma"]["fitted"]["multiplier"] *= 1.01
    del body["cohorts"]["rcc"]["fitted"]
    path = tmp_path / "cap_conditioning.yaml"
    path.write_text(yaml.safe_dump(body))
    found = fitting.stale(path)
    assert set(found) == {"melanoma", "rcc"}
    assert "multiplier" in found["melanoma"] and "fitted.yaml" in found["melanoma"]
    assert found["rcc"] == "no calibration recorded"
