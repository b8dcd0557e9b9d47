"""Virtual trials: response criteria (RECIST 1.1, iRECIST), endpoints and per-arm statistics."""

from immunocycle.trial._calibrate import (
    calibrate_all,
    calibrate_cohort,
    calibrate_spread,
    calibrate_spread_all,
)
from immunocycle.trial._lesions import LesionSite, lesion_sites, record_lesions
from immunocycle.trial._organ_toxicity import ae_type_names, organ_exposure_table, predict_ae
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
from immunocycle.trial._runner import RunConflictError, run_chunked
from immunocycle.trial._statistics import (
    is_response,
    km_median,
    orr_with_ci,
    paired_patients,
    summarize_arms,
)
from immunocycle.trial._study import StudyResult, resolve_mouse_arm, run_study, tgi_pct
from immunocycle.trial._table import read_patients
from immunocycle.trial._toxicity import ae_probabilities, exposure_drivers, load_toxicity
from immunocycle.trial._trial import (
    TrialTask,
    bench_trial,
    make_task,
    parse_regimen,
    run_trial,
    summarize_trial,
)
from immunocycle.trial._uncertainty import (
    cohort_multiplier_sd,
    load_priors,
    replicate_count,
    replicate_task,
    uncertainty,
)

__all__ = [
    "IRECIST_CATEGORIES", "RECIST_CATEGORIES", "best_overall_response",
    "irecist_best_overall_response", "irecist_progression_time", "irecist_timepoints",
    "is_response", "km_median", "orr_with_ci", "paired_patients", "progression_time", "recist_timepoints",
    "score_patients", "summarize_arms", "RunConflictError", "TrialTask", "ae_probabilities",
    "bench_trial", "calibrate_all", "calibrate_cohort", "calibrate_spread", "calibrate_spread_all",
    "exposure_drivers", "load_toxicity", "make_task", "parse_regimen", "run_chunked", "run_trial",
    "summarize_trial", "StudyResult", "resolve_mouse_arm", "run_study", "tgi_pct",
    "LesionSite", "lesion_sites", "record_lesions", "ae_type_names", "organ_exposure_table",
    "predict_ae", "read_patients",
    "cohort_multiplier_sd", "load_priors", "replicate_count", "replicate_task", "uncertainty",
]
