"""Cancer cells: logistic growth, natural and T-cell death, dead-cell clearance, tumor size.

Follows the cancer module of QSP-IO (Sove et al. 2020, CPT Pharmacometrics Syst Pharmacol,
doi 10.1002/psp4.12546; Wang et al. 2019; Jafarnejad et al. 2019, AAPS J,
doi 10.1208/s12248-019-0350-x): viable cells ``C`` grow logistically to a carrying capacity and die
naturally or by T cells (``J7``, from the effector module) into a dead-cell pool ``C_dead`` that is
cleared over days; the tumor volume follows the cells. Growth is multiplied by a steep switch
``(C/C_extinct)^h / (1 + (C/C_extinct)^h)`` (``C_extinct`` = 1 cell): a tumor killed below about
one cell is eradicated and does not regrow from a fraction of a cell (the continuous growth law
means nothing there; small populations go extinct, Kendall 1948).
"""

from __future__ import annotations

from immunocycle.cycle._params import Params, add_parameters
from immunocycle.model import Assignment, Compartment, Model, Reaction, Species

PARAMETERS = ("k_C_growth", "C_max", "k_C_death", "k_cell_clear", "V_cell", "phi_C", "V_Tmin",
              "mm3_per_L", "C_0", "C_extinct", "h_extinct")


def cancer(model: Model, *, params: Params) -> None:
    """Add cancer cells, dead cells, the tumor compartment, tumor volume (mm3) and diameter (mm).

    Parameters
    ----------
    model : Model
    params : mapping of name -> ParameterSpec
        The parameter set; needs :data:`PARAMETERS`.
    """
    add_parameters(model, params, PARAMETERS, "cancer")
    # Volume holds viable and dead cells; phi_C is their share of tumor volume (stroma, matrix,
    # interstitium and infiltrate make the rest), so immune cells do not need their own volume.
    model.add(
        Compartment("tumor", "V_Tmin + V_cell * (C + C_dead) / phi_C", "L",
                    "tumor volume (V_Tmin keeps it positive after a cure)"),
        Species("C", "tumor", "C_0", "cell", description="viable cancer cells"),
        Species("C_dead", "tumor", 0.0, "cell", description="dead cancer cells awaiting clearance"),
        Assignment("cancer_deaths_natural", "k_C_death * C", "cell/day",
                   "cancer cells dying without T cells"),
        Assignment("tumor_volume", "tumor * mm3_per_L", "mm**3", "tumor volume"),
        Assignment("tumor_diameter", "(6 * tumor_volume / 3.141592653589793) ** (1 / 3)", "mm",
                   "diameter of a sphere of the tumor volume"),
        # Eradication: growth fades below about one cell (C_extinct), so a tumor killed to a
        # fraction of a cell decays to zero instead of regrowing from it.
        Assignment("proliferation", "k_C_growth * C * (1 - C / C_max) * (C / C_extinct) ** "
                   "h_extinct / (1 + (C / C_extinct) ** h_extinct)", "cell/day",
                   "cancer cells made by division (cycling cells; chemotherapy kills a multiple)"),
        Reaction("C_growth", "proliferation", {"C": 1},
                 "logistic growth (Sove 2020, cancer module), switched off below about one cell"),
        Reaction("C_death", "cancer_deaths_natural", {"C": -1, "C_dead": 1}, "natural death"),
        Reaction("C_kill", "J7", {"C": -1, "C_dead": 1}, "killing by effector T cells (step 7)"),
        Reaction("C_clear", "k_cell_clear * C_dead", {"C_dead": -1}, "clearance of dead cells"),
    )
