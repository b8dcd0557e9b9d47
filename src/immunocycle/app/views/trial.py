"""The Trial page of the workbench (see immunocycle.app._pages)."""

from immunocycle.app._pages import trial_page

trial_page()
