"""Headless Chromium (Debian's ``chromium`` + ``chromium-driver``) driven by Selenium.

Nothing is downloaded: the browser and its driver are the system's (``make system`` installs
them) and Selenium Manager is kept offline. Where they are missing or cannot start, the browser
tests FAIL with a message that says how to fix it; they never skip.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

BINARIES = ("chromium", "chromium-browser")
DRIVER = "chromedriver"
HOW = "install them with `make system` (apt-get install chromium chromium-driver)"


def start_chromium(width: int = 1200, height: int = 1000):
    os.environ.setdefault("SE_OFFLINE", "true")           # Selenium Manager: never fetch a browser
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed: `make venv` installs the test extra (pip install -e '.[test,web]')")
    binary = next((shutil.which(b) for b in BINARIES if shutil.which(b)), None)
    driver = shutil.which(DRIVER)
    if binary is None or driver is None:
        pytest.fail(f"headless Chromium is not installed (chromium: {binary}, chromedriver: {driver}): {HOW}")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--mute-audio", "--autoplay-policy=no-user-gesture-required", f"--window-size={width},{height}"):
        options.add_argument(arg)
    try:
        return webdriver.Chrome(service=Service(driver), options=options)
    except WebDriverException as e:
        first = (e.msg or str(e)).strip().splitlines()[0] if (e.msg or str(e)).strip() else type(e).__name__
        pytest.fail(f"headless Chromium did not start ({first}); {HOW}")


def wait_for(driver, script: str, timeout: float = 90, what: str = "the page"):
    """Run ``script`` (a JS expression) until it is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(f"return ({script});")
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}: {script}")
        time.sleep(0.2)


def playable(driver, video_js: str, within_s: float = 5.0) -> dict:
    """Play the video until its clock moves (a playable source) or ``within_s`` passes; its metadata."""
    return driver.execute_async_script(f"""
        const done = arguments[arguments.length - 1], v = {video_js}, t0 = v.currentTime;
        const report = () => {{ v.pause(); done({{duration: v.duration, readyState: v.readyState,
            error: v.error && v.error.code, advanced: v.currentTime > t0, width: v.videoWidth,
            height: v.videoHeight}}); }};
        const start = performance.now();
        const check = () => (v.currentTime > t0 || performance.now() - start > {within_s * 1000})
            ? report() : setTimeout(check, 50);
        v.muted = true;
        v.play().then(check, e => done({{error: String(e), duration: v.duration}}));
    """)
