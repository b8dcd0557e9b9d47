"""``immunocycle demo``: the main job on embedded defaults."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from immunocycle.engine import simulate
from immunocycle.model import load_reference, reference_models
from immunocycle.report._runs import write_simulation


def run_demo(out: str | Path, *, seed: int = 0) -> list[Path]:
    """Simulate every shipped reference model for one year and write their outputs."""
    out = Path(out)
    written = []
    for name in reference_models():
        model = load_reference(name)
        result = simulate(model, np.arange(0.0, 366.0))
        written.append(write_simulation(result, model, out / name, days=365, seed=seed)["figure"])
    return written
