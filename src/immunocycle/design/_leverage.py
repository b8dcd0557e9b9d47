"""Derive the per-phenotype step leverage that :func:`immunocycle.cycle.limiting_step` reads.

For each immune phenotype, the untreated archetype preset of that name is perturbed parameter by
parameter (:func:`~immunocycle.design.local_elasticities`, central differences of +/-10 % in log
space); a step's leverage is the summed |d mean ln G / d ln p| over its parameters
(``step_parameters.yaml``), normalized to sum one per phenotype. The table is written to
``data/cycle/step_leverage.yaml`` with the command and the revision that made it::

    python -m immunocycle.design._leverage
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from immunocycle._paths import PACKAGE_DATA
from immunocycle._provenance import provenance
from immunocycle.cycle import PHENOTYPES
from immunocycle.design._sensitivity import STEPS, local_elasticities, settings

#: Where the table lives (read by the cycle package, which cannot import this one).
LEVERAGE_FILE = PACKAGE_DATA / "cycle" / "step_leverage.yaml"
COMMAND = "python -m immunocycle.design._leverage"


def derive_step_leverage() -> dict[str, np.ndarray]:
    """Normalized leverage of steps 1-7 per phenotype, at that phenotype's archetype preset."""
    table = {}
    for name in PHENOTYPES:
        lev = local_elasticities(name).by_step("e_gain").to_numpy(dtype=float)
        table[name] = lev / lev.sum()
    return table


def write_step_leverage(path: str | Path = LEVERAGE_FILE) -> Path:
    """Derive the table and write it, with its provenance, to ``path`` (YAML)."""
    table = derive_step_leverage()
    conf = settings()
    record = provenance(command=COMMAND, presets=list(PHENOTYPES),
                        readout=conf["readout"], rel_step=conf["local"]["rel_step"])
    body = {
        "units": "fraction of the phenotype's summed |d mean ln G / d ln p| (dimensionless)",
        "source": "local elasticities of the untreated archetype presets (inflamed, excluded, "
                  "desert), mean ln cycle gain over the readout window of diagnosis.yaml",
        "provenance": {k: record[k] for k in ("immunocycle_version", "git_revision",
                                              "created_utc", "inputs")},
        "leverage": {name: {k: round(float(v), 6) for k, v in zip(STEPS, lev, strict=True)}
                     for name, lev in table.items()},
    }
    header = ("# Leverage of each step of the cancer-immunity cycle on the mean ln cycle gain,\n"
              "# per immune phenotype (rows sum to 1): the weights of\n"
              "# immunocycle.cycle.limiting_step.\n"
              f"# Generated; do not edit. Regenerate with `{COMMAND}`.\n")
    path = Path(path)
    path.write_text(header + yaml.safe_dump(body, sort_keys=False, width=100))
    return path


__all__ = ["LEVERAGE_FILE", "derive_step_leverage", "write_step_leverage"]


if __name__ == "__main__":
    print(write_step_leverage())
