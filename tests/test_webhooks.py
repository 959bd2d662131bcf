"""Webhooks (SPEC §9.3): the calls, and delivery as engines run it (here the engine's delivery job
runs in the test process; tests/test_engine_webhooks.py runs real engine processes)."""
from __future__ import annotations

import threading
import time

import pytest

from crux.background.webhooks import WebhookDelivery, backoff, post
from tests.conftest import error_of
from tests.webhook_receiver import keys, receiver  # noqa: F401 (a fixture)


def delivery(realm) -> WebhookDelivery:
    crux = realm.crux
    return WebhookDelivery(crux.db, crux.events, [])


def run_until(job: WebhookDelivery, done, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "not delivered in time"
        if not job.run_once():
            time.sleep(0.05)



def test_events_arrive_in_order_signed_after_failures(realm, receiver):
    rec = receiver(fail_first=3, secret="s3cret")
    realm.ok("webhooknew", {"name": "audit", "url": rec.url, "secret": "s3cret"})
    for i in range(250):
        realm.ok("configset", {"slice": 1, "name": f"k{i}", "val": "x"})
    job = delivery(realm)
    began = time.monotonic()
    run_until(job, lambda: len(rec.events()) >= 251, timeout=30)
    elapsed = time.monotonic() - began
    events = rec.events()
    # the webhook's own creation committed after its start, so it is its first event
    assert keys(events) == ["audit"] + [f"K{i}" for i in range(250)]
    assert len({e["id"] for e in events}) == 251
    # three refusals of the first batch, then batches of at most 100, each signed
    assert len(rec.refused) == 3 and all(r["signed_ok"] for r in rec.deliveries + rec.refused)
    assert [len(d["body"]["events"]) for d in rec.deliveries] == [100, 100, 51]
    first_id = rec.refused[0]["headers"]["x-crux-delivery"]
    assert {r["headers"]["x-crux-delivery"] for r in rec.refused} == {first_id}           # a retried batch keeps its id
    assert rec.deliveries[0]["headers"]["x-crux-delivery"] == first_id
    assert len({d["headers"]["x-crux-delivery"] for d in rec.deliveries}) == 3
    assert all(d["headers"]["x-crux-webhook"] == "audit" and d["body"]["webhook"] == "audit" for d in rec.deliveries)
    assert elapsed >= backoff(1) + backoff(2) + backoff(3) - 0.5              # 1 + 2 + 4 seconds of backoff
    hook = realm.ok("webhooklist", {})["webhooks"][0]
    assert hook | {"createdat": None, "lastattempt": None} == {
        "name": "audit", "url": rec.url, "kinds": None, "app": None, "workflow": None, "createdat": None,
        "createdby": "admin", "pending": 0, "lastattempt": None, "lasterror": None, "failures": 0}
    assert "secret" not in hook


def test_failures_and_pending_are_shown(realm, receiver):
    rec = receiver(fail_first=100)
    realm.ok("webhooknew", {"name": "down", "url": rec.url, "kinds": ["changed"]})
    for i in range(3):
        realm.ok("configset", {"slice": 1, "name": f"k{i}", "val": "x"})
    job = delivery(realm)
    run_until(job, lambda: len(rec.refused) >= 1)
    hook = realm.ok("webhooklist", {})["webhooks"][0]
    # its own creation and the three changes
    assert (hook["pending"], hook["failures"], hook["lasterror"]) == (4, 1, "HTTP 500 Internal Server Error")


def test_only_what_it_asks_for_and_only_after_it_was_made(realm, receiver):
    rec = receiver()
    realm.ok("configset", {"slice": 1, "name": "before", "val": "x"})
    realm.ok("webhooknew", {"name": "apps", "url": rec.url, "kinds": ["changed"]})
    realm.ok("configset", {"slice": 1, "name": "after", "val": "x"})
    realm.ok("webhooknew", {"name": "flows", "url": rec.url, "app": "shop"})   # instance events of app shop only
    job = delivery(realm)
    run_until(job, lambda: len(rec.events()) >= 3)
    time.sleep(0.3)
    for _ in range(5):
        job.run_once()
    # the first webhook's: its creation, the config set after it, the second webhook's creation;
    # the second one wants instance events of app shop only: none
    assert keys(rec.events()) == ["apps", "AFTER", "flows"]


def test_a_deleted_webhook_stops(realm, receiver):
    rec = receiver()
    realm.ok("webhooknew", {"name": "gone", "url": rec.url})
    realm.ok("configset", {"slice": 1, "name": "one", "val": "x"})
    job = delivery(realm)
    run_until(job, lambda: len(rec.events()) >= 2)
    realm.ok("webhookdelete", {"name": "gone"})
    realm.ok("configset", {"slice": 1, "name": "two", "val": "x"})
    for _ in range(10):
        job.run_once()
    assert keys(rec.events()) == ["gone", "ONE"]
    assert realm.ok("webhooklist", {}) == {"webhooks": []}


def test_an_idle_webhook_is_passed_over_without_a_write(realm, receiver):
    rec = receiver()
    realm.ok("webhooknew", {"name": "steps", "url": rec.url, "kinds": ["stepdone"]})   # wants none of what follows
    realm.ok("webhooknew", {"name": "changes", "url": rec.url, "kinds": ["changed"]})
    job = delivery(realm)

    def row(name: str) -> dict:
        with realm.crux.db.connection() as conn:
            return conn.execute(
                """SELECT xmin::text AS version, nextattempt < now() - interval '0.5 seconds' AS waited
                   FROM webhook WHERE realm = %s AND name = %s""", (realm.name, name)).fetchone()

    def settle() -> None:
        """Run the job until nothing in the database is worth holding (three empty runs in a
        row), and until both webhooks have been due for a while."""
        quiet, deadline = 0, time.monotonic() + 15
        while quiet < 3 or not (row("steps")["waited"] and row("changes")["waited"]):
            assert time.monotonic() < deadline, "the job did not settle"
            quiet = 0 if job.run_once() else quiet + 1
            time.sleep(0.05)

    run_until(job, lambda: len(rec.events()) >= 1)            # "changes" gets its own creation
    settle()
    idle = {name: row(name)["version"] for name in ("steps", "changes")}
    settle()
    for _ in range(5):
        job.run_once()
    # due all along, looked at by every run, and not written: an idle webhook costs a read
    assert {name: row(name)["version"] for name in ("steps", "changes")} == idle
    realm.ok("configset", {"slice": 1, "name": "woken", "val": "x"})
    run_until(job, lambda: len(rec.events()) >= 2)
    assert keys(rec.events()) == ["changes", "WOKEN"]
    # "steps" was held again once an event committed, wanted none of it, and waits past it
    settle()
    assert row("steps")["version"] != idle["steps"]
    assert [h["pending"] for h in realm.ok("webhooklist", {})["webhooks"]] == [0, 0]


def test_two_engines_never_deliver_one_webhook_at_once(realm, receiver):
    rec = receiver(delay=0.15)
    realm.ok("webhooknew", {"name": "slow", "url": rec.url})
    for i in range(30):
        realm.ok("configset", {"slice": 1, "name": f"k{i}", "val": "x"})
    # small batches so that many deliveries are needed
    import crux.background.webhooks as module
    jobs = [delivery(realm) for _ in range(3)]
    stop = threading.Event()

    def engine(job):
        while not stop.is_set():
            if not job.run_once():
                time.sleep(0.01)

    old = module.BATCH
    module.BATCH = 3
    try:
        threads = [threading.Thread(target=engine, args=(j,)) for j in jobs]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(rec.events()) < 31 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join()
    finally:
        module.BATCH = old
    assert keys(rec.events()) == ["slow"] + [f"K{i}" for i in range(30)]
    assert rec.max_in_flight == 1


def test_update_changes_what_is_given(realm, receiver):
    rec = receiver()
    realm.ok("webhooknew", {"name": "hook", "url": rec.url, "kinds": ["changed"], "secret": "abc"})
    got = realm.ok("webhookupdate", {"name": "hook", "app": "shop"})
    assert (got["url"], got["kinds"], got["app"]) == (rec.url, ["changed"], "shop")
    got = realm.ok("webhookupdate", {"name": "hook", "kinds": None, "app": None}, method="put")
    assert (got["kinds"], got["app"]) == (None, None)


@pytest.mark.parametrize("payload,field,code", [
    ({"name": "h", "url": "ftp://example.com/x"}, "url", "invalid"),
    ({"name": "h", "url": "file:///etc/passwd"}, "url", "invalid"),
    ({"name": "h", "url": "http:///nohost"}, "url", "invalid"),
    ({"name": "h", "url": "http://x:99999/"}, "url", "invalid"),
    ({"name": "h", "url": "http://[::1"}, "url", "invalid"),
    ({"name": "h", "url": "http://[:::1]/"}, "url", "invalid"),
    ({"name": "h", "url": "http://ex ample.com/"}, "url", "invalid"),
    ({"name": "h", "url": "http://a/\r\nX-Injected: 1"}, "url", "invalid"),
    ({"name": "h", "url": "http://a..b/"}, "url", "invalid"),
    ({"name": "h", "url": "http://" + "a" * 64 + ".com/"}, "url", "invalid"),
    ({"name": "h"}, "url", "required"),
    ({"url": "http://127.0.0.1/"}, "name", "required"),
    ({"name": "Bad Name", "url": "http://127.0.0.1/"}, "name", "invalid"),
    ({"name": "h", "url": "http://127.0.0.1/", "kinds": ["nosuch"]}, "kinds[0]", "invalid"),
    ({"name": "h", "url": "http://127.0.0.1/", "kinds": []}, "kinds", "invalid"),
    ({"name": "h", "url": "http://127.0.0.1/", "secret": ""}, "secret", "empty"),
])
def test_bad_input(realm, payload, field, code):
    resp = realm.call("webhooknew", payload)
    assert resp.status_code == 400, resp.get_json()
    assert (error_of(resp)["field"], error_of(resp)["errcode"]) == (field, code)


def test_duplicates_and_missing(realm):
    realm.ok("webhooknew", {"name": "h", "url": "http://127.0.0.1:9/"})
    resp = realm.call("webhooknew", {"name": "h", "url": "http://127.0.0.1:9/"})
    assert resp.status_code == 400 and error_of(resp)["errcode"] == "already_exist"
    for call in ("webhookupdate", "webhookdelete"):
        resp = realm.call(call, {"name": "nosuch"})
        assert resp.status_code == 404 and error_of(resp)["field"] == "name"


def test_allow_list(realm, app):
    from crux.services.webhooks import allowed_targets
    webhooks = realm.crux.webhooks
    old = webhooks.allow
    webhooks.allow = allowed_targets("hooks.example.com, 10.0.0.0/8")
    try:
        resp = realm.call("webhooknew", {"name": "h", "url": "http://127.0.0.1:9/"})
        assert resp.status_code == 400
        assert (error_of(resp)["errcode"], error_of(resp)["field"]) == ("not_allowed", "url")
        realm.ok("webhooknew", {"name": "a", "url": "http://10.1.2.3:9/"})
        realm.ok("webhooknew", {"name": "b", "url": "https://hooks.example.com/x"})
    finally:
        webhooks.allow = old


def test_capabilities(realm):
    realm.grant("viewer", "report")
    realm.grant("ops", "config")
    assert realm.call("webhooknew", {"name": "h", "url": "http://127.0.0.1:9/"}, user="viewer").status_code == 403
    realm.ok("webhooknew", {"name": "h", "url": "http://127.0.0.1:9/"}, user="ops")
    assert realm.ok("webhooklist", {}, user="viewer")["webhooks"][0]["name"] == "h"
    assert realm.ok("webhooklist", {}, user="ops")["webhooks"][0]["name"] == "h"


def test_a_delivery_to_an_unusable_url_is_a_failure_not_a_crash():
    # stored before the checks above refused such URLs: delivery reports the error (kept as the
    # webhook's lasterror) instead of raising out of the engine's job
    for url in ("http://a..b/", "http://ex ample.com/"):
        error = post(url, b"{}", {}, timeout=1)
        assert error and ("Error" in error or "InvalidURL" in error), (url, error)
