"""Antibody pharmacokinetics: central, peripheral, tumor and lymph-node compartments with lymph
flow, as QSP-IO's PK module (Sove 2020; Jafarnejad 2019, AAPS J, doi 10.1208/s12248-019-0350-x).

Amounts (nmol) move by permeability (``q * (C1/gamma1 - C2/gamma2)``, gamma the volume share
available to the antibody) and convection by lymph: from the tumor to the node and from the node
back to blood at ``q_LD * V_tumor``; clearance is linear from blood.
"""

from __future__ import annotations

from immunocycle._errors import DataError
from immunocycle.model import (
    Assignment,
    Compartment,
    Model,
    Parameter,
    ParameterSpec,
    Reaction,
    Species,
)

PK_PARAMETERS = ("k_cl", "q_P", "q_T", "q_LN", "q_LD", "gamma_C", "gamma_P", "gamma_T",
                 "gamma_LN", "MW")


def antibody_pk(model: Model, *, agent: str, pk: dict[str, ParameterSpec], V_P: ParameterSpec) -> None:
    """Add the four PK states of ``agent`` (``<agent>_C``, ``_P``, ``_T``, ``_LN``, nmol) and its
    concentrations ``<agent>_conc_C``, ``_conc_T``, ``_conc_LN`` (free interstitial, nmol/L).

    Parameters
    ----------
    model : Model
        Must already hold the ``blood``, ``tumor`` and ``lymph_node`` compartments.
    agent : str
        Prefix of the agent's names (``"nivolumab"``).
    pk : mapping
        :data:`PK_PARAMETERS` without the prefix, with units and sources.
    V_P : ParameterSpec
        Volume of the peripheral compartment (from the preset).
    """
    missing = [k for k in PK_PARAMETERS if k not in pk]
    if missing:
        raise DataError(f"PK of {agent!r} lacks {', '.join(missing)}")
    if "peripheral" not in model.compartments:
        model.add(Parameter("V_P", V_P.value, V_P.units, V_P.description, V_P.source),
                  Compartment("peripheral", "V_P", "L", "peripheral tissues (PK)"))
    a = agent
    for key in PK_PARAMETERS:
        spec = pk[key]
        model.add(Parameter(f"{a}_{key}", spec.value, spec.units, spec.description, spec.source))
    c_free = f"{a}_C / ({a}_gamma_C * blood)"
    p_free = f"{a}_P / ({a}_gamma_P * peripheral)"
    t_free = f"{a}_T / ({a}_gamma_T * tumor)"
    ln_free = f"{a}_LN / ({a}_gamma_LN * lymph_node)"
    model.add(
        Species(f"{a}_C", "blood", 0.0, "nmol", description=f"{a} in blood"),
        Species(f"{a}_P", "peripheral", 0.0, "nmol", description=f"{a} in peripheral tissue"),
        Species(f"{a}_T", "tumor", 0.0, "nmol", description=f"{a} in the tumor"),
        Species(f"{a}_LN", "lymph_node", 0.0, "nmol", description=f"{a} in the lymph node"),
        Assignment(f"{a}_conc_C", f"{a}_C / blood", "nmol/L", f"{a} serum concentration"),
        Assignment(f"{a}_conc_T", t_free, "nmol/L", f"{a} free interstitial concentration in tumor"),
        Assignment(f"{a}_conc_LN", ln_free, "nmol/L", f"{a} concentration in the lymph node"),
        Reaction(f"{a}_clearance", f"{a}_k_cl * {a}_C / blood", {f"{a}_C": -1}, "linear clearance"),
        Reaction(f"{a}_to_P", f"{a}_q_P * ({c_free} - {p_free})", {f"{a}_C": -1, f"{a}_P": 1},
                 "exchange blood - peripheral"),
        Reaction(f"{a}_to_T", f"{a}_q_T * ({c_free} - {t_free})", {f"{a}_C": -1, f"{a}_T": 1},
                 "exchange blood - tumor"),
        Reaction(f"{a}_to_LN", f"{a}_q_LN * ({c_free} - {ln_free})", {f"{a}_C": -1, f"{a}_LN": 1},
                 "exchange blood - lymph node"),
        Reaction(f"{a}_T_drain", f"{a}_q_LD * {a}_T / {a}_gamma_T", {f"{a}_T": -1, f"{a}_LN": 1},
                 "lymph drainage tumor -> node"),
        Reaction(f"{a}_LN_drain", f"{a}_q_LD * tumor * {ln_free}", {f"{a}_LN": -1, f"{a}_C": 1},
                 "lymph drainage node -> blood"),
    )
