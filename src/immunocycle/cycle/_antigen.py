"""Tumor antigen and danger signals released by dying cancer cells (step 1).

Antigen is counted in cancer-cell equivalents weighted by antigenicity, which saturates in the
neoantigen load (itself following tumor mutational burden); danger signals (DAMPs: calreticulin,
ATP, HMGB1) are released per dying cell with a yield raised by immunogenic cell death (ICD).
``f_antigen``, the antigen a tumor presents relative to the reference tumor, scales the kill per
effector (J6, ``cycle/_effectors.py``): T cells kill only cells that present their antigen.
The QSP-IO antigen module (Sove 2020) tracks peptides explicitly; a lumped pool suffices here
because the cycle needs the flux of antigen, not its peptide chemistry.
"""

from __future__ import annotations

from immunocycle.cycle._params import Params, add_parameters
from immunocycle.model import Assignment, Model, Reaction, Species

PARAMETERS = ("neoantigen_load", "K_neo", "K_neo_kill", "neoantigen_load_ref", "k_Ag_clear",
              "damp_yield", "icd_boost", "k_DAMP_clear")


def antigen(model: Model, *, params: Params) -> None:
    """Add antigen ``Ag`` and danger signal ``DAMP`` pools and the step-1 flux ``J1`` (cell/day)."""
    add_parameters(model, params, PARAMETERS, "antigen")
    model.add(
        Species("Ag", "tumor", 0.0, "cell", description="released tumor antigen, cell-equivalents"),
        Species("DAMP", "tumor", 0.0, "cell", description="danger signals, cell-equivalents"),
        Assignment("antigenicity", "neoantigen_load / (neoantigen_load + K_neo)", "dimensionless",
                   "share of dying-cell antigen that T cells can recognize"),
        # Issue 13's first cap: T cells kill only cells that present an antigen they recognize.
        # The kill per effector saturates at a few clonal neoantigens (K_neo_kill, far below
        # K_neo): a tumor presenting none escapes, while across the clinical TMB range it moves
        # little (proportional scaling in antigenicity was tried and refuted by the cohorts'
        # calibration, README "Caps on efficacy"). Relative to the reference tumor k_rec is
        # calibrated on, so 1 there.
        Assignment("f_antigen", "neoantigen_load / (neoantigen_load + K_neo_kill)"
                   " * (neoantigen_load_ref + K_neo_kill) / neoantigen_load_ref", "dimensionless",
                   "presented antigen relative to the reference tumor k_rec is calibrated on"
                   " (scales J6)"),
        Assignment("cancer_deaths", "cancer_deaths_natural + J7 + cancer_deaths_chemo", "cell/day",
                   "all cancer-cell deaths"),
        Assignment("J1", "antigenicity * cancer_deaths", "cell/day",
                   "step 1: antigen-weighted cancer-cell death"),
        Reaction("Ag_release", "J1", {"Ag": 1}, "antigen released by dying cells"),
        Reaction("Ag_clear", "k_Ag_clear * Ag", {"Ag": -1}, "uptake and degradation of antigen"),
        Reaction("DAMP_release", "damp_yield * (1 + icd_boost) * cancer_deaths", {"DAMP": 1},
                 "danger signals, raised by immunogenic cell death"),
        Reaction("DAMP_clear", "k_DAMP_clear * DAMP", {"DAMP": -1}, "degradation of DAMPs"),
    )
