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


# --------------------------------------------------------------------------------------------
# the compiled score_until against the per-patient Python kernels
# --------------------------------------------------------------------------------------------


def _reference(times, sums, gone, new, until, **kw):
    """score_until as the per-patient loop of old: each row's counted scans through _validate
    and _score_series (the readable Python kernels)."""
    from immunocycle.trial._recist import _check_days, _score_series, _validate

    sums = np.asarray(sums, float)
    n, a = sums.shape
    times = np.broadcast_to(np.asarray(times, float), (n, a))
    until = np.broadcast_to(np.asarray(until, float), (n,))
    cd = _check_days(kw.get("confirm_days", 28.0), "confirm_days", allow_none=True)
    floor, pd_abs = kw.get("cr_floor_mm", 1.0), kw.get("pd_abs_mm", 5.0)
    rows = []
    for k in range(n):
        keep = (times[k] <= until[k]) | (np.arange(a) == 0)
        try:
            t, s, nl, g = _validate(times[k, keep], sums[k, keep],
                                    None if new is None else np.asarray(new)[k, keep], floor,
                                    pd_abs, None if gone is None else np.asarray(gone)[k, keep])
        except ValueError as exc:
            raise InputError(f"patient (row) {k}: {exc}") from None
        rows.append(_score_series(t, s, nl, g, float(pd_abs), float(kw.get("icpd_growth_mm", 5.0)),
                                  float(kw.get("irecist_confirm_min_days", 28.0)), cd,
                                  float(kw.get("min_sd_days", 42.0))))
    return rows


def _assert_same(got: pd.DataFrame, rows: list[dict]):
    assert list(got.columns) == [*rows[0]]
    assert got.index.equals(pd.RangeIndex(len(rows)))
    for col in got.columns:
        want = np.array([r[col] for r in rows], dtype=object if col.endswith("bor") else None)
        np.testing.assert_array_equal(got[col].to_numpy(), want, strict=True, err_msg=col)
    assert got["bor"].map(type).eq(str).all() and got["irecist_bor"].map(type).eq(str).all()


def _edge_series(rng, n, a):
    """Times (some rows NaN-padded, some with NaN holes or a late scan out of order: the cut
    then keeps scans that are not a prefix of the row), sums that hit the RECIST thresholds
    (multiples of 2.5 mm from a 50 mm baseline: 35 mm is -30 %, 25 -> 30 mm is +20 % and +5 mm,
    iUPD + 5 mm; and the thresholds computed in floating point, off by round-off), continuous
    random walks, gone flags and new lesions."""
    grid = 2.5 * np.clip(20 + np.cumsum(rng.integers(-3, 4, (n, a)), axis=1), 0, None)
    grid[:, 0] = 50.0
    walk, _, _ = _random_series(rng, n, a)
    # sums on the rounded thresholds (baseline - 30 %, nadir x 1.2, nadir + 5 mm), where only the
    # relative tolerance makes them PR / PD
    edge = np.empty((n, a))
    edge[:, 0] = rng.uniform(10.0, 90.0, n)
    for k in range(n):
        nadir = edge[k, 0]
        for i in range(1, a):
            pick = rng.integers(5)
            base = edge[k, 0]
            edge[k, i] = (base - 0.3 * base, nadir * 1.2, nadir + 5.0, edge[k, i - 1],
                          edge[k, i - 1] + 5.0)[pick]
            nadir = min(nadir, edge[k, i])
    kind = rng.integers(3, size=n)[:, None]
    sums = np.where(kind == 0, grid, np.where(kind == 1, walk, edge))
    gone = (sums == 0.0) | ((sums < 8.0) & (rng.random((n, a)) < 0.5))
    gone[:, 0] = False
    new = rng.random((n, a)) < 0.05
    new[:, 0] = False
    times = np.tile(np.concatenate([[0.0], 14.0 + 28.0 * np.arange(a - 1)]), (n, 1))
    times += np.where(rng.random((n, a)) < 0.3, rng.integers(-7, 8, (n, a)), 0)
    times[:, 0] = 0.0
    times[:, 1:] = np.maximum(times[:, 1:], 1.0)
    times = np.maximum.accumulate(times + 1e-9 * np.arange(a), axis=1)  # strictly increasing
    length = rng.integers(1, a + 1, n)
    times[np.arange(a)[None, :] >= length[:, None]] = np.nan  # padding
    holes = np.flatnonzero(rng.random(n) < 0.05)
    times[holes, rng.integers(1, a, holes.size)] = np.nan  # a missed scan inside the row
    late = np.flatnonzero(rng.random(n) < 0.05)
    times[late, 1] = 5000.0  # out of order, but after every cut but inf: never counted
    # cuts: before the first scan, on a scan day (inclusive), between scans, never
    on_scan = times[np.arange(n), rng.integers(0, a, n)]
    until = np.where(rng.random(n) < 0.3, on_scan, rng.uniform(-10.0, 28.0 * a, n))
    until = np.where((rng.random(n) < 0.2) | np.isnan(until), math.inf, until)
    until[late] = np.minimum(until[late], 4000.0)
    return times, sums, gone, new, until


@pytest.mark.parametrize("kw", [
    {},
    {"confirm_days": None},
    {"confirm_days": 21.0, "min_sd_days": 56.0, "cr_floor_mm": 2.5, "pd_abs_mm": 2.5,
     "irecist_confirm_min_days": 35.0, "icpd_growth_mm": 2.5},
    {"confirm_days": 0.0, "min_sd_days": 0.0, "irecist_confirm_min_days": 0.0},
])
def test_compiled_score_until_is_bitwise_the_per_patient_kernels(kw):
    rng = np.random.default_rng(2024)
    n, a = 400, 16
    times, sums, gone, new, until = _edge_series(rng, n, a)
    for g, f in ((gone, new), (None, new), (gone, None), (None, None)):
        got = score_until(times, sums, g, f, until, **kw)
        _assert_same(got, _reference(times, sums, g, f, until, **kw))
    # one schedule shared by all, a single cut, flags given as 0/1 numbers
    shared = np.arange(a) * 28.0
    got = score_until(shared, sums, gone.astype(float), new.astype(np.int8), 200.0, **kw)
    _assert_same(got, _reference(shared, sums, gone, new, 200.0, **kw))
    # the draw reaches every category and both edge kinds (exactly -30 %, exactly +20 % / 5 mm)
    full = score_until(times, sums, gone, new, until, **kw)
    assert set(full["bor"]) == {"CR", "PR", "SD", "PD", "NE"}
    assert set(full["irecist_bor"]) == {"iCR", "iPR", "iSD", "iUPD", "iCPD", "NE"}
    assert (full["best_pct_change"] == -30.0).any()


def test_compiled_score_until_on_a_zero_baseline_not_gone():
    # a baseline of normal nodes only (0 mm recorded here, not gone): best % change is 0 / 0
    times, sums = [0.0, 42.0, 84.0, 126.0], np.array([[0.0, 0.0, 3.0, 0.0], [0.0, 6.0, 0.0, 0.0]])
    gone = np.zeros((2, 4), bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        want = _reference(times, sums, gone, None, math.inf)
    got = score_until(times, sums, gone, None, math.inf)
    _assert_same(got, want)
    assert np.isnan(got["best_pct_change"]).all()


def test_compiled_score_until_refuses_the_rows_the_per_patient_loop_refused():
    rng = np.random.default_rng(7)
    n, a = 12, 6
    times, sums, gone, new, until = _edge_series(rng, n, a)
    times = np.tile(np.arange(a) * 42.0, (n, 1))
    until = np.full(n, 100.0)  # scans 0, 42, 84 counted

    def bad(edit, **kw):
        t, s, g, f = times.copy(), sums.copy(), gone.astype(object), new.astype(object)
        t, s, g, f = edit(t, s, g, f) or (t, s, g, f)
        with pytest.raises(InputError) as want:
            _reference(t, s, g, f, until, **kw)
        with pytest.raises(InputError) as got:
            score_until(t, s, g, f, until, **kw)
        assert str(got.value) == str(want.value)
        return str(got.value)

    def set_(arr_index, row, col, value):
        def edit(*arrays):
            arrays[arr_index][row, col] = value
        return edit

    assert bad(set_(1, 4, 2, -1.0)).startswith("patient (row) 4: sums_mm must be non-negative")
    assert bad(set_(1, 9, 1, math.nan)).startswith("patient (row) 9: sums_mm contains NaN")
    assert bad(set_(0, 3, 2, 10.0)).startswith("patient (row) 3: times_d must be strictly")
    assert bad(set_(2, 6, 0, True)).startswith("patient (row) 6: sums_mm[0] (baseline sum")
    assert bad(set_(3, 2, 0, 1)).startswith("patient (row) 2: new_lesion[0] must be False")
    assert bad(set_(3, 5, 1, 0.5)).startswith("patient (row) 5: new_lesion must contain")
    assert bad(set_(3, 5, 1, "x")).startswith("patient (row) 5: new_lesion must contain")
    assert bad(set_(2, 8, 2, 2)).startswith("patient (row) 8: target_gone must contain")
    assert bad(lambda t, s, g, f: (t, s, g.astype(float), f.astype(float)) if (
        g.__setitem__((7, 2), math.nan), f.__setitem__((1, 1), math.nan)) else None
    ).startswith("patient (row) 1: new_lesion contains NaN")
    # the first failing row in row order, whatever the check
    def two(t, s, g, f):
        s[10, 1] = -2.0
        t[3, 1] = 0.0
    assert bad(two).startswith("patient (row) 3: times_d must be strictly")
    assert bad(lambda *x: None, pd_abs_mm=0.0).startswith("patient (row) 0: pd_abs_mm must be")
    assert bad(lambda *x: None, cr_floor_mm=math.inf).startswith("patient (row) 0: cr_floor_mm")
    # values after the cut are never checked, as before
    s = sums.copy()
    s[4, 3:] = np.nan
    t = times.copy()
    t[6, 4] = 500.0  # after the cut and out of order
    f = new.copy()
    f[2, 5] = True
    _assert_same(score_until(t, s, gone, f, until), _reference(t, s, gone, f, until))
