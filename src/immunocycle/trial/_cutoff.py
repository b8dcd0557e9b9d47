"""The response a trial reports at its data cutoff (issue 20).

A trial's primary analysis counts responses on the scans made before its data cutoff: a patient
enrolled late has been followed for ``min_follow_up`` months only, one enrolled first for
``min_follow_up + accrual`` months. The virtual trial scans every patient for its whole follow-up,
so its complete-response rate (CRs come late: a median 7.6 months in melanoma) is that of long
follow-up. This module gives each patient a follow-up at the cutoff, ``min_follow_up + accrual *
u`` months (``u`` uniform from the patient's own seeded stream: uniform accrual), and scores
RECIST 1.1 again, with :func:`immunocycle.trial._recist.score_until`, on the recorded scans
up to it. The trial designs' accrual and minimum follow-up are in ``data/trial/data_cutoff.yaml``.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from immunocycle._errors import DataError, InputError
from immunocycle._seeded import patient_uniforms

#: Random-stream tag of the follow-up-at-cutoff draw (apart from the lesion, AE, sampling and
#: replicate streams, so no existing draw changes).
_STREAM = 20
#: Days per month (365.25 / 12).
DAYS_PER_MONTH = 365.25 / 12.0


def _path():
    from immunocycle._paths import PACKAGE_DATA

    return PACKAGE_DATA / "trial" / "data_cutoff.yaml"


@cache
def load_data_cutoffs() -> dict[str, dict[str, Any]]:
    """Per cohort name, its trial's ``accrual_months`` and ``min_follow_up_months`` (checked)."""
    from immunocycle._inputs import load_yaml

    path = _path()
    raw = (load_yaml(path.read_text()) or {}).get("cohorts") or {}
    for name, entry in raw.items():
        for key in ("accrual_months", "min_follow_up_months", "source"):
            if key not in entry:
                raise DataError(f"{path}: cohorts.{name}.{key}: missing")
        _check(entry["accrual_months"], f"{path}: cohorts.{name}.accrual_months", DataError)
        _check(entry["min_follow_up_months"], f"{path}: cohorts.{name}.min_follow_up_months",
               DataError)
    return raw


def _check(value, name: str, error=InputError) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) \
            or not math.isfinite(float(value)) or float(value) < 0:
        raise error(f"{name}: must be a finite number of months >= 0, got {value!r}")
    return float(value)


def cutoff_settings(cohort: str, accrual_months: float | None = None,
                    min_follow_up_months: float | None = None) -> dict[str, Any] | None:
    """The data cutoff of ``cohort``'s trial, with the given values overriding the data file's.

    Returns None when the cohort has no entry and no value is given.

    Raises
    ------
    InputError
        ``--accrual-months`` / ``--min-follow-up-months`` negative or not finite, or only one of
        them given for a cohort without an entry.
    """
    acc = None if accrual_months is None else _check(accrual_months, "--accrual-months")
    low = None if min_follow_up_months is None else _check(min_follow_up_months,
                                                           "--min-follow-up-months")
    entry = load_data_cutoffs().get(cohort)
    if entry is None and acc is None and low is None:
        return None
    if entry is None and (acc is None or low is None):
        raise InputError(f"--accrual-months, --min-follow-up-months: cohort {cohort!r} has no "
                         "data cutoff in data/trial/data_cutoff.yaml; give both")
    out = {"accrual_months": float(entry["accrual_months"]) if acc is None else acc,
           "min_follow_up_months": float(entry["min_follow_up_months"]) if low is None else low,
           "trial": entry.get("trial") if entry and acc is None and low is None else None,
           "source": "data/trial/data_cutoff.yaml" if acc is None and low is None else "override"}
    return out


def cutoff_uniforms(patient_ids, seed: int) -> np.ndarray:
    """Per patient, the uniform of its enrolment time, seeded by ``(seed, patient_id)`` (the
    same whatever the chunking)."""
    return patient_uniforms(seed, patient_ids, _STREAM)


def followup_at_cutoff(u, settings: dict[str, Any]) -> np.ndarray:
    """Follow-up at the data cutoff (days) from the enrolment uniforms ``u``."""
    months = settings["min_follow_up_months"] + settings["accrual_months"] * np.asarray(u, float)
    return months * DAYS_PER_MONTH


def bor_at_cutoff(patients: pd.DataFrame, followup_days) -> np.ndarray:
    """RECIST 1.1 best overall response of each row of a trial's patient table counted on its
    recorded scans (``time_d``, ``sum_mm``, ``target_gone``, ``new_lesion``) up to its follow-up
    at the cutoff (days); ``""`` where the row is not evaluable. The baseline scan always counts.
    """
    from immunocycle.trial._recist import score_until

    follow = np.asarray(followup_days, float)
    out = np.full(len(patients), "", object)
    rows = np.flatnonzero(patients["evaluable"].to_numpy(bool))
    if not rows.size:
        return out
    sub = patients.iloc[rows]
    # tables written before issue 20 have no target_gone: score_until's default (sum under the
    # floor)
    gone = _padded(sub["target_gone"], False, bool) if "target_gone" in sub.columns else None
    scored = score_until(_padded(sub["time_d"], np.nan, float),
                         _padded(sub["sum_mm"], np.nan, float), gone,
                         _padded(sub["new_lesion"], False, bool), follow[rows])
    out[rows] = scored["bor"].to_numpy()
    return out


#: The per-scan list columns :func:`bor_at_cutoff` reads (``target_gone`` only in tables written
#: after issue 20).
SCAN_COLUMNS = ("time_d", "sum_mm", "target_gone", "new_lesion")


def bor_at_cutoff_file(path, rows: pd.DataFrame, followup_days) -> np.ndarray:
    """:func:`bor_at_cutoff` of ``rows`` (``patient_id``, ``arm``) of the trial table at ``path``,
    whose per-scan lists are read a batch at a time (:func:`immunocycle.trial._table.iter_batches`),
    so memory does not grow with the trial; ``followup_days`` in the order of ``rows``."""
    import pyarrow.parquet as pq

    from immunocycle.trial._table import iter_batches

    follow = np.asarray(followup_days, float)
    position = pd.Series(np.arange(len(rows)),
                         index=pd.MultiIndex.from_frame(rows[["patient_id", "arm"]]))
    names = set(pq.read_schema(path).names)
    columns = ["patient_id", "arm", "evaluable", *[c for c in SCAN_COLUMNS if c in names]]
    out = np.full(len(rows), "", object)
    for batch in iter_batches(path, columns):
        at = position.reindex(pd.MultiIndex.from_frame(batch[["patient_id", "arm"]])).to_numpy()
        hit = ~np.isnan(at)
        if hit.any():
            where = at[hit].astype(int)
            out[where] = bor_at_cutoff(batch[hit].reset_index(drop=True), follow[where])
    return out


def _padded(column: pd.Series, fill, dtype) -> np.ndarray:
    """A list column (one list per row, e.g. per-scan values up to death) as an array of rows x
    longest list, ``fill`` after the end of each row's list."""
    lists = column.tolist()
    lengths = np.array([len(x) for x in lists], dtype=int)
    out = np.full((len(lists), int(lengths.max(initial=0))), fill, dtype=dtype)
    if lengths.sum():
        out[np.arange(out.shape[1])[None, :] < lengths[:, None]] = np.concatenate(
            [np.asarray(x, dtype=dtype) for x in lists])
    return out


__all__ = ["DAYS_PER_MONTH", "SCAN_COLUMNS", "bor_at_cutoff", "bor_at_cutoff_file",
           "cutoff_settings", "cutoff_uniforms", "followup_at_cutoff", "load_data_cutoffs"]
