"""Organ-level exposure of a PBPK run: AUC and Cmax per organ of the carrier, of the payload still
inside its carrier (bound) and of the released (free) payload.

Concentrations are organ means (amount in the organ's capillary blood, tissue and phagocytes over
the organ volume; plasma for ``blood``), in mg/L; AUCs in mg h/L over the run's horizon. Free
payload is the PBPK's free-payload model (a two-compartment popPK whose peripheral volume is spread
over the organs, ``immunocycle.pk._pbpk``), so a free drug given i.v. has the same free AUC ratio
(its uniform tissue:plasma partition ``Kp_f``) in every organ; a carrier changes the ratios by
where it goes and where it releases its payload (phagocytes of liver and spleen, the tumor).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from immunocycle.pk._pbpk import ORGANS

#: Organ rows of :func:`organ_exposure`, plasma first.
ORGAN_ROWS = ("blood", *(label for label, _ in ORGANS.values()), "lymph_node")


def _auc(t: np.ndarray, y: np.ndarray) -> float:
    return float(np.trapezoid(y, t))


def _organ_amount(sim, prefix: str, code: str) -> np.ndarray:
    parts = ("b", "t", "res") if ORGANS[code][1] else ("b", "t")
    return sum(sim[f"{prefix}_{code}_{p}"][0] for p in parts)


def organ_exposure(result) -> pd.DataFrame:
    """AUC and Cmax per organ of carrier, carrier-bound payload and free payload.

    Parameters
    ----------
    result : PKResult
        From :func:`immunocycle.pk.run_pk`.

    Returns
    -------
    DataFrame
        Index :data:`ORGAN_ROWS`; columns ``auc_carrier``, ``cmax_carrier`` (carrier mg/L and
        mg h/L), and with a payload ``auc_bound``, ``cmax_bound``, ``auc_free``, ``cmax_free``
        (payload), ``volume_l``. Without a particle the carrier and bound columns are 0.
    """
    sim, v = result.simulation, result.parameters
    t = np.asarray(sim.times, dtype=float)
    names = set(sim.state_names)
    has_carrier = "NP_art" in names
    has_payload = "PF_central" in names
    bw = float(v["BW"])
    vol = {"blood": bw * float(v["VPlasC"]), "lymph_node": bw * float(v["VLNC"])}
    for code, (label, _) in ORGANS.items():
        vol[label] = bw * float(v[f"V{code}C"]) if f"V{code}C" in v else float("nan")
    if not np.isfinite(vol.get("rest", np.nan)):
        others = sum(float(v[f"V{c}C"]) for c in ORGANS if c != "R")
        vol["rest"] = bw * (float(v["VbodyC"]) - others - float(v["VPlasC"]))
    rows = {}
    for label in ORGAN_ROWS:
        row = {"volume_l": vol[label]}
        for prefix, key in (("NP", "carrier"), ("PB", "bound")):
            if (prefix == "NP" and not has_carrier) or (prefix == "PB" and not has_payload):
                conc = np.zeros_like(t)
            elif label == "blood":
                conc = (sim[f"{prefix}_art"][0] + sim[f"{prefix}_ven"][0]) / vol[label]
            elif label == "lymph_node":
                conc = (sim[f"{prefix}_ln"][0] + sim[f"{prefix}_ln_cell"][0]) / vol[label]
            else:
                code = next(c for c, (lab, _) in ORGANS.items() if lab == label)
                amount = _organ_amount(sim, prefix, code)
                if code == "T":
                    amount = amount + sim[f"{prefix}_it"][0]
                conc = amount / vol[label]
            row[f"auc_{key}"] = _auc(t, conc)
            row[f"cmax_{key}"] = float(np.max(conc))
        if has_payload:
            free = {"blood": "C_free_blood", "lymph_node": "C_free_ln", "tumor": "C_free_tumor"}
            conc = np.asarray(sim[free.get(label, f"C_free_{label}")][0], dtype=float)
            row["auc_free"] = _auc(t, conc)
            row["cmax_free"] = float(np.max(conc))
        rows[label] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("organ")


__all__ = ["ORGAN_ROWS", "organ_exposure"]
