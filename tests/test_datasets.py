"""``immunocycle data fetch``: download from a local server, sha256 checks, placement, search."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from immunocycle import _datasets
from immunocycle._datasets import ChecksumError, fetch_dataset
from immunocycle._paths import dataset_dir
from immunocycle.cli import app

runner = CliRunner()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture()
def served(tmp_path):
    """A folder served over HTTP on 127.0.0.1 (a thread); yields (folder, base URL)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output clean
        pass


def _tiny_dataset(root: Path) -> dict:
    """A two-file data set in the layout of the Nano-Tumor one (a spreadsheet whose IDs are on
    the first row of each group, and a CSV), with the spec that describes it."""
    sheet = pd.DataFrame({"ID": [1, None, 2], "Time": [0.5, 24.0, 6.0], "Tumor": [1.5, 2.0, 0.5]})
    sheet.to_excel(root / "Time course.xlsx", index=False)
    (root / "table.csv").write_text("ID,HD\n1,50\n2,100\n")
    expected_course = "ID,time_h,tumor_pct\n1,0.5,1.5\n1,24.0,2.0\n2,6.0,0.5\n"
    return {"url": "http://invalid.example/", "files": [
        {"download": "Time course.xlsx", "sha256": _sha((root / "Time course.xlsx").read_bytes()),
         "output": "course.csv", "output_sha256": _sha(expected_course.encode()),
         "fill_down": ["ID"], "rename": {"Time": "time_h", "Tumor": "tumor_pct"}},
        {"download": "table.csv", "sha256": _sha((root / "table.csv").read_bytes()),
         "output": "table.csv", "output_sha256": _sha((root / "table.csv").read_bytes())}]}


def test_fetch_checks_converts_and_places_the_files(served, tmp_path):
    root, url = served
    spec = _tiny_dataset(root)
    folder = fetch_dataset("tiny", tmp_path / "dest", url=url, spec=spec)
    assert folder == tmp_path / "dest" / "tiny"
    course = pd.read_csv(folder / "course.csv")
    assert course["ID"].tolist() == [1, 1, 2]  # filled down
    assert list(course.columns) == ["ID", "time_h", "tumor_pct"]  # renamed
    assert (folder / "table.csv").read_text() == (root / "table.csv").read_text()
    assert not list(folder.glob(".*.part"))  # no temporary file left behind


def test_corrupted_download_is_refused_and_nothing_is_written(served, tmp_path):
    root, url = served
    spec = _tiny_dataset(root)
    data = bytearray((root / "table.csv").read_bytes())
    data[5] ^= 0x01  # one flipped bit
    (root / "table.csv").write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="sha256"):
        fetch_dataset("tiny", tmp_path / "dest", url=url, spec=spec)
    assert not (tmp_path / "dest" / "tiny").exists()


def test_cli_fetch_places_the_data_set_where_the_code_looks(served, tmp_path, monkeypatch):
    root, url = served
    monkeypatch.setattr(_datasets, "datasets", lambda: {"tinyset": _tiny_dataset(root)})
    monkeypatch.delenv("IMMUNOCYCLE_SHARED_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    res = runner.invoke(app, ["data", "fetch", "tinyset", "--url", url])
    assert res.exit_code == 0, res.output
    # the default destination is the user data folder, which the data lookup searches
    assert dataset_dir("tinyset") == tmp_path / "xdg" / "immunocycle" / "data" / "tinyset"
    assert (dataset_dir("tinyset") / "course.csv").is_file()


def test_cli_fetch_refuses_a_bad_checksum_with_exit_2(served, tmp_path):
    root, url = served
    # files of the published names but other contents: the packaged checksums refuse them
    (root / "Model_dataset.xlsx").write_bytes(b"not the published spreadsheet")
    res = runner.invoke(app, ["data", "fetch", "nanotumor", "--dest", str(tmp_path), "--url", url])
    assert res.exit_code == 2
    assert "sha256" in res.output and "Model_dataset.xlsx" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "nanotumor").exists()


def test_cli_fetch_unknown_name_and_unreachable_source(tmp_path):
    res = runner.invoke(app, ["data", "fetch", "nosuchset", "--dest", str(tmp_path)])
    assert res.exit_code == 2 and "nanotumor" in res.output
    res = runner.invoke(app, ["data", "fetch", "nanotumor", "--dest", str(tmp_path),
                              "--url", "http://127.0.0.1:9/"])  # discard port: refused
    assert res.exit_code == 2 and "download failed" in res.output


def test_packaged_checksums_match_the_shared_copy(shared_data):
    """The converted files' sha256 in datasets.yaml are those of the copy the package was fitted
    on (skipped without the shared data set)."""
    folder = shared_data("nanotumor")
    for entry in _datasets.datasets()["nanotumor"]["files"]:
        assert _sha((folder / entry["output"]).read_bytes()) == entry["output_sha256"]
