"""The console in a real Chromium against `crux demo`: signing in and out, a token the service
refuses, what a read-only user sees, values from the database shown as text, every page at
1280x800."""
from __future__ import annotations

import datetime as dt
import json
import re

import jwt
from playwright.sync_api import expect

from tests.console.harness import SECRET, fill_entity, sign_in, visit, wait_ready


def test_the_demo_link_signs_in_keeps_the_token_in_the_tab_and_sign_out_forgets_it(page, demo):
    assert "/console/#token=" in demo.output()
    asked = []
    page.on("request", lambda req: asked.append(req.url))
    visit(page, demo.link, "home")
    assert "#token" not in page.url and demo.token not in page.url
    assert page.evaluate("sessionStorage.getItem('crux.token')") == demo.token
    assert page.evaluate("localStorage.length") == 0
    assert not [url for url in asked if demo.token in url], "the token went into a URL"
    expect(page.locator("#who")).to_contain_text("admin")
    expect(page.locator("#who")).to_contain_text("demo")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('crux.token')") is None
    expect(page.locator("#nav a")).to_have_count(0)

    page.fill("#token", f"Bearer {demo.token}")
    page.get_by_role("button", name="Sign in").click()
    wait_ready(page, "home")
    assert page.evaluate("sessionStorage.getItem('crux.token')") == demo.token


def test_a_new_tab_is_not_signed_in(browser, demo):
    """sessionStorage belongs to one tab: another context (a new browser session) starts signed out."""
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(f"{demo.base}/console/slices")
    expect(tab.get_by_role("heading", name="Sign in")).to_be_visible()
    context.close()


def test_a_token_the_service_refuses_ends_the_session_and_signing_in_returns_to_the_page(page, demo):
    sign_in(page, demo, "/console/slices", ready="slices")
    now = int(dt.datetime.now(dt.UTC).timestamp())
    expired = jwt.encode({"sub": "admin", "realm": "demo", "iat": now - 7200, "exp": now - 3600}, SECRET,
                         algorithm="HS256")
    page.evaluate("t => sessionStorage.setItem('crux.token', t)", expired)
    page.get_by_role("link", name="Apps").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Your session has ended")
    expect(alert).to_contain_text("expired")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('crux.token')") is None
    assert page.url.endswith("/console/apps")

    page.fill("#token", demo.token)
    page.get_by_role("button", name="Sign in").click()
    wait_ready(page, "apps")
    expect(page.get_by_role("heading", name="Apps", exact=True)).to_be_visible()


def test_values_from_the_database_show_as_text(page, demo):
    markup = '<script>window.__xss = 1</script><img src="x" onerror="window.__xss = 2">'
    demo.ok("appnew", {"name": "xss", "descr": markup})
    demo.ok("configset", {"slice": 1, "name": "xss_note", "val": markup, "descr": "<b>bold</b>"})
    sign_in(page, demo, "/console/apps", ready="apps")
    expect(page.get_by_role("cell", name=markup)).to_be_visible()
    page.get_by_role("link", name="Config").click()
    wait_ready(page, "config")
    expect(page.get_by_text(markup)).to_be_visible()
    expect(page.get_by_text("<b>bold</b>")).to_be_visible()
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src='x'], main script, main b").count() == 0
    assert page.locator("script").count() == 1  # main.js only


def test_a_report_user_sees_read_only_pages_and_may_do_what_the_api_allows(page, demo):
    demo.ok("capgrant", {"user": "ann", "cap": ["report"]})
    token = demo.mint("ann")
    sign_in(page, demo, "/console/", token=token)
    expect(page.locator("#who")).to_contain_text("ann")
    nav = page.locator("#nav")
    expect(nav.get_by_role("link", name="Slices")).to_be_visible()
    expect(nav.get_by_role("link", name="Users and capabilities")).to_have_count(0)
    expect(nav.get_by_role("link", name="Engines and workers")).to_be_visible()

    visit(page, f"{demo.base}/console/slices", "slices")
    expect(page.get_by_text("Read-only")).to_be_visible()
    expect(page.get_by_role("button", name="New empty slice")).to_have_count(0)
    expect(page.get_by_role("button", name="Copy slice 1")).to_be_disabled()
    expect(page.get_by_role("button", name="Deactivate slice 1")).to_be_disabled()

    visit(page, f"{demo.base}/console/apps", "apps")
    expect(page.get_by_role("button", name="Create app")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete app retail")).to_be_disabled()

    visit(page, f"{demo.base}/console/config", "config")
    expect(page.get_by_role("button", name="Set")).to_have_count(0)

    visit(page, f"{demo.base}/console/schemas/B/1/retail/order", "schema")
    expect(page.get_by_role("button", name="Save schema")).to_have_count(0)
    assert page.locator(".attrs input:enabled, .attrs select:enabled").count() == 0

    visit(page, f"{demo.base}/console/rulesets/1/retail/order/fraud", "ruleset")
    expect(page.get_by_text("Read-only")).to_be_visible()
    for name in ("Save the rules", "Deactivate", "Activate", "Edit rule 0"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)

    # what the API allows every user of the realm: evaluations and instance calls
    visit(page, f"{demo.base}/console/simulate?kind=W&slice=1&app=onboarding&class=customer&name=onboarding",
          "simulate")
    fill_entity(page, {"risk": "3", "country": "IN"})
    page.get_by_role("button", name="Try the step").click()
    expect(page.locator("[data-result=tasks]")).to_contain_text("collectdocs")
    demo.ok("wfinstancenew", {"slice": 1, "app": "onboarding", "workflow": "onboarding", "entityid": "ann-case",
                              "entity": {"class": "customer", "risk": 2, "country": "IN"}})
    visit(page, f"{demo.base}/console/instances?entityid=ann-case", "instances")
    expect(page.get_by_role("button", name="Abort the instance of onboarding for ann-case")).to_be_enabled()
    visit(page, f"{demo.base}/console/instance?slice=1&app=onboarding&workflow=onboarding&entityid=ann-case",
          "instance")
    expect(page.get_by_role("button", name=re.compile(r"^Retry step collectdocs \(row \d+\)$"))).to_be_enabled()


PAGES = [
    ("/console/", "home"), ("/console/slices", "slices"), ("/console/apps", "apps"), ("/console/users", "users"),
    ("/console/config?slice=1", "config"), ("/console/schemas", "schemas"),
    ("/console/schemas/B/1/retail/order", "schema"),
    ("/console/schemas/W/1/onboarding/customer", "schema"), ("/console/schemas/new?kind=B", "schema"),
    ("/console/rulesets", "rulesets"), ("/console/rulesets/1/retail/order/main", "ruleset"),
    ("/console/rulesets/new?slice=1&app=retail&class=order", "ruleset"), ("/console/workflows", "rulesets"),
    ("/console/workflows/1/onboarding/onboarding", "ruleset"), ("/console/diagram/1/onboarding/onboarding", "diagram"),
    ("/console/simulate", "simulate"),
    ("/console/simulate?kind=W&slice=1&app=onboarding&class=customer&name=onboarding", "simulate"),
    ("/console/instances", "instances"), ("/console/instances?incident=true&overdue=false", "instances"),
    ("/console/instance?slice=1&app=onboarding&workflow=onboarding&entityid=nobody", "instance"),
    ("/console/engines", "engines"), ("/console/events", "events"), ("/console/webhooks", "webhooks"),
]


def test_every_page_draws_at_1280x800_without_sideways_scrolling(page, demo):
    sign_in(page, demo)
    for path, name in PAGES:
        visit(page, f"{demo.base}{path}", name)
        assert page.locator("h1").count() == 1, path
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280, (path, width)


def test_the_console_is_usable_with_the_keyboard(page, demo):
    sign_in(page, demo, "/console/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    # the menu is reached by tabbing and followed with Enter
    link = page.locator("#nav").get_by_role("link", name="Slices")
    link.focus()
    page.keyboard.press("Enter")
    wait_ready(page, "slices")
    assert page.evaluate("document.activeElement.tagName") == "H1"
    # a dialog: Escape cancels it and nothing changes
    before = demo.ok("realmslicelist", {})["slices"]
    page.get_by_role("button", name="Copy slice 1").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert demo.ok("realmslicelist", {})["slices"] == before


def test_a_user_without_capabilities_may_still_evaluate(page, demo):
    """breapplyrules and wfinstancetry are open to every user of the realm: without the rights to
    read the rules, the simulator takes the ruleset's name and the entity as JSON."""
    sign_in(page, demo, "/console/simulate", token=demo.mint("eve"), ready="simulate")
    expect(page.get_by_text("may run rulesets but not list or read them")).to_be_visible()
    page.get_by_label("App").fill("retail")
    page.get_by_label("Ruleset").fill("main")
    page.get_by_label("Class").fill("order")
    page.get_by_role("button", name="Use").click()
    wait_ready(page, "simulate")
    entity = {"class": "order", "amount": "60", "items": "1", "channel": "web", "member": "false", "tier": "none",
              "country": "IN", "placed": "2026-03-01T10:00:00Z"}
    page.get_by_label("Entity (JSON)").fill(json.dumps(entity))
    page.get_by_role("button", name="Run the rules").click()
    expect(page.locator("[data-result=tasks]")).to_contain_text("freeship")
    expect(page.locator(".trace-visit").first).to_contain_text("main")
