"""Reading a trial's ``patients.parquet`` in memory that does not grow with its per-scan data.

A trial's table has one row per patient and arm. Most columns are scalars; a few are lists per
row (``time_d``, ``sum_mm``, ``target_gone``, ``new_lesion``: one value per recorded scan;
``lesion_mm``: per target lesion and scan). Read into pandas, every list element becomes a
Python object: at 10^5 patients x 2 arms the lists took ~1.8 GB of the 2.4 GB peak of
``run_trial`` (issue 18), against ~280 MB as Arrow buffers. The summary needs the scalars of every
row but the lists only to score the data cutoff again (:mod:`immunocycle.trial._cutoff`) and to
draw spider plots, so :func:`read_patients` reads the scalar columns, :func:`iter_batches` hands
out the lists a batch of rows at a time, and :func:`with_scans` attaches them to the first
patients only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: Rows per batch when list columns are streamed (memory: one batch of lists as Python objects).
BATCH_ROWS = 4096
#: Patients (by id, every arm) whose per-scan lists :func:`with_scans` attaches for figures:
#: a spider plot of more patients is unreadable anyway.
SCAN_PATIENTS = 500


#: Per-patient details the table keeps for analysis but no trial summary, prediction interval
#: or figure reads: baseline fluxes and densities, per-lesion details, AE probabilities,
#: exposures and onsets, on-treatment descriptors (:func:`summary_columns` leaves them out).
_DETAIL = re.compile(r"^(J\d_baseline|density_\w+|lesion\d+_\w+|p_ae_\w+|exposure_\w+|activation|"
                     r"onset_\w+_days|limiting_step_at_\w+|phenotype_on_treatment|tmb|"
                     r"neoantigen_load|days_to_diagnosis|first_new_lesion_day|"
                     r"resistant_share_end|discontinued_day)$")


def summary_columns(path: str | Path, parameters: Sequence[str] = ()) -> list[str]:
    """The scalar columns of the table at ``path`` a trial summary reads: all but the list
    columns, the per-patient details (:data:`_DETAIL`) and the cohort's sampled ``parameters``.
    At 10^5 patients x 2 arms these are ~50 of 132 columns (~1/3 of the scalar memory)."""
    drop = set(list_columns(path)) | set(parameters)
    return [n for n in pq.read_schema(path).names if n not in drop and not _DETAIL.match(n)]


def list_columns(path: str | Path) -> list[str]:
    """Names of the list-typed columns of the Parquet file at ``path`` (per-scan values)."""
    schema = pq.read_schema(path)
    return [f.name for f in schema if pa.types.is_list(f.type) or pa.types.is_large_list(f.type)]


def read_patients(path: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The table at ``path`` without its list columns (or only ``columns``), as pandas.

    Memory: the scalar columns of every row (~100 bytes per column per 1,000 rows); strings
    repeated across rows share one Python object (pyarrow's ``deduplicate_objects``).
    """
    if columns is None:
        lists = set(list_columns(path))
        columns = [n for n in pq.read_schema(path).names if n not in lists]
    # one thread, no pre-buffering: the reader's buffers stay one column chunk (10^5 patients:
    # +78 instead of +169 MB); self_destruct frees each Arrow column once converted
    table = pq.read_table(path, columns=list(columns), use_threads=False, pre_buffer=False)
    return table.to_pandas(split_blocks=True, self_destruct=True)


def iter_batches(path: str | Path, columns: Sequence[str],
                 batch_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """The ``columns`` of the table at ``path``, ``batch_rows`` (default :data:`BATCH_ROWS`)
    rows at a time, in file order."""
    size = BATCH_ROWS if batch_rows is None else int(batch_rows)
    for batch in pq.ParquetFile(path).iter_batches(batch_size=size, columns=list(columns)):
        yield batch.to_pandas()


def with_scans(patients: pd.DataFrame, path: str | Path, columns: Sequence[str] = ("time_d",
               "sum_mm"), n_patients: int = SCAN_PATIENTS) -> pd.DataFrame:
    """``patients`` (scalar columns, one row per patient and arm) with the list ``columns`` of
    the table at ``path`` for the ``n_patients`` lowest patient ids; the other rows get None."""
    ids = sorted(set(patients["patient_id"]))[:n_patients]
    keep = set(ids)
    parts = [b[b["patient_id"].isin(keep)]
             for b in iter_batches(path, ["patient_id", "arm", *columns])]
    scans = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["patient_id", "arm", *columns])
    merged = patients.drop(columns=[c for c in columns if c in patients.columns]).merge(
        scans, on=["patient_id", "arm"], how="left", validate="one_to_one")
    for c in columns:
        merged[c] = merged[c].astype(object).where(merged[c].notna(), None)
    return merged


__all__ = ["BATCH_ROWS", "SCAN_PATIENTS", "iter_batches", "list_columns", "read_patients",
           "summary_columns", "with_scans"]
