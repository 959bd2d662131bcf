"""The console's workflow pages in a real Chromium against `crux demo`: the onboarding workflow's
diagram drawn from its rules, an instance run through the API and its path and history in the
page, and abort with a confirmation."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.console.harness import sign_in, visit, wait_ready

STEPS = ["collectdocs", "kyccheck", "creditcheck", "addresscheck", "manualkyc", "review", "accountsetup"]
CUSTOMER = {"class": "customer", "risk": 3, "country": "IN"}


def test_the_onboarding_diagram_is_drawn_from_its_rules(page, demo):
    sign_in(page, demo, "/console/diagram/1/onboarding/onboarding", ready="diagram")
    svg = page.locator("svg[aria-label='Diagram of workflow onboarding']")
    for step in ["START", *STEPS, "done"]:
        expect(svg.locator(f"[data-node='{step}']")).to_have_count(1)
    # documents in: three concurrent checks (a fork), joining at review
    expect(svg.locator("[data-edge='collectdocs->fork:collectdocs:1']")).to_have_count(1)
    for check in ("kyccheck", "creditcheck", "addresscheck"):
        expect(svg.locator(f"[data-edge='fork:collectdocs:1->{check}']")).to_have_count(1)
        expect(svg.locator(f"[data-edge='{check}->join:review']")).to_have_count(1)
    expect(svg.locator("[data-edge='join:review->review']")).to_have_count(1)
    # remedial routes: after a failed step, with the rule's other conditions on the edge
    expect(svg.locator("[data-edge='kyccheck->manualkyc!f']")).to_have_class(re.compile(r"\bfailed\b"))
    expect(svg.locator("[data-label='creditcheck->done!f:risk ≥ 7'] text")).to_have_text("risk ≥ 7")
    expect(svg.locator("[data-edge='collectdocs->collectdocs!f']")).to_have_count(1)
    # the step carried out by a sub-workflow links to that workflow's diagram
    sub = svg.locator("a", has=page.locator("[data-node='accountsetup']"))
    expect(sub).to_have_attribute("href", "/console/diagram/1/onboarding/setupaccount")
    # the same diagram as a table, for reading without the picture
    page.get_by_text("The diagram as a table").click()
    expect(page.locator(".transitions-table tbody tr")).to_have_count(svg.locator(".edge").count())
    sub.click()
    page.wait_for_url("**/console/diagram/1/onboarding/setupaccount")
    wait_ready(page, "diagram")
    for step in ("openaccount", "issuecard", "sendwelcome"):
        expect(page.locator(f"svg [data-node='{step}']")).to_have_count(1)


def test_an_instance_run_through_the_api_shows_its_path_and_history_and_is_aborted(page, demo):
    entity = "cust-console"
    started = demo.ok("wfinstancenew", {"slice": 1, "app": "onboarding", "workflow": "onboarding", "entityid": entity,
                                        "entity": CUSTOMER})
    (first,) = started["tasks"][0].values()
    checks = demo.ok("wfinstancemarkdone", {"id": first, "step": "collectdocs", "entity": CUSTOMER})
    ids = {step: row for task in checks["tasks"] for step, row in task.items()}
    demo.ok("wfinstancemarkdone", {"id": ids["kyccheck"], "step": "kyccheck", "stepfailed": True, "entity": CUSTOMER})
    demo.ok("wfinstancemarkdone", {"id": ids["addresscheck"], "step": "addresscheck", "entity": CUSTOMER})

    sign_in(page, demo, f"/console/instances?entityid={entity}", ready="instances")
    row = page.locator(f"tr[data-entity='{entity}']")
    expect(row).to_contain_text("creditcheck")
    expect(row).to_contain_text("manualkyc")
    row.get_by_role("link", name="path and history").click()
    wait_ready(page, "instance")

    open_rows = demo.ok("wfinstancelist", {"entityid": entity})["wfinstances"]
    expect(page.locator(".open-steps tbody tr")).to_have_count(len(open_rows))
    svg = page.locator("svg[aria-label='Diagram of workflow onboarding']")
    expect(svg).to_be_visible()
    for step in ("collectdocs", "kyccheck", "creditcheck", "addresscheck", "manualkyc"):
        expect(svg.locator(f"[data-node='{step}']")).to_have_class(re.compile(r"\bvisited\b"))
        expect(svg.locator(f"[data-node='{step}']")).to_have_class(
            re.compile(r"\bopen\b") if step in ("creditcheck", "manualkyc") else re.compile(r"^(?!.*\bopen\b)"))
    expect(svg.locator("[data-node='review']")).not_to_have_class(re.compile(r"\bvisited\b"))
    for edge in ("START->collectdocs", "collectdocs->fork:collectdocs:1", "fork:collectdocs:1->kyccheck",
                 "kyccheck->manualkyc!f", "addresscheck->join:review"):
        expect(svg.locator(f"[data-edge='{edge}']")).to_have_class(re.compile(r"\bonpath\b"))
    expect(svg.locator("[data-edge='kyccheck->manualkyc!f']")).to_have_class(re.compile(r"\bfailed\b"))
    expect(svg.locator("[data-edge='review->accountsetup']")).not_to_have_class(re.compile(r"\bonpath\b"))
    expect(svg.locator("[data-node='collectdocs'] .order text")).to_have_text("1")
    history = demo.ok("wfinstancehistory", {"entityid": entity})["history"]
    items = page.locator("ol.timeline > li")
    expect(items).to_have_count(len(history))
    expect(items.first).to_contain_text("collectdocs")
    expect(page.locator("ol.timeline > li.failed")).to_contain_text("kyccheck")

    # abort: a confirmation first; cancelling it changes nothing
    page.get_by_role("button", name="Abort…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(entity)
    dialog.get_by_role("button", name="Cancel").click()
    assert len(demo.ok("wfinstancelist", {"entityid": entity})["wfinstances"]) == len(open_rows)
    page.get_by_role("button", name="Abort…").click()
    page.get_by_role("dialog").get_by_role("button", name="Abort instance").click()
    expect(page.locator(".titlebar .badge")).to_have_text("aborted")
    assert demo.ok("wfinstancelist", {"entityid": entity})["wfinstances"] == []
    # the steps still open were aborted; addresscheck, done and waiting for the join, stays done
    expect(page.locator("ol.timeline > li.aborted")).to_have_count(len([r for r in open_rows if not r["doneat"]]))


def test_the_workflow_page_shows_its_rules_and_diagram_and_steps_get_sub_workflows(page, demo):
    sign_in(page, demo, "/console/workflows/1/onboarding/onboarding", ready="ruleset")
    expect(page.get_by_role("heading", name="Workflow onboarding")).to_be_visible()
    expect(page.locator(".rules [data-rule]")).to_have_count(12)
    page.get_by_role("tab", name="Diagram").click()
    expect(page.locator("#pane-graph svg [data-node='review']")).to_be_visible()

    visit(page, f"{demo.base}/console/workflows?slice=1&app=onboarding", "rulesets")
    form = page.locator("form", has=page.get_by_role("button", name="Add"))
    form.get_by_label("Step (a task)").fill("review")
    form.get_by_label("Workflow").fill("setupaccount")
    form.get_by_role("button", name="Add").click()
    expect(page.locator("tr", has_text="review")).to_contain_text("setupaccount")
    assert {"slice": 1, "app": "onboarding", "step": "review", "workflow": "setupaccount"} in \
        demo.ok("stepworkflowlist", {"slice": 1, "app": "onboarding"})["stepworkflows"]
    page.get_by_role("button", name="Remove the sub-workflow of step review").click()
    expect(page.locator("tr", has_text="review")).to_have_count(0)
