"""The Catalog page of the workbench (see immunocycle.app._pages)."""

from immunocycle.app._pages import catalog_page

catalog_page()
