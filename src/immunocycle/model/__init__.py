"""Declarative models: compartments, species, parameters (with units and sources), rate laws, doses.

Models are composed from modules and checked for names and units (pint) when built.
"""

from immunocycle.model._components import (
    Assignment,
    Compartment,
    Dose,
    Event,
    Parameter,
    RateRule,
    Reaction,
    Species,
    schedule,
)
from immunocycle.model._errors import ModelError
from immunocycle.model._expressions import evaluate as evaluate_expression
from immunocycle.model._expressions import names as expression_names
from immunocycle.model._expressions import parse as parse_expression
from immunocycle.model._io import (
    ParameterSetFile,
    ParameterSpec,
    apply_parameter_set,
    load_model,
    load_parameter_set,
    read_yaml,
)
from immunocycle.model._library import load_reference, reference_models
from immunocycle.model._model import Model
from immunocycle.model._units import parse_units, ureg

__all__ = [
    "Assignment", "Compartment", "Dose", "Event", "Model", "ModelError", "Parameter", "ParameterSetFile",
    "ParameterSpec", "RateRule", "Reaction", "Species", "apply_parameter_set", "evaluate_expression",
    "expression_names", "load_model", "load_parameter_set", "load_reference", "parse_expression",
    "parse_units", "read_yaml", "reference_models", "schedule", "ureg",
]
