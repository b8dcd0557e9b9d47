"""The workbench served for real (``streamlit run``) and driven in headless Chromium (Selenium):
each page opens; on Deliver a new diameter changes DE24; a 5 um particle is an inline error; a
20-patient trial runs to the end, shows its Kaplan-Meier figure and leaves its run folder.

Skipped when Chromium is not installed, except under CI (``CI`` set), where ``.ci/run`` installs
Debian's ``chromium`` and ``chromium-driver`` and a missing browser is a failure.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from _browser import chromium
from immunocycle.app import free_port, start_server, wait_healthy

#: Seconds a page may take to show a result (a cap, not a timing check): the first trial run
#: compiles the cycle model unless an earlier test left it in the on-disk cache, which on a
#: loaded 2-core machine takes minutes.
WAIT = 600


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    yield from chromium(tmp_path_factory, window="1400,1800", page_load_timeout=120)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("workspace")
    port = free_port(8601)
    process = start_server(port, workspace, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    url = f"http://localhost:{port}"
    try:
        wait_healthy(url, timeout=120, process=process)
        yield url, workspace
    finally:
        process.terminate()
        process.wait(30)


def _wait(browser, condition, timeout=WAIT):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.5).until(condition)


def _css(browser, selector, timeout=WAIT):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    return _wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, selector)), timeout)


def _set_number(browser, key: str, value) -> None:
    from selenium.webdriver.common.keys import Keys

    field = _css(browser, f".st-key-{key} input")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(str(value), Keys.ENTER)


def _set_text(browser, key: str, value: str) -> None:
    from selenium.webdriver.common.keys import Keys

    field = _css(browser, f".st-key-{key} textarea")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(value)
    field.send_keys(Keys.CONTROL, Keys.ENTER)  # commits a text area
    _wait(browser, lambda b: field.get_attribute("value") == value)


def _errors(browser) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stAlert"]')]


@pytest.mark.parametrize("path, title", [("", "Diagnose"), ("deliver", "Deliver"),
                                         ("design", "Design"), ("trial", "Trial / Study"),
                                         ("catalog", "Catalog")])
def test_each_page_opens(browser, server, path, title):
    url, _ = server
    browser.get(f"{url}/{path}")
    heading = _css(browser, "h1")
    _wait(browser, lambda b: b.find_element("css selector", "h1").text.startswith(title))
    assert heading.is_displayed()
    assert not [e for e in _errors(browser) if "error" in e.lower()]


def test_deliver_diameter_changes_de24_and_a_5um_particle_is_inline(browser, server):
    url, _ = server
    browser.get(f"{url}/deliver")
    value = '.st-key-pk_de24 [data-testid="stMetricValue"]'
    before = _css(browser, value).text
    assert before.endswith("%ID")
    _set_number(browser, "pk_diameter", 250)
    _wait(browser, lambda b: b.find_element("css selector", value).text != before)
    assert _css(browser, value).text.endswith("%ID")
    _set_number(browser, "pk_diameter", 5000)  # 5 um
    _wait(browser, lambda b: any("--diameter" in e for e in _errors(b)))
    error = next(e for e in _errors(browser) if "--diameter" in e)
    assert "1000 nm" in error and "Traceback" not in browser.page_source


def test_trial_of_20_patients_runs_and_shows_kaplan_meier(browser, server):
    url, workspace = server
    browser.get(f"{url}/trial")
    _set_number(browser, "tr_n_True", 20)
    _set_number(browser, "tr_days_True", 84)
    _set_number(browser, "tr_replicates", 0)  # no effect-size replicates: the 20 patients only
    _set_text(browser, "tr_arms_human", "nivolumab")
    button = _css(browser, ".st-key-tr_run button")
    _wait(browser, lambda b: button.is_enabled())
    button.click()
    image = _css(browser, ".st-key-fig_kaplan_meier img")
    _wait(browser, lambda b: b.execute_script(
        "const i = arguments[0]; return i.complete && i.naturalWidth > 200;", image))
    assert not browser.find_elements("css selector", ".st-key-tr_progress")
    folders = list((workspace / "trial").iterdir())
    assert len(folders) == 1
    manifest = json.loads((folders[0] / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["arguments"]["--n"] == 20
    assert manifest["arguments"]["--arm"] == ["nivolumab"]
    assert (folders[0] / "patients.parquet").is_file()
    assert str(folders[0]) in browser.find_element("css selector", ".st-key-tr_result").text
