"""The event stream (SPEC §9.1–§9.2): events appended with the writes that make them, read once
each in commit order through opaque cursors, long polling, retention."""
from __future__ import annotations

import threading
import time

import psycopg
import pytest

from tests.conftest import error_of


def read_all(realm, after=None, limit=100, **filters) -> tuple[list[dict], str]:
    """Every event after `after`, page by page -> (events, the last next)."""
    events = []
    while True:
        payload = {"limit": limit, **filters}
        if after is not None:
            payload["after"] = after
        page = realm.ok("wfeventlist", payload)
        assert page["lost"] is False
        events.extend(page["events"])
        after = page["next"]
        if not page["events"]:
            return events, after


def changed(events) -> list[tuple]:
    return [(e["table"], e["key"], e["op"]) for e in events if e["kind"] == "changed"]


def test_admin_and_rule_writes_are_changed_events(realm, conn):
    start = realm.ok("wfeventlist", {})["next"]           # after the realm's creation
    realm.app_new("shop")
    realm.ok("appupdate", {"name": "shop", "descr": "Web shop"})
    realm.ok("configset", {"slice": 1, "name": "limit", "val": "5"})
    realm.grant("ann", "report")
    events, _ = read_all(realm, start)
    expected = [(r["entity"], r["key"], r["op"]) for r in conn.execute(
        "SELECT entity, key, op FROM changelog WHERE realm = %s AND entity <> 'realm' ORDER BY id", (realm.name,))]
    assert changed(events) == expected and len(expected) == 4
    e = events[0]
    assert e["kind"] == "changed" and e["realm"] == realm.name and isinstance(e["id"], int) and e["at"].endswith("Z")
    assert set(e) == {"id", "at", "kind", "realm", "slice", "app", "class", "workflow", "entityid", "wfid", "step",
                      "attempt", "parent", "worker", "error", "tasks", "table", "key", "op"}


def test_a_refused_write_leaves_no_event(realm):
    realm.app_new("shop")
    start = realm.ok("wfeventlist", {})["next"]
    assert realm.call("appnew", {"name": "shop", "descr": "again"}).status_code == 400
    assert realm.call("appdelete", {"name": "nosuch"}).status_code == 404
    assert read_all(realm, start)[0] == []


def test_pages_give_every_event_once(realm):
    start = realm.ok("wfeventlist", {})["next"]
    for i in range(23):
        realm.ok("configset", {"slice": 1, "name": f"k{i}", "val": str(i)})
    events, last = read_all(realm, start, limit=5)
    assert [e["key"].rsplit("/", 1)[1] for e in events] == [f"K{i}" for i in range(23)]
    assert len({e["id"] for e in events}) == 23
    # an empty page answers the cursor it was given
    assert realm.ok("wfeventlist", {"after": last}) == {"events": [], "next": last, "lost": False}


def test_a_late_commit_is_read_when_it_commits(realm, database_url):
    """A transaction that takes an event id and commits after later ones were committed and read
    is not skipped: a reader sees it once, when it commits (the case that loses events when a
    reader trusts ids)."""
    start = realm.ok("wfeventlist", {})["next"]
    with psycopg.connect(database_url) as held:        # a transaction left open
        held.execute("""INSERT INTO wfevent (realm, kind, "table", key, op)
                        VALUES (%s, 'changed', 'test', 'held', 'insert') RETURNING id""", (realm.name,))
        held_id = held.execute("SELECT max(id) FROM wfevent WHERE realm = %s", (realm.name,)).fetchone()[0]
        for i in range(3):
            realm.ok("configset", {"slice": 1, "name": f"later{i}", "val": "x"})
        first, cursor = read_all(realm, start)
        assert [e["key"].rsplit("/", 1)[1] for e in first] == ["LATER0", "LATER1", "LATER2"]
        assert all(e["id"] > held_id for e in first)
        held.commit()
    realm.ok("configset", {"slice": 1, "name": "last", "val": "x"})
    second, _ = read_all(realm, cursor)
    assert [e["key"].rsplit("/", 1)[-1] for e in second] == ["held", "LAST"]
    assert second[0]["id"] == held_id


def test_a_rolled_back_transaction_is_never_read(realm, database_url):
    start = realm.ok("wfeventlist", {})["next"]
    with psycopg.connect(database_url) as held:
        held.execute("""INSERT INTO wfevent (realm, kind, "table", key, op)
                        VALUES (%s, 'changed', 'test', 'gone', 'insert')""", (realm.name,))
        realm.ok("configset", {"slice": 1, "name": "kept", "val": "x"})
        _, cursor = read_all(realm, start)
        held.rollback()
    realm.ok("configset", {"slice": 1, "name": "after", "val": "x"})
    events, _ = read_all(realm, start)
    assert [e["key"].rsplit("/", 1)[-1] for e in events] == ["KEPT", "AFTER"]


def test_long_polling_answers_when_an_event_commits(realm):
    start = realm.ok("wfeventlist", {})["next"]
    answer: dict = {}

    def wait():
        answer["page"] = realm.ok("wfeventlist", {"after": start, "wait": 20})
        answer["at"] = time.monotonic()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    assert waiter.is_alive()                       # nothing yet: still waiting
    committed = time.monotonic()
    realm.ok("configset", {"slice": 1, "name": "wake", "val": "x"})
    waiter.join(10)
    assert not waiter.is_alive()
    assert [e["key"].rsplit("/", 1)[-1] for e in answer["page"]["events"]] == ["WAKE"]
    assert answer["at"] - committed < 1.0


def test_waiting_with_nothing_answers_the_cursor_given(realm):
    start = realm.ok("wfeventlist", {})["next"]
    began = time.monotonic()
    page = realm.ok("wfeventlist", {"after": start, "wait": 0.5})
    assert page == {"events": [], "next": start, "lost": False} and time.monotonic() - began >= 0.5


def test_filters(realm):
    start = realm.ok("wfeventlist", {})["next"]
    realm.app_new("shop")
    realm.ok("configset", {"slice": 1, "name": "x", "val": "1"})
    assert changed(read_all(realm, start, kinds=["changed"])[0]) == changed(read_all(realm, start)[0])
    assert read_all(realm, start, kinds=["stepdone"])[0] == []
    assert read_all(realm, start, app="shop")[0] == []           # instance filters leave changes out


def test_realms_see_only_their_events(realm, other_realm):
    start = realm.ok("wfeventlist", {})["next"]
    other_realm.ok("configset", {"slice": 1, "name": "theirs", "val": "x"})
    assert read_all(realm, start)[0] == []


def test_report_is_needed(realm):
    realm.grant("viewer", "report")
    assert realm.call("wfeventlist", {}, user="viewer").status_code == 200
    realm.grant("editor", "config")
    assert realm.call("wfeventlist", {}, user="editor").status_code == 403


@pytest.mark.parametrize("payload,field,code", [
    ({"after": "garbage"}, "after", "invalid"),
    ({"after": "eDEuMS4y"}, "after", "invalid"),         # base64 of something that is not a cursor
    ({"after": 7}, "after", "invalid"),
    ({"limit": 0}, "limit", "invalid"),          # out of range anywhere in SPEC §8-§9: invalid
    ({"limit": 1001}, "limit", "invalid"),
    ({"limit": "5"}, "limit", "invalid"),
    ({"limit": 2.5}, "limit", "invalid"),
    ({"wait": 31}, "wait", "invalid"),
    ({"wait": -1}, "wait", "invalid"),
    ({"wait": "soon"}, "wait", "invalid"),
    ({"kinds": ["stepdone", "nosuch"]}, "kinds[1]", "invalid"),
    ({"kinds": "stepdone"}, "kinds", "invalid"),
    ({"app": "no such"}, "app", "invalid"),
])
def test_bad_input(realm, payload, field, code):
    resp = realm.call("wfeventlist", payload)
    assert resp.status_code == 400, resp.get_json()
    assert (error_of(resp)["field"], error_of(resp)["errcode"]) == (field, code)


def test_pruned_events_are_reported_lost(realm, run_cli, conn):
    first = realm.ok("wfeventlist", {})["next"]
    realm.ok("configset", {"slice": 1, "name": "old", "val": "x"})
    _, cursor = read_all(realm, first)
    # the marks (and their events) of this realm age
    conn.execute("UPDATE wfeventmark SET at = at - interval '10 days' WHERE realm = %s", (realm.name,))
    realm.ok("configset", {"slice": 1, "name": "new", "val": "x"})
    code, out = run_cli("history", "prune", "--older-than", "5d", "--realm", realm.name)
    assert code == 0 and "events" in out, out
    # a reader that had read past the pruned events lost nothing; one that had not, did
    page = realm.ok("wfeventlist", {"after": cursor})
    assert page["lost"] is False and [e["key"].rsplit("/", 1)[-1] for e in page["events"]] == ["NEW"]
    page = realm.ok("wfeventlist", {"after": first})
    assert page["lost"] is True and [e["key"].rsplit("/", 1)[-1] for e in page["events"]] == ["NEW"]
    assert realm.ok("wfeventlist", {"after": page["next"]})["lost"] is False
    # without a cursor, reading starts at the oldest event kept
    assert [e["key"].rsplit("/", 1)[-1] for e in realm.ok("wfeventlist", {})["events"]] == ["NEW"]


# ---- crux events tail -------------------------------------------------------------------------

def test_events_tail_prints_json_lines(realm, run_cli):
    import json
    realm.ok("configset", {"slice": 1, "name": "one", "val": "x"})
    realm.app_new("shop")
    code, out = run_cli("events", "tail", "--realm", realm.name, "--from-start")
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert code == 0 and [e["table"] for e in lines] == ["realm", "config", "app"]
    code, out = run_cli("events", "tail", "--realm", realm.name, "--from-start", "--kinds", "stepdone")
    assert code == 0 and not [line for line in out.splitlines() if line.startswith("{")]
    code, out = run_cli("events", "tail", "--realm", realm.name)          # from the current end: nothing
    assert code == 0 and not [line for line in out.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("args,text", [
    (["--realm", "nosuchrealm"], "realm nosuchrealm does not exist"),
    (["--kinds", "nosuch"], "unknown kinds nosuch"),
    (["--after", "garbage"], "not a cursor"),
])
def test_events_tail_refuses_bad_options(realm, run_cli, args, text):
    from click.testing import CliRunner

    from crux.cli import cli
    args = args if args[0] == "--realm" else ["--realm", realm.name, *args]
    result = CliRunner().invoke(cli, ["events", "tail", *args])
    assert result.exit_code != 0 and text in result.output and "Traceback" not in result.output


def test_events_tail_follows(realm, database_url, tmp_path):
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT
    env = {**os.environ, "CRUX_DATABASE_URL": database_url, "CRUX_DATA_DIR": str(tmp_path)}
    start = realm.ok("wfeventlist", {})["next"]
    with subprocess.Popen([sys.executable, "-m", "crux.cli", "events", "tail", "--realm", realm.name, "--follow",
                           "--after", start], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        watchdog = threading.Timer(30, proc.kill)       # a hung read ends with the process
        watchdog.start()
        try:
            realm.ok("configset", {"slice": 1, "name": "followed", "val": "x"})
            line = proc.stdout.readline()        # waits for the process to print it
            assert json.loads(line)["key"].endswith("/FOLLOWED")
            realm.ok("configset", {"slice": 1, "name": "again", "val": "x"})
            assert json.loads(proc.stdout.readline())["key"].endswith("/AGAIN")
        finally:
            watchdog.cancel()
            proc.terminate()
            proc.wait(10)
