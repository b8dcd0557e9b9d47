"""The workbench pages, headless (Streamlit's AppTest): each page opens, shows what the API
computes, writes normal run folders, and shows bad input as the project's one-line message."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from immunocycle.app import VIEWS, free_port, port_free  # noqa: E402
from immunocycle.app._pages import WORKSPACE_ENV  # noqa: E402

TIMEOUT = 300  # seconds: a cap for a loaded machine, not a timing assertion


@pytest.fixture
def page(tmp_path, monkeypatch):
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path / "ws"))
    monkeypatch.setenv("MPLBACKEND", "Agg")

    def open_(name: str) -> AppTest:
        at = AppTest.from_file(str(VIEWS[name]), default_timeout=TIMEOUT)
        at.run()
        assert not at.exception, at.exception
        return at

    return open_


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _finish(at: AppTest, key: str):
    """Wait for the page's background job (if it has not ended within the click's run)."""
    job = at.session_state[f"{key}_job"] if f"{key}_job" in at.session_state else None
    if job is not None:
        assert job.wait(TIMEOUT)
    at.run()
    assert not at.exception
    return job


def test_diagnose_shows_limiting_step_and_a_failed_run_keeps_it(page, monkeypatch):
    from immunocycle._errors import InputError
    from immunocycle.app import _runs

    at = page("diagnose")
    at.radio(key="dx_kind").set_value("archetype")
    at.selectbox(key="dx_preset").set_value("excluded")
    at.button(key="dx_run").click().run()
    _finish(at, "dx")
    assert not _errors(at)
    last = at.session_state["dx_last"]
    assert _metric(at, "Limiting step") == str(last["result"].limiting_step)
    assert (last["folder"] / "diagnosis.json").is_file()
    assert any("doi.org/10." in m.value for m in at.markdown)
    assert any(str(last["folder"]) in c.value for c in at.code)

    def broken(*args, **kwargs):
        raise InputError("--preset", "the model did not converge", "try another preset")

    monkeypatch.setattr(_runs, "run_diagnose", broken)
    at.button(key="dx_run").click().run()
    _finish(at, "dx")
    assert _errors(at) == ["--preset: the model did not converge (try another preset)"]
    assert at.session_state["dx_last"]["folder"] == last["folder"]  # the earlier run stays
    assert _metric(at, "Limiting step") == str(last["result"].limiting_step)


def test_deliver_diameter_changes_de24_and_bad_values_are_inline(page):
    at = page("deliver")
    assert not _errors(at)
    de24_100 = _metric(at, "DE24 (PBPK)")
    at.number_input(key="pk_diameter").set_value(200.0).run()
    de24_200 = _metric(at, "DE24 (PBPK)")
    assert de24_100.endswith("%ID") and de24_200 != de24_100
    # the property model's interval and the free payload are shown next to the PBPK
    assert any("property model" in str(df.value.columns.tolist()) for df in at.dataframe)
    # a 5 um particle: the particle model's message, inline, no traceback
    at.number_input(key="pk_diameter").set_value(5000.0).run()
    assert not at.exception
    assert any("--diameter" in e and "1000 nm" in e for e in _errors(at)), _errors(at)
    at.number_input(key="pk_diameter").set_value(100.0)
    at.number_input(key="pk_dose").set_value(0.0).run()
    assert any(e.startswith("--dose") for e in _errors(at)), _errors(at)
    assert _metric(at, "DE24 (PBPK)") if at.metric else True  # nothing else broke


def test_deliver_saves_a_run_folder_the_report_command_reads(page, tmp_path):
    at = page("deliver")
    at.button(key="pk_save").click().run()
    folders = list((tmp_path / "ws" / "pk").iterdir())
    assert len(folders) == 1
    manifest = json.loads((folders[0] / "manifest.json").read_text())
    assert manifest["command"] == "pk" and manifest["status"] == "complete"
    assert (folders[0] / "summary.json").is_file()
    command = at.code[-1].value
    assert command.startswith("immunocycle pk --carrier liposome --diameter 100")
    assert str(folders[0]) in command


def test_trial_unknown_therapy_is_inline_and_a_small_run_writes_its_folder(page):
    at = page("trial")
    at.text_area(key="tr_arms_human").set_value("nivolumab\nfoo+nivolumab")
    at.button(key="tr_run").click().run()
    assert any("unknown therapy 'foo'" in e for e in _errors(at)), _errors(at)
    assert "tr_job" not in at.session_state
    at.text_area(key="tr_arms_human").set_value("nivolumab")
    at.number_input(key="tr_n_True").set_value(6)
    at.number_input(key="tr_days_True").set_value(84.0)
    at.number_input(key="tr_replicates").set_value(0)
    at.button(key="tr_run").click().run()
    _finish(at, "tr")
    assert not _errors(at)
    folder = at.session_state["tr_last"]["folder"]
    assert json.loads((folder / "manifest.json").read_text())["status"] == "complete"
    assert (folder / "patients.parquet").is_file() and (folder / "kaplan_meier.png").is_file()
    assert any(str(folder) in c.value and "--arm nivolumab" in c.value
               and "--replicates 0" in c.value for c in at.code)


def test_diagnose_bad_tmb_is_inline(page):
    at = page("diagnose")
    at.checkbox(key="dx_use_tmb").check().run()
    at.number_input(key="dx_tmb").set_value(-3.0)
    at.button(key="dx_run").click().run()
    assert any(e.startswith("--tmb") for e in _errors(at)), _errors(at)


def test_design_page_opens_with_its_inputs(page):
    at = page("design")
    assert not _errors(at)
    assert "doxil" in at.multiselect(key="ds_candidates").options


def test_catalog_filters_and_shows_evidence_dois(page):
    at = page("catalog")
    everything = len(at.dataframe[0].value)
    at.selectbox(key="cat_step").set_value(6).run()
    filtered = at.dataframe[0].value
    assert 0 < len(filtered) < everything
    assert all("6" in s.split(", ") for s in filtered["steps"])
    assert any("https://doi.org/10." in m.value for m in at.markdown)
    assert any(c.value.startswith("immunocycle catalog search --step 6") for c in at.code)


def test_free_port_skips_a_taken_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        assert not port_free(taken)
        assert free_port(taken) > taken


def test_study_unknown_mouse_therapy_is_inline(page):
    at = page("trial")
    at.radio(key="tr_kind").set_value("mouse study").run()
    at.text_area(key="tr_arms_mouse").set_value("isotype\nanti_pdl1_mouse+nonsense")
    at.button(key="tr_run").click().run()
    assert not at.exception
    assert any("unknown therapy 'nonsense'" in e for e in _errors(at)), _errors(at)


def test_a_job_can_be_cancelled_and_a_failure_is_one_line():
    import time

    from immunocycle._errors import InputError
    from immunocycle.app._jobs import Job

    def forever():
        while True:
            time.sleep(0.01)

    job = Job(forever, label="loop")
    assert job.running and job.progress() is None
    job.cancel()
    assert job.wait(30) and job.state == "cancelled"

    def bad():
        raise InputError("--dose", "must be > 0 (got 0)")

    failed = Job(bad)
    assert failed.wait(30) and failed.state == "failed"
    assert failed.error == "--dose: must be > 0 (got 0)"
