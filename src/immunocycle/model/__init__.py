"""Declarative models: compartments, species, parameters (with units and sources), rate laws, doses.

Models are composed from modules and checked for names and units (pint) when built.
"""

from immunocycle.model._components import (
    Assignment,
    Compartment,
    Dose,
    Parameter,
    RateRule,
    Reaction,
    Species,
    schedule,
)
from immunocycle.model._errors import ModelError
from immunocycle.model._io import apply_parameter_set, load_model, load_parameter_set, read_yaml
from immunocycle.model._library import load_reference, reference_models
from immunocycle.model._model import Model
from immunocycle.model._units import ureg

__all__ = [
    "Assignment", "Compartment", "Dose", "Model", "ModelError", "Parameter", "RateRule", "Reaction",
    "Species", "apply_parameter_set", "load_model", "load_reference", "load_parameter_set", "read_yaml", "reference_models", "schedule", "ureg",
]
