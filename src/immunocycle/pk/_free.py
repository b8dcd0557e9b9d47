"""Free-drug comparators: two-compartment PK of a small molecule or an antibody (time in hours).

The same parameters (``data/pk/payload_<name>.yaml``) also define the free-payload sub-model of
the PBPK model, which reduces exactly to this model when the free drug is given i.v.
"""

from __future__ import annotations

from immunocycle._errors import InputError
from immunocycle.model import Assignment, Compartment, Dose, Model, Parameter, Reaction, Species
from immunocycle.pk._data import payload_parameters, scaled_payload


def build_free_pk(payload: str = "doxorubicin", body_weight_kg: float | None = None,
                  dose_mg_per_kg: float = 1.0, infusion_h: float = 0.0,
                  dose_times_h: tuple[float, ...] = (0.0,)) -> Model:
    """Two-compartment model (CL, V1, Q, V2) of a free drug, i.v. bolus or infusion.

    Parameters
    ----------
    payload : {"doxorubicin", "nivolumab"}
        Doxorubicin: Kunarajah 2017 CL/V1 with Speth 1988 Vss; nivolumab: Bajaj 2017
        (CL 9.5 mL/h, VC 3.63 L, Q 32.9 mL/h, VP 2.78 L).
    body_weight_kg : float, optional
        Scales clearances (exponent 0.75) and volumes (1) from the source's reference weight;
        default: the reference weight itself.
    dose_mg_per_kg : float
        Dose per administration, mg/kg (> 0).
    infusion_h : float
        Infusion duration, h (0: bolus).
    dose_times_h : tuple of float
        Administration times, h.

    Returns
    -------
    Model
        States ``A_c``, ``A_p`` (mg); assignment ``C_c`` (plasma, mg/L).
    """
    ref = payload_parameters(payload)
    if dose_mg_per_kg <= 0:
        raise InputError(f"dose_mg_per_kg: a dose must be > 0, got {dose_mg_per_kg}")
    bw = float(body_weight_kg if body_weight_kg is not None else ref["reference_BW"].value)
    if bw <= 0:
        raise InputError(f"body_weight_kg: must be > 0, got {bw}")
    v = scaled_payload(payload, bw)
    m = Model(f"free_{payload}", "hour", source=f"immunocycle.pk.build_free_pk({payload!r})")
    src = {k: ref[k].source for k in ("CL", "V1", "V2", "Q")}
    m.add(Parameter("CL", v["CL_f"], "L/h", "clearance", src["CL"] + "; scaled to body weight"),
          Parameter("V1", v["V1_f"], "L", "central volume", src["V1"] + "; scaled"),
          Parameter("V2", v["V2_f"], "L", "peripheral volume", src["V2"] + "; scaled"),
          Parameter("Q", v["Q_f"], "L/h", "intercompartmental clearance", src["Q"] + "; scaled"),
          Parameter("dose_mg_per_kg", float(dose_mg_per_kg), "mg/kg", "dose", "input"),
          Parameter("BW", bw, "kg", "body weight", "input"))
    m.add(Compartment("central", "V1", "L"), Compartment("peripheral", "V2", "L"))
    m.add(Species("A_c", "central", 0.0, "mg"), Species("A_p", "peripheral", 0.0, "mg"))
    m.add(Assignment("C_c", "A_c / V1", "mg/L", "plasma concentration"))
    m.add(Reaction("elimination", "CL * A_c / V1", {"A_c": -1}),
          Reaction("distribution", "Q * (A_c / V1 - A_p / V2)", {"A_c": -1, "A_p": 1}))
    m.add(Dose("A_c", "dose_mg_per_kg * BW", tuple(dose_times_h), infusion_h, "free_drug"))
    return m
