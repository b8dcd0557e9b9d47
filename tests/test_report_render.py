"""``immunocycle report DIR``: one self-contained HTML page from a saved run folder.

The run folder is built from real simulations (a diagnosis, a small design and its confirming
trial); it is built once per test session and shared by the test files that need it (also across
pytest-xdist workers, under a file lock).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from immunocycle._commands.report import report_command
from immunocycle.report import plot_pareto, plot_vs_free, render_report
from immunocycle.report._render import ReportInputError

#: The demo on small sizes: the same pipeline as ``immunocycle demo`` (diagnose -> design ->
#: confirmatory trial -> report), a few patients per arm.
SMALL = dict(design_n=12, confirm_n=24, budget=2)


def build_run_folder(root: Path) -> Path:
    """A complete run folder written by the demo: inputs.json, diagnosis/, design.json,
    design_trial/ and trial/ (the confirmatory trial), report.html."""
    from immunocycle._demo import DemoSettings, run_demo

    run = root / "run"
    tmp = root / "run.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    run_demo(tmp, seed=0, settings=DemoSettings(**SMALL), progress=False)
    tmp.rename(run)
    return run


def shared_run_folder(tmp_path_factory) -> Path:
    """The run folder, built once per session (shared by xdist workers under a file lock)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    root = base / "report_run"
    root.mkdir(exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            run = root / "run"
            return run if run.is_dir() else build_run_folder(root)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return shared_run_folder(tmp_path_factory)


@pytest.fixture(scope="module")
def page(run_dir, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert render_report(run_dir, out) == out
    return out.read_text()


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("report")(report_command)
    return app


runner = CliRunner()


def _figures(page: str) -> list[str]:
    return re.findall(r'<figure class="fig" data-fig="([^"]+)">', page)


def test_full_report_has_every_section_self_contained(page, run_dir):
    design = json.loads((run_dir / "design.json").read_text())
    figs = _figures(page)
    for key in ("cycle", "radar", "elasticities", "pareto", "waterfall", "km"):
        assert key in figs, key
    assert 1 <= figs.count("waterfall") <= 3
    for heading in ("Diagnosis", "Barriers and evidence", "Recommended regimens",
                    "Response versus toxicity (Pareto)", "Nano-formulation versus free drug",
                    "Screen", "Confirming trial", "Inputs / reproduce"):
        assert f"<h2>{heading}</h2>" in page, heading
    # every figure embedded as a decodable PNG with an alt text; no external resource
    imgs = re.findall(r'<img alt="([^"]*)" width="\d+" src="data:image/png;base64,([^"]+)">', page)
    assert len(imgs) == len(figs) and all(alt for alt, _ in imgs)
    assert all(base64.b64decode(b64)[:8] == b"\x89PNG\r\n\x1a\n" for _, b64 in imgs)
    assert "<script" not in page and "<link" not in page and 'src="http' not in page
    # ranked table: every recommendation with its ORR and CI, in rank order
    table = page[page.index('id="ranked-table"'):]
    table = table[: table.index("</table>")]
    positions = [table.index(f"<b>{r['regimen'].replace('+', '+<wbr>')}</b>")
                 for r in design["recommendations"]]
    assert positions == sorted(positions)
    top = design["recommendations"][0]
    assert f"{100 * top['orr']:.0f} % [{100 * top['orr_ci'][0]:.0f}, " in table
    # barriers with resolved citations and DOI links
    diag = json.loads((run_dir / "diagnosis" / "diagnosis.json").read_text())
    for bid in diag["barriers"]:
        assert f"<code>{bid}</code>" in page
    doi = diag["evidence"][diag["barriers"][0]][0]
    assert f'href="https://doi.org/{doi}"' in page
    # the free-vs-nano part: a figure when a recommendation has vs_free, else the sentence
    if any(r.get("vs_free") for r in design["recommendations"]):
        assert "vs_free" in figs
    else:
        assert "No nano-formulation among the recommendations." in page
    assert json.loads((run_dir / "inputs.json").read_text())["inputs"]["command"] in page
    # A cohort run says how its patients spread over phenotypes and limiting steps.
    shares = json.loads((run_dir / "diagnosis" / "diagnosis.json").read_text())["cohort"]
    assert f"Across the cohort's {shares['n']} sampled patients" in page
    # The demo confirms the diagnosis with global indices (Morris, then Sobol) by step.
    assert 'id="sensitivity-table"' in page and "Sobol total indices" in page
    diag = json.loads((run_dir / "diagnosis" / "diagnosis.json").read_text())
    step = diag["limiting_step"]["at_diagnosis"]
    value = diag["global_sensitivity"]["sobol_total"][str(step)]
    table = page[page.index('id="sensitivity-table"'):]
    assert f"<td><b>{step}</b></td>" in table[: table.index("</table>")]
    assert f"{value:.3g}" in table[: table.index("</table>")]
    drawn = re.findall(r"<figcaption>Waterfall, ([^:]+):", page)
    recommended = [r["regimen"] for r in design["recommendations"]]
    assert "nivolumab" in drawn and set(drawn) <= set(recommended)
    assert drawn[:-1] == [r for r in recommended if r != "nivolumab"][: len(drawn) - 1]


def test_cli_writes_default_and_out(run_dir, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(run_dir, folder)
    result = runner.invoke(_cli(), [str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / "report.html").is_file()
    out = tmp_path / "elsewhere" / "r.html"
    result = runner.invoke(_cli(), [str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<!doctype html>")


def test_missing_folder_exits_2(tmp_path):
    missing = tmp_path / "nope"
    result = runner.invoke(_cli(), [str(missing)])
    assert result.exit_code == 2
    assert f"error: {missing}: no such folder" in result.stderr
    with pytest.raises(FileNotFoundError):
        render_report(missing)


def test_folder_without_run_files_names_the_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=re.escape(str(tmp_path))):
        render_report(tmp_path)
    result = runner.invoke(_cli(), [str(tmp_path)])
    assert result.exit_code == 2
    assert f"error: {tmp_path}: no recognisable run files" in result.stderr


def test_corrupt_design_json_names_the_file(run_dir, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(run_dir, folder)
    before = (folder / "report.html").read_bytes()
    (folder / "design.json").write_text('{"preset": "excluded", "recommendations": [')
    with pytest.raises(ReportInputError) as err:
        render_report(folder)
    assert err.value.path == folder / "design.json"
    result = runner.invoke(_cli(), [str(folder)])
    assert result.exit_code == 2
    assert f"error: {folder / 'design.json'}: not valid JSON" in result.stderr
    # Nothing already written is lost: the earlier report stays as it was.
    assert (folder / "report.html").read_bytes() == before


def test_corrupt_parquet_names_the_file(run_dir, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(run_dir, folder)
    (folder / "trial" / "patients.parquet").write_bytes(b"not parquet at all")
    (folder / "trial" / "run.json").unlink()  # no checksum: the Parquet reader finds it corrupt
    result = runner.invoke(_cli(), [str(folder)])
    assert result.exit_code == 2
    assert f"error: {folder / 'trial' / 'patients.parquet'}: not a readable Parquet" in \
        result.stderr


def test_partial_folder_diagnosis_only(run_dir, tmp_path):
    shutil.copytree(run_dir / "diagnosis", tmp_path / "diagnosis")
    page = render_report(tmp_path).read_text()
    figs = _figures(page)
    assert {"cycle", "radar", "elasticities"} <= set(figs)
    assert not {"pareto", "waterfall", "km", "vs_free"} & set(figs)
    assert "<h2>Barriers and evidence</h2>" in page
    assert "Recommended regimens" not in page and "Inputs / reproduce" not in page


def test_partial_folder_trial_only_draws_pd1_arm(run_dir, tmp_path):
    shutil.copytree(run_dir / "trial", tmp_path / "trial")
    page = render_report(tmp_path).read_text()
    figs = _figures(page)
    assert "km" in figs and 1 <= figs.count("waterfall") <= 3
    assert "Waterfall, nivolumab" in page


def test_design_figures(run_dir):
    design = json.loads((run_dir / "design.json").read_text())
    confirmed = design.get("confirmed") or design["recommendations"]
    fig = plot_pareto(confirmed, design["pareto"], ae_limit=0.3)
    ax = fig.axes[0]
    assert "adverse-event" in ax.get_xlabel() and "response" in ax.get_ylabel()
    assert {t.get_text() for t in ax.texts} == {r["regimen"].replace("+", " +\n")
                                                for r in confirmed}
    assert any(line.get_linestyle() == "--" for line in ax.get_lines())  # the AE limit
    with pytest.raises(ValueError):
        plot_pareto([], [])
    with pytest.raises(ValueError, match="vs_free"):
        plot_vs_free(design["recommendations"] if not any(
            r.get("vs_free") for r in design["recommendations"]) else [])


def test_vs_free_section_renders_the_contract(run_dir, tmp_path):
    """A design.json whose top recommendation carries a ``vs_free`` record (the contract's shape;
    the exposure numbers here are illustrative) gets the comparison table and figure."""
    folder = tmp_path / "run"
    folder.mkdir()
    design = json.loads((run_dir / "design.json").read_text())
    top = design["recommendations"][0]
    if not top.get("vs_free"):
        top["vs_free"] = {"free_regimen": top["regimen"], "d_orr": 0.1,
                          "d_median_pfs_days": 21.0, "d_ae_grade3plus_rate": -0.05,
                          "exposure_ratio": {"tumor": 4.0, "lymph_node": 2.5, "blood": 0.4},
                          "peak_ratio": {"tumor": 1.75, "lymph_node": 3.25, "blood": 0.1},
                          "why": "EPR retention in the tumor, lower blood exposure"}
    (folder / "design.json").write_text(json.dumps(design))
    page = render_report(folder).read_text()
    assert "vs_free" in _figures(page)
    assert 'id="vs-free-table"' in page and top["vs_free"]["why"] in page
    assert "tumor peak ratio" in page
    if top["vs_free"].get("peak_ratio", {}).get("tumor") == 1.75:
        assert ">1.75<" in page
    fig = plot_vs_free(design["recommendations"])
    assert fig.axes[0].get_yscale() == "log"


def test_folders_of_diagnose_and_trial_commands_render(tmp_path):
    """`immunocycle report` renders the folders that `diagnose` and `trial` write (files at
    their top level), not only demo/design folders."""
    from immunocycle.cli import app

    cli = CliRunner()
    diag = tmp_path / "diag"
    assert cli.invoke(app, ["diagnose", "--preset", "desert", "--out", str(diag)]).exit_code == 0
    trial = tmp_path / "trial"
    res = cli.invoke(app, ["trial", "--cohort", "desert", "--arm", "nivolumab", "--n", "6",
                           "--out", str(trial)])
    assert res.exit_code == 0, res.output
    for folder, expected in ((diag, {"cycle", "radar", "elasticities"}),
                             (trial, {"waterfall", "km"})):
        res = cli.invoke(app, ["report", str(folder)])
        assert res.exit_code == 0, res.output
        assert expected <= set(_figures((folder / "report.html").read_text())), folder
