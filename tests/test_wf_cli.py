"""`crux workflow graph` (from the database and from files)."""
from __future__ import annotations

import json

from tests.wf_support import APP, CLS, STEPS, WORKFLOWS, setup_flows


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
    code, out = run_cli("workflow", "graph", "--realm", realm.name, "--slice", "1", "--app", APP,
                        "--workflow", "nosuch")
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
