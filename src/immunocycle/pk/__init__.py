"""Pharmacokinetics: nanoparticle PBPK (mouse, human), routes, payload release, free-drug PK,
and the particle-property -> tumor-delivery model.

Public names are re-exported here; the implementation lives in ``_``-prefixed modules.
"""

from immunocycle.pk._candidates import stored_comparison
from immunocycle.pk._data import allometric_exponents, human_mps_factors
from immunocycle.pk._formulation import (
    TUMOR_PARAMETERS,
    Release,
    blood_absorption,
    lymph_drainage,
    renal_sieving,
    tumor_parameters,
)
from immunocycle.pk._free import build_free_pk
from immunocycle.pk._human import evaluate_human, human_product_pk, mm302_deposition
from immunocycle.pk._human_tumor import harrington_deposition, human_tumor
from immunocycle.pk._nanotumor import Reproduction, reproduce_nanotumor
from immunocycle.pk._nanotumor_fit import predictive_delivery
from immunocycle.pk._organs import ORGAN_ROWS, organ_exposure
from immunocycle.pk._pbpk import ROUTES
from immunocycle.pk._properties import DeliveryModel, Particle, default_model, load_nanotumor, refit
from immunocycle.pk._run import (
    SUMMARY_KEYS,
    OutOfDomainWarning,
    PKResult,
    build_pbpk,
    node_columns,
    plot_organ_distribution,
    plot_tumor_ln_blood,
    run_pk,
)
from immunocycle.pk._schedule import ScheduleResult, run_pk_schedule

__all__ = [
    "DeliveryModel", "OutOfDomainWarning", "PKResult", "Particle", "ROUTES", "Release",
    "Reproduction", "SUMMARY_KEYS", "ScheduleResult", "TUMOR_PARAMETERS", "allometric_exponents",
    "blood_absorption", "evaluate_human", "human_mps_factors", "human_product_pk",
    "harrington_deposition", "human_tumor", "mm302_deposition", "stored_comparison",
    "ORGAN_ROWS", "build_free_pk", "organ_exposure",
    "build_pbpk", "default_model", "load_nanotumor", "lymph_drainage", "plot_organ_distribution",
    "node_columns", "plot_tumor_ln_blood", "predictive_delivery", "refit", "renal_sieving", "reproduce_nanotumor", "run_pk",
    "run_pk_schedule",
    "tumor_parameters",
]
