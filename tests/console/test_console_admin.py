"""The console's admin pages in a real Chromium against `crux demo`: scheduling and purging a
slice, apps, config, and granting and revoking capabilities."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.console.harness import sign_in


def test_schedule_deactivate_and_purge_a_slice(page, demo):
    new = demo.ok("realmslicenew", {"copyof": 1, "descr": "to purge", "app": ["retail"]})
    demo.ok("realmsliceactivate", {"id": new})
    sign_in(page, demo, "/console/slices", ready="slices")
    row = page.locator(f"tr[data-slice='{new}']")
    row.get_by_role("button", name=f"Schedule a change of slice {new}").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Change").select_option("realmslicedeactivate")
    dialog.get_by_label("At (your local time)").fill("2099-01-01T09:30")
    dialog.get_by_role("button", name="Schedule").click()
    expect(row).to_contain_text("deactivates 2099-01-01 09:30")
    listed = next(s for s in demo.ok("realmslicelist", {})["slices"] if s["id"] == new)
    assert listed["active"] is True and listed["deactivateat"].startswith("2099-01-01")
    expect(row.get_by_role("button", name=f"Purge slice {new}")).to_be_disabled()

    row.get_by_role("button", name=f"Deactivate slice {new}").click()
    expect(row.locator(".badge")).to_have_text("inactive")
    expect(row).not_to_contain_text("deactivates")
    row.get_by_role("button", name=f"Purge slice {new}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_role("button", name="Purge slice").click()
    expect(page.locator(f"tr[data-slice='{new}']")).to_have_count(0)
    assert new not in {s["id"] for s in demo.ok("realmslicelist", {})["slices"]}


def test_apps_are_made_described_and_deleted(page, demo):
    sign_in(page, demo, "/console/apps", ready="apps")
    page.get_by_label("Name").fill("Billing")
    page.get_by_label("Description").fill("invoices")
    page.get_by_role("button", name="Create app").click()
    row = page.locator("tr", has=page.get_by_role("cell", name="Billing", exact=True))
    expect(row).to_contain_text("invoices")
    row.get_by_role("button", name="Describe app billing").click()
    page.get_by_role("dialog").get_by_label("Description").fill("invoices and credit notes")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(row).to_contain_text("invoices and credit notes")
    # refused while rules use it: the service's message is shown
    page.get_by_role("button", name="Delete app retail").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete app").click()
    expect(page.locator(".toast.error")).to_be_visible()
    assert "retail" in {a["name"] for a in demo.ok("applist", {})["apps"]}
    row.get_by_role("button", name="Delete app billing").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete app").click()
    expect(page.get_by_role("cell", name="Billing", exact=True)).to_have_count(0)
    assert "billing" not in {a["name"] for a in demo.ok("applist", {})["apps"]}


def test_config_values_are_set_and_edited(page, demo):
    sign_in(page, demo, "/console/config?slice=1", ready="config")
    form = page.locator("#configform")
    form.get_by_label("Name").fill("free_ship_from")
    form.get_by_label("Value").fill("50")
    form.get_by_label("Description").fill("order total")
    form.get_by_role("button", name="Set").click()
    row = page.locator("tr", has_text="FREE_SHIP_FROM")
    expect(row).to_contain_text("50")
    row.get_by_role("button", name="Edit FREE_SHIP_FROM of slice 1").click()
    expect(form.get_by_label("Value")).to_be_focused()
    form.get_by_label("Value").fill("75")
    form.get_by_role("button", name="Set").click()
    expect(page.locator("tr", has_text="FREE_SHIP_FROM")).to_contain_text("75")
    got = next(c for c in demo.ok("configget", {"slice": 1}) if c["name"] == "FREE_SHIP_FROM")
    assert got["val"] == "75" and got["ver"] == 2
    # a name the service refuses: its message at the field
    form.get_by_label("Name").fill("9lives")
    form.get_by_role("button", name="Set").click()
    mark = form.locator(".problem[data-field='name']")
    expect(mark).to_contain_text("identifier")
    expect(form.get_by_label("Name")).to_have_attribute("aria-invalid", "true")


def test_capabilities_are_granted_looked_up_and_revoked(page, demo):
    sign_in(page, demo, "/console/users", ready="users")
    grant = page.locator("form.grant")
    grant.get_by_label("User").fill("Bea")
    grant.get_by_label("Level").select_option("app")
    grant.get_by_label("ruleset").check()
    grant.get_by_label("retail").check()
    grant.get_by_role("button", name="Grant").click()
    expect(page.get_by_role("button", name="Revoke ruleset from bea on retail")).to_be_visible()
    assert any(g["user"] == "bea" and g["app"] == "retail" and g["cap"] == "ruleset"
               for g in demo.ok("capget", {"user": "bea"})["capabilities"])

    lookup = page.locator("form", has=page.get_by_role("button", name="Look up"))
    lookup.get_by_label("User").fill("bea")
    lookup.get_by_role("button", name="Look up").click()
    expect(page.locator("section", has_text="A user").locator("tbody tr")).to_have_count(1)

    page.get_by_role("button", name="Revoke ruleset from bea on retail").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("button", name="Revoke ruleset from bea on retail")).to_have_count(0)
    status, _ = demo.call("capget", {"user": "bea"})
    assert status == 404 or not demo.ok("capget", {"user": "bea"})["capabilities"]
