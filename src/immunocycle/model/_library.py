"""Reference models shipped as YAML data (``immunocycle/data/models``)."""

from __future__ import annotations

from pathlib import Path

from immunocycle._paths import PACKAGE_DATA
from immunocycle.model._errors import ModelError
from immunocycle.model._io import load_model
from immunocycle.model._model import Model

MODELS_DIR = PACKAGE_DATA / "models"


def reference_models() -> list[str]:
    """Names of the shipped reference models."""
    return sorted(p.stem for p in MODELS_DIR.glob("*.yaml"))


def load_reference(name_or_path: str | Path) -> Model:
    """Load a shipped reference model by name, or any model YAML file by path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        return load_model(path)
    candidate = MODELS_DIR / f"{name_or_path}.yaml"
    if not candidate.exists():
        raise ModelError(str(name_or_path), "model",
                         f"unknown model; choose one of {', '.join(reference_models())} or give a YAML path")
    return load_model(candidate)
