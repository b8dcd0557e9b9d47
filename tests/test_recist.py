"""RECIST 1.1 / iRECIST scoring (Eisenhauer 2009, doi:10.1016/j.ejca.2008.10.026;
Seymour 2017, doi:10.1016/S1470-2045(17)30074-8)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from immunocycle.trial._recist import (
    best_overall_response,
    irecist_best_overall_response,
    irecist_progression_time,
    irecist_timepoints,
    progression_time,
    recist_timepoints,
    score_patients,
)

T4 = [0, 42, 84, 126]  # baseline and three assessments 6 weeks apart


# --------------------------------------------------------------------------------------------
# RECIST 1.1 timepoint rules
# --------------------------------------------------------------------------------------------


def test_pr_at_exactly_minus_30_percent_and_not_at_minus_29():
    assert recist_timepoints([0, 42], [100.0, 70.0]) == ["BL", "PR"]
    assert recist_timepoints([0, 42], [100.0, 71.0]) == ["BL", "SD"]
    # exact -30 % also with awkward floating-point baselines
    assert recist_timepoints([0, 42], [10.0, 7.0]) == ["BL", "PR"]
    assert recist_timepoints([0, 42], [33.3, 33.3 * 0.7]) == ["BL", "PR"]


def test_pd_needs_20_percent_and_5_mm_over_nadir():
    # nadir 20 mm: +25 % is +5 mm -> PD; +20 % is only +4 mm -> not PD
    assert recist_timepoints(T4[:3], [40.0, 20.0, 25.0]) == ["BL", "PR", "PD"]
    assert recist_timepoints(T4[:3], [40.0, 20.0, 24.0]) == ["BL", "PR", "PR"]
    # exactly +20 % and exactly +5 mm over a 25 mm nadir is PD ("at least")
    assert recist_timepoints(T4[:3], [50.0, 25.0, 30.0]) == ["BL", "PR", "PD"]
    # +5 mm but only +10 % over a 50 mm nadir -> SD
    assert recist_timepoints(T4[:2], [50.0, 55.0]) == ["BL", "SD"]


def test_pd_is_measured_from_nadir_not_baseline():
    # 50 -> 30 (nadir, PR) -> 38: +27 % and +8 mm over nadir -> PD although still -24 % vs baseline
    assert recist_timepoints(T4[:3], [50.0, 30.0, 38.0]) == ["BL", "PR", "PD"]
    # baseline is the nadir when nothing shrank
    assert recist_timepoints(T4[:2], [50.0, 60.0]) == ["BL", "PD"]


def test_new_lesion_is_pd_even_when_shrinking():
    assert recist_timepoints(T4, [50.0, 30.0, 20.0, 20.0], [False, False, True, False]) == [
        "BL",
        "PR",
        "PD",
        "PR",
    ]
    assert progression_time(T4, [50.0, 30.0, 20.0, 20.0], [0, 0, 1, 0]) == (84.0, True)


def test_cr_uses_detection_floor():
    assert recist_timepoints(T4[:3], [40.0, 0.9, 0.0]) == ["BL", "CR", "CR"]
    assert recist_timepoints(T4[:3], [40.0, 1.0, 1.1]) == ["BL", "CR", "PR"]
    assert recist_timepoints(T4[:2], [40.0, 0.5], cr_floor_mm=0.0) == ["BL", "PR"]
    assert recist_timepoints(T4[:2], [40.0, 0.0], cr_floor_mm=0.0) == ["BL", "CR"]
    # regrowth after CR: +5 mm over a ~0 nadir is PD
    assert recist_timepoints(T4[:3], [40.0, 0.0, 5.0])[-1] == "PD"


# --------------------------------------------------------------------------------------------
# best overall response and confirmation
# --------------------------------------------------------------------------------------------


def test_unconfirmed_pr_is_sd_and_confirmed_pr_needs_28_days():
    # PR at day 56 only, then SD: unconfirmed -> SD (SD duration met at day 56)
    assert best_overall_response([0, 56, 112], [100.0, 65.0, 75.0]) == "SD"
    # PR repeated 27 days later: not yet confirmed
    assert best_overall_response([0, 56, 83], [100.0, 65.0, 66.0]) == "SD"
    # PR repeated 28 days later: confirmed
    assert best_overall_response([0, 56, 84], [100.0, 65.0, 66.0]) == "PR"
    # confirmation switched off
    assert best_overall_response([0, 56, 112], [100.0, 65.0, 75.0], confirm_days=None) == "PR"
    # intervening SD breaks confirmation
    assert best_overall_response([0, 42, 70, 98], [100.0, 65.0, 75.0, 65.0]) == "SD"


def test_confirmed_cr_and_cr_followed_by_pr():
    assert best_overall_response([0, 42, 84], [40.0, 0.5, 0.2]) == "CR"
    assert best_overall_response([0, 42, 84], [40.0, 0.5, 3.0]) == "PR"  # CR then PR -> PR
    assert best_overall_response([0, 42, 84], [40.0, 0.5, 6.0]) == "SD"  # CR then PD -> SD


def test_unconfirmed_pr_followed_by_pd():
    # PR then PD: SD when the SD duration is met, PD otherwise
    assert best_overall_response([0, 42, 84], [100.0, 60.0, 80.0]) == "SD"
    assert best_overall_response([0, 28, 84], [100.0, 60.0, 80.0]) == "PD"
    assert best_overall_response([0, 28, 84], [100.0, 60.0, 80.0], min_sd_days=28) == "SD"


def test_sd_minimum_duration_and_not_evaluable():
    assert best_overall_response([0, 41], [50.0, 50.0]) == "NE"
    assert best_overall_response([0, 42], [50.0, 50.0]) == "SD"
    assert best_overall_response([0, 42], [50.0, 50.0], min_sd_days=56) == "NE"
    assert best_overall_response([0], [50.0]) == "NE"
    assert best_overall_response([0, 42], [50.0, 61.0]) == "PD"


def test_responses_after_progression_do_not_count():
    # PD at day 42, then deep shrinkage: BOR stays PD
    assert best_overall_response([0, 42, 84, 126], [50.0, 61.0, 10.0, 9.0]) == "PD"


def test_progression_time_and_censoring():
    assert progression_time([0, 42, 84], [50.0, 48.0, 62.0]) == (84.0, True)
    assert progression_time([0, 42, 84], [50.0, 48.0, 50.0]) == (84.0, False)
    assert progression_time([0], [50.0]) == (0.0, False)


# --------------------------------------------------------------------------------------------
# iRECIST
# --------------------------------------------------------------------------------------------


def test_iupd_confirmed_as_icpd_by_further_5mm_growth():
    labels = irecist_timepoints(T4, [50.0, 40.0, 50.0, 55.0])
    assert labels == ["BL", "iSD", "iUPD", "iCPD"]
    assert irecist_best_overall_response(T4, [50.0, 40.0, 50.0, 55.0]) == "iSD"
    assert irecist_best_overall_response([0, 28, 70], [50.0, 61.0, 70.0]) == "iCPD"
    # iPFS is dated to the iUPD once confirmed
    assert irecist_progression_time(T4, [50.0, 40.0, 50.0, 55.0]) == (84.0, True)


def test_iupd_not_confirmed_when_growth_below_5mm():
    labels = irecist_timepoints(T4, [50.0, 40.0, 50.0, 54.0])
    assert labels == ["BL", "iSD", "iUPD", "iUPD"]
    assert irecist_best_overall_response([0, 28, 56], [50.0, 61.0, 64.0]) == "iUPD"
    assert irecist_progression_time([0, 28, 56], [50.0, 61.0, 64.0]) == (56.0, False)


def test_icpd_growth_is_cumulative_from_the_iupd_sum():
    # +4 mm then +2 mm over the iUPD sum (50) confirms
    assert irecist_timepoints([0, 42, 84, 126, 168], [50.0, 40.0, 50.0, 54.0, 56.0]) == [
        "BL",
        "iSD",
        "iUPD",
        "iUPD",
        "iCPD",
    ]


def test_icpd_not_before_confirmation_window():
    # +10 mm growth only 14 days after iUPD: still iUPD; confirmed at the next assessment >= 28 d
    t = [0, 42, 56, 84]
    assert irecist_timepoints(t, [50.0, 61.0, 71.0, 71.0]) == ["BL", "iUPD", "iUPD", "iCPD"]
    assert irecist_timepoints(t, [50.0, 61.0, 71.0, 71.0], confirm_min_days=56) == [
        "BL",
        "iUPD",
        "iUPD",
        "iUPD",
    ]


def test_iupd_reset_by_shrinkage_and_later_pd_is_iupd_again():
    t = [0, 42, 84, 126, 168, 210]
    sums = [50.0, 40.0, 50.0, 42.0, 52.0, 58.0]
    # nadir 40 -> 50 (iUPD) -> 42 (no longer PD vs nadir 40: reset, iSD) -> 52 (PD vs nadir 40:
    # iUPD again, new reference 52) -> 58 (+6 mm over 52: iCPD)
    assert irecist_timepoints(t, sums) == ["BL", "iSD", "iUPD", "iSD", "iUPD", "iCPD"]
    # RECIST 1.1 stops at the first PD
    assert best_overall_response(t, sums) == "SD"
    assert progression_time(t, sums) == (84.0, True)
    assert irecist_progression_time(t, sums) == (168.0, True)


def test_iupd_reset_to_ipr_and_icr_gives_confirmed_response():
    t = [0, 42, 84, 126, 168]
    assert irecist_timepoints(t, [50.0, 62.0, 30.0, 0.5, 0.3]) == [
        "BL",
        "iUPD",
        "iPR",
        "iCR",
        "iCR",
    ]
    assert irecist_best_overall_response(t, [50.0, 62.0, 30.0, 0.5, 0.3]) == "iCR"
    assert best_overall_response(t, [50.0, 62.0, 30.0, 0.5, 0.3]) == "PD"
    # pseudo-progression then a confirmed PR
    assert irecist_best_overall_response(t, [50.0, 62.0, 30.0, 31.0, 30.0]) == "iPR"


def test_irecist_new_lesions():
    t = [0, 42, 84, 126]
    # iUPD by new lesion, confirmed by another new lesion
    assert irecist_timepoints(t, [50.0, 45.0, 44.0, 44.0], [0, 1, 1, 0]) == [
        "BL",
        "iUPD",
        "iCPD",
        "iCPD",
    ]
    # iUPD by new lesion, then target progression (new category) confirms
    assert irecist_timepoints(t, [50.0, 45.0, 60.0, 60.0], [0, 1, 0, 0])[:3] == [
        "BL",
        "iUPD",
        "iCPD",
    ]
    # iUPD by target growth, confirmed by a new lesion without further growth
    assert irecist_timepoints(t, [50.0, 61.0, 61.0, 61.0], [0, 0, 1, 0])[:3] == [
        "BL",
        "iUPD",
        "iCPD",
    ]
    # iUPD by new lesion alone, next assessment without change: reset (appearance-only semantics)
    assert irecist_timepoints(t, [50.0, 45.0, 45.0, 45.0], [0, 1, 0, 0]) == [
        "BL",
        "iUPD",
        "iSD",
        "iSD",
    ]


# --------------------------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("times", "sums", "new", "match"),
    [
        ([0, 42, 42], [50, 40, 40], None, "times_d must be strictly increasing"),
        ([0, 42, 30], [50, 40, 40], None, "times_d must be strictly increasing"),
        ([0, 42], [50, -1], None, "sums_mm must be non-negative"),
        ([0, 42], [50, 40, 30], None, "sums_mm has 3 values but times_d has 2"),
        ([0, 42], [50, float("nan")], None, "sums_mm contains NaN"),
        ([0, float("nan")], [50, 40], None, "times_d contains NaN"),
        ([], [], None, "times_d must contain at least one"),
        ([0, 42], [0.5, 0.2], None, r"sums_mm\[0\]"),
        ([0, 42], [50, 40], [False], "new_lesion has 1 values"),
        ([0, 42], [50, 40], [True, False], r"new_lesion\[0\] must be False"),
        ([0, 42], [50, 40], [0, float("nan")], "new_lesion contains NaN"),
        ([0, 42], [50, 40], [0, 2], "new_lesion must contain booleans"),
        ([[0, 42]], [[50, 40]], None, "times_d must be 1-D"),
    ],
)
def test_bad_input_names_the_argument(times, sums, new, match):
    for fn in (recist_timepoints, best_overall_response, progression_time, irecist_timepoints):
        with pytest.raises(ValueError, match=match):
            fn(times, sums, new)


def test_bad_parameters():
    with pytest.raises(ValueError, match="confirm_days"):
        best_overall_response([0, 42], [50, 40], confirm_days=-1)
    with pytest.raises(ValueError, match="min_sd_days"):
        best_overall_response([0, 42], [50, 40], min_sd_days=float("nan"))
    with pytest.raises(ValueError, match="cr_floor_mm"):
        recist_timepoints([0, 42], [50, 40], cr_floor_mm=-1)
    with pytest.raises(ValueError, match="pd_abs_mm"):
        recist_timepoints([0, 42], [50, 40], pd_abs_mm=0)
    with pytest.raises(ValueError, match="icpd_growth_mm"):
        irecist_timepoints([0, 42], [50, 40], icpd_growth_mm=0)


# --------------------------------------------------------------------------------------------
# score_patients
# --------------------------------------------------------------------------------------------


def _long(records):
    rows = []
    for pid, arm, times, sums in records:
        for t, s in zip(times, sums, strict=True):
            rows.append({"patient_id": pid, "arm": arm, "time_d": t, "sum_mm": s})
    return pd.DataFrame(rows)


def test_score_patients_matches_single_patient_functions():
    records = [
        ("a", "io", [0, 56, 84, 126], [100.0, 65.0, 66.0, 90.0]),
        ("b", "io", [0, 42, 84], [50.0, 61.0, 70.0]),
        ("c", "chemo", [0, 42, 84, 126], [50.0, 40.0, 50.0, 55.0]),
        ("d", "chemo", [0], [30.0]),
    ]
    df = _long(records).sample(frac=1.0, random_state=3)  # order must not matter
    out = score_patients(df, carry=["arm"])
    assert list(out.columns[:2]) == ["patient_id", "arm"]
    assert set(out["patient_id"]) == {"a", "b", "c", "d"}
    out = out.set_index("patient_id")
    for pid, arm, times, sums in records:
        row = out.loc[pid]
        assert row["arm"] == arm
        assert row["bor"] == best_overall_response(times, sums)
        assert row["irecist_bor"] == irecist_best_overall_response(times, sums)
        assert (row["pfs_days"], row["pfs_event"]) == progression_time(times, sums)
        assert (row["ipfs_days"], row["ipfs_event"]) == irecist_progression_time(times, sums)
        assert row["n_assessments"] == len(times)
    assert out.loc["a", "best_pct_change"] == pytest.approx(-35.0)
    assert out.loc["b", "best_pct_change"] == pytest.approx(22.0)
    assert math.isnan(out.loc["d", "best_pct_change"])
    assert out["pfs_event"].dtype == bool


def test_score_patients_new_lesion_column_and_errors():
    df = _long([("a", "io", [0, 42, 84], [50.0, 40.0, 40.0])])
    df["new_lesion"] = [False, False, True]
    out = score_patients(df)
    assert out.loc[0, "bor"] == "SD"  # SD at day 42, new lesion (PD) at day 84
    assert out.loc[0, "pfs_days"] == 84.0 and out.loc[0, "pfs_event"]
    with pytest.raises(ValueError, match="missing required column"):
        score_patients(df.drop(columns="sum_mm"))
    dup = pd.concat([df, df.iloc[[1]]])
    with pytest.raises(ValueError, match=r"patient_id='a'.*times_d must be strictly increasing"):
        score_patients(dup)


# --------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------


@st.composite
def series(draw, min_size=1, max_size=8, with_new=True):
    n = draw(st.integers(min_size, max_size))
    gaps = draw(st.lists(st.integers(7, 70), min_size=n - 1, max_size=n - 1))
    times = np.concatenate([[0.0], np.cumsum(gaps)]).astype(float)
    base = draw(st.floats(10.0, 300.0))
    rel = draw(
        st.lists(
            st.one_of(
                st.floats(0.0, 2.5, allow_subnormal=False), st.sampled_from([0.0, 0.7, 1.2, 0.5])
            ),
            min_size=n - 1,
            max_size=n - 1,
        )
    )
    sums = np.concatenate([[base], base * np.asarray(rel, dtype=float)])
    if with_new:
        new = [False] + draw(st.lists(st.booleans(), min_size=n - 1, max_size=n - 1))
    else:
        new = [False] * n
    return times, sums, new


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(series(), st.integers(-4, 4))
def test_scaling_with_thresholds_leaves_categories_unchanged(s, k):
    """A change of length unit (factor 2**k, exact in floating point) with the absolute
    thresholds converted too leaves every category unchanged."""
    times, sums, new = s
    c = 2.0**k
    kw = {"cr_floor_mm": 1.0, "pd_abs_mm": 5.0}
    kw_c = {"cr_floor_mm": 1.0 * c, "pd_abs_mm": 5.0 * c}
    assert recist_timepoints(times, sums, new, **kw) == recist_timepoints(
        times, sums * c, new, **kw_c
    )
    assert best_overall_response(times, sums, new, **kw) == best_overall_response(
        times, sums * c, new, **kw_c
    )
    assert irecist_timepoints(times, sums, new, **kw) == irecist_timepoints(
        times, sums * c, new, icpd_growth_mm=5.0 * c, **kw_c
    )


@FAST
@given(series(), st.floats(1.0, 8.0))
def test_enlarging_diameters_only_adds_pd_through_the_5mm_rule(s, c):
    """Scaling up by c >= 1 with fixed mm thresholds keeps every PD a PD (the 20 % rule is
    scale-free and absolute increases only grow), and changes non-PD labels only to PD."""
    times, sums, new = s
    before = recist_timepoints(times, sums, new, cr_floor_mm=0.0)
    after = recist_timepoints(times, sums * c, new, cr_floor_mm=0.0)
    for b, a in zip(before, after, strict=True):
        assert a == b or a == "PD"


@FAST
@given(series(with_new=False))
def test_non_increasing_series_never_progresses(s):
    times, sums, _ = s
    mono = np.minimum.accumulate(sums)
    assert "PD" not in recist_timepoints(times, mono)
    assert "iUPD" not in irecist_timepoints(times, mono)
    assert progression_time(times, mono) == (float(times[-1]), False)
    assert best_overall_response(times, mono) != "PD"


@FAST
@given(series())
def test_progression_time_is_an_assessment_time_at_the_first_pd(s):
    times, sums, new = s
    t, event = progression_time(times, sums, new)
    labels = recist_timepoints(times, sums, new)
    assert t in set(times.tolist())
    assert event == ("PD" in labels)
    if event:
        assert labels[list(times).index(t)] == "PD"
        assert "PD" not in labels[: list(times).index(t)]
    ti, ievent = irecist_progression_time(times, sums, new)
    assert ti in set(times.tolist())
    if ievent:
        assert event and ti >= t  # confirmed iRECIST progression never precedes RECIST PD


@FAST
@given(series(), st.floats(-500.0, 500.0))
def test_time_shift_invariance(s, shift):
    times, sums, new = s
    shifted = times + float(np.round(shift))
    assert recist_timepoints(times, sums, new) == recist_timepoints(shifted, sums, new)
    assert best_overall_response(times, sums, new) == best_overall_response(shifted, sums, new)
    assert irecist_timepoints(times, sums, new) == irecist_timepoints(shifted, sums, new)
    t0, e0 = progression_time(times, sums, new)
    t1, e1 = progression_time(shifted, sums, new)
    assert e0 == e1 and t1 == pytest.approx(t0 + float(np.round(shift)))


@FAST
@given(series(min_size=2), series(min_size=2))
def test_assessments_after_first_pd_do_not_change_bor_or_pfs(s, tail):
    times, sums, new = s
    labels = recist_timepoints(times, sums, new)
    if "PD" not in labels:
        return
    ttail, stail, ntail = tail
    times2 = np.concatenate([times, times[-1] + 1.0 + ttail])
    sums2 = np.concatenate([sums, stail])
    new2 = list(new) + list(ntail)
    assert best_overall_response(times2, sums2, new2) == best_overall_response(times, sums, new)
    assert progression_time(times2, sums2, new2) == progression_time(times, sums, new)


@FAST
@given(series())
def test_irecist_agrees_with_recist_until_first_progression(s):
    times, sums, new = s
    rec = recist_timepoints(times, sums, new)
    irec = irecist_timepoints(times, sums, new)
    for r, i in zip(rec[1:], irec[1:], strict=True):
        if r == "PD":
            assert i == "iUPD"
            break
        assert i == "i" + r


@FAST
@given(series())
def test_confirmation_only_lowers_bor(s):
    times, sums, new = s
    rank = {"CR": 0, "PR": 1, "SD": 2, "PD": 3, "NE": 4}
    confirmed = best_overall_response(times, sums, new)
    unconfirmed = best_overall_response(times, sums, new, confirm_days=None)
    assert rank[unconfirmed] <= rank[confirmed]
    if confirmed in ("CR", "PR"):
        assert times[-1] - times[1] >= 28.0
