"""Virtual trials: response criteria (RECIST 1.1, iRECIST), endpoints and per-arm statistics."""

from immunocycle.trial._recist import (
    IRECIST_CATEGORIES,
    RECIST_CATEGORIES,
    best_overall_response,
    irecist_best_overall_response,
    irecist_progression_time,
    irecist_timepoints,
    progression_time,
    recist_timepoints,
    score_patients,
)
from immunocycle.trial._statistics import orr_with_ci, summarize_arms

__all__ = [
    "IRECIST_CATEGORIES", "RECIST_CATEGORIES", "best_overall_response",
    "irecist_best_overall_response", "irecist_progression_time", "irecist_timepoints",
    "orr_with_ci", "progression_time", "recist_timepoints", "score_patients", "summarize_arms",
]
