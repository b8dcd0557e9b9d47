"""Link of the catalog to the nanoparticle PBPK (:mod:`immunocycle.pk`): exposure of RELEASED
payload in tumor and tumor-draining lymph node relative to blood, per catalog nano-formulation.

The cycle model carries one four-compartment agent PK dosed into blood (see
:mod:`immunocycle.catalog._convert`). For a nano-formulation its blood amount is the payload as
delivered (carrier-bound plus released; plasma clearance = carrier clearance + release), and its
tumor and lymph-node concentrations drive the therapy effects. Only released payload acts, so the
tumor and node concentrations of the cycle model are set to track the PBPK's RELEASED payload:

    r_T  = AUC(released payload, tumor)      / AUC(total payload, plasma)
    r_LN = AUC(released payload, lymph node) / AUC(total payload, plasma)

The denominator is the total (bound + free) payload in plasma because that is what the cycle
model's blood concentration ``conc_C`` is; the free-over-free ratios the PBPK reports
(``free_payload_auc``) are given as well (``free_tumor_over_free_blood``, ...) for reference: the
free plasma concentration of the cycle run is derived from ``conc_C`` by the release rate
(:func:`immunocycle.catalog.simulate_catalog`), so matching free/free on ``conc_T / conc_C``
would overstate tissue exposure by the total/free plasma ratio (about 2400 for Doxil).

How "released payload" is traced, by agent class (``Agent.molecule``):

* ``small_molecule``: the PBPK's doxorubicin payload model (``data/pk/payload_doxorubicin.yaml``)
  is the tracer of "a released small molecule": carrier-bound payload follows the carrier and is
  released first order (``release.k_blood_per_h``; ``release.k_site_per_h``, if given, acts in
  the tumor for the whole run, the PBPK's tumor-only trigger); released drug distributes and
  clears as free doxorubicin. The PBPK's tissue concentration is the organ mean, which for a
  small molecule includes tissue-bound drug (doxorubicin's tissue:plasma partition ``Kp_f`` is
  about 25); the cycle model's ``conc_T`` is a free interstitial concentration (a free small
  molecule has ``conc_T`` about its plasma concentration there), so the organ means are divided
  by the tracer's ``Kp_f`` (unbound-equivalent concentration). Other small molecules (R848,
  oxaliplatin, cGAMP, ...) differ from doxorubicin in clearance and distribution: an
  approximation, said in every source string.
* biologics and materials (``antibody``, ``protein``, ``peptide``, ``oligonucleotide``,
  ``nanomaterial``): the carrier itself is the exposure proxy (its %ID per litre of tumor, node
  and plasma): a large molecule released from a carrier stays about where it was released, and a
  particle that is the agent (MnO2) acts where it is. Only carrier that can act counts: in the
  tumor's interstitium (with an intratumoral depot) and free in the node, not carrier in
  capillary blood or taken up by phagocytes (the PBPK's ``T_res`` and ``ln_cell``). (The PBPK's nivolumab payload would trace a
  released antibody, but its free model spreads IgG uniformly over all organs, which says nothing
  about the tumor; not used.)

The node: for s.c. and i.d. doses, the PBPK's vaccine-draining node (the one draining the
injection site); for i.v. and i.t. doses, the tumor-draining node. The cycle model has one lumped
priming node, so an agent acts on priming through the node it reaches (a vaccine loads DCs where
it drains).

Not represented by the PBPK (the caller falls back to the assumed factors of ``pk.yaml`` and the
formulation file): cell-borne carriers (``cell_hitchhiking``: T cells, platelets are not
particles) and routes the PBPK lacks (``intranodal``, ``peritumoral``, ``oral``, ``ip``).

Fixed inputs of every run (the catalog formulations do not give them): a human (ICRP 89) or 20 g
mouse, the property model's "Xenograft Heterotopic" breast tumor (for a human, of the cycle
model's tumor mass at the start of treatment, about 14 g, at human perfusion per gram:
:func:`immunocycle.pk.human_tumor`), a carrier dose of 5 mg/kg
with 10 % payload loading (the PBPK is linear in dose, so the ratios do not depend on it except
through the property model's dose feature), a single administration and a 672 h (28 day)
horizon. Results are cached in-process (:func:`functools.lru_cache`) by these properties.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from immunocycle.catalog._schema import Agent, Formulation

HORIZON_H = 672.0
NOMINAL_DOSE_MG_PER_KG = 5.0
NOMINAL_LOADING = 0.1
TUMOR_MODEL = "Xenograft Heterotopic"
CANCER_TYPE = "breast"
PBPK_ROUTES = ("iv", "sc", "id", "it")
SMALL_MOLECULE_TRACER = "doxorubicin"
BIOLOGIC_CLASSES = ("antibody", "protein", "peptide", "oligonucleotide", "nanomaterial")
# Catalog carrier -> the property model's carrier class. Cell-borne carriers are absent on purpose.
_CARRIER_CLASS = {
    **{c: "Organic" for c in ("liposome", "polymeric_np", "lipid_np", "nanodisc", "nanogel",
                              "micelle", "polymersome", "cyclodextrin_np", "polymer_conjugate",
                              "protein_np")},
    **{c: "Inorganic" for c in ("inorganic_gold", "inorganic_mno2", "inorganic_silica",
                                "inorganic_iron_oxide")},
    **{c: "Hybrid" for c in ("coordination_polymer", "cell_membrane")},
}


@dataclass(frozen=True)
class PBPKExposure:
    """PBPK exposure of released payload (or of the carrier, for biologics) for one formulation.

    Attributes
    ----------
    tumor_over_blood, ln_over_blood : float
        ``r_T`` and ``r_LN`` of the module docstring: released payload in tumor / node (unbound
        equivalent for small molecules; carrier for biologics) over total payload in plasma
        (for s.c., i.d. and i.t. doses: over the plasma of the same dose given i.v., the plasma
        the cycle model gives every route).
    free_tumor_over_free_blood, free_ln_over_free_blood : float
        The PBPK's free-payload AUC ratios as reported (organ means over free plasma); NaN for the
        carrier proxy.
    carrier_tumor_over_blood, carrier_ln_over_blood : float
        Carrier AUC ratios (per litre of tumor, node, plasma).
    carrier_half_life_h : float
        The carrier's plasma half-life in the PBPK (h).
    tracer : str
        ``"doxorubicin"`` (released small molecule) or ``"carrier"`` (biologic proxy).
    species, route : str
    size_nm : float
    out_of_domain : bool
        A property outside the property model's training range (see ``immunocycle.pk``).
    times_h, plasma, tumor, node : array
        The time courses behind the ratios after one dose, on the PBPK's grid (h): total payload
        in plasma (carrier for the biologic proxy) and the acting concentration in tumor and
        node, in one unit (ratios above are their AUC ratios); the cycle model's site kinetics
        are fitted to them (:mod:`immunocycle.catalog._kinetics`).
    """

    tumor_over_blood: float
    ln_over_blood: float
    free_tumor_over_free_blood: float
    free_ln_over_free_blood: float
    carrier_tumor_over_blood: float
    carrier_ln_over_blood: float
    carrier_half_life_h: float
    tracer: str
    species: str
    route: str
    size_nm: float
    out_of_domain: bool
    times_h: np.ndarray = field(default=None, repr=False, compare=False)
    plasma: np.ndarray = field(default=None, repr=False, compare=False)
    tumor: np.ndarray = field(default=None, repr=False, compare=False)
    node: np.ndarray = field(default=None, repr=False, compare=False)

    @property
    def source(self) -> str:
        what = ("released payload traced by the PBPK's doxorubicin model (organ mean / Kp_f)"
                if self.tracer == SMALL_MOLECULE_TRACER else "carrier %ID as the biologic's proxy")
        return (f"derived from the PBPK (immunocycle.pk.run_pk, {self.species}, {self.route}, "
                f"{self.size_nm:g} nm): {what}, AUC 0-{HORIZON_H:g} h over total plasma payload"
                + ("; out of the property model's domain" if self.out_of_domain else ""))


@functools.lru_cache(maxsize=4)
def _start_tumor_volume_l(species: str) -> float:
    """Tumor volume (L) of the untreated cycle preset at the start of treatment."""
    from immunocycle.cycle import simulate_cycle

    res = simulate_cycle(species, [], days=1.0, step=1.0)
    return float(res.patient(0)["tumor_volume"].iloc[0]) * 1e-6  # mm3 -> L


def _auc(t: np.ndarray, y: np.ndarray) -> float:
    return float(np.trapezoid(y, t)) if hasattr(np, "trapezoid") else float(np.trapz(y, t))


def carrier_class(formulation: Formulation) -> str | None:
    """The PBPK's carrier class of a formulation, or None when the PBPK cannot represent it."""
    cls = _CARRIER_CLASS.get(formulation.carrier)
    if cls == "Inorganic" and any("lipid" in s.lower() for s in formulation.surface):
        return "Hybrid"  # lipid-coated inorganic core
    return cls


def _targeted(formulation: Formulation) -> bool:
    lig = (formulation.ligand or "").strip().lower()
    return bool(lig) and not lig.startswith("none")


def tracer_for(agent: Agent) -> str:
    """``"doxorubicin"`` for a small-molecule agent, ``"carrier"`` for the others."""
    return SMALL_MOLECULE_TRACER if agent.molecule == "small_molecule" else "carrier"


def unlinked_reason(formulation: Formulation, route: str) -> str | None:
    """Why the PBPK cannot represent this formulation and route (None: it can)."""
    if carrier_class(formulation) is None:
        return f"carrier {formulation.carrier!r} is not a particle the PBPK represents"
    if route not in PBPK_ROUTES:
        return f"route {route!r} is not in the PBPK (iv, sc, id, it)"
    return None


def pbpk_exposure(formulation: Formulation, agent: Agent, route: str,
                  species: str = "human") -> PBPKExposure | None:
    """PBPK exposure ratios of a catalog nano-formulation's released payload (None when the
    PBPK cannot represent it; see :func:`unlinked_reason`)."""
    if unlinked_reason(formulation, route) is not None:
        return None
    r = formulation.release
    return _exposure(carrier_class(formulation), float(formulation.size_nm),
                     None if formulation.zeta_mv is None else float(formulation.zeta_mv),
                     _targeted(formulation), route, float(r.k_blood_per_h),
                     float(r.k_site_per_h or 0.0), species, tracer_for(agent))


def _release(k_release_per_h: float, k_site_per_h: float):
    """The payload release of a formulation: first order everywhere (1/h), plus a triggered rate
    in the tumor only when ``k_site_per_h`` > 0 (e.g. pH- or enzyme-triggered release)."""
    from immunocycle.pk import Release

    if k_site_per_h > 0:
        return Release(rate_per_h=k_release_per_h, trigger_start_h=0.0,
                       trigger_end_h=HORIZON_H + 1.0, trigger_rate_per_h=k_site_per_h,
                       trigger_tumor_only=True)
    return Release(rate_per_h=k_release_per_h)


@functools.lru_cache(maxsize=256)
def _exposure(carrier_cls: str, size_nm: float, zeta_mv: float | None, targeted: bool,
              route: str, k_release_per_h: float, k_site_per_h: float, species: str,
              tracer: str) -> PBPKExposure:
    from immunocycle.pk import OutOfDomainWarning, Particle, human_tumor, run_pk

    particle = Particle(carrier_class=carrier_cls, diameter_nm=size_nm, zeta_mv=zeta_mv,
                        targeted=targeted, tumor_model=TUMOR_MODEL, cancer_type=CANCER_TYPE,
                        dose_mg_per_kg=NOMINAL_DOSE_MG_PER_KG)
    release = _release(k_release_per_h, k_site_per_h)
    # A human tumor of the cycle model's size at the start of treatment, at human perfusion
    # per gram (pk.human_tumor); a mouse tumor as the property model gives it.
    tumor = (human_tumor(1e3 * _start_tumor_volume_l("human")) if species == "human" else None)
    with warnings.catch_warnings():
        # Out of the property model's domain: kept in the result's flag and the source string.
        warnings.simplefilter("ignore", OutOfDomainWarning)
        res = run_pk(particle, SMALL_MOLECULE_TRACER, release, species=species, route=route,
                     loading=NOMINAL_LOADING, horizon_h=HORIZON_H, tumor=tumor)
    sim, v, t = res.simulation, res.parameters, res.simulation.times
    v_plasma = v["BW"] * v["VPlasC"]
    v_tumor, v_ln = v["BW"] * v["VTC"], v["BW"] * v["VLNC"]
    pct = res.pct_id
    car_b = _auc(t, pct["blood"].to_numpy() / v_plasma)
    car_t = _auc(t, pct["tumor"].to_numpy() / v_tumor) / car_b
    # The node an agent acts through: the one draining its injection site for s.c./i.d. doses
    # (the PBPK's vaccine-draining node), else the tumor-draining node.
    depot_node = route in ("sc", "id")
    node_col, node_np, node_free = (("vaccine_node", "NP_vln", "C_free_vln") if depot_node
                                    else ("lymph_node", "NP_ln", "C_free_ln"))
    car_ln = _auc(t, pct[node_col].to_numpy() / v_ln) / car_b
    fa = res.free_payload_auc
    if tracer == SMALL_MOLECULE_TRACER:
        # Organ volumes sum to the body less plasma (the rest of body closes the balance).
        v_organs = v["BW"] * (v["VbodyC"] - v["VPlasC"])
        kp = v["V2_f"] / v_organs
        plasma = (sim["PB_art"][0] + sim["PB_ven"][0]) / v_plasma + sim["C_free_blood"][0]
        tumor, node = sim["C_free_tumor"][0] / kp, sim[node_free][0] / kp
        free_t, free_ln = fa["tumor"] / fa["blood"], fa[node_col] / fa["blood"]
    else:
        # Carrier that acts: in the tumor's interstitium (and an i.t. depot, which sits there)
        # and free in the node. Carrier in capillary blood is plasma, and carrier taken up by
        # phagocytes (the PBPK's T_res, ln_cell: 98% of the node's) is inside cells, where it
        # does not reach T cells or the node's DCs (their loading is the effect it drives).
        plasma = pct["blood"].to_numpy() / v_plasma
        pct_of = 100.0 / (v["dose_mg_per_kg"] * v["BW"])
        tumor = (sim["NP_T_t"][0] + sim["NP_it"][0]) * pct_of / v_tumor
        node = sim[node_np][0] * pct_of / v_ln
        free_t, free_ln = math.nan, math.nan
    if route != "iv":
        # The cycle model doses every route into blood with the carrier's i.v. plasma PK, so a
        # site's exposure is expressed over the plasma of the same dose given i.v.: the site
        # then gets the route's AUC per dose (an i.t. or s.c. depot's plasma AUC is much lower
        # than an i.v. dose's; over it, the ratio would multiply the i.v. plasma AUC).
        plasma = _exposure(carrier_cls, size_nm, zeta_mv, targeted, "iv", k_release_per_h,
                           k_site_per_h, species, tracer).plasma
    auc_p = _auc(t, plasma)
    return PBPKExposure(
        tumor_over_blood=_auc(t, tumor) / auc_p, ln_over_blood=_auc(t, node) / auc_p,
        free_tumor_over_free_blood=float(free_t), free_ln_over_free_blood=float(free_ln),
        carrier_tumor_over_blood=float(car_t), carrier_ln_over_blood=float(car_ln),
        carrier_half_life_h=float(res.blood_half_life_h), tracer=tracer, species=species,
        route=route, size_nm=size_nm, out_of_domain=bool(res.out_of_domain),
        times_h=np.asarray(t, dtype=float), plasma=np.asarray(plasma, dtype=float),
        tumor=np.asarray(tumor, dtype=float), node=np.asarray(node, dtype=float))


@functools.lru_cache(maxsize=64)
def pbpk_organ_table(carrier_cls: str | None, size_nm: float, zeta_mv: float | None, targeted: bool,
                     route: str, k_release: float, k_site: float):
    """Organ exposure table (:func:`immunocycle.pk.organ_exposure`) of a formulation in the
    human PBPK with the doxorubicin payload as tracer (``carrier_cls`` None: a free i.v. dose),
    at the nominal dose and loading over :data:`HORIZON_H`."""
    from immunocycle.pk import OutOfDomainWarning, Particle, organ_exposure, run_pk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfDomainWarning)
        if carrier_cls is None:
            res = run_pk(None, SMALL_MOLECULE_TRACER, None, species="human", route="iv",
                         free_dose_mg_per_kg=NOMINAL_DOSE_MG_PER_KG * NOMINAL_LOADING,
                         horizon_h=HORIZON_H)
        else:
            particle = Particle(carrier_class=carrier_cls, diameter_nm=size_nm, zeta_mv=zeta_mv,
                                targeted=targeted, tumor_model=TUMOR_MODEL,
                                cancer_type=CANCER_TYPE, dose_mg_per_kg=NOMINAL_DOSE_MG_PER_KG)
            release = _release(k_release, k_site)
            res = run_pk(particle, SMALL_MOLECULE_TRACER, release, species="human", route=route,
                         loading=NOMINAL_LOADING, horizon_h=HORIZON_H)
    return organ_exposure(res)


__all__ = ["BIOLOGIC_CLASSES", "HORIZON_H", "PBPKExposure", "carrier_class", "pbpk_exposure",
           "pbpk_organ_table", "tracer_for", "unlinked_reason"]
