"""The mouse PBPK model reproduces the Nano-Tumor measurements (Cheng 2020) at the tumor parameters
refitted to them (and at the released ones), all data sets in one call."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunocycle.engine import SolverOptions, compile_model, simulate
from immunocycle.pk import default_model, load_nanotumor, reproduce_nanotumor
from immunocycle.pk._nanotumor import FIT_SETTINGS
from immunocycle.pk._pbpk import pbpk_structure
from immunocycle.pk._properties import PARAM_COLUMNS, particles_from_nanotumor


@pytest.fixture(scope="module")
def reproduction(shared_data):
    shared_data("nanotumor")  # skipped (or failed under CI) without the data set
    return reproduce_nanotumor()


def test_every_data_set_solves(reproduction) -> None:
    assert len(reproduction.datasets) == 378
    assert (reproduction.datasets["status"] == 0).all()


def test_time_courses_are_reproduced(reproduction) -> None:
    # Refitted tumor parameters (data/pk/nanotumor_fits.csv), measured 2026-12-04: 1,719
    # positive points, median |log10 error| 0.063, median relative error 0.14, 89 % of points
    # within 2-fold (released parameters: 0.151, 0.40, 73 %).
    err = reproduction.point_errors()
    assert err["n_points"] > 1700
    assert err["median_abs_log10_error"] <= 0.08
    assert err["fraction_within_2fold"] >= 0.85


def test_the_refit_reproduces_the_measurements_better_than_the_released_fits(
        reproduction) -> None:
    """The released parameters over-predict the measurements at every time (1.31x at 24 h);
    the refit removes the bias and the scatter, at 24 h and where 168 h was measured."""
    released = reproduce_nanotumor(tumor_fits="released")
    before, after = released.point_errors(), reproduction.point_errors()
    assert after["median_abs_log10_error"] < 0.5 * before["median_abs_log10_error"]
    assert after["fraction_within_2fold"] > before["fraction_within_2fold"] + 0.1
    r24_before, r24 = released.ratio_at(24.0), reproduction.ratio_at(24.0)
    assert r24_before["median_ratio"] > 1.25  # the released fits' bias (1.31)
    assert 0.9 <= r24["median_ratio"] <= 1.15  # measured 1.02
    r168 = reproduction.ratio_at(168.0)
    assert r168["n"] == 20
    assert 0.8 <= r168["median_ratio"] <= 1.2  # measured 0.98
    assert r168["fraction_within_2fold"] >= 0.9  # measured 1.0 (released 0.7)


def test_de24_and_de168_against_the_data_sets(reproduction) -> None:
    # Tolerance: 2-fold. Measured with the refit: DE24 83 % of data sets within 2-fold of the
    # column (median model/column 1.07, released fits 1.40); DE168 45 % (released 27 %; model
    # median 0.20 vs 0.34 %ID). DE168 of 358/378 data sets is an extrapolation past the last
    # observation (median last time 24 h) by the authors' fit; the refit gives those sets the
    # late retention of the 20 sets measured at 168 h (their prior), not a measurement.
    within = reproduction.fraction_within(2.0)
    assert within["de24"] >= 0.80
    assert within["de168"] >= 0.35
    d = reproduction.datasets
    # Cheng 2020: 0.76 %ID; Wilhelm 2016: 0.7 (measured 0.82; released fits 1.07)
    assert 0.55 <= d["de24_model"].median() <= 0.95


def test_fit_courses_recovers_a_course_and_leans_on_the_prior_where_data_are_absent() -> None:
    """Synthetic measurements from known parameters: with a wide prior centered elsewhere the
    fit reproduces the measured course; a tight prior holds the parameters at its mean."""
    from immunocycle.pk._nanotumor import simulate_tumor_pct
    from immunocycle.pk._nanotumor_fit import Prior, fit_courses

    truth = np.log([[0.05, 0.002, 0.03, 0.3, 20.0, 2.0], [0.2, 0.01, 0.3, 1.0, 5.0, 1.5]])
    sets = pd.DataFrame({"ID": [7, 9], "BW": [20.0, 25.0], "QTC": [0.033, 0.02],
                         "VTC": [0.04, 0.02], "BVT": [0.1, 0.05]})
    times = np.array([1.0, 4.0, 8.0, 24.0, 48.0, 96.0])
    grid = np.concatenate([[0.0], times])
    tumor = sets.assign(**{c: np.exp(truth[:, j]) for j, c in enumerate(PARAM_COLUMNS)})
    pct, status = simulate_tumor_pct(tumor, sets["BW"].to_numpy(), grid)
    assert (status == 0).all()
    points = pd.DataFrame({"ID": np.repeat(sets["ID"], len(times)),
                           "time_h": np.tile(times, 2), "observed": pct[:, 1:].ravel()})
    bounds = (truth.min(axis=0) - 3.0, truth.max(axis=0) + 3.0)
    wide = Prior(truth.mean(axis=0) + 0.7, np.full(6, 3.0))
    theta = fit_courses(sets, points, wide, bounds=bounds, sigma=0.05, max_nfev=200)
    fitted = sets.assign(**{c: np.exp(theta[:, j]) for j, c in enumerate(PARAM_COLUMNS)})
    got, _ = simulate_tumor_pct(fitted, sets["BW"].to_numpy(), grid)
    # Start (the prior mean) is 2-fold off every parameter; the fit lands within 10 % at
    # every measured time.
    start = sets.assign(**{c: np.exp(wide.mean[j]) for j, c in enumerate(PARAM_COLUMNS)})
    off, _ = simulate_tumor_pct(start, sets["BW"].to_numpy(), grid)
    assert np.max(np.abs(np.log(off[:, 1:] / pct[:, 1:]))) > np.log(1.5)
    assert np.max(np.abs(np.log(got[:, 1:] / pct[:, 1:]))) < np.log(1.1)
    tight = Prior(wide.mean, np.full(6, 1e-3))
    held = fit_courses(sets, points, tight, bounds=bounds, sigma=0.3)
    assert np.allclose(held, wide.mean, atol=0.01)


def test_load_nanotumor_gives_the_refit_or_the_released_parameters(shared_data) -> None:
    folder = shared_data("nanotumor")
    refit, released = load_nanotumor(folder), load_nanotumor(folder, tumor_fits="released")
    raw = pd.read_csv(folder / "datasets.csv")
    assert np.array_equal(released[list(PARAM_COLUMNS)].to_numpy(),
                          raw[list(PARAM_COLUMNS)].to_numpy())
    assert not np.allclose(refit["KTRESrelease"], released["KTRESrelease"])
    # Everything but the six fitted tumor parameters is the file's.
    rest = [c for c in raw.columns if c not in PARAM_COLUMNS]
    pd.testing.assert_frame_equal(refit[rest], raw[rest])
    from immunocycle._errors import InputError
    with pytest.raises(InputError, match="tumor_fits"):
        load_nanotumor(folder, tumor_fits="newest")


def test_property_model_parameters_give_published_delivery_order(shared_data) -> None:
    """Particle properties -> predicted tumor parameters -> PBPK: median DE24 of the order 0.7 %ID."""
    data = load_nanotumor(shared_data("nanotumor"))
    pred = default_model().predict(particles_from_nanotumor(data))
    params = pd.DataFrame({c: pred[c].to_numpy(float) for c in PARAM_COLUMNS})
    for c in ("QTC", "VTC", "BVT"):
        params[c] = data[c].to_numpy(float)
    params["BW"] = data["BW"].to_numpy(float) / 1000
    params["dose_mg_per_kg"] = 1.0
    for k, v in FIT_SETTINGS.items():
        params[k] = v
    res = simulate(compile_model(pbpk_structure(payload=False)), np.array([0.0, 24.0]), params,
                   options=SolverOptions(rtol=1e-6, atol=1e-12))
    de24 = 100 * res["tumor_amount"][:, 1] / params["BW"].to_numpy()
    assert (res.status == 0).all()
    # Published median 0.76 (Cheng 2020), 0.7 (Wilhelm 2016).
    assert 0.3 <= np.median(de24) <= 2.0


def test_ratio_at_reads_only_the_measurements_at_that_time() -> None:
    """Model / measured at one time: the median of per-point ratios, zeros and other times left out."""
    from immunocycle.pk import Reproduction

    points = pd.DataFrame({"ID": [1, 2, 3, 4, 5, 1],
                           "time_h": [24.0, 24.0, 24.0, 24.0, 24.0, 48.0],
                           "observed": [1.0, 1.0, 2.0, 0.0, 1.0, 1.0],
                           "predicted": [1.5, 3.0, 1.0, 1.0, 0.9, 100.0]})
    r = Reproduction(pd.DataFrame(), points).ratio_at(24.0)
    assert r["n"] == 4  # the zero measurement is left out
    # ratios 1.5, 3, 0.5, 0.9: median of the logs = geometric mean of 0.9 and 1.5
    assert r["median_ratio"] == pytest.approx(np.sqrt(0.9 * 1.5))
    assert r["fraction_within_2fold"] == pytest.approx(0.75)
    assert Reproduction(pd.DataFrame(), points).ratio_at(72.0)["n"] == 0


def test_the_shipped_fits_and_property_model_are_todays(reproduction) -> None:
    """The refit's card holds the model-vs-data numbers of the shipped fits, recomputed here (a
    change to the PBPK or the data moves them: rerun the refit); the property model's card holds
    the digest of the fits it was trained on (a refit without a retrain is seen)."""
    import yaml

    from immunocycle.pk._properties import MODEL_FILE, TUMOR_FITS_FILE, tumor_fits_digest

    card = yaml.safe_load(TUMOR_FITS_FILE.with_suffix(".yaml").read_text())
    shipped = card["model_vs_data"]["refit"]
    d = reproduction.datasets
    assert d["de24_model"].median() == pytest.approx(shipped["median_de24_pct_id"], abs=6e-4)
    assert d["de168_model"].median() == pytest.approx(shipped["median_de168_pct_id"], abs=6e-4)
    assert reproduction.ratio_at(24.0)["median_ratio"] == pytest.approx(
        shipped["ratio_to_measured_24h"], abs=6e-4)
    forest = yaml.safe_load(MODEL_FILE.with_suffix(".yaml").read_text())
    assert forest["targets"]["pbpk_sha256"] == tumor_fits_digest()


def test_posterior_covariance_is_the_prior_where_the_points_say_nothing() -> None:
    """A set measured to 168 h pins its release rate down; the same set measured only to 24 h
    (as most Nano-Tumor sets) leaves release, the late retention, at its prior."""
    from immunocycle.pk._nanotumor import simulate_tumor_pct
    from immunocycle.pk._nanotumor_fit import Prior, posterior_covariance

    # the stage-2 prior medians of nanotumor_fits.yaml, in the order of PARAM_COLUMNS
    truth = np.log([[0.02, 0.36, 36.0, 2.5, 0.04, 0.0026]] * 2)
    sets = pd.DataFrame({"ID": [1, 2], "BW": [20.0, 20.0], "QTC": [0.033] * 2,
                         "VTC": [0.04] * 2, "BVT": [0.1] * 2})
    late, early = np.array([1.0, 4.0, 24.0, 72.0, 168.0]), np.array([1.0, 4.0, 24.0])
    tumor = sets.assign(**{c: np.exp(truth[:, j]) for j, c in enumerate(PARAM_COLUMNS)})
    grid = np.unique(np.concatenate([[0.0], late]))
    pct, _ = simulate_tumor_pct(tumor, sets["BW"].to_numpy(), grid)
    at = {t: int(np.searchsorted(grid, t)) for t in grid}
    points = pd.DataFrame({"ID": [1] * len(late) + [2] * len(early),
                           "time_h": np.concatenate([late, early]),
                           "observed": [pct[0, at[t]] for t in late] + [pct[1, at[t]]
                                                                        for t in early]})
    prior = Prior(truth[0], np.full(6, 1.0))
    cov = posterior_covariance(sets, points, prior, truth, sigma=0.1)
    sd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
    release = list(PARAM_COLUMNS).index("KTRESrelease")
    # measured 2026-12-05: 0.27 with the 168-h point, 1.00 without
    assert sd[0, release] < 0.5 * sd[1, release]
    assert sd[1, release] > 0.95  # prior sd 1
    assert np.all(sd <= 1.0 + 1e-6)  # data never widen the prior


def test_predictive_delivery_spreads_where_a_data_set_ends_early(shared_data) -> None:
    """Sets measured at 168 h predict their DE168 far more narrowly than sets that end at
    24 h; the draws are seeded."""
    shared_data("nanotumor")
    from immunocycle.pk import predictive_delivery

    d = predictive_delivery((168.0,), draws=16, seed=3)
    assert d.equals(predictive_delivery((168.0,), draws=16, seed=3))
    width = np.log(d["de168_p95"] / d["de168_p05"])
    measured, ends_early = d["last_time_h"] >= 168, d["last_time_h"] <= 24
    assert measured.sum() == 20 and ends_early.sum() > 100
    # measured 2026-12-05 (64 draws, seed 0): median log width 1.1 vs 4.5
    assert width[measured].median() < 0.5 * width[ends_early].median()
    assert (d["de168_p05"] <= d["de168_median"]).all() and (d["de168_median"] <= d["de168_p95"]).all()
