"""`crux workflow graph` (from the database and from files)."""
from __future__ import annotations

import json

from tests.wf_support import APP, CLS, STEPS, WORKFLOWS, set_steps, setup_flows


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


def test_graph_shows_step_settings(realm, run_cli):
    setup_flows(realm)
    set_steps(realm, "seq", {"a": {"timeout": 30, "attempts": 3, "retrydelay": 5}, "b": {"timeout": 60}, "fix": {}})
    code, out = run_cli("workflow", "graph", "--realm", realm.name, "--slice", "1", "--app", APP, "--workflow", "seq")
    assert code == 0, out
    assert '    s_a["a<br/><i>timeout 30s, 3 attempts, retry after 5s</i>"]' in out.splitlines()
    assert '    s_b["b<br/><i>timeout 60s</i>"]' in out.splitlines() and '    s_fix["fix"]' in out.splitlines()
    code, out = run_cli("workflow", "graph", "--realm", realm.name, "--slice", "1", "--app", APP, "--workflow", "seq",
                        "--format", "dot")
    assert '    "a" [label="a\\ntimeout 30s, 3 attempts, retry after 5s"];' in out.splitlines()


def _flow_files(folder, steps) -> None:
    (folder / "schema.json").write_text(json.dumps({
        "class": CLS, "brwf": "W",
        "patternschema": [{"attr": "step", "valtype": "enum", "vals": ["START"] + STEPS},
                          {"attr": "stepfailed", "valtype": "bool"}, {"attr": "amount", "valtype": "float"}],
        "actionschema": {"tasks": STEPS, "properties": ["nextstep", "done"]}}))
    (folder / "seq.json").write_text(json.dumps({"class": CLS, "name": "seq", "ruleset": WORKFLOWS["seq"],
                                                 "steps": steps}))


def test_load_and_check_step_settings_from_files(realm, run_cli, tmp_path):
    realm.app_new(APP)
    steps = {"a": {"timeout": 30, "attempts": 2}}
    _flow_files(tmp_path, steps)
    code, out = run_cli("load", str(tmp_path), "--realm", realm.name, "--slice", "1", "--app", APP)
    assert code == 0, out
    key = {"slice": 1, "app": APP, "class": CLS, "name": "seq"}
    assert realm.ok("workflowget", key)["steps"] == steps
    code, out = run_cli("load", str(tmp_path), "--realm", realm.name, "--slice", "1", "--app", APP)
    assert "workflow seq: unchanged" in out
    _flow_files(tmp_path, {"a": {"timeout": 45}})
    code, out = run_cli("load", str(tmp_path), "--realm", realm.name, "--slice", "1", "--app", APP)
    assert "workflow seq: updated" in out and realm.ok("workflowget", key)["steps"] == {"a": {"timeout": 45}}
    code, out = run_cli("rules", "check", str(tmp_path))
    assert code == 0, out
    _flow_files(tmp_path, {"a": {"timeout": 0}, "nosuch": {}})
    code, out = run_cli("rules", "check", str(tmp_path))
    assert code != 0 and "seq.json: steps.a.timeout: timeout is" in out and "seq.json: steps.nosuch: " in out
    code, out = run_cli("load", str(tmp_path), "--realm", realm.name, "--slice", "1", "--app", APP)
    assert code != 0 and "steps.a.timeout: invalid" in out and "steps.nosuch: invalid" in out
