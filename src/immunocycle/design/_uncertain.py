"""Effect-size uncertainty of a design's trial arms: prediction intervals and the chance of
beating the comparator (PD-1 blockade alone), from seeded replicates of every effect size over
the same virtual patients (:mod:`immunocycle.trial._uncertainty`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

#: Keys every confirmed regimen gets (None without replicates).
KEYS = ("orr_pi", "median_pfs_days_pi", "ae_grade3plus_rate_pi", "p_beats_comparator",
        "expected_orr_gain")


def arm_uncertainty(task, frame: pd.DataFrame, arms: list[str], *, n: int, days: float,
                    comparator: str, replicates: int | None = None,
                    out: str | Path | None = None) -> dict[str, Any]:
    """Per arm ``orr_pi``, ``median_pfs_days_pi``, ``ae_grade3plus_rate_pi`` (90 %),
    ``p_beats_comparator`` and ``expected_orr_gain`` (ORR points as a fraction, mean over the
    replicates), counting a patient only if evaluable in every arm (as the design does).

    Parameters
    ----------
    task : immunocycle.trial.TrialTask
        The design's (or confirmatory) trial task; its patients ``0..n-1`` are in ``frame``.
        Only ``arms`` are replicated (a design's single-agent and free-drug arms are not).
    frame : DataFrame
        The trial's rows (one per patient and arm).
    arms : list of str
    n : int
        Patients of the trial (replicates treat the first sampled ones that hold
        ``patients_per_replicate`` evaluable in every arm, :func:`immunocycle.trial.replicate_count`).
    days : float
    comparator : str
        The arm every other is compared with.
    replicates : int, optional
        Default 20 (``data/trial/uncertainty.yaml``); 0: none (every key None).
    out : path, optional
        Folder for a chunked, resumable replicate run (in memory if None).

    Returns
    -------
    dict
        ``{"arms": {arm: {key: value}}, "uncertainty": {replicates, patients_per_replicate,
        level}}``.
    """
    from immunocycle.trial import (
        load_priors,
        replicate_count,
        replicate_task,
        uncertainty,
    )

    priors = load_priors()
    r = priors.replicates if replicates is None else int(replicates)
    if r < 1:
        return {"arms": {a: dict.fromkeys(KEYS) for a in arms},
                "uncertainty": {"replicates": 0}}
    if tuple(arms) != tuple(task.arms):  # replicate only the arms asked for
        idx = [list(task.arms).index(a) for a in arms]
        task = replace(task, arms=tuple(arms),
                       arm_therapies=tuple(task.arm_therapies[i] for i in idx))
        frame = frame[frame["arm"].isin(list(arms))]
    m = replicate_count(frame[frame["patient_id"] < int(n)], arms, priors=priors)
    if m < 1:  # no patient evaluable in every arm: the replicates would say nothing
        return {"arms": {a: dict.fromkeys(KEYS) for a in arms},
                "uncertainty": {"replicates": 0, "patients_per_replicate": 0}}
    rep = replicate_task(task, replicates=r, priors=priors)
    chunk = max(1, 200 // r)  # patients per batched solve (rows: chunk x replicates x arms)
    if out is None:
        rframe = pd.concat([rep(s, min(chunk, m - s)) for s in range(0, m, chunk)],
                           ignore_index=True)
    else:
        from immunocycle.trial import run_chunked

        path = run_chunked(rep, m, out, chunk_size=chunk, progress=False,
                           arguments={"arms": list(arms), "seed": task.seed, "n": m,
                                      "days": days, "replicates": r,
                                      "priors": {g: list(v) for g, v in priors.sigma.items()},
                                      "multiplier_log_sd": rep.multiplier_log_sd})
        rframe = pd.read_parquet(path)
    u = uncertainty(frame, rframe, arms, days=days, comparator=comparator, level=priors.level,
                    all_evaluable=True)
    per_arm = {a: {k: u["arms"].get(a, {}).get(k) for k in KEYS} for a in arms}
    return {"arms": per_arm,
            "uncertainty": {"replicates": r, "patients_per_replicate": u["patients_per_replicate"],
                            "evaluable_per_replicate": u["evaluable_per_replicate"],
                            "level": u["level"], "comparator": comparator,
                            "multiplier_log_sd": rep.multiplier_log_sd}}


def rank_key(arm: dict) -> tuple[float, float]:
    """Sort key part: higher ``p_beats_comparator``, then higher ``expected_orr_gain`` first
    (equal for every arm without replicates, so the point estimates decide)."""
    p = arm.get("p_beats_comparator")
    g = arm.get("expected_orr_gain")
    return (-(p if p is not None else -1.0), -(g if g is not None else 0.0))


__all__ = ["KEYS", "arm_uncertainty", "rank_key"]
