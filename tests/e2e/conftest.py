"""Fixtures for the browser tests: one headless Chromium, one JupyterLab per notebook folder.

Playwright never downloads a browser here: it drives the system Chromium
(``apt-get install chromium``; another path through ``LABKIT_CHROMIUM``).
"""
import os

import pytest
from harness import CHROMIUM, CHROMIUM_ARGS, NOTEBOOKS, VIEWPORT, JupyterLab


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        # A laptop without Chromium skips the browser test; CI must run it.
        message = (f"No Chromium at {CHROMIUM}: install it with `sudo apt-get install -y "
                   "chromium`, or point LABKIT_CHROMIUM at another Chromium binary.")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser profile (no cookies, no storage) for each notebook."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """JupyterLab serving the lab notebooks folder."""
    with JupyterLab(NOTEBOOKS, tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server
