"""Toxicity check kind: the grade >= 3 probability of an organ AE law (or of any organ law) for
an arm in the human reference patient (:func:`immunocycle.trial.predict_ae`; exact plasma PK x
organ factors, no trial, so it is fast and deterministic):
``check: {kind: organ_ae, arm: "urelumab_free@1mg/kg:q3w", law: hepatotoxicity}``.
"""

from __future__ import annotations

from immunocycle.validate._registry import Measurement, NotModelled, arg, check_kind


@check_kind("organ_ae")
def organ_ae(check, ctx) -> Measurement:
    """Probability (fraction) of a grade >= 3 AE of organ law ``law`` (default: any organ law)
    for ``arm`` over ``days`` (default 365) in the human reference patient."""
    from immunocycle.trial import predict_ae

    arm = arg(check, "arm")
    law = arg(check, "law", None)
    result = predict_ae(arm, days=float(arg(check, "days", 365.0)))
    if law is None:
        return Measurement(result["any"], detail=f"{arm}: any organ law, reference patient")
    if law not in result["laws"]:
        raise NotModelled(f"no organ AE law {law!r} (laws: {sorted(result['laws'])})")
    return Measurement(result["laws"][law], detail=f"{arm}: {law}, reference patient")
