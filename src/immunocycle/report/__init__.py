"""Figures and reports."""

from immunocycle.report._runs import write_simulation
from immunocycle.report._timecourse import plot_timecourses
from immunocycle.report._trial_figures import kaplan_meier, response_by_phenotype, spider, waterfall

__all__ = ["kaplan_meier", "plot_timecourses", "response_by_phenotype", "spider", "waterfall",
           "write_simulation"]
