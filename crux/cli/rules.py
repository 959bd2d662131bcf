"""`crux rules`: offline tools over rule documents (no database, no server).

    crux rules check FILE...      validate schema, ruleset, stepworkflow and entity-case files
    crux rules eval ...           evaluate one entity against a ruleset, with a readable trace

The documents are read and checked by ruledocs.py.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from crux.cli.ruledocs import Doc, Library, brwf_of, check_doc, entity_for, expand, load_family
from crux.engine import MatchError, Problem, ValidationFailed, make_tracedata, validate_schema


def _echo_problem(path, p: Problem):
    where = f"{p.field}: " if p.field else ""
    click.echo(f"{path}: {where}{p.msg}")


@click.group("rules")
def rules():
    """Offline rule tools: check rule documents, evaluate an entity (no database)."""


@rules.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True))
def check_cmd(files):
    """Validate schema, ruleset, stepworkflow and entity-case files (directories too).

    A ruleset is checked against the schema of its class found among FILES or in its own
    directory; entity cases are evaluated and compared with their "expect".
    """
    targets = expand(files)
    lib = Library(targets)
    count = 0
    for path in targets:
        doc = lib.docs[path.resolve()]
        for p in check_doc(doc, lib):
            _echo_problem(path, p)
            count += 1
    if count:
        click.echo(f"{count} problem{'s' if count != 1 else ''}")
        raise SystemExit(1)
    click.echo("ok")


# --------------------------------------------------------------------------------------------
# eval
# --------------------------------------------------------------------------------------------

_RES_WORDS = {"+": "matched", "-": "not matched", "+c": "matched, calls", "-c":
              "not matched, calls", "<": "matched, returns", "<<": "matched, exits"}


def render_trace(visits: list) -> list[str]:
    """The trace as indented text: a header per visit, a line per rule, terms under it."""
    lines = []
    stack: list[str] = []
    called = None
    for block in visits:
        name = block["ruleset"]
        if called == name:
            stack.append(name)
            resumed = False
        else:
            resumed = name in stack
            while stack and stack[-1] != name:
                stack.pop()
            if not stack:
                stack.append(name)
        pad = "  " * (len(stack) - 1)
        lines.append(f"{pad}{name}{' (continued)' if resumed else ''}")
        called = None
        for rec in block["rules"]:
            text = f"{pad}  rule {rec['r']}: {rec['res']:<2}  {_RES_WORDS.get(rec['res'], '')}"
            if "nextset" in rec:
                text += f" {rec['nextset']}"
                called = rec["nextset"]
            if rec.get("after") == "<":
                text += ", then returns"
            elif rec.get("after") == "<<":
                text += ", then exits"
            lines.append(text)
            for t in rec.get("terms", []):
                lines.append(f"{pad}      {t['attr']} {t['op']} {json.dumps(t['ruleval'])}: "
                             f"value {json.dumps(t['val'])} -> {'true' if t['ok'] else 'false'}")
            if "actionset" in rec:
                a = rec["actionset"]
                lines.append(f"{pad}      action set: tasks {json.dumps(a['tasks'])} "
                             f"properties {json.dumps(a['properties'])}")
    return lines


def _read_entity(text: str):
    """--entity: JSON text, or @FILE holding it."""
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as ex:
            why = ex.strerror if isinstance(ex, OSError) and ex.strerror else str(ex)
            raise click.BadParameter(f"cannot read {text[1:]}: {why}", param_hint="--entity") from None
    try:
        return json.loads(text)
    except ValueError as ex:
        raise click.BadParameter(f"not JSON: {ex}", param_hint="--entity") from None


@rules.command("eval")
@click.option("--schema", "schema_path", required=True,
              type=click.Path(exists=True, dir_okay=False), help="the class's schema file")
@click.option("--rulesets", "rulesets_dir", required=True,
              type=click.Path(exists=True, file_okay=False), help="directory of ruleset files")
@click.option("--entry", required=True, help="the ruleset (or workflow) to evaluate")
@click.option("--entity", "entity_text", required=True,
              help='the entity as JSON ({"amount": 10, ...}) or @FILE; for a workflow with '
                   '"step" (default START) and "stepfailed"')
@click.option("--trace", type=click.IntRange(0, 2), default=0, show_default=True,
              help="0 none, 1 rules, 2 rules and terms")
@click.option("--json", "as_json", is_flag=True,
              help="print one JSON object {tasks, properties, tracedata?} instead")
def eval_cmd(schema_path, rulesets_dir, entry, entity_text, trace, as_json):
    """Evaluate an entity against a ruleset offline and print the action set."""
    schema_doc = Doc(Path(schema_path))
    if schema_doc.kind != "schema":
        raise click.BadParameter("not a schema document", param_hint="--schema")
    problems = validate_schema(schema_doc.data, brwf_of(schema_doc))
    if problems:
        for p in problems:
            _echo_problem(schema_path, p)
        raise SystemExit(1)
    lib = Library([])
    lib.docs[Path(schema_path).resolve()] = schema_doc
    for f in sorted(Path(rulesets_dir).glob("*.json")):
        lib.add(f)
    raw = _read_entity(entity_text)
    start = dt.datetime.now(dt.UTC)
    try:
        family = load_family(lib, schema_doc.cls)
        entity = entity_for(family, raw)
        result = family.match(entry, entity, trace)
    except ValidationFailed as ex:
        for p in ex.problems:
            _echo_problem("error", p)
        raise SystemExit(1) from None
    except MatchError as ex:
        click.echo(f"error: {ex}")
        raise SystemExit(1) from None
    end = dt.datetime.now(dt.UTC)
    out = result.actionset()
    if as_json:
        if trace:
            out["tracedata"] = make_tracedata(result, start=start, end=end, realm="", app="",
                                              slice=0, cls=family.cls, entry=entry)
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(json.dumps(out, indent=2))
    if trace:
        click.echo("")
        click.echo(f"trace (level {trace}):")
        for line in render_trace(result.visits):
            click.echo("  " + line)


__all__ = ["rules", "render_trace"]
