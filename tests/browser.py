"""A real headless Chromium for the HTML report: Debian's chromium + chromium-driver via Selenium.

Shared by the browser tests (a session fixture), the browser bench (`make bench-html`) and
`make docs` (the README's screenshot):

    python tests/browser.py screenshot REPORT.html OUT.png

Chromium starts with the flags this machine needs (see the workplace's python machine notes):
headless, no sandbox (root), no GPU, no QUIC, no first-run, no background networking,
component updates or sync, and an empty profile. Selenium is given both paths, so it never
looks for (or downloads) a browser or driver of its own.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# The Debian packages `make system-deps` installs; the Makefile reads this line.
BROWSER_DEBS = "chromium chromium-driver"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


class BrowserMissing(RuntimeError):
    """Chromium or ChromeDriver is not installed: the message says how to install them."""


def install_line() -> str:
    """What to run to get the browser the HTML tests need."""
    return (
        f"the HTML report tests need Debian's Chromium and ChromeDriver ({CHROMIUM}, "
        f"{CHROMEDRIVER}): run `make system-deps` as root, or "
        f"`sudo apt-get install -y {BROWSER_DEBS}`"
    )


def browser_paths() -> tuple[str, str]:
    """The Chromium and ChromeDriver executables, or BrowserMissing naming the install line."""
    chromium = shutil.which(CHROMIUM) or shutil.which("chromium")
    driver = shutil.which(CHROMEDRIVER) or shutil.which("chromedriver")
    if not chromium or not driver:
        raise BrowserMissing(install_line())
    return chromium, driver


@contextmanager
def chromium(*, performance_log: bool = True) -> Iterator[Any]:
    """A headless Chromium driven by Selenium, with an empty profile removed afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = browser_paths()
    profile = tempfile.mkdtemp(prefix="auditor-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    if performance_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_report(driver: Any, path: Path, fragment: str = "", timeout_s: float = 60) -> float:
    """Load report.html from file:// and wait until it has drawn; returns the page's ready time.

    Raises AssertionError with the page's own message when it could not draw.
    """
    driver.get(path.resolve().as_uri() + fragment)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = driver.execute_script(
            "return [document.body.dataset.ready || '', "
            "(document.getElementById('loading') || {}).textContent || '', "
            "window.__auditor ? window.__auditor.ready : null]"
        )
        if state[0] == "1":
            return float(state[2])
        if state[1].startswith("The report's data could not be read"):
            raise AssertionError(state[1])
        time.sleep(0.02)
    raise AssertionError(f"{path}: the report did not draw within {timeout_s} s")


def screenshot(report: Path, out: Path, fragment: str = "", height: int = 1300) -> None:
    """A PNG of the report's first `height` pixels (the summary unless `fragment` says not)."""
    with chromium(performance_log=False) as driver:
        driver.set_window_size(1400, height)
        open_report(driver, report, fragment)
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "debs":
        print(BROWSER_DEBS)
    elif len(sys.argv) == 4 and sys.argv[1] == "screenshot":
        screenshot(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit("usage: python tests/browser.py screenshot REPORT.html OUT.png | debs")
