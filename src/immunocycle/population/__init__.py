"""Virtual patients: population distributions, seeded sampling, pre-treatment growth, cohorts."""

from immunocycle.population._sampling import Distribution, sample_patients

__all__ = ["Distribution", "sample_patients"]
