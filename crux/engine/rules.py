"""Rulesets (SPEC §2.2): canonical form and validation, including workflow rulesets."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema

from crux.common.formats import json_path

from .model import EMPTY, INVALID, NOT_ALLOWED, NOT_FOUND, REQUIRED, Problem, scalar_vals
from .paths import schema_problems, under
from .schema import SchemaInfo
from .values import EQUALITY_OPS, OPS, ORDERED_TYPES, literal_problem

# keys mapped to None are accepted and dropped: the original service's rule counters
RULE_KEYS: dict[str, str | None] = {"rulepattern": "rulepattern", "ruleactions": "ruleactions",
                                    "nmatched": None, "nfailed": None}
TERM_KEYS = {"attr": "attr", "op": "op", "val": "val"}
ACTION_KEYS = {"tasks": "tasks", "properties": "properties", "thencall": "thencall",
               "elsecall": "elsecall", "willreturn": "willreturn", "doreturn": "willreturn",
               "return": "willreturn", "willexit": "willexit", "doexit": "willexit",
               "exit": "willexit"}

_CALL = {"type": ["string", "null"]}
RULE_JSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Crux rule (SPEC §2.2), keys already in canonical spelling",
    "type": "object",
    "required": ["rulepattern", "ruleactions"],
    "properties": {
        "rulepattern": {
            "type": "array",
            "items": {"type": "object", "required": ["attr", "op", "val"],
                      "properties": {"attr": {"type": "string"}, "op": {"type": "string"}}},
        },
        "ruleactions": {
            "type": "object",
            "properties": {
                "tasks": {"type": "array", "items": {"type": "string"}},
                "properties": {"type": "object", "additionalProperties": {"type": "string"}},
                "thencall": _CALL,
                "elsecall": _CALL,
                "willreturn": {"type": "boolean"},
                "willexit": {"type": "boolean"},
            },
        },
    },
}
_RULE_VALIDATOR = jsonschema.Draft202012Validator(RULE_JSON_SCHEMA)


def _canon_keys(obj: dict[Any, Any], mapping: Mapping[str, str | None], here: str,
                problems: list[Problem] | None) -> dict[str, Any]:
    """obj with its keys in canonical spelling (matched case-insensitively)."""
    out: dict[str, Any] = {}
    for key, val in obj.items():
        lower = key.lower() if isinstance(key, str) else ""
        canon = mapping.get(lower)
        if canon is None:
            if problems is not None and lower not in mapping:
                problems.append(Problem(json_path(here, str(key)), INVALID,
                                        f"unknown key {key}; known keys: "
                                        + ", ".join(sorted({v for v in mapping.values() if v is not None})),
                                        (key,)))
            continue
        if canon in out and out[canon] != val and problems is not None:
            problems.append(Problem(json_path(here, canon), INVALID,
                                    f"{canon} is given twice, differently (as {key} and another spelling)",
                                    (key,)))
        out[canon] = val
    return out


def _canon_rule(rule: Any, here: str, problems: list[Problem] | None) -> Any:
    if not isinstance(rule, dict):
        return rule
    out = _canon_keys(rule, RULE_KEYS, here, problems)
    pattern = out.get("rulepattern")
    if isinstance(pattern, list):
        terms = []
        for j, term in enumerate(pattern):
            if isinstance(term, dict):
                term = _canon_keys(term, TERM_KEYS, json_path(here, "rulepattern", j), problems)
                if isinstance(term.get("op"), str):
                    term["op"] = term["op"].lower()
            terms.append(term)
        out["rulepattern"] = terms
    actions = out.get("ruleactions")
    if isinstance(actions, dict):
        out["ruleactions"] = _canon_keys(actions, ACTION_KEYS, json_path(here, "ruleactions"),
                                         problems)
    return out


def normalize_rules(rules: Iterable[Any]) -> list[dict[str, Any]]:
    """The canonical form of a ruleset: canonical keys, every action key present."""
    out = []
    for rule in rules:
        rule = _canon_rule(rule, "", None)
        acts = rule.get("ruleactions") or {}
        out.append({
            "rulepattern": [{"attr": t.get("attr"), "op": t.get("op"), "val": t.get("val")}
                            for t in (rule.get("rulepattern") or [])],
            "ruleactions": {
                "tasks": list(acts.get("tasks") or []),
                "properties": dict(acts.get("properties") or {}),
                "thencall": acts.get("thencall") or "",
                "elsecall": acts.get("elsecall") or "",
                "willreturn": bool(acts.get("willreturn", False)),
                "willexit": bool(acts.get("willexit", False)),
            },
        })
    return out


def check_term(term: dict[str, Any], info: SchemaInfo, here: str, problems: list[Problem]) -> None:
    """Append the problems of one (shape-valid) term."""
    attr, op, val = term["attr"], term["op"], term["val"]
    spec = info.attrs.get(attr)
    is_tag = spec is None and attr in info.tasks
    if spec is None and not is_tag:
        problems.append(Problem(json_path(here, "attr"), NOT_FOUND,
                                f"{attr} is neither an attribute nor a task of the schema",
                                (attr,)))
    if op not in OPS:
        problems.append(Problem(json_path(here, "op"), INVALID,
                                f"unknown operator {op}; known: {', '.join(OPS)}", (op,)))
        return
    if is_tag:
        if op not in EQUALITY_OPS:
            problems.append(Problem(json_path(here, "op"), NOT_ALLOWED,
                                    f"{attr} is a task tag (a boolean): only eq and ne apply",
                                    (op,)))
        if not isinstance(val, bool):
            problems.append(Problem(json_path(here, "val"), INVALID,
                                    f"the literal of task tag {attr} must be a JSON boolean",
                                    scalar_vals(val)))
    elif spec is not None:
        if op not in EQUALITY_OPS and spec.valtype not in ORDERED_TYPES:
            problems.append(Problem(json_path(here, "op"), NOT_ALLOWED,
                                    f"{attr} is of type {spec.valtype}, which has no order: "
                                    "only eq and ne apply", (op,)))
        why = literal_problem(spec.valtype, val, spec.valset)
        if why:
            problems.append(Problem(json_path(here, "val"), INVALID,
                                    f"the literal for {attr} ({spec.valtype}) {why}",
                                    scalar_vals(val)))


def check_rule(rule: dict[str, Any], info: SchemaInfo, here: str, problems: list[Problem],
               shape: list[Problem]) -> None:
    """The semantic problems of one canonical rule whose shape problems are in `shape`."""
    pattern = rule.get("rulepattern")
    if isinstance(pattern, list):
        for j, term in enumerate(pattern):
            th = json_path(here, "rulepattern", j)
            if isinstance(term, dict) and not under(shape, th):
                check_term(term, info, th, problems)
    acts = rule.get("ruleactions")
    ah = json_path(here, "ruleactions")
    if not isinstance(acts, dict):
        return
    if isinstance(acts.get("tasks"), list) and not under(shape, json_path(ah, "tasks")):
        for j, t in enumerate(acts["tasks"]):
            if t not in info.tasks:
                problems.append(Problem(json_path(ah, "tasks", j), NOT_FOUND,
                                        f"task {t} is not in the action schema", (t,)))
    if isinstance(acts.get("properties"), dict):
        for key in acts["properties"]:
            if key not in info.properties:
                problems.append(Problem(json_path(ah, "properties", key), NOT_FOUND,
                                        f"property {key} is not in the action schema", (key,)))
    if acts.get("willreturn") is True and acts.get("willexit") is True:
        problems.append(Problem(json_path(ah, "willexit"), INVALID,
                                "a rule cannot both return (willreturn) and exit (willexit)"))


def _workflow_rule(rule: dict[str, Any], info: SchemaInfo, here: str, problems: list[Problem],
                   shape: list[Problem]) -> None:
    pattern = rule.get("rulepattern")
    if isinstance(pattern, list) and not under(shape, json_path(here, "rulepattern")):
        if not any(isinstance(t, dict) and t.get("attr") == "step" for t in pattern):
            problems.append(Problem(json_path(here, "rulepattern"), REQUIRED,
                                    "every workflow rule needs a term on step"))
    acts = rule.get("ruleactions")
    ah = json_path(here, "ruleactions")
    if not isinstance(acts, dict) or under(shape, json_path(ah, "properties")):
        return
    props = acts.get("properties") or {}
    done, nxt = props.get("done"), props.get("nextstep")
    if done is not None and done != "true":
        problems.append(Problem(json_path(ah, "properties", "done"), INVALID,
                                'done can only be set to "true"', (done,)))
    if done == "true" and nxt is not None:
        problems.append(Problem(json_path(ah, "properties", "nextstep"), INVALID,
                                "a workflow rule sets either nextstep or done, not both", (nxt,)))
    if nxt is None and done != "true":
        problems.append(Problem(json_path(ah, "properties"), REQUIRED,
                                'a workflow rule must set nextstep or done: "true"'))
    if done != "true" and not under(shape, json_path(ah, "tasks")) and not acts.get("tasks"):
        problems.append(Problem(json_path(ah, "tasks"), REQUIRED,
                                "a workflow rule without done needs at least one task"))
    if nxt is not None and nxt not in info.tasks:
        problems.append(Problem(json_path(ah, "properties", "nextstep"), NOT_FOUND,
                                f"nextstep {nxt} is not a step of the workflow schema", (nxt,)))


def _path_to(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """A call path start -> ... -> goal in graph, or None."""
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, route = stack.pop()
        if node == goal:
            return route
        if node in seen:
            continue
        seen.add(node)
        for nxt in sorted(graph.get(node, ()), reverse=True):
            if nxt not in seen:
                stack.append((nxt, route + [nxt]))
    return None


def validate_ruleset(rules: Any, schema: dict[str, Any], brwf: str, name: str, cls: str,
                     known: Mapping[str, str], calls_of: Mapping[str, Iterable[str]],
                     path: str = "ruleset") -> list[Problem]:
    """Every problem of ruleset `name` (class `cls`) against its schema (SPEC §2.2).

    known:    every existing ruleset name of this (realm, slice, app) -> its class
    calls_of: existing ruleset name -> names it calls; `name`'s own entry is replaced by the
              calls of `rules` when looking for a call cycle.
    """
    if not isinstance(rules, list):
        return [Problem(path, INVALID, "a ruleset must be a list of rules")]
    if not rules:
        return [Problem(path, EMPTY, "a ruleset needs at least one rule")]
    info = SchemaInfo(schema)
    problems: list[Problem] = []
    sites: list[tuple[str, str]] = []      # (path, callee) for every call
    for i, rule in enumerate(rules):
        here = json_path(path, i)
        crule = _canon_rule(rule, here, problems)
        shape = schema_problems(_RULE_VALIDATOR, crule, here)
        problems.extend(shape)
        if not isinstance(crule, dict):
            continue
        check_rule(crule, info, here, problems, shape)
        if brwf == "W":
            _workflow_rule(crule, info, here, problems, shape)
        acts = crule.get("ruleactions")
        if isinstance(acts, dict):
            for key in ("thencall", "elsecall"):
                callee = acts.get(key)
                if isinstance(callee, str) and callee:
                    sites.append((json_path(here, "ruleactions", key), callee))

    graph = {k: set(v) for k, v in calls_of.items()}
    graph[name] = {c for _, c in sites}
    for where, callee in sites:
        if callee != name and callee not in known:
            problems.append(Problem(where, NOT_FOUND, f"ruleset {callee} does not exist",
                                    (callee,)))
            continue
        if callee != name and known[callee] != cls:
            problems.append(Problem(where, INVALID,
                                    f"ruleset {callee} is of class {known[callee]}, not {cls}",
                                    (callee,)))
            continue
        route = _path_to(graph, callee, name)
        if route is not None:
            cycle = [name] + route
            problems.append(Problem(where, INVALID,
                                    "this call closes a call cycle: " + " -> ".join(cycle),
                                    tuple(cycle)))
    return problems
