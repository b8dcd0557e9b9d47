"""Seeded quasi-random sampling of patient parameters, chunk by chunk.

A scrambled Sobol sequence (scipy.stats.qmc) is advanced to each chunk's first row with
``fast_forward``, so patient ``i`` gets the same point whatever the chunk size, and memory stays
flat in the number of patients. Uniform points are mapped through each parameter's distribution
(inverse CDF, scipy.stats).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import qmc

from immunocycle._errors import InputError


@dataclass(frozen=True)
class Distribution:
    """A parameter's population distribution.

    Attributes
    ----------
    kind : {"lognormal", "normal", "uniform", "loguniform", "fixed"}
    a, b : float
        lognormal: median and geometric-SD-free ``sigma`` (log scale); normal: mean and sd;
        uniform/loguniform: low and high; fixed: value (b unused).
    """

    kind: str
    a: float
    b: float = 0.0

    def __post_init__(self):
        if self.kind not in ("lognormal", "normal", "uniform", "loguniform", "fixed"):
            raise InputError(f"unknown distribution kind {self.kind!r}")
        if self.kind in ("uniform", "loguniform") and not self.b > self.a:
            raise InputError(f"{self.kind}: high ({self.b}) must exceed low ({self.a})")
        if self.kind == "loguniform" and self.a <= 0:
            raise InputError("loguniform: low must be > 0")
        if self.kind in ("lognormal", "normal") and self.b < 0:
            raise InputError(f"{self.kind}: spread must be >= 0")

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF at uniform points ``u`` in (0, 1)."""
        if self.kind == "fixed":
            return np.full_like(u, self.a, dtype=float)
        if self.kind == "lognormal":
            return self.a * np.exp(self.b * stats.norm.ppf(u))
        if self.kind == "normal":
            return stats.norm.ppf(u, loc=self.a, scale=self.b)
        if self.kind == "uniform":
            return self.a + (self.b - self.a) * u
        return np.exp(np.log(self.a) + (np.log(self.b) - np.log(self.a)) * u)


def sample_patients(distributions: Mapping[str, Distribution], start: int, count: int,
                    seed: int) -> pd.DataFrame:
    """Patients ``start .. start+count-1`` of the population defined by ``distributions``.

    Parameters
    ----------
    distributions : mapping of parameter name -> Distribution
    start, count : int
        Which patients (0-based ids) to generate.
    seed : int
        Scrambling seed; the same seed gives the same patient ``i`` for any ``start``/``count``.

    Returns
    -------
    DataFrame
        Index ``patient_id``; one column per parameter.
    """
    if start < 0 or count < 0:
        raise InputError("start and count must be >= 0")
    names = list(distributions)
    sampler = qmc.Sobol(d=max(len(names), 1), scramble=True, seed=seed)
    if not count:
        u = np.empty((0, len(names)))
    elif start:
        sampler.fast_forward(start)
        u = sampler.random(count)
    else:
        # Chunks are arbitrary slices of one sequence; balance over powers of 2 is not needed.
        # SciPy warns only on a sequence's first draw, so only the first chunk silences it
        # (the warnings filters are global: chunks in two threads must not both swap them).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The balance properties",
                                    category=UserWarning)
            u = sampler.random(count)
    # Keep points strictly inside (0, 1): the inverse CDF of 0 is -inf.
    u = np.clip(u, 1e-12, 1 - 1e-12)
    data = {name: distributions[name].ppf(u[:, j]) for j, name in enumerate(names)}
    return pd.DataFrame(data, index=pd.RangeIndex(start, start + count, name="patient_id"))
