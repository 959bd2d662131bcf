"""PgBouncer in transaction mode between the web hosts and PostgreSQL (deploy/pgbouncer): whole
workflow and admin scenarios pass through it; the cache listeners bypass it; and why Crux needs
CRUX_DB_PREPARE=off and CRUX_LISTEN_DATABASE_URL there (SPEC §11)."""
from __future__ import annotations

import psycopg
import pytest

from tests.rules_data import ORDER, key, order_rules
from tests.wf_support import APP, entity, ids_of, setup_flows


def transactions(rig) -> int:
    """Transactions PgBouncer on the primary's host has passed to its `crux` database so far."""
    [stats] = [row for row in rig.bouncer(rig.status["primary"], "SHOW STATS") if row["database"] == "crux"]
    return int(stats["total_xact_count"])


def test_the_pool_runs_in_transaction_mode_and_calls_go_through_it(rig):
    pools = {row["database"]: row for row in rig.bouncer(rig.status["primary"], "SHOW POOLS")}
    assert pools["crux"]["pool_mode"] == "transaction"
    realm = rig.new_realm()
    order_rules(realm)
    payload = {"slice": 1, "app": "retail", "ruleset": "main", "entity": ORDER}
    for host in rig.web_hosts:
        http = rig.host(host)
        for _ in range(10):  # fresh connections: most workers serve one and start their listener
            assert http.call("breapplyrules", payload, realm.token, fresh=True)[0] == 200
    # Sessions of the crux role: a web host connects straight to PostgreSQL only for the cache
    # listener of each of its gunicorn workers (an engine host for its engine's); every other
    # session is one of PgBouncer's, from its own host.
    rows = rig.sql("SELECT host(client_addr), query FROM pg_stat_activity WHERE usename = 'crux' "
                   "AND pid <> pg_backend_pid()")
    web_addrs = {rig.status["hosts"][h]["addr"] for h in rig.web_hosts}
    engine_addrs = {s["addr"] for h, s in rig.status["hosts"].items() if h.startswith("eng")}
    for host in rig.web_hosts:
        listeners = [q for addr, q in rows if addr == rig.status["hosts"][host]["addr"]]
        assert 1 <= len(listeners) <= rig.status["workers"], rows
    direct = [(addr, q) for addr, q in rows if addr != "127.0.0.1"]
    assert {addr for addr, _ in direct} <= web_addrs | engine_addrs, rows
    assert {q for _, q in direct} <= {"LISTEN crux_cache", "SELECT 1"}, rows
    assert "127.0.0.1" in {addr for addr, _ in rows}, rows
    clients = rig.bouncer(rig.status["primary"], "SHOW CLIENTS")
    assert {c["addr"] for c in clients if c["database"] == "crux"} >= web_addrs


def test_a_whole_workflow_scenario_through_pgbouncer(rig):
    realm = rig.new_realm()
    before = transactions(rig)
    setup_flows(realm)
    # a concurrent set, its join, the next set, the last step
    started = realm.ok("wfinstancenew", {"slice": 1, "app": APP, "workflow": "par", "entityid": "e1",
                                         "entity": entity()})
    ids = ids_of(started)
    assert list(ids) == ["p1", "p2", "p3"] and started["nextstep"] == "j1"
    assert "doneat" in realm.ok("wfinstancemarkdone", {"id": ids["p1"], "step": "p1", "entity": entity()})
    assert "doneat" in realm.ok("wfinstancemarkdone", {"id": ids["p2"], "step": "p2", "entity": entity()})
    joined = realm.ok("wfinstancemarkdone", {"id": ids["p3"], "step": "p3", "entity": entity()})
    assert joined["nextstep"] == "j2" and list(ids_of(joined)) == ["q1", "q2"]
    q = ids_of(joined)
    realm.ok("wfinstancemarkdone", {"id": q["q1"], "step": "q1", "entity": entity()})
    z = ids_of(realm.ok("wfinstancemarkdone", {"id": q["q2"], "step": "q2", "entity": entity()}))["z"]
    assert realm.ok("wfinstancemarkdone", {"id": z, "step": "z", "entity": entity()})["done"] is True
    history = realm.ok("wfinstancehistory", {"entityid": "e1"})["history"]
    assert [(h["step"], h["outcome"]) for h in history] == [
        ("p1", "done"), ("p2", "done"), ("p3", "done"), ("q1", "done"), ("q2", "done"), ("z", "done")]
    # a sub-workflow under its parent step, then an abort
    sign = ids_of(realm.ok("wfinstancenew", {"slice": 1, "app": APP, "workflow": "main", "entityid": "e2",
                                             "entity": entity()}))["sign"]
    send = ids_of(realm.ok("wfinstancenew", {"slice": 1, "app": APP, "workflow": "signing", "entityid": "e2",
                                             "entity": entity(), "parent": sign}))["send"]
    sub_done = realm.ok("wfinstancemarkdone", {"id": send, "step": "send", "entity": entity()})
    assert sub_done == {"done": True, "parent": sign}
    assert list(ids_of(realm.ok("wfinstancemarkdone", {"id": sign, "step": "sign", "entity": entity()}))) == ["b"]
    assert [r["step"] for r in realm.ok("wfinstancelist", {"entityid": "e2"})["wfinstances"]] == ["b"]
    assert realm.ok("wfinstancetry", {"slice": 1, "app": APP, "workflow": "seq", "step": "a",
                                      "entity": entity()})["tasks"] == ["b"]
    assert realm.ok("wfinstanceabort", {"entityid": "e2"})["aborted"] == [sign]
    assert realm.ok("wfinstancelist", {"entityid": "e2"})["wfinstances"] == []
    # a failed call leaves the pooled server connection clean for the next transaction
    status, body = realm.call("wfinstancemarkdone", {"id": sign, "step": "sign", "entity": entity()})
    assert status == 404 and body["messages"][0]["field"] == "id"
    assert transactions(rig) - before >= 20


def test_an_admin_scenario_through_pgbouncer(rig):
    realm = rig.new_realm()
    before = transactions(rig)
    order_rules(realm)
    assert realm.ok("breapplyrules", {"slice": 1, "app": "retail", "ruleset": "main", "entity": ORDER}) == {
        "tasks": ["freeship"], "properties": {"discount": "15"}}
    copy_id = realm.ok("realmslicenew", {"copyof": 1, "descr": "copy"})
    assert realm.ok("brerulesetget", key(slice=copy_id, name="main"))["name"] == "main"
    realm.ok("realmsliceactivate", {"id": copy_id})
    realm.ok("realmslicedeactivate", {"id": copy_id})
    assert {s["id"] for s in realm.ok("realmslicelist", {})["slices"]} >= {1, copy_id}
    realm.ok("realmslicepurge", {"id": copy_id})
    realm.app_new("shop")
    realm.ok("appupdate", {"name": "shop", "descr": "Shops"})
    realm.ok("capgrant", {"user": "ann", "cap": ["report"]})
    realm.ok("capgrant", {"user": "ann", "app": ["retail"], "cap": ["schema", "ruleset"]})
    granted = realm.ok("capget", {"user": "ann"})["capabilities"]
    assert sorted(g["cap"] for g in granted) == ["report", "ruleset", "schema"]
    ann = rig.token(realm.name, "ann")
    status, _ = realm.http.call("applist", {}, ann)
    assert status == 200
    realm.ok("userdeactivate", {"user": "ann"})
    status, body = realm.http.call("applist", {}, ann)
    assert status == 403 and body["messages"][0]["errcode"] == "unauthorized"
    realm.ok("useractivate", {"user": "ann"})
    realm.ok("caprevoke", {"user": "ann", "app": ["ALL"], "cap": ["ALL"]})
    realm.ok("configset", {"slice": 1, "name": "max_discount", "val": "25", "descr": "percent"})
    assert [(c["name"], c["val"]) for c in realm.ok("configget", {"slice": 1})] == [("MAX_DISCOUNT", "25")]
    realm.ok("appdelete", {"name": "shop"})
    assert "shop" not in [a["name"] for a in realm.ok("applist", {})["apps"]]
    assert rig.sql("SELECT count(*) FROM changelog WHERE realm = %s", (realm.name,))[0][0] >= 15
    assert transactions(rig) - before >= 20


def _bouncer_url(rig) -> str:
    """The crux role's URL through the primary's PgBouncer."""
    return rig.status["database_url"]


def test_prepared_statements_break_behind_pgbouncer_which_is_why_crux_turns_them_off(rig):
    """What CRUX_DB_PREPARE=off avoids: a statement prepared on one server connection is used
    by a client whose next transaction runs on another (or prepared twice on the same one)."""
    failures = []
    with psycopg.connect(_bouncer_url(rig), autocommit=True, prepare_threshold=0) as one, \
            psycopg.connect(_bouncer_url(rig), autocommit=True, prepare_threshold=0) as two:
        for i in range(5):
            for conn in (one, two):
                try:
                    conn.execute("SELECT %s::int + 1", (i,)).fetchone()
                except (psycopg.errors.DuplicatePreparedStatement, psycopg.errors.InvalidSqlStatementName) as exc:
                    failures.append(type(exc).__name__)
    assert failures, "prepared statements worked through PgBouncer in transaction mode"
    # the same with Crux's setting: nothing goes wrong
    with psycopg.connect(_bouncer_url(rig), autocommit=True, prepare_threshold=None) as one, \
            psycopg.connect(_bouncer_url(rig), autocommit=True, prepare_threshold=None) as two:
        assert [conn.execute("SELECT %s::int + 1", (i,)).fetchone()[0]
                for i in range(5) for conn in (one, two)] == [i + 1 for i in range(5) for _ in (1, 2)]


@pytest.mark.parametrize("through", ["pgbouncer", "direct"])
def test_listen_through_pgbouncer_hears_nothing_which_is_why_the_listener_goes_direct(rig, through):
    url = _bouncer_url(rig) if through == "pgbouncer" else rig.status["direct_url"]
    with psycopg.connect(url, autocommit=True) as listener, \
            psycopg.connect(rig.status["direct_url"], autocommit=True) as sender:
        listener.execute("LISTEN crux_rig_test")
        sender.execute("NOTIFY crux_rig_test, 'hello'")
        heard = [n.payload for n in listener.notifies(timeout=1.0, stop_after=1)]
    assert heard == ([] if through == "pgbouncer" else ["hello"])
