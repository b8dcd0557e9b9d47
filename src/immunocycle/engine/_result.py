"""Batch simulation results with their provenance (PySB ``SimulationResult`` style)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from immunocycle._provenance import dumps_json
from immunocycle.engine._rodas import STATUS_TEXT


@dataclass(frozen=True)
class SimulationResult:
    """Time courses of a batch of patients on a shared grid.

    Attributes
    ----------
    times : ndarray, shape (T,)
        Output times in the model's time units.
    states : ndarray, shape (N, T, S)
        Species values (declared units); NaN after a failure.
    derived : ndarray, shape (N, T, D)
        Assignment-rule values (tumor volume, fluxes, ...).
    status : ndarray of int, shape (N,)
        0 where the integration succeeded (see :data:`STATUS_TEXT`).
    parameters : DataFrame, shape (N, P)
        The parameter values each patient was simulated with.
    """

    times: np.ndarray
    states: np.ndarray
    derived: np.ndarray
    status: np.ndarray
    state_names: list[str]
    derived_names: list[str]
    parameters: pd.DataFrame
    n_steps: np.ndarray
    provenance: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.states.shape[0]

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of patients whose integration succeeded."""
        return self.status == 0

    @property
    def names(self) -> list[str]:
        return [*self.state_names, *self.derived_names]

    def __getitem__(self, name: str) -> np.ndarray:
        """Values of a species or derived quantity, shape (N, T)."""
        if name in self.state_names:
            return self.states[:, :, self.state_names.index(name)]
        if name in self.derived_names:
            return self.derived[:, :, self.derived_names.index(name)]
        raise KeyError(f"{name!r} is neither a species nor a derived quantity; "
                       f"choose from {', '.join(self.names)}")

    def status_text(self) -> list[str]:
        return [STATUS_TEXT.get(int(s), f"status {s}") for s in self.status]

    def patient(self, k: int) -> pd.DataFrame:
        """One patient's time courses, indexed by time."""
        data = np.concatenate([self.states[k], self.derived[k]], axis=1)
        return pd.DataFrame(data, index=pd.Index(self.times, name="time"), columns=self.names)

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per patient and time, one column per quantity."""
        n, t = self.n, self.times.size
        data = np.concatenate([self.states, self.derived], axis=2).reshape(n * t, -1)
        df = pd.DataFrame(data, columns=self.names)
        df.insert(0, "time", np.tile(self.times, n))
        df.insert(0, "patient", np.repeat(np.arange(n), t))
        return df

    def to_parquet(self, path: str | Path) -> Path:
        """Write the long table with provenance in the Parquet metadata."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(self.to_frame(), preserve_index=False)
        meta = {**(table.schema.metadata or {}),
                b"immunocycle": dumps_json(self.provenance, indent=None).encode()}
        path = Path(path)
        pq.write_table(table.replace_schema_metadata(meta), path)
        return path
