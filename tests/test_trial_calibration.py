"""Calibrated cohorts reproduce their published anti-PD-1 ORR and grade 3-4 AE rates."""

import pytest
import yaml

from immunocycle.population import available_cohorts, fitted_values, load_cohort
from immunocycle.population._cohort import fitted_path
from immunocycle.trial._statistics import orr_with_ci
from immunocycle.trial._trial import run_trial

CALIBRATED = [n for n in available_cohorts() if load_cohort(n).calibration is not None]


def test_fitted_file_records_every_calibrated_cohort_with_its_fit_and_command():
    data = yaml.safe_load(fitted_path().read_text())
    assert set(CALIBRATED) <= set(data)
    for name in CALIBRATED:
        target = load_cohort(name).calibration
        entry = fitted_values(name)
        fit = entry.fit
        assert entry.command.startswith(f"immunocycle cohort calibrate {name}")
        assert fit["n_sampled"] == 1000 and fit["target_orr"] == target.orr
        lo, hi = fit["achieved_orr_ci"]
        if target.orr > 0:
            assert lo <= target.orr <= hi, (name, fit)
        else:  # 0/18: the published interval
            assert fit["achieved_orr"] <= orr_with_ci(0, target.n_trial, method="exact")[2]
        if target.ae_grade3plus is not None:
            assert fit["achieved_ae_realized"] == pytest.approx(target.ae_grade3plus, abs=0.05)
        if target.median_pfs_months is not None:  # the new-lesion rate fitted to the PFS
            assert entry.new_lesion_rate is not None
            if name not in PFS_NOT_REACHED:
                _check_pfs(name, fit["median_pfs_days"], target.median_pfs_months)
            # the trial itself is checked too (test below): the ORR is fitted at the AE offset
            # the trial uses (session 12), so the record and `trial` agree
        if target.cr_parameter is not None:  # the published CR rate inside the simulated CI
            lo, hi = fit["achieved_cr_ci"]
            assert lo <= target.cr <= hi, (name, fit)


#: Median PFS targets the model does not reach (a known gap, issue 14): the check asserts the gap
#: is still there, so it fails, and this entry must go, once the model reaches the target.
PFS_NOT_REACHED: dict[str, str] = {}


def _check_pfs(name: str, model_days: float, target_months: float) -> None:
    target_days = target_months * 30.4375
    if name in PFS_NOT_REACHED:
        assert model_days < 0.75 * target_days, (name, model_days, PFS_NOT_REACHED[name])
    else:
        assert model_days == pytest.approx(target_days, rel=0.25), (name, model_days)


@pytest.mark.parametrize("name", ["melanoma", "crc_msi_high"])
def test_calibrated_cohort_reproduces_orr_and_ae_at_n_1000(tmp_path, name):
    target = load_cohort(name).calibration
    fit = fitted_values(name).fit
    summary = run_trial(name, [target.regimen], 1000, tmp_path, seed=fit["seed"], days=fit["days"],
                        chunk_size=500, progress=False, figures=False)
    arm = summary["arms"][0]
    lo, hi = arm["orr_ci"]
    assert lo <= target.orr <= hi, arm
    assert arm["ae_grade3plus_rate"] == pytest.approx(target.ae_grade3plus, abs=0.05)
    _check_pfs(name, arm["median_pfs_days"], target.median_pfs_months)
    assert arm["median_os_days"] is None or arm["median_os_days"] >= arm["median_pfs_days"]
    if target.cr is not None:
        lo, hi = arm["cr_rate_ci"]
        assert lo <= target.cr <= hi, arm


def test_borrowed_values_average_tumor_types_not_cohorts():
    """A cohort without a target borrows the mean over tumor types: NSCLC's three cohorts
    (pooled, squamous, non-squamous) weigh as one type, not three."""
    from immunocycle.trial._calibrate import fill_uncalibrated

    def entry(multiplier, rate, offset):
        return {"parameter": "T_N0", "multiplier": multiplier, "new_lesion_rate": rate,
                "ae_offset": offset, "multiplier_log_sd": 0.1, "fit": {}}

    results = {"melanoma": entry(2.0, 1e-3, 0.4), "nsclc": entry(0.5, 1e-5, 0.0),
               "nsclc_squamous": entry(0.5, 1e-5, 0.0), "nsclc_nonsquamous": entry(0.5, 1e-5, 0.0)}
    out = fill_uncalibrated(results, n=40, write=False)
    breast, tnbc = out["breast"], out["tnbc"]
    assert breast["multiplier"] == pytest.approx(1.0, rel=1e-5)  # by cohort: 0.71
    assert tnbc["new_lesion_rate"] == pytest.approx(1e-4, rel=1e-5)  # by cohort: 3.2e-5
    assert breast["ae_offset"] == pytest.approx(0.2, rel=1e-5)  # by cohort: 0.13
    # breast names a time to progression (Gradishar 2005): its rate is fitted, not borrowed
    assert breast["fit"]["progression"]["regimen"] == "nab_paclitaxel"
    assert "new_lesion_note" not in breast["fit"]
    # the non-squamous cohort has no AE target: it gets the same borrowed offset
    assert out["nsclc_nonsquamous"]["ae_offset"] == pytest.approx(0.2, rel=1e-5)


def test_a_progression_target_fits_the_new_lesion_rate():
    """A cohort without a PD-1 PFS target but with a published time to progression of another
    regimen gets the new-lesion rate that puts that regimen's median on the nearest scan: a
    shorter published median needs a higher rate, and the shipped breast rate is the fit."""
    from immunocycle.trial._calibrate import fit_progression

    breast = load_cohort("breast")
    fitted = fitted_values("breast")
    rates = {}
    for months in (2.5, 8.0):
        cohort = breast.model_copy(update={"progression": breast.progression.model_copy(
            update={"median_pfs_months": months})})
        rates[months], fit = fit_progression(cohort, multiplier=fitted.multiplier,
                                             ae_offset=fitted.ae_offset, n=80)
        assert fit["target_median_pfs_days"] == pytest.approx(months * 30.4375, abs=0.1)
    assert rates[2.5] > 3 * rates[8.0]
    record = yaml.safe_load(fitted_path().read_text())["breast"]
    assert record["fit"]["progression"]["regimen"] == breast.progression.regimen
    assert record["fit"]["progression"]["median_pfs_days"] == record["fit"]["progression"][
        "aimed_scan_day"]
    assert record["new_lesion_rate"] == fitted.new_lesion_rate
