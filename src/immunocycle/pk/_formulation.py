"""Formulation inputs -> PBPK parameter values: size laws, release, tumor parameters.

A particle (:class:`immunocycle.pk.Particle`) gives its carrier class, size, surface and dose; its
tumor PBPK parameters come from the property model (``default_model().predict``) unless given
explicitly. Its diameter sets renal filtration and injection-site drainage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

from immunocycle._errors import InputError
from immunocycle.pk._data import (
    PAYLOADS,
    allometric_exponents,
    scaled_payload,
    species_parameters,
)
from immunocycle.pk._pbpk import ROUTES
from immunocycle.pk._properties import PARAM_COLUMNS, RENAL_CUTOFF_NM, Particle, default_model

TUMOR_PARAMETERS = ("QTC", "VTC", "BVT", *PARAM_COLUMNS)
DEFAULT_DIAMETER_NM = 100.0  # used (and noted) when a particle's size is not reported
_RENAL_STEEPNESS = 8.0  # Hill exponent of the sieving curve around the cutoff


class Release(BaseModel):
    """Payload release from the carrier.

    Parameters
    ----------
    rate_per_h : float
        First-order release rate constant, 1/h (>= 0).
    trigger_start_h, trigger_end_h : float or None
        Interval (h after the first dose) in which the release rate is ``trigger_rate_per_h``
        (heat, light or ultrasound triggers); None for no trigger.
    trigger_rate_per_h : float
        Release rate constant during the interval, 1/h (>= 0).
    trigger_tumor_only : bool
        True: the trigger acts in the tumor only (local hyperthermia, light); False: everywhere.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate_per_h: float = Field(default=0.0, ge=0)
    trigger_start_h: float | None = Field(default=None, ge=0)
    trigger_end_h: float | None = Field(default=None, ge=0)
    trigger_rate_per_h: float = Field(default=0.0, ge=0)
    trigger_tumor_only: bool = True

    @model_validator(mode="after")
    def _interval(self) -> Release:
        on, off = self.trigger_start_h, self.trigger_end_h
        if (on is None) != (off is None):
            raise ValueError("trigger_start_h and trigger_end_h must be given together")
        if on is not None and off <= on:
            raise ValueError(f"trigger_end_h ({off}) must be after trigger_start_h ({on})")
        return self

    @property
    def trigger(self) -> tuple[float, float] | None:
        if self.trigger_start_h is None:
            return None
        return (float(self.trigger_start_h), float(self.trigger_end_h))


def renal_sieving(diameter_nm: float) -> float:
    """Fraction of glomerular filtration a particle of this hydrodynamic diameter undergoes.

    A Hill curve with midpoint at the ~5.5 nm cutoff (Choi HS et al. Nat Biotechnol
    2007;25:1165, doi 10.1038/nbt1340): about 1 below 4 nm, 0.5 at 5.5 nm, < 0.01 above 10 nm.
    """
    return 1.0 / (1.0 + (diameter_nm / RENAL_CUTOFF_NM) ** _RENAL_STEEPNESS)


def lymph_drainage(diameter_nm: float, route: str, species: str = "mouse") -> float:
    """Lymphatic drainage rate constant (1/h) from an s.c. or i.d. injection site.

    ``k_lymph_max / (1 + (d / d50_lymph)^h_lymph)``, times ``id_lymph_factor`` for i.d.
    (``routes.yaml``; calibrated to the qualitative targets of Reddy 2007 / Howard 2019 / Rao 2010).
    """
    p = species_parameters(species)
    k = p["k_lymph_max"].value / (1.0 + (diameter_nm / p["d50_lymph"].value) ** p["h_lymph"].value)
    return k * (p["id_lymph_factor"].value if route == "id" else 1.0)


def blood_absorption(diameter_nm: float, species: str = "mouse") -> float:
    """Rate constant (1/h) of direct uptake into blood from an injection site (``routes.yaml``)."""
    p = species_parameters(species)
    small = p["k_blood_small"].value / (1.0 + (diameter_nm / p["d50_blood"].value) ** p["h_blood"].value)
    return small + p["k_blood_floor"].value


def tumor_parameters(particle: Particle | None, species: str,
                     tumor: Mapping[str, float] | None = None) -> tuple[dict[str, float], bool, str]:
    """Tumor PBPK parameters of a particle: predicted by the property model, or given.

    Parameters
    ----------
    particle : Particle or None
        None (free drug): the species file's tumor defaults.
    species : str
    tumor : mapping, optional
        Explicit values for any of :data:`TUMOR_PARAMETERS` (QTC, VTC in L/kg, BVT, KTRESrelease
        and KTRESmax in 1/h, KTRES50 in h, KTRESn, PT, PATC); they override the prediction.

    Returns
    -------
    values, out_of_domain, notes
        Mouse-scale predictions are scaled to human with the allometric exponent of
        ``allometry.yaml``; ``out_of_domain`` and ``notes`` come from the property model.
    """
    values: dict[str, float] = {}
    ood, notes = False, ""
    if tumor is not None:
        unknown = set(tumor) - set(TUMOR_PARAMETERS)
        if unknown:
            raise InputError(f"tumor: unknown tumor parameter(s) {sorted(unknown)}; "
                             f"choose from {', '.join(TUMOR_PARAMETERS)}")
        bad = {k: v for k, v in tumor.items() if not (float(v) > 0 and math.isfinite(float(v)))}
        if bad:
            raise InputError(f"tumor: parameters must be positive and finite, got {bad}")
    if particle is not None and not (tumor is not None and set(PARAM_COLUMNS) <= set(tumor)):
        pred = default_model().predict(particle).iloc[0]
        values = {k: float(pred[k]) for k in PARAM_COLUMNS}
        ood, notes = bool(pred["out_of_domain"]), str(pred["domain_notes"])
        if species == "human":
            mouse, human = species_parameters("mouse"), species_parameters("human")
            ratio = human["BW"].value / mouse["BW"].value
            b = allometric_exponents()["rate"]
            values["KTRESrelease"] *= ratio ** b
            values["KTRESmax"] *= ratio ** b
        elif particle.tumor_weight_g is not None:
            values["VTC"] = particle.tumor_weight_g / particle.body_weight_g  # L/kg at 1 kg/L
    values.update({k: float(v) for k, v in (tumor or {}).items()})
    return values, ood, notes


def payload_values(payload: str, body_weight_kg: float) -> dict[str, float]:
    """Free-payload parameters for the model (``CL_f``, ``Q_f``, ``V1_f``, ``V2_f``, ``ka_sc_f``)."""
    if payload not in PAYLOADS:
        raise InputError(f"payload: unknown payload {payload!r}; choose one of {', '.join(PAYLOADS)}")
    return scaled_payload(payload, body_weight_kg)


def pbpk_values(species: str, route: str, particle: Particle | None, payload: str | None,
                release: Release | None, tumor: Mapping[str, float] | None = None,
                loading: float = 0.1, free_dose_mg_per_kg: float = 0.0,
                ) -> tuple[dict[str, float], bool, str]:
    """All parameter values of one formulation (model units), with the domain flag and notes."""
    if route not in ROUTES:
        raise InputError(f"route: unknown route {route!r}; choose one of {', '.join(ROUTES)}")
    base = species_parameters(species)  # validates species
    if not (loading >= 0 and math.isfinite(loading)):
        raise InputError(f"loading: must be >= 0 (mg payload per mg carrier), got {loading}")
    if not (free_dose_mg_per_kg >= 0 and math.isfinite(free_dose_mg_per_kg)):
        raise InputError(f"free_dose_mg_per_kg: a dose must be >= 0, got {free_dose_mg_per_kg}")
    values = {k: float(v.value) for k, v in base.items()}
    notes = []
    if species == "mouse" and particle is not None:
        values["BW"] = particle.body_weight_g / 1000.0
    tvals, ood, tnotes = tumor_parameters(particle, species, tumor)
    values.update(tvals)
    if tnotes:
        notes.append(tnotes)
    diameter = particle.diameter_nm if particle is not None else None
    if particle is not None and diameter is None:
        diameter = DEFAULT_DIAMETER_NM
        notes.append(f"diameter not given: {DEFAULT_DIAMETER_NM:g} nm used for renal and lymph laws")
    values["dose_mg_per_kg"] = particle.dose_mg_per_kg if particle is not None else 0.0
    values["f_renal"] = renal_sieving(diameter) if diameter is not None else 0.0
    values["k_lymph"] = lymph_drainage(diameter, route, species) if diameter is not None else 0.0
    values["k_site_blood"] = blood_absorption(diameter, species) if diameter is not None else 0.0
    if payload is not None:
        release = release or Release()
        values.update(payload_values(payload, values["BW"]))
        values.update({"loading": loading if particle is not None else 0.0,
                       "free_dose_mg_per_kg": free_dose_mg_per_kg, "k_rel": release.rate_per_h,
                       "k_trig": release.trigger_rate_per_h,
                       "trig_tumor_only": 1.0 if release.trigger_tumor_only else 0.0,
                       "ramp_h": 0.01})
        on, off = release.trigger or (0.0, 0.0)
        values["t_trig_on"], values["t_trig_off"] = on, off
    elif release is not None:
        raise InputError("release: a release law needs a payload (payload=...)")
    return values, ood, "; ".join(notes)
