"""Reading the cycle: transfer ratios, the rate-limiting step, the cycle gain, the phenotype.

Settings (thresholds with their rationale, loop time, reference ratios, deficit tolerance) live
in ``data/cycle/analysis.yaml``; the per-phenotype step leverage in
``data/cycle/step_leverage.yaml`` (written by ``python -m immunocycle.design._leverage``); the
reference ratios are derived again by ``python -m immunocycle.cycle._reference``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import yaml
from numpy.typing import ArrayLike

from immunocycle.cycle._params import DATA_DIR

FLUXES = ("J1", "J2", "J3", "J4", "J5", "J6", "J7")
PHENOTYPES = ("desert", "excluded", "inflamed")
#: The tumor-state columns :func:`limiting_step` reads (:func:`state_ratios`' fluxes, cells,
#: free space and presented antigen, and the densities that set the phenotype).
STATE_INPUTS = (*FLUXES, "C", "density_parenchyma", "density_margin", "H_space", "f_antigen")
#: How :func:`limiting_step` reads the step, printed beside it in every summary.
LIMITING_STEP_METHOD = ("ratio deficit vs the human reference x step leverage of the tumor's "
                        "phenotype (immunocycle.cycle.limiting_step)")


@lru_cache(maxsize=1)
def settings() -> dict:
    """The analysis settings (``data/cycle/analysis.yaml``)."""
    return yaml.safe_load((DATA_DIR / "analysis.yaml").read_text())


def phenotype(density_parenchyma, density_margin) -> np.ndarray:
    """Immune phenotype from effector densities (cells/mm3): inflamed, excluded or desert.

    Parameters
    ----------
    density_parenchyma, density_margin : array_like
        Tumor-specific CD8 per mm3 of tumor: inside the parenchyma (effector and exhausted
        cells, as CD8 immunohistochemistry counts them) and effectors held at the margin.

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


def transfer_ratios(fluxes: dict[str, np.ndarray], cancer_cells: np.ndarray,
                    space: np.ndarray | None = None,
                    antigen: np.ndarray | None = None) -> np.ndarray:
    """Step-to-step transfer ratios, shape (..., 7): J1/C, then J_k / J_(k-1) for k = 2..7.

    With ``space`` (``H_space``, the free share of the homeostatic CD8 space), the priming
    ratio is read per free space, ``J3 / J2 / H_space``: a tumor whose expansion is held by the
    ceiling is not short of priming (no priming therapy could raise it); a full space (0) gives
    an infinite ratio, no deficit of step 3.

    With ``antigen`` (``f_antigen``, the presented antigen relative to the reference tumor),
    recognition is read per presented antigen, ``J6 / J5 / f_antigen``: how much antigen a tumor
    presents is step 1's (``r1 = J1 / C`` already carries it), so step 6 reads its own barriers,
    MHC display and the PD-1 veto, and a low-antigen tumor is not counted short twice.
    """
    C = np.asarray(cancer_cells, dtype=float)
    J = [np.asarray(fluxes[f], dtype=float) for f in FLUXES]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = [J[0] / C] + [J[k] / J[k - 1] for k in range(1, 7)]
        if space is not None:
            ratios[2] = ratios[2] / np.asarray(space, dtype=float)
        if antigen is not None:
            ratios[5] = ratios[5] / np.asarray(antigen, dtype=float)
    return np.stack(ratios, axis=-1)


def state_ratios(state: Mapping[str, ArrayLike]) -> np.ndarray:
    """:func:`transfer_ratios` of a tumor state: fluxes ``J1``-``J7``, viable cancer cells ``C``
    (or ``cancer_cells``) and, when present, the free homeostatic space ``H_space`` and the
    relative presented antigen ``f_antigen`` (absent: read as 1, the ratios as they are).
    Shape (..., 7)."""
    cells = state["C"] if "C" in state else state["cancer_cells"]
    return transfer_ratios({f: state[f] for f in FLUXES}, cells,
                           state["H_space"] if "H_space" in state else None,
                           state["f_antigen"] if "f_antigen" in state else None)


def step_leverage() -> dict[str, np.ndarray]:
    """The tabulated leverage of steps 1-7 per phenotype (``data/cycle/step_leverage.yaml``).

    Each row is the local leverage of the untreated archetype of that phenotype: the summed
    |elasticity| of the mean ln cycle gain (84 days) to the step's parameters, normalized to sum
    one. Regenerate with ``python -m immunocycle.design._leverage``.
    """
    return {k: v.copy() for k, v in _leverage_table().items()}


@lru_cache(maxsize=1)
def _leverage_table() -> dict[str, np.ndarray]:
    raw = yaml.safe_load((DATA_DIR / "step_leverage.yaml").read_text())["leverage"]
    return {p: np.array([float(raw[p][k]) for k in range(1, 8)]) for p in PHENOTYPES}


def limiting_scores(ratios: np.ndarray, leverage: np.ndarray,
                    tolerance: float | None = None) -> np.ndarray:
    """Per-step ``deficit x leverage``, shape (..., 7) (the quantity :func:`limiting_step`
    maximizes).

    ``deficit_k = max(0, -ln(r_k / r_k_ref) - tol)``; a ratio of zero (no flux through a step
    that had input) counts as a deficit of 50 log units; an undefined ratio (0/0: nothing
    reached the step) or an infinite one is no deficit of that step.

    Parameters
    ----------
    ratios : ndarray, shape (..., 7)
        Transfer ratios (:func:`transfer_ratios`).
    leverage : ndarray, shape (..., 7) or (7,)
        Leverage of each step (any positive scale; only its profile matters).
    tolerance : float, optional
        Log-ratio shortfall that is not a deficit (default ``analysis.yaml``: 0.05).
    """
    conf = settings()["limiting_step"]
    tol = conf["deficit_tolerance"] if tolerance is None else tolerance
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.log(np.asarray(ratios, dtype=float) / reference_ratios())
    rel = np.where(np.isneginf(rel), -conf["zero_ratio_deficit"], rel)
    rel = np.where(np.isfinite(rel), rel, 0.0)
    return np.clip(-rel - tol, 0.0, None) * np.asarray(leverage, dtype=float)


def limiting_step(state: Mapping[str, ArrayLike]) -> np.ndarray:
    """The rate-limiting step (1-7) of the cancer-immunity cycle in a tumor state.

    This one function names the limiting step for every command (``simulate``, ``diagnose``,
    ``design``, trial tables, reports). Definition::

        r_1 = J_1 / C,   r_k = J_k / J_(k-1)   (k = 2..7)        transfer ratios
        d_k = max(0, -ln(r_k / r_k_ref) - tol)                     deficit vs the reference
        L_k = L[phenotype, k]                                      tabulated leverage
        limiting step = argmax_k d_k L_k   (argmax_k L_k when every d_k L_k = 0)

    ``r_ref`` are the human reference tumor's ratios at diagnosis (``analysis.yaml``), so steps
    with different units compare; ``tol`` = 0.05 (a ratio within 5 % of the reference is no
    deficit). ``L[phenotype]`` (``step_leverage.yaml``) is the local leverage of the archetype of
    the tumor's current phenotype (:func:`phenotype`): the summed |d mean ln G / d ln p| of the
    step's parameters, normalized per phenotype.

    Why leverage, and why tabulated. A ratio can fall because its step is held back, or because
    the step saturates: inflamed tumors release more antigen than dendritic cells can carry, so
    ``r_2`` falls although more DC capacity would barely change the cycle (the deficit-only rule
    named step 2 for the inflamed archetype). Weighting each deficit by how much the step
    controls the cycle gain removes such shortfalls. The exact leverage of one tumor needs two
    simulations per parameter (about 80); the three immune phenotypes are the regimes whose
    rate-limiting steps differ (Chen & Mellman 2017 Nature doi 10.1038/nature21349: priming in
    deserts, trafficking/infiltration in excluded tumors, recognition/killing in inflamed ones),
    so the leverage of the phenotype's archetype stands in for the tumor's own. This keeps the
    rule a cheap per-time-point function, usable on every row of a time course and for every
    trial patient. :func:`immunocycle.design.diagnose` also reports the tumor's own-leverage
    answer (``limiting_step_local``) and, with a global analysis, the Sobol answer
    (``limiting_step_sobol``), under those names.

    Parameters
    ----------
    state : mapping of name -> array_like
        Same-shaped arrays (one tumor, a time course, or patients x times): fluxes ``J1`` ...
        ``J7`` (cells or events per day), viable cancer cells ``C`` (or ``cancer_cells``),
        effector densities ``density_parenchyma``, ``density_margin`` (cells/mm3), the free
        homeostatic space ``H_space`` (omitted: a free space, 1) and the relative presented
        antigen ``f_antigen`` (omitted: 1). A
        :class:`pandas.DataFrame` row or frame of :attr:`CycleResult.frame` works as is.

    Returns
    -------
    ndarray of int
        The limiting step per element of the inputs' shape.

    Notes
    -----
    Summaries report it at two times, with one JSON scheme everywhere:
    ``"limiting_step": {"at_diagnosis": k0, "at_end": k1}`` (diagnosis = start of treatment,
    end = last simulated day, ``end_day``); tables flatten it to ``limiting_step_at_diagnosis``
    and ``limiting_step_at_end``; time courses carry a ``limiting_step`` column per time.
    """
    ratios = state_ratios(state)
    phen = phenotype(state["density_parenchyma"], state["density_margin"])
    table = _leverage_table()
    leverage = np.zeros(ratios.shape)
    for name in PHENOTYPES:
        leverage[phen == name] = table[name]
    scores = limiting_scores(ratios, leverage)
    best = np.where(np.any(scores > 0, axis=-1), np.argmax(scores, axis=-1),
                    np.argmax(leverage, axis=-1))
    return best + 1


def reference_ratios() -> np.ndarray:
    """The reference tumor's transfer ratios r1..r7 (``analysis.yaml``)."""
    ref = settings()["limiting_step"]["reference_ratios"]
    return np.array([ref[f"r{k}"] for k in range(1, 8)], dtype=float)


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


__all__ = ["FLUXES", "LIMITING_STEP_METHOD", "PHENOTYPES", "cycle_gain", "limiting_scores",
           "limiting_step", "phenotype", "reference_ratios", "settings", "step_leverage",
           "transfer_ratios"]

