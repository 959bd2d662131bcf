"""The ruleset cache (SPEC §3 Cache): compiled once, served from RAM, invalidated by every write."""
from __future__ import annotations

import json
import threading

import pytest

from crux.engine import normalize_rules
from crux.errors import CruxError
from crux.services.rulecache import RulesetCache
from crux.store.notify import CHANNEL, Listener
from tests.rules_data import (
    LOYALTY,
    MAIN,
    ORDER,
    apply,
    eventually,
    key,
    onboarding,
    order_rules,
    record_statements,
    rule,
    settle,
)


def _keys(cache, realm) -> set:
    return {k for k in cache._families if k[1] == realm.name}


def test_a_hit_touches_no_database(realm, db):
    order_rules(realm)
    settle(realm.crux)
    assert apply(realm).status_code == 200          # loads the family, the slice and the caller
    before = db.pool.get_stats().get("requests_num", 0)
    for _ in range(20):
        assert apply(realm).status_code == 200
    assert db.pool.get_stats().get("requests_num", 0) == before


def test_compiled_once_even_when_asked_at_once(realm):
    order_rules(realm)
    settle(realm.crux)
    cache = realm.crux.rules
    before = cache.loads
    families = []
    threads = [threading.Thread(target=lambda: families.append(cache.family(realm.name, 1, "retail", "order")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.loads == before + 1
    assert len({id(f) for f in families}) == 1
    assert cache.family(realm.name, 1, "retail", "nothing") is None
    assert ("f", realm.name, 1, "retail", "nothing") not in cache._families      # misses are not kept


def test_every_write_is_seen_by_the_next_call(realm):
    order_rules(realm)
    assert apply(realm).get_json()["data"]["properties"] == {"discount": "15"}
    cache = realm.crux.rules
    old = cache.family(realm.name, 1, "retail", "order")
    realm.ok("brerulesetdeactivate", key(name="main"))
    assert apply(realm).status_code == 400                      # main is inactive now
    realm.ok("brerulesetdeactivate", key(name="loyalty"))
    realm.ok("brerulesetupdate", key(name="loyalty", ruleset=[rule([("member", "eq", True)], [], {"discount": "20"})]))
    realm.ok("brerulesetactivate", key(name="main"))
    assert apply(realm).get_json()["data"]["properties"] == {"discount": "20"}
    new = cache.family(realm.name, 1, "retail", "order")
    # snapshots are replaced, never changed: a match running on the old one is not disturbed
    assert new is not old
    assert old.rulesets["loyalty"].rules[0]["ruleactions"]["properties"] == {"discount": "15"}
    assert old.match("main", old.convert_entity(ORDER)).properties == {"discount": "15"}


def test_stepworkflows_and_workflows(realm):
    onboarding(realm)
    cache = realm.crux.rules
    family, cls = cache.workflow(realm.name, 1, "bank", "onboard")
    assert cls == "customer" and "onboard" in family.rulesets and family.brwf == "W"
    assert dict(cache.stepworkflows(realm.name, 1, "bank")) == {}
    realm.ok("workflownew", key("bank", "customer", name="kycflow",
                                flowrules=[rule([("step", "eq", "START")], [], {"done": "true"})]))
    realm.ok("stepworkflownew", {"slice": 1, "app": "bank", "step": "kyc", "workflow": "kycflow"})
    assert dict(cache.stepworkflows(realm.name, 1, "bank")) == {"kyc": "kycflow"}
    assert cache.workflow(realm.name, 1, "bank", "kycflow")[1] == "customer"
    realm.ok("stepworkflowdelete", {"slice": 1, "app": "bank", "step": "kyc"})
    assert dict(cache.stepworkflows(realm.name, 1, "bank")) == {}
    for name in ("nothere", "main"):
        with pytest.raises(CruxError) as info:
            cache.workflow(realm.name, 1, "bank", name)
        assert info.value.messages[0]["field"] == "workflow" and info.value.status == 404
    with pytest.raises(CruxError) as info:
        cache.workflow(realm.name, 1, "nope", "onboard")
    assert info.value.messages[0]["field"] == "app"


def test_slice_writes_drop_the_slice(realm):
    order_rules(realm)
    assert apply(realm).status_code == 200
    realm.ok("realmslicedeactivate", {"id": 1})
    assert apply(realm).status_code == 400
    realm.ok("realmsliceactivate", {"id": 1})
    assert apply(realm).status_code == 200


def test_a_write_drops_only_its_app(realm, other_realm):
    order_rules(realm)
    order_rules(other_realm)
    settle(realm.crux)
    cache = realm.crux.rules
    cached = cache.family(realm.name, 1, "retail", "order")
    other = {"patternschema": [{"attr": "a", "valtype": "int"}], "actionschema": {"tasks": ["t"]}}
    other_realm.ok("brerulesetdeactivate", key(name="main"))               # another realm
    realm.app_new("shop")
    realm.ok("breschemanew", key(app="shop", cls="other", **other))         # another app
    realm.ok("realmslicenew", {})
    realm.ok("breschemanew", key(app="retail", cls="other", slice=2, **other))   # another slice
    settle(realm.crux)
    assert cache.family(realm.name, 1, "retail", "order") is cached
    realm.ok("breschemanew", key(app="retail", cls="other", **other))       # the same app: its classes are re-read
    assert cache.family(realm.name, 1, "retail", "order") is not cached


def test_a_load_racing_an_invalidation_is_not_kept(realm):
    cache = realm.crux.rules
    slot = ("f", realm.name, 1, "retail", "order")

    def load():
        cache.forget_app(realm.name, 1, "retail")        # a write commits while the load reads
        return "what the load read", True

    assert cache._get(cache._families, slot, load) == "what the load read"
    assert slot not in cache._families

    def load_elsewhere():
        cache.forget_app(realm.name, 1, "shop")            # another app, slice or realm: no matter
        cache.forget_slice(realm.name, 2)
        cache.forget_app("otherrealm", 1, "retail")
        return "kept despite writes elsewhere", True

    assert cache._get(cache._families, slot, load_elsewhere) == "kept despite writes elsewhere"
    assert cache._families[slot][1] == "kept despite writes elsewhere"
    cache.forget_slice(realm.name, 1)
    assert slot not in cache._families
    assert cache._get(cache._families, slot, lambda: ("kept", True)) == "kept"
    assert cache._families[slot][1] == "kept"
    cache.forget_app(realm.name, 1, "retail")


def test_nothing_is_kept_while_the_listener_is_away(realm, db):
    order_rules(realm)
    away = Listener("postgresql://127.0.0.1:1/nothing", retry_seconds=60)
    try:
        cache = RulesetCache(db, away, first_connect_wait=0)
        assert away.generation is None
        for _ in range(3):
            assert cache.family(realm.name, 1, "retail", "order").rulesets["main"].is_active
        assert cache.loads == 3 and not cache._families
        assert cache.slice_active(realm.name, 1) is True and not cache._slices
    finally:
        away.stop()


def test_a_new_process_waits_once_for_its_listener(realm, db, database_url):
    order_rules(realm)
    fresh = Listener(database_url)          # not started yet, as in a new gunicorn worker
    try:
        cache = RulesetCache(db, fresh)
        for _ in range(3):
            assert cache.family(realm.name, 1, "retail", "order") is not None
        assert cache.loads == 1 and fresh.generation is not None
    finally:
        fresh.stop()


def test_a_listener_reconnect_drops_everything(realm, conn):
    order_rules(realm)
    settle(realm.crux)
    crux = realm.crux
    assert apply(realm).status_code == 200
    assert _keys(crux.rules, realm)
    generation = crux.listener.generation
    conn.execute("SELECT pg_terminate_backend(%s)", (crux.listener._conn.info.backend_pid,))
    eventually(lambda: crux.listener.generation not in (None, generation))
    assert not _keys(crux.rules, realm)
    loads = crux.rules.loads
    assert apply(realm).status_code == 200
    assert crux.rules.loads == loads + 1 and _keys(crux.rules, realm)


def test_rules_used_by_the_cache_are_the_stored_ones(realm):
    order_rules(realm)
    family = realm.crux.rules.family(realm.name, 1, "retail", "order")
    answered = realm.ok("brerulesetget", key(name="main"))["ruleset"]   # in the answer's form: back to canonical
    assert family.rulesets["main"].rules == tuple(normalize_rules(answered))
    assert [r["rulepattern"] for r in family.rulesets["loyalty"].rules] == [r["rulepattern"] for r in LOYALTY]
    assert len(family.rulesets["main"].rules) == len(MAIN)


def test_a_load_is_one_round_trip(realm, monkeypatch):
    order_rules(realm)
    other = {"patternschema": [{"attr": "a", "valtype": "int"}], "actionschema": {"tasks": ["t"]}}
    realm.ok("breschemanew", key(cls="other", **other))
    realm.ok("brerulesetnew", key(cls="other", name="elsewhere", ruleset=[rule([("a", "eq", 1)], ["t"])]))
    realm.app_new("empty")
    settle(realm.crux)
    cache = realm.crux.rules
    cache.forget_app(realm.name, 1, "retail")
    sent = record_statements(monkeypatch)
    family = cache.family(realm.name, 1, "retail", "order")
    assert len(sent) == 1, sent
    assert set(family.rulesets) == {"loyalty", "main"}
    assert family.foreign_class("elsewhere") == "other" and family.foreign_class("main") is None
    sent.clear()
    index = cache.app_index(realm.name, 1, "retail")
    assert len(sent) == 1, sent
    assert dict(index.rulesets) == {"loyalty": ("order",), "main": ("order",), "elsewhere": ("other",)}
    for slice_id, app, field in ((9, "retail", "slice"), (9, "nope", "slice"), (1, "nope", "app")):
        sent.clear()
        with pytest.raises(CruxError) as info:
            cache.app_index(realm.name, slice_id, app)
        assert info.value.messages[0]["field"] == field and len(sent) == 1, (slice_id, app, sent)
    sent.clear()
    assert dict(cache.app_index(realm.name, 1, "empty").rulesets) == {} and len(sent) == 1
    assert ("a", realm.name, 1, "empty") not in cache._apps        # an app without rules is not kept


def test_stepworkflow_writes_send_the_rules_notice(realm, conn):
    onboarding(realm)
    realm.ok("workflownew", key("bank", "customer", name="kycflow",
                                flowrules=[rule([("step", "eq", "START")], [], {"done": "true"})]))
    conn.execute(f"LISTEN {CHANNEL}")
    realm.ok("stepworkflownew", {"slice": 1, "app": "bank", "step": "kyc", "workflow": "kycflow"})
    realm.ok("stepworkflowdelete", {"slice": 1, "app": "bank", "step": "kyc"})
    notices = [json.loads(n.payload) for n in conn.notifies(timeout=10, stop_after=2)]
    assert [(n["kind"], n["realm"], n["slice"], n["app"]) for n in notices] == [("rules", realm.name, 1, "bank")] * 2
