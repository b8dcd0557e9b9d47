"""Synergy of two-agent combinations by Bliss independence on response.

With per-patient response indicators of agent A alone, agent B alone and A+B given to the same
patients, Bliss independence expects ``p_AB = 1 - (1 - p_A)(1 - p_B)``; the excess
``observed - expected`` is positive for synergy and negative for antagonism (Bliss 1939; Greco
et al. 1995, Pharmacol Rev 47:331). Its confidence interval is a percentile bootstrap over
patients (the three arms resampled together, so the pairing is kept), seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BlissExcess:
    """Bliss excess on response with a bootstrap interval.

    Attributes
    ----------
    observed, expected, excess : float
        Response rate of the combination, the Bliss expectation, and their difference.
    ci : tuple of float
        Percentile bootstrap interval of the excess.
    n : int
        Patients.
    """

    observed: float
    expected: float
    excess: float
    ci: tuple[float, float]
    n: int

    def to_dict(self) -> dict:
        return {"observed": self.observed, "expected": self.expected, "excess": self.excess,
                "ci": [self.ci[0], self.ci[1]], "n": self.n}


def _excess(a: np.ndarray, b: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Excess per bootstrap row (arrays of shape (..., n))."""
    pa, pb, pab = a.mean(axis=-1), b.mean(axis=-1), ab.mean(axis=-1)
    return pab - (1.0 - (1.0 - pa) * (1.0 - pb))


def bliss_excess(response_a, response_b, response_ab, *, n_boot: int = 2000, seed: int = 0,
                 confidence: float = 0.95) -> BlissExcess:
    """Bliss independence excess of a two-agent combination, with a bootstrap CI over patients.

    Parameters
    ----------
    response_a, response_b, response_ab : array of bool
        Per patient (same patients, same order): response to A alone, B alone, and A+B.
    n_boot : int
        Bootstrap resamples.
    seed : int
    confidence : float
        Two-sided level of the percentile interval.
    """
    a, b, ab = (np.asarray(x, dtype=float) for x in (response_a, response_b, response_ab))
    if not (a.shape == b.shape == ab.shape) or a.ndim != 1 or a.size == 0:
        raise ValueError("response arrays must be 1-D, non-empty and of equal length")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    n = a.size
    pa, pb = float(a.mean()), float(b.mean())
    expected = 1.0 - (1.0 - pa) * (1.0 - pb)
    observed = float(ab.mean())
    idx = np.random.default_rng(seed).integers(0, n, size=(int(n_boot), n))
    boot = _excess(a[idx], b[idx], ab[idx])
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(boot, [alpha, 1.0 - alpha])
    return BlissExcess(observed=observed, expected=expected, excess=observed - expected,
                       ci=(float(lo), float(hi)), n=int(n))


__all__ = ["BlissExcess", "bliss_excess"]
