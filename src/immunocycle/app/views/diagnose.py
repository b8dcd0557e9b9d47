"""The Diagnose page of the workbench (see immunocycle.app._pages)."""

from immunocycle.app._pages import diagnose_page

diagnose_page()
