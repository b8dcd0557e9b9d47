"""Reading the cycle: transfer ratios, the rate-limiting step, the cycle gain, the phenotype.

Settings (thresholds with their rationale, loop time, reference ratios) live in
``data/cycle/analysis.yaml``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import yaml

from immunocycle.cycle._params import DATA_DIR

FLUXES = ("J1", "J2", "J3", "J4", "J5", "J6", "J7")
PHENOTYPES = ("desert", "excluded", "inflamed")


@lru_cache(maxsize=1)
def settings() -> dict:
    """The analysis settings (``data/cycle/analysis.yaml``)."""
    return yaml.safe_load((DATA_DIR / "analysis.yaml").read_text())


def phenotype(density_parenchyma, density_margin) -> np.ndarray:
    """Immune phenotype from effector densities (cells/mm3): inflamed, excluded or desert.

    Parameters
    ----------
    density_parenchyma, density_margin : array_like
        Tumor-specific effector CD8 per mm3 of tumor, inside the parenchyma and held at the margin.

    Returns
    -------
    ndarray of str
        ``"inflamed"`` if the parenchymal density reaches its threshold; otherwise
        ``"excluded"`` if the margin density reaches its threshold; otherwise ``"desert"``.
    """
    s = settings()["phenotype"]
    p = np.asarray(density_parenchyma, dtype=float)
    m = np.asarray(density_margin, dtype=float)
    return np.where(p >= s["inflamed_parenchyma_per_mm3"], "inflamed",
                    np.where(m >= s["excluded_margin_per_mm3"], "excluded", "desert"))


def transfer_ratios(fluxes: dict[str, np.ndarray], cancer_cells: np.ndarray) -> np.ndarray:
    """Step-to-step transfer ratios, shape (..., 7): J1/C, then J_k / J_(k-1) for k = 2..7."""
    C = np.asarray(cancer_cells, dtype=float)
    J = [np.asarray(fluxes[f], dtype=float) for f in FLUXES]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = [J[0] / C] + [J[k] / J[k - 1] for k in range(1, 7)]
    return np.stack(ratios, axis=-1)


def limiting_step(ratios: np.ndarray) -> np.ndarray:
    """The rate-limiting step (1-7): the step whose transfer ratio falls furthest below the
    reference tumor's (``analysis.yaml``), so steps with different units compare."""
    ref = settings()["limiting_step"]["reference_ratios"]
    reference = np.array([ref[f"r{k}"] for k in range(1, 8)])
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.log(np.asarray(ratios) / reference)
    rel = np.where(np.isfinite(rel), rel, -np.inf)
    return np.argmin(rel, axis=-1) + 1


def cycle_gain(times: np.ndarray, J1: np.ndarray, J7: np.ndarray, antigenicity: np.ndarray,
               history_times: np.ndarray | None = None, history_J1: np.ndarray | None = None,
               loop_days: float | None = None) -> np.ndarray:
    """Antigen released by T-cell killing per antigen released one loop earlier.

    ``G(t) = antigenicity(t) * J7(t) / J1(t - tau)``: above one, each turn of the cycle releases
    more antigen than started it and immunity grows; below one it fades.

    Parameters
    ----------
    times : ndarray, shape (T,)
        Days (0 = start of treatment).
    J1, J7, antigenicity : ndarray, shape (N, T)
    history_times, history_J1 : ndarray, optional
        Earlier times (< 0, days) and J1 there, shape (T0,) and (N, T0), for t - tau < 0.
    loop_days : float, optional
        The loop time tau (default from ``analysis.yaml``).
    """
    tau = settings()["cycle_gain"]["loop_days"] if loop_days is None else loop_days
    J1 = np.atleast_2d(J1)
    if history_times is not None:
        all_t = np.concatenate([history_times, times])
        all_J1 = np.concatenate([np.atleast_2d(history_J1), J1], axis=1)
    else:
        all_t, all_J1 = times, J1
    order = np.argsort(all_t, kind="stable")
    all_t, all_J1 = all_t[order], all_J1[:, order]
    gain = np.full(J1.shape, np.nan)
    for k in range(J1.shape[0]):
        ok = np.isfinite(all_J1[k])
        lagged = np.interp(times - tau, all_t[ok], all_J1[k, ok], left=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            gain[k] = np.atleast_2d(antigenicity)[k] * np.atleast_2d(J7)[k] / lagged
    return gain


__all__ = ["FLUXES", "PHENOTYPES", "cycle_gain", "limiting_step", "phenotype", "settings",
           "transfer_ratios"]


def reference_ratios() -> dict[str, float]:
    """Transfer ratios of the human reference preset at diagnosis (to refresh analysis.yaml)."""
    from immunocycle.cycle._simulate import simulate_cycle

    start = simulate_cycle("human", days=1.0).patient(0).iloc[0]
    ratios = transfer_ratios({f: np.array(start[f]) for f in FLUXES},
                             np.array(start["cancer_cells"]))
    return {f"r{k + 1}": float(v) for k, v in enumerate(ratios)}


if __name__ == "__main__":  # print the reference ratios for analysis.yaml
    print(reference_ratios())
