"""``immunocycle bench``: engine throughput against libroadrunner and SciPy in the same process.

Speed is reported as ratios of per-core throughput (patients per second per core), measured in
one run on one machine, never as absolute timings in tests.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from immunocycle.engine import SolverOptions, compile_model, simulate
from immunocycle.model import Model, load_reference


@dataclass(frozen=True)
class BenchCase:
    """A model, how to perturb its parameters, and the tolerances all solvers use."""

    name: str
    build: Callable[[], Model]
    rtol: float = 1e-8
    atol: float = 1e-8
    spread: tuple[float, float] = (0.7, 1.4)


CASES: dict[str, BenchCase] = {
    "depillis": BenchCase("depillis", lambda: load_reference("depillis2005")),
}


def random_parameters(model: Model, n: int, seed: int, spread=(0.7, 1.4)) -> pd.DataFrame:
    """Log-uniform perturbations of every parameter within ``spread`` x its nominal value."""
    rng = np.random.default_rng(seed)
    lo, hi = np.log(spread[0]), np.log(spread[1])
    return pd.DataFrame({name: p.value * np.exp(rng.uniform(lo, hi, n))
                         for name, p in model.parameters.items()})


def max_relative_deviation(a: np.ndarray, b: np.ndarray, floor_fraction: float = 1e-6) -> float:
    """Max |a-b|/|b| over values of ``b`` above ``floor_fraction`` x each species' maximum."""
    floor = floor_fraction * np.nanmax(np.abs(b), axis=(0, 1), keepdims=True)
    mask = np.isfinite(a) & np.isfinite(b) & (np.abs(b) > floor)
    return float(np.max(np.abs(a - b)[mask] / np.abs(b)[mask])) if mask.any() else float("nan")


def run_bench(case: str = "depillis", *, n: int = 10_000, n_reference: int = 200,
              days: float = 365.0, seed: int = 0) -> dict:
    """Simulate ``n`` patients with the engine and ``n_reference`` with each reference solver.

    Returns a dict with per-core throughputs, their ratios (``ratio_vs_libroadrunner``,
    ``ratio_vs_scipy``), ``max_rel_dev_vs_libroadrunner`` on the shared subset, and peak memory.
    """
    from immunocycle.engine._roadrunner import simulate_roadrunner
    from immunocycle.engine._scipy import simulate_scipy

    if case not in CASES:
        raise ValueError(f"--case {case!r}: choose one of {', '.join(CASES)}")
    spec = CASES[case]
    model = spec.build()
    compiled = compile_model(model)
    times = np.arange(0.0, days + 0.5, 1.0)
    params = random_parameters(model, n, seed, spec.spread)
    options = SolverOptions(rtol=spec.rtol, atol=spec.atol)
    simulate(compiled, times, params.iloc[:2], options=options)  # compile/load outside the timing
    threads = numba.get_num_threads()
    t0 = time.perf_counter()
    result = simulate(compiled, times, params, options=options)
    engine_s = time.perf_counter() - t0
    n_ref = min(n_reference, n)
    subset = params.iloc[:n_ref]
    t0 = time.perf_counter()
    rr_states, rr_status = simulate_roadrunner(model, times, subset, rtol=spec.rtol, atol=spec.atol)
    rr_s = time.perf_counter() - t0
    n_sp = max(1, n_ref // 4)
    t0 = time.perf_counter()
    sp_states, _ = simulate_scipy(compiled, times, params.iloc[:n_sp], rtol=spec.rtol,
                                  atol=spec.atol, method="LSODA")
    sp_s = time.perf_counter() - t0
    engine_pc = n / engine_s / threads
    rr_pc = n_ref / rr_s
    sp_pc = n_sp / sp_s
    ok = (result.status[:n_ref] == 0) & (np.asarray(rr_status) == 0)
    return {
        "case": case, "model": model.name, "n": n, "n_libroadrunner": n_ref, "n_scipy": n_sp,
        "days": days, "grid_points": int(times.size), "rtol": spec.rtol, "atol": spec.atol,
        "engine_threads": threads, "cpu_count": os.cpu_count(),
        "engine_failed": int((result.status != 0).sum()),
        "engine_patients_per_s_per_core": engine_pc,
        "libroadrunner_patients_per_s_per_core": rr_pc,
        "scipy_lsoda_patients_per_s_per_core": sp_pc,
        "ratio_vs_libroadrunner": engine_pc / rr_pc,
        "ratio_vs_scipy": engine_pc / sp_pc,
        "max_rel_dev_vs_libroadrunner": max_relative_deviation(result.states[:n_ref][ok], rr_states[ok]),
        "max_rel_dev_vs_scipy": max_relative_deviation(result.states[:n_sp], sp_states),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
