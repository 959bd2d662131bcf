"""Fixtures of the console's browser tests: one served demo and one Chromium per test session,
a fresh browser context (cookies, storage) per test."""
from __future__ import annotations

import os
import re

import pytest

from tests.conftest import new_database
from tests.console.harness import BROWSER, VIEWPORT, Demo, launch

if BROWSER is None and os.environ.get("CI"):
    raise RuntimeError("CI needs Chromium for the console's browser tests (.ci/run installs it)")

# answers the console expects while it works (capability probes, refused saves): not defects;
# and a request cut by a network change on the machine (interfaces of other tests come and go)
EXPECTED_CONSOLE = re.compile(r"Failed to load resource: "
                              r"(the server responded with a status of 4\d\d|net::ERR_NETWORK_CHANGED)")


@pytest.fixture(scope="session")
def demo(server_url, tmp_path_factory):
    with new_database(server_url, "crux_console") as url:
        served = Demo(url, tmp_path_factory.mktemp("console-demo"))
        yield served
        served.stop()


@pytest.fixture(scope="session")
def browser():
    if BROWSER is None:
        pytest.skip("no Chromium installed")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A page in a fresh context at 1280x800; it fails the test on a script error or on any
    console error other than the 4xx answers the console asks for on purpose (CSP refusals show
    there too)."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    problems = []
    tab.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    tab.on("console", lambda msg: msg.type == "error" and not EXPECTED_CONSOLE.search(msg.text)
           and problems.append(f"console: {msg.text}"))
    tab.on("dialog", lambda dlg: dlg.accept() if dlg.type == "beforeunload"      # leaving unsaved changes
           else (problems.append(f"unexpected dialog: {dlg.message}"), dlg.dismiss()))
    yield tab
    context.close()
    assert not problems, problems
