"""The short way of wfinstancemarkdone (a row alone in its instance, moving to one next step)
gives what the locked way gives, and stays right under races and with stale knowledge."""
from __future__ import annotations

import pytest

from tests.conftest import error_of
from tests.wf_support import done, entity, flows, history, ids_of, race, rows, start  # noqa: F401 (flows)


def _run_seq(realm, entityid: str, cold: bool) -> list:
    """seq with a failure on the way; `cold`: this process knows nothing of the rows at each call."""
    instances = realm.crux.instances
    out = []
    row_id = ids_of(start(realm, "seq", entityid))["a"]
    for step, failed in (("a", True), ("fix", False), ("a", False), ("b", False)):
        if cold:
            instances.forget()
        result = done(realm, row_id, step, stepfailed=failed)
        out.append({k: v for k, v in result.items() if k != "loggedat"})
    return [row_id, out]


def test_short_and_locked_ways_agree(flows):
    warm_id, warm = _run_seq(flows, "warm", cold=False)
    cold_id, cold = _run_seq(flows, "cold", cold=True)
    relabel = {cold_id: warm_id}
    assert [{k: ([{t: relabel.get(i, i) for t, i in d.items()} for d in v] if k == "tasks" else v)
             for k, v in r.items()} for r in cold] == warm
    assert [h[1:] for h in history(flows, entityid="warm")] == [h[1:] for h in history(flows, entityid="cold")]


def test_retried_report_of_a_lone_row_moves_it_once(flows):
    for attempt in range(3):
        row_id = ids_of(start(flows, "seq", f"r{attempt}"))["a"]
        results = race(flows, [("wfinstancemarkdone", {"id": row_id, "step": "a", "entity": entity()})] * 6)
        assert sorted(status for status, _ in results) == [200] + [400] * 5, results
        assert {body["messages"][0]["errcode"] for status, body in results if status == 400} == {"step_not_found"}
        assert [r["step"] for r in rows(flows, entityid=f"r{attempt}")] == ["b"]
        assert [h[1:] for h in history(flows, entityid=f"r{attempt}")] == [("a", "done"), ("b", None)]


def test_a_row_aborted_elsewhere_is_not_found(flows):
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    flows.ok("wfinstanceabort", {"id": row_id})
    resp = flows.call("wfinstancemarkdone", {"id": row_id, "step": "a", "entity": entity()})
    assert resp.status_code == 404 and error_of(resp)["field"] == "id"


def test_a_lone_row_ending_the_instance(flows, monkeypatch):
    service = flows.crux.instances
    evaluated = []
    real = service._evaluate
    monkeypatch.setattr(service, "_evaluate", lambda *a, **kw: evaluated.append(a[3]) or real(*a, **kw))
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    assert done(flows, row_id, "a")["tasks"] == [{"b": row_id}]
    # the short way evaluates, sees the end and gives up; the locked way uses that evaluation
    assert done(flows, row_id, "b") == {"done": True}
    assert evaluated == ["START", "a", "b"]
    resp = flows.call("wfinstancemarkdone", {"id": row_id, "step": "b", "entity": entity()})
    assert resp.status_code == 404


def test_errors_on_the_short_way_are_those_of_the_locked_way(flows):
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    # a wrong step and a bad entity: the step is reported first, as the locked way checks it first
    resp = flows.call("wfinstancemarkdone", {"id": row_id, "step": "b", "entity": {"amount": "x"}})
    assert error_of(resp)["errcode"] == "step_not_found"
    resp = flows.call("wfinstancemarkdone", {"id": row_id, "step": "a", "entity": {"amount": "x"}})
    assert (error_of(resp)["errcode"], error_of(resp)["field"]) == ("invalid", "entity.amount")
    assert rows(flows, entityid="e1")[0]["step"] == "a"


@pytest.fixture
def traced_service(realm, settings, database_url, tmp_path):
    """An InstanceService on a pool of one connection whose protocol messages are recorded."""
    import dataclasses

    from psycopg import pq

    from crux.services.principal import Identity
    from crux.services.workflow import InstanceService
    from crux.store.db import Database
    db = Database(dataclasses.replace(settings, pool_min=1, pool_max=1), database_url)
    db.pool.open(wait=True)
    service = InstanceService(db, realm.crux.rules)
    path = tmp_path / "protocol.trace"

    class Recorder:
        ident = Identity(realm.name, "admin", ())

        def messages(self, call):
            """Run call(); return the names of the messages the client sent meanwhile."""
            with open(path, "w") as f:
                with db.pool.connection() as conn:     # the pool's one connection, traced
                    conn.pgconn.trace(f.fileno())
                    conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
                try:
                    self.result = call()
                finally:
                    with db.pool.connection() as conn:
                        conn.pgconn.untrace()
            return [line.split("\t")[2].split()[0] for line in path.read_text().splitlines()
                    if line.startswith("F\t")]

    yield service, Recorder()
    db.close()


def _statements(messages):
    """(statements executed, round trips): a round trip ends at a Sync, or at a Flush not sent
    right after one (the client waits for what it sent so far)."""
    trips = sum(1 for i, m in enumerate(messages)
                if m == "Sync" or (m == "Flush" and (i == 0 or messages[i - 1] != "Sync")))
    return messages.count("Execute"), trips


def test_round_trips_and_statements(flows, traced_service):
    service, rec = traced_service
    payload = {"slice": 1, "app": "flows", "workflow": "seq", "entityid": "e1", "entity": entity()}
    # wfinstancenew: BEGIN, the lock, the check-and-insert, COMMIT, sent at once
    assert _statements(rec.messages(lambda: service.new(rec.ident, payload))) == (4, 1)
    row_id = ids_of(rec.result)["a"]
    # the short way: one statement, one round trip
    mark = {"id": row_id, "step": "a", "entity": entity()}
    assert _statements(rec.messages(lambda: service.mark_done(rec.ident, mark))) == (1, 1)
    assert rec.result["tasks"] == [{"b": row_id}]
    # the locked way (a process that did not hand the row out): BEGIN, lock, read; write, COMMIT
    service.forget()
    messages = rec.messages(lambda: service.mark_done(rec.ident, {**mark, "step": "b"}))
    assert rec.result == {"done": True}
    assert _statements(messages) == (5, 2)
