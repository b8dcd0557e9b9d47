"""Fit of the cap conditioning (:mod:`immunocycle.trial._conditioning`): per calibrated cohort
and cap, the multiplier on the calibrated parameter and the shift of the AE offset that keep the
cohort's calibration regimen at its fitted ORR and AE expectation, on a grid of the cap.

    python scripts/condition_cap_priors.py --jobs 2   # writes data/trial/cap_conditioning.yaml
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path
from typing import Any

import numpy as np

from immunocycle.trial._conditioning import CAPS, CONDITIONING_FILE, load_conditioning

#: Factors on a cap at which the compensating multiplier is fitted (1 is the calibration).
GRID = (0.25, 0.5, 2.0, 4.0)
#: Relative multipliers of the first, coarse search; the second searches the bracket found.
_COARSE = tuple(2.0 ** k for k in range(-3, 5))
_FINE = 6


def _orr(task, factors: tuple[str, ...], rows: list[tuple[float, ...]], n: int) -> np.ndarray:
    """ORR of the task's first arm per row of factors (one replicate per row, same patients)."""
    return _run(task, factors, rows, n)[0]


def _run(task, factors: tuple[str, ...], rows: list[tuple[float, ...]], n: int):
    """``(ORR per row, the frame)`` of the task's first arm, one replicate per row of factors."""
    from immunocycle.cycle import compiled_cycle_model
    from immunocycle.trial._uncertainty import ReplicateDraws

    model = compiled_cycle_model(task.cohort.base)
    known = model.default_values()
    draws = ReplicateDraws(columns=(), values=tuple(() for _ in rows), factors=factors,
                           factor_values=tuple(tuple(r) for r in rows),
                           defaults=tuple(float(known[f]) for f in factors))
    frame = dataclasses.replace(task, replicates=draws)(0, n)
    ev = frame[frame["evaluable"] & (frame["arm_index"] == 0)]
    resp = ev["bor"].isin(["CR", "PR"]).groupby(ev["replicate"]).mean()
    return resp.reindex(range(len(rows))).to_numpy(float), frame


def _included(frame, replicate: int):
    """The first arm's included patients of one replicate (whose AE drivers the offset acts on)."""
    return frame[(frame["replicate"] == replicate) & (frame["arm_index"] == 0)
                 & frame["included"]]


def _ae_rate(task, frame, replicate: int, shift: float = 0.0) -> float:
    """Mean P(any grade >= 3 AE) of the included patients of one replicate, at the task's AE
    offset plus ``shift`` (the calibration fits the offset to this expectation)."""
    from immunocycle.trial._toxicity import any_ae_probability

    return float(np.mean(any_ae_probability(_included(frame, replicate),
                                            task.ae_offset + shift)))


def _ae_shift(task, frame, replicate: int, target: float) -> float:
    """The shift of the AE offset that brings one replicate's mean P(any AE) to ``target``."""
    from immunocycle.trial._toxicity import fit_ae_offset

    return float(fit_ae_offset(_included(frame, replicate), target)) - task.ae_offset


def _crossing(rs: np.ndarray, orr: np.ndarray, target: float) -> float | None:
    """log r at which ORR (rising in r) crosses ``target``, None if it never does."""
    ok = np.isfinite(orr)
    rs, orr = rs[ok], orr[ok]
    for k in range(len(rs) - 1):
        if orr[k] <= target <= orr[k + 1] and orr[k + 1] > orr[k]:
            w = (target - orr[k]) / (orr[k + 1] - orr[k])
            return float((1 - w) * math.log(rs[k]) + w * math.log(rs[k + 1]))
    return None


def fitted_record(name: str) -> dict[str, float | None]:
    """The calibration a cohort's conditioning was fitted at (``fitted.yaml``): its multiplier,
    AE offset and new-lesion rate; :func:`stale` compares it with today's."""
    from immunocycle.population import fitted_values

    fv = fitted_values(name)
    return {"multiplier": fv.multiplier, "ae_offset": fv.ae_offset,
            "new_lesion_rate": fv.new_lesion_rate}


def stale(path: Path = CONDITIONING_FILE) -> dict[str, str]:
    """Cohorts whose conditioning was fitted at another calibration than ``fitted.yaml``'s
    (``{cohort: what differs}``): after ``cohort calibrate``, ``python
    scripts/condition_cap_priors.py --jobs 2`` must derive the file again."""
    out = {}
    for name, fit in load_conditioning(path).items():
        was, now = fit.get("fitted"), fitted_record(name)
        if was is None:
            out[name] = "no calibration recorded"
            continue
        diff = [f"{k} {was.get(k)} there, {v} in fitted.yaml" for k, v in now.items()
                if was.get(k) != v]
        if diff:
            out[name] = "; ".join(diff)
    return out


def fit_cohort(name: str, *, n: int = 300, seed: int = 0, log=print) -> dict[str, Any]:
    """The compensating multipliers of one calibrated cohort: ``{cap: {"factor": [...],
    "log_multiplier": [... or None]}, "orr": the calibration regimen's ORR, "regimen", "n"}``."""
    from immunocycle.population import load_cohort
    from immunocycle.trial import make_task

    cohort = load_cohort(name)
    regimen = cohort.calibration.regimen
    task = make_task(name, [regimen], seed=seed)
    par = task.parameter
    orr0, frame0 = _run(task, (par,), [(1.0,)], n)
    target = float(orr0[0])
    ae_target = _ae_rate(task, frame0, 0)
    out: dict[str, Any] = {"regimen": regimen, "orr": round(target, 4),
                           "ae_any_expected": round(ae_target, 4), "n": n, "seed": seed,
                           "parameter": par, "fitted": fitted_record(name)}
    coarse = np.array(_COARSE)
    for cap in CAPS:
        logs, shifts = [], []
        for g in GRID:
            orr = _orr(task, (cap, par), [(g, r) for r in coarse], n)
            x = _crossing(coarse, orr, target)
            if x is not None:  # refine inside the bracket
                k = int(np.searchsorted(np.log(coarse), x))
                lo, hi = coarse[max(k - 1, 0)], coarse[min(k, len(coarse) - 1)]
                fine = np.exp(np.linspace(math.log(lo), math.log(hi), _FINE + 2))
                orr_f = _orr(task, (cap, par), [(g, r) for r in fine], n)
                x = _crossing(fine, orr_f, target) or x
            logs.append(None if x is None else round(x, 4))
            shift = None
            if x is not None:  # the AE offset that keeps the calibrated AE expectation there
                _, frame = _run(task, (cap, par), [(g, math.exp(x))], n)
                shift = round(_ae_shift(task, frame, 0, ae_target), 4)
            shifts.append(shift)
            if log:
                log(f"{name}: {cap} x{g:g}: " + ("no multiplier in "
                    f"{coarse[0]:g}-{coarse[-1]:g} reaches ORR {target:.3f}" if x is None
                    else f"multiplier x{math.exp(x):.3f} keeps ORR {target:.3f}, AE offset "
                         f"{shift:+.3f} keeps P(AE) {ae_target:.3f}"))
        out[cap] = {"factor": list(GRID), "log_multiplier": logs, "ae_offset_shift": shifts}
    return out


def derive(cohorts: list[str] | None = None, *, n: int = 300, seed: int = 0, jobs: int = 1,
           path: Path = CONDITIONING_FILE, log=print) -> Path:
    """Fit every calibrated human cohort (``cohorts``; default all with a fitted ORR target)
    and write ``path``."""
    import yaml

    from immunocycle.population import available_cohorts, load_cohort

    if cohorts is None:
        cohorts = [c for c in available_cohorts() if (cc := load_cohort(c)).calibration is not None
                   and cc.calibration.orr and cc.calibration.orr > 0]
    if jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: the parent's numba threads (OpenMP) make fork unsafe
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            fits = list(pool.map(functools.partial(fit_cohort, n=n, seed=seed, log=None),
                                 cohorts))
    else:
        fits = [fit_cohort(c, n=n, seed=seed, log=log) for c in cohorts]
    body = {"note": "derived by `python scripts/condition_cap_priors.py --jobs 2` "
                    f"(n {n}, seed {seed}); do not edit by hand (trial/_conditioning_fit.py)",
            "cohorts": dict(zip(cohorts, fits, strict=True))}
    path.write_text(yaml.safe_dump(body, sort_keys=False, width=100))
    return path


__all__ = ["GRID", "derive", "fit_cohort", "fitted_record", "stale"]
