"""immunocycle.sbml: export models to SBML Level 3 Version 2 (python-libsbml)."""

from immunocycle.sbml._export import (
    EXPORT_FORMATS,
    export,
    sbml_math,
    to_l3_infix,
    to_sbml,
    to_sbml_document,
    write_sbml,
)

__all__ = ["EXPORT_FORMATS", "export", "sbml_math", "to_l3_infix", "to_sbml", "to_sbml_document",
           "write_sbml"]
