"""Progression and survival as trials measure them: several lesions, new lesions, acquired
resistance, death and the scan schedule (issue #14; laws and sources in
``data/trial/progression.yaml``).

The cycle model simulates each patient's **whole tumor burden** (the lumped tumor: every lesion,
so step 1, antigen release, pools across lesions, and the systemic immune response is shared).
Target lesions are a cheap transform of that systemic simulation, solved on its output grid:

* each patient has 1-5 target lesions (the count drawn first) in organs drawn per tumor type;
  they split the volume of the lumped tumor (a sphere of the cohort's diagnosis diameter), so
  ``sum d_i^3`` is its diameter cubed and lesion ``i`` starts with the share ``d_i^3 / sum d^3``
  of its viable and dead cells; each lesion is RECIST-measurable (10 mm, nodes 15 mm short
  axis) and the RECIST sum of diameters exceeds the lumped diameter when ``n > 1``;
* per cell, the systemic simulation gives the intrinsic growth rate ``g = k_C_growth (1 - C/C_max)``,
  natural death, chemotherapy kill and the T-cell kill rate of presenting cells
  ``k = J7 / C_pres``; lesion ``i`` grows at ``gamma_i g`` and is killed at ``kappa_i k``, with
  ``gamma_i`` and ``kappa_i`` log-normal factors partly shared within the patient (systemic
  immunity, partly shared microenvironment) and an organ effect (liver);
* each lesion carries three clones: presenting (sensitive) cells, antigen/HLA-loss cells (not
  recognized: the antigen-negative cells ``C_neg`` of the cycle model seed them) and IFN-gamma
  pathway-defective cells (partly recognized), the last two also made from presenting cells at a
  rate per division during treatment (acquired resistance), so a responding lesion can relapse;
* dead cells are cleared at the model's rate, so a lesion's size counts viable and dead cells as
  the lumped tumor's does. With one lesion, factors 1 and no mutation, the lesion follows the
  lumped tumor (tested).

New lesions appear with a hazard ``rate * (viable cells / 1e9)^alpha * escape`` (one fitted
``rate`` per tumor type; ``escape``: the share of disseminated cells that escape the systemic T-cell
response, antigen-negative ones all, presenting ones as growth outpaces the per-cell kill), are seen at the next scan and are RECIST 1.1 progression by
themselves. Death has a hazard from the whole burden (the volume-equivalent diameter of all target
and new lesions), organ involvement and progression. Lesion deviations do not feed back into the systemic simulation (first-order
approximation: the lumped tumor is the burden-weighted average lesion).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from immunocycle._errors import DataError

#: Random-stream tag of the lesion draws (kept apart from the AE and sampling streams).
_STREAM = 14
MAX_LESIONS = 5


def _path():
    from immunocycle._paths import PACKAGE_DATA

    return PACKAGE_DATA / "trial" / "progression.yaml"


@cache
def load_progression() -> dict[str, Any]:
    """The laws of ``data/trial/progression.yaml`` (checked)."""
    from immunocycle._inputs import load_yaml

    path = _path()
    raw = load_yaml(path.read_text()) or {}
    for key in ("followup_days", "target_lesions", "heterogeneity", "organs", "organ_shares",
                "resistance", "new_lesions", "death", "discontinuation", "assessments",
                "mixed_response"):
        if key not in raw:
            raise DataError(f"{path}: {key}: missing")
    probs = np.asarray(raw["target_lesions"]["probabilities"], float)
    if probs.size != MAX_LESIONS or np.any(probs < 0) or abs(probs.sum() - 1) > 1e-6:
        raise DataError(f"{path}: target_lesions.probabilities: give {MAX_LESIONS} shares "
                        "summing to 1")
    for tumor, shares in raw["organ_shares"].items():
        unknown = set(shares) - set(raw["organs"])
        if unknown:
            raise DataError(f"{path}: organ_shares.{tumor}: unknown organs {sorted(unknown)}")
        if abs(sum(shares.values()) - 1) > 1e-6:
            raise DataError(f"{path}: organ_shares.{tumor}: shares must sum to 1")
    return raw


def assessment_schedule(tumor_type: str) -> tuple[float, float]:
    """``(first_days, every_days)`` of the tumor type's scans (the calibration trial's protocol)."""
    a = load_progression()["assessments"]
    entry = a.get(tumor_type, a["default"])
    return float(entry["first_days"]), float(entry["every_days"])


def assessment_times(tumor_type: str, horizon: float) -> np.ndarray:
    """Baseline (0) and the scan days up to ``horizon`` (days)."""
    first, every = assessment_schedule(tumor_type)
    return np.concatenate([[0.0], np.arange(first, horizon + 1e-9, every)])


@dataclass
class Lesions:
    """Per patient (rows) and lesion (columns, padded to :data:`MAX_LESIONS`)."""

    n: np.ndarray            # (N,) number of target lesions
    organ: np.ndarray        # (N, L) organ name ('' padding)
    site: np.ndarray         # (N, L) RECIST site ('' padding)
    diameter0: np.ndarray    # (N, L) baseline diameter (mm, 0 padding)
    gamma: np.ndarray        # (N, L) growth factor
    kappa: np.ndarray        # (N, L) local kill factor
    new_thresholds: np.ndarray  # (N, K) cumulative Exp(1) thresholds of new-lesion events
    death_threshold: np.ndarray  # (N,) Exp(1) threshold of death
    ae_onset_u: np.ndarray   # (N,) uniform for AE onset times
    discontinue_u: np.ndarray  # (N,) uniform: does a grade >= 3 AE stop treatment


def draw_lesions(patient_ids, seed: int, tumor_type: str, sums_mm) -> Lesions:
    """Target lesions of each patient: number, organs, sizes and local factors, seeded by
    ``(seed, patient_id)`` (the same whatever the chunking)."""
    laws = load_progression()
    tl, het = laws["target_lesions"], laws["heterogeneity"]
    shares = laws["organ_shares"].get(tumor_type, laws["organ_shares"]["default"])
    organs = list(shares)
    p_org = np.array([shares[o] for o in organs], float)
    probs = np.asarray(tl["probabilities"], float)
    min_d = float(tl["min_diameter_mm"])
    min_node = float(tl["min_node_short_axis_mm"])
    conc = float(tl["size_concentration"])
    kmax = int(laws["new_lesions"]["max_per_patient"])
    ids = np.asarray(patient_ids, dtype=np.int64)
    N, L = ids.size, MAX_LESIONS
    out = Lesions(np.zeros(N, int), np.full((N, L), "", object), np.full((N, L), "", object),
                  np.zeros((N, L)), np.ones((N, L)), np.ones((N, L)), np.zeros((N, kmax)),
                  np.zeros(N), np.zeros(N), np.zeros(N))
    sums = np.asarray(sums_mm, float)
    for r, pid in enumerate(ids):
        rng = np.random.default_rng([int(seed), int(pid), _STREAM])
        n = int(rng.choice(np.arange(1, L + 1), p=probs))
        split = rng.dirichlet(np.full(L, conc))
        org = rng.choice(len(organs), size=L, p=p_org)
        zg = rng.standard_normal(L)
        zs, zk = rng.standard_normal(), rng.standard_normal(L)
        out.new_thresholds[r] = np.cumsum(rng.exponential(size=kmax))
        out.death_threshold[r] = rng.exponential()
        out.ae_onset_u[r] = rng.uniform()
        out.discontinue_u[r] = rng.uniform()
        total = sums[r] if np.isfinite(sums[r]) and sums[r] > 0 else min_d
        # The count is drawn first; the lesions split the volume of the lumped tumor (a sphere
        # of diameter `total`), each lesion keeping at least the volume of its RECIST
        # measurability minimum; only a burden too small for n measurable lesions has fewer.
        floor = np.array([(min_node if laws["organs"][organs[k]]["site"] == "lymph_node"
                           else min_d) for k in org]) ** 3 / total ** 3
        while n > 1 and floor[:n].sum() > 1.0:
            n -= 1
        if n == 1:
            w = np.ones(1)
        else:
            w = floor[:n] + (1.0 - floor[:n].sum()) * split[:n] / split[:n].sum()
        d = total * np.cbrt(w)
        out.n[r] = n
        out.diameter0[r, :n] = d
        names = [organs[k] for k in org[:n]]
        out.organ[r, :n] = names
        out.site[r, :n] = [laws["organs"][o]["site"] for o in names]
        log_kill = np.array([float(laws["organs"][o]["log_kill"]) for o in names])
        rho = float(het["kill_shared"])
        out.gamma[r, :n] = np.exp(float(het["growth_sigma"]) * zg[:n])
        out.kappa[r, :n] = np.exp(log_kill + float(het["kill_sigma"])
                                  * (math.sqrt(rho) * zs + math.sqrt(1 - rho) * zk[:n]))
    return out


def _interval_mean(x: np.ndarray) -> np.ndarray:
    """Trapezoid mean of ``x`` (N, T) over each grid interval: (N, T-1)."""
    return 0.5 * (x[:, 1:] + x[:, :-1])


def _extend_intervals(x: np.ndarray, size: int, window: int = 8) -> np.ndarray:
    """Interval values (N, T-1) continued to ``size`` intervals with the mean of the last
    ``window`` intervals (28 days on the 3.5-day grid)."""
    if x.shape[1] >= size:
        return x[:, :size]
    tail = np.nanmean(x[:, -window:], axis=1) if x.shape[1] else np.zeros(x.shape[0])
    return np.concatenate([x, np.repeat(tail[:, None], size - x.shape[1], axis=1)], axis=1)


def lesion_course(series: dict[str, np.ndarray], params: pd.DataFrame, les: Lesions,
                  t_sim: np.ndarray, t_ext: np.ndarray, *, resistance: bool = True
                  ) -> dict[str, np.ndarray]:
    """Size of every target lesion and of a reference lesion on the extended grid.

    Parameters
    ----------
    series : mapping name -> (N, T) array
        Outputs of the systemic simulation: ``C``, ``C_dead``, ``J7``, optionally ``C_neg``,
        ``cancer_deaths_chemo``, ``T_E_B``.
    params : DataFrame
        Per-patient model parameters (``k_C_growth``, ``C_max``, ``k_C_death``,
        ``k_cell_clear``).
    t_sim, t_ext : arrays
        The simulation grid and the extended grid (same step, ``t_ext`` starts with ``t_sim``).

    Returns
    -------
    dict
        ``diameter`` (N, L+1, T_ext) mm (the last lesion is the reference lesion: factors 1,
        baseline share ``1/n``), ``viable`` (N, T_ext) viable cells of all target lesions scaled
        to the whole burden, ``resistant_share`` (N, T_ext) share of viable cells that are
        resistant (antigen/HLA loss or IFN-gamma defect), ``escape`` (N, T_ext) share of newly
        disseminated cells escaping immune control (antigen-negative share ``q`` of the lumped
        tumor plus ``(1 - q) g / (g + k)``).
    """
    laws = load_progression()
    res = laws["resistance"]
    mu_a = float(res["antigen_loss_rate"]) if resistance else 0.0
    mu_f = float(res["ifng_defect_rate"]) if resistance else 0.0
    phi = float(res["ifng_defect_kill_factor"])
    C = np.nan_to_num(series["C"], nan=0.0)
    n_pat = C.shape[0]
    Cneg = np.nan_to_num(series.get("C_neg", np.zeros_like(C)), nan=0.0)
    Cpres = np.maximum(C - Cneg, 0.0)
    J7 = np.nan_to_num(series["J7"], nan=0.0)
    chemo = np.nan_to_num(series.get("cancer_deaths_chemo", np.zeros_like(C)), nan=0.0)

    def col(name, default):
        return (params[name].to_numpy(float) if name in params else np.full(n_pat, default))

    kg, cmax = col("k_C_growth", 0.017), col("C_max", np.inf)
    kd, kc = col("k_C_death", 0.0), col("k_cell_clear", 0.1)
    g = np.clip(kg[:, None] * (1.0 - C / cmax[:, None]), 0.0, None)
    kill = np.where(Cpres > 1e-9, J7 / np.maximum(Cpres, 1e-9), 0.0)
    ch = np.where(C > 1e-9, chemo / np.maximum(C, 1e-9), 0.0)
    Cd = np.nan_to_num(series["C_dead"], nan=0.0)
    # share of newly disseminated cells that escape immune control: antigen-negative cells all,
    # presenting cells as their growth outpaces the per-cell T-cell kill (equilibrium / dormancy)
    q = np.where(C > 0, Cneg / np.maximum(C, 1e-300), 0.0)
    escape_pts = q + (1.0 - q) * np.where(g + kill > 0, g / np.maximum(g + kill, 1e-300), 1.0)
    g, kill, ch = (_interval_mean(x) for x in (g, kill, ch))
    # deaths of the lumped tumor as the lesions count theirs (state at the interval's start)
    deaths_lumped = (kd[:, None] + ch) * C[:, :-1] + kill * Cpres[:, :-1]
    dt_sim = np.diff(t_sim)
    # Net growth per interval of the lumped presenting and antigen-negative cells, exact from the
    # simulation where both ends hold at least a cell (the trapezoid of the rates otherwise):
    # a lesion with factors 1 then follows the lumped tumor exactly.
    with np.errstate(divide="ignore", invalid="ignore"):
        r_pres = np.where((Cpres[:, 1:] >= 1.0) & (Cpres[:, :-1] >= 1.0),
                          np.log(Cpres[:, 1:] / Cpres[:, :-1]) / dt_sim,
                          g - kd[:, None] - kill - ch)
        r_neg = np.where((Cneg[:, 1:] >= 1.0) & (Cneg[:, :-1] >= 1.0),
                         np.log(Cneg[:, 1:] / Cneg[:, :-1]) / dt_sim, g - kd[:, None] - ch)
        # new dead cells of the lumped tumor per interval (exact), shared by death rates
        decay_sim = np.exp(-kc[:, None] * dt_sim)
        dead_in = np.clip(Cd[:, 1:] - Cd[:, :-1] * decay_sim, 0.0, None)
    dead_in = np.where(deaths_lumped > 0, dead_in, 0.0)
    g, kill, ch, r_pres, r_neg = (_extend_intervals(x, t_ext.size - 1)
                                  for x in (g, kill, ch, r_pres, r_neg))
    n_sim = t_sim.size - 1
    dt = np.diff(t_ext)
    escape = np.empty((n_pat, t_ext.size))
    escape[:, :t_sim.size] = escape_pts
    escape[:, t_sim.size:] = np.nanmean(escape_pts[:, -9:], axis=1)[:, None]
    # lesions + the reference lesion (factors 1)
    n = les.n
    L = les.diameter0.shape[1]
    mask = np.zeros((n_pat, L + 1), bool)
    mask[:, :L] = les.diameter0 > 0
    mask[:, L] = True
    d0 = np.concatenate([les.diameter0, (les.diameter0.sum(1) / np.maximum(n, 1))[:, None]], 1)
    gam = np.concatenate([les.gamma, np.ones((n_pat, 1))], 1)
    kap = np.concatenate([les.kappa, np.ones((n_pat, 1))], 1)
    vol = np.where(mask[:, :L], les.diameter0 ** 3, 0.0)
    share = np.zeros((n_pat, L + 1))
    share[:, :L] = vol / np.maximum(vol.sum(1, keepdims=True), 1e-300)
    share[:, L] = 1.0 / np.maximum(n, 1)
    c0, dead0 = C[:, 0][:, None], np.nan_to_num(series["C_dead"][:, 0])[:, None]
    q0 = np.where(C[:, 0] > 0, Cneg[:, 0] / np.maximum(C[:, 0], 1e-300), 0.0)[:, None]
    cells = c0 * share
    logn = np.log(np.maximum(cells, 2.0))
    a = cells * np.clip(q0 + mu_a * logn, 0.0, 1.0)
    f = cells * np.clip(mu_f * logn, 0.0, 1.0)
    s = np.clip(cells - a - f, 0.0, None)
    D = dead0 * share
    start = np.where(mask, s + a + f + D, 1.0)
    T = t_ext.size
    diam = np.zeros((n_pat, L + 1, T))
    viable = np.zeros((n_pat, T))
    resistant = np.zeros((n_pat, T))
    diam[:, :, 0] = np.where(mask, d0, 0.0)
    viable[:, 0] = (s + a + f)[:, :L].sum(1)
    resistant[:, 0] = (a + f)[:, :L].sum(1) / np.maximum(viable[:, 0], 1e-300)
    # The growth factors and decays of every lesion and interval at once (they do not depend on
    # the cells); the recurrence, which does, runs compiled, patient by patient. Each element
    # is computed with the operations, and in the order, of the per-interval array code this
    # replaced (session 17): the results are bitwise those, 2x faster.
    h = dt[None, None, :]
    gx, kx = g[:, None, :], kill[:, None, :]
    gam1, kap1 = (gam - 1.0)[:, :, None], (kap - 1.0)[:, :, None]
    growth = (np.exp((r_pres[:, None, :] + gam1 * gx - kap1 * kx) * h),
              np.exp((r_neg[:, None, :] + gam1 * gx) * h),
              np.exp((r_pres[:, None, :] + gam1 * gx + (1.0 - phi * kap)[:, :, None] * kx) * h))
    decay = np.exp(-kc[:, None] * dt[None, :])
    scaled = np.empty((n_pat, L + 1, T - 1))
    _lesion_steps(s, a, f, D, gam, kap, *growth, decay, g, kill, ch, dt, kd, kc, mu_a, mu_f, phi,
                  deaths_lumped, dead_in, n_sim, L, MAX_DEAD_RATIO, start, scaled, viable,
                  resistant)
    diam[:, :, 1:] = np.where(mask[:, :, None], d0[:, :, None] * np.cbrt(scaled), 0.0)
    # the lesions' viable cells stand for the whole burden's (target lesions hold it all at t=0)
    return {"diameter": diam, "viable": viable, "resistant_share": resistant,
            "escape": escape}


@njit(cache=True, error_model="numpy", nogil=True)
def _lesion_steps(s, a, f, D, gam, kap, e_s, e_a, e_f, decay, g, kill, ch, dt, kd, kc, mu_a, mu_f,
                  phi, deaths_lumped, dead_in, n_sim, L, max_ratio, start, scaled, viable,
                  resistant):
    """The lesions' cells over the extended grid (:func:`lesion_course`), patient by patient.

    Per lesion and interval ``j`` of length ``h``: sensitive ``s``, antigen-loss ``a`` and
    IFN-gamma-defect ``f`` cells are multiplied by their growth factors ``e_s``, ``e_a``,
    ``e_f`` (``exp(rate h)``, given) and ``a``, ``f`` gain ``mu_a``, ``mu_f`` of the sensitive
    cells born; dead cells ``D`` decay by ``decay`` and gain the lesion's deaths (during the
    simulation scaled by the lumped tumor's exact over constant-rate new dead cells, clipped to
    [0, ``max_ratio``]); a clone under one cell is gone. Writes ``scaled`` (all cells over the
    lesion's cells at baseline, ``start``; its diameter is the baseline's times the cube root),
    and ``viable``, ``resistant`` of the first ``L`` (target) lesions from column 1 on. Only
    + - * / and comparisons, in the array code's order: the same numbers to the last bit (numpy
    sums the few target lesions left to right).
    """
    n_pat, n_les = s.shape
    for p in range(n_pat):
        for j in range(dt.shape[0]):
            h = dt[j]
            gj, kj, cj, dk = g[p, j], kill[p, j], ch[p, j], decay[p, j]
            # During the simulation the lumped tumor's exact new dead cells over its
            # constant-rate estimate scale the lesion's (a lesion with factors 1 then follows
            # the lumped tumor exactly); under a cell of the lumped tumor's debris the ratio is
            # round-off over nothing and is not used. After it (and where unused) the ratio is
            # 1, and x * 1.0 is x exactly.
            ratio = 1.0
            if j < n_sim:
                lumped = deaths_lumped[p, j] * (1 - dk) / kc[p]
                if lumped >= 1.0:
                    ratio = dead_in[p, j] / max(lumped, 1.0)
                if ratio < 0.0:
                    ratio = 0.0
                elif ratio > max_ratio:
                    ratio = max_ratio
            for k in range(n_les):
                sk, ak, fk = s[p, k], a[p, k], f[p, k]
                deaths = (kd[p] + cj) * (sk + ak + fk) + kap[p, k] * kj * (sk + phi * fk)
                born = gam[p, k] * gj * sk * h
                sk, ak, fk = (sk * e_s[p, k, j], ak * e_a[p, k, j] + mu_a * born,
                              fk * e_f[p, k, j] + mu_f * born)
                own = deaths * (1 - dk) / kc[p]  # the lesion's new dead cells at constant rate
                D[p, k] = D[p, k] * dk + own * ratio
                # below one cell a clone is gone (it does not regrow from a fraction of a cell)
                sk = 0.0 if sk < 1.0 else sk
                ak = 0.0 if ak < 1.0 else ak
                fk = 0.0 if fk < 1.0 else fk
                s[p, k], a[p, k], f[p, k] = sk, ak, fk
                total = sk + ak + fk + D[p, k]
                scaled[p, k, j] = (0.0 if total < 0.0 else total) / start[p, k]
            v = s[p, 0] + a[p, 0] + f[p, 0]
            r = a[p, 0] + f[p, 0]
            for k in range(1, L):
                v += s[p, k] + a[p, k] + f[p, k]
                r += a[p, k] + f[p, k]
            viable[p, j + 1] = v
            resistant[p, j + 1] = r / max(v, 1e-300) if v > 0 else 0.0


#: Largest ratio of the lumped tumor's exact new dead cells over an interval to its
#: constant-rate estimate that :func:`lesion_course` passes on to lesions: the deaths are taken
#: at the interval's start, so a tumor shrinking or growing within one interval moves the ratio
#: by a few fold at most; anything larger is round-off over a vanishing tumor.
MAX_DEAD_RATIO = 10.0


def new_lesion_times(viable: np.ndarray, escape: np.ndarray, t_ext: np.ndarray, rate,
                     thresholds: np.ndarray) -> np.ndarray:
    """Appearance day of each new lesion (N, K); ``inf`` where none appears in follow-up.

    Hazard per day ``rate * (viable / reference_cells)^alpha * escape``, ``escape`` the share of
    disseminated cells escaping immune control (:func:`lesion_course`); event ``k`` happens when
    the cumulative hazard reaches the ``k``-th cumulative Exp(1) threshold (common random
    numbers: times fall monotonically as ``rate`` rises).
    """
    laws = load_progression()["new_lesions"]
    alpha, ref = float(laws["alpha"]), float(laws["reference_cells"])
    haz = np.asarray(rate, float).reshape(-1, 1) * (np.maximum(viable, 0.0) / ref) ** alpha \
        * np.clip(np.nan_to_num(escape, nan=1.0), 0.0, 1.0)
    cum = np.concatenate([np.zeros((haz.shape[0], 1)),
                          np.cumsum(0.5 * (haz[:, 1:] + haz[:, :-1]) * np.diff(t_ext), 1)], 1)
    out = np.full(thresholds.shape, np.inf)
    for r in range(haz.shape[0]):
        k = np.searchsorted(cum[r], thresholds[r], side="left")
        ok = k < t_ext.size
        out[r, ok] = t_ext[k[ok]]
    return out


def death_times(burden_mm: np.ndarray, t_ext: np.ndarray, organ_hr: np.ndarray,
                progression_day: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Day of death (``inf``: alive at the end of follow-up) from the hazard
    ``background + reference * (S/S_ref)^beta * organ HR * (post-progression HR after PD)``,
    ``S = burden_mm`` the volume-equivalent diameter of all lesions (mm)."""
    d = load_progression()["death"]
    haz = float(d["reference_per_day"]) * (np.maximum(burden_mm, 0.0)
                                             / float(d["reference_sum_mm"])) ** float(d["beta"])
    haz = haz * organ_hr[:, None]
    after = t_ext[None, :] >= progression_day[:, None]
    haz = np.where(after, haz * float(d["post_progression_hr"]), haz) \
        + float(d["background_per_day"])
    cum = np.concatenate([np.zeros((haz.shape[0], 1)),
                          np.cumsum(0.5 * (haz[:, 1:] + haz[:, :-1]) * np.diff(t_ext), 1)], 1)
    k = np.array([np.searchsorted(cum[r], thresholds[r]) for r in range(haz.shape[0])])
    out = np.full(haz.shape[0], np.inf)
    ok = k < t_ext.size
    out[ok] = t_ext[k[ok]]
    return out


def organ_death_hr(les: Lesions) -> np.ndarray:
    """Death hazard ratio of each patient's organ involvement (product over involved organs)."""
    organs = load_progression()["organs"]
    out = np.ones(les.n.size)
    for r in range(les.n.size):
        for o in set(les.organ[r, :les.n[r]]):
            out[r] *= float(organs[o]["death_hr"])
    return out


def new_lesion_flags(appear: np.ndarray, t_assess: np.ndarray) -> np.ndarray:
    """(N, A) True at the scan where at least one new lesion is first seen (its appearance
    falls after the previous scan and by this one)."""
    flags = np.zeros((appear.shape[0], t_assess.size), bool)
    for k in range(1, t_assess.size):
        flags[:, k] = np.any((appear > t_assess[k - 1]) & (appear <= t_assess[k]), axis=1)
    return flags


def new_lesion_burden(appear: np.ndarray, ref_diameter: np.ndarray, t_ext: np.ndarray,
                      power: float = 1.0) -> np.ndarray:
    """Sum of new-lesion diameters (N, T_ext) mm, each raised to ``power`` (3: their volume as
    diameter cubed, mm^3): each enters at ``diameter_mm`` and grows as the patient's reference
    lesion."""
    d_new = float(load_progression()["new_lesions"]["diameter_mm"])
    out = np.zeros(ref_diameter.shape)
    safe = np.maximum(ref_diameter, 1e-9)
    for k in range(appear.shape[1]):
        idx = np.searchsorted(t_ext, appear[:, k])
        for r in np.flatnonzero(idx < t_ext.size):
            i = idx[r]
            out[r, i:] += (d_new * safe[r, i:] / safe[r, i] * (ref_diameter[r, i] > 0)) ** power
    return out


def ae_onset_days(u: np.ndarray) -> np.ndarray:
    """Onset day of a grade >= 3 AE from a uniform (log-normal, when the AE model gives none)."""
    from scipy.stats import norm

    d = load_progression()["discontinuation"]
    return float(d["onset_median_days"]) * np.exp(float(d["onset_sigma"])
                                                   * norm.ppf(np.clip(u, 1e-9, 1 - 1e-9)))


def mixed_response(diam_assess: np.ndarray, n: np.ndarray,
                   scanned: np.ndarray | None = None) -> np.ndarray:
    """Mixed (dissociated) response at the first on-treatment scan, per patient.

    A patient is mixed when, at the first scan after baseline, one target lesion has shrunk by at
    least ``shrink`` (30 %) from its baseline diameter while another has grown by at least
    ``grow`` (20 %) and by at least ``grow_abs_mm`` (5 mm): the lesion-level definition of
    Bernard-Tessier 2020 (a concomitant decrease > 30 % in some lesions and increase > 20 % in
    others, a significant increase >= 5 mm), at the first evaluation as Sato 2021 (NSCLC,
    nivolumab). Thresholds and sources: ``mixed_response`` in ``data/trial/progression.yaml``,
    which also lists the published rates (3-9 %) that the simulated share is compared with,
    never fitted to.

    Parameters
    ----------
    diam_assess : array (N, L, A)
        Recorded size of each target lesion (mm; 0 for a lesion under its detection limit, which
        counts as -100 %) at each assessment, baseline first; lesions absent at baseline (size 0,
        padding) are ignored.
    n : array (N,)
        Number of target lesions (a single-lesion patient cannot be mixed).
    scanned : array (N,) of bool, optional
        Whether the patient had the first scan (alive then); default: all.

    Returns
    -------
    array (N,) of bool
    """
    laws = load_progression()["mixed_response"]
    shrink, grow = float(laws["shrink"]), float(laws["grow"])
    grow_abs = float(laws["grow_abs_mm"])
    d = np.asarray(diam_assess, float)
    out = np.zeros(d.shape[0], bool)
    if d.ndim != 3 or d.shape[2] < 2:
        return out
    base, first = d[:, :, 0], d[:, :, 1]
    present = base > 0
    safe = np.where(present, base, 1.0)
    tol = 1e-12  # "at least" on the thresholds, as RECIST 1.1's scoring
    shrunk = present & (first - base <= -shrink * safe * (1 - tol))
    grown = present & (first - base >= grow * safe * (1 - tol)) \
        & (first - base >= grow_abs * (1 - tol))
    out = shrunk.any(axis=1) & grown.any(axis=1) & (np.asarray(n) > 1)
    if scanned is not None:
        out &= np.asarray(scanned, bool)
    return out


__all__ = ["Lesions", "MAX_LESIONS", "ae_onset_days", "assessment_schedule", "assessment_times",
           "death_times", "draw_lesions", "lesion_course", "load_progression", "mixed_response",
           "new_lesion_burden", "new_lesion_flags", "new_lesion_times", "organ_death_hr"]
