"""Dendritic cells: immature in the tumor, maturing on antigen and danger, migrating to the node
(step 2).

Maturation is saturable in the antigen and DAMP densities, as the APC module of QSP-IO (Sove
2020; rates k_APC_mat, k_APC_mig from Chen 2014 and Russo 2016 via QSP-IO's parameter file).

A vaccine loads node-resident APCs (issue 13): the DCs it makes, ``DC_vax``, fill the free room
``1 - DC_vax / APC_LN_max`` of the vaccine-draining node's antigen-presenting capacity, so loaded
DCs saturate with the vaccine dose (10x the dose does not give 10x the loaded DCs once the node
is full). DCs migrating from the tumor (``DC_LN``) arrive in the tumor-draining basin, a node
field other than the injected node (one lumped node compartment; issue 16 separates them), and
are not gated: gating them by one node's capacity would move the untreated equilibrium every
cohort is calibrated on (melanoma patients reach 6e7 migrated DCs). Both pools help priming.
"""

from __future__ import annotations

from immunocycle.cycle._params import Params, add_parameters
from immunocycle.model import Assignment, Model, Reaction, Species

PARAMETERS = ("rho_DC0", "k_DC_turn", "k_DC_mat", "dc_function", "K_Ag", "K_DAMP", "k_DC_mig",
              "k_DCm_death", "k_DC_LN_death", "vaccine_DC_LN", "APC_LN_max")


def dendritic_cells(model: Model, *, params: Params) -> None:
    """Add immature (``DC_i``) and mature (``DC_m``) tumor DCs, node DCs (``DC_LN`` migrated,
    ``DC_vax`` vaccine-loaded) and ``J2``."""
    add_parameters(model, params, PARAMETERS, "dendritic_cells")
    model.add(
        Species("DC_i", "tumor", "rho_DC0 * V_cell * C_0 / phi_C", "cell",
                description="immature dendritic cells in the tumor"),
        Species("DC_m", "tumor", 0.0, "cell", description="mature antigen-loaded DCs in the tumor"),
        Species("DC_LN", "lymph_node", 0.0, "cell",
                description="mature antigen-loaded DCs in the tumor-draining lymph node"),
        Species("DC_vax", "lymph_node", 0.0, "cell",
                description="antigen-loaded DCs a vaccine makes in its draining node"),
        Assignment("H_Ag", "Ag / (Ag + K_Ag * tumor)", "dimensionless",
                   "antigen saturation of DC loading"),
        Assignment("H_DAMP", "DAMP / (DAMP + K_DAMP * tumor)", "dimensionless",
                   "danger-signal saturation of DC maturation"),
        Assignment("vaccine_loading", "vaccine_DC_LN * (1 - DC_vax / APC_LN_max)",
                   "cell/day", "DCs a vaccine loads in the node, into its free capacity"),
        Assignment("J2", "k_DC_mig * DC_m + vaccine_loading", "cell/day",
                   "step 2: mature antigen-loaded DCs arriving in the lymph node (from the "
                   "tumor, plus those a vaccine loads in the node within its capacity)"),
        Reaction("DC_supply", "k_DC_turn * (rho_DC0 * tumor - DC_i)", {"DC_i": 1},
                 "recruitment and turnover toward a resting density"),
        Reaction("DC_maturation", "k_DC_mat * dc_function * H_Ag * H_DAMP * DC_i",
                 {"DC_i": -1, "DC_m": 1}, "antigen uptake and maturation"),
        Reaction("DC_migration", "k_DC_mig * DC_m", {"DC_m": -1, "DC_LN": 1},
                 "migration to the node"),
        # A vaccine brings antigen and adjuvant to node-resident DCs directly: it bypasses
        # tumor antigen release and tumor DC maturation (0 without a vaccine).
        Reaction("DC_vaccine", "vaccine_loading", {"DC_vax": 1},
                 "antigen-loaded DCs made in the node by a vaccine"),
        Reaction("DC_vax_death", "k_DC_LN_death * DC_vax", {"DC_vax": -1},
                 "death of vaccine-loaded DCs in the node"),
        Reaction("DCm_death", "k_DCm_death * DC_m", {"DC_m": -1}, "death of mature DCs in tumor"),
        Reaction("DC_LN_death", "k_DC_LN_death * DC_LN", {"DC_LN": -1}, "death of DCs in the node"),
    )
