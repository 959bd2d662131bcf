"""`crux history prune` and `crux changelog prune`: old rows go, in batches; nothing else does."""
from __future__ import annotations

import pytest

from crux.cli.retention import parse_age
from tests.wf_support import done, history, ids_of, setup_flows, start


def test_prune_deletes_old_closed_history_only(realm, other_realm, run_cli, conn):
    for r in (realm, other_realm):
        setup_flows(r)
        row_id = ids_of(start(r, "seq", "old"))["a"]
        done(r, row_id, "a")
        done(r, row_id, "b")                       # a finished instance: two closed rows
        start(r, "seq", "open")                    # an open step
        conn.execute("""UPDATE wfhistory SET loggedat = loggedat - interval '100 days',
                            closedat = closedat - interval '100 days' WHERE realm = %s""", (r.name,))
    recent = ids_of(start(realm, "seq", "recent"))["a"]
    done(realm, recent, "a")                       # closed just now: kept
    code, out = run_cli("history", "prune", "--older-than", "90d", "--realm", realm.name, "--batch", "1")
    assert code == 0 and out.startswith("deleted 2 history rows"), out
    assert realm.call("wfinstancehistory", {"entityid": "old"}).status_code == 404
    assert [h[2] for h in history(realm, entityid="open")] == [None]
    assert [h[2] for h in history(realm, entityid="recent")] == ["done", None]
    assert len(history(other_realm, entityid="old")) == 2          # another realm: untouched
    code, out = run_cli("history", "prune", "--older-than", "30d")
    assert code == 0 and out.startswith("deleted 2 history rows")   # every realm: the other realm's two


@pytest.mark.parametrize("text, seconds", [("90d", 90 * 86400), ("12h", 43200), ("30m", 1800), ("2w", 1209600),
                                           ("45s", 45)])
def test_ages(text, seconds):
    assert parse_age(text).total_seconds() == seconds


def test_bad_age(run_cli):
    code, out = run_cli("history", "prune", "--older-than", "soon")
    assert code != 0 and "--older-than" in out


def test_changelog_prune_deletes_old_changes_only(realm, other_realm, run_cli, conn):
    def changes(r):
        return conn.execute("SELECT count(*) AS n FROM changelog WHERE realm = %s", (r.name,)).fetchone()["n"]

    for r in (realm, other_realm):
        r.app_new("old")
        conn.execute("UPDATE changelog SET at = at - interval '500 days' WHERE realm = %s", (r.name,))
    old_here, old_there = changes(realm), changes(other_realm)
    assert old_here > 0 and old_there > 0
    realm.app_new("recent")
    recent = changes(realm) - old_here
    code, out = run_cli("changelog", "prune", "--older-than", "400d", "--realm", realm.name, "--batch", "1")
    assert code == 0 and out.startswith(f"deleted {old_here} changelog rows written before"), out
    assert changes(realm) == recent and changes(other_realm) == old_there
    code, out = run_cli("changelog", "prune", "--older-than", "1d")
    assert code == 0 and changes(other_realm) == 0 and changes(realm) == recent


@pytest.mark.parametrize("command", ["history", "changelog"])
def test_bad_batch(run_cli, command):
    code, out = run_cli(command, "prune", "--older-than", "1d", "--batch", "0")
    assert code != 0 and "--batch" in out
