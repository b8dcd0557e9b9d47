"""immunocycle.sbml: export models to SBML Level 3 Version 2 and import SBML (python-libsbml)."""

from immunocycle.sbml._export import (
    EXPORT_FORMATS,
    export,
    sbml_math,
    to_l3_infix,
    to_sbml,
    to_sbml_document,
    write_sbml,
)
from immunocycle.sbml._import import from_sbml, read_sbml

__all__ = ["EXPORT_FORMATS", "export", "from_sbml", "read_sbml", "sbml_math", "to_l3_infix",
           "to_sbml", "to_sbml_document", "write_sbml"]
