r"""Nanoparticle PBPK model (Lin 2016 / Cheng 2020 structure) with routes, lymph node and payload.

Structure (mouse defaults as in the G1 code of Cheng YH et al. ACS Nano 2020, doi
10.1021/acsnano.9b08142; Lin Z et al. 2016 Nanotoxicology, doi 10.3109/17435390.2016.1162339):
arterial and venous plasma; lung, brain, muscle, kidney, spleen, liver, rest of body and tumor, each
with capillary blood (``_b``), tissue (``_t``) and, except brain, phagocytic cells (``_res``).

* permeability-limited exchange: blood -> tissue ``PA_i C_b``, tissue -> blood ``PA_i C_t / P_i``
  with ``PA_i = PA_iC Q_i`` (lung: ``PA_LuC QC``);
* phagocytic uptake rising with time, ``K_max t^n / (K50^n + t^n)``, optionally capped by
  ``(1 - A_RES / (A_cap V))`` (``res_capacity_on``), from tissue (from sinusoidal blood in the liver),
  first-order release;
* bile from liver tissue; urine from kidney blood, with glomerular filtration of particles below
  ~5.5 nm (``f_renal``, Choi HS et al. Nat Biotechnol 2007;25:1165, doi 10.1038/nbt1340);
* a tumor-draining lymph node fed by tumor lymph, and a separate vaccine-draining node fed by an
  s.c./i.d. injection-site depot with size-dependent drainage (Reddy 2007, doi 10.1038/nbt1332;
  an injection at a distant site drains to its own basin, not to the tumor's); both nodes have
  the same volume and capture, release and efflux constants (assumption); an intratumoral
  retention depot.

Amounts are in mg, time in hours. With a payload, the carrier-bound payload (``PB_*``) follows the
carrier's transport and is released first order (with an optional triggered interval) into a free
payload model (``PF_*``): a two-compartment popPK whose peripheral volume is spread over the organs
in proportion to their volume, so that free drug given i.v. follows its published model exactly.
"""

from __future__ import annotations

from collections.abc import Mapping

from immunocycle._errors import InputError
from immunocycle.model import Assignment, Compartment, Dose, Model, Parameter, Reaction, Species
from immunocycle.pk._data import Value, species_parameters

ROUTES = ("iv", "sc", "id", "it")

# organ code -> (label, phagocytes: None | "tissue" | "blood")
ORGANS = {
    "Lu": ("lung", "tissue"), "Br": ("brain", None), "M": ("muscle", "tissue"),
    "R": ("rest", "tissue"), "K": ("kidney", "tissue"), "S": ("spleen", "tissue"),
    "L": ("liver", "blood"), "T": ("tumor", "tissue"),
}
# Organs fed by arterial blood (lung sits between venous and arterial blood).
_SYSTEMIC = ("Br", "M", "R", "K", "S", "L", "T")
_PART = {"b": "capillary blood", "t": "tissue", "res": "phagocytic cells"}


def _carrier_locations() -> list[tuple[str, str]]:
    """(suffix, description) of every place a particle can be."""
    locs = [("art", "arterial plasma"), ("ven", "venous plasma")]
    for code, (label, res) in ORGANS.items():
        parts = ("b", "t", "res") if res else ("b", "t")
        locs += [(f"{code}_{p}", f"{label} {_PART[p]}") for p in parts]
    locs += [("urine", "excreted in urine"), ("bile", "excreted in bile"),
             ("site", "s.c./i.d. injection site, free"),
             ("site_cell", "injection site, captured by local macrophages"),
             ("ln", "tumor-draining lymph node, free"), ("ln_cell", "lymph node, captured by cells"),
             ("vln", "vaccine-draining lymph node (of the injection site), free"),
             ("vln_cell", "vaccine-draining lymph node, captured by cells"),
             ("it", "intratumoral injection depot")]
    return locs


def _fluxes() -> list[tuple[str, str, str, str | None]]:
    """Transport of a particle (or of payload inside it): (name, rate, from, to).

    ``{x}`` in a rate stands for the amount at location ``x`` (filled in per tracked quantity).
    """
    f = [("ven_to_lung", "QC * {ven} / (0.8 * V_plasma)", "ven", "Lu_b"),
         ("lung_to_art", "QC * {Lu_b} / V_Lu_b", "Lu_b", "art")]
    for o in _SYSTEMIC:
        f.append((f"art_to_{o}", f"Q_{o} * {{art}} / (0.2 * V_plasma)", "art", f"{o}_b"))
    for o in ("Br", "M", "R", "K", "L", "T"):
        f.append((f"{o}_to_ven", f"Q_{o}_out * {{{o}_b}} / V_{o}_b", f"{o}_b", "ven"))
    f.append(("S_to_L", "Q_S * {S_b} / V_S_b", "S_b", "L_b"))
    for o, (_, res) in ORGANS.items():
        f.append((f"{o}_b_to_t", f"PA_{o} * {{{o}_b}} / V_{o}_b", f"{o}_b", f"{o}_t"))
        f.append((f"{o}_t_to_b", f"PA_{o} * {{{o}_t}} / (V_{o}_t * P{o})", f"{o}_t", f"{o}_b"))
        if res:
            src = f"{o}_b" if res == "blood" else f"{o}_t"
            f.append((f"{o}_res_uptake", f"K_{o}_up * {{{src}}}", src, f"{o}_res"))
            f.append((f"{o}_res_release", f"K{o}RESrelease * {{{o}_res}}", f"{o}_res", src))
    f += [("urine", "CL_urine * {K_b} / V_K_b", "K_b", "urine"),
          ("bile", "Kbile * {L_t} / V_L_t", "L_t", "bile"),
          ("tumor_lymph", "tumor_lymph_frac * Q_T * {T_t} / V_T_t", "T_t", "ln"),
          ("site_lymph", "k_lymph * {site}", "site", "vln"),
          ("site_blood", "k_site_blood * {site}", "site", "ven"),
          ("site_capture", "k_site_phago * {site}", "site", "site_cell"),
          ("ln_capture", "k_ln_capture * {ln}", "ln", "ln_cell"),
          ("ln_release", "k_ln_release * {ln_cell}", "ln_cell", "ln"),
          ("ln_efflux", "k_ln_efflux * {ln}", "ln", "ven"),
          ("vln_capture", "k_ln_capture * {vln}", "vln", "vln_cell"),
          ("vln_release", "k_ln_release * {vln_cell}", "vln_cell", "vln"),
          ("vln_efflux", "k_ln_efflux * {vln}", "vln", "ven"),
          ("it_release", "k_it_release * {it}", "it", "T_t")]
    return f


def _free_site(loc: str) -> str | None:
    """Where payload released at a carrier location goes in the free-payload model."""
    if loc in ("urine", "bile"):
        return None
    if loc in ("art", "ven") or loc.endswith("_b") and not loc.startswith("T_"):
        return "central"
    if loc in ("site", "site_cell"):
        return "site"
    if loc in ("ln", "ln_cell"):
        return "ln"
    if loc in ("vln", "vln_cell"):
        return "vln"
    if loc == "it":
        return "T"
    return loc.split("_")[0]


def _organ_assignments(model: Model) -> None:
    a = []
    a += [("QC", "QCC * BW**0.75", "L/h", "cardiac output"),
          ("QRC", "1 - (QLC + QKC + QSC + QTC + QBrC + QMC)", "dimensionless",
           "fraction of cardiac output to the rest of body"),
          ("VRC", "VbodyC - (VLC + VLuC + VKC + VSC + VBrC + VMC + VTC + VPlasC)", "L/kg",
           "rest-of-body volume per kg"),
          ("V_plasma", "BW * VPlasC", "L", "plasma volume")]
    for o in ("L", "K", "Br", "S", "M", "T", "R"):
        a.append((f"Q_{o}", f"QC * Q{o}C", "L/h", f"blood flow to {ORGANS[o][0]}"))
    # The G1 code returns only the hepatic-artery flow from the liver; the spleen's outflow
    # passes through the liver too, so it is returned here as well (mass is conserved either way).
    a.append(("Q_L_out", "Q_L + Q_S", "L/h", "liver outflow (hepatic artery + splenic)"))
    for o in ("Br", "M", "R", "K", "T"):
        a.append((f"Q_{o}_out", f"Q_{o}", "L/h", f"outflow of {ORGANS[o][0]}"))
    for o, (label, res) in ORGANS.items():
        a.append((f"V_{o}", f"BW * V{o}C", "L", f"{label} volume"))
        a.append((f"V_{o}_b", f"V_{o} * BV{o}", "L", f"{label} capillary blood volume"))
        a.append((f"V_{o}_t", f"V_{o} - V_{o}_b", "L", f"{label} tissue volume"))
        basis = "QC" if o == "Lu" else f"Q_{o}"
        a.append((f"PA_{o}", f"PA{o}C * {basis}", "L/h", f"{label} permeability-surface area product"))
        if res:
            hill = f"K{o}RESmax * t**K{o}RESn / (K{o}RES50**K{o}RESn + t**K{o}RESn)"
            cap = f"(1 - res_capacity_on * NP_{o}_res / (A{o}REScap * V_{o}))"
            a.append((f"K_{o}_up", f"{hill} * {cap}", "1/h", f"{label} phagocytic uptake rate constant"))
    a += [("V_LN", "BW * VLNC", "L", "lymph node volume"),
          ("Kbile", "KbileC * BW**0.75", "L/h", "biliary clearance"),
          ("CL_urine", "KurineC * BW**0.75 + f_renal * GFRC * BW**0.75", "L/h",
           "urinary clearance of particles (baseline + glomerular filtration)")]
    for name, expr, units, desc in a:
        model.add(Assignment(name, expr, units, desc))


def _add_carrier(model: Model, prefix: str, what: str) -> list[str]:
    names = []
    for loc, desc in _carrier_locations():
        name = f"{prefix}_{loc}"
        model.add(Species(name, "body", 0.0, "mg", True, f"{what}: {desc}"))
        names.append(name)
    for rname, rate, src, dst in _fluxes():
        text = rate.replace("{", "{" + prefix + "_")
        text = text.format(**{f"{prefix}_{loc}": f"{prefix}_{loc}" for loc, _ in _carrier_locations()})
        stoich = {f"{prefix}_{src}": -1.0}
        if dst is not None:
            stoich[f"{prefix}_{dst}"] = 1.0
        model.add(Reaction(f"r_{prefix}_{rname}", text, stoich))
    return names


def _add_payload(model: Model) -> None:
    """Carrier-bound payload (PB_*), its release, and the free payload (PF_*)."""
    _add_carrier(model, "PB", "carrier-bound payload")
    tissues = list(ORGANS)
    free = [("central", "central compartment (plasma; concentration = popPK central)")]
    free += [(o, f"{ORGANS[o][0]} (free payload in the whole organ)") for o in tissues]
    free += [("ln", "lymph node"), ("vln", "vaccine-draining lymph node"),
             ("site", "injection site"), ("elim", "eliminated")]
    for loc, desc in free:
        model.add(Species(f"PF_{loc}", "body", 0.0, "mg", True, f"free payload: {desc}"))
    model.add(Assignment("V_organs", " + ".join(f"V_{o}" for o in tissues), "L",
                         "sum of organ volumes the peripheral volume is spread over"))
    model.add(Assignment("Kp_f", "V2_f / V_organs", "dimensionless",
                         "uniform tissue:plasma partition of free payload (V2 spread by volume)"))
    model.add(Assignment("C_free_blood", "PF_central / V1_f", "mg/L",
                         "free payload concentration in plasma (popPK central)"))
    model.add(Assignment("C_free_tumor", "PF_T / V_T", "mg/L", "free payload in tumor (organ mean)"))
    model.add(Assignment("C_free_ln", "PF_ln / V_LN", "mg/L", "free payload in the lymph node"))
    model.add(Assignment("C_free_vln", "PF_vln / V_LN", "mg/L",
                         "free payload in the vaccine-draining lymph node"))
    for o in tissues:
        if o != "T":
            model.add(Assignment(f"C_free_{ORGANS[o][0]}", f"PF_{o} / V_{o}", "mg/L",
                                 f"free payload in {ORGANS[o][0]} (organ mean)"))
    model.add(Reaction("PF_elimination", "CL_f * PF_central / V1_f", {"PF_central": -1, "PF_elim": 1}))
    for o in tissues:
        # CLd_o = Q_f V_o / sum V: every organ then has k21 = Q_f / V2_f, exactly the popPK.
        model.add(Reaction(f"PF_exchange_{o}",
                           f"Q_f * V_{o} / V_organs * (PF_central / V1_f - PF_{o} / (V_{o} * Kp_f))",
                           {"PF_central": -1, f"PF_{o}": 1}))
    model.add(Reaction("PF_site_absorption", "ka_sc_f * PF_site", {"PF_site": -1, "PF_central": 1}))
    model.add(Reaction("PF_ln_efflux", "k_ln_efflux * PF_ln", {"PF_ln": -1, "PF_central": 1}))
    model.add(Reaction("PF_vln_efflux", "k_ln_efflux * PF_vln", {"PF_vln": -1, "PF_central": 1}))
    # Release: first order, with the rate switched to k_trig in [t_trig_on, t_trig_off]
    # (in the tumor only if trig_tumor_only = 1). Expressions have no conditionals (and min/max
    # make the engine's symbolic Jacobian explode), so the window is a difference of two smooth
    # algebraic steps x / sqrt(x^2 + w^2) of width ramp_h; the builder adds zero doses at the
    # window edges so the solver restarts there and cannot step over the window.
    step_on = "(t - t_trig_on) / sqrt((t - t_trig_on)**2 + ramp_h**2)"
    step_off = "(t - t_trig_off) / sqrt((t - t_trig_off)**2 + ramp_h**2)"
    window = f"(0.5 * ({step_on} - {step_off}))"
    model.add(Assignment("k_rel_tumor", f"k_rel + (k_trig - k_rel) * {window}", "1/h",
                         "payload release rate constant in the tumor"))
    model.add(Assignment("k_rel_other", f"k_rel + (k_trig - k_rel) * (1 - trig_tumor_only) * {window}",
                         "1/h", "payload release rate constant outside the tumor"))
    for loc, _ in _carrier_locations():
        dest = _free_site(loc)
        if dest is None:
            continue
        k = "k_rel_tumor" if dest == "T" else "k_rel_other"
        model.add(Reaction(f"PB_release_{loc}", f"{k} * PB_{loc}",
                           {f"PB_{loc}": -1, f"PF_{dest}": 1}))


def _parameter_meta() -> dict[str, tuple[str, str, str]]:
    """Units, description and source of the parameters set by the builder (not in species files)."""
    return {
        "dose_mg_per_kg": ("mg/kg", "carrier dose per administration", "formulation input"),
        "loading": ("dimensionless", "payload mass per carrier mass (mg/mg)", "formulation input"),
        "free_dose_mg_per_kg": ("mg/kg", "free payload dose per administration", "formulation input"),
        "f_renal": ("dimensionless", "glomerular sieving of the particle (from its diameter)",
                    "Choi 2007 (doi 10.1038/nbt1340): filtration below ~5.5 nm; see renal_sieving()"),
        "k_lymph": ("1/h", "lymphatic drainage from the injection site (from diameter and route)",
                    "routes.yaml; see lymph_drainage()"),
        "k_site_blood": ("1/h", "uptake into blood from the injection site (from diameter)",
                         "routes.yaml; see blood_absorption()"),
        "k_rel": ("1/h", "first-order payload release from the carrier", "formulation input"),
        "k_trig": ("1/h", "release rate constant during the triggered interval", "formulation input"),
        "t_trig_on": ("h", "start of the triggered-release interval", "formulation input"),
        "t_trig_off": ("h", "end of the triggered-release interval", "formulation input"),
        "trig_tumor_only": ("dimensionless", "1: the trigger acts in the tumor only", "formulation input"),
        "ramp_h": ("h", "width of the ramps at the trigger edges", "numerical choice"),
        "CL_f": ("L/h", "free payload clearance", "payload file, scaled allometrically"),
        "Q_f": ("L/h", "free payload intercompartmental clearance", "payload file, scaled"),
        "V1_f": ("L", "free payload central volume", "payload file, scaled"),
        "V2_f": ("L", "free payload peripheral volume", "payload file, scaled"),
        "ka_sc_f": ("1/h", "free payload absorption from an injection site", "payload file, scaled"),
    }


def pbpk_structure(payload: bool, route: str = "iv", infusion_h: float = 0.0,
                   dose_times_h: tuple[float, ...] = (0.0,),
                   trigger: tuple[float, float] | None = None) -> Model:
    """The PBPK model with every parameter at its mouse default (see :func:`build_pbpk`)."""
    if route not in ROUTES:
        raise InputError(f"route: unknown route {route!r}; choose one of {', '.join(ROUTES)}")
    model = Model("nanoparticle_pbpk" + ("_payload" if payload else ""), "hour",
                  source="immunocycle.pk.build_pbpk",
                  description="Nanoparticle PBPK (Lin 2016 / Cheng 2020) with routes and lymph node")
    defaults = species_parameters("mouse")
    for name, v in defaults.items():
        model.add(Parameter(name, float(v.value), v.units, v.description, v.source))
    meta = _parameter_meta()
    for name in ("dose_mg_per_kg", "f_renal", "k_lymph", "k_site_blood"):
        units, desc, src = meta[name]
        model.add(Parameter(name, 1.0 if name == "dose_mg_per_kg" else 0.0, units, desc, src))
    model.add(Compartment("body", "BW * VbodyC", "L", "whole body (species are amounts)"))
    _organ_assignments(model)
    _add_carrier(model, "NP", "carrier")
    model.add(Assignment("tumor_amount", "NP_T_b + NP_T_t + NP_T_res + NP_it", "mg",
                         "particles in the tumor (including an intratumoral depot)"))
    model.add(Assignment("blood_amount", "NP_art + NP_ven", "mg", "particles in plasma"))
    model.add(Assignment("ln_amount", "NP_ln + NP_ln_cell", "mg", "particles in the lymph node"))
    model.add(Assignment("vln_amount", "NP_vln + NP_vln_cell", "mg",
                         "particles in the vaccine-draining lymph node"))
    targets = {"iv": "ven", "sc": "site", "id": "site", "it": "it"}
    target = targets[route]
    model.add(Dose(f"NP_{target}", "dose_mg_per_kg * BW", tuple(dose_times_h), infusion_h, "carrier"))
    if payload:
        for name in ("loading", "free_dose_mg_per_kg", "k_rel", "k_trig", "t_trig_on", "t_trig_off",
                     "trig_tumor_only", "ramp_h", "CL_f", "Q_f", "V1_f", "V2_f", "ka_sc_f"):
            units, desc, src = meta[name]
            default = {"ramp_h": 0.01, "t_trig_off": 1.0, "CL_f": 1.0, "Q_f": 1.0, "V1_f": 1.0,
                       "V2_f": 1.0, "ka_sc_f": 1.0}.get(name, 0.0)
            model.add(Parameter(name, default, units, desc, src))
        _add_payload(model)
        model.add(Dose(f"PB_{target}", "loading * dose_mg_per_kg * BW", tuple(dose_times_h),
                       infusion_h, "bound_payload"))
        free_target = {"iv": "central", "sc": "site", "id": "site", "it": "T"}[route]
        model.add(Dose(f"PF_{free_target}", "free_dose_mg_per_kg * BW", tuple(dose_times_h),
                       infusion_h, "free_payload"))
        if trigger is not None:
            # Zero doses: breakpoints that make the solver restart at the trigger edges.
            model.add(Dose("PF_elim", 0.0, tuple(sorted(trigger)), 0.0, "trigger_edges"))
    return model


def with_values(model: Model, values: Mapping[str, float | Value]) -> Model:
    """A copy of ``model`` with parameter values replaced (floats or :class:`Value`)."""
    return model.with_values({k: (v.value if isinstance(v, Value) else float(v))
                              for k, v in values.items()})
