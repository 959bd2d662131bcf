"""`crux workflow graph`: draw a workflow.

    crux workflow graph --slice 1 --app onboarding --workflow onboarding [--realm demo] [--format dot]
    crux workflow graph --files examples/onboarding --workflow onboarding

The graph has the steps as nodes (plus START and done), one edge per rule from the step(s) it
tests to the task(s) it hands out, labelled with its other conditions (`failed`/`ok` for
stepfailed); several tasks at once fan out and join (dashed) at their `nextstep`; a step carried
out by a sub-workflow points (dotted) at that workflow. A step with settings (SPEC §8.1) shows
its timeout, attempts and retry delay on its node.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import click

from crux.cli.shared import require_realm, settings
from crux.engine import normalize_rules
from crux.engine.values import START

DONE = "done"
_OPS = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


# ---- the graph --------------------------------------------------------------------------------

@dataclass
class Edge:
    src: str
    dst: str
    label: str = ""
    kind: str = "step"          # step | failed | join


@dataclass
class Graph:
    name: str
    steps: list[str]
    edges: list[Edge] = field(default_factory=list)
    subflows: dict[str, str] = field(default_factory=dict)     # step -> workflow
    settings: dict[str, str] = field(default_factory=dict)     # step -> its settings, as text


def settings_text(settings: dict) -> str:
    """A step's settings for its node: "timeout 30s, 3 attempts, retry after 5s"."""
    parts = []
    if settings.get("timeout") is not None:
        parts.append(f"timeout {settings['timeout']}s")
    if settings.get("attempts", 1) != 1:
        parts.append(f"{settings['attempts']} attempts")
    if settings.get("retrydelay"):
        parts.append(f"retry after {settings['retrydelay']}s")
    return ", ".join(parts)


def _term_text(term: dict) -> str | None:
    attr, op, val = term["attr"], term["op"], term["val"]
    if attr == "step":
        return None
    if attr == "stepfailed" and op in ("eq", "ne"):
        return "failed" if (op == "eq") == bool(val) else "ok"
    return f"{attr} {_OPS.get(op, op)} {val if not isinstance(val, bool) else str(val).lower()}"


def build_graph(family, name: str, stepworkflows: dict[str, str]) -> Graph:
    """The graph of workflow `name` of a compiled family (its class's schema and rulesets)."""
    steps = [s for s in family.step_values if s != START]
    graph = Graph(name, steps)
    rules = normalize_rules(list(family.rulesets[name].rules))
    for rule, move in zip(rules, family.steps_of(name), strict=True):
        if move["from"]:
            sources = list(move["from"])
        else:
            sources = [s for s in [START, *steps] if s not in move["not_from"]]
        terms = [t for t in (_term_text(t) for t in rule["rulepattern"]) if t]
        acts = rule["ruleactions"]
        terms += [f"calls {c}" for c in (acts["thencall"], acts["elsecall"]) if c]
        label = ", ".join(terms)
        kind = "failed" if move["stepfailed"] is True else "step"
        targets = [DONE] if move["done"] else list(move["tasks"])
        concurrent = len(targets) > 1
        for src in sources:
            for dst in targets:
                graph.edges.append(Edge(src, dst, (label + " " if label else "") + ("∥" if concurrent else ""), kind))
        # tasks that join elsewhere: a concurrent set, or a task replacing a failed member of one
        if move["nextstep"] and (concurrent or move["nextstep"] not in targets):
            for task in targets:
                graph.edges.append(Edge(task, move["nextstep"], "join", "join"))
    graph.subflows = {s: w for s, w in stepworkflows.items() if s in steps}
    graph.settings = {s: text for s, given in family.rulesets[name].steps.items()
                      if s in steps and (text := settings_text(given))}
    return graph


def _dedup(edges: list[Edge]) -> list[Edge]:
    seen, out = set(), []
    for e in edges:
        key = (e.src, e.dst, e.label.strip(), e.kind)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def to_mermaid(graph: Graph) -> str:
    def node(step: str) -> str:
        return {START: "n_START", DONE: "n_DONE"}.get(step, f"s_{step}")

    def text(label: str) -> str:
        return label.strip().replace('"', "#quot;")

    lines = ["flowchart TD", '    n_START(("START"))', '    n_DONE((("done")))']
    lines += [f'    {node(s)}["{s}"]' if s not in graph.settings
              else f'    {node(s)}["{s}<br/><i>{graph.settings[s]}</i>"]' for s in graph.steps]
    arrows = {"step": "-->", "failed": "-->", "join": "-.->"}
    edges = _dedup(graph.edges)
    for e in edges:
        label = text(e.label)
        arrow = arrows[e.kind]
        lines.append(f'    {node(e.src)} {arrow}|"{label}"| {node(e.dst)}' if label
                     else f"    {node(e.src)} {arrow} {node(e.dst)}")
    for step, workflow in graph.subflows.items():
        lines.append(f'    {node(step)} -.->|"runs"| w_{workflow}[["workflow {workflow}"]]')
    failed = [i for i, e in enumerate(edges) if e.kind == "failed"]
    if failed:
        lines.append(f"    linkStyle {','.join(map(str, failed))} stroke:#c0392b")
    return "\n".join(lines) + "\n"


def to_dot(graph: Graph) -> str:
    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"digraph {q(graph.name)} {{", "    rankdir=TB;", "    node [shape=box, style=rounded];",
             '    "START" [shape=circle];', f'    {q(DONE)} [shape=doublecircle];']
    for step, text in graph.settings.items():
        lines.append(f"    {q(step)} [label={q(step)[:-1]}\\n{q(text)[1:]}];")      # two lines
    style = {"step": "", "failed": ", color=firebrick, fontcolor=firebrick", "join": ", style=dashed"}
    for e in _dedup(graph.edges):
        lines.append(f"    {q(e.src)} -> {q(e.dst)} [label={q(e.label.strip())}{style[e.kind]}];")
    for step, workflow in graph.subflows.items():
        lines.append(f'    {q("workflow " + workflow)} [shape=component];')
        lines.append(f'    {q(step)} -> {q("workflow " + workflow)} [label="runs", style=dotted];')
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---- where the workflow comes from ------------------------------------------------------------

def _from_database(realm: str, slice_id: int, app: str, name: str):
    from crux.services.rulecache import RulesetCache
    from crux.store.db import opened
    from crux.store.notify import Listener
    with opened(settings()) as db:
        require_realm(db, realm)
        listener = Listener(db.url)
        try:
            cache = RulesetCache(db, listener, first_connect_wait=0)  # one look: nothing to keep
            family, _cls = cache.workflow(realm, slice_id, app, name)
            return family, dict(cache.stepworkflows(realm, slice_id, app))
        finally:
            listener.stop()


def _from_files(folder: str, name: str):
    from pathlib import Path

    from crux.cli.ruledocs import Library, load_family
    lib = Library(sorted(Path(folder).glob("*.json")))
    doc = lib.ruleset(name)
    if doc is None:
        raise click.ClickException(f"no workflow {name} in {folder}")
    family = load_family(lib, doc.cls)
    stepworkflows = {e["step"]: e["workflow"] for d in lib.of_kind("stepworkflows") for e in d.data}
    return family, stepworkflows


# ---- commands ---------------------------------------------------------------------------------

@click.group("workflow")
def workflow():
    """Workflow commands."""


@workflow.command("graph")
@click.option("--workflow", "name", required=True, help="the workflow to draw")
@click.option("--slice", "slice_id", type=int, help="with the database: the slice")
@click.option("--app", help="with the database: the app")
@click.option("--realm", default="demo", show_default=True, help="with the database: the realm")
@click.option("--files", type=click.Path(exists=True, file_okay=False),
              help="read a folder of schema/workflow JSON files (the examples/ format) instead of the database")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True,
              help="Mermaid (renders in GitHub and GitLab Markdown) or Graphviz dot")
def graph_cmd(name, slice_id, app, realm, files, fmt):
    """Draw a workflow: steps as nodes, rules as edges labelled with their conditions, concurrent
    fan-out with its join, and sub-workflows."""
    from crux.engine import ValidationFailed
    from crux.errors import CruxError
    try:
        if files:
            family, stepworkflows = _from_files(files, name)
        else:
            if slice_id is None or not app:
                raise click.UsageError("give --slice and --app (or --files DIR)")
            family, stepworkflows = _from_database(realm.lower(), slice_id, app.lower(), name)
    except CruxError as exc:
        raise click.ClickException(str(exc)) from None
    except (ValidationFailed, LookupError) as exc:
        raise click.ClickException(f"the workflow does not compile: {exc}") from None
    if family.brwf != "W" or name not in family.rulesets:
        raise click.ClickException(f"{name} is not a workflow")
    graph = build_graph(family, name, stepworkflows)
    click.echo(to_mermaid(graph) if fmt == "mermaid" else to_dot(graph), nl=False)
