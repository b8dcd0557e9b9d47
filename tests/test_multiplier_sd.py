"""The calibration uncertainty of a cohort's fitted multiplier (trial/_multiplier_sd.py)."""

import math

import pytest

from immunocycle.trial._multiplier_sd import (
    MAX_LOG_SD,
    binomial_sd,
    borrowed_log_sd,
    fit_spread,
    multiplier_spread,
    orr_slope,
)


def test_slope_is_the_least_squares_slope_on_log_multiplier():
    assert orr_slope({1.0: 0.2, math.e: 0.5}) == pytest.approx(0.3)
    assert orr_slope({0.5: 0.1, 1.0: 0.2, 2.0: 0.3}) == pytest.approx(0.1 / math.log(2))


def test_binomial_sd_is_positive_at_zero_responders_and_shrinks_with_the_arm():
    assert binomial_sd(0, 18) > 0.02  # KEYNOTE-016 0/18 still says little
    assert binomial_sd(84, 210) == pytest.approx(math.sqrt(0.4 * 0.6 / 210), rel=0.05)
    assert binomial_sd(400, 1000) < binomial_sd(40, 100)


def test_log_sd_follows_the_target_size_the_fit_size_and_the_slope():
    pts = {1.0 / 1.5: 0.3, 1.5: 0.5}
    small = multiplier_spread(1.0, 0.4, 50, 80, 200, pts)
    large = multiplier_spread(1.0, 0.4, 5000, 80, 200, pts)
    assert large["log_sd"] < small["log_sd"]  # a larger published arm pins m better
    steep = multiplier_spread(1.0, 0.4, 210, 80, 200, {1.0 / 1.5: 0.1, 1.5: 0.7})
    flat = multiplier_spread(1.0, 0.4, 210, 80, 200, pts)
    assert steep["log_sd"] < flat["log_sd"]  # ORR that moves fast with m pins m better
    lo, hi = flat["interval95"]
    assert lo < 1.0 < hi and math.log(hi) == pytest.approx(-math.log(lo), rel=1e-3)
    # an ORR that does not rise with m carries no information: the cap
    assert multiplier_spread(1.0, 0.4, 210, 80, 200, {0.5: 0.4, 2.0: 0.35})["log_sd"] == MAX_LOG_SD


def test_borrowed_multiplier_spreads_as_the_tumor_types_do():
    assert borrowed_log_sd([1.0, 1.0], [0.1, 0.1]) == pytest.approx(0.1)
    assert borrowed_log_sd([0.5, 2.0], [None, None]) == pytest.approx(
        math.sqrt(2) * math.log(2), rel=1e-3)
    assert borrowed_log_sd([0.01, 100.0], [0.2, 0.2]) == MAX_LOG_SD


def test_the_secant_spans_what_the_draws_cover():
    # linear ORR(log m): any secant is the slope; one try at the first half-span
    calls = []

    def linear(m):
        calls.append(m)
        return 0.4 + 0.1 * math.log(m)

    s = fit_spread(1.0, 0.4, 210, 84, 210, linear)
    assert s["slope_orr_per_log_multiplier"] == pytest.approx(0.1)
    assert s["log_sd"] == pytest.approx(math.hypot(binomial_sd(84, 210), binomial_sd(84, 210))
                                        / 0.1, abs=1e-3)
    # flat near m, steep further out (melanoma's ORR(m)): the second secant, over 1.96 sd, is
    # steeper than the tangent and narrows the spread
    def curved(m):
        x = math.log(m)
        return 0.4 + 0.02 * x + 0.2 * x ** 3

    c = fit_spread(1.0, 0.4, 210, 84, 210, curved)
    assert c["half_span"] != pytest.approx(math.log(2.0))
    assert c["log_sd"] < math.hypot(binomial_sd(84, 210), binomial_sd(84, 210)) / 0.02


def test_spread_only_recomputes_the_spread_and_keeps_the_fit(tmp_path):
    import yaml

    from immunocycle._errors import InputError
    from immunocycle.trial import calibrate_spread

    path = tmp_path / "fitted.yaml"
    entry = {"parameter": "T_N0", "multiplier": 1.732, "new_lesion_rate": 0.00067,
             "ae_offset": -0.25, "command": "immunocycle cohort calibrate melanoma",
             "fit": {"n_sampled": 40, "seed": 0, "days": 84.0, "responders": 5,
                     "n_evaluable": 12, "target_orr": 0.4}}
    path.write_text(yaml.safe_dump({"melanoma": entry}))
    out = calibrate_spread("melanoma", fitted_file=path, log=None)
    data = yaml.safe_load(path.read_text())["melanoma"]
    assert data["multiplier_log_sd"] == out["multiplier_log_sd"] > 0
    assert {k: data[k] for k in ("multiplier", "ae_offset", "new_lesion_rate", "command")} == {
        k: entry[k] for k in ("multiplier", "ae_offset", "new_lesion_rate", "command")}
    assert data["fit"]["responders"] == 5 and len(data["fit"]["multiplier_uncertainty"][
        "slope_points"]) == 2
    with pytest.raises(InputError, match="no calibrated entry"):
        calibrate_spread("nsclc", fitted_file=path, log=None)


def test_every_fitted_multiplier_records_its_spread():
    from immunocycle.population import available_cohorts, fitted_values, load_cohort

    for name in available_cohorts():
        cohort = load_cohort(name)
        if cohort.tumor_type == "archetype":
            continue
        entry = fitted_values(name)
        assert entry.multiplier_log_sd is not None and 0 < entry.multiplier_log_sd <= MAX_LOG_SD
        if cohort.calibration is not None:  # fitted: the record says how
            spread = entry.fit["multiplier_uncertainty"]
            lo, hi = spread["interval95"]
            assert lo < entry.multiplier < hi
            assert spread["slope_orr_per_log_multiplier"] > 0
