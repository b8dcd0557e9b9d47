"""Time-resolved link of the nanoparticle PBPK to the cycle model's tumor and node compartments.

The cycle model gives each agent a tumor and a lymph-node compartment exchanging with plasma
(:func:`immunocycle.cycle._pk.antibody_pk`). With a tissue:plasma partition ``K`` (retention in
the site: payload bound to cells and matrix, carriers held by macrophages, a depot) and the free
part ``c / K`` leaving by exchange and by lymph, the concentrations obey (volumes ``V_Tg =
gamma_T V_T``, ``V_Lg = gamma_LN V_LN``; lymph flow ``L = q_LD V_T``; plasma ``c_p``)::

    V_Tg dc_T/dt  = q_T c_p                - (q_T + L) c_T / K_T
    V_Lg dc_LN/dt = q_LN c_p + L c_T / K_T - (q_LN + L) c_LN / K_LN

Each site is a first-order filter of its inputs: ``c_T' = (G_T c_p - c_T) / tau_T`` with gain
``G_T = q_T K_T / (q_T + L)`` and time constant ``tau_T = V_Tg K_T / (q_T + L)``; the node
likewise with ``tau_LN = V_Lg K_LN / (q_LN + L)``, gain ``q_LN tau_LN / V_Lg`` from plasma and
``L tau_LN / (V_Lg K_T)`` from the tumor's free payload. Two numbers per site (gain and time
constant) map one-to-one onto ``(q, K)``:

    q_T  = G_T V_Tg / tau_T,            K_T  = tau_T (q_T + L) / V_Tg
    q_LN = g_p V_Lg / tau_LN,           K_LN = tau_LN (q_LN + L) / V_Lg

:func:`fit_site_kinetics` takes the PBPK's time courses after one dose (plasma, tumor, node, on
the PBPK's grid) and, per site, the time constant that best reproduces the site's course (least
squares of log concentration over time, where the course is above 1e-3 of its peak), with the
gain set at each trial time constant so that the AUC over the PBPK's horizon is the PBPK's. The
node is fitted on the FITTED tumor course (what the cycle model will feed it). No ratio is capped
or floored: a site may hold more than plasma (``K > 1``; s.c. and i.t. depots, node-trapped
carriers) and the node less than the tumor (a fast-washing node), as the PBPK says. The one
constraint is ``q_LN >= 0``: when the tumor's lymph alone would bring the node more than the
PBPK's node AUC, the node's time constant is bounded so that it does not (its source says so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from immunocycle.catalog._pk_link import _auc

#: Bounds of a fitted time constant (h): faster than the PBPK's grid resolves, or slower than
#: ten times its horizon, is indistinguishable from the bound.
TAU_BOUNDS_H = (0.01, 10_000.0)
#: A course is fitted where it exceeds this fraction of its peak (the log error of the tail
#: below it is numerical noise).
FIT_FLOOR = 1e-3


def first_order(t: np.ndarray, u: np.ndarray, tau: float) -> np.ndarray:
    """Response ``y`` of ``tau y' = u - y``, ``y(0) = 0``, to ``u`` linear between grid points
    (exact for a piecewise-linear input; ``t`` and ``tau`` in the same unit)."""
    y = np.zeros_like(u, dtype=float)
    h = np.diff(t)
    e = np.exp(-h / tau)
    s = np.diff(u) / np.where(h > 0, h, 1.0)
    for n in range(h.size):
        # particular solution u - s tau plus the decaying homogeneous part
        y[n + 1] = (u[n + 1] - s[n] * tau) + (y[n] - (u[n] - s[n] * tau)) * e[n]
    return y


def _log_error(t: np.ndarray, model: np.ndarray, obs: np.ndarray) -> float:
    """Time-averaged squared log10 error where ``obs`` is above :data:`FIT_FLOOR` of its peak."""
    peak = float(np.max(obs))
    keep = obs > FIT_FLOOR * peak
    if keep.sum() < 2 or peak <= 0:
        return 0.0
    floor = FIT_FLOOR * peak * 1e-3
    d = (np.log10(np.maximum(model, floor)) - np.log10(np.maximum(obs, floor))) ** 2
    w = np.gradient(t)  # time weights: the grid is denser in the first hour
    return float(np.sum(d[keep] * w[keep]) / np.sum(w[keep]))


@dataclass(frozen=True)
class SiteKinetics:
    """The fitted kinetics of the cycle model's tumor and node for one formulation.

    Attributes
    ----------
    q_T, q_LN : float
        Exchange flows with plasma (L/day).
    K_T, K_LN : float
        Tissue:plasma partitions (dimensionless; 1: no retention).
    tau_T_h, tau_LN_h : float
        Time constants (h).
    r_T, r_LN : float
        AUC ratios over the PBPK's horizon (site over plasma), equal to the PBPK's.
    rms_log10_T, rms_log10_LN : float
        Root mean square log10 error of the fitted course against the PBPK's (0.3: a factor 2).
    tmax_h : dict
        Time of the peak, ``{"T": (pbpk, cycle), "LN": (pbpk, cycle)}`` (h).
    node_bounded : bool
        The node's time constant was held at the bound that keeps ``q_LN >= 0``.
    """

    q_T: float
    q_LN: float
    K_T: float
    K_LN: float
    tau_T_h: float
    tau_LN_h: float
    r_T: float
    r_LN: float
    rms_log10_T: float
    rms_log10_LN: float
    tmax_h: dict
    node_bounded: bool


def fit_site_kinetics(t_h: np.ndarray, plasma: np.ndarray, tumor: np.ndarray, node: np.ndarray,
                      *, v_tumor_l: float, v_node_l: float, lymph_l_per_day: float
                      ) -> SiteKinetics:
    """Fit the cycle model's tumor and node kinetics to PBPK time courses after one dose.

    Parameters
    ----------
    t_h : array
        The PBPK's time grid (h), starting at the dose.
    plasma, tumor, node : array
        Concentrations on that grid (any one unit, the same for all three): the cycle model's
        blood-side input (total payload in plasma) and the acting concentration at each site.
    v_tumor_l, v_node_l : float
        The cycle model's accessible volumes ``gamma_T V_T`` and ``gamma_LN V_LN`` (L).
    lymph_l_per_day : float
        Tumor lymph flow ``L = q_LD V_T`` (L/day).

    Returns
    -------
    SiteKinetics
    """
    t = np.asarray(t_h, dtype=float)
    c_p, c_t, c_n = (np.asarray(a, dtype=float) for a in (plasma, tumor, node))
    lo, hi = (math.log(b) for b in TAU_BOUNDS_H)
    auc_p = _auc(t, c_p)

    def tumor_course(log_tau: float) -> tuple[np.ndarray, float]:
        unit = first_order(t, c_p, math.exp(log_tau))
        gain = _auc(t, c_t) / _auc(t, unit)
        return gain * unit, gain

    res = minimize_scalar(lambda x: _log_error(t, tumor_course(x)[0], c_t), bounds=(lo, hi),
                          method="bounded", options={"xatol": 1e-3})
    tau_t_h = math.exp(res.x)
    fit_t, g_t = tumor_course(res.x)
    tau_t = tau_t_h / 24.0  # days, the cycle model's time unit
    q_t = g_t * v_tumor_l / tau_t
    k_t = tau_t * (q_t + lymph_l_per_day) / v_tumor_l

    def node_course(log_tau: float) -> tuple[np.ndarray, float]:
        tau = math.exp(log_tau) / 24.0
        from_tumor = lymph_l_per_day * tau / (v_node_l * k_t) * first_order(t, fit_t, tau * 24.0)
        unit = first_order(t, c_p, tau * 24.0)
        g_p = (_auc(t, c_n) - _auc(t, from_tumor)) / _auc(t, unit)
        return g_p * unit + from_tumor, g_p

    # q_LN >= 0: the tumor's lymph alone must not bring more than the PBPK's node AUC. Its share
    # grows with the node's time constant, so the admissible time constants are those below
    # the root of g_p.
    def g_p(x: float) -> float:
        return node_course(x)[1]

    if g_p(hi) >= 0:
        bounded_hi = hi
    elif g_p(lo) < 0:
        bounded_hi = lo
    else:
        bounded_hi = brentq(g_p, lo, hi, xtol=1e-9)
    if bounded_hi > lo:
        res_n = minimize_scalar(lambda x: _log_error(t, node_course(x)[0], c_n),
                                bounds=(lo, bounded_hi), method="bounded", options={"xatol": 1e-3})
        x_n = float(res_n.x)
    else:
        x_n = lo
    fit_n, g_p = node_course(x_n)
    g_p = max(g_p, 0.0)
    tau_n = math.exp(x_n) / 24.0
    q_n = g_p * v_node_l / tau_n
    k_n = tau_n * (q_n + lymph_l_per_day) / v_node_l
    bounded = bounded_hi < hi and x_n > bounded_hi - 1e-2

    def rms(model, obs):
        return math.sqrt(_log_error(t, model, obs))

    return SiteKinetics(
        q_T=float(q_t), q_LN=float(q_n), K_T=float(k_t), K_LN=float(k_n),
        tau_T_h=float(tau_t_h), tau_LN_h=float(tau_n * 24.0),
        r_T=_auc(t, fit_t) / auc_p, r_LN=_auc(t, fit_n) / auc_p,
        rms_log10_T=rms(fit_t, c_t), rms_log10_LN=rms(fit_n, c_n),
        tmax_h={"T": (float(t[np.argmax(c_t)]), float(t[np.argmax(fit_t)])),
                "LN": (float(t[np.argmax(c_n)]), float(t[np.argmax(fit_n)]))},
        node_bounded=bool(bounded))


__all__ = ["SiteKinetics", "first_order", "fit_site_kinetics"]
