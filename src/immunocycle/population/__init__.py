"""Virtual patients: population distributions, seeded sampling, pre-treatment growth, cohorts."""

from immunocycle.population._cohort import (
    CalibrationTarget,
    Cohort,
    FittedValues,
    ParameterDistribution,
    PhenotypeMix,
    PooledArm,
    ProgressionTarget,
    TMBDistribution,
    available_cohorts,
    cohort_path,
    fitted_path,
    fitted_values,
    load_cohort,
)
from immunocycle.population._mouse import (
    MouseModel,
    available_mouse_models,
    load_mouse_model,
    median_mouse,
    sample_mice,
    study_settings,
)
from immunocycle.population._patients import (
    EXCLUSIONS,
    median_patient,
    neoantigen_load_from_tmb,
    plausibility,
    sample_cohort,
    select_to_mix,
)
from immunocycle.population._pooling import PooledORR, pool_orr
from immunocycle.population._sampling import Distribution, sample_patients

__all__ = [
    "EXCLUSIONS", "CalibrationTarget", "Cohort", "ProgressionTarget", "Distribution", "FittedValues",
    "ParameterDistribution", "PhenotypeMix", "TMBDistribution", "available_cohorts", "cohort_path",
    "fitted_values", "load_cohort", "median_patient", "neoantigen_load_from_tmb", "plausibility",
    "sample_cohort", "sample_patients", "select_to_mix", "fitted_path", "MouseModel",
    "available_mouse_models", "load_mouse_model", "median_mouse", "sample_mice", "study_settings",
    "PooledArm", "PooledORR", "pool_orr",
]
