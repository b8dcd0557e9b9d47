"""``immunocycle bench``: engine throughput against libroadrunner and SciPy in the same process.

Speed is reported as ratios of per-core throughput (patients per second per core), measured in
one run on one machine, never as absolute timings in tests. Per-core throughput is CPU time of
this process (:func:`time.process_time`; the engine on one thread, libroadrunner and SciPy are
single-threaded), so other jobs on a shared machine change the ratios far less than wall time.
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

from immunocycle._errors import InputError
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


def _cycle_model() -> Model:
    from immunocycle.cycle import build_cycle_model

    return build_cycle_model("human", ["nivolumab"])


CASES: dict[str, BenchCase] = {
    "depillis": BenchCase("depillis", lambda: load_reference("depillis2005")),
    # the cancer-immunity cycle with nivolumab 3 mg/kg Q2W (doses for the whole year)
    "cycle": BenchCase("cycle", _cycle_model, spread=(0.8, 1.25)),
}


def random_parameters(model: Model, n: int, seed: int, spread=(0.7, 1.4)) -> pd.DataFrame:
    """Log-uniform perturbations within ``spread`` x the nominal value of every parameter except
    exponents (Hill coefficients), which keep their values."""
    rng = np.random.default_rng(seed)
    lo, hi = np.log(spread[0]), np.log(spread[1])
    fixed = model.exponent_parameters()
    return pd.DataFrame({name: p.value * np.exp(rng.uniform(lo, hi, n))
                         for name, p in model.parameters.items() if name not in fixed})


def max_relative_deviation(a: np.ndarray, b: np.ndarray, floor_fraction: float = 1e-6,
                           abs_floor: float = 0.0) -> float:
    """Max |a-b|/|b| over values of ``b`` above ``floor_fraction`` x each species' maximum and
    above ``abs_floor`` (a species that stays at round-off level has no meaningful maximum)."""
    floor = np.maximum(floor_fraction * np.nanmax(np.abs(b), axis=(0, 1), keepdims=True), abs_floor)
    mask = np.isfinite(a) & np.isfinite(b) & (np.abs(b) > floor)
    return float(np.max(np.abs(a - b)[mask] / np.abs(b)[mask])) if mask.any() else float("nan")


def _engine_rate(compiled, times, params, options, threads: int) -> tuple[float, object]:
    """Patients per second per core, and the result, for one engine run."""
    simulate(compiled, times, params.iloc[:2], options=options, threads=threads)  # load/compile
    t0 = time.process_time()
    result = simulate(compiled, times, params, options=options, threads=threads)
    return len(params) / (time.process_time() - t0), result


def run_bench(case: str = "depillis", *, n: int = 10_000, n_reference: int = 200,
              days: float = 365.0, seed: int = 0) -> dict:
    """Simulate ``n`` patients with the engine and ``n_reference`` with each reference solver.

    Per-core throughput of the engine is measured on one thread (robust to other load on the
    machine); the all-cores throughput is reported beside it. Accuracy of every solver is its
    max relative deviation from the engine at rtol = atol = 1e-12 on the reference subset.

    Returns
    -------
    dict
        ``ratio_vs_libroadrunner`` (median of 3 rounds alternating the engine and libroadrunner
        on the reference subset) and ``ratio_vs_scipy`` (per-core throughput ratios at the same
        tolerances), ``ratio_vs_libroadrunner_matched_accuracy`` (the engine at the loosest
        tolerance that is at least as accurate as libroadrunner), ``max_rel_dev_vs_libroadrunner``
        and the accuracies, and peak memory.
    """
    from immunocycle.engine import simulate_roadrunner, simulate_scipy

    if case not in CASES:
        raise InputError(f"--case {case!r}: choose one of {', '.join(CASES)}")
    spec = CASES[case]
    model = spec.build()
    compiled = compile_model(model)
    times = np.arange(0.0, days + 0.5, 1.0)
    params = random_parameters(model, n, seed, spec.spread)
    options = SolverOptions(rtol=spec.rtol, atol=spec.atol)
    threads = numba.get_num_threads()
    try:
        engine_pc, result = _engine_rate(compiled, times, params, options, 1)
        t0 = time.perf_counter()
        simulate(compiled, times, params, options=options, threads=threads)
        engine_all = n / (time.perf_counter() - t0)
    finally:
        numba.set_num_threads(threads)
    n_ref = min(n_reference, n)
    subset = params.iloc[:n_ref]
    reference = simulate(compiled, times, subset, options=SolverOptions(rtol=1e-12, atol=1e-12)).states
    simulate_roadrunner(model, times, subset.iloc[:1], rtol=spec.rtol, atol=spec.atol)  # load
    t0 = time.process_time()
    rr_states, rr_status = simulate_roadrunner(model, times, subset, rtol=spec.rtol, atol=spec.atol)
    rr_pc = n_ref / (time.process_time() - t0)
    n_sp = max(1, n_ref // 4)
    t0 = time.process_time()
    sp_states, _ = simulate_scipy(compiled, times, params.iloc[:n_sp], rtol=spec.rtol,
                                  atol=spec.atol, method="LSODA")
    sp_pc = n_sp / (time.process_time() - t0)
    # the engine before issue 18 (Rodas4, pattern-driven LU), on the reference subset
    try:
        legacy_pc, legacy = _engine_rate(compiled, times, subset, SolverOptions(
            rtol=spec.rtol, atol=spec.atol, method="legacy"), 1)
    finally:
        numba.set_num_threads(threads)
    # Same-tolerance ratio from rounds that alternate the engine and libroadrunner on the same
    # subset (median): on a shared machine the load changes between longer, separate runs.
    rounds = []
    try:
        for _ in range(3):
            engine_ref_pc, _ = _engine_rate(compiled, times, subset, options, 1)
            t0 = time.process_time()
            simulate_roadrunner(model, times, subset, rtol=spec.rtol, atol=spec.atol)
            rounds.append(engine_ref_pc / (n_ref / (time.process_time() - t0)))
    finally:
        numba.set_num_threads(threads)
    ok = (result.status[:n_ref] == 0) & (np.asarray(rr_status) == 0)
    rr_error = max_relative_deviation(rr_states[ok], reference[ok])
    engine_error = max_relative_deviation(result.states[:n_ref][ok], reference[ok])
    # The loosest engine tolerance (in decades above the bench's) that is still as accurate.
    matched_rtol, matched_error = spec.rtol, engine_error
    for factor in (1000.0, 100.0, 10.0):
        trial = SolverOptions(rtol=spec.rtol * factor, atol=spec.atol * factor)
        err = max_relative_deviation(simulate(compiled, times, subset, options=trial).states[ok],
                                     reference[ok])
        if err <= rr_error:
            matched_rtol, matched_error = trial.rtol, err
            break
    try:
        matched_pc, _ = _engine_rate(compiled, times, params,
                                     SolverOptions(rtol=matched_rtol, atol=matched_rtol), 1)
    finally:
        numba.set_num_threads(threads)
    return {
        "case": case, "model": model.name, "n": n, "n_libroadrunner": n_ref, "n_scipy": n_sp,
        "days": days, "grid_points": int(times.size), "rtol": spec.rtol, "atol": spec.atol,
        "engine_threads_all_cores": threads, "cpu_count": os.cpu_count(),
        "engine_failed": int((result.status != 0).sum()),
        "engine_patients_per_s_per_core": engine_pc,
        "engine_patients_per_s_all_cores": engine_all,
        "libroadrunner_patients_per_s_per_core": rr_pc,
        "scipy_lsoda_patients_per_s_per_core": sp_pc,
        "ratio_vs_libroadrunner": float(np.median(rounds)),
        "ratio_vs_libroadrunner_rounds": rounds,
        "ratio_vs_libroadrunner_separate_runs": engine_pc / rr_pc,
        "ratio_vs_scipy": engine_pc / sp_pc,
        "max_rel_dev_vs_libroadrunner": max_relative_deviation(result.states[:n_ref][ok], rr_states[ok]),
        "max_rel_dev_vs_scipy": max_relative_deviation(result.states[:n_sp], sp_states),
        "accuracy_engine": engine_error, "accuracy_libroadrunner": rr_error,
        "matched_accuracy_engine_rtol": matched_rtol, "matched_accuracy_engine_error": matched_error,
        "ratio_vs_libroadrunner_matched_accuracy": matched_pc / rr_pc,
        "engine_method": options.method,
        "speedup_vs_legacy_engine": engine_ref_pc / legacy_pc,
        "accuracy_legacy_engine": max_relative_deviation(legacy.states[ok], reference[ok]),
        "timing": "CPU seconds of this process (time.process_time)",
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
