"""Instance calls under concurrency, with real threads against the real database (SPEC §5):
one winner among identical starts, one join among siblings, and no trace of a failed call."""
from __future__ import annotations

import pytest

from tests.wf_support import APP, WIDE, entity, flows, history, ids_of, race, rows, start  # noqa: F401 (flows)

THREADS = 6


@pytest.mark.parametrize("workflow", ["seq", "wide"])
def test_identical_starts_exactly_one_wins(flows, workflow):
    for attempt in range(3):
        entityid = f"{workflow}-{attempt}"
        payload = {"slice": 1, "app": APP, "workflow": workflow, "entityid": entityid, "entity": entity()}
        results = race(flows, [("wfinstancenew", payload)] * THREADS)
        wins = [body for status, body in results if status == 200]
        losses = [body["messages"][0]["errcode"] for status, body in results if status != 200]
        assert len(wins) == 1 and losses == ["already_exist"] * (THREADS - 1), results
        stored = rows(flows, entityid=entityid)
        assert sorted(r["id"] for r in stored) == sorted(ids_of(wins[0]["data"]).values())
        assert len(history(flows, entityid=entityid)) == len(stored)


def test_siblings_reported_together_exactly_one_joins(flows):
    for attempt in range(3):
        entityid = f"e{attempt}"
        ids = ids_of(start(flows, "wide", entityid))
        assert list(ids) == WIDE
        results = race(flows, [("wfinstancemarkdone", {"id": ids[s], "step": s, "entity": entity()}) for s in WIDE])
        assert all(status == 200 for status, _ in results), results
        joins = [body["data"] for _, body in results if "tasks" in body["data"]]
        waits = [body["data"] for _, body in results if "doneat" in body["data"]]
        assert len(joins) == 1 and len(waits) == len(WIDE) - 1, results
        assert joins[0]["nextstep"] == "j2" and list(ids_of(joins[0])) == ["q1", "q2"]
        assert [r["step"] for r in rows(flows, entityid=entityid)] == ["q1", "q2"]
        assert [h[2] for h in history(flows, entityid=entityid)] == ["done"] * len(WIDE) + [None, None]


def test_concurrent_runs_of_different_entities_do_not_interfere(flows):
    entityids = [f"k{i}" for i in range(THREADS)]
    started = race(flows, [("wfinstancenew", {"slice": 1, "app": APP, "workflow": "seq", "entityid": e,
                                              "entity": entity()}) for e in entityids])
    row_ids = [ids_of(body["data"])["a"] for _, body in started]
    moved = race(flows, [("wfinstancemarkdone", {"id": i, "step": "a", "entity": entity()}) for i in row_ids])
    assert [body["data"]["tasks"] for _, body in moved] == [[{"b": i}] for i in row_ids]


def test_abort_racing_markdone_leaves_nothing_of_the_instance(flows):
    for attempt in range(3):
        entityid = f"a{attempt}"
        ids = ids_of(start(flows, "wide", entityid))
        for s in WIDE[:-1]:
            flows.ok("wfinstancemarkdone", {"id": ids[s], "step": s, "entity": entity()})
        last = {"id": ids[WIDE[-1]], "step": WIDE[-1], "entity": entity()}
        (joined, _), (aborted, _) = race(flows, [("wfinstancemarkdone", last),
                                                 ("wfinstanceabort", {"entityid": entityid})])
        assert aborted == 200 and joined in (200, 404)
        assert rows(flows, entityid=entityid) == []
        assert all(h[2] is not None for h in history(flows, entityid=entityid))


def test_parent_step_racing_its_sub_workflow_leaves_no_orphans(flows):
    """The parent step reported while its sub-workflow reports its own step and an abort of the
    sub-workflow arrives: no call fails on the database (no deadlock), and nothing is left open
    under the parent's row."""
    for attempt in range(4):
        entityid = f"n{attempt}"
        sign_id = ids_of(start(flows, "main", entityid))["sign"]
        send_id = ids_of(start(flows, "signing", entityid, parent=sign_id))["send"]
        if attempt % 2:
            flows.crux.instances.forget()
        parent, child, abort = race(flows, [
            ("wfinstancemarkdone", {"id": sign_id, "step": "sign", "entity": entity()}),
            ("wfinstancemarkdone", {"id": send_id, "step": "send", "entity": entity()}),
            ("wfinstanceabort", {"id": send_id})])
        assert parent[0] == 200, parent
        assert child[0] in (200, 404) and abort[0] in (200, 404), (child, abort)
        assert rows(flows, parent=sign_id) == []
        assert [(r["id"], r["step"]) for r in rows(flows, entityid=entityid)] == [(sign_id, "b")]
        assert history(flows, id=send_id)[0][2] in ("done", "aborted")


@pytest.fixture
def failing_history(conn, realm):
    """Make every insert of a history row of this realm fail (after the instance rows were written)."""
    fn = f"fail_{realm.name}"
    conn.execute(f"""CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN IF NEW.realm = '{realm.name}' AND NEW.step = 'b' THEN
                         RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$""")
    conn.execute(f"CREATE TRIGGER {fn} BEFORE INSERT ON wfhistory FOR EACH ROW EXECUTE FUNCTION {fn}()")
    yield
    conn.execute(f"DROP TRIGGER {fn} ON wfhistory")
    conn.execute(f"DROP FUNCTION {fn}()")


def test_a_call_failing_half_way_leaves_no_trace(flows, failing_history, conn):
    row_id = ids_of(start(flows, "seq", "e1"))["a"]
    before_rows, before_history = rows(flows, entityid="e1"), history(flows, entityid="e1")
    resp = flows.call("wfinstancemarkdone", {"id": row_id, "step": "a", "entity": entity()})
    assert resp.status_code == 500 and resp.get_json()["status"] == "error"
    assert rows(flows, entityid="e1") == before_rows
    assert history(flows, entityid="e1") == before_history == [(row_id, "a", None)]
    # the connection went back to the pool clean: the next call works
    assert flows.ok("wfinstancemarkdone", {"id": row_id, "step": "a", "entity": entity(), "stepfailed": True})
