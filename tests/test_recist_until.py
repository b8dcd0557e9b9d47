"""score_until: RECIST 1.1 / iRECIST of many patients, each cut at its own day (death, data
cutoff), and the vectorised recording rule (recorded_sizes) the trial uses."""

import math

import numpy as np
import pandas as pd
import pytest

from immunocycle._errors import InputError
from immunocycle.trial._cutoff import bor_at_cutoff
from immunocycle.trial._lesions import default_site, record_lesions, recorded_sizes
from immunocycle.trial._recist import irecist_timepoints, score_patients, score_until

WEEKS6 = np.arange(0.0, 7 * 42.0, 42.0)  # 0, 42, ..., 252 days


def test_a_response_seen_only_after_the_cut_does_not_count():
    # PR from day 84 (confirmed on day 126): PR over every scan
    sums = [[50.0, 45.0, 30.0, 30.0, 30.0, 30.0, 30.0]]
    full = score_until(WEEKS6, sums, None, None, math.inf)
    assert full["bor"].tolist() == ["PR"] and full["response_start_days"].tolist() == [84.0]
    # cut on day 60: the PR scan is never made; SD met on day 42
    early = score_until(WEEKS6, sums, None, None, 60.0)
    assert early["bor"].tolist() == ["SD"] and math.isnan(early["response_start_days"].iloc[0])
    assert early["n_assessments"].tolist() == [2]
    # cut on day 30: baseline only (the baseline always counts), not evaluable
    assert score_until(WEEKS6, sums, None, None, 30.0)["bor"].tolist() == ["NE"]


def test_dying_before_the_confirmation_scan_is_not_a_confirmed_response():
    # CR on day 84, confirmed on day 126; a new lesion on day 168
    sums = [[50.0, 40.0, 0.0, 0.0, 0.0, 0.0, 0.0]] * 3
    new = np.zeros((3, 7), bool)
    new[:, 4] = True
    out = score_until(WEEKS6, sums, None, new, [100.0, 130.0, math.inf])
    # died on day 100: CR unconfirmed and no earlier PR: SD (day 42); on day 130: CR
    assert out["bor"].tolist() == ["SD", "CR", "CR"]
    assert out["pfs_event"].tolist() == [False, False, True]
    assert out["pfs_days"].tolist() == [84.0, 126.0, 168.0]
    # a PD seen only after death is not a progression
    pd_first = score_until(WEEKS6, [[50.0, 70.0, 70.0, 70.0, 70.0, 70.0, 70.0]], None, None,
                           [20.0])
    assert pd_first["bor"].tolist() == ["NE"] and not pd_first["pfs_event"].iloc[0]


def _random_series(rng, n, a):
    """Sums that shrink, regrow or vanish, the gone flags, and rare new lesions."""
    steps = rng.normal(-0.08, 0.2, size=(n, a - 1))
    sums = 40.0 * np.exp(np.concatenate([np.zeros((n, 1)), np.cumsum(steps, axis=1)], axis=1))
    sums = np.where(sums < 15.0, 0.0, sums)
    sums[:, 0] = 40.0
    gone = sums == 0.0
    new = rng.random((n, a)) < 0.04
    new[:, 0] = False
    return sums, gone, new


def test_equals_score_patients_on_each_patients_cut_scans():
    rng = np.random.default_rng(11)
    n, a = 300, 12
    sums, gone, new = _random_series(rng, n, a)
    # per-patient schedules of different length (NaN padding), as in a trial's patient table
    times = np.tile(np.arange(a) * 42.0, (n, 1))
    length = rng.integers(1, a + 1, n)
    times[np.arange(a)[None, :] >= length[:, None]] = np.nan
    until = np.where(rng.random(n) < 0.2, math.inf, rng.uniform(-10.0, 500.0, n))
    got = score_until(times, sums, gone, new, until)
    rows = []
    for k in range(n):
        keep = (times[k] <= until[k]) | (np.arange(a) == 0)
        rows.append(pd.DataFrame({"patient_id": k, "time_d": times[k, keep],
                                  "sum_mm": sums[k, keep], "target_gone": gone[k, keep],
                                  "new_lesion": new[k, keep]}))
    want = score_patients(pd.concat(rows, ignore_index=True))
    pd.testing.assert_frame_equal(got.drop(columns="icpd_days"),
                                  want.drop(columns="patient_id"), check_exact=True)
    assert set(want["bor"]) >= {"CR", "PR", "SD", "PD"}  # the draw covers every category
    for k in np.flatnonzero(got["ipfs_event"].to_numpy()):
        keep = (times[k] <= until[k]) | (np.arange(a) == 0)
        labels = irecist_timepoints(times[k, keep], sums[k, keep], new[k, keep],
                                    target_gone=gone[k, keep])
        assert got["icpd_days"].iloc[k] == times[k, keep][labels.index("iCPD")]
    assert got.loc[~got["ipfs_event"], "icpd_days"].isna().all()


def test_bor_at_cutoff_scores_list_columns_of_any_length():
    rng = np.random.default_rng(5)
    n = 80
    sums, gone, new = _random_series(rng, n, 9)
    length = rng.integers(1, 10, n)
    table = pd.DataFrame({"time_d": [list(np.arange(m) * 42.0) for m in length],
                          "sum_mm": [list(s[:m]) for s, m in zip(sums, length, strict=True)],
                          "target_gone": [list(g[:m]) for g, m in zip(gone, length, strict=True)],
                          "new_lesion": [list(f[:m]) for f, m in zip(new, length, strict=True)],
                          "evaluable": rng.random(n) < 0.8})
    follow = rng.uniform(40.0, 300.0, n)
    got = bor_at_cutoff(table, follow)
    # the cutoff matters for some rows (else this test could not see it ignored)
    assert np.any(got != bor_at_cutoff(table, np.full(n, np.inf)))
    for r in range(n):
        if not table["evaluable"].iloc[r]:
            assert got[r] == ""
            continue
        t = np.asarray(table["time_d"].iloc[r])
        keep = (t <= follow[r]) | (np.arange(t.size) == 0)
        long = pd.DataFrame({"patient_id": 0, "time_d": t[keep],
                             "sum_mm": np.asarray(table["sum_mm"].iloc[r])[keep],
                             "target_gone": np.asarray(table["target_gone"].iloc[r])[keep],
                             "new_lesion": np.asarray(table["new_lesion"].iloc[r])[keep]})
        assert got[r] == score_patients(long)["bor"].iloc[0]


def test_bad_input_is_refused_naming_the_field():
    sums = [[50.0, 40.0, 30.0]]
    with pytest.raises(InputError, match="until_d contains NaN"):
        score_until([0, 42, 84], sums, None, None, math.nan)
    with pytest.raises(InputError, match="until_d has shape"):
        score_until([0, 42, 84], sums, None, None, [1.0, 2.0])
    with pytest.raises(InputError, match="times_d has shape"):
        score_until([0, 42], sums, None, None, math.inf)
    with pytest.raises(InputError, match="new_lesion has shape"):
        score_until([0, 42, 84], sums, None, [True], math.inf)
    with pytest.raises(InputError, match="sums_mm must be 2-D"):
        score_until([0, 42, 84], sums[0], None, None, math.inf)
    with pytest.raises(InputError, match=r"patient \(row\) 1: times_d must be strictly"):
        score_until([[0, 42, 84], [0, 84, 42]], sums * 2, None, None, math.inf)


def test_recorded_sizes_per_patient_sites_equal_record_lesions_per_patient():
    rng = np.random.default_rng(2)
    n, a, lesions = 30, 6, 3
    sizes = rng.uniform(0.0, 25.0, (n, a, lesions))
    sites = rng.choice(np.array(["ct", "lymph_node", ""], dtype=object), (n, lesions))
    sizes[3] = np.nan  # a failed patient
    recorded, gone = recorded_sizes(sizes, sites[:, None, :], allow_nan=True)
    assert np.isnan(recorded[3]).all() and not gone[3].any()
    for k in np.delete(np.arange(n), 3):
        names = [s or default_site() for s in sites[k]]
        s, g = record_lesions(sizes[k], names)
        assert np.array_equal(recorded[k].sum(-1), s) and np.array_equal(gone[k], g)
    with pytest.raises(InputError, match="finite"):
        recorded_sizes(sizes, sites[:, None, :])
    with pytest.raises(InputError, match="sites: shape"):
        recorded_sizes(sizes, sites[:5, None, :], allow_nan=True)
