"""Human nanomedicine PK check kinds (issue 16): the human PBPK's total-drug half-life,
clearance or Vss of a product of ``data/pk/human_nano_pk.yaml``
(``check: {kind: human_nano_pk, product: doxil, metric: half_life_h}``), and the 64Cu-MM-302
tumor deposition (``check: {kind: human_tumor_deposition, time_h: 24}``, %ID/kg) and the held-out
liposome deposition by tumor size (``check: {kind: human_tumor_deposition_by_size, group: lung}``).
"""

from __future__ import annotations

from immunocycle.validate._registry import Measurement, NotModelled, arg, check_kind

_METRICS = ("half_life_h", "clearance_l_per_h", "vss_l")


@check_kind("human_nano_pk")
def human_nano_pk(check, ctx) -> Measurement:
    """Predicted ``metric`` (half_life_h, clearance_l_per_h, vss_l) of ``product``."""
    from immunocycle.pk import human_product_pk

    product, metric = arg(check, "product"), arg(check, "metric", "half_life_h")
    if metric not in _METRICS:
        raise NotModelled(f"metric {metric!r} not one of {_METRICS}")
    value = human_product_pk(product)[metric]
    return Measurement(value, detail=f"{product}: total drug, human PBPK (human_nano_pk.yaml)")


@check_kind("human_tumor_deposition")
def human_tumor_deposition(check, ctx) -> Measurement:
    """Predicted 64Cu-MM-302 tumor deposition (%ID/kg) at ``time_h`` (24 or 48)."""
    from immunocycle.pk import mm302_deposition

    time_h = float(arg(check, "time_h", 24.0))
    pred = mm302_deposition()["predicted_pct_id_per_kg"]
    key = f"{time_h:g}h"
    if key not in pred:
        raise NotModelled(f"deposition predicted at {sorted(pred)} only")
    return Measurement(pred[key], detail="human PBPK, 36 g tumor, property-model tumor parameters")


@check_kind("human_tumor_deposition_by_size")
def human_tumor_deposition_by_size(check, ctx) -> Measurement:
    """Predicted PEGylated-liposome deposition (%ID/kg) at 72 h in a tumor group of Harrington
    2001 (``group``: head_and_neck, lung, breast), held out."""
    from immunocycle.pk import harrington_deposition

    group = arg(check, "group")
    groups = harrington_deposition()["groups"]
    if group not in groups:
        raise NotModelled(f"group {group!r} not one of {sorted(groups)}")
    g = groups[group]
    return Measurement(g["predicted_pct_id_per_kg"],
                       detail=f"human PBPK, {g['volume_cm3']:g} g tumor at 0.2 mL/min/g")
