"""The console's event and webhook pages in a real Chromium against `crux demo`: the stream read
with filters and followed live, instance events linked to their instance, webhooks made, changed
and deleted, a report user's view."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.console.harness import make_jobs, sign_in, start_job, visit, wait_ready


def test_the_event_stream_filtered_and_followed_live(page, demo):
    """Changes of admin data are events (`changed`), read page by page and followed live."""
    demo.ok("configset", {"slice": 1, "name": "events_a", "val": "1"})
    sign_in(page, demo, "/console/events?kinds=changed", ready="events")
    rows = page.locator("table.events tbody tr")
    expected = demo.ok("wfeventlist", {"kinds": ["changed"], "limit": 1000})["events"]
    shown = min(len(expected), 100)
    expect(rows).to_have_count(shown)
    assert rows.evaluate_all("els => els.map(e => e.dataset.event)") == [str(e["id"]) for e in expected[:shown]]
    expect(page.locator("tr", has_text="demo/1/EVENTS_A")).to_contain_text("config insert")
    while page.get_by_role("button", name="Next page").count():
        page.get_by_role("button", name="Next page").click()
        more = page.get_by_role("button", name="Next page").or_(page.get_by_role("button", name="Follow live"))
        expect(more).to_be_visible()
    expect(rows).to_have_count(len(expected))

    # at the end of the stream: follow it, and a change made meanwhile shows up
    page.get_by_role("button", name="Follow live").click()
    expect(page.get_by_role("button", name="Stop following")).to_be_visible()
    demo.ok("configset", {"slice": 1, "name": "events_b", "val": "2"})
    expect(page.locator("tr", has_text="demo/1/EVENTS_B")).to_contain_text("config insert", timeout=30_000)
    page.get_by_role("button", name="Stop following").click()
    expect(page.get_by_role("button", name="Follow live")).to_be_visible(timeout=30_000)

    # the filters are the page's address; a filter that matches nothing shows an empty stream
    visit(page, f"{demo.base}/console/events", "events")
    page.get_by_label("Entity id").fill("nobody-at-all")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{demo.base}/console/events?entityid=nobody-at-all")
    expect(page.locator("table.events tbody")).to_contain_text("No events yet.")


def test_webhooks_are_made_changed_and_deleted_and_read_only_for_report(page, demo, browser):
    sign_in(page, demo, "/console/webhooks", ready="webhooks")
    form = page.locator("form.webhook-new")
    form.get_by_label("Name").fill("crm")
    form.get_by_label("URL").fill("ftp://example.com/")
    form.get_by_label("done", exact=True).check()
    form.get_by_label("Secret (signs each body)").fill("t0ps3cret")
    form.get_by_role("button", name="Create webhook").click()
    expect(form.locator(".problem[data-field='url']")).to_be_visible()
    form.get_by_label("URL").fill("http://127.0.0.1:9/crux")
    form.get_by_role("button", name="Create webhook").click()
    row = page.locator("tr[data-webhook='crm']")
    expect(row).to_contain_text("http://127.0.0.1:9/crux")
    expect(row).to_contain_text("done")
    assert "t0ps3cret" not in page.content()
    (hook,) = [w for w in demo.ok("webhooklist", {})["webhooks"] if w["name"] == "crm"]
    assert hook["kinds"] == ["done"] and "secret" not in hook

    row.get_by_role("button", name="Change webhook crm").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("done", exact=True).uncheck()
    dialog.get_by_label("aborted").check()
    dialog.get_by_label("Only workflow").fill("onboarding")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("tr[data-webhook='crm']")).to_contain_text("workflow onboarding")
    (hook,) = [w for w in demo.ok("webhooklist", {})["webhooks"] if w["name"] == "crm"]
    assert hook["kinds"] == ["aborted"] and hook["workflow"] == "onboarding"

    # a report user sees the list, and nothing to change it with
    demo.ok("capgrant", {"user": "rita", "cap": ["report"]})
    context = browser.new_context()
    other = context.new_page()
    sign_in(other, demo, "/console/webhooks", token=demo.mint("rita"), ready="webhooks")
    expect(other.locator("tr[data-webhook='crm']")).to_be_visible()
    expect(other.get_by_role("button", name="Create webhook")).to_have_count(0)
    expect(other.get_by_role("button", name="Delete webhook crm")).to_have_count(0)
    context.close()

    page.get_by_role("button", name="Delete webhook crm").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("tr[data-webhook='crm']")).to_have_count(0)
    assert not [w for w in demo.ok("webhooklist", {})["webhooks"] if w["name"] == "crm"]


def test_instance_events_show_with_attempts_workers_errors_and_link_to_their_instance(page, demo):
    make_jobs(demo)
    row = start_job(demo, "job-events")
    demo.ok("wfinstancemarkdone", {"id": row, "step": "work", "entity": {"class": "job"}})
    demo.ok("wfstepfail", {"id": row, "worker": "robot-e", "error": "scanner offline", "retry": False})   # an incident
    expected = demo.ok("wfeventlist", {"entityid": "job-events", "limit": 1000})["events"]
    kinds = [e["kind"] for e in expected]
    assert kinds[0] == "started" and {"stepopened", "stepdone", "stepfailed", "incident"} <= set(kinds)

    sign_in(page, demo, "/console/events?entityid=job-events", ready="events")
    rows = page.locator("table.events tbody tr")
    expect(rows).to_have_count(len(expected))
    assert rows.evaluate_all("els => els.map(e => e.dataset.kind)") == kinds
    failed = page.locator("tr[data-kind='stepfailed']")
    expect(failed).to_contain_text("check")
    expect(failed).to_contain_text("#1")
    expect(failed).to_contain_text("robot-e")
    expect(failed).to_contain_text("scanner offline")
    (incident,) = [e for e in expected if e["kind"] == "incident"]
    expect(page.locator("tr[data-kind='incident']")).to_contain_text(incident["error"])
    # only instance events: a filter on the kinds keeps those
    visit(page, f"{demo.base}/console/events?entityid=job-events&kinds=incident", "events")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link", name="job-events").click()
    wait_ready(page, "instance")
    assert "workflow=job" in page.url and "entityid=job-events" in page.url
    expect(page.locator(f".open-steps tr[data-row='{row}']")).to_contain_text("incident")
