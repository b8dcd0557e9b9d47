"""The report opened in a real browser (headless Chromium via Selenium): every figure present and
decoded, the title and the ranked table there; a screenshot is saved next to the page.

Skipped when Chromium is not installed, except under CI (``CI`` set), where ``.ci/run`` installs
Debian's ``chromium`` and ``chromium-driver`` and a missing browser is a failure.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from _browser import chromium
from immunocycle.report import render_report


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    yield from chromium(tmp_path_factory, window="1280,2000", page_load_timeout=60)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    from test_report_render import shared_run_folder

    run = shared_run_folder(tmp_path_factory)
    folder = tmp_path_factory.mktemp("browser") / "run"
    shutil.copytree(run, folder)
    return render_report(folder)


_DECODED = """
return Array.from(document.querySelectorAll('figure.fig')).map(f => {
  const img = f.querySelector('img');
  return {key: f.dataset.fig, alt: img ? img.alt : null,
          decoded: !!img && img.complete && img.naturalWidth > 0 && img.naturalHeight > 0,
          width: img ? img.naturalWidth : 0};
});
"""


def test_report_figures_decode_in_chromium(browser, report):
    from selenium.webdriver.common.by import By

    browser.get(report.resolve().as_uri())
    design = json.loads((report.parent / "design.json").read_text())
    assert browser.title.startswith("immunocycle report: cohort:excluded")
    assert browser.find_element(By.TAG_NAME, "h1").text == browser.title

    figures = browser.execute_script(_DECODED)
    keys = [f["key"] for f in figures]
    expected = {"cycle", "radar", "elasticities", "pareto", "waterfall", "km"}
    if any(r.get("vs_free") for r in design["recommendations"]):
        expected.add("vs_free")
    assert expected <= set(keys), keys
    undecoded = [f for f in figures if not f["decoded"]]
    assert not undecoded, undecoded
    assert all(f["alt"] for f in figures)
    assert all(f["width"] > 200 for f in figures)

    table = browser.find_element(By.ID, "ranked-table")
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == len(design["recommendations"])
    first = rows[0].find_elements(By.TAG_NAME, "td")
    assert first[1].text.startswith(design["recommendations"][0]["regimen"])
    assert "%" in first[4].text and "[" in first[4].text
    headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
    assert "Recommended regimens" in headings and "Inputs / reproduce" in headings

    shot = report.parent / "report.png"
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1280, min(int(height) + 100, 16000))
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
