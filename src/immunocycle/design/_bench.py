"""Benchmark of the design screen: one batched call per structure against one simulation per
regimen, in the same process, both warm (compiled code cached), with their agreement."""

from __future__ import annotations

import time

import numpy as np


def bench_screen(preset: str = "excluded", *, days: float = 84.0, repeat: int = 2) -> dict:
    """Time the screen of every diagnosis candidate alone and with nivolumab.

    Parameters
    ----------
    preset : str
        Cycle-model preset whose diagnosis gives the candidates.
    days : float
        Screen horizon (days).
    repeat : int
        Timed repetitions of each way (the best is kept).

    Returns
    -------
    dict
        ``regimens``; ``batched_s`` and ``one_by_one_s`` (seconds for all regimens);
        ``ratio`` (one-by-one / batched, > 1 when batching pays); ``max_rel_diff`` of the final
        diameters between the two (padding with emax = 0 is exact, so ~ solver tolerance).
    """
    from immunocycle.catalog import load_catalog, to_cycle_therapy
    from immunocycle.cycle import load_therapy, simulate_cycle
    from immunocycle.design._diagnose import diagnose
    from immunocycle.design._screen import candidate_therapies, pad_therapies, regimens_of, screen

    cat = load_catalog()
    diag = diagnose(preset=preset)
    present = [b for b in diag.barriers.index if diag.barriers.loc[b, "tier"] == 1]
    ids = candidate_therapies(diag.limiting_step, present, catalog=cat)
    regimens = regimens_of(ids, 2)
    plain = {t: to_cycle_therapy(t, "human", catalog=cat) for t in ids}
    padded = pad_therapies(plain)

    def one_by_one() -> dict:
        end = {}
        for reg in regimens:
            arm = [plain[t] if t in plain else load_therapy(t) for t in reg]
            res = simulate_cycle(preset, arm, days=days, step=days / 12)
            end["+".join(reg)] = float(res.patient(0)["tumor_diameter"].iloc[-1])
        return end

    def batched() -> dict:
        table = screen(preset, regimens, padded, days=days)
        return dict(zip(table["regimen"], table["diameter_end_mm"], strict=True))

    batched(), one_by_one()  # warm-up: compile every structure once
    times = {}
    for name, fn in (("batched", batched), ("one_by_one", one_by_one)):
        best = np.inf
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - t0)
        times[name] = (best, out)
    a, b = times["batched"][1], times["one_by_one"][1]
    diff = max(abs(a[k] - b[k]) / max(abs(b[k]), 1e-12) for k in b)
    return {"case": "design_screen", "preset": preset, "regimens": len(regimens),
            "candidates": len(ids), "batched_s": times["batched"][0],
            "one_by_one_s": times["one_by_one"][0],
            "ratio": times["one_by_one"][0] / times["batched"][0], "max_rel_diff": float(diff)}


__all__ = ["bench_screen"]
