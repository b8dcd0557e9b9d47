"""Synergy of combinations on response: Bliss independence and highest single agent (HSA).

With per-patient response indicators of each agent alone and of the combination given to the same
patients, Bliss independence expects ``p_comb = 1 - prod_i (1 - p_i)``; the highest single agent
model expects ``max_i p_i``. Each excess ``observed - expected`` is positive for synergy and
negative for antagonism (Bliss 1939; Greco et al. 1995, Pharmacol Rev 47:331; HSA: Gaddum's
non-interaction, Berenbaum 1989 Pharmacol Rev 41:93). Confidence intervals are percentile
bootstraps over patients (all arms resampled together, so the pairing is kept), seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from immunocycle._errors import InputError


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


@dataclass(frozen=True)
class Synergy:
    """Bliss and HSA excess of a K-agent combination, each with a bootstrap interval.

    Attributes
    ----------
    observed : float
        Response rate of the combination.
    singles : tuple of float
        Response rate of each agent alone.
    bliss, hsa : BlissExcess
        ``expected`` is ``1 - prod(1 - p_i)`` (Bliss) or ``max p_i`` (HSA).
    """

    observed: float
    singles: tuple[float, ...]
    bliss: BlissExcess
    hsa: BlissExcess


def synergy(singles, combination, *, n_boot: int = 2000, seed: int = 0,
            confidence: float = 0.95) -> Synergy:
    """Bliss and HSA excess of a combination of K >= 2 agents over the same patients.

    Parameters
    ----------
    singles : sequence of array of bool
        Per agent, per patient response to that agent alone (same patients, same order).
    combination : array of bool
        Per patient response to the combination.
    n_boot, seed, confidence
        As :func:`bliss_excess`.
    """
    arms = [np.asarray(x, dtype=float) for x in (*singles, combination)]
    if len(arms) < 3 or any(a.shape != arms[0].shape for a in arms) or arms[0].ndim != 1 \
            or arms[0].size == 0:
        raise InputError("need >= 2 single-agent arrays and the combination, 1-D, non-empty "
                         "and of equal length")
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1), got {confidence}")
    stack = np.stack(arms)  # (K + 1, n)
    n = stack.shape[1]
    idx = np.random.default_rng(seed).integers(0, n, size=(int(n_boot), n))
    rates = stack[:, idx].mean(axis=-1)  # (K + 1, n_boot)
    single_rates, comb = rates[:-1], rates[-1]
    alpha = (1.0 - confidence) / 2.0
    p = stack.mean(axis=1)
    out = {}
    for name, expected, boot_expected in (
            ("bliss", 1.0 - np.prod(1.0 - p[:-1]), 1.0 - np.prod(1.0 - single_rates, axis=0)),
            ("hsa", p[:-1].max(), single_rates.max(axis=0))):
        lo, hi = np.quantile(comb - boot_expected, [alpha, 1.0 - alpha])
        out[name] = BlissExcess(observed=float(p[-1]), expected=float(expected),
                                excess=float(p[-1] - expected), ci=(float(lo), float(hi)),
                                n=int(n))
    return Synergy(observed=float(p[-1]), singles=tuple(float(x) for x in p[:-1]), **out)


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
    return synergy([response_a, response_b], response_ab, n_boot=n_boot, seed=seed,
                   confidence=confidence).bliss





__all__ = ["BlissExcess", "Synergy", "bliss_excess", "synergy"]
