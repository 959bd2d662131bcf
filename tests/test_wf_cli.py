"""`crux workflow graph` (from the database and from files) and `crux history prune`."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from crux.cli import cli
from crux.workflow_cli import parse_age
from tests.wf_support import APP, CLS, STEPS, WORKFLOWS, done, history, ids_of, setup_flows, start


@pytest.fixture
def run_cli(database_url, monkeypatch):
    monkeypatch.setenv("CRUX_DATABASE_URL", database_url)

    def run(*args):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.output
    return run


def _edges(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if "->" in line or "-.->" in line or "-->" in line}


def test_graph_from_the_database(realm, run_cli):
    setup_flows(realm)
    code, out = run_cli("workflow", "graph", "--realm", realm.name, "--slice", "1", "--app", APP, "--workflow", "par")
    assert code == 0, out
    assert out.startswith("flowchart TD")
    edges = _edges(out)
    assert 'n_START -->|"∥"| s_p1' in edges and 'n_START -->|"∥"| s_p3' in edges      # fan-out
    assert 's_p2 -.->|"join"| s_j1' in edges                                          # its join
    assert 's_p1 -->|"failed"| s_fix' in edges                                        # remedial route
    assert 's_j1 -->|"∥"| s_q1' in edges and 's_q2 -.->|"join"| s_j2' in edges         # a second set
    assert "s_z --> n_DONE" in edges
    code, out = run_cli("workflow", "graph", "--realm", realm.name, "--slice", "1", "--app", APP,
                        "--workflow", "main", "--format", "dot")
    assert code == 0 and out.startswith('digraph "main" {') and out.rstrip().endswith("}")
    assert '"sign" -> "workflow signing" [label="runs", style=dotted];' in out


def test_graph_errors(realm, run_cli):
    setup_flows(realm)
    code, out = run_cli("workflow", "graph", "--realm", realm.name, "--slice", "1", "--app", APP, "--workflow", "nosuch")
    assert code != 0 and "nosuch" in out
    code, out = run_cli("workflow", "graph", "--workflow", "par")
    assert code != 0 and "--slice" in out


def test_graph_from_files(tmp_path, run_cli):
    (tmp_path / "schema.json").write_text(json.dumps({
        "class": CLS, "brwf": "W",
        "patternschema": [{"attr": "step", "valtype": "enum", "vals": ["START"] + STEPS},
                          {"attr": "stepfailed", "valtype": "bool"},
                          {"attr": "amount", "valtype": "float"}],
        "actionschema": {"tasks": STEPS, "properties": ["nextstep", "done"]}}))
    for name in ("odd", "main", "signing"):
        (tmp_path / f"{name}.json").write_text(json.dumps({"class": CLS, "name": name, "ruleset": WORKFLOWS[name]}))
    (tmp_path / "stepworkflows.json").write_text(json.dumps([{"step": "sign", "workflow": "signing"}]))
    code, out = run_cli("workflow", "graph", "--files", str(tmp_path), "--workflow", "odd")
    assert code == 0, out
    assert 's_x -->|"amount > 100"| n_DONE' in _edges(out)
    code, out = run_cli("workflow", "graph", "--files", str(tmp_path), "--workflow", "main")
    assert 's_sign -.->|"runs"| w_signing[["workflow signing"]]' in _edges(out)


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
