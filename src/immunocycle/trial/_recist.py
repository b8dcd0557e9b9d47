"""RECIST 1.1 and iRECIST scoring of one patient's target-lesion burden.

The functions here are pure: they take the sum of target-lesion diameters (mm) of one patient at
each tumour assessment (days) and, optionally, a boolean series flagging the appearance of new
lesions, and return timepoint responses, the best overall response (BOR) and the time of
progression. :func:`score_patients` applies them to a long-format table of many patients, and
:func:`score_until` to arrays of patients x assessments, each patient counted up to its own day
(death, a data cutoff).

References
----------
.. [RECIST] Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in solid
   tumours: revised RECIST guideline (version 1.1). Eur J Cancer 2009;45:228-247.
   doi:10.1016/j.ejca.2008.10.026
.. [iRECIST] Seymour L, Bogaerts J, Perrone A, et al. iRECIST: guidelines for response criteria for
   use in trials testing immunotherapeutics. Lancet Oncol 2017;18:e143-e152.
   doi:10.1016/S1470-2045(17)30074-8

Modelling choices (documented once here, repeated in the docstrings)
-------------------------------------------------------------------
Input conventions
    ``times_d`` are days since randomisation / start of treatment and must be strictly increasing;
    ``times_d[0]`` is the baseline assessment, whose sum is the RECIST baseline sum. The returned
    timepoint lists have one entry per assessment; the baseline entry is ``"BL"``.
New lesions
    ``new_lesion[i]`` is True when an unequivocal new lesion *appears* at assessment ``i`` (an event,
    not the continued presence of an earlier new lesion). ``new_lesion[0]`` must be False. Under RECIST
    1.1 any new lesion is PD. Under iRECIST a new lesion opens an iUPD episode, and a further new lesion
    at a confirming assessment confirms it (iCPD: "increase in number of new lesions"). Because only
    appearance is recorded, an iUPD episode opened by new lesions alone is reset when the next
    assessment shows no further new lesion and target disease is not progressing.
Recorded sums and complete response (``target_gone``, ``cr_floor_mm``)
    The sums are what a radiologist records, not the simulated sizes:
    :func:`immunocycle.trial.record_lesions` records a non-nodal lesion under its site's CT
    detection limit (5 mm, ``data/trial/recist.yaml``) as 0 mm (disappeared) and a lymph node at
    its short axis, normal below 10 mm. RECIST 1.1 CR is the disappearance of every non-nodal
    target lesion with every target node normal: ``target_gone[i]`` (from
    :func:`~immunocycle.trial.record_lesions`) when given, otherwise a recorded sum at or below
    ``cr_floor_mm`` (default 1.0 mm; recorded sums of disappeared non-nodal lesions are 0 mm). A
    lesion that regrows to its detection limit is recorded again and scored against the nadir of
    the recorded sum, so it is PD once the sum is >= 20 % and >= 5 mm above that nadir. RECIST 1.1
    and iRECIST use the same recorded values.
SD minimum duration (``min_sd_days``, default 42 d)
    RECIST 1.1 (section 4.4) requires SD criteria to be met at least once after study entry at a
    minimum interval "in general not less than 6-8 weeks" defined by the protocol. We use 6 weeks,
    measured from the baseline assessment ``times_d[0]``.
Confirmation (``confirm_days``, default 28 d)
    A CR (PR) is confirmed when a later assessment at least ``confirm_days`` after it is again CR (CR or
    PR) and every assessment in between is also CR (CR or PR); only assessments before the first PD
    count. ``confirm_days=None`` gives unconfirmed BOR (acceptable in randomised trials, RECIST 1.1
    section 4.4). A CR followed by PR confirms PR (RECIST 1.1 table 3, footnote a).
BOR
    CR (confirmed) > PR (confirmed) > SD (SD-or-better at >= ``min_sd_days``) > PD (any PD) > NE (no PD
    and no assessment late enough to qualify as SD, e.g. baseline only).
Floating-point edges
    Threshold comparisons carry a relative tolerance of 1e-12, so a decrease of exactly 30% is PR and
    an increase of exactly 20% and exactly 5 mm is PD, as the guideline states ("at least").
iRECIST
    The first RECIST 1.1 progression is iUPD. It becomes iCPD at an assessment at least
    ``irecist_confirm_min_days`` (28 d) after the iUPD that opened the episode when, relative to that
    iUPD assessment, the target sum has grown by at least ``icpd_growth_mm`` (5 mm; growth is
    cumulative, so +4 mm then +2 mm confirms, as in the EORTC RECIST working group FAQ), or a new lesion
    appears, or target disease meets RECIST PD when the episode was opened by new lesions alone
    (progression in a new category). The 8-week upper end of the iRECIST 4-8 week window is a
    scheduling recommendation; a later assessment of a persisting iUPD can still confirm it. An
    assessment inside an episode that no longer meets RECIST PD against the running nadir (and shows
    no new lesion) resets the episode to iSD/iPR/iCR (graded against baseline). After a reset the
    reference for the next iUPD is again the nadir: the smallest sum recorded at any earlier
    assessment, including those made during the reset episode; the reference for confirming that new
    episode is the sum at its own iUPD assessment. Once iCPD is assigned, all later assessments are
    labelled iCPD. Assessments after the first RECIST 1.1 PD are scored too (against the nadir), but
    BOR and progression time only use assessments up to the first PD (iCPD for iRECIST).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numba import njit

from immunocycle._errors import InputError

__all__ = [
    "RECIST_CATEGORIES",
    "IRECIST_CATEGORIES",
    "recist_timepoints",
    "best_overall_response",
    "progression_time",
    "irecist_timepoints",
    "irecist_best_overall_response",
    "irecist_progression_time",
    "score_patients",
    "score_until",
]

#: Best-overall-response categories for RECIST 1.1, best first.
RECIST_CATEGORIES: tuple[str, ...] = ("CR", "PR", "SD", "PD", "NE")
#: Best-overall-response categories for iRECIST, best first.
IRECIST_CATEGORIES: tuple[str, ...] = ("iCR", "iPR", "iSD", "iUPD", "iCPD", "NE")

BASELINE = "BL"
PR_DECREASE = 0.30  # fraction of baseline sum (RECIST 1.1 section 4.3.1)
PD_INCREASE = 0.20  # fraction of nadir sum (RECIST 1.1 section 4.3.1)
_REL_TOL = 1e-12

_DEFAULT_CR_FLOOR_MM = 1.0
_DEFAULT_PD_ABS_MM = 5.0
_DEFAULT_CONFIRM_DAYS = 28.0
_DEFAULT_MIN_SD_DAYS = 42.0


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _as_float_1d(values, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a 1-D sequence of numbers: {exc}") from None
    if arr.ndim != 1:
        raise InputError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name} must contain at least one assessment (the baseline)")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise InputError(f"{name} contains NaN or infinite values (first at position {bad})")
    return arr


def _validate(times_d, sums_mm, new_lesion, cr_floor_mm: float, pd_abs_mm: float,
              target_gone=None):
    t = _as_float_1d(times_d, "times_d")
    s = _as_float_1d(sums_mm, "sums_mm")
    if s.size != t.size:
        raise InputError(
            f"sums_mm has {s.size} values but times_d has {t.size}; they must have equal length"
        )
    if t.size > 1 and not np.all(np.diff(t) > 0):
        bad = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1
        raise InputError(
            f"times_d must be strictly increasing (times_d[{bad}]={t[bad]!r} <= "
            f"times_d[{bad - 1}]={t[bad - 1]!r})"
        )
    if np.any(s < 0):
        bad = int(np.flatnonzero(s < 0)[0])
        raise InputError(f"sums_mm must be non-negative (sums_mm[{bad}]={s[bad]!r})")
    if not (math.isfinite(cr_floor_mm) and cr_floor_mm >= 0):
        raise InputError(f"cr_floor_mm must be a finite number >= 0, got {cr_floor_mm!r}")
    if not (math.isfinite(pd_abs_mm) and pd_abs_mm > 0):
        raise InputError(f"pd_abs_mm must be a finite number > 0, got {pd_abs_mm!r}")
    gone = _gone(target_gone, s, cr_floor_mm)
    if gone[0]:
        raise InputError(
            f"sums_mm[0] (baseline sum, {s[0]!r} mm) must exceed cr_floor_mm ({cr_floor_mm!r} mm): "
            "RECIST 1.1 requires measurable disease at baseline (target lesions not gone)"
        )
    if new_lesion is None:
        nl = np.zeros(t.size, dtype=bool)
    else:
        raw = np.asarray(new_lesion)
        if raw.ndim != 1:
            raise InputError(f"new_lesion must be 1-D, got an array of shape {raw.shape}")
        if raw.size != t.size:
            raise InputError(
                f"new_lesion has {raw.size} values but times_d has {t.size}; "
                "they must have equal length"
            )
        if raw.dtype == bool:
            nl = raw
        else:
            try:
                num = raw.astype(float)
            except (TypeError, ValueError):
                raise InputError("new_lesion must contain booleans (or 0/1)") from None
            if np.any(np.isnan(num)):
                raise InputError("new_lesion contains NaN; use False where no new lesion appeared")
            if not np.all((num == 0) | (num == 1)):
                raise InputError("new_lesion must contain booleans (or 0/1)")
            nl = num.astype(bool)
        if nl[0]:
            raise InputError(
                "new_lesion[0] must be False: a lesion present at baseline is not a new lesion"
            )
    return t, s, nl, gone


def _gone(target_gone, s: np.ndarray, cr_floor_mm: float) -> np.ndarray:
    """Per assessment: every target lesion gone (``target_gone``, else sum <= ``cr_floor_mm``)."""
    if target_gone is None:
        return s <= cr_floor_mm
    raw = np.asarray(target_gone)
    if raw.shape != s.shape:
        raise InputError(f"target_gone has shape {raw.shape} but sums_mm has {s.shape}; "
                         "give one flag per assessment")
    if raw.dtype != bool and not np.all(np.isin(raw, (0, 1))):
        raise InputError("target_gone must contain booleans (True: every target lesion gone)")
    return raw.astype(bool)


def _check_days(value, name: str, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number of days, got {value!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise InputError(f"{name} must be a finite number of days >= 0, got {value!r}")
    return v


# --------------------------------------------------------------------------------------------
# kernels (plain floats, no validation)
# --------------------------------------------------------------------------------------------


def _is_pd(value: float, nadir: float, pd_abs_mm: float) -> bool:
    """RECIST 1.1 target PD: >= 20 % over the nadir and >= ``pd_abs_mm`` absolute increase."""
    diff = value - nadir
    return diff >= PD_INCREASE * nadir * (1.0 - _REL_TOL) and diff >= pd_abs_mm * (1.0 - _REL_TOL)


def _is_pr(value: float, baseline: float) -> bool:
    """RECIST 1.1 PR: at least a 30 % decrease from the baseline sum."""
    return value - baseline <= -PR_DECREASE * baseline * (1.0 - _REL_TOL)


def _non_pd_grade(value: float, baseline: float, gone: bool) -> str:
    if gone:
        return "CR"
    if _is_pr(value, baseline):
        return "PR"
    return "SD"


def _recist_kernel(
    s: np.ndarray, nl: np.ndarray, gone: np.ndarray, pd_abs_mm: float
) -> list[str]:
    sums = s.tolist()
    base = sums[0]
    nadir = base
    labels = [BASELINE]
    for i in range(1, len(sums)):
        v = sums[i]
        if nl[i] or _is_pd(v, nadir, pd_abs_mm):
            labels.append("PD")
        else:
            labels.append(_non_pd_grade(v, base, bool(gone[i])))
        nadir = min(nadir, v)
    return labels


def _irecist_kernel(
    t: np.ndarray,
    s: np.ndarray,
    nl: np.ndarray,
    gone: np.ndarray,
    pd_abs_mm: float,
    icpd_growth_mm: float,
    confirm_min_days: float,
) -> list[str]:
    times = t.tolist()
    sums = s.tolist()
    base = sums[0]
    nadir = base
    labels = [BASELINE]
    confirmed = False
    in_upd = False
    upd_t = upd_ref = 0.0
    upd_by_target = False
    for i in range(1, len(sums)):
        v = sums[i]
        if confirmed:
            labels.append("iCPD")
        else:
            target_pd = _is_pd(v, nadir, pd_abs_mm)
            new = bool(nl[i])
            if in_upd:
                grew = upd_by_target and (v - upd_ref) >= icpd_growth_mm * (1.0 - _REL_TOL)
                new_category = (not upd_by_target) and target_pd
                if (new or grew or new_category) and times[i] - upd_t >= confirm_min_days:
                    labels.append("iCPD")
                    confirmed = True
                elif target_pd or new:
                    labels.append("iUPD")
                else:  # reset: the bar is lowered again (Seymour 2017)
                    in_upd = False
                    labels.append("i" + _non_pd_grade(v, base, bool(gone[i])))
            elif target_pd or new:
                labels.append("iUPD")
                in_upd = True
                upd_t, upd_ref, upd_by_target = times[i], v, target_pd
            else:
                labels.append("i" + _non_pd_grade(v, base, bool(gone[i])))
        nadir = min(nadir, v)
    return labels


def _bor_kernel(
    times: list[float],
    labels: list[str],
    stop_label: str,
    cr: str,
    pr: str,
    sd: str,
    confirm_days: float | None,
    min_sd_days: float,
) -> str | None:
    """Best response among assessments before the first ``stop_label``; None if no response/SD."""
    n = len(labels)
    stop = next((i for i in range(1, n) if labels[i] == stop_label), n)
    pre = range(1, stop)

    def confirmed(levels: set[str]) -> bool:
        for i in pre:
            if labels[i] not in levels:
                continue
            if confirm_days is None:
                return True
            for j in range(i + 1, stop):
                if labels[j] not in levels:
                    break
                if times[j] - times[i] >= confirm_days:
                    return True
        return False

    if confirmed({cr}):
        return cr
    if confirmed({cr, pr}):
        return pr
    if any(labels[i] in (cr, pr, sd) and times[i] - times[0] >= min_sd_days for i in pre):
        return sd
    return None


# --------------------------------------------------------------------------------------------
# RECIST 1.1
# --------------------------------------------------------------------------------------------


def recist_timepoints(
    times_d: Sequence[float],
    sums_mm: Sequence[float],
    new_lesion: Sequence[bool] | None = None,
    *,
    cr_floor_mm: float = _DEFAULT_CR_FLOOR_MM,
    pd_abs_mm: float = _DEFAULT_PD_ABS_MM,
    target_gone: Sequence[bool] | None = None,
) -> list[str]:
    """RECIST 1.1 timepoint response at each assessment.

    Parameters
    ----------
    times_d : sequence of float
        Assessment times (days since randomisation), strictly increasing. ``times_d[0]`` is the
        baseline assessment.
    sums_mm : sequence of float
        Sum of target-lesion diameters at each assessment (mm), non-negative; ``sums_mm[0]`` is the
        baseline sum and must exceed ``cr_floor_mm``.
    new_lesion : sequence of bool, optional
        True where an unequivocal new lesion appears at that assessment (``new_lesion[0]`` must be
        False). Default: no new lesions.
    cr_floor_mm : float, default 1.0
        Without ``target_gone``: a recorded sum at or below it (mm) counts as "all target lesions
        disappeared" (CR). Recorded sums (:func:`immunocycle.trial.record_lesions`) are 0 mm once
        every non-nodal lesion is under its detection limit.
    pd_abs_mm : float, default 5.0
        Minimum absolute increase over the nadir (mm) required for PD, besides the 20 % relative
        increase. Only change it together with a change of length unit.
    target_gone : sequence of bool, optional
        Per assessment, True when every target lesion is gone (non-nodal lesions under their
        detection limit, nodes normal): the ``gone`` of :func:`immunocycle.trial.record_lesions`.
        Needed when lymph nodes are targets (a normal node keeps its size in the sum).

    Returns
    -------
    list of str
        ``"BL"`` for the baseline, then one of ``"CR"``, ``"PR"``, ``"SD"``, ``"PD"`` per follow-up:
        PD if a new lesion appears or the sum is >= 20 % and >= ``pd_abs_mm`` above the nadir (the
        smallest sum at any earlier assessment, baseline included); else CR if every target lesion
        is gone (``target_gone``, or the sum <= ``cr_floor_mm``); else PR if the sum is >= 30 % below baseline; else SD.

    Raises
    ------
    ValueError
        On empty, non-finite, non-increasing ``times_d``; negative or non-finite ``sums_mm``; length
        mismatch; a baseline sum not above ``cr_floor_mm``; a malformed ``new_lesion``.

    Notes
    -----
    Eisenhauer et al., RECIST 1.1, Eur J Cancer 2009, doi:10.1016/j.ejca.2008.10.026, section 4.3.1.
    Comparisons have a relative tolerance of 1e-12, so exactly -30 % is PR and exactly +20 % with
    exactly +5 mm is PD.

    Examples
    --------
    >>> recist_timepoints([0, 56, 112], [100.0, 70.0, 71.0])
    ['BL', 'PR', 'SD']
    """
    _, s, nl, gone = _validate(times_d, sums_mm, new_lesion, cr_floor_mm, pd_abs_mm, target_gone)
    return _recist_kernel(s, nl, gone, float(pd_abs_mm))


def best_overall_response(
    times_d: Sequence[float],
    sums_mm: Sequence[float],
    new_lesion: Sequence[bool] | None = None,
    confirm_days: float | None = _DEFAULT_CONFIRM_DAYS,
    *,
    min_sd_days: float = _DEFAULT_MIN_SD_DAYS,
    cr_floor_mm: float = _DEFAULT_CR_FLOOR_MM,
    pd_abs_mm: float = _DEFAULT_PD_ABS_MM,
) -> str:
    """RECIST 1.1 best overall response, with confirmation of CR and PR.

    Parameters
    ----------
    times_d, sums_mm, new_lesion, cr_floor_mm, pd_abs_mm
        As in :func:`recist_timepoints` (days, mm).
    confirm_days : float or None, default 28
        A CR (PR) counts only if a later assessment at least this many days after it is again CR (CR
        or PR) with every assessment in between also CR (CR or PR), all before the first PD. None
        disables confirmation (best single timepoint response).
    min_sd_days : float, default 42
        SD is the BOR only if SD-or-better was recorded at an assessment at least this many days after
        the baseline assessment (RECIST 1.1: "in general not less than 6-8 weeks"; 6 weeks used).

    Returns
    -------
    str
        ``"CR"``, ``"PR"``, ``"SD"``, ``"PD"`` or ``"NE"`` (not evaluable: no PD and no assessment late
        enough for SD, e.g. only a baseline). Only assessments up to the first PD are considered.

    Notes
    -----
    Eisenhauer et al. 2009, doi:10.1016/j.ejca.2008.10.026, section 4.4 and table 3: an unconfirmed
    PR or CR falls back to SD when the SD duration is met and to PD (if progression followed) or NE
    otherwise.

    Examples
    --------
    >>> best_overall_response([0, 56, 84], [100.0, 65.0, 66.0])
    'PR'
    >>> best_overall_response([0, 56, 70], [100.0, 65.0, 66.0])
    'SD'
    """
    t, s, nl, gone = _validate(times_d, sums_mm, new_lesion, cr_floor_mm, pd_abs_mm)
    cd = _check_days(confirm_days, "confirm_days", allow_none=True)
    sd_days = _check_days(min_sd_days, "min_sd_days")
    labels = _recist_kernel(s, nl, gone, float(pd_abs_mm))
    best = _bor_kernel(t.tolist(), labels, "PD", "CR", "PR", "SD", cd, sd_days)
    if best is not None:
        return best
    return "PD" if "PD" in labels else "NE"


def progression_time(
    times_d: Sequence[float],
    sums_mm: Sequence[float],
    new_lesion: Sequence[bool] | None = None,
    *,
    cr_floor_mm: float = _DEFAULT_CR_FLOOR_MM,
    pd_abs_mm: float = _DEFAULT_PD_ABS_MM,
) -> tuple[float, bool]:
    """Time of the first RECIST 1.1 progression, for progression-free survival.

    Parameters
    ----------
    times_d, sums_mm, new_lesion, cr_floor_mm, pd_abs_mm
        As in :func:`recist_timepoints` (days, mm).

    Returns
    -------
    (time_d, event) : tuple of (float, bool)
        ``(times_d[i], True)`` for the first assessment ``i`` scored PD; otherwise
        ``(times_d[-1], False)``, censored at the last assessment. Times are returned as given (days
        since randomisation), so the value is the PFS time when ``times_d`` start at randomisation.
        Deaths without progression are outside this function.

    Examples
    --------
    >>> progression_time([0, 42, 84], [50.0, 48.0, 62.0])
    (84.0, True)
    """
    t, s, nl, gone = _validate(times_d, sums_mm, new_lesion, cr_floor_mm, pd_abs_mm)
    labels = _recist_kernel(s, nl, gone, float(pd_abs_mm))
    for i, lab in enumerate(labels):
        if lab == "PD":
            return float(t[i]), True
    return float(t[-1]), False


# --------------------------------------------------------------------------------------------
# iRECIST
# --------------------------------------------------------------------------------------------


def irecist_timepoints(
    times_d: Sequence[float],
    sums_mm: Sequence[float],
    new_lesion: Sequence[bool] | None = None,
    *,
    confirm_min_days: float = _DEFAULT_CONFIRM_DAYS,
    icpd_growth_mm: float = _DEFAULT_PD_ABS_MM,
    cr_floor_mm: float = _DEFAULT_CR_FLOOR_MM,
    pd_abs_mm: float = _DEFAULT_PD_ABS_MM,
    target_gone: Sequence[bool] | None = None,
) -> list[str]:
    """iRECIST timepoint response at each assessment.

    Parameters
    ----------
    times_d, sums_mm, new_lesion, cr_floor_mm, pd_abs_mm, target_gone
        As in :func:`recist_timepoints` (days, mm).
    confirm_min_days : float, default 28
        Earliest time after the iUPD assessment (days) at which progression can be confirmed (the
        lower end of the iRECIST 4-8 week window). Growth seen earlier leaves the status iUPD.
    icpd_growth_mm : float, default 5.0
        Further growth of the target sum over the sum at the iUPD assessment (mm, cumulative) that
        confirms iCPD.

    Returns
    -------
    list of str
        ``"BL"``, then ``"iCR"``, ``"iPR"``, ``"iSD"``, ``"iUPD"`` or ``"iCPD"`` per follow-up.

        * Outside an iUPD episode, RECIST 1.1 PD (against the nadir) or a new lesion gives iUPD;
          otherwise iCR/iPR/iSD as RECIST 1.1 CR/PR/SD.
        * Inside an episode, at an assessment >= ``confirm_min_days`` after its iUPD: iCPD if the sum
          grew >= ``icpd_growth_mm`` over the iUPD sum (episode opened by target growth), or a new
          lesion appears, or target disease meets RECIST PD (episode opened by new lesions only).
        * Otherwise iUPD while RECIST PD criteria (against the nadir) or a new lesion persist.
        * Otherwise the episode resets to iCR/iPR/iSD (graded against baseline). The next iUPD is
          judged against the nadir (smallest earlier sum, including assessments made during the reset
          episode), and its confirmation against the sum at that new iUPD.
        * After iCPD every later assessment is ``"iCPD"``.

    Raises
    ------
    ValueError
        As :func:`recist_timepoints`, plus for negative ``confirm_min_days`` or non-positive
        ``icpd_growth_mm``.

    Notes
    -----
    Seymour et al., iRECIST, Lancet Oncol 2017, doi:10.1016/S1470-2045(17)30074-8 (table 2); the
    additive reading of the 5 mm rule follows the EORTC RECIST working group iRECIST FAQ. Because
    ``new_lesion`` records appearance only, an episode opened solely by new lesions resets at the next
    assessment without further new lesions or target progression.

    Examples
    --------
    >>> irecist_timepoints([0, 42, 84, 126], [50.0, 40.0, 50.0, 56.0])
    ['BL', 'iSD', 'iUPD', 'iCPD']
    """
    t, s, nl, gone = _validate(times_d, sums_mm, new_lesion, cr_floor_mm, pd_abs_mm, target_gone)
    cmin = _check_days(confirm_min_days, "confirm_min_days")
    if not (math.isfinite(icpd_growth_mm) and icpd_growth_mm > 0):
        raise InputError(f"icpd_growth_mm must be a finite number > 0, got {icpd_growth_mm!r}")
    return _irecist_kernel(t, s, nl, gone, float(pd_abs_mm), float(icpd_growth_mm), cmin)


def irecist_best_overall_response(
    times_d: Sequence[float],
    sums_mm: Sequence[float],
    new_lesion: Sequence[bool] | None = None,
    confirm_days: float | None = _DEFAULT_CONFIRM_DAYS,
    *,
    min_sd_days: float = _DEFAULT_MIN_SD_DAYS,
    confirm_min_days: float = _DEFAULT_CONFIRM_DAYS,
    icpd_growth_mm: float = _DEFAULT_PD_ABS_MM,
    cr_floor_mm: float = _DEFAULT_CR_FLOOR_MM,
    pd_abs_mm: float = _DEFAULT_PD_ABS_MM,
) -> str:
    """iRECIST best overall response (iBOR).

    Parameters
    ----------
    times_d, sums_mm, new_lesion, confirm_min_days, icpd_growth_mm, cr_floor_mm, pd_abs_mm
        As in :func:`irecist_timepoints` (days, mm).
    confirm_days : float or None, default 28
        Confirmation interval for iCR/iPR (days), applied as in :func:`best_overall_response`; an
        intervening iUPD or iSD breaks the confirmation run. None disables confirmation.
    min_sd_days : float, default 42
        Minimum time after baseline (days) of an iSD-or-better assessment for iSD.

    Returns
    -------
    str
        The best of ``"iCR"``, ``"iPR"``, ``"iSD"`` among assessments before the first iCPD (an iUPD
        does not preclude a later response); otherwise ``"iCPD"`` if progression was confirmed,
        ``"iUPD"`` if it was not, or ``"NE"``.

    Notes
    -----
    Seymour et al. 2017, doi:10.1016/S1470-2045(17)30074-8.

    Examples
    --------
    >>> irecist_best_overall_response([0, 42, 70, 112, 154], [50.0, 62.0, 40.0, 30.0, 31.0])
    'iPR'
    """
    t, s, nl, _ = _validate(times_d, sums_mm, new_lesion, cr_floor_mm, pd_abs_mm)
    cd = _check_days(confirm_days, "confirm_days", allow_none=True)
    sd_days = _check_days(min_sd_days, "min_sd_days")
    labels = irecist_timepoints(
        t,
        s,
        nl,
        confirm_min_days=confirm_min_days,
        icpd_growth_mm=icpd_growth_mm,
        cr_floor_mm=cr_floor_mm,
        pd_abs_mm=pd_abs_mm,
    )
    return _irecist_bor_from_labels(t.tolist(), labels, cd, sd_days)


def _irecist_bor_from_labels(
    times: list[float], labels: list[str], confirm_days: float | None, min_sd_days: float
) -> str:
    best = _bor_kernel(times, labels, "iCPD", "iCR", "iPR", "iSD", confirm_days, min_sd_days)
    if best is not None:
        return best
    if "iCPD" in labels:
        return "iCPD"
    if "iUPD" in labels:
        return "iUPD"
    return "NE"


def irecist_progression_time(
    times_d: Sequence[float],
    sums_mm: Sequence[float],
    new_lesion: Sequence[bool] | None = None,
    *,
    confirm_min_days: float = _DEFAULT_CONFIRM_DAYS,
    icpd_growth_mm: float = _DEFAULT_PD_ABS_MM,
    cr_floor_mm: float = _DEFAULT_CR_FLOOR_MM,
    pd_abs_mm: float = _DEFAULT_PD_ABS_MM,
) -> tuple[float, bool]:
    """Time of confirmed iRECIST progression (iPFS).

    Parameters
    ----------
    times_d, sums_mm, new_lesion, confirm_min_days, icpd_growth_mm, cr_floor_mm, pd_abs_mm
        As in :func:`irecist_timepoints` (days, mm).

    Returns
    -------
    (time_d, event) : tuple of (float, bool)
        When progression is confirmed (iCPD), the time of the iUPD assessment that opened the
        confirmed episode and True (iRECIST dates progression to the iUPD once confirmed); otherwise
        the last assessment time and False (an unconfirmed iUPD is censored).

    Notes
    -----
    Seymour et al. 2017, doi:10.1016/S1470-2045(17)30074-8.
    """
    labels = irecist_timepoints(
        times_d,
        sums_mm,
        new_lesion,
        confirm_min_days=confirm_min_days,
        icpd_growth_mm=icpd_growth_mm,
        cr_floor_mm=cr_floor_mm,
        pd_abs_mm=pd_abs_mm,
    )
    t = np.asarray(times_d, dtype=float)
    return _iprogression_from_labels(t.tolist(), labels)


def _iprogression_from_labels(times: list[float], labels: list[str]) -> tuple[float, bool]:
    if "iCPD" not in labels:
        return float(times[-1]), False
    k = labels.index("iCPD")
    j = k - 1
    while labels[j - 1] == "iUPD":
        j -= 1
    return float(times[j]), True


# --------------------------------------------------------------------------------------------
# many patients
# --------------------------------------------------------------------------------------------


def score_patients(
    df: pd.DataFrame,
    *,
    confirm_days: float | None = _DEFAULT_CONFIRM_DAYS,
    min_sd_days: float = _DEFAULT_MIN_SD_DAYS,
    cr_floor_mm: float = _DEFAULT_CR_FLOOR_MM,
    pd_abs_mm: float = _DEFAULT_PD_ABS_MM,
    irecist_confirm_min_days: float = _DEFAULT_CONFIRM_DAYS,
    icpd_growth_mm: float = _DEFAULT_PD_ABS_MM,
    carry: Sequence[str] = (),
) -> pd.DataFrame:
    """Score every patient of a long-format assessment table.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per assessment with columns ``patient_id``, ``time_d`` (days since randomisation) and
        ``sum_mm`` (recorded sum of target-lesion diameters, mm), and optionally ``new_lesion``
        (bool) and ``target_gone`` (bool, every target lesion gone: see
        :func:`immunocycle.trial.record_lesions`; default: ``sum_mm <= cr_floor_mm``). Rows
        may be in any order; they are sorted by time within each patient, and a patient's earliest
        row is the baseline.
    confirm_days, min_sd_days, cr_floor_mm, pd_abs_mm
        As in :func:`best_overall_response` (days, mm).
    irecist_confirm_min_days, icpd_growth_mm
        ``confirm_min_days`` and ``icpd_growth_mm`` of :func:`irecist_timepoints` (days, mm).
    carry : sequence of str, default ()
        Per-patient columns (e.g. ``"arm"``, ``"phenotype"``) to copy to the output (first value of
        each patient).

    Returns
    -------
    pandas.DataFrame
        One row per patient, in order of first appearance, with columns ``patient_id``, the
        ``carry`` columns, ``bor`` (RECIST 1.1), ``irecist_bor``, ``pfs_days`` and ``pfs_event``
        (:func:`progression_time`), ``ipfs_days`` and ``ipfs_event``
        (:func:`irecist_progression_time`), ``best_pct_change`` (smallest percentage change of the
        sum from baseline over all follow-up assessments, %; NaN with a baseline only; -100 % once
        every non-nodal lesion has disappeared), ``response_start_days`` and ``cr_start_days``
        (first assessment scored CR or PR, and CR, before the first PD; NaN if none: the start of
        a response, for swimmer plots) and ``n_assessments``.

    Raises
    ------
    ValueError
        If a required column is missing, or a patient's series is invalid (the message names the
        patient and the offending argument, e.g. duplicate times).
    """
    required = ("patient_id", "time_d", "sum_mm")
    missing = [c for c in (*required, *carry) if c not in df.columns]
    if missing:
        raise InputError(f"df is missing required column(s) {missing}; has {list(df.columns)}")
    has_new = "new_lesion" in df.columns
    has_gone = "target_gone" in df.columns
    cd = _check_days(confirm_days, "confirm_days", allow_none=True)
    sd_days = _check_days(min_sd_days, "min_sd_days")
    cmin = _check_days(irecist_confirm_min_days, "irecist_confirm_min_days")
    if not (math.isfinite(icpd_growth_mm) and icpd_growth_mm > 0):
        raise InputError(f"icpd_growth_mm must be a finite number > 0, got {icpd_growth_mm!r}")
    if df["patient_id"].isna().any():
        raise InputError("df['patient_id'] contains missing values")

    codes, uniques = pd.factorize(df["patient_id"], sort=False)
    order = np.lexsort((df["time_d"].to_numpy(dtype=float), codes))
    codes_sorted = codes[order]
    times_all = df["time_d"].to_numpy(dtype=float)[order]
    sums_all = df["sum_mm"].to_numpy(dtype=float)[order]
    new_all = df["new_lesion"].to_numpy()[order] if has_new else None
    gone_all = df["target_gone"].to_numpy()[order] if has_gone else None
    bounds = np.flatnonzero(np.diff(codes_sorted)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [codes_sorted.size]))

    rows = []
    for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
        pid = uniques[k]
        try:
            t, s, nl, gone = _validate(
                times_all[a:b],
                sums_all[a:b],
                None if new_all is None else new_all[a:b],
                cr_floor_mm,
                pd_abs_mm,
                None if gone_all is None else gone_all[a:b],
            )
        except ValueError as exc:
            raise InputError(f"patient_id={pid!r}: {exc}") from None
        row = _score_series(t, s, nl, gone, float(pd_abs_mm), float(icpd_growth_mm), cmin, cd,
                            sd_days)
        rows.append({"patient_id": pid, **row})
    out = pd.DataFrame(rows, columns=["patient_id", *_COLUMNS])
    if carry:
        first = df.iloc[order].groupby(codes_sorted, sort=True)[list(carry)].first()
        for j, col in enumerate(carry):
            out.insert(1 + j, col, first[col].to_numpy())
    out["pfs_event"] = out["pfs_event"].astype(bool)
    out["ipfs_event"] = out["ipfs_event"].astype(bool)
    return out


def _first_before_pd(times: list[float], labels: list[str], levels: tuple[str, ...]) -> float:
    """Time of the first assessment labelled one of ``levels`` before the first PD (NaN if none)."""
    for time_d, label in zip(times, labels, strict=True):
        if label == "PD":
            break
        if label in levels:
            return float(time_d)
    return math.nan


#: Per-patient outcome columns of :func:`score_patients` (after ``patient_id`` and ``carry``).
_COLUMNS = ("bor", "irecist_bor", "pfs_days", "pfs_event", "ipfs_days", "ipfs_event",
            "best_pct_change", "response_start_days", "cr_start_days", "n_assessments")


def _score_series(t: np.ndarray, s: np.ndarray, nl: np.ndarray, gone: np.ndarray,
                  pd_abs_mm: float, icpd_growth_mm: float, confirm_min_days: float,
                  confirm_days: float | None, min_sd_days: float) -> dict:
    """Every outcome of one patient's validated series (:func:`_validate`): the
    :data:`_COLUMNS` and ``icpd_days``, the first assessment scored iCPD (days; NaN if none)."""
    tl = t.tolist()
    rec = _recist_kernel(s, nl, gone, pd_abs_mm)
    bor = _bor_kernel(tl, rec, "PD", "CR", "PR", "SD", confirm_days, min_sd_days)
    if bor is None:
        bor = "PD" if "PD" in rec else "NE"
    irec = _irecist_kernel(t, s, nl, gone, pd_abs_mm, icpd_growth_mm, confirm_min_days)
    if "PD" in rec:
        i_pd = rec.index("PD")
        pfs = (tl[i_pd], True)
    else:
        pfs = (tl[-1], False)
    ipfs = _iprogression_from_labels(tl, irec)
    best_pct = float(np.min(100.0 * (s[1:] - s[0]) / s[0])) if s.size > 1 else math.nan
    return {
        "bor": bor,
        "irecist_bor": _irecist_bor_from_labels(tl, irec, confirm_days, min_sd_days),
        "pfs_days": float(pfs[0]),
        "pfs_event": bool(pfs[1]),
        "ipfs_days": float(ipfs[0]),
        "ipfs_event": bool(ipfs[1]),
        "best_pct_change": best_pct,
        "response_start_days": _first_before_pd(tl, rec, ("CR", "PR")),
        "cr_start_days": _first_before_pd(tl, rec, ("CR",)),
        "n_assessments": int(t.size),
        "icpd_days": float(tl[irec.index("iCPD")]) if "iCPD" in irec else math.nan,
    }


def _rows_of(values, name: str, shape: tuple[int, int]) -> np.ndarray | None:
    """``values`` (patients x assessments) checked against ``shape``; None stays None."""
    if values is None:
        return None
    arr = np.asarray(values)
    if arr.shape != shape:
        raise InputError(f"{name} has shape {arr.shape} but sums_mm has {shape}; give one value "
                         "per patient (row) and assessment (column)")
    return arr


def score_until(
    times_d,
    sums_mm,
    target_gone,
    new_lesion,
    until_d,
    *,
    confirm_days: float | None = _DEFAULT_CONFIRM_DAYS,
    min_sd_days: float = _DEFAULT_MIN_SD_DAYS,
    cr_floor_mm: float = _DEFAULT_CR_FLOOR_MM,
    pd_abs_mm: float = _DEFAULT_PD_ABS_MM,
    irecist_confirm_min_days: float = _DEFAULT_CONFIRM_DAYS,
    icpd_growth_mm: float = _DEFAULT_PD_ABS_MM,
) -> pd.DataFrame:
    """Score many patients, each on its own scans up to its own cut time (death, data cutoff).

    The same scoring as :func:`score_patients`, for series that come as arrays of patients x
    assessments: the cut is applied to all patients at once, no long table is built, the inputs
    are checked with numpy for all patients at once and every patient is scored by one compiled
    loop (:func:`_score_rows`: a trial scores hundreds of patients per chunk), which follows the
    per-patient kernels operation by operation, so the results are bitwise theirs.

    Parameters
    ----------
    times_d : array, shape (A,) or (N, A)
        Assessment times (days since randomisation), baseline first: one schedule shared by every
        patient, or one row per patient with NaN after its last scan (padding, never scored).
    sums_mm : array, shape (N, A)
        Recorded sum of target-lesion diameters (mm) per patient and assessment.
    target_gone : array of bool, shape (N, A), or None
        Every target lesion gone (:func:`immunocycle.trial.record_lesions`); None: the sum is at or
        below ``cr_floor_mm``.
    new_lesion : array of bool, shape (N, A), or None
        A new lesion appears at that assessment; None: none.
    until_d : float or array, shape (N,)
        Per patient, the last day whose scans count (days; inclusive): scans after it are ignored,
        the baseline always counts. ``inf``: every scan.
    confirm_days, min_sd_days, cr_floor_mm, pd_abs_mm, irecist_confirm_min_days, icpd_growth_mm
        As in :func:`score_patients` (days, mm).

    Returns
    -------
    pandas.DataFrame
        One row per patient in input order (index 0..N-1) with the columns of
        :func:`score_patients` after ``patient_id`` (``bor``, ``irecist_bor``, ``pfs_days``, ...,
        ``n_assessments``: the scans counted) and ``icpd_days``, the first assessment scored
        iCPD (days; NaN if none).

    Raises
    ------
    InputError
        Shapes that do not match, a NaN ``until_d``, or a patient's counted series that is invalid
        (the message names the patient's row, as :func:`score_patients` does).

    Examples
    --------
    >>> score_until([0, 42, 84], [[50.0, 30.0, 30.0]] * 2, None, None, [60.0, 90.0])["bor"].tolist()
    ['SD', 'PR']
    """
    s2 = np.asarray(sums_mm, dtype=float)
    if s2.ndim != 2:
        raise InputError(f"sums_mm must be 2-D (patients x assessments), got shape {s2.shape}")
    n, a = s2.shape
    t2 = np.asarray(times_d, dtype=float)
    if t2.ndim == 1 and t2.size == a:
        t2 = np.broadcast_to(t2, s2.shape)
    elif t2.shape != s2.shape:
        raise InputError(f"times_d has shape {t2.shape}; give ({a},) shared by all patients or "
                         f"{s2.shape} like sums_mm")
    gone2 = _rows_of(target_gone, "target_gone", s2.shape)
    new2 = _rows_of(new_lesion, "new_lesion", s2.shape)
    until = np.asarray(until_d, dtype=float)
    if until.ndim > 1 or (until.ndim == 1 and until.size != n):
        raise InputError(f"until_d has shape {until.shape}; give one day or one per patient ({n})")
    if np.any(np.isnan(until)):
        raise InputError("until_d contains NaN; use inf to count every scan")
    cd = _check_days(confirm_days, "confirm_days", allow_none=True)
    sd_days = _check_days(min_sd_days, "min_sd_days")
    cmin = _check_days(irecist_confirm_min_days, "irecist_confirm_min_days")
    if not (math.isfinite(icpd_growth_mm) and icpd_growth_mm > 0):
        raise InputError(f"icpd_growth_mm must be a finite number > 0, got {icpd_growth_mm!r}")
    # the cut, for every patient at once (NaN padding compares False: never counted)
    keep = t2 <= np.broadcast_to(until, (n,))[:, None]
    if a:
        keep[:, 0] = True
    if n == 0:  # no patient: the empty table of old (object columns, bool events)
        out = pd.DataFrame([], columns=[*_COLUMNS, "icpd_days"])
        out["pfs_event"] = out["pfs_event"].astype(bool)
        out["ipfs_event"] = out["ipfs_event"].astype(bool)
        return out
    if np.any(keep[:, 1:] & ~keep[:, :-1]):
        # a counted scan after an uncounted one (times not increasing, NaN inside a row): move
        # each row's counted scans to its front, in order, so that they are a prefix
        order = np.argsort(~keep, axis=1, kind="stable")
        t2, s2, keep = (np.take_along_axis(x, order, axis=1) for x in (t2, s2, keep))
        gone2 = None if gone2 is None else np.take_along_axis(gone2, order, axis=1)
        new2 = None if new2 is None else np.take_along_axis(new2, order, axis=1)
    count = keep.sum(axis=1)
    t, s, nl, gone = _validate_rows(t2, s2, new2, gone2, keep, cr_floor_mm, pd_abs_mm)
    codes = _score_rows(t, s, nl, gone, count, float(pd_abs_mm), float(icpd_growth_mm), cmin,
                        math.nan if cd is None else cd, cd is not None, sd_days)
    bor, ibor, pfs, pfs_event, ipfs, ipfs_event, best, response, cr, icpd = codes
    out = pd.DataFrame({
        "bor": _RECIST_NAMES[bor],
        "irecist_bor": _IRECIST_NAMES[ibor],
        "pfs_days": pfs,
        "pfs_event": pfs_event,
        "ipfs_days": ipfs,
        "ipfs_event": ipfs_event,
        "best_pct_change": best,
        "response_start_days": response,
        "cr_start_days": cr,
        "n_assessments": count.astype(np.int64),
        "icpd_days": icpd,
    })
    return out


def _validate_rows(t2, s2, new2, gone2, keep, cr_floor_mm, pd_abs_mm):
    """:func:`_validate` of every row's counted scans (``keep``, a prefix of each row) at once.

    Returns C-contiguous ``t``, ``s`` (float), ``nl``, ``gone`` (bool) of shape (N, A), valid in
    each row's counted prefix. A row that :func:`_validate` would refuse is found with numpy
    checks; the first such row (in row order) is then passed to :func:`_validate` for the
    message, prefixed ``patient (row) k: `` as the per-patient loop did.
    """
    n, a = s2.shape

    def refuse(bad):
        for k in np.flatnonzero(bad):
            _validate_row(t2, s2, new2, gone2, keep, k, cr_floor_mm, pd_abs_mm)

    try:
        scalars_ok = (a > 0 and math.isfinite(cr_floor_mm) and cr_floor_mm >= 0
                      and math.isfinite(pd_abs_mm) and pd_abs_mm > 0)
    except TypeError:
        scalars_ok = False
    exotic = any(x is not None and x.dtype != bool and x.dtype.kind not in "biuf"
                 for x in (new2, gone2))
    if not scalars_ok or exotic:
        # every row may be refused (a bad scalar: the first row) or flags numpy cannot check
        # elementwise (objects, strings): the per-row checks, each row's values as validated
        t = np.full((n, a), np.nan)
        s = np.full((n, a), np.nan)
        nl = np.zeros((n, a), dtype=bool)
        gone = np.zeros((n, a), dtype=bool)
        for k in range(n):
            tk, sk, nk, gk = _validate_row(t2, s2, new2, gone2, keep, k, cr_floor_mm, pd_abs_mm)
            m = tk.size
            t[k, :m], s[k, :m], nl[k, :m], gone[k, :m] = tk, sk, nk, gk
        return t, s, nl, gone
    t = np.ascontiguousarray(t2, dtype=float)
    s = np.ascontiguousarray(s2, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = np.any(keep & ~(np.isfinite(t) & np.isfinite(s) & (s >= 0)), axis=1)
        bad |= np.any(keep[:, 1:] & ~(t[:, 1:] - t[:, :-1] > 0), axis=1)
        if gone2 is None:
            gone = s <= cr_floor_mm
        elif gone2.dtype == bool:
            gone = gone2
        else:
            bad |= np.any(keep & ~np.isin(gone2, (0, 1)), axis=1)
            gone = gone2.astype(bool)
        bad |= gone[:, 0]
        if new2 is None:
            nl = np.zeros((n, a), dtype=bool)
        elif new2.dtype == bool:
            nl = new2
        else:
            num = new2.astype(float)
            bad |= np.any(keep & (np.isnan(num) | ~((num == 0) | (num == 1))), axis=1)
            nl = num.astype(bool)
        bad |= nl[:, 0]
    if bad.any():
        refuse(bad)
    return t, s, np.ascontiguousarray(nl), np.ascontiguousarray(gone)


def _validate_row(t2, s2, new2, gone2, keep, k, cr_floor_mm, pd_abs_mm):
    """:func:`_validate` of row ``k``'s counted scans; a refusal names the row."""
    m = keep[k]
    try:
        return _validate(t2[k, m], s2[k, m], None if new2 is None else new2[k, m], cr_floor_mm,
                         pd_abs_mm, None if gone2 is None else gone2[k, m])
    except ValueError as exc:
        raise InputError(f"patient (row) {k}: {exc}") from None


#: Label codes of the compiled scorer (:func:`_score_rows`). Timepoints: 0 baseline, then
#: RECIST 1 CR, 2 PR, 3 SD, 4 PD and iRECIST 1 iCR, 2 iPR, 3 iSD, 4 iUPD, 5 iCPD. Best overall
#: responses index these name arrays.
_RECIST_NAMES = np.array(["", "CR", "PR", "SD", "PD", "NE"], dtype=object)
_IRECIST_NAMES = np.array(["", "iCR", "iPR", "iSD", "iUPD", "iCPD", "NE"], dtype=object)
_CR, _PR, _SD, _PD = 1, 2, 3, 4
_IUPD, _ICPD = 4, 5


@njit(cache=True, error_model="numpy")
def _is_pd_c(value, nadir, pd_abs_mm):
    """:func:`_is_pd`, compiled (the same operations)."""
    diff = value - nadir
    return diff >= PD_INCREASE * nadir * (1.0 - _REL_TOL) and diff >= pd_abs_mm * (1.0 - _REL_TOL)


@njit(cache=True, error_model="numpy")
def _grade_c(value, baseline, gone):
    """:func:`_non_pd_grade` as a code (1 CR, 2 PR, 3 SD)."""
    if gone:
        return _CR
    if value - baseline <= -PR_DECREASE * baseline * (1.0 - _REL_TOL):  # _is_pr
        return _PR
    return _SD


@njit(cache=True, error_model="numpy")
def _bor_c(t, labels, m, stop_code, confirm_days, use_confirm, min_sd_days):
    """:func:`_bor_kernel` on codes (1, 2, 3: CR, PR, SD or iCR, iPR, iSD); 0 for None."""
    stop = m
    for i in range(1, m):
        if labels[i] == stop_code:
            stop = i
            break
    for top in (_CR, _PR):  # confirmed({cr}), then confirmed({cr, pr})
        for i in range(1, stop):
            if labels[i] < _CR or labels[i] > top:
                continue
            if not use_confirm:
                return top
            for j in range(i + 1, stop):
                if labels[j] < _CR or labels[j] > top:
                    break
                if t[j] - t[i] >= confirm_days:
                    return top
    for i in range(1, stop):
        if labels[i] >= _CR and labels[i] <= _SD and t[i] - t[0] >= min_sd_days:
            return _SD
    return 0


@njit(cache=True, error_model="numpy")
def _score_rows(t, s, nl, gone, count, pd_abs_mm, icpd_growth_mm, confirm_min_days,
                confirm_days, use_confirm, min_sd_days):
    """Every outcome of :func:`_score_series` for each row's first ``count`` scans (validated).

    Compiled because :func:`score_until` scores hundreds of patients x tens of scans per trial
    chunk, and the per-patient Python kernels were the trial's largest Python cost. It follows
    :func:`_recist_kernel`, :func:`_irecist_kernel`, :func:`_bor_kernel` and the rest of
    :func:`_score_series` step by step, with the same floating-point operations in the same
    order, so every output is the same to the last bit; labels are integer codes
    (:data:`_RECIST_NAMES`, :data:`_IRECIST_NAMES`). ``use_confirm`` False is
    ``confirm_days=None``. Times in days, sums in mm; ``best`` in % of the baseline sum.
    """
    n, a = s.shape
    bor = np.zeros(n, np.int64)
    ibor = np.zeros(n, np.int64)
    pfs = np.empty(n)
    pfs_event = np.zeros(n, np.bool_)
    ipfs = np.empty(n)
    ipfs_event = np.zeros(n, np.bool_)
    best = np.full(n, np.nan)
    response = np.full(n, np.nan)
    cr_start = np.full(n, np.nan)
    icpd = np.full(n, np.nan)
    rec = np.zeros(a, np.int64)
    irec = np.zeros(a, np.int64)
    for k in range(n):
        m = count[k]
        tk = t[k]
        sk = s[k]
        base = sk[0]
        # RECIST 1.1 timepoints (_recist_kernel)
        nadir = base
        rec[0] = 0
        for i in range(1, m):
            v = sk[i]
            if nl[k, i] or _is_pd_c(v, nadir, pd_abs_mm):
                rec[i] = _PD
            else:
                rec[i] = _grade_c(v, base, gone[k, i])
            if v < nadir:  # min(nadir, v)
                nadir = v
        # iRECIST timepoints (_irecist_kernel)
        nadir = base
        irec[0] = 0
        confirmed = False
        in_upd = False
        upd_t = 0.0
        upd_ref = 0.0
        upd_by_target = False
        for i in range(1, m):
            v = sk[i]
            if confirmed:
                irec[i] = _ICPD
            else:
                target_pd = _is_pd_c(v, nadir, pd_abs_mm)
                new = nl[k, i]
                if in_upd:
                    grew = upd_by_target and (v - upd_ref) >= icpd_growth_mm * (1.0 - _REL_TOL)
                    new_category = (not upd_by_target) and target_pd
                    if (new or grew or new_category) and tk[i] - upd_t >= confirm_min_days:
                        irec[i] = _ICPD
                        confirmed = True
                    elif target_pd or new:
                        irec[i] = _IUPD
                    else:
                        in_upd = False
                        irec[i] = _grade_c(v, base, gone[k, i])
                elif target_pd or new:
                    irec[i] = _IUPD
                    in_upd = True
                    upd_t = tk[i]
                    upd_ref = v
                    upd_by_target = target_pd
                else:
                    irec[i] = _grade_c(v, base, gone[k, i])
            if v < nadir:
                nadir = v
        # RECIST 1.1 BOR and PFS
        first_pd = -1
        for i in range(1, m):
            if rec[i] == _PD:
                first_pd = i
                break
        b = _bor_c(tk, rec, m, _PD, confirm_days, use_confirm, min_sd_days)
        if b == 0:
            b = _PD if first_pd >= 0 else 5
        bor[k] = b
        if first_pd >= 0:
            pfs[k] = tk[first_pd]
            pfs_event[k] = True
        else:
            pfs[k] = tk[m - 1]
        # iRECIST BOR (_irecist_bor_from_labels), iPFS (_iprogression_from_labels), iCPD day
        first_icpd = -1
        any_iupd = False
        for i in range(1, m):
            if irec[i] == _ICPD:
                if first_icpd < 0:
                    first_icpd = i
            elif irec[i] == _IUPD:
                any_iupd = True
        b = _bor_c(tk, irec, m, _ICPD, confirm_days, use_confirm, min_sd_days)
        if b == 0:
            if first_icpd >= 0:
                b = _ICPD
            elif any_iupd:
                b = _IUPD
            else:
                b = 6
        ibor[k] = b
        if first_icpd >= 0:
            j = first_icpd - 1
            while j >= 1 and irec[j - 1] == _IUPD:
                j -= 1
            ipfs[k] = tk[j]
            ipfs_event[k] = True
            icpd[k] = tk[first_icpd]
        else:
            ipfs[k] = tk[m - 1]
        # best % change from baseline (np.min: a NaN anywhere gives NaN)
        if m > 1:
            low = 100.0 * (sk[1] - base) / base
            for i in range(2, m):
                x = 100.0 * (sk[i] - base) / base
                if np.isnan(x) or np.isnan(low):
                    low = np.nan
                elif x < low:
                    low = x
            best[k] = low
        # first CR or PR, and first CR, before the first PD (_first_before_pd)
        for i in range(m):
            if rec[i] == _PD:
                break
            if rec[i] == _CR or rec[i] == _PR:
                response[k] = tk[i]
                break
        for i in range(m):
            if rec[i] == _PD:
                break
            if rec[i] == _CR:
                cr_start[k] = tk[i]
                break
    return bor, ibor, pfs, pfs_event, ipfs, ipfs_event, best, response, cr_start, icpd
