"""Figures and reports."""

from immunocycle.report._cycle_runs import write_cycle_run
from immunocycle.report._design_figures import plot_pareto, plot_vs_free
from immunocycle.report._html import table_tag, write_html
from immunocycle.report._render import render_report
from immunocycle.report._runs import write_pk_run, write_simulation
from immunocycle.report._study_figures import plot_study_curves, plot_study_survival, study_figures
from immunocycle.report._timecourse import plot_timecourses
from immunocycle.report._trial_figures import (
    kaplan_meier,
    response_by_phenotype,
    spider,
    swimmer,
    trial_figures,
    waterfall,
)

__all__ = ["write_pk_run", "kaplan_meier", "plot_pareto", "plot_timecourses", "plot_vs_free", "render_report",
           "response_by_phenotype", "spider", "swimmer", "table_tag", "trial_figures", "waterfall",
           "write_cycle_run", "write_html", "write_simulation", "plot_study_curves", "plot_study_survival", "study_figures"]
