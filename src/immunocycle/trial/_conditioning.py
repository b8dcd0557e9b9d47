r"""Cap priors conditioned on each cohort's calibration (issue 13, part 3).

Two efficacy caps bind in every PD-1 arm: the homeostatic space ``f_CD8_space`` and the antigen
threshold ``K_neo_kill``. A cohort's multiplier on ``k_rec`` was fitted with them at their
values, so drawing either alone would contradict the trial the cohort is fitted to (melanoma's
nivolumab arm goes from 0.7 % to 70 % ORR as ``f_CD8_space`` goes from x0.2 to x5). Conditioned
on the calibration, a value :math:`g` of a cap comes with the multiplier :math:`r(g)` that keeps
the cohort's calibration regimen at the ORR it is fitted to:

.. math::
    \mathrm{ORR}(f \cdot g,\; m \cdot r(g)) = \mathrm{ORR}(f, m),

found on the same virtual patients (common random numbers) on a grid of :math:`g`, with the
shift of the AE log-odds offset that keeps the regimen's expected grade >= 3 AE rate (the
activation driver follows the T-cell response, hence the caps); where no
multiplier in the searched range reaches it, the data exclude that value and the prior is cut
there. A human cohort without its own fit (an archetype, a tumor type without an ORR target)
borrows the fitted cohorts' mean for the homeostatic space (:data:`BORROWED`). A replicate draws :math:`\log g` from the cap's prior truncated to the feasible range and
scales ``k_rec`` by :math:`r(g)` and shifts the AE offset (linear interpolation in
:math:`\log g`; the compensations of the two caps combine).

The fit is in :mod:`immunocycle.trial._conditioning_fit`; ``python
scripts/condition_cap_priors.py --jobs 2`` derives ``data/trial/cap_conditioning.yaml`` again
(about 15 CPU-minutes).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np

from immunocycle._paths import PACKAGE_DATA

CONDITIONING_FILE = PACKAGE_DATA / "trial" / "cap_conditioning.yaml"
#: The caps conditioned on the calibration.
CAPS = ("f_CD8_space", "K_neo_kill")


@functools.cache
def load_conditioning(path: Path = CONDITIONING_FILE) -> dict[str, Any]:
    """The cohorts' conditioning (empty if the file is absent)."""
    import yaml

    if not Path(path).is_file():
        return {}
    return dict((yaml.safe_load(Path(path).read_text()) or {}).get("cohorts") or {})


#: Caps whose conditioning a human cohort without its own fit borrows (the mean over the fitted
#: cohorts): the homeostatic space trades against kill per effector alike in every fitted cohort
#: (x0.25 needs x3.7-3.9), while the antigen threshold's compensation depends on where the
#: cohort's TMB lies (x4 needs x1.48 in RCC, x0.85 in MSI-high CRC), so it is not borrowed.
BORROWED = ("f_CD8_space",)


@functools.cache
def borrowed_entry(path: Path = CONDITIONING_FILE) -> dict[str, Any]:
    """The conditioning of a human cohort without its own fit: per grid point of each
    :data:`BORROWED` cap, the mean log multiplier of the fitted cohorts (a point infeasible in
    any of them is infeasible) and no AE shift. The shift keeps a cohort's own fitted AE rate
    where the activation driver moves with the cap; a cohort without a fit has no such rate,
    and in the archetypes activation sits at its floor, so the borrowed shift only biased
    their AE rates upwards (session 15: every replicate of the demo's fresolimumab triplet +1
    patient)."""
    fits = load_conditioning(path)
    if not fits:
        return {}
    params = {f.get("parameter") for f in fits.values()}
    out: dict[str, Any] = {"regimen": "borrowed (mean of " + ", ".join(sorted(fits)) + ")",
                           "parameter": params.pop() if len(params) == 1 else None}
    for cap in BORROWED:
        entries = [f[cap] for f in fits.values() if cap in f]
        if not entries or out["parameter"] is None:
            continue
        grid = entries[0]["factor"]
        logs, shifts = [], []
        for k in range(len(grid)):
            vals = [e["log_multiplier"][k] for e in entries]
            ok = all(v is not None for v in vals)
            logs.append(float(np.mean(vals)) if ok else None)
            shifts.append(0.0 if ok else None)
        out[cap] = {"factor": list(grid), "log_multiplier": logs, "ae_offset_shift": shifts}
    return out


def cohort_conditioning(cohort: str, species: str) -> dict[str, Any]:
    """The conditioning a cohort's draws use: its own fit, else for a human cohort the
    borrowed one (:func:`borrowed_entry`), else none (mouse models)."""
    fits = load_conditioning()
    if cohort in fits:
        return dict(fits[cohort])
    return borrowed_entry() if species == "human" else {}


def feasible(entry: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(log g, log r, AE offset shift)`` of a cap's feasible grid points with the calibration
    (0, 0, 0), sorted and contiguous around it (a gap ends the range)."""
    shifts = entry.get("ae_offset_shift") or [0.0] * len(entry["factor"])
    pts = [(math.log(g), r, d) for g, r, d in zip(entry["factor"], entry["log_multiplier"],
                                                   shifts, strict=True)]
    below = sorted((p for p in pts if p[0] < 0), reverse=True)
    above = sorted(p for p in pts if p[0] > 0)
    keep = [(0.0, 0.0, 0.0)]
    for side in (below, above):
        for x, r, d in side:
            if r is None:
                break
            keep.append((x, r, d))
    keep.sort()
    return tuple(np.array([k[i] for k in keep]) for i in range(3))


def conditioned_draw(entry: dict[str, Any], sigma: float, z: float
                     ) -> tuple[float, float, float]:
    """``(log g, log r, d)``: the cap's factor drawn from ``N(0, sigma^2)`` truncated to the
    feasible range (``z`` a standard normal, mapped through the normal CDF), and there the
    compensating log multiplier and shift of the AE log-odds offset."""
    from scipy.stats import norm

    xs, rs, ds = feasible(entry)
    a, b = norm.cdf(xs[0] / sigma), norm.cdf(xs[-1] / sigma)
    u = a + norm.cdf(z) * (b - a)
    x = float(sigma * norm.ppf(min(max(u, 1e-12), 1 - 1e-12)))
    x = min(max(x, xs[0]), xs[-1])
    return x, float(np.interp(x, xs, rs)), float(np.interp(x, xs, ds))


__all__ = ["BORROWED", "CAPS", "CONDITIONING_FILE", "borrowed_entry", "cohort_conditioning",
           "conditioned_draw", "feasible", "load_conditioning"]

