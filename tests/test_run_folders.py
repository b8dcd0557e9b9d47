"""Run folders that cannot lie, and the one CLI error handler.

A byte flipped in a finished chunk is recomputed on resume and refused by ``report``; a folder
holding another command's run is refused without ``--overwrite``; a conflict names the
arguments that differ; a failed run blocks nothing; a truncated code-cache file is regenerated;
a bad ``--out`` or ``--scheduler`` gives exit code 2 and one line, never a traceback.
"""

import json
import shutil
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from immunocycle._errors import ImmunocycleError, InputError, RunFolderError
from immunocycle._manifest import MANIFEST, sha256_file, verify
from immunocycle.cli import app
from immunocycle.model import ModelError
from immunocycle.trial._runner import RunConflictError, run_chunked

runner = CliRunner()
TRIAL = ["trial", "--cohort", "melanoma", "--arm", "nivolumab", "--n", "4", "--chunk-size", "2",
         "--days", "84", "--json"]


def _one_error_line(res, *needles: str) -> str:
    """The run failed cleanly: exit 2, one ``error:`` line naming ``needles``, no traceback."""
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1, res.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def _flip(path, offset=None) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if offset is None else offset] ^= 0x01
    path.write_bytes(bytes(data))


def _toy(start: int, count: int) -> pd.DataFrame:
    ids = np.arange(start, start + count)
    return pd.DataFrame({"patient_id": ids, "value": np.sqrt(ids + 1.0)})


@pytest.fixture(scope="module")
def trial_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("trial") / "run"
    res = runner.invoke(app, [*TRIAL, "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture
def trial_copy(trial_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(trial_run, out)
    return out


def test_every_file_of_a_trial_run_has_a_checksum(trial_run):
    manifest = json.loads((trial_run / MANIFEST).read_text())
    assert manifest["command"] == "trial" and manifest["status"] == "complete"
    assert manifest["arguments"]["--n"] == 4 and "--out" not in manifest["arguments"]
    files = manifest["files"]
    assert {"patients.parquet", "summary.json", "inputs.json", "run.json",
            "chunks/part-000000.parquet", "chunks/part-000001.parquet"} <= set(files)
    for name, entry in files.items():
        assert entry["sha256"] == sha256_file(trial_run / name)
    state = json.loads((trial_run / "run.json").read_text())
    assert state["status"] == "complete"
    assert state["files"]["chunks/part-000001.parquet"]["sha256"] == \
        sha256_file(trial_run / "chunks" / "part-000001.parquet")
    assert verify(trial_run) >= len(files)


def test_a_flipped_chunk_is_recomputed_on_resume(trial_run, trial_copy):
    chunk = trial_copy / "chunks" / "part-000001.parquet"
    _flip(chunk)
    res = runner.invoke(app, [*TRIAL, "--out", str(trial_copy)])
    assert res.exit_code == 0, res.output
    assert "part-000001.parquet: checksum mismatch" in res.output and "recomputing" in res.output
    assert sha256_file(chunk) == sha256_file(trial_run / "chunks" / "part-000001.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(trial_copy / "patients.parquet"),
                                  pd.read_parquet(trial_run / "patients.parquet"))


def test_report_refuses_a_flipped_file(trial_copy):
    res = runner.invoke(app, ["report", str(trial_copy)])
    assert res.exit_code == 0, res.output
    assert verify(trial_copy)  # the report written into the folder keeps it verifiable
    _flip(trial_copy / "patients.parquet")
    res = runner.invoke(app, ["report", str(trial_copy)])
    _one_error_line(res, "patients.parquet", "checksum mismatch")


def test_runner_warns_and_recomputes_a_changed_chunk(tmp_path):
    first = run_chunked(_toy, 10, tmp_path, chunk_size=4, progress=False, arguments={"a": 1})
    expected = pd.read_parquet(first)
    _flip(tmp_path / "chunks" / "part-000002.parquet", offset=40)
    calls = []

    def counting(start, count):
        calls.append(start)
        return _toy(start, count)

    with pytest.warns(RuntimeWarning, match="part-000002.parquet: checksum mismatch"):
        again = run_chunked(counting, 10, tmp_path, chunk_size=4, progress=False,
                            arguments={"a": 1})
    assert calls == [8]  # only the changed chunk
    pd.testing.assert_frame_equal(pd.read_parquet(again), expected)


def test_a_failed_run_blocks_nothing(tmp_path):
    def broken(start, count):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        run_chunked(broken, 6, tmp_path, chunk_size=3, progress=False, arguments={"seed": 1})
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "failed"
    run_chunked(_toy, 6, tmp_path, chunk_size=3, progress=False, arguments={"seed": 2})
    # A complete run with other arguments is refused, naming what differs (not a dump).
    with pytest.raises(RunConflictError, match=r"seed: 2 there, 3 here") as err:
        run_chunked(_toy, 6, tmp_path, chunk_size=3, progress=False, arguments={"seed": 3})
    assert isinstance(err.value, RunFolderError) and isinstance(err.value, ValueError)


def test_a_pk_folder_is_refused_without_overwrite(tmp_path):
    out = tmp_path / "pk"
    res = runner.invoke(app, ["pk", "--carrier", "liposome", "--diameter", "90", "--dose", "5",
                              "--days", "0.5", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / MANIFEST).read_text())["command"] == "pk"
    before = (out / "summary.json").read_bytes()
    res = runner.invoke(app, [*TRIAL, "--out", str(out)])
    _one_error_line(res, "--out", "holds a `pk` run", "--overwrite")
    assert (out / "summary.json").read_bytes() == before
    # --overwrite with a run that fails (an unknown arm) puts the pk run back as it was
    pk_manifest = (out / MANIFEST).read_bytes()
    bad = [a if a != "nivolumab" else "no_such_therapy" for a in TRIAL]
    res = runner.invoke(app, [*bad, "--out", str(out), "--overwrite"])
    assert res.exit_code == 2, res.output
    assert (out / "summary.json").read_bytes() == before
    assert (out / MANIFEST).read_bytes() == pk_manifest and verify(out) > 0
    assert not (out / ".replaced").exists()
    res = runner.invoke(app, [*TRIAL, "--out", str(out), "--overwrite"])
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["command"] == "trial" and "pct_id_by_organ.csv" not in manifest["files"]
    assert not (out / "pct_id_by_organ.csv").exists() and not (out / ".replaced").exists()


def test_the_conflict_message_names_the_differing_argument(trial_copy):
    before = sha256_file(trial_copy / "patients.parquet")
    res = runner.invoke(app, [*TRIAL, "--out", str(trial_copy), "--seed", "3"])
    line = _one_error_line(res, "--seed: 0 there, 3 here", "--overwrite")
    assert len(line) < 300 and "k_C_growth" not in line
    assert sha256_file(trial_copy / "patients.parquet") == before


def test_a_run_made_by_other_code_is_neither_resumed_nor_lost(trial_copy, monkeypatch):
    """Another model version (code or data) changes results, so its complete run is refused
    like other arguments and its chunks are never taken as this version's; --overwrite
    recomputes them."""
    import immunocycle._manifest as manifest
    import immunocycle.trial._runner as chunked

    before = sha256_file(trial_copy / "patients.parquet")
    for module in (manifest, chunked):
        monkeypatch.setattr(module, "code_fingerprint", lambda: "0123456789abcdef")
    res = runner.invoke(app, [*TRIAL, "--out", str(trial_copy)])
    _one_error_line(res, "immunocycle code and data", "0123456789abcdef here", "--overwrite")
    assert sha256_file(trial_copy / "patients.parquet") == before  # nothing lost
    # an interrupted run of the other version: its chunks are refused, not mixed in
    record = json.loads((trial_copy / MANIFEST).read_text())
    (trial_copy / MANIFEST).write_text(json.dumps({**record, "status": "interrupted", "files": {}}))
    with pytest.raises(RunConflictError, match="immunocycle_code"):
        run_chunked(_toy, 4, trial_copy, chunk_size=2, progress=False,
                    arguments=json.loads((trial_copy / "run.json").read_text())["arguments"])
    res = runner.invoke(app, [*TRIAL, "--out", str(trial_copy), "--overwrite"])
    assert res.exit_code == 0, res.output
    assert json.loads((trial_copy / MANIFEST).read_text())["code"] == "0123456789abcdef"
    state = json.loads((trial_copy / "run.json").read_text())
    assert state["arguments"]["immunocycle_code"] == "0123456789abcdef"


def test_a_failed_cli_run_does_not_block_the_next(tmp_path, monkeypatch):
    import dask
    import distributed  # noqa: F401 - its defaults must be in dask's config before set() below

    out = tmp_path / "run"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        res = runner.invoke(app, [*TRIAL, "--out", str(out), "--scheduler", "tcp://127.0.0.1:9"])
    _one_error_line(res, "--scheduler", "cannot connect")
    assert json.loads((out / MANIFEST).read_text())["status"] == "failed"
    res = runner.invoke(app, [*TRIAL, "--out", str(out), "--seed", "1"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / MANIFEST).read_text())["status"] == "complete"


@pytest.mark.parametrize("address", ["not an address", "tcp://host-without-port"])
def test_a_bad_scheduler_address_is_refused_before_writing(tmp_path, address):
    res = runner.invoke(app, [*TRIAL, "--out", str(tmp_path / "x"), "--scheduler", address])
    _one_error_line(res, "--scheduler", "not a scheduler address", "tcp://")
    assert not (tmp_path / "x").exists()


def test_bad_out_paths_give_one_line(tmp_path, trial_run):
    afile = tmp_path / "notes.txt"
    afile.write_text("keep me")
    sim = ["simulate", "pk_two_compartment", "--days", "2", "--json", "--out"]
    _one_error_line(runner.invoke(app, [*sim, str(afile)]), "notes.txt", "is a file")
    _one_error_line(runner.invoke(app, [*sim, str(afile / "sub")]), "notes.txt")
    assert afile.read_text() == "keep me"
    unwritable = "/proc/immunocycle-test/out"  # not creatable, even by root
    _one_error_line(runner.invoke(app, [*sim, unwritable]), "/proc/immunocycle-test")
    # a folder where a file is expected: the earlier results stay as they were
    res = runner.invoke(app, ["report", str(trial_run), "--out", str(tmp_path)])
    _one_error_line(res, str(tmp_path), "folder")
    assert verify(trial_run)


def test_a_truncated_code_cache_file_is_regenerated(tmp_path, monkeypatch):
    from immunocycle.engine import simulate
    from immunocycle.engine._codegen import compile_model
    from immunocycle.model import load_reference

    monkeypatch.setenv("IMMUNOCYCLE_CACHE", str(tmp_path))
    model = load_reference("pk_two_compartment")
    compiled = compile_model(model)
    expected = simulate(model, np.arange(0.0, 5.0)).states
    source = compiled.source_path.read_text()
    compiled.source_path.write_text(source[: len(source) // 2])  # a kill mid-write
    monkeypatch.delitem(sys.modules, f"immunocycle_generated.{compiled.source_path.stem}")
    with pytest.warns(RuntimeWarning, match="failed to load.*regenerating"):
        again = compile_model(model)
    assert again.source_path.read_text() == source
    np.testing.assert_allclose(simulate(model, np.arange(0.0, 5.0)).states, expected)


def test_errors_share_one_base_and_keep_valueerror():
    for err in (ModelError("m.yaml", "parameters.k", "not a number"),
                InputError("n", "must be >= 1"), RunFolderError("out", "changed")):
        assert isinstance(err, ImmunocycleError) and isinstance(err, ValueError)
    assert str(InputError("n", "must be >= 1", "give 1 or more")) == \
        "n: must be >= 1 (give 1 or more)"


def test_a_run_that_fails_before_writing_leaves_the_earlier_manifest(tmp_path):
    from immunocycle._manifest import run_folder

    with run_folder(tmp_path, "simulate", {"--days": 5}) as out:
        (out / "result.csv").write_text("t,x\n0,1\n")
    before = (tmp_path / MANIFEST).read_text()
    with pytest.raises(InputError), run_folder(tmp_path, "simulate", {"--days": 5}):
        raise InputError("days", "bad")
    assert (tmp_path / MANIFEST).read_text() == before
    with pytest.raises(InputError), run_folder(tmp_path, "simulate", {"--days": 5}) as out:
        (out / "result.csv").write_text("t,x\n0,2\n")  # half-written, then it fails
        raise InputError("days", "bad")
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["status"] == "failed" and manifest["error"] == "days: bad"
    with run_folder(tmp_path, "pk", {"--dose": 1}):  # a failed run blocks no command
        pass


def test_bad_arguments_write_nothing(tmp_path):
    out = tmp_path / "new"
    res = runner.invoke(app, ["trial", "--cohort", "melanoma", "--arm", "nivolumab", "--n", "4",
                              "--days", "42", "--out", str(out)])
    _one_error_line(res, "--days")
    assert not out.exists()


def _failures():
    import distributed
    import pyarrow as pa

    return [
        (MemoryError(), "out of memory"),
        (pa.lib.ArrowInvalid("Parquet magic bytes not found"), "Parquet/Arrow: Parquet magic"),
        (distributed.comm.CommClosedError("in <TCP>: Stream is closed"), "Dask: in <TCP>"),
        (InputError("chunk_size", "must be >= 1, got 0"), "--chunk-size: must be >= 1, got 0"),
        (InputError("tmb must be >= 0, got -1"), "--tmb must be >= 0"),
        (PermissionError(13, "Permission denied", "/data/run"), "/data/run: permission denied"),
    ]


@pytest.mark.parametrize("index", range(6))
def test_the_cli_handler_turns_failures_into_one_line(tmp_path, monkeypatch, index):
    import immunocycle.trial

    exc, expected = _failures()[index]

    def fails(*args, **kwargs):
        raise exc

    monkeypatch.setattr(immunocycle.trial, "run_trial", fails)
    res = runner.invoke(app, [*TRIAL, "--out", str(tmp_path / "x")])
    _one_error_line(res, expected)


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    import immunocycle.trial

    def buggy(*args, **kwargs):
        return {}["arms"]

    monkeypatch.setattr(immunocycle.trial, "run_trial", buggy)
    res = runner.invoke(app, [*TRIAL, "--out", str(tmp_path / "x")])
    assert res.exit_code == 1 and isinstance(res.exception, KeyError)


def test_an_unreadable_manifest_is_named_and_replaced_with_overwrite(tmp_path):
    from immunocycle._manifest import claim

    (tmp_path / MANIFEST).write_text('{"command": "pk", "status": "comp')  # cut by a kill
    with pytest.raises(RunFolderError, match=r"manifest.json: unreadable .*--overwrite"):
        claim(tmp_path, "trial", {"--n": 4})
    assert claim(tmp_path, "trial", {"--n": 4}, overwrite=True) is None


def test_overwrite_puts_the_replaced_run_back_when_the_new_run_fails(tmp_path):
    from immunocycle._manifest import run_folder

    with run_folder(tmp_path, "pk", {"--dose": 5}):
        (tmp_path / "summary.json").write_text('{"de24": 0.7}')
    before = (tmp_path / MANIFEST).read_bytes()
    with pytest.raises(InputError), run_folder(tmp_path, "trial", {"--n": 4}, overwrite=True):
        assert not (tmp_path / "summary.json").exists()  # set aside while the new run works
        (tmp_path / "summary.json").write_text("half-written")
        raise InputError("--arm", "unknown therapy")
    assert (tmp_path / "summary.json").read_text() == '{"de24": 0.7}'
    assert (tmp_path / MANIFEST).read_bytes() == before and verify(tmp_path) == 1
    with run_folder(tmp_path, "trial", {"--n": 4}, overwrite=True):
        (tmp_path / "patients.csv").write_text("id\n0\n")
    assert not (tmp_path / "summary.json").exists() and not (tmp_path / ".replaced").exists()
    assert json.loads((tmp_path / MANIFEST).read_text())["command"] == "trial"
