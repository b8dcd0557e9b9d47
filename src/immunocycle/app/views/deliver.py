"""The Deliver page of the workbench (see immunocycle.app._pages)."""

from immunocycle.app._pages import deliver_page

deliver_page()
