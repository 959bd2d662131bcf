"""Regenerate the screenshots of docs/console.md: every page of the console at 1280x800, in
Debian's Chromium, against a fresh `crux demo` (with its engine) and a little history made through
the API.

    .venv/bin/python -m tests.console.screenshots [--out docs/console]

The database server is CRUX_TEST_DATABASE_URL's when set, else the embedded PostgreSQL the tests
use (.crux/test); a database is made for the run and dropped afterwards.
"""
from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from tests.conftest import ROOT
from tests.console.harness import (
    ORDER,
    VIEWPORT,
    Demo,
    eventually,
    fill_entity,
    launch,
    make_jobs,
    paste_rules,
    sign_in,
    start_job,
    visit,
)

CUSTOMER = {"class": "customer", "risk": 3, "country": "IN"}
MISTAKES = [
    {"rulepattern": [{"attr": "amount", "op": "gt", "val": "a lot"}, {"attr": "member", "op": "eq", "val": True}],
     "ruleactions": {"tasks": ["freeship", "confetti"], "properties": {"discount": "12"}}},
    {"rulepattern": [{"attr": "tier", "op": "ge", "val": "gold"}],
     "ruleactions": {"tasks": ["vipcall"], "properties": {"discount": "20"}, "thencall": "nosuch", "willreturn": True}},
]


def prepare(demo: Demo) -> None:
    """Some history to show: a slice copy, a config value, a report user, instances."""
    demo.ok("realmslicenew", {"copyof": 1, "descr": "spring prices", "app": ["retail"]})
    demo.ok("configset", {"slice": 1, "name": "max_discount", "val": "25", "descr": "percent"})
    demo.ok("capgrant", {"user": "ann", "cap": ["report"]})
    demo.ok("capgrant", {"user": "raj", "app": ["retail"], "cap": ["schema", "ruleset"]})
    demo.ok("webhooknew", {"name": "crm", "url": "http://127.0.0.1:9/crux", "kinds": ["done", "aborted"],
                           "secret": "t0ps3cret"})
    for entity in ("cust-42", "cust-43", "cust-44"):
        started = demo.ok("wfinstancenew", {"slice": 1, "app": "onboarding", "workflow": "onboarding",
                                            "entityid": entity, "entity": CUSTOMER})
        (first,) = started["tasks"][0].values()
        if entity == "cust-44":
            continue
        checks = demo.ok("wfinstancemarkdone", {"id": first, "step": "collectdocs", "entity": CUSTOMER})
        ids = {step: row for task in checks["tasks"] for step, row in task.items()}
        if entity == "cust-42":
            demo.ok("wfinstancemarkdone", {"id": ids["kyccheck"], "step": "kyccheck", "stepfailed": True,
                                           "entity": CUSTOMER})
            demo.ok("wfinstancemarkdone", {"id": ids["addresscheck"], "step": "addresscheck", "entity": CUSTOMER})
    # SPEC §8: a step that timed out under a worker's lease and waits for its next attempt (the
    # demo's engine handles it), an incident, a worker holding a step
    make_jobs(demo)
    start_job(demo, "job-17")
    demo.ok("wfstepclaim", {"worker": "robot-7", "app": "ops", "steps": ["work"], "lease": 60})
    eventually(lambda: demo.ok("wfinstancelist", {"entityid": "job-17"})["wfinstances"][0]["attempt"] == 2, timeout=30)
    for entity, worker in (("job-18", "robot-9"), ("job-19", "robot-7")):
        row = start_job(demo, entity)
        demo.ok("wfinstancemarkdone", {"id": row, "step": "work", "entity": {"class": "job"}})
        demo.ok("wfstepclaim", {"worker": worker, "app": "ops", "steps": ["check"], "lease": 3600})
    demo.ok("wfstepfail", {"id": row, "worker": "robot-7", "error": "the scanner is offline", "retry": False})


def shoot(page, out: Path, name: str, full: bool = False) -> None:
    page.wait_for_timeout(150)  # let the last frame settle for the picture (not a test wait)
    page.screenshot(path=str(out / f"{name}.png"), full_page=full)
    print(f"  {out / f'{name}.png'}")


def run(demo: Demo, browser, out: Path) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.on("dialog", lambda dlg: dlg.accept())    # leaving a page with unsaved changes
    base = demo.base
    page.goto(f"{base}/console/")
    page.get_by_role("heading", name="Sign in").wait_for()
    shoot(page, out, "signin")
    sign_in(page, demo)
    shoot(page, out, "overview")
    for path, ready, name in [
        ("/console/slices", "slices", "slices"), ("/console/apps", "apps", "apps"),
        ("/console/users", "users", "users"),
        ("/console/config", "config", "config"), ("/console/schemas", "schemas", "schemas"),
        ("/console/schemas/B/1/retail/order", "schema", "schema"), ("/console/rulesets", "rulesets", "rulesets"),
        ("/console/rulesets/1/retail/order/main", "ruleset", "ruleset"),
        ("/console/workflows", "rulesets", "workflows"),
        ("/console/instances", "instances", "instances"), ("/console/engines", "engines", "engines"),
        ("/console/events?app=ops", "events", "events"), ("/console/webhooks", "webhooks", "webhooks"),
    ]:
        visit(page, f"{base}{path}", ready)
        shoot(page, out, name)

    visit(page, f"{base}/console/slices", "slices")
    page.get_by_role("button", name="Copy slice 1").click()
    shoot(page, out, "slice-copy")
    page.keyboard.press("Escape")

    visit(page, f"{base}/console/rulesets/1/retail/order/main", "ruleset")
    page.get_by_role("tab", name="Call graph").click()
    page.locator("#pane-graph svg").wait_for()
    shoot(page, out, "callgraph")

    visit(page, f"{base}/console/rulesets/new?slice=1&app=retail&class=order", "ruleset")
    page.get_by_label("Name").fill("summer")
    paste_rules(page, MISTAKES)
    page.get_by_role("button", name="Create ruleset").click()
    page.locator(".problem-summary").wait_for()
    page.locator(".problem-summary").scroll_into_view_if_needed()
    shoot(page, out, "ruleset-problems")

    visit(page, f"{base}/console/workflows/1/ops/jobdraft", "ruleset")
    page.get_by_role("tab", name="Step settings (0)").click()
    for label, value in (("Timeout of step work", "30"), ("Attempts of step work", "3"),
                         ("Retry delay of step work", "5"), ("Timeout of step check", "0"),
                         ("Attempts of step check", "many")):
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Save the rules").click()
    page.locator(".problem-summary").wait_for()
    shoot(page, out, "workflow-steps")

    visit(page, f"{base}/console/simulate?kind=B&slice=1&app=retail&class=order&name=main", "simulate")
    fill_entity(page, ORDER)
    page.get_by_role("button", name="Run the rules").click()
    page.locator(".trace").wait_for()
    shoot(page, out, "simulator")
    page.locator(".trace-visit").nth(1).scroll_into_view_if_needed()
    shoot(page, out, "simulator-trace")

    visit(page, f"{base}/console/simulate?kind=W&slice=1&app=onboarding&class=customer&name=onboarding", "simulate")
    fill_entity(page, {"risk": "8", "country": "IN"})
    page.select_option("#sim-step", "creditcheck")
    page.check("#sim-failed")
    page.get_by_role("button", name="Try the step").click()
    page.locator(".trace").wait_for()
    shoot(page, out, "simulator-workflow")

    visit(page, f"{base}/console/diagram/1/onboarding/onboarding", "diagram")
    shoot(page, out, "diagram")
    visit(page, f"{base}/console/instance?slice=1&app=onboarding&workflow=onboarding&entityid=cust-42", "instance")
    shoot(page, out, "instance")
    page.locator("svg[aria-label='Diagram of workflow onboarding']").scroll_into_view_if_needed()
    shoot(page, out, "instance-path")
    page.locator("ol.timeline").scroll_into_view_if_needed()
    shoot(page, out, "instance-history")
    page.get_by_role("button", name="Abort…").click()
    shoot(page, out, "instance-abort")
    page.keyboard.press("Escape")
    visit(page, f"{base}/console/instance?slice=1&app=ops&workflow=job&entityid=job-17", "instance")
    shoot(page, out, "instance-attempts", full=True)
    visit(page, f"{base}/console/instance?slice=1&app=ops&workflow=job&entityid=job-19", "instance")
    page.get_by_role("button", name=re.compile(r"^Retry step check")).click()
    shoot(page, out, "instance-retry")
    page.keyboard.press("Escape")

    # a read-only user
    ann = context.browser.new_context(viewport=VIEWPORT).new_page()
    sign_in(ann, demo, "/console/rulesets/1/retail/order/main", token=demo.mint("ann"), ready="ruleset")
    shoot(ann, out, "read-only")
    ann.context.close()

    # the session ended
    page.evaluate("t => sessionStorage.setItem('crux.token', t)", demo.mint("admin", ttl=-3600))
    page.get_by_role("link", name="Slices").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    shoot(page, out, "session-ended")
    context.close()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "console")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from tests.conftest import _server_url, new_database
    args.out.mkdir(parents=True, exist_ok=True)
    with new_database(_server_url(), "crux_shots") as url, tempfile.TemporaryDirectory(prefix="crux-shots-") as work:
        demo = Demo(url, Path(work), engine=True)
        try:
            prepare(demo)
            with sync_playwright() as playwright:
                browser = launch(playwright)
                try:
                    run(demo, browser, args.out)
                finally:
                    browser.close()
        finally:
            demo.stop()


if __name__ == "__main__":
    main()
