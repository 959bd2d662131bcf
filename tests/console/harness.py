"""A served demo and a real Chromium for the console: used by the browser tests and by the
command that regenerates the screenshots of docs/console.md (tests/console/screenshots.py).

`Demo` runs `crux demo` in a process of its own on a free port (tests/http_server.py's Server),
against a database of its own (tests/conftest.py's new_database), and reads the console link it
prints. `launch` starts Debian's Chromium through Playwright (its
own browser download is not used). Pages are driven like a user drives them; waits poll for a
state with a deadline (`wait_ready`), never sleep.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import time
from pathlib import Path

import jwt

from tests.conftest import TEST_SECRET as SECRET
from tests.http_server import Server
from tests.rules_data import eventually  # noqa: F401 - the console tests wait for states with it
from tests.wf_support import rule

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync", "--disable-quic"]
VIEWPORT = {"width": 1280, "height": 800}


class Demo(Server):
    """`crux demo` serving on a free port: the demo realm, its examples, and the console link;
    with its engine only when asked (the tests start engines of their own when they want one)."""

    REALM = "demo"

    def __init__(self, database_url: str, workdir: Path, timeout: float = 120.0, engine: bool = False):
        super().__init__(database_url, workdir, command="demo", engine=engine)
        self.database_url = database_url
        self.base = f"http://127.0.0.1:{self.port}"
        try:
            self.link = self._wait_link(timeout)
            deadline = time.monotonic() + timeout
            while not self.ready():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"crux demo did not get ready within {timeout} s:\n{self.output()[-3000:]}")
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise
        self.token = self.link.split("#token=", 1)[1]

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def _wait_link(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"(http://\S+/console/#token=\S+)", self.output())
            if m:
                return m.group(1).replace(f"localhost:{self.port}", f"127.0.0.1:{self.port}")
            if self.proc.poll() is not None:
                raise RuntimeError(f"crux demo exited:\n{self.output()[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"crux demo printed no console link within {timeout} s:\n{self.output()[-3000:]}")

    def call(self, name: str, payload: dict, token: str | None = None):
        """A call of the public API -> (HTTP status, envelope)."""
        return super().call(name, payload, token or self.token)

    def ok(self, name: str, payload: dict, token: str | None = None):
        status, body = self.call(name, payload, token)
        assert status == 200, (name, payload, body)
        return body["data"]

    def mint(self, user: str, ttl: int = 3600) -> str:
        """A token of `user` in the demo realm (signed with the demo's secret)."""
        now = int(dt.datetime.now(dt.UTC).timestamp())
        return jwt.encode({"sub": user, "preferred_username": user, "realm": self.REALM, "iat": now - 5,
                           "exp": now + ttl}, SECRET, algorithm="HS256")


def launch(playwright):
    """Debian's Chromium, headless, through Playwright, in a fresh profile."""
    if BROWSER is None:
        raise RuntimeError("no Chromium installed (Debian: apt-get install chromium)")
    return playwright.chromium.launch(executable_path=BROWSER, args=BROWSER_ARGS, headless=True)


def wait_ready(page, name: str, timeout: float = 30_000) -> None:
    """Until the console has drawn page `name` (main.js sets body[data-ready] when a page is done);
    when it does not, the error says what the page shows instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    try:
        page.wait_for_selector(f"body[data-ready='{name}']", state="attached", timeout=timeout)
    except PlaywrightTimeout:
        shown = page.evaluate("() => [document.body.dataset.ready, document.body.innerText.slice(0, 800)]")
        raise AssertionError(f"page {name} not drawn at {page.url}; ready={shown[0]!r}, "
                             f"the page shows:\n{shown[1]}") from None


def visit(page, url: str, ready: str) -> None:
    """Load `url` and wait until page `ready` is drawn. A load cut by a network change of the
    machine (Chromium fails requests in flight with ERR_NETWORK_CHANGED when interfaces come and
    go, as other tests' namespaces do) is loaded again, once."""
    cut = []
    listener = lambda msg: "ERR_NETWORK_CHANGED" in msg.text and cut.append(msg.text)  # noqa: E731
    page.on("console", listener)
    try:
        page.goto(url)
        try:
            wait_ready(page, ready, timeout=20_000 if cut else 30_000)
        except Exception:
            if not cut:
                raise
            page.goto(url)
            wait_ready(page, ready)
    finally:
        page.remove_listener("console", listener)


def paste_rules(page, rules: list) -> None:
    """Put rules into the open ruleset page's table through its JSON tab, back on the Rules tab."""
    page.get_by_role("tab", name="JSON").click()
    page.get_by_label("The rules as JSON").fill(json.dumps(rules))
    page.get_by_role("button", name="Use this JSON in the table").click()
    page.get_by_role("tab", name=re.compile(r"^Rules \(")).click()


# App `ops`, class `job`: a workflow with a timed step, for the pages of SPEC §8 (attempts,
# deadlines, leases, incidents). START -> work -> check -> done; a failed work goes to fix, which
# ends the instance; a failed check has no route (an incident). `work` times out after 1 s, has
# three attempts and waits 30 s before a retried attempt opens, so a retried step stays still
# long enough to be looked at.
JOB_STEPS = ["work", "fix", "check"]
JOB_SETTINGS = {"work": {"timeout": 1, "attempts": 3, "retrydelay": 30}}


JOB_RULES = [rule("START", ["work"]), rule("work", ["check"], failed=False), rule("work", ["fix"], failed=True),
             rule("fix", done=True), rule("check", failed=False, done=True)]


def make_jobs(demo: Demo) -> dict:
    """App `ops` with the job workflow (active, with its step settings) and `jobdraft` (the same
    rules, inactive, no settings) in slice 1; made once per demo. -> the key of the workflows."""
    key = {"slice": 1, "app": "ops", "class": "job"}
    if any(a["name"] == "ops" for a in demo.ok("applist", {})["apps"]):
        return key
    demo.ok("appnew", {"name": "ops", "descr": "back-office jobs"})
    demo.ok("wfschemanew", {**key, "patternschema": [
        {"attr": "step", "valtype": "enum", "vals": ["START", *JOB_STEPS]}, {"attr": "stepfailed", "valtype": "bool"}],
        "actionschema": {"tasks": JOB_STEPS, "properties": ["nextstep", "done"]}})
    demo.ok("workflownew", {**key, "name": "job", "flowrules": JOB_RULES, "steps": JOB_SETTINGS})
    demo.ok("workflowactivate", {**key, "name": "job"})
    demo.ok("workflownew", {**key, "name": "jobdraft", "flowrules": JOB_RULES})
    return key


def start_job(demo: Demo, entityid: str) -> int:
    """A job instance -> the id of its row (at step work)."""
    started = demo.ok("wfinstancenew", {"slice": 1, "app": "ops", "workflow": "job", "entityid": entityid,
                                        "entity": {"class": "job"}})
    (row,) = started["tasks"][0].values()
    return row


# an order of the demo's retail app, as the simulator's form takes it
ORDER = {"amount": "240.00", "items": "3", "channel": "web", "member": "true", "tier": "gold", "country": "IN",
         "placed": "2026-03-01T10:00:00Z"}


def fill_entity(page, values: dict) -> None:
    """Fill the simulator's entity form: choose in its selects, type in its other fields."""
    for attr, value in values.items():
        control = page.locator(f"#entity-{attr}")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)


def sign_in(page, demo: Demo, path: str = "/console/", token: str | None = None, ready: str = "home") -> None:
    """Open `path` through a sign-in link (the token in the URL fragment)."""
    visit(page, f"{demo.base}{path}#token={token or demo.token}", ready)
