"""Antibody pharmacokinetics: central, peripheral, tumor and lymph-node compartments with lymph
flow, as QSP-IO's PK module (Sove 2020; Jafarnejad 2019, AAPS J, doi 10.1208/s12248-019-0350-x).

Amounts (nmol) move by permeability (``q * (C1/gamma1 - C2/gamma2)``, gamma the volume share
available to the agent) and convection by lymph: from the tumor to the node and from the node
back to blood at ``q_LD * V_tumor``. The central (plasma) concentration is the blood amount over
the agent's central volume ``V1 = gamma_C * V_blood``, and clearance is linear in it
(``k_cl * amount / V1``), as in a two-compartment population PK: with the popPK's ``CL``, ``V1``,
``Q`` and ``V2`` (``k_cl = CL``, ``gamma_C = V1 / V_blood``, ``q_P = Q``, ``gamma_P = V2 / V_P``)
the plasma curve, half-lives, AUC (dose / CL) and Vss (V1 + V2) are the popPK's.

A tissue:plasma partition ``K_T`` (``K_LN``) lets a site retain its agent: only the free part
``conc / K`` returns to blood and leaves by lymph, so the site equilibrates at ``K`` times the
plasma concentration and washes out ``K`` times slower (a nano-carrier's payload held in the tumor,
a carrier trapped in the node; :mod:`immunocycle.catalog._kinetics` fits them to the PBPK). The
antibody default is 1, and then the equations are QSP-IO's.
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
#: Optional: tissue:plasma partitions of the tumor and the node (dimensionless), 1 when absent.
PARTITION_PARAMETERS = ("K_T", "K_LN")


def _add_agent_parameters(model: Model, agent: str, specs: dict[str, ParameterSpec],
                          keys: tuple[str, ...], what: str) -> None:
    """Add ``<agent>_<key>`` for each of ``keys`` from ``specs``; a missing key is a DataError
    naming the agent and the keys (``what``: "PK" or "release")."""
    missing = [k for k in keys if k not in specs]
    if missing:
        raise DataError(f"{what} of {agent!r} lacks {', '.join(missing)}")
    for key in keys:
        spec = specs[key]
        model.add(Parameter(f"{agent}_{key}", spec.value, spec.units, spec.description,
                            spec.source))


def antibody_pk(model: Model, *, agent: str, pk: dict[str, ParameterSpec], V_P: ParameterSpec) -> None:
    """Add the four PK states of ``agent`` (``<agent>_C``, ``_P``, ``_T``, ``_LN``, nmol) and its
    concentrations ``<agent>_conc_C`` (plasma: amount over the central volume
    ``gamma_C * V_blood``), ``_conc_T``, ``_conc_LN`` (free interstitial, nmol/L) and
    ``<agent>_released_conc_C`` (drug in blood not bound to a carrier: ``conc_C`` for a free agent;
    :func:`released_payload` makes it the released payload of a carried one).

    Parameters
    ----------
    model : Model
        Must already hold the ``blood``, ``tumor`` and ``lymph_node`` compartments.
    agent : str
        Prefix of the agent's names (``"nivolumab"``).
    pk : mapping
        :data:`PK_PARAMETERS` without the prefix, with units and sources (``k_cl``: plasma
        clearance, L/day; ``gamma_C``: central volume / blood volume).
    V_P : ParameterSpec
        Volume of the peripheral compartment (from the preset).
    """
    _add_agent_parameters(model, agent, pk, PK_PARAMETERS, "PK")
    for key in PARTITION_PARAMETERS:
        spec = pk.get(key)
        model.add(Parameter(f"{agent}_{key}", 1.0 if spec is None else spec.value,
                            "dimensionless", f"{key[2:]}:plasma partition of {agent}",
                            "no retention (QSP-IO)" if spec is None else spec.source))
    if "peripheral" not in model.compartments:
        model.add(Parameter("V_P", V_P.value, V_P.units, V_P.description, V_P.source),
                  Compartment("peripheral", "V_P", "L", "peripheral tissues (PK)"))
    a = agent
    c_free = f"{a}_C / ({a}_gamma_C * blood)"
    p_free = f"{a}_P / ({a}_gamma_P * peripheral)"
    t_free = f"{a}_T / ({a}_gamma_T * tumor)"
    ln_free = f"{a}_LN / ({a}_gamma_LN * lymph_node)"
    # the free part of a retaining site: what exchanges with blood and leaves by lymph
    t_unbound = f"{a}_T / ({a}_gamma_T * tumor * {a}_K_T)"
    ln_unbound = f"{a}_LN / ({a}_gamma_LN * lymph_node * {a}_K_LN)"
    model.add(
        Species(f"{a}_C", "blood", 0.0, "nmol", description=f"{a} in blood"),
        Species(f"{a}_P", "peripheral", 0.0, "nmol", description=f"{a} in peripheral tissue"),
        Species(f"{a}_T", "tumor", 0.0, "nmol", description=f"{a} in the tumor"),
        Species(f"{a}_LN", "lymph_node", 0.0, "nmol", description=f"{a} in the lymph node"),
        Assignment(f"{a}_conc_C", c_free, "nmol/L",
                   f"{a} plasma concentration (amount over the central volume)"),
        # free drug: all of it is free of any carrier (released_payload redefines it)
        Assignment(f"{a}_released_conc_C", f"{a}_conc_C", "nmol/L",
                   f"{a} free (not carrier-bound) drug in blood"),
        Assignment(f"{a}_conc_T", t_free, "nmol/L", f"{a} free interstitial concentration in tumor"),
        Assignment(f"{a}_conc_LN", ln_free, "nmol/L", f"{a} concentration in the lymph node"),
        # CL acts on the plasma concentration (popPK), not on amount / blood volume
        Reaction(f"{a}_clearance", f"{a}_k_cl * {a}_conc_C", {f"{a}_C": -1}, "linear clearance"),
        Reaction(f"{a}_to_P", f"{a}_q_P * ({a}_conc_C - {p_free})", {f"{a}_C": -1, f"{a}_P": 1},
                 "exchange blood - peripheral"),
        Reaction(f"{a}_to_T", f"{a}_q_T * ({a}_conc_C - {t_unbound})",
                 {f"{a}_C": -1, f"{a}_T": 1}, "exchange blood - tumor"),
        Reaction(f"{a}_to_LN", f"{a}_q_LN * ({a}_conc_C - {ln_unbound})",
                 {f"{a}_C": -1, f"{a}_LN": 1}, "exchange blood - lymph node"),
        Reaction(f"{a}_T_drain", f"{a}_q_LD * {a}_T / ({a}_gamma_T * {a}_K_T)",
                 {f"{a}_T": -1, f"{a}_LN": 1}, "lymph drainage tumor -> node"),
        Reaction(f"{a}_LN_drain", f"{a}_q_LD * tumor * {ln_unbound}", {f"{a}_LN": -1, f"{a}_C": 1},
                 "lymph drainage node -> blood"),
    )


RELEASE_PARAMETERS = ("k_release", "carried", "released_k_cl", "released_q_P", "released_gamma_C",
                      "released_gamma_P")


def released_payload(model: Model, *, agent: str, release: dict[str, ParameterSpec]) -> None:
    """Split the blood amount of a carried agent into carrier-bound and released payload.

    The agent's blood state ``<agent>_C`` is then the payload still in its carrier: its clearance
    ``k_cl`` (the carrier's clearance plus the release flow, :mod:`immunocycle.catalog._convert`)
    is written as carrier clearance ``k_cl - k_release`` and a release reaction ``k_release *
    <agent>_conc_C`` (first-order release at the formulation's rate times the carrier's
    central volume, L/day, on the carrier's plasma concentration) that moves payload into
    ``<agent>_F``, the released drug in blood. Released drug distributes and clears with the free
    agent's own two-compartment PK (``released_k_cl``, ``released_q_P``, ``released_gamma_C``,
    ``released_gamma_P``, in the units of :data:`PK_PARAMETERS`; its plasma concentration is
    ``<agent>_F / (released_gamma_C * V_blood)``), the model a free dose of the agent gets, so
    that ``AUC(<agent>_released_conc_C) = k_release AUC(<agent>_conc_C) / released_k_cl`` (mass
    balance).

    ``<agent>_released_conc_C`` (nmol/L) is the free (released, not carrier-bound) payload in
    plasma for a carried agent (``carried = 1``) and ``<agent>_conc_C`` itself for a free agent
    (``carried = 0``, ``k_release = 0``: the states stay at 0), so free drugs keep exactly their
    exposure. Call after :func:`antibody_pk`.
    """
    _add_agent_parameters(model, agent, release, RELEASE_PARAMETERS, "release")
    a = agent
    f_blood = f"{a}_F / ({a}_released_gamma_C * blood)"
    f_peri = f"{a}_FP / ({a}_released_gamma_P * peripheral)"
    # Same carried-payload loss as before, now split into clearance and release.
    model.reactions[f"{a}_clearance"] = Reaction(
        f"{a}_clearance", f"({a}_k_cl - {a}_k_release) * {a}_conc_C", {f"{a}_C": -1},
        "clearance of carrier-bound payload")
    model.assignments[f"{a}_released_conc_C"] = Assignment(
        f"{a}_released_conc_C", f"(1 - {a}_carried) * {a}_conc_C + {f_blood}", "nmol/L",
        f"{a} free (released) payload in plasma")
    model.add(
        Species(f"{a}_F", "blood", 0.0, "nmol", description=f"{a} released from its carrier, blood"),
        Species(f"{a}_FP", "peripheral", 0.0, "nmol",
                description=f"{a} released from its carrier, peripheral tissue"),
        Reaction(f"{a}_release", f"{a}_k_release * {a}_conc_C", {f"{a}_C": -1, f"{a}_F": 1},
                 "first-order release of payload from its carrier in blood"),
        Reaction(f"{a}_released_clearance", f"{a}_released_k_cl * {f_blood}", {f"{a}_F": -1},
                 "clearance of released payload (the free agent's)"),
        Reaction(f"{a}_released_to_P", f"{a}_released_q_P * ({f_blood} - {f_peri})",
                 {f"{a}_F": -1, f"{a}_FP": 1}, "released payload: exchange blood - peripheral"),
    )
