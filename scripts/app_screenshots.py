"""Screenshots of the workbench's five pages for the README (docs/app/*.png).

Starts ``immunocycle app`` on a free port with a temporary workspace, drives headless Chromium
(Debian's ``chromium`` and ``chromium-driver``) through each page, runs a small diagnosis and a
20-patient trial so those pages show results, and writes one PNG per page.

    .venv/bin/python scripts/app_screenshots.py [--out docs/app] [--width 1400]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from immunocycle.app import free_port, start_server, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["diagnose", "deliver", "design", "trial", "catalog"]
WAIT = 900  # seconds: the first trial compiles the cycle model (minutes on a loaded machine)


def _driver(width: int, height: int, profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--hide-scrollbars",
                f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(120)
    return driver


def _find(driver, css: str, timeout: float = WAIT):
    return WebDriverWait(driver, timeout, poll_frequency=0.5).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, css))[0]


def _set(driver, key: str, value, tag: str = "input") -> None:
    field = _find(driver, f".st-key-{key} {tag}")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(str(value))
    field.send_keys(Keys.CONTROL, Keys.ENTER) if tag == "textarea" else field.send_keys(Keys.ENTER)
    time.sleep(1.0)


def _shot(driver, path: Path, width: int, max_height: int) -> None:
    time.sleep(2.0)  # let charts finish drawing
    height = driver.execute_script(  # the main area scrolls inside its own container
        "return Math.max(...Array.from(document.querySelectorAll('*'), e => e.scrollHeight));")
    driver.set_window_size(width, min(int(height) + 60, max_height))
    time.sleep(1.0)
    driver.save_screenshot(str(path))
    from PIL import Image  # Pillow comes with matplotlib

    with Image.open(path) as image:  # a 128-colour palette keeps the PNGs in the repo small
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "app")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--max-height", type=int, default=2400)
    parser.add_argument("--only", nargs="*", default=PAGES, choices=PAGES,
                        help="Pages to capture (default: all five).")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port(8650)
        server = start_server(port, Path(tmp) / "workspace", stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        url = f"http://localhost:{port}"
        driver = None
        try:
            wait_healthy(url, timeout=120, process=server)
            driver = _driver(args.width, 1200, Path(tmp) / "profile")
            w, h = args.width, args.max_height

            if "diagnose" in args.only:
                driver.get(f"{url}/")
                _find(driver, ".st-key-dx_run button").click()
                _find(driver, ".st-key-dx_result")
                _find(driver, '.st-key-dx_result [data-testid="stDataFrame"]')  # the last part
                _find(driver, '[data-testid="stCode"]')
                _shot(driver, args.out / "diagnose.png", w, h)

            if "deliver" in args.only:
                driver.set_window_size(w, 1200)
                driver.get(f"{url}/deliver")
                _find(driver, '.st-key-pk_de24 [data-testid="stMetricValue"]')
                _find(driver, '[data-testid="stVegaLiteChart"] canvas, '
                              '[data-testid="stVegaLiteChart"] svg', timeout=120)
                time.sleep(3.0)
                _shot(driver, args.out / "deliver.png", w, h)

            if "design" in args.only:
                driver.set_window_size(w, 1200)
                driver.get(f"{url}/design")
                _find(driver, ".st-key-ds_run button")
                _shot(driver, args.out / "design.png", w, h)

            if "trial" in args.only:
                driver.set_window_size(w, 1200)
                driver.get(f"{url}/trial")
                _set(driver, "tr_arms_human", "nivolumab", tag="textarea")
                _set(driver, "tr_n_True", 20)
                _set(driver, "tr_days_True", 168)
                _set(driver, "tr_replicates", 0)
                _find(driver, ".st-key-tr_run button").click()
                _find(driver, ".st-key-fig_kaplan_meier img")
                _find(driver, '[data-testid="stCode"]')  # the last part of the page
                _shot(driver, args.out / "trial.png", w, h)

            if "catalog" in args.only:
                driver.set_window_size(w, 1200)
                driver.get(f"{url}/catalog")
                _find(driver, ".st-key-cat_entry_box")
                _shot(driver, args.out / "catalog.png", w, h)
        finally:
            if driver is not None:
                driver.quit()
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
