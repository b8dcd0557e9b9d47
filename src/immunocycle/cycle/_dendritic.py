"""Dendritic cells: immature in the tumor, maturing on antigen and danger, migrating to the node
(step 2).

Maturation is saturable in the antigen and DAMP densities, as the APC module of QSP-IO (Sove
2020; rates k_APC_mat, k_APC_mig from Chen 2014 and Russo 2016 via QSP-IO's parameter file).
"""

from __future__ import annotations

from immunocycle.cycle._params import Params, add_parameters
from immunocycle.model import Assignment, Model, Reaction, Species

PARAMETERS = ("rho_DC0", "k_DC_turn", "k_DC_mat", "dc_function", "K_Ag", "K_DAMP", "k_DC_mig",
              "k_DCm_death", "k_DC_LN_death", "vaccine_DC_LN")


def dendritic_cells(model: Model, *, params: Params) -> None:
    """Add immature (``DC_i``) and mature (``DC_m``) tumor DCs, node DCs (``DC_LN``) and ``J2``."""
    add_parameters(model, params, PARAMETERS, "dendritic_cells")
    model.add(
        Species("DC_i", "tumor", "rho_DC0 * V_cell * C_0 / phi_C", "cell",
                description="immature dendritic cells in the tumor"),
        Species("DC_m", "tumor", 0.0, "cell", description="mature antigen-loaded DCs in the tumor"),
        Species("DC_LN", "lymph_node", 0.0, "cell",
                description="mature antigen-loaded DCs in the tumor-draining lymph node"),
        Assignment("H_Ag", "Ag / (Ag + K_Ag * tumor)", "dimensionless",
                   "antigen saturation of DC loading"),
        Assignment("H_DAMP", "DAMP / (DAMP + K_DAMP * tumor)", "dimensionless",
                   "danger-signal saturation of DC maturation"),
        Assignment("J2", "k_DC_mig * DC_m + vaccine_DC_LN", "cell/day",
                   "step 2: mature antigen-loaded DCs arriving in the lymph node (from the "
                   "tumor, plus those a vaccine loads in the node)"),
        Reaction("DC_supply", "k_DC_turn * (rho_DC0 * tumor - DC_i)", {"DC_i": 1},
                 "recruitment and turnover toward a resting density"),
        Reaction("DC_maturation", "k_DC_mat * dc_function * H_Ag * H_DAMP * DC_i",
                 {"DC_i": -1, "DC_m": 1}, "antigen uptake and maturation"),
        Reaction("DC_migration", "k_DC_mig * DC_m", {"DC_m": -1, "DC_LN": 1},
                 "migration to the node"),
        # A vaccine brings antigen and adjuvant to node-resident DCs directly: it bypasses
        # tumor antigen release and tumor DC maturation (0 without a vaccine).
        Reaction("DC_vaccine", "vaccine_DC_LN", {"DC_LN": 1},
                 "antigen-loaded DCs made in the node by a vaccine"),
        Reaction("DCm_death", "k_DCm_death * DC_m", {"DC_m": -1}, "death of mature DCs in tumor"),
        Reaction("DC_LN_death", "k_DC_LN_death * DC_LN", {"DC_LN": -1}, "death of DCs in the node"),
    )
