"""Browser fixtures: headless Chromium driven by Selenium against ``live_server``.

Outside CI the browser tests skip (with the reason) when no Chromium or chromedriver is installed;
under CI=true they fail instead: .ci/run installs Debian's chromium and chromium-driver.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
BROWSER_PATHS = ("chromium", "chromium-browser", "google-chrome")


def _browser() -> tuple[str | None, str | None]:
    binary = next((shutil.which(name) for name in BROWSER_PATHS if shutil.which(name)), None)
    return binary, shutil.which("chromedriver")


@pytest.fixture
def browser(live_server) -> Iterator:
    binary, driver_path = _browser()
    if not binary or not driver_path:
        reason = "no Chromium/chromedriver installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1366,900", "--lang=en-US"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(2)
    driver.set_page_load_timeout(60)
    driver.live_url = live_server.url
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
