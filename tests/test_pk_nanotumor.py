"""The mouse PBPK model reproduces the Nano-Tumor fits (Cheng 2020), all data sets in one call."""

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
    # Measured 2026-11-29: 1,719 positive points, median |log10 error| 0.151, median relative
    # error 0.40, 73 % of points within 2-fold.
    err = reproduction.point_errors()
    assert err["n_points"] > 1700
    assert err["median_abs_log10_error"] <= 0.18
    assert err["fraction_within_2fold"] >= 0.68


def test_de24_and_de168_against_the_data_sets(reproduction) -> None:
    # Tolerance: 2-fold. Measured: DE24 83.9 % of data sets within 2-fold (median model/data
    # 1.40); DE168 only 26.7 % (model median 0.03 vs 0.34 %ID). DE168 of 358/378 data sets is
    # an extrapolation past the last observation (median last time 24 h) by the authors' fit,
    # whose late-time retention the published G1 code does not give: the measured time points
    # up to 168 h (test above) are reproduced, the extrapolated DE168 column is not.
    within = reproduction.fraction_within(2.0)
    assert within["de24"] >= 0.80
    assert within["de168"] >= 0.22
    d = reproduction.datasets
    assert 0.3 <= d["de24_model"].median() <= 2.0  # Cheng 2020: 0.76 %ID; Wilhelm 2016: 0.7
    # Where 168 h was measured (20 data sets) the model agrees: measured median model/observed
    # 1.12, 70 % within 2-fold, where the DE168 column itself is 2-fold above those observations.
    p = reproduction.points
    late = p[(p["time_h"] == 168.0) & (p["observed"] > 0)]
    log_ratio = np.log10(late["predicted"] / late["observed"])
    assert len(late) == 20
    assert np.mean(np.abs(log_ratio) <= np.log10(2)) >= 0.6


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
    # Measured: median 1.1 %ID; published median 0.76 (Cheng 2020), 0.7 (Wilhelm 2016).
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
