"""Tumor microenvironment signals: IFN-gamma, PD-L1 and MHC-I, chemokines, TGF-beta, the stroma.

IFN-gamma is made on productive recognition (QSP-IO's IFN-gamma secretion by effectors, Sove
2020; degradation 7.68/day, Hofstra 1998) and raises PD-L1 (up to 6-fold, Shin 2017) and MHC-I;
chemokines (CXCL9/10) follow IFN-gamma and M1 macrophages and recruit T cells; TGF-beta, made by
the tumor, fibroblasts and suppressive cells, drives a stromal barrier ``S`` between margin and
parenchyma (the excluded phenotype, Mariathasan et al. 2018, Nature, doi 10.1038/nature25501).
Cytokines are amounts in the tumor; their concentrations are amount / tumor volume.
"""

from __future__ import annotations

from immunocycle.cycle._params import Params, add_parameters
from immunocycle.model import Assignment, Model, Reaction, Species

PARAMETERS = ("k_IFN_ev", "k_IFN_deg", "IFN_50", "k_PDL1_turn", "pdl1_base", "r_PDL1_IFN",
              "k_MHC_turn", "mhc_base", "r_MHC_IFN", "k_CK_base", "k_CK_IFN", "k_CK_M1",
              "k_CK_deg", "k_TGF_base", "k_TGF_cell", "k_TGF_deg", "TGF_50", "k_S", "s_base",
              "s_TGF", "barrier_scale")


def microenvironment(model: Model, *, params: Params) -> None:
    """Add ``IFN``, ``PDL1``, ``MHC``, ``CK``, ``TGF`` and the stromal barrier ``S``."""
    add_parameters(model, params, PARAMETERS, "microenvironment")
    model.add(
        Species("IFN", "tumor", 0.0, "nmol", description="IFN-gamma in the tumor"),
        Species("PDL1", "tumor", "pdl1_base", "dimensionless",
                description="PD-L1 on cancer cells, relative to a resting reference level"),
        Species("MHC", "tumor", "mhc_base", "dimensionless",
                description="MHC-I on cancer cells, relative to a normal cell"),
        Species("CK", "tumor", "k_CK_base * V_cell * C_0 / (phi_C * k_CK_deg)", "nmol",
                description="T-cell-recruiting chemokines (CXCL9/10)"),
        Species("TGF", "tumor", "k_TGF_base * V_cell * C_0 / (phi_C * k_TGF_deg)", "nmol",
                description="TGF-beta in the tumor"),
        Species("S", "tumor", "barrier_scale * s_base", "dimensionless",
                description="stromal barrier between margin and parenchyma (0: none)"),
        Assignment("IFN_conc", "IFN / tumor", "nmol/L", "IFN-gamma concentration"),
        Assignment("H_IFN", "IFN / (IFN + IFN_50 * tumor)", "dimensionless", "IFN-gamma signalling"),
        Assignment("H_TGF", "TGF / (TGF + TGF_50 * tumor)", "dimensionless", "TGF-beta signalling"),
        Reaction("IFN_secretion", "k_IFN_ev * J6", {"IFN": 1}, "made on productive recognition"),
        Reaction("IFN_degradation", "k_IFN_deg * IFN", {"IFN": -1}, "degradation"),
        Reaction("PDL1_regulation", "k_PDL1_turn * (pdl1_base * (1 + (r_PDL1_IFN - 1) * H_IFN) - PDL1)",
                 {"PDL1": 1}, "IFN-gamma-induced PD-L1 (adaptive resistance)"),
        Reaction("MHC_regulation", "k_MHC_turn * (mhc_base * (1 + (r_MHC_IFN - 1) * H_IFN) - MHC)",
                 {"MHC": 1}, "IFN-gamma-induced MHC-I"),
        Reaction("CK_secretion", "(k_CK_base + k_CK_IFN * H_IFN) * tumor + k_CK_M1 * M1", {"CK": 1},
                 "chemokines from tumor, IFN-gamma-stimulated cells and M1 macrophages"),
        Reaction("CK_degradation", "k_CK_deg * CK", {"CK": -1}, "degradation"),
        Reaction("TGF_secretion", "k_TGF_base * tumor + k_TGF_cell * (M2 + Treg_T)", {"TGF": 1},
                 "TGF-beta from tumor and fibroblasts, suppressive myeloid cells and Tregs"),
        Reaction("TGF_degradation", "k_TGF_deg * TGF", {"TGF": -1}, "degradation"),
        Reaction("stroma_remodeling", "k_S * (barrier_scale * (s_base + s_TGF * H_TGF) - S)",
                 {"S": 1}, "matrix deposition driven by TGF-beta, and its turnover"),
    )
