"""The Design page of the workbench (see immunocycle.app._pages)."""

from immunocycle.app._pages import design_page

design_page()
