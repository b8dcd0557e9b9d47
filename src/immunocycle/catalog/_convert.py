"""Catalog therapy -> cycle-model :class:`immunocycle.cycle.Therapy`.

The cycle model gives every agent one four-compartment PK (blood, peripheral, tumor, lymph node;
Sove 2020, doi 10.1002/psp4.12546) dosed into blood. A catalog therapy is mapped onto it so:

- free agent: plasma clearance and volumes from the agent's cited two-compartment PK
  (``k_cl = CL``, ``gamma_C = V1 / V_blood``, ``q_P = Q``, ``gamma_P = V2 / V_P``); tissue access
  (``q_T``, ``gamma_T``, ``q_LN``, ``gamma_LN``, ``q_LD``) from its molecule class in ``pk.yaml``;
- nano-formulation: the blood amount is the payload as delivered (carrier-bound + released):
  the carrier's plasma clearance plus the loss of payload released in blood
  (``CL + k_release * V1``) and the carrier's volume, from the formulation file. Tumor and
  lymph-node kinetics are LINKED to the nanoparticle PBPK (:mod:`immunocycle.catalog._pk_link`,
  one ``immunocycle.pk.run_pk`` per formulation, species and route) by their TIME COURSES: each
  site's exchange flow (``q_T``, ``q_LN``) and tissue:plasma partition (``K_T``, ``K_LN``:
  retention) are fitted so that the cycle model's tumor and node, fed by plasma (and the node
  by the tumor's lymph), follow the PBPK's released payload there after one dose, with the
  PBPK's AUC over plasma (:mod:`immunocycle.catalog._kinetics`). Only released payload acts, so
  the cycle model's tumor and node concentrations stand for released payload. Nothing is capped
  or floored: a site may hold many times plasma (s.c. depots draining to the node, i.t. depots,
  node-trapped carriers) and the node less than the tumor. For s.c., i.d. and i.t. doses the
  ratios are over the plasma of the same dose given i.v., since the cycle model doses every
  route into blood with the carrier's i.v. plasma PK (its plasma exposure of those routes is
  then too high: said in their sources);
- nano-formulations the PBPK cannot represent (cell-borne carriers; routes intranodal,
  peritumoral, oral, ip): the ``nanoparticle`` class tissue access times the formulation's
  factors, and non-i.v. routes emulated by the factors of ``pk.yaml`` ``routes`` (both
  assumptions; their sources say "assumption");
- free agents by a non-i.v. route (s.c., i.d., i.t.): the cycle model doses into blood only, so
  the route is emulated by the factors of ``pk.yaml`` ``routes`` (documented assumption);
- released payload (nano-formulations that do not dissolve in plasma): the blood amount above is
  split into carrier-bound payload and payload released at the formulation's cited first-order
  rate ``k_release`` (``release.k_blood_per_h`` of the formulation file, in blood); the release
  flow ``k_release * V1`` (L/day) is the part of ``k_cl`` that moves payload out of the carrier
  (for a small molecule the PBPK represents, raised to the PBPK's free payload in plasma, which
  counts drug released in organs after carrier uptake), and released payload follows the free
  agent's own two-compartment PK (as a free dose would; :func:`release_pk`). The cycle model then has ``<id>_released_conc_C``, the free payload in blood,
  which effects at site ``blood_free`` (marrow toxicity of a carried cytotoxic) and the
  free-drug AE drivers of :mod:`immunocycle.trial` use; for a free drug it is ``conc_C`` itself;
- co-encapsulated agents share the carrier's PK: the therapy tracks the primary agent and a
  co-loaded agent's EC50 is divided by its molar loading ratio (its concentration is the ratio
  times the primary agent's);
- doses studied in mice are scaled to the target species by body-surface area (Km factors,
  Nair & Jacob 2016, doi 10.4103/0976-0105.177703).
"""

from __future__ import annotations

import functools
from typing import get_args

from immunocycle.catalog._kinetics import SiteKinetics, fit_site_kinetics
from immunocycle.catalog._load import PKDefaults, cycle_names
from immunocycle.catalog._pk_link import (
    PBPKExposure,
    _start_tumor_volume_l,
    _targeted,
    carrier_class,
    pbpk_exposure,
    pbpk_organ_table,
    unlinked_reason,
)
from immunocycle.catalog._schema import Agent, Formulation, Therapy

AGENT_PK_KEYS = ("k_cl", "q_P", "q_T", "q_LN", "q_LD", "gamma_C", "gamma_P", "gamma_T",
                 "gamma_LN", "K_T", "K_LN", "MW")
_UNITS = {"k_cl": "L/day", "q_P": "L/day", "q_T": "L/day", "q_LN": "L/day", "q_LD": "1/day",
          "gamma_C": "dimensionless", "gamma_P": "dimensionless", "gamma_T": "dimensionless",
          "gamma_LN": "dimensionless", "K_T": "dimensionless", "K_LN": "dimensionless",
          "MW": "mg/nmol"}


@functools.cache
def _link_settings() -> dict[str, float]:
    """``data/catalog/pk_link.yaml``: the peripheral share of an agent without a peripheral
    compartment and the release rate above which a carrier counts as dissolved."""
    from immunocycle._paths import PACKAGE_DATA
    from immunocycle.model import load_parameter_set

    pset = load_parameter_set(PACKAGE_DATA / "catalog" / "pk_link.yaml")
    return {k: float(p.value) for k, p in pset.parameters.items()}


def _preset_value(species: str, name: str) -> float:
    from immunocycle.cycle import resolve_preset

    return float(resolve_preset(species)[0][name].value)


def _spec(key: str, value: float, description: str, source: str) -> dict:
    return {"value": float(value), "units": _UNITS[key], "description": description,
            "source": source}


def linked_kinetics(exposure: PBPKExposure, cls, v_tumor_l: float, v_node_l: float
                    ) -> SiteKinetics:
    """The cycle model's tumor and node kinetics (``q_T``, ``K_T``, ``q_LN``, ``K_LN``) fitted to
    the PBPK's time courses of one dose (:mod:`immunocycle.catalog._kinetics`; ``cls``: the
    ``nanoparticle`` class defaults of ``pk.yaml`` for ``gamma_T``, ``gamma_LN``, ``q_LD``;
    volumes in L)."""
    return _fitted(exposure, float(cls.gamma_T * v_tumor_l), float(cls.gamma_LN * v_node_l),
                   float(cls.q_LD * v_tumor_l))


@functools.lru_cache(maxsize=256)
def _fitted(exposure: PBPKExposure, v_t: float, v_ln: float, lymph: float) -> SiteKinetics:
    # PBPKExposure hashes by its scalar fields (the courses are compare=False)
    return fit_site_kinetics(exposure.times_h, exposure.plasma, exposure.tumor, exposure.node,
                             v_tumor_l=v_t, v_node_l=v_ln, lymph_l_per_day=lymph)


def pk_link(entry: Therapy, agent: Agent, formulation: Formulation, pk: PKDefaults,
            species: str = "human"
            ) -> tuple[PBPKExposure | None, SiteKinetics | None, str | None]:
    """The PBPK link of a nano-formulation therapy: (exposure, site kinetics, None) when linked,
    (None, None, reason) when the PBPK cannot represent it (assumed factors are used)."""
    reason = unlinked_reason(formulation, entry.route)
    if reason is not None:
        return None, None, reason
    try:
        exp = pbpk_exposure(formulation, agent, entry.route, species)
    except (RuntimeError, ValueError) as exc:  # a PBPK that cannot run keeps the assumptions
        return None, None, f"the PBPK run failed ({exc})"
    kin = linked_kinetics(exp, pk.classes["nanoparticle"], _start_tumor_volume_l(species),
                          _preset_value(species, "V_LN"))
    return exp, kin, None


def cycle_pk(entry: Therapy, agent: Agent, formulation: Formulation | None, pk: PKDefaults,
             species: str = "human") -> dict[str, dict]:
    """The cycle model's PK parameters of a therapy's primary agent (as delivered).

    Returns
    -------
    dict
        Name -> ``{value, units, description, source}`` for each of :data:`AGENT_PK_KEYS`.
    """
    v_blood, v_p = _preset_value(species, "V_blood"), _preset_value(species, "V_P")
    bw_ratio = pk.body_weight_kg[species] / pk.body_weight_kg["human"]
    # Clearances and volumes scale allometrically (pk.allometric_exponents: BW^0.75, BW^1) when
    # the agent has no PK of its own in this species.
    from immunocycle.pk import allometric_exponents

    b = allometric_exponents()
    own = agent.pk.get(species)
    cl_scale, v_scale = (1.0, 1.0) if own else (bw_ratio ** b["clearance"],
                                                bw_ratio ** b["volume"])
    apk = own or agent.pk["human"]
    route = pk.routes.get(entry.route)
    if formulation is None or dissolves(formulation):
        cls = pk.classes[agent.molecule]
        cl, v1 = apk.cl_l_per_h * cl_scale, apk.v1_l * v_scale
        q, v2 = apk.q_l_per_h * cl_scale, apk.v2_l * v_scale
        f_qT = f_gT = f_qLN = f_gLN = 1.0
        src = f"{agent.id} PK: {apk.source}" + (" (assumption in part)" if apk.assumption else "")
        if formulation is not None:  # dissolved in minutes: the payload's own plasma PK as given
            c = formulation.carrier_pk
            cl, v1 = c.cl_l_per_h * cl_scale, c.v1_l * v_scale
            src = (f"{formulation.id} dissolves in plasma within minutes (release "
                   f"{formulation.release.k_blood_per_h:g}/h): the payload's clearance and central "
                   f"volume as given ({c.source}); peripheral distribution: {src}")
        cls_src = f"{agent.molecule} class default (pk.yaml): {cls.source}"
    else:
        cls = pk.classes["nanoparticle"]
        c = formulation.carrier_pk
        k_rel = formulation.release.k_blood_per_h
        cl = (c.cl_l_per_h + k_rel * c.v1_l) * cl_scale
        v1, q, v2 = c.v1_l * v_scale, 0.0, 0.0
        src = (f"carrier {formulation.id}: CL + k_release*V1 ({c.source}; release: "
               f"{formulation.release.source})" + (" (assumption)" if c.assumption else ""))
        exp, kin, reason = pk_link(entry, agent, formulation, pk, species)
        if exp is not None:
            return _linked(cl, v1, v_blood, cls, exp, kin, src, agent)
        f_qT, f_gT, f_qLN, f_gLN = (c.q_tumor_factor, c.gamma_tumor_factor, c.q_ln_factor,
                                    c.gamma_ln_factor)
        cls_src = (f"nanoparticle class default (pk.yaml: {cls.source}) x {formulation.id} factor"
                   f" (assumption: {reason}, so the PBPK link does not apply)")
    if route is not None:
        f_qT *= route.q_tumor_factor
        f_gT *= route.gamma_tumor_factor
        f_qLN *= route.q_ln_factor
        f_gLN *= route.gamma_ln_factor
        cls_src += f"; route {entry.route} emulated (assumption): {route.source}"
    tissue = cl_scale  # tissue flows scale as clearances
    return {
        "k_cl": _spec("k_cl", cl * 24.0, "plasma clearance (as delivered)", src),
        "q_P": _spec("q_P", q * 24.0, "blood-peripheral distribution flow", src),
        "q_T": _spec("q_T", cls.q_T * f_qT * tissue, "blood-tumor permeability flow", cls_src),
        "q_LN": _spec("q_LN", cls.q_LN * f_qLN * tissue, "blood-lymph node flow", cls_src),
        "q_LD": _spec("q_LD", cls.q_LD, "lymph flow per tumor volume", cls_src),
        "gamma_C": _spec("gamma_C", v1 / v_blood, "central volume / blood volume", src),
        "gamma_P": _spec("gamma_P", v2 / v_p if v2 > 0 else _link_settings()["no_peripheral_share"],
                         "peripheral volume / V_P", src),
        "gamma_T": _spec("gamma_T", cls.gamma_T * f_gT, "available share of tumor volume",
                         cls_src),
        "gamma_LN": _spec("gamma_LN", cls.gamma_LN * f_gLN, "available share of node volume",
                          cls_src),
        **_no_partition(),
        "MW": _spec("MW", agent.mw_kda * 1e-3, "molecular weight (kDa / 1000)", "agent file"),
    }


def _no_partition() -> dict[str, dict]:
    """``K_T = K_LN = 1``: tumor and node exchange with plasma without retention."""
    text = "no retention: the site equilibrates with plasma (free agent or unlinked carrier)"
    return {k: _spec(k, 1.0, f"{site}:plasma partition", text)
            for k, site in (("K_T", "tumor"), ("K_LN", "node"))}


def _free_agent_pk(agent: Agent, pk: PKDefaults, species: str) -> tuple[float, float, float,
                                                                         float, float, str]:
    """CL, V1, Q (L/h), V2 (L), the clearance scale, and the source of the free agent in
    ``species`` (allometric from human when the agent has no PK of its own there)."""
    from immunocycle.pk import allometric_exponents

    b = allometric_exponents()
    bw_ratio = pk.body_weight_kg[species] / pk.body_weight_kg["human"]
    own = agent.pk.get(species)
    cl_scale, v_scale = (1.0, 1.0) if own else (bw_ratio ** b["clearance"],
                                                bw_ratio ** b["volume"])
    apk = own or agent.pk["human"]
    src = f"{agent.id} PK: {apk.source}" + (" (assumption in part)" if apk.assumption else "")
    return (apk.cl_l_per_h * cl_scale, apk.v1_l * v_scale, apk.q_l_per_h * cl_scale,
            apk.v2_l * v_scale, cl_scale, src)


def _pbpk_free_over_bound(formulation: Formulation, route: str) -> float | None:
    """AUC of free over carrier-bound payload in plasma in the nanoparticle PBPK (human, the
    doxorubicin tracer; the organ table of :func:`pbpk_organ_table`), None when the PBPK
    cannot represent the formulation."""
    if unlinked_reason(formulation, route) is not None:
        return None
    r = formulation.release
    table = pbpk_organ_table(carrier_class(formulation), float(formulation.size_nm),
                             None if formulation.zeta_mv is None else float(formulation.zeta_mv),
                             _targeted(formulation), route, float(r.k_blood_per_h),
                             float(r.k_site_per_h or 0.0))
    bound = float(table.loc["blood", "auc_bound"])
    return float(table.loc["blood", "auc_free"]) / bound if bound > 0 else None


def release_pk(agent: Agent, formulation: Formulation | None, pk: PKDefaults,
               species: str = "human", route: str | None = None) -> dict[str, dict] | None:
    """The cycle model's release block of a carried payload (None for a free agent or a carrier
    that dissolves in plasma within minutes, whose payload is free drug from the start).

    The release flow is ``k_release * V1_carrier`` (L/day, scaled as the carrier's clearance):
    payload released in blood. For a small molecule whose formulation and ``route`` the
    nanoparticle PBPK represents, payload also returns to blood after its carrier is taken up
    and releases it in organs (liver and spleen macrophages); the flow is then raised to what
    gives the PBPK's AUC of free over carrier-bound payload in plasma (``ratio x free CL``, by
    the mass balance ``AUC(free) = flow AUC(carried) / CL``), at most the whole carrier clearance
    ``k_cl`` (everything cleared from the carrier returns as free drug).

    Returns
    -------
    dict or None
        Name -> ``{value, units, description, source}`` for each of
        :data:`immunocycle.cycle._pk.RELEASE_PARAMETERS`: the release flow, ``carried = 1``, and
        the free agent's clearance, distribution flow and volumes (as :func:`cycle_pk` gives a
        free dose).
    """
    if formulation is None or dissolves(formulation):
        return None
    v_blood, v_p = _preset_value(species, "V_blood"), _preset_value(species, "V_P")
    cl, v1, q, v2, cl_scale, src = _free_agent_pk(agent, pk, species)
    rel, c = formulation.release, formulation.carrier_pk
    flow = rel.k_blood_per_h * c.v1_l * cl_scale * 24.0
    rel_src = (f"{formulation.id}: release {rel.k_blood_per_h:g}/h in blood ({rel.source})"
               + (" (assumption)" if rel.assumption else "")
               + f" x carrier V1 {c.v1_l:g} L ({c.source})")
    ratio = (_pbpk_free_over_bound(formulation, route)
             if route is not None and agent.molecule == "small_molecule" else None)
    if ratio is not None and ratio * cl * 24.0 > flow:
        k_cl = (c.cl_l_per_h + rel.k_blood_per_h * c.v1_l) * cl_scale * 24.0
        pbpk_flow = ratio * cl * 24.0
        rel_src = (f"nanoparticle PBPK of {formulation.id} (human, {route}, doxorubicin tracer): "
                   f"free / carrier-bound payload AUC in plasma {ratio:.3g}, which counts payload "
                   "released in organs after carrier uptake and returning to blood; flow = ratio "
                   f"x free clearance ({src})"
                   + ("" if pbpk_flow <= k_cl else f", capped at the carrier clearance {k_cl:.3g} "
                      "L/day (all payload leaving the carrier returns free)")
                   + f"; release in blood alone: {rel_src}")
        flow = min(pbpk_flow, k_cl)
    no_p = _link_settings()["no_peripheral_share"]

    def spec(value: float, units: str, description: str, source: str) -> dict:
        return {"value": float(value), "units": units, "description": description,
                "source": source}

    return {
        "k_release": spec(flow, "L/day", "release flow of payload from its carrier in blood "
                          "(k_release x carrier V1)", rel_src),
        "carried": spec(1.0, "dimensionless", "1: the payload is carried (free conc = released "
                        "payload)", f"{formulation.id} is a {formulation.carrier}"),
        "released_k_cl": spec(cl * 24.0, "L/day", "plasma clearance of released payload", src),
        "released_q_P": spec(q * 24.0, "L/day", "blood-peripheral flow of released payload", src),
        "released_gamma_C": spec(v1 / v_blood, "dimensionless",
                             "central volume of released payload / blood volume", src),
        "released_gamma_P": spec(v2 / v_p if v2 > 0 else no_p, "dimensionless",
                             "peripheral volume of released payload / V_P", src),
    }


def _linked(cl: float, v1: float, v_blood: float, cls, exp: PBPKExposure, kin: SiteKinetics,
            src: str, agent: Agent) -> dict[str, dict]:
    """PK of a nano-formulation whose tissue kinetics are fitted to the PBPK's time courses."""
    gamma_c = v1 / v_blood
    over = "plasma" if exp.route == "iv" else f"the plasma of the same dose i.v. ({exp.route} dose)"

    def site(label: str, tau: float, ratio: float, rms: float, tmax: tuple) -> str:
        return (f"{exp.source}; fitted to the PBPK's {label} time course of one dose "
                f"(time constant {tau:.3g} h, AUC {label}/{over} {ratio:.3g} as the PBPK's, "
                f"rms log10 error {rms:.2f}, peak at {tmax[1]:.3g} h vs the PBPK's "
                f"{tmax[0]:.3g} h; catalog._kinetics)")

    tumor = site("tumor", kin.tau_T_h, kin.r_T, kin.rms_log10_T, kin.tmax_h["T"])
    node = site("node", kin.tau_LN_h, kin.r_LN, kin.rms_log10_LN, kin.tmax_h["LN"])
    if kin.node_bounded:
        node += ("; the node's time constant is held at the bound where the tumor's lymph alone "
                 "brings the PBPK's node AUC (q_LN = 0): the node washes faster than the PBPK's")
    node += f"; PBPK carrier blood half-life {exp.carrier_half_life_h:.3g} h"
    gamma_src = ("nanoparticle class default (pk.yaml); with the fitted flow and partition it sets "
                 "the site's time constant")
    return {
        "k_cl": _spec("k_cl", cl * 24.0, "plasma clearance (as delivered)", src),
        "q_P": _spec("q_P", 0.0, "blood-peripheral distribution flow", src),
        "q_T": _spec("q_T", kin.q_T, "blood-tumor exchange flow", tumor),
        "q_LN": _spec("q_LN", kin.q_LN, "blood-lymph node exchange flow", node),
        "K_T": _spec("K_T", kin.K_T, "tumor:plasma partition (retention in the tumor)", tumor),
        "K_LN": _spec("K_LN", kin.K_LN, "node:plasma partition (retention in the node)", node),
        "q_LD": _spec("q_LD", cls.q_LD, "lymph flow per tumor volume",
                      f"nanoparticle class default (pk.yaml: {cls.source})"),
        "gamma_C": _spec("gamma_C", gamma_c, "central volume / blood volume", src),
        "gamma_P": _spec("gamma_P", _link_settings()["no_peripheral_share"], "peripheral volume / V_P",
                         src),
        "gamma_T": _spec("gamma_T", cls.gamma_T, "available share of tumor volume", gamma_src),
        "gamma_LN": _spec("gamma_LN", cls.gamma_LN, "available share of node volume", gamma_src),
        "MW": _spec("MW", agent.mw_kda * 1e-3, "molecular weight (kDa / 1000)", "agent file"),
    }


def dose_in(entry: Therapy, pk: PKDefaults, species: str = "human") -> tuple[float, str]:
    """Dose per administration in ``species`` (amount, ``"mg"`` or ``"mg/kg"``), scaled from the
    studied species by body-surface area (Km) when they differ."""
    d, km = entry.dose, pk.km
    if d.units == "mg/m2":
        return d.amount / km[species], "mg/kg"
    if d.species_studied == species:
        return d.amount, d.units
    per_kg = d.amount / pk.body_weight_kg[d.species_studied] if d.units == "mg" else d.amount
    return per_kg * km[d.species_studied] / km[species], "mg/kg"


def to_cycle_therapy(entry: Therapy | str, species: str = "human", *, catalog=None):
    """The cycle-model :class:`immunocycle.cycle.Therapy` of a catalog therapy.

    Parameters
    ----------
    entry : Therapy or str
        A catalog therapy or its id.
    species : {"human", "mouse"}
        Physiology (cycle preset) the PK and dose are expressed for.
    catalog : Catalog, optional
        Where agents and formulations are looked up (default: :func:`load_catalog`).

    Returns
    -------
    immunocycle.cycle.Therapy
        Named by the catalog id; simulate it with ``simulate_cycle(species, [therapy])``.
    """
    from immunocycle.catalog._store import load_catalog
    from immunocycle.cycle import Dosing, Effect
    from immunocycle.cycle import Therapy as CycleTherapy

    cat = catalog or load_catalog()
    t = cat.therapy(entry) if isinstance(entry, str) else entry
    agent = cat.agents[t.agents[0]]
    formulation = None if t.is_free else cat.formulations[t.formulation]
    pk = cycle_pk(t, agent, formulation, cat.pk, species)
    amount, units = dose_in(t, cat.pk, species)
    routes = get_args(Dosing.model_fields["route"].annotation)
    route = t.route if t.route in routes else "iv"
    s = t.schedule
    dosing = Dosing(amount=amount, units=units, start=s.start, every=s.every, count=s.count,
                    cycles=s.cycles,
                    duration=s.duration, route=route,
                    source=f"catalog {t.id}: {t.dose.source}"
                    + ("" if route == t.route else f" (route {t.route} emulated, see pk.yaml)"))
    units_of = cycle_names(species)[2]
    effects = []
    # Only unbound drug acts: an unbound-drug EC50 applies to total drug divided by fu.
    fu = t.unbound.fraction if t.unbound else 1.0
    for e in t.effects:
        ratio = 1.0 if e.agent == t.agents[0] else t.dose.co_loading[e.agent]
        effects.append(Effect(
            parameter=e.parameter, law="emax", mode=e.mode, emax=e.emax,
            emax_units=units_of.get(e.parameter, "dimensionless") if e.mode == "add"
            else "dimensionless",
            ec50=e.ec50_nmol_per_l / ratio / fu, ec50_units="nmol/L", hill=e.hill,
            concentration=e.site, grade=e.evidence_grade, fitted_in=e.fitted_in,
            source=(e.source + (" (assumption)" if e.assumption else "")
                    + ("" if ratio == 1.0 else f"; EC50 / co-loading ratio {ratio:g}")
                    + ("" if fu == 1.0 else f"; unbound EC50 / unbound fraction {fu:g} "
                       f"({t.unbound.source})"))))
    targets = ", ".join(dict.fromkeys(cat.agents[a].target for a in t.agents))
    return CycleTherapy(name=t.id, description=t.name, target=targets, species=species, pk=pk,
                        dosing=dosing, effects=effects,
                        release=release_pk(agent, formulation, cat.pk, species, t.route))


def free_counterpart(therapy_id: str, *, catalog=None) -> str:
    """The free therapy of the same primary agent that a nano-formulation is compared with.

    Raises
    ------
    KeyError
        If the therapy is free itself or names no counterpart.
    """
    from immunocycle.catalog._store import load_catalog

    t = (catalog or load_catalog()).therapy(therapy_id)
    if t.free_counterpart is None:
        raise KeyError(f"therapy {therapy_id!r} has no free counterpart"
                       + (" (it is a free therapy)" if t.is_free else ""))
    return t.free_counterpart


def paired_free_therapy(therapy_id: str, *, catalog=None) -> Therapy:
    """The free counterpart of a nano-formulation given at the nano's dose, schedule and route
    (a catalog :class:`Therapy` whose id ends in ``_paired``)."""
    from immunocycle.catalog._store import load_catalog

    cat = catalog or load_catalog()
    nano = cat.therapy(therapy_id)
    free = cat.therapy(free_counterpart(therapy_id, catalog=cat))
    dose = nano.dose.model_copy(update={"co_loading": {}})
    return free.model_copy(update={"id": f"{free.id}_paired", "dose": dose,
                                   "schedule": nano.schedule, "route": nano.route})


def dissolves(formulation: Formulation) -> bool:
    """True for a carrier that releases its payload in blood within minutes (albumin-bound
    particles): faster than ``pk_link.yaml`` ``dissolving_release_per_h``. Its payload then
    distributes as the free agent (its molecule class's tissue access), with the plasma
    clearance and central volume measured after giving the formulation (``carrier_pk``)."""
    return formulation.release.k_blood_per_h >= _link_settings()["dissolving_release_per_h"]


def release_per_day(entry: Therapy, catalog) -> float:
    """First-order release of payload from its carrier in blood (1/day; 0 for a free drug)."""
    if entry.is_free:
        return 0.0
    return catalog.formulations[entry.formulation].release.k_blood_per_h * 24.0


__all__ = ["AGENT_PK_KEYS", "cycle_pk", "dissolves", "dose_in", "free_counterpart", "paired_free_therapy",
           "release_per_day", "release_pk", "to_cycle_therapy"]
