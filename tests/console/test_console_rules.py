"""The console's rule pages in a real Chromium against `crux demo`: slices, a schema and a
ruleset made in the page (the service's problems shown at their fields), the rule editor with the
keyboard, the call graph, and the simulator with its trace."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.console.harness import ORDER, fill_entity, paste_rules, sign_in, visit, wait_ready


def test_copy_a_slice_of_one_app_and_activate_it(page, demo):
    before = {s["id"] for s in demo.ok("realmslicelist", {})["slices"]}
    sign_in(page, demo, "/console/slices", ready="slices")
    page.get_by_role("button", name="Copy slice 1").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Description").fill("console copy")
    for app in demo.ok("applist", {})["apps"]:          # the demo's, and those other tests made
        if app["name"] != "retail":
            dialog.get_by_label(app["shortname"] or app["name"], exact=True).uncheck()
    dialog.get_by_role("button", name="Copy", exact=True).click()
    expect(page.locator("tr", has_text="console copy")).to_be_visible()
    (new,) = {s["id"] for s in demo.ok("realmslicelist", {})["slices"]} - before
    row = page.locator(f"tr[data-slice='{new}']")
    expect(row.locator(".badge")).to_have_text("inactive")
    assert [a["shortname"] for a in demo.ok("realmsliceapps", {"id": new})] == ["retail"]

    row.get_by_role("button", name=f"Show the apps of slice {new}").click()
    expect(row.get_by_role("link", name="retail")).to_be_visible()
    page.get_by_role("button", name=f"Activate slice {new}").click()
    expect(page.locator(f"tr[data-slice='{new}'] .badge")).to_have_text("active")
    assert next(s for s in demo.ok("realmslicelist", {})["slices"] if s["id"] == new)["active"] is True


MISTAKES = [
    {"rulepattern": [{"attr": "total", "op": "gt", "val": "abc"}, {"attr": "nosuch", "op": "eq", "val": 1}],
     "ruleactions": {"tasks": ["nosuchtask"], "properties": {"discount": "5"}}},
    {"rulepattern": [{"attr": "tier", "op": "lt", "val": "gold"}],
     "ruleactions": {"tasks": ["freeship"], "properties": {"zz": "1"}, "thencall": "missing"}},
]
FIXED = [
    {"rulepattern": [{"attr": "total", "op": "gt", "val": 100}],
     "ruleactions": {"tasks": ["freeship"], "properties": {"discount": "5"}}},
    {"rulepattern": [{"attr": "tier", "op": "eq", "val": "gold"}],
     "ruleactions": {"tasks": ["review"], "properties": {"discount": "10"}}},
]


def _schema_in_the_page(page):
    page.get_by_label("Class").fill("basket")
    page.get_by_label("Attribute 0: name").fill("total")
    page.get_by_label("attribute 0: type").select_option("float")
    page.get_by_label("total: valmin").fill("0")
    page.get_by_role("button", name="+ attribute").click()
    page.get_by_label("Attribute 1: name").fill("tier")
    page.get_by_label("attribute 1: type").select_option("enum")
    page.get_by_label("tier: values").fill("gold, silver")
    page.get_by_label("Tasks").fill("freeship, review")
    page.get_by_label("Properties").fill("discount")


def test_a_schema_and_a_ruleset_made_in_the_page_every_problem_at_its_field(page, demo):
    demo.ok("appnew", {"name": "shop", "descr": "console test shop"})
    sign_in(page, demo, "/console/schemas/new?kind=B&slice=1&app=shop", ready="schema")
    _schema_in_the_page(page)
    page.get_by_label("tier: values").fill("gold, Silver")          # a mistake: not an identifier
    page.get_by_role("button", name="Create schema").click()
    mark = page.locator(".problem[data-field^='patternschema[1].vals']")
    expect(mark).to_be_visible()
    expect(page.get_by_label("tier: values")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("tier: values").fill("gold, silver")
    page.get_by_role("button", name="Create schema").click()
    page.wait_for_url("**/console/schemas/B/1/shop/basket")
    wait_ready(page, "schema")
    schema = demo.ok("breschemaget", {"slice": 1, "app": "shop", "class": "basket"})
    assert [a["attr"] for a in schema["patternschema"]] == ["total", "tier"]
    assert schema["patternschema"][0]["valmin"] == 0
    assert schema["actionschema"] == {"tasks": ["freeship", "review"], "properties": ["discount"]}

    # a ruleset with six mistakes: six marks, each at the control the service names
    page.get_by_role("link", name="New ruleset of basket").click()
    wait_ready(page, "ruleset")
    page.get_by_label("Name").fill("promo")
    paste_rules(page, MISTAKES)
    page.get_by_role("button", name="Create ruleset").click()
    status, answer = demo.call("brerulesetnew", {"slice": 1, "app": "shop", "class": "basket", "name": "promo",
                                                 "ruleset": MISTAKES})
    assert status == 400
    fields = [m["field"] for m in answer["messages"]]
    assert len(fields) == 6, fields
    marks = page.locator(".rules .problem")
    expect(marks).to_have_count(len(fields))
    assert sorted(marks.evaluate_all("els => els.map(e => e.dataset.field)")) == sorted(fields)
    for field in fields:
        control = page.locator(f".rules [data-path~='{field}']")
        expect(control).to_have_attribute("aria-invalid", "true")
        # the mark sits beside its control: in the same condition, item or field
        holder = page.locator(".rules .term, .rules .item, .rules .field, .rules [role=cell]").filter(
            has=page.locator(f"[data-path~='{field}']")).last
        expect(holder.locator(f".problem[data-field='{field}']")).to_be_visible()
    expect(page.locator(".problem-summary")).to_contain_text("6 problems")

    # fixed in the table itself and created; then activated
    paste_rules(page, FIXED)
    page.get_by_role("button", name="Create ruleset").click()
    page.wait_for_url("**/console/rulesets/1/shop/basket/promo")
    wait_ready(page, "ruleset")
    expect(page.locator(".titlebar .badge")).to_have_text("inactive")
    page.get_by_role("button", name="Activate").click()
    expect(page.locator(".titlebar .badge").first).to_have_text("active")
    got = demo.ok("brerulesetget", {"slice": 1, "app": "shop", "class": "basket", "name": "promo"})
    assert got["is_active"] is True
    assert [r["rulepattern"] for r in got["ruleset"]] == [r["rulepattern"] for r in FIXED]


def test_the_rule_editor_with_the_keyboard(page, demo):
    demo.ok("appnew", {"name": "kbd", "descr": "keyboard"})
    demo.ok("breschemanew", {"slice": 1, "app": "kbd", "class": "ticket", "patternschema": [
        {"attr": "prio", "valtype": "int", "valmin": 1, "valmax": 5},
        {"attr": "queue", "valtype": "enum", "vals": ["a", "b"]}],
        "actionschema": {"tasks": ["page", "mail"], "properties": ["team"]}})
    demo.ok("brerulesetnew", {"slice": 1, "app": "kbd", "class": "ticket", "name": "route", "ruleset": [
        {"rulepattern": [{"attr": "prio", "op": "ge", "val": 4}],
         "ruleactions": {"tasks": ["page"], "properties": {}}}]})
    sign_in(page, demo, "/console/rulesets/1/kbd/ticket/route", ready="ruleset")
    page.get_by_role("button", name="Edit rule 0").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("!!document.activeElement.closest('[data-rule=\"0\"].editing')")
    value = page.get_by_label("Condition 0: value")
    value.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    page.get_by_role("button", name="Add a property to rule 0").focus()
    page.keyboard.press("Enter")
    page.keyboard.type("ops")
    page.get_by_role("button", name="Add a condition to rule 0").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Condition 1: attribute").select_option("queue")
    page.get_by_label("Condition 1: value").select_option("b")
    page.get_by_role("button", name="Done editing rule 0").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Edit rule 0"
    expect(page.locator("[data-rule='0']")).to_contain_text("prio ≥ 3")
    expect(page.locator(".status")).to_contain_text("unsaved changes")
    page.get_by_role("button", name="Save the rules").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".status")).to_have_text("")
    rules = demo.ok("brerulesetget", {"slice": 1, "app": "kbd", "class": "ticket", "name": "route"})["ruleset"]
    assert rules[0]["rulepattern"] == [{"attr": "prio", "op": "ge", "val": 3},
                                       {"attr": "queue", "op": "eq", "val": "b"}]
    assert rules[0]["ruleactions"]["properties"] == {"team": "ops"}


def test_the_call_graph_of_a_class(page, demo):
    sign_in(page, demo, "/console/rulesets/1/retail/order/main", ready="ruleset")
    page.get_by_role("tab", name="Call graph").click()
    graph = page.locator("#pane-graph svg")
    expect(graph).to_be_visible()
    for name in ("main", "loyalty", "welcome", "fraud"):
        expect(graph.locator(f"[data-node='{name}']")).to_have_count(1)
    assert graph.locator(".edge.call").count() >= 2 and graph.locator(".edge.else").count() == 1
    graph.locator("a", has=page.locator("[data-node='loyalty']")).click()
    page.wait_for_url("**/console/rulesets/1/retail/order/loyalty")
    wait_ready(page, "ruleset")


def test_the_simulator_runs_an_entity_shows_the_trace_and_remembers_the_inputs(page, demo):
    sign_in(page, demo, "/console/rulesets/1/retail/order/main", ready="ruleset")
    page.get_by_role("link", name="Try it in the simulator").click()
    wait_ready(page, "simulate")
    # bounds are checked while typing
    page.fill("#entity-items", "0")
    expect(page.locator("#entity-items-check")).to_have_text("must be at least 1")
    expect(page.locator("#entity-items")).to_have_attribute("aria-invalid", "true")
    fill_entity(page, ORDER)
    expect(page.locator("#entity-items-check")).to_have_text("")
    page.get_by_role("button", name="Run the rules").click()
    expect(page.locator("[data-result=tasks]")).to_contain_text("freeship")
    expected = demo.ok("breapplyrules", {"slice": 1, "app": "retail", "ruleset": "main",
                                         "entity": {"class": "order", **ORDER}})
    assert page.locator("[data-result=tasks] li").all_inner_texts() == expected["tasks"]
    for key, value in expected["properties"].items():
        expect(page.locator("[data-result=properties]")).to_contain_text(value)
        expect(page.locator("[data-result=properties]")).to_contain_text(key)
    # rule by rule: main's rule 1 matched and called loyalty, which returned; rule 0's term did not hold
    visits = page.locator(".trace-visit")
    assert visits.evaluate_all("els => els.map(e => e.dataset.ruleset)") == ["main", "loyalty", "main"]
    called = visits.nth(0).locator(".trace-rule[data-rule='1']")
    expect(called).to_contain_text("matched and called")
    expect(called.get_by_role("link", name="loyalty")).to_be_visible()
    expect(visits.nth(1).locator(".trace-rule[data-rule='0']")).to_contain_text("matched and returned")
    term = visits.nth(0).locator(".trace-rule[data-rule='0'] tbody tr").first
    assert term.locator("td").all_inner_texts() == ["amount", "240", ">", "5000", "no"]
    skipped = visits.nth(2).locator(".trace-rule[data-rule='4'] tbody tr").nth(1)
    expect(skipped).to_contain_text("not evaluated")
    # copy as curl: the call, with $TOKEN and not the token itself
    curl = page.get_by_label("The call as curl").inner_text()
    assert "/api/v1/breapplyrules" in curl and "$TOKEN" in curl and demo.token not in curl
    assert '"trace":2' in curl and '"tier":"gold"' in curl

    # the inputs come back on the next visit
    visit(page, f"{demo.base}/console/simulate?kind=B&slice=1&app=retail&class=order&name=main", "simulate")
    expect(page.locator("#entity-amount")).to_have_value("240.00")
    expect(page.locator("#entity-tier")).to_have_value("gold")
    # a value the service refuses is shown at its field
    page.fill("#entity-amount", "lots")
    page.get_by_role("button", name="Run the rules").click()
    expect(page.locator(".problem[data-field='entity.amount']")).to_be_visible()


def test_the_simulator_explains_an_inactive_slice(page, demo):
    copy = demo.ok("realmslicenew", {"copyof": 1, "descr": "not yet", "app": ["retail"]})
    sign_in(page, demo, f"/console/simulate?kind=B&slice={copy}&app=retail&class=order&name=main", ready="simulate")
    fill_entity(page, {**ORDER, "member": "false", "tier": "none"})
    page.get_by_role("button", name="Run the rules").click()
    expect(page.locator(".results")).to_contain_text(f"slice {copy} is not active")
    page.get_by_role("button", name=f"Activate slice {copy} now").click()
    expect(page.locator("[data-result=tasks]")).to_contain_text("freeship")


def test_leaving_unsaved_rules_asks_first(page, demo):
    sign_in(page, demo, "/console/rulesets/new?slice=1&app=retail&class=order", ready="ruleset")
    page.get_by_role("button", name="Add a condition to rule 0").click()    # an edit
    expect(page.locator(".status")).to_contain_text("unsaved changes")
    page.locator("#nav").get_by_role("link", name="Slices").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Leave without saving?")
    dialog.get_by_role("button", name="Cancel").click()
    assert page.url.endswith("class=order")
    page.locator("#nav").get_by_role("link", name="Slices").click()
    page.get_by_role("dialog").get_by_role("button", name="Leave").click()
    wait_ready(page, "slices")


def test_a_call_to_a_ruleset_the_page_does_not_know_is_drawn_as_text(page, demo):
    # pasted rules may name a ruleset that is not (or no longer) there: the row shows the call as
    # plain text (no link), and the page goes on (the page fixture fails on any script error)
    sign_in(page, demo, "/console/rulesets/new?slice=1&app=retail&class=order", ready="ruleset")
    paste_rules(page, [{"rulepattern": [{"attr": "amount", "op": "gt", "val": 10}],
                        "ruleactions": {"tasks": [], "properties": {}, "thencall": "nosuch"}}])
    call = page.locator(".rules .chip.call")
    expect(call).to_have_count(1)
    expect(call).to_contain_text("nosuch")
    expect(page.locator(".rules a.chip.call")).to_have_count(0)
