"""The console's pages of SPEC §8 in a real Chromium against `crux demo`: step settings edited in
the workflow editor (every problem at its field) and drawn on the diagram; a step timing out,
retried by a real engine process and by the Retry button, on the instance page; an incident
listed, shown and retried; the incident and overdue filters; the engines and workers page.

The workflow is the harness's `job` (app `ops`): its step `work` times out after 1 s and waits
30 s before a retried attempt opens. Engines are started only by the tests that need one (an
engine in the demo would expire the overdue rows the filter test looks at)."""
from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import expect

from tests.console.harness import JOB_SETTINGS, eventually, make_jobs, sign_in, start_job, visit, wait_ready
from tests.engine_processes import Engines

NAMES = (f"console-engine-{n}" for n in itertools.count(1))


@pytest.fixture
def jobs(demo):
    return make_jobs(demo)


@pytest.fixture
def engine(demo, jobs, tmp_path):
    """A `crux engine` process on the demo's database (beats every second, a name of its own),
    stopped afterwards."""
    group = Engines(demo.database_url, tmp_path)
    group.name = next(NAMES)
    group.start(group.name)
    eventually(lambda: any(e["name"] == group.name and e["status"] == "active"
                           for e in demo.ok("wfenginelist", {})["engines"]), timeout=30)
    yield group
    group.close()


def rows(demo, **filters) -> list[dict]:
    return demo.ok("wfinstancelist", {"app": "ops", **filters})["wfinstances"]


def history(demo, entityid: str) -> list[tuple]:
    return [(h["step"], h["attempt"], h["outcome"], h["worker"], h["error"])
            for h in demo.ok("wfinstancehistory", {"entityid": entityid})["history"]]


def test_step_settings_are_edited_in_the_workflow_editor_and_drawn_on_the_diagram(page, demo, jobs):
    sign_in(page, demo, "/console/workflows/1/ops/jobdraft", ready="ruleset")
    page.get_by_role("tab", name="Step settings (0)").click()
    settings = page.locator("table.settings")
    expect(settings.locator("tbody tr")).to_have_count(3)          # work, fix, check: START is no step of its own
    page.get_by_label("Timeout of step work").fill("0")
    page.get_by_label("Attempts of step work").fill("many")
    page.get_by_label("Retry delay of step check").fill("-5")
    # saved from the rules tab: the problems are listed, and the tab that has them is shown
    page.get_by_role("tab", name="Rules (5)").click()
    page.get_by_role("button", name="Save the rules").click()
    expect(page.locator(".problem-summary")).to_contain_text("3 problems")
    expect(settings).to_be_visible()
    for field in ("steps.work.timeout", "steps.work.attempts", "steps.check.retrydelay"):
        mark = page.locator(f".problem[data-field='{field}']")
        expect(mark).to_have_count(1)
        expect(page.locator(f"[data-path='{field}']")).to_have_attribute("aria-invalid", "true")
        # each mark sits in the cell of its input
        assert mark.evaluate("(m, f) => m.closest('td').contains(document.querySelector(`[data-path='${f}']`))", field)
    assert demo.ok("workflowget", {**jobs, "name": "jobdraft"})["steps"] == {}

    page.get_by_label("Timeout of step work").fill("5")
    page.get_by_label("Attempts of step work").fill("3")
    page.get_by_label("Retry delay of step work").fill("2")
    page.get_by_label("Retry delay of step check").fill("")
    expect(page.locator("tr[data-step='work']")).to_contain_text("timeout 5s, 3 attempts, retry after 2s")
    page.get_by_role("button", name="Save the rules").click()
    expect(page.get_by_role("tab", name="Step settings (1)")).to_be_visible()
    want = {"work": {"timeout": 5, "attempts": 3, "retrydelay": 2}}
    assert demo.ok("workflowget", {**jobs, "name": "jobdraft"})["steps"] == want

    # saving the rules again keeps the settings (workflowupdate replaces them)
    wait_ready(page, "ruleset")
    with page.expect_response(lambda r: r.url.endswith("/workflowupdate")) as saved:
        page.get_by_role("button", name="Save the rules").click()
    assert saved.value.ok
    assert demo.ok("workflowget", {**jobs, "name": "jobdraft"})["steps"] == want

    page.get_by_role("tab", name="Diagram").click()
    node = page.locator("#pane-graph svg [data-node='work']")
    expect(node.locator("text.note")).to_have_text("timeout 5s, 3 attempts, retry after 2s")
    expect(page.locator("#pane-graph svg [data-node='check'] text.note")).to_have_count(0)

    # an active workflow shows its settings read-only
    visit(page, f"{demo.base}/console/workflows/1/ops/job", "ruleset")
    page.get_by_role("tab", name="Step settings (1)").click()
    expect(page.get_by_label("Timeout of step work")).to_have_value(str(JOB_SETTINGS["work"]["timeout"]))
    expect(page.get_by_label("Timeout of step work")).to_be_disabled()


def test_a_step_timing_out_is_retried_by_the_engine_and_by_hand_on_the_instance_page(page, demo, jobs, engine):
    row = start_job(demo, "job-late")
    claimed = demo.ok("wfstepclaim", {"worker": "robot-7", "app": "ops", "steps": ["work"], "lease": 60})["steps"]
    assert [c["id"] for c in claimed] == [row]
    # attempt 1 passes its 1 s deadline under robot-7's lease: the engine closes it timed out and
    # starts attempt 2 on the same row, open after the 30 s retry delay
    eventually(lambda: rows(demo, entityid="job-late")[0]["attempt"] == 2, timeout=30)
    assert history(demo, "job-late") == [("work", 1, "timedout", "robot-7", None), ("work", 2, None, None, None)]

    sign_in(page, demo, "/console/instance?slice=1&app=ops&workflow=job&entityid=job-late", ready="instance")
    step = page.locator(f".open-steps tr[data-row='{row}']")
    expect(step).to_contain_text("#2")
    expect(step).to_contain_text("opens")
    expect(step.get_by_text("open", exact=True)).to_be_visible()
    items = page.locator("ol.timeline > li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_have_class(re.compile(r"\btimedout\b"))
    expect(items.nth(0)).to_contain_text("attempt 1")
    expect(items.nth(0)).to_contain_text("timed out")
    expect(items.nth(0).locator("code.worker")).to_have_text("robot-7")
    expect(items.nth(1)).to_contain_text("attempt 2")
    expect(items.nth(1)).to_have_class(re.compile(r"\bopen\b"))
    # the diagram: work handed out once (a later attempt is no new visit), its settings on it
    svg = page.locator("svg[aria-label='Diagram of workflow job']")
    expect(svg.locator("[data-node='work'] .order text")).to_have_text("1")
    expect(svg.locator("[data-node='work']")).to_have_class(re.compile(r"\bopen\b"))
    expect(svg.locator("[data-node='work'] text.note")).to_have_text("timeout 1s, 3 attempts, retry after 30s")

    # Retry by hand: a confirmation first; cancelling changes nothing
    page.get_by_role("button", name=f"Retry step work (row {row})").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Attempt 2 of step work")
    dialog.get_by_role("button", name="Cancel").click()
    assert rows(demo, entityid="job-late")[0]["attempt"] == 2
    page.get_by_role("button", name=f"Retry step work (row {row})").click()
    page.get_by_role("dialog").get_by_role("button", name="Retry step").click()
    expect(page.locator(".toast")).to_contain_text("attempt 3")
    wait_ready(page, "instance")
    expect(items).to_have_count(3)
    expect(items.nth(1)).to_have_class(re.compile(r"\bfailed\b"))
    expect(items.nth(1).locator(".tl-error")).to_have_text("error: retried")
    expect(items.nth(2)).to_contain_text("attempt 3")
    assert history(demo, "job-late")[1:] == [("work", 2, "failed", None, "retried"), ("work", 3, None, None, None)]


def test_the_engines_and_workers_page(page, demo, engine):
    # a worker holding a step with no deadline (check): its lease stays live
    row = start_job(demo, "job-seen")
    demo.ok("wfinstancemarkdone", {"id": row, "step": "work", "entity": {"class": "job"}})
    held = demo.ok("wfstepclaim", {"worker": "robot-9", "app": "ops", "steps": ["check"], "max": 100,
                                   "lease": 600})["steps"]
    assert row in [c["id"] for c in held]
    sign_in(page, demo, "/console/", ready="home")
    page.locator("#nav").get_by_role("link", name="Engines and workers").click()
    wait_ready(page, "engines")
    mine = page.locator(f"table.engines tr[data-engine='{engine.name}']")
    expect(mine).to_have_attribute("data-status", "active")
    expect(mine).to_contain_text("active")
    worker = page.locator("table.workers tr[data-worker='robot-9']")
    expect(worker.locator("td").nth(2)).to_have_text(str(len(held)))        # its live leases
    # the step it holds shows on the instances page
    visit(page, f"{demo.base}/console/instances?entityid=job-seen", "instances")
    expect(page.locator(f".step-line[data-row='{row}']")).to_contain_text("robot-9")

    # a clean stop: the engine says so, and the page shows it after a refresh
    assert engine.stop(engine.name) == 0
    visit(page, f"{demo.base}/console/engines", "engines")
    expect(mine).to_have_attribute("data-status", "stopped")
    page.get_by_role("button", name="Refresh").click()
    wait_ready(page, "engines")
    expect(mine).to_have_attribute("data-status", "stopped")


def test_an_incident_is_listed_shown_and_retried(page, demo, jobs):
    row = start_job(demo, "job-stuck")
    demo.ok("wfinstancemarkdone", {"id": row, "step": "work", "entity": {"class": "job"}})
    # the check fails for good, and the workflow has no route after a failed check: an incident
    failed = demo.ok("wfstepfail", {"id": row, "error": "the checker crashed", "retry": False})
    assert failed["incident"] and failed["attempt"] == 2
    start_job(demo, "job-fine")

    sign_in(page, demo, "/console/instances?app=ops", ready="instances")
    page.get_by_label("Incident", exact=True).select_option("true")
    page.get_by_role("button", name="Show").click()
    wait_ready(page, "instances")
    assert "incident=true" in page.url
    listed = page.locator("table.instances tbody tr")
    expect(listed).to_have_count(1)
    line = page.locator(f".step-line[data-row='{row}']")
    expect(line).to_contain_text("incident")
    expect(line.locator(".incident")).to_have_text(failed["incident"])
    expect(page.locator("tr[data-entity='job-fine']")).to_have_count(0)
    visit(page, f"{demo.base}/console/instances?app=ops&incident=false", "instances")
    expect(page.locator("tr[data-entity='job-fine']")).to_have_count(1)
    expect(page.locator("tr[data-entity='job-stuck']")).to_have_count(0)

    # the instance page says why, at the open step and at its waiting attempt
    visit(page, f"{demo.base}/console/instance?slice=1&app=ops&workflow=job&entityid=job-stuck", "instance")
    expect(page.locator(".titlebar .badge", has_text="incident")).to_be_visible()
    expect(page.locator(f".open-steps tr[data-row='{row}']")).to_contain_text(failed["incident"])
    items = page.locator("ol.timeline > li")
    expect(items).to_have_count(3)                                          # work; check, attempts 1 and 2
    expect(items.nth(1)).to_have_class(re.compile(r"\bfailed\b"))
    expect(items.nth(1).locator(".tl-error")).to_have_text("error: the checker crashed")
    expect(items.nth(2).locator(".tl-incident")).to_contain_text(failed["incident"])

    # retried from the list of incidents: the list empties, the row is open again
    visit(page, f"{demo.base}/console/instances?app=ops&incident=true", "instances")
    page.get_by_role("button", name="Retry step check of job-stuck").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(failed["incident"])
    dialog.get_by_role("button", name="Retry step").click()
    wait_ready(page, "instances")
    expect(page.locator("table.instances")).to_contain_text("No live instance matches.")
    (after,) = rows(demo, entityid="job-stuck")
    assert (after["incident"], after["attempt"], after["step"]) == (None, 2, "check")


def test_the_overdue_filter(page, demo, jobs):
    """No engine runs here: a row whose 1 s deadline passed stays overdue."""
    row = start_job(demo, "job-overdue")
    eventually(lambda: row in [r["id"] for r in rows(demo, overdue=True)], timeout=30)
    sign_in(page, demo, "/console/instances?app=ops&overdue=true", ready="instances")
    line = page.locator(f".step-line[data-row='{row}']")
    expect(line.locator(".badge", has_text="overdue")).to_be_visible()
    for shown in page.locator("table.instances tbody tr").all():
        expect(shown.locator(".badge", has_text="overdue").first).to_be_visible()
    expect(page.get_by_label("Overdue", exact=True)).to_have_value("true")
    visit(page, f"{demo.base}/console/instances?app=ops&overdue=false", "instances")
    expect(page.locator(f".step-line[data-row='{row}']")).to_have_count(0)
    # the overview counts them, and links to them
    visit(page, f"{demo.base}/console/", "home")
    page.locator("a.card", has_text="overdue steps").click()
    wait_ready(page, "instances")
    expect(page.locator(f".step-line[data-row='{row}']")).to_be_visible()
