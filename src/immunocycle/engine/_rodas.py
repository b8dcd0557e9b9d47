r"""A batched, adaptive, stiff ODE solver: Rodas4 with dense output, compiled with numba.

Each patient is integrated on its own, with its own step sizes, between the times at which its
inputs change (bolus doses, infusion starts and ends); patients run in parallel threads and never
share state, so the results do not depend on the batch split or thread count.

Rodas4 (Hairer & Wanner, *Solving ODEs II*, 2nd ed., Springer 1996, sec. VI.4; coefficients as in
their code RODAS) solves, for stages :math:`i = 1..6`,

.. math::
    \Big(\frac{I}{h\gamma} - J\Big) k_i = f\big(t + c_i h, y_0 + \textstyle\sum_{j<i} a_{ij} k_j\big)
        + \textstyle\sum_{j<i} \frac{C_{ij}}{h} k_j + h d_i \partial_t f,

with :math:`y_1 = y_0 + \sum_j a_{6j} k_j + k_6`; :math:`k_6` estimates the local error
(embedded order 3). Dense output is the method's third-order interpolant.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types

# The model functions are passed as first-class functions of these fixed signatures, so the
# solver is compiled (and cached on disk) once for every model; a new model only compiles its
# own small right-hand side and Jacobian.
_V = types.float64[::1]
_M = types.float64[:, ::1]
RHS_SIG = types.void(types.float64, _V, _V, _V, _V)
JAC_SIG = types.void(types.float64, _V, _V, _V, _M)
INIT_SIG = types.void(_V, _V)
DERIVED_SIG = types.void(types.float64, _V, _V, _V)
LU_SIG = types.boolean(_M, types.float64, _V)  # generated sparse LU (engine._codegen)
LU_SOLVE_SIG = types.void(_V, _V)
CONSTANTS_SIG = types.void(_M)  # fills each row's constants after its parameters (engine._codegen)
_RHS, _JAC = types.FunctionType(RHS_SIG), types.FunctionType(JAC_SIG)
_INIT, _DERIVED = types.FunctionType(INIT_SIG), types.FunctionType(DERIVED_SIG)
_I = types.int64[::1]
_A3 = types.float64[:, :, ::1]


# Status codes (per patient).
OK, MAX_STEPS, STEP_TOO_SMALL, NOT_FINITE, SINGULAR = 0, 1, 2, 3, 4
STATUS_TEXT = {OK: "ok", MAX_STEPS: "too many steps", STEP_TOO_SMALL: "step size underflow",
               NOT_FINITE: "non-finite state (blow-up)", SINGULAR: "singular iteration matrix"}

GAMMA = 0.25
A21 = 1.544
A31, A32 = 0.9466785280815826, 0.2557011698983284
A41, A42, A43 = 3.314825187068521, 2.896124015972201, 0.9986419139977817
A51, A52, A53, A54 = 1.221224509226641, 6.019134481288629, 12.53708332932087, -0.6878860361058950
C21 = -5.6688
C31, C32 = -2.430093356833875, -0.2063599157091915
C41, C42, C43 = -0.1073529058151375, -9.594562251023355, -20.47028614809616
C51, C52, C53, C54 = 7.496443313967647, -10.24680431464352, -33.99990352819905, 11.70890893206160
C61, C62, C63, C64, C65 = (8.083246795921522, -7.981132988064893, -31.52159432874371,
                           16.31930543123136, -6.058818238834054)
CS2, CS3, CS4 = 0.386, 0.21, 0.63
D1, D2, D3, D4 = 0.25, -0.1043, 0.1035, -0.0362
H21, H22, H23, H24, H25 = (10.12623508344586, -7.487995877610167, -34.80091861555747,
                           -7.992771707568823, 1.025137723295662)
H31, H32, H33, H34, H35 = (-0.6762803392801253, 6.087714651680015, 16.43084320892478,
                           24.76722511418386, -6.594389125716872)


@njit(cache=True, error_model="numpy")
def _lu(a, piv):
    """In-place LU with partial pivoting; returns False if singular."""
    n = a.shape[0]
    for k in range(n):
        p = k
        big = abs(a[k, k])
        for i in range(k + 1, n):
            if abs(a[i, k]) > big:
                big = abs(a[i, k])
                p = i
        piv[k] = p
        if big == 0.0:
            return False
        if p != k:
            for j in range(n):
                tmp = a[k, j]
                a[k, j] = a[p, j]
                a[p, j] = tmp
        inv = 1.0 / a[k, k]
        for i in range(k + 1, n):
            a[i, k] *= inv
            f = a[i, k]
            if f != 0.0:
                for j in range(k + 1, n):
                    a[i, j] -= f * a[k, j]
    return True


@njit(cache=True, error_model="numpy")
def _lu_solve(a, piv, b):
    """Solve in place with the factors from :func:`_lu`."""
    n = a.shape[0]
    for k in range(n):
        p = piv[k]
        if p != k:
            tmp = b[k]
            b[k] = b[p]
            b[p] = tmp
    for i in range(n):
        s = b[i]
        for j in range(i):
            s -= a[i, j] * b[j]
        b[i] = s
    for i in range(n - 1, -1, -1):
        s = b[i]
        for j in range(i + 1, n):
            s -= a[i, j] * b[j]
        b[i] = s / a[i, i]


@njit(cache=True, error_model="numpy")
def _lu_sparse(a, pattern, scale):
    """In-place LU without pivoting, touching only the structural nonzeros in ``pattern``.

    ``pattern`` packs three index lists (see :func:`sparse_pattern`). Returns False when a pivot
    is tiny against its row's scale, so the caller can fall back to :func:`_lu` with pivoting.
    """
    n = a.shape[0]
    cl_ptr, cl_idx, ru_ptr, ru_idx = pattern[0], pattern[1], pattern[2], pattern[3]
    for k in range(n):
        d = a[k, k]
        if not (abs(d) > 1e-10 * scale[k]):
            return False
        inv = 1.0 / d
        for ii in range(pattern[cl_ptr + k], pattern[cl_ptr + k + 1]):
            i = pattern[cl_idx + ii]
            a[i, k] *= inv
            f = a[i, k]
            for jj in range(pattern[ru_ptr + k], pattern[ru_ptr + k + 1]):
                j = pattern[ru_idx + jj]
                a[i, j] -= f * a[k, j]
    return True


@njit(cache=True, error_model="numpy")
def _lu_solve_sparse(a, pattern, b):
    """Solve in place with the factors from :func:`_lu_sparse`."""
    n = a.shape[0]
    ru_ptr, ru_idx, rl_ptr, rl_idx = pattern[2], pattern[3], pattern[4], pattern[5]
    for i in range(n):
        s = b[i]
        for jj in range(pattern[rl_ptr + i], pattern[rl_ptr + i + 1]):
            s -= a[i, pattern[rl_idx + jj]] * b[pattern[rl_idx + jj]]
        b[i] = s
    for i in range(n - 1, -1, -1):
        s = b[i]
        for jj in range(pattern[ru_ptr + i], pattern[ru_ptr + i + 1]):
            s -= a[i, pattern[ru_idx + jj]] * b[pattern[ru_idx + jj]]
        b[i] = s / a[i, i]


@njit(cache=True, error_model="numpy")
def _solve(a, piv, b, sparse, pattern):
    if sparse:
        _lu_solve_sparse(a, pattern, b)
    else:
        _lu_solve(a, piv, b)


def sparse_pattern(n: int, entries) -> np.ndarray:
    """Symbolic LU (no pivoting) of a matrix with nonzeros at ``entries`` and on the diagonal.

    Returns one int64 array: six offsets, then the column lists of L (rows below the diagonal
    per column), the row lists of U (columns right of the diagonal per row) and the row lists of
    L (columns left of the diagonal per row), each as pointer + index arrays. Fill-in is
    included, so the numeric factorization touches nothing else.
    """
    rows = [set() for _ in range(n)]
    for i, j in entries:
        rows[i].add(j)
    for i in range(n):
        rows[i].add(i)
    for k in range(n):
        below = [i for i in range(k + 1, n) if k in rows[i]]
        right = [j for j in rows[k] if j > k]
        for i in below:
            rows[i].update(right)
    lists = ([[i for i in range(k + 1, n) if k in rows[i]] for k in range(n)],
             [sorted(j for j in rows[k] if j > k) for k in range(n)],
             [sorted(j for j in rows[i] if j < i) for i in range(n)])
    parts = []
    for lst in lists:
        ptr = np.cumsum([0] + [len(x) for x in lst])
        parts += [ptr, np.array([v for x in lst for v in x], dtype=np.int64)]
    offsets, pos = [], 6
    for part in parts:
        offsets.append(pos)
        pos += len(part)
    return np.concatenate([np.array(offsets, dtype=np.int64), *[np.asarray(x, np.int64) for x in parts]])


@njit(cache=True, error_model="numpy")
def _err_norm(e, y0, y1, rtol, atol):
    s = 0.0
    n = e.shape[0]
    for i in range(n):
        sc = atol[i] + rtol * max(abs(y0[i]), abs(y1[i]))
        s += (e[i] / sc) ** 2
    return np.sqrt(s / n)


@njit(cache=True, error_model="numpy")
def _all_finite(y):
    for v in y:
        if not np.isfinite(v):
            return False
    return True


@njit(cache=True, error_model="numpy")
def _initial_step(rhs, t, y, p, u, f0, rtol, atol, span):
    rhs(t, y, p, u, f0)
    d0 = 0.0
    d1 = 0.0
    n = y.shape[0]
    for i in range(n):
        sc = atol[i] + rtol * abs(y[i])
        d0 += (y[i] / sc) ** 2
        d1 += (f0[i] / sc) ** 2
    d0 = np.sqrt(d0 / n)
    d1 = np.sqrt(d1 / n)
    h = 1e-6 * span if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    return min(max(h, 1e-10 * span), span)


@njit(types.UniTuple(types.int64, 2)(_RHS, _JAC, _V, _V, _V, _V, _V, _I, _V, _V, _V, _I, _V,
                                     types.float64, _V, types.int64, types.boolean, _M, _I),
      cache=True, error_model="numpy")
def solve_one(rhs, jac, p, y, grid, bounds, bt, btg, bamt, it0, it1, itg, irate,
              rtol, atol, max_steps, uses_time, out, pattern):
    """Integrate one patient from ``bounds[0]`` over the segments in ``bounds``.

    ``y`` holds the initial state and is overwritten; ``out[g]`` receives the state at
    ``grid[g]`` (after any bolus at that time). Returns (status, number of accepted steps).
    Every attempted step, accepted or rejected, counts toward ``max_steps``, and a step size
    that is not finite (a NaN parameter makes the first one NaN) ends the patient with
    ``NOT_FINITE``: no input can keep the loop from ending.
    """
    n = y.shape[0]
    u = np.zeros(n)
    f0 = np.empty(n)
    fu = np.empty(n)
    ft = np.empty(n)
    dT = np.zeros(n)
    ytmp = np.empty(n)
    y1 = np.empty(n)
    J = np.zeros((n, n))
    W = np.empty((n, n))
    piv = np.empty(n, dtype=np.int64)
    scale = np.empty(n)
    k1 = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    k5 = np.empty(n)
    k6 = np.empty(n)
    g = 0
    ng = grid.shape[0]
    steps = 0
    tried = 0
    b = 0
    nb = bt.shape[0]
    t0 = bounds[0]
    while g < ng and grid[g] < t0:
        for i in range(n):
            out[g, i] = np.nan
        g += 1
    for s in range(bounds.shape[0] - 1):
        ta = bounds[s]
        tb = bounds[s + 1]
        while b < nb and bt[b] <= ta:
            if bt[b] >= t0:
                y[btg[b]] += bamt[b]
            b += 1
        for i in range(n):
            u[i] = 0.0
        for m in range(it0.shape[0]):
            if it0[m] <= ta and ta < it1[m]:
                u[itg[m]] += irate[m]
        while g < ng and grid[g] <= ta:
            for i in range(n):
                out[g, i] = y[i]
            g += 1
        if tb <= ta:
            continue
        t = ta
        span = tb - ta
        h = _initial_step(rhs, t, y, p, u, f0, rtol, atol, span)
        last_rejected = False
        while t < tb:
            if tried >= max_steps:
                return MAX_STEPS, steps
            tried += 1
            if tb - t < 1e-12 * max(1.0, abs(tb)):
                break
            if not np.isfinite(h):
                return NOT_FINITE, steps
            h = min(h, tb - t)
            if h < 1e-14 * max(1.0, abs(t)):
                return STEP_TOO_SMALL, steps
            if not last_rejected:  # after a rejection t and y are unchanged: reuse f, J, df/dt
                rhs(t, y, p, u, f0)
                jac(t, y, p, u, J)
                if uses_time:
                    dt_fd = 1e-8 * max(1.0, abs(t))
                    rhs(t + dt_fd, y, p, u, ft)
                    for i in range(n):
                        dT[i] = (ft[i] - f0[i]) / dt_fd
            inv_hg = 1.0 / (h * GAMMA)
            for i in range(n):
                rowmax = 0.0
                for j in range(n):
                    W[i, j] = -J[i, j]
                    rowmax = max(rowmax, abs(J[i, j]))
                W[i, i] += inv_hg
                scale[i] = max(rowmax, inv_hg)
            sparse = pattern.shape[0] > 0 and _lu_sparse(W, pattern, scale)
            if not sparse:
                # dense LU with partial pivoting: no sparsity given, or a tiny pivot without it
                for i in range(n):
                    for j in range(n):
                        W[i, j] = -J[i, j]
                    W[i, i] += inv_hg
                if not _lu(W, piv):
                    return SINGULAR, steps
            inv_h = 1.0 / h
            # stage 1
            for i in range(n):
                k1[i] = f0[i] + h * D1 * dT[i]
            _solve(W, piv, k1, sparse, pattern)
            # stage 2
            for i in range(n):
                ytmp[i] = y[i] + A21 * k1[i]
            rhs(t + CS2 * h, ytmp, p, u, fu)
            for i in range(n):
                k2[i] = fu[i] + C21 * inv_h * k1[i] + h * D2 * dT[i]
            _solve(W, piv, k2, sparse, pattern)
            # stage 3
            for i in range(n):
                ytmp[i] = y[i] + A31 * k1[i] + A32 * k2[i]
            rhs(t + CS3 * h, ytmp, p, u, fu)
            for i in range(n):
                k3[i] = fu[i] + inv_h * (C31 * k1[i] + C32 * k2[i]) + h * D3 * dT[i]
            _solve(W, piv, k3, sparse, pattern)
            # stage 4
            for i in range(n):
                ytmp[i] = y[i] + A41 * k1[i] + A42 * k2[i] + A43 * k3[i]
            rhs(t + CS4 * h, ytmp, p, u, fu)
            for i in range(n):
                k4[i] = fu[i] + inv_h * (C41 * k1[i] + C42 * k2[i] + C43 * k3[i]) + h * D4 * dT[i]
            _solve(W, piv, k4, sparse, pattern)
            # stage 5
            for i in range(n):
                ytmp[i] = y[i] + A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]
            rhs(t + h, ytmp, p, u, fu)
            for i in range(n):
                k5[i] = fu[i] + inv_h * (C51 * k1[i] + C52 * k2[i] + C53 * k3[i] + C54 * k4[i])
            _solve(W, piv, k5, sparse, pattern)
            # stage 6 (stiffly accurate: y1 = stage-6 argument + k6)
            for i in range(n):
                ytmp[i] += k5[i]
            rhs(t + h, ytmp, p, u, fu)
            for i in range(n):
                k6[i] = fu[i] + inv_h * (C61 * k1[i] + C62 * k2[i] + C63 * k3[i] + C64 * k4[i]
                                         + C65 * k5[i])
            _solve(W, piv, k6, sparse, pattern)
            for i in range(n):
                y1[i] = ytmp[i] + k6[i]
            if not _all_finite(y1):
                err = np.inf
            else:
                err = _err_norm(k6, y, y1, rtol, atol)
            if err <= 1.0:
                steps += 1
                t_new = t + h
                # dense output for grid points inside (t, t_new], strictly before tb
                while g < ng and grid[g] <= t_new and grid[g] < tb:
                    th = (grid[g] - t) / h
                    th1 = 1.0 - th
                    for i in range(n):
                        d1 = H21 * k1[i] + H22 * k2[i] + H23 * k3[i] + H24 * k4[i] + H25 * k5[i]
                        d2 = H31 * k1[i] + H32 * k2[i] + H33 * k3[i] + H34 * k4[i] + H35 * k5[i]
                        out[g, i] = th1 * y[i] + th * (y1[i] + th1 * (d1 + th * d2))
                    g += 1
                for i in range(n):
                    y[i] = y1[i]
                t = t_new
                fac = 0.9 * err ** -0.25 if err > 0.0 else 6.0
                fac = min(6.0, max(0.2, fac))
                if last_rejected:
                    fac = min(1.0, fac)
                h = h * fac
                last_rejected = False
            else:
                if not np.isfinite(err):
                    if h < 1e-10 * span:
                        return NOT_FINITE, steps
                    h = h * 0.1
                else:
                    h = h * max(0.2, 0.9 * err ** -0.25)
                last_rejected = True
    while b < nb and bt[b] <= bounds[-1]:
        if bt[b] >= t0:
            y[btg[b]] += bamt[b]
        b += 1
    while g < ng:
        if grid[g] <= bounds[-1] + 1e-12 * max(1.0, abs(bounds[-1])):
            for i in range(n):
                out[g, i] = y[i]
        else:
            for i in range(n):
                out[g, i] = np.nan
        g += 1
    return OK, steps


@njit(types.void(_RHS, _JAC, _M, _M, _V, _V, _V, _I, _I, _V, _V, _I, _I, _V, _M, types.float64,
                 _V, types.int64, types.boolean, _A3, _I, _I, _I), parallel=True, cache=True,
      error_model="numpy")
def solve_batch(rhs, jac, P, Y0, grid, bounds, bt, btg, bdose, it0, it1, itg, idose, idur,
                amounts, rtol, atol, max_steps, uses_time, out, status, nsteps, pattern):
    """Solve every row of ``P`` (parameters) from the matching row of ``Y0``.

    ``amounts[k, d]`` is dose ``d``'s amount for patient ``k``. Writes ``out[k, g, :]``,
    ``status[k]`` and ``nsteps[k]``; ``out`` must arrive filled with NaN, so a failed patient's
    outputs after the failure stay NaN. ``pattern`` is the Jacobian's sparse LU structure from
    :func:`sparse_pattern` (empty: dense LU with pivoting at every step).
    """
    N = P.shape[0]
    for k in prange(N):
        y = Y0[k].copy()
        bamt = np.empty(bt.shape[0])
        for m in range(bt.shape[0]):
            bamt[m] = amounts[k, bdose[m]]
        irate = np.empty(it0.shape[0])
        for m in range(it0.shape[0]):
            irate[m] = amounts[k, idose[m]] / idur[m]
        st, ns = solve_one(rhs, jac, P[k], y, grid, bounds, bt, btg, bamt, it0, it1, itg, irate,
                           rtol, atol, max_steps, uses_time, out[k], pattern)
        status[k] = st
        nsteps[k] = ns


@njit(types.void(_INIT, _M, _M), parallel=True, cache=True, error_model="numpy", nogil=True)
def init_batch(init, P, Y0):
    """Initial states of every patient from its parameters."""
    for k in prange(P.shape[0]):
        init(P[k], Y0[k])


@njit(types.void(_DERIVED, _M, _V, _A3, _A3, _I, _I, types.int64), parallel=True, cache=True,
      error_model="numpy", nogil=True)
def derived_select_batch(derived, P, times, S, D, rows, keep, n_derived):
    """:func:`derived_batch` keeping only the derived quantities ``keep`` (indices into the
    model's ``n_derived``) in ``D[k, g, :len(keep)]``."""
    for k in prange(P.shape[0]):
        buf = np.empty(n_derived)
        for g in range(min(rows[k], times.shape[0])):
            derived(times[g], S[k, g], P[k], buf)
            for j in range(keep.shape[0]):
                D[k, g, j] = buf[keep[j]]


@njit(types.void(_DERIVED, _M, _V, _A3, _A3, _I), parallel=True, cache=True,
      error_model="numpy", nogil=True)
def derived_batch(derived, P, times, S, D, rows):
    """Derived quantities (assignments) of every patient at its first ``rows[k]`` output
    times (the later rows of ``D`` are left as they are)."""
    for k in prange(P.shape[0]):
        for g in range(min(rows[k], times.shape[0])):
            derived(times[g], S[k, g], P[k], D[k, g])
