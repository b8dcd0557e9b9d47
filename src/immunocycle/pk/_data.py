"""Parameter files of the PK layer (``immunocycle/data/pk/*.yaml``): values with units and sources.

Every number the PBPK model uses lives in one of these files; this module reads them and derives
the human parameter set (human physiology + mouse particle kinetics scaled allometrically).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from immunocycle._errors import InputError
from immunocycle._paths import PACKAGE_DATA
from immunocycle.model import load_parameter_set

PK_DATA = PACKAGE_DATA / "pk"
SPECIES = ("mouse", "human")
PAYLOADS = ("doxorubicin", "nivolumab")

# Particle-specific first-order rate constants (1/h) scaled from mouse to human; everything
# else is physiology (species file) or scale-free.
_RATE_NAMES = tuple(f"K{o}RES{k}" for o in ("L", "S", "K", "Lu", "M", "R", "T")
                    for k in ("release", "max"))
# Organ phagocytes whose human uptake/release carry the fitted human factors (allometry.yaml);
# the tumor's come from the property model.
MPS_ORGANS = ("L", "S", "K", "Lu", "M", "R")
_ROUTE_RATES = ("k_lymph_max", "k_blood_small", "k_blood_floor", "k_site_phago", "k_ln_capture",
                "k_ln_efflux", "k_ln_release", "k_it_release")


@dataclass(frozen=True)
class Value:
    """One parameter: value in ``units``, with what it is and where it comes from."""

    value: float
    units: str
    description: str
    source: str


def _read(name: str) -> dict[str, Value]:
    pset = load_parameter_set(PK_DATA / f"{name}.yaml")
    return {k: Value(p.value, p.units, p.description, p.source) for k, p in pset.parameters.items()}


@functools.cache
def allometric_exponents() -> dict[str, float]:
    """Exponents ``b`` of simple allometry, ``y = y_ref (BW / BW_ref)^b`` (``allometry.yaml``).

    Returns
    -------
    dict
        ``rate`` (first-order rate constants, -0.25), ``clearance`` (clearances and flows, 0.75)
        and ``volume`` (distribution volumes, 1), dimensionless.
    """
    p = _read("allometry")
    return {"rate": p["rate_exponent"].value, "clearance": p["clearance_exponent"].value,
            "volume": p["volume_exponent"].value}


@functools.cache
def human_mps_factors() -> dict[str, float]:
    """The fitted human phagocytic-uptake factors of ``allometry.yaml``.

    Returns
    -------
    dict
        ``uptake_scale`` and ``release_scale`` (multipliers on the allometrically scaled
        KxRESmax and KxRESrelease of liver, spleen, kidney, lung, muscle and rest),
        ``non_peg_factor`` (extra uptake multiplier for carriers without a stealth surface) and
        ``onset_h`` (K50 of the uptake law in humans, h).
    """
    p = _read("allometry")
    return {"uptake_scale": p["human_mps_uptake_scale"].value,
            "release_scale": p["human_mps_release_scale"].value,
            "non_peg_factor": p["human_non_peg_uptake_factor"].value,
            "onset_h": p["human_mps_onset_h"].value}


@functools.cache
def human_mps_values(uptake_scale: float, release_scale: float, onset_h: float,
                     pegylated: bool = True, non_peg_factor: float = 1.0) -> dict[str, float]:
    """Human organ-phagocyte parameters for given factors (mouse value x allometry x factor).

    Used by :func:`species_parameters` with the fitted factors, and by the human fit
    (:mod:`immunocycle.pk._human`) to try others.
    """
    mouse = {**_read("mouse")}
    ratio = _read("human")["BW"].value / mouse["BW"].value
    allo = ratio ** allometric_exponents()["rate"]
    up = uptake_scale * (1.0 if pegylated else non_peg_factor)
    out = {}
    for o in MPS_ORGANS:
        out[f"K{o}RESmax"] = mouse[f"K{o}RESmax"].value * allo * up
        out[f"K{o}RESrelease"] = mouse[f"K{o}RESrelease"].value * allo * release_scale
        out[f"K{o}RES50"] = float(onset_h)
    return out


@functools.cache
def species_parameters(species: str) -> dict[str, Value]:
    """Physiology and particle kinetics of ``species`` ("mouse" or "human").

    Human: ICRP 89 / Brown 1997 physiology (``human.yaml``) plus the mouse particle parameters,
    with first-order rate constants times ``(BW_h/BW_m)^-0.25`` (``allometry.yaml``). The organ
    phagocytes' uptake and release are further multiplied by factors fitted to human
    nanomedicine PK (:func:`human_mps_factors`, ``human_nano_pk.yaml``), and their uptake starts
    at once (K50 = ``human_mps_onset_h``) instead of rising over days as in the mouse fits. The
    factors are for a PEGylated (stealth) surface; :func:`human_mps_values` gives the values
    for a non-PEGylated one.

    Raises
    ------
    ValueError
        If ``species`` is not one of :data:`SPECIES` (the message names the field).
    """
    if species not in SPECIES:
        raise InputError(f"species: unknown species {species!r}; choose one of {', '.join(SPECIES)}")
    mouse = {**_read("mouse"), **_read("routes")}
    if species == "mouse":
        return mouse
    human = _read("human")
    b = allometric_exponents()["rate"]
    ratio = human["BW"].value / mouse["BW"].value
    out = dict(mouse)
    for name, v in mouse.items():
        if name in _RATE_NAMES or name in _ROUTE_RATES:
            out[name] = Value(v.value * ratio ** b, v.units, v.description,
                              f"{v.source}; scaled to human x (BW ratio)^{b} (allometry.yaml)")
    fit = human_mps_factors()
    for name, value in human_mps_values(fit["uptake_scale"], fit["release_scale"],
                                        fit["onset_h"]).items():
        v = mouse[name]
        out[name] = Value(value, v.units, v.description,
                          f"{v.source}; human: allometry x fitted factor (allometry.yaml human_mps_*)")
    out.update(human)
    return out


@functools.cache
def payload_parameters(name: str) -> dict[str, Value]:
    """Two-compartment PK of a free payload as published (``payload_<name>.yaml``).

    Raises
    ------
    ValueError
        If no payload file of that name exists (the message names the field and the choices).
    """
    if name not in PAYLOADS:
        raise InputError(f"payload: unknown payload {name!r}; choose one of {', '.join(PAYLOADS)}")
    return _read(f"payload_{name}")


def scaled_payload(name: str, body_weight_kg: float) -> dict[str, float]:
    """Payload CL, Q (L/h), V1, V2 (L) and ka_sc (1/h) scaled to a body weight.

    Simple allometry from the reference weight of the source (:func:`allometric_exponents`):
    clearances with exponent 0.75, volumes with 1, the absorption rate constant with -0.25
    (Anderson BJ, Holford NHG. Annu Rev Pharmacol Toxicol 2008;48:303).
    """
    p = payload_parameters(name)
    r = body_weight_kg / p["reference_BW"].value
    b = allometric_exponents()
    cl, v, rate = r ** b["clearance"], r ** b["volume"], r ** b["rate"]
    return {"CL_f": p["CL"].value * cl, "Q_f": p["Q"].value * cl, "V1_f": p["V1"].value * v,
            "V2_f": p["V2"].value * v, "ka_sc_f": p["ka_sc"].value * rate}
