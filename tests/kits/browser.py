"""Shared test helper: a headless Chromium driven by selenium, on Debian's own chromium and
chromedriver (no browser download), with the network switched off as far as flags allow.

Skips (fails under NETSIM_REQUIRE_TOOLS=1) when chromium, chromedriver or selenium is missing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.kits.tools import require_tool

__all__ = ["chromium_driver", "SCREENSHOTS", "open_page", "settle", "screenshot"]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "captures" / "viewer-screenshots"

# No first-run UI, no background fetches (component updates, sync, QUIC), no sandbox (CI runs
# as root in a container), no GPU: the flags the brief of the viewer work names.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,900")


def chromium_driver():
    """A selenium WebDriver on a fresh profile; the caller quits it."""
    binary = require_tool("chromium")
    driver_path = require_tool("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        reason = "selenium is not installed (pip install -e '.[test]')"
        if os.environ.get("NETSIM_REQUIRE_TOOLS") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    profile = tempfile.mkdtemp(prefix="netsim-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    quit_ = driver.quit

    def quit_and_clean() -> None:
        try:
            quit_()
        finally:
            shutil.rmtree(profile, ignore_errors=True)
    driver.quit = quit_and_clean
    return driver


def open_page(driver, path: Path, ready: str = "1") -> None:
    """Load a local page and wait until the viewer says it is ready (or failed)."""
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, 15, poll_frequency=0.05).until(
        lambda d: d.execute_script("return document.body.dataset.ready") in ("1", "error", "empty"))
    got = driver.execute_script("return document.body.dataset.ready")
    if got != ready:
        text = driver.execute_script("return document.getElementById('error').innerText")
        raise AssertionError(f"viewer state {got!r}, expected {ready!r}: {text}")


def settle(driver, timeout: float = 5.0) -> None:
    """Wait until no step is gliding and nothing plays."""
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(driver, timeout, poll_frequency=0.02).until(
        lambda d: d.execute_script("return document.body.dataset.settled") == "1")


def screenshot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
