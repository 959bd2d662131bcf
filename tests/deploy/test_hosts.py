"""Three web hosts on one database (through PgBouncer): caches stay coherent across hosts, and the
concurrency rules of the instance calls hold across hosts as within one (SPEC §5, §11)."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.rules_data import ORDER, key, order_rules, rule
from tests.wf_support import APP, WIDE, entity, ids_of, setup_flows


def race(realm, calls):
    """Make the calls [(http, name, payload)] at the same moment, one thread each -> [(status, body)]."""
    gate = threading.Barrier(len(calls))

    def one(call):
        http, name, payload = call
        gate.wait()
        return http.call(name, payload, realm.token)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


@pytest.fixture
def flows(rig):
    """A realm with tests.wf_support's workflows, and a client of each web host."""
    realm = rig.new_realm()
    setup_flows(realm)
    return realm, [rig.host(h) for h in rig.web_hosts]


def test_a_ruleset_changed_through_one_host_is_evaluated_on_the_others_within_a_second(rig):
    realm = rig.new_realm()
    order_rules(realm)
    hosts = {h: rig.host(h) for h in rig.web_hosts}
    payload = {"slice": 1, "app": "retail", "ruleset": "main", "entity": ORDER}

    def discounts(host: str, tries: int = 8) -> set:
        # fresh connections, so that each of the host's gunicorn workers (each with its own
        # cache) answers some of them
        answers = set()
        for _ in range(tries):
            status, body = hosts[host].call("breapplyrules", payload, realm.token, fresh=True)
            answers.add(body["data"]["properties"].get("discount") if status == 200 else status)
        return answers

    # every worker of every host has the rules compiled in its cache
    assert all(discounts(h) == {"15"} for h in hosts)

    web1 = hosts["web1"]
    for name in ("main", "loyalty"):
        realm.ok("brerulesetdeactivate", key(name=name), via=web1)
    realm.ok("brerulesetupdate", key(name="loyalty", ruleset=[rule([("member", "eq", True)], [], {"discount": "30"})]),
             via=web1)
    realm.ok("brerulesetactivate", key(name="main"), via=web1)
    changed = time.monotonic()
    pending = {"web2", "web3"}
    while pending and time.monotonic() - changed < 1.0:
        pending = {h for h in pending if discounts(h, 4) != {"30"}}
    elapsed = time.monotonic() - changed
    assert not pending, f"{pending} still evaluate the old ruleset {elapsed:.2f} s after the change"
    assert all(discounts(h) == {"30"} for h in hosts)


def test_fifty_identical_starts_spread_over_the_hosts_exactly_one_wins(rig, flows):
    realm, hosts = flows
    for attempt in range(2):
        entityid = f"race-{attempt}"
        payload = {"slice": 1, "app": APP, "workflow": "wide", "entityid": entityid, "entity": entity()}
        results = race(realm, [(hosts[i % len(hosts)], "wfinstancenew", payload) for i in range(50)])
        wins = [body for status, body in results if status == 200]
        losses = [body["messages"][0]["errcode"] for status, body in results if status != 200]
        assert len(wins) == 1 and losses == ["already_exist"] * 49, results
        stored = rig.sql("SELECT id FROM wfinstance WHERE realm = %s AND entityid = %s", (realm.name, entityid))
        assert sorted(r[0] for r in stored) == sorted(ids_of(wins[0]["data"]).values())


def test_siblings_reported_on_different_hosts_exactly_one_joins(rig, flows):
    realm, hosts = flows
    for attempt in range(3):
        entityid = f"join-{attempt}"
        ids = ids_of(realm.ok("wfinstancenew", {"slice": 1, "app": APP, "workflow": "wide",
                                                "entityid": entityid, "entity": entity()}))
        assert list(ids) == WIDE
        results = race(realm, [(hosts[i % len(hosts)], "wfinstancemarkdone",
                                {"id": ids[step], "step": step, "entity": entity()}) for i, step in enumerate(WIDE)])
        assert all(status == 200 for status, _ in results), results
        joins = [body["data"] for _, body in results if "tasks" in body["data"]]
        assert len(joins) == 1 and joins[0]["nextstep"] == "j2" and list(ids_of(joins[0])) == ["q1", "q2"], results
        open_rows = rig.sql("SELECT step FROM wfinstance WHERE realm = %s AND entityid = %s ORDER BY id",
                            (realm.name, entityid))
        assert [r[0] for r in open_rows] == ["q1", "q2"]
