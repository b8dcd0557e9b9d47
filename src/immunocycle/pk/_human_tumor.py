"""Human tumors of a given size in the PBPK, and the held-out check of liposome deposition by size.

The human PBPK's tumor (``human.yaml``) is a 36 g lesion (``VTC``) perfused at 0.2 mL/min/g
(``QTC``, Vaupel 1989 Cancer Res 49:6449; vascular volume ``BVT`` from Jain 1988).
:func:`human_tumor` gives the parameters of a lesion of another mass at the same perfusion per
gram: ``VTC = m / BW`` (L/kg at 1 kg/L) and ``QTC = QTC_0 m / m_0``. Permeability and phagocytic
retention still come from the property model (trained on mouse tumors; the human tumor
deposition of 64Cu-MM-302 falls in its published range, :func:`~immunocycle.pk.mm302_deposition`).

:func:`harrington_deposition` predicts the deposition (%ID per kg of tumor) of PEGylated
liposomes at 72 h in tumors of the three sizes Harrington et al. 2001 imaged
(``human_tumor_size.yaml``), held out: at a fixed perfusion per gram the model's deposition per kg
hardly changes with size, while the patients' fell from 33 (36 cm3 head and neck) to 5.3 %ID/kg
(235 cm3 breast); the tumor types differ too, so the data do not separate size from type.
"""

from __future__ import annotations

import functools

import numpy as np
import yaml

from immunocycle._errors import InputError
from immunocycle.pk._data import PK_DATA, species_parameters

SIZE_FILE = PK_DATA / "human_tumor_size.yaml"


def human_tumor(mass_g: float) -> dict[str, float]:
    """``VTC`` (L/kg) and ``QTC`` (fraction of cardiac output) of a human tumor of ``mass_g``
    grams at the human file's perfusion per gram (for ``run_pk(..., tumor=...)``)."""
    if not (float(mass_g) > 0 and np.isfinite(float(mass_g))):
        raise InputError(f"mass_g: must be a positive number of grams, got {mass_g!r}")
    p = species_parameters("human")
    bw, vtc, qtc = p["BW"].value, p["VTC"].value, p["QTC"].value
    m0 = vtc * bw * 1000.0  # g at 1 kg/L
    return {"VTC": float(mass_g) / 1000.0 / bw, "QTC": qtc * float(mass_g) / m0}


@functools.cache
def harrington_deposition() -> dict:
    """Predicted PEGylated-liposome deposition (%ID/kg) at 72 h per tumor group of Harrington
    2001 against the published mean and SD (held out: not fitted).

    Returns
    -------
    dict
        ``groups``: name -> ``{volume_cm3, predicted_pct_id_per_kg, predicted_pct_id,
        observed_pct_id_per_kg, sd, within_2sd}``; ``source``; ``size_ratio`` (predicted and
        observed deposition per kg of the smallest over the largest group).
    """
    from immunocycle.pk._properties import Particle
    from immunocycle.pk._run import run_pk

    data = yaml.safe_load(SIZE_FILE.read_text())["harrington2001"]
    out = {}
    for name, g in data["groups"].items():
        mass = float(g["volume_cm3"])  # g at 1 g/mL
        particle = Particle(carrier_class="Organic", diameter_nm=data["diameter_nm"],
                            tumor_model="Xenograft Heterotopic", cancer_type=g["cancer_type"],
                            dose_mg_per_kg=data["dose_mg_per_kg"])
        res = run_pk(particle, species="human", tumor=human_tumor(mass),
                     horizon_h=data["time_h"] + 24.0)
        pct = res.pct_id["tumor"]
        at = float(np.interp(data["time_h"], pct.index, pct.to_numpy()))
        pred = at / (mass / 1000.0)
        obs, sd = float(g["pct_id_per_kg"]), float(g["sd"])
        out[name] = {"volume_cm3": mass, "predicted_pct_id_per_kg": pred, "predicted_pct_id": at,
                     "observed_pct_id_per_kg": obs, "sd": sd,
                     "within_2sd": bool(abs(pred - obs) <= 2.0 * sd)}
    names = sorted(out, key=lambda k: out[k]["volume_cm3"])
    small, large = out[names[0]], out[names[-1]]
    return {"label": data["label"], "source": data["source"], "groups": out,
            "size_ratio": {"predicted": small["predicted_pct_id_per_kg"]
                           / large["predicted_pct_id_per_kg"],
                           "observed": small["observed_pct_id_per_kg"]
                           / large["observed_pct_id_per_kg"]}}


__all__ = ["harrington_deposition", "human_tumor"]
