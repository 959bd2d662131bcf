"""Engines as processes (SPEC §8.3, §8.5): several `crux engine` processes against one database
handle each expiry exactly once, an expiry racing a report is serialised with it, an engine
killed with SIGKILL is marked dead after three beats while the others go on, a clean stop is
`stopped`, and `crux serve` starts an engine unless told not to. Beats are one second here."""
from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from tests.engine_processes import Engines
from tests.http_server import Server
from tests.wf_support import APP, attempts, entity, flows, ids_of, invariants, poll, row, rows, set_steps, start  # noqa: F401


@pytest.fixture
def engines(database_url, tmp_path):
    group = Engines(database_url, tmp_path)
    yield group
    group.close()


def _engines(realm) -> dict[str, dict]:
    """Engines by name (the newest of each name)."""
    out: dict[str, dict] = {}
    for e in realm.ok("wfenginelist", {})["engines"]:     # newest first
        out.setdefault(e["name"], e)
    return out


def _running(realm, *names: str) -> None:
    poll(lambda: all(_engines(realm).get(n, {}).get("status") == "active" for n in names), timeout=30)


def _start_many(realm, n: int, workflow: str = "seq", prefix: str = "e") -> list[int]:
    return [ids_of(start(realm, workflow, f"{prefix}{i}"))["a"] for i in range(n)]


def _due_together(realm, conn, seconds: int = 1) -> None:
    """Every open deadline of the realm at one and the same moment, `seconds` from now."""
    conn.execute("UPDATE wfinstance SET dueat = now() + %s * interval '1 second' "
                 "WHERE realm = %s AND dueat IS NOT NULL", (seconds, realm.name))


def _history_counts(conn, realm) -> dict[int, int]:
    return {r["wfid"]: r["n"] for r in conn.execute(
        "SELECT wfid, count(*) AS n FROM wfhistory WHERE realm = %s GROUP BY wfid", (realm.name,))}


def test_three_engines_handle_each_of_300_expiries_exactly_once(flows, engines, conn):
    engines.start("e1", "e2", "e3")
    _running(flows, "e1", "e2", "e3")
    set_steps(flows, "seq", {"a": {"timeout": 60, "attempts": 2}})
    ids = _start_many(flows, 300)
    _due_together(flows, conn)
    # the first expiry of each: a new attempt on the same row
    poll(lambda: all(r["attempt"] == 2 for r in rows(flows)), timeout=60)
    assert _history_counts(conn, flows) == dict.fromkeys(ids, 2)
    _due_together(flows, conn)
    # the second: the step fails into its remedial step
    poll(lambda: all(r["step"] == "fix" for r in rows(flows)), timeout=60)
    assert _history_counts(conn, flows) == dict.fromkeys(ids, 3)
    for i in ids[:5]:
        assert attempts(flows, id=i) == [("a", 1, "timedout"), ("a", 2, "timedout"), ("fix", 1, None)]
    invariants(flows)
    # every engine adds what it handled at its next beat
    poll(lambda: conn.execute("SELECT sum(retried) AS r, sum(failed) AS f FROM wfengine "
                              "WHERE name IN ('e1', 'e2', 'e3')").fetchone() == {"r": 300, "f": 300})


def test_an_expiry_racing_a_report_on_the_same_row(flows, engines, conn):
    engines.start("e1", "e2", "e3")
    _running(flows, "e1", "e2", "e3")
    set_steps(flows, "seq", {"a": {"timeout": 60, "attempts": 2}})
    ids = _start_many(flows, 40)
    _due_together(flows, conn, 2)
    due_at = dt.datetime.fromisoformat(min(r["dueat"] for r in rows(flows)).replace("Z", "+00:00")).timestamp()
    token = flows.token()
    results: dict[int, int] = {}

    def report(i: int, row_id: int) -> None:
        client = flows.app.test_client()
        # spread the reports over the second around the deadline (engines sweep every quarter second)
        delay = due_at - time.time() + (i - 20) * 0.025
        time.sleep(max(delay, 0))
        resp = client.post("/api/v1/wfinstancemarkdone", json={"data": {
            "id": row_id, "step": "a", "entity": entity(), "attempt": 1}}, headers={"Authorization": f"Bearer {token}"})
        results[row_id] = resp.status_code

    threads = [threading.Thread(target=report, args=(i, row_id)) for i, row_id in enumerate(ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    poll(lambda: all(r["step"] == "b" or r["attempt"] == 2 for r in rows(flows)), timeout=30)
    for row_id in ids:
        history = attempts(flows, id=row_id)
        if results[row_id] == 200:           # the report won: no expiry of that attempt
            assert history == [("a", 1, "done"), ("b", 1, None)], history
        else:                                # the expiry won: the report was refused, nothing written
            assert results[row_id] == 400 and history == [("a", 1, "timedout"), ("a", 2, None)], history
    invariants(flows)


def test_a_killed_engine_is_marked_dead_and_the_others_go_on(flows, engines, conn):
    engines.start("k1", "k2", "k3")
    _running(flows, "k1", "k2", "k3")
    engines.kill("k2")
    set_steps(flows, "seq", {"a": {"timeout": 1, "attempts": 2}})
    ids = _start_many(flows, 20)
    poll(lambda: all(r["attempt"] == 2 for r in rows(flows)), timeout=30)
    assert _history_counts(conn, flows) == dict.fromkeys(ids, 2)
    # dead once three beats passed without one; the others still beat
    listed = poll(lambda: (e := _engines(flows))["k2"]["status"] == "dead" and e, timeout=30)
    assert listed["k1"]["status"] == listed["k3"]["status"] == "active"
    # marked in the table by the engines still running, at their next beat
    poll(lambda: conn.execute("SELECT status FROM wfengine WHERE name = 'k2' ORDER BY id DESC LIMIT 1").fetchone()[
        "status"] == "dead", timeout=10)
    assert engines.stop("k1") == 0
    assert _engines(flows)["k1"]["status"] == "stopped"
    assert {"name", "host", "pid", "version", "startedat", "lastbeat", "status", "id"} == set(listed["k1"])


def test_serve_starts_an_engine_unless_told_not_to(flows, database_url, tmp_path):
    before = {e["id"] for e in flows.ok("wfenginelist", {})["engines"]}
    server = Server(database_url, tmp_path, engine=True, env={"CRUX_ENGINE_BEAT": "1"})
    try:
        poll(lambda: server.ready(), timeout=60)
        new = poll(lambda: [e for e in flows.ok("wfenginelist", {})["engines"]
                            if e["id"] not in before and e["status"] == "active"], timeout=30)
        assert len(new) == 1
        set_steps(flows, "seq", {"a": {"timeout": 1}})
        row_id = ids_of(start(flows, "seq", "s1"))["a"]
        poll(lambda: row(flows, row_id)["step"] == "fix", timeout=30)       # its engine handled the expiry
    finally:
        server.stop()
    assert poll(lambda: {e["id"]: e["status"] for e in flows.ok("wfenginelist", {})["engines"]}[new[0]["id"]]
                == "stopped", timeout=30)
    before = {e["id"] for e in flows.ok("wfenginelist", {})["engines"]}
    quiet = Server(database_url, tmp_path, engine=False)
    try:
        poll(lambda: quiet.ready(), timeout=60)
        time.sleep(1)
        assert [e for e in flows.ok("wfenginelist", {})["engines"] if e["id"] not in before] == []
    finally:
        quiet.stop()


def test_metrics_count_engines_overdue_steps_incidents_and_expiries(flows, engines, conn):
    set_steps(flows, "par", {"p2": {"timeout": 1}})
    ids = ids_of(start(flows, "par", "m1"))
    conn.execute("UPDATE wfinstance SET dueat = now() - interval '1 second' WHERE id = %s", (ids["p2"],))
    text = flows.client.get("/metrics").get_data(as_text=True)
    assert _metric(text, "crux_steps_overdue") >= 1
    engines.start("m1")
    poll(lambda: row(flows, ids["p2"])["incident"], timeout=30)
    text = poll(lambda: (t := flows.client.get("/metrics").get_data(as_text=True))
                and _metric(t, 'crux_expiries_total{outcome="incident"}') >= 1 and t, timeout=30)
    assert _metric(text, "crux_engines_active") >= 1 and _metric(text, "crux_incidents") >= 1


def _metric(text: str, name: str) -> float:
    """The value of sample `name` (with its labels, as the text shows them)."""
    for line in text.splitlines():
        if line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")
