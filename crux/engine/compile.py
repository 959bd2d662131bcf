"""Compiling a family of rulesets (one realm, slice, app, class): type checks against the
schema, the call graph, and the `CompiledFamily` that evaluates entities.

Literals are converted once and every term becomes a direct comparison (`CTerm`); each ruleset
is then planned (planner.py: where to dispatch on an attribute's value) and written as a Python
function (codegen.py). The result is the one of evaluating every rule in order (SPEC §3); the
traced path in trace.py evaluates every rule literally and the tests check both against a
reference interpreter. Entity conversion is entity.py's.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from crux.common.formats import json_path

from .codegen import Generator
from .entity import CompiledSchema, EntityConverter, convert_entity, make_compiled_schema
from .model import (
    EVALUATION_FAILURES,
    INVALID,
    NOT_FOUND,
    CRule,
    CTerm,
    MatchError,
    MatchResult,
    Problem,
    RulesetInfo,
    ValidationFailed,
    evaluation_error,
)
from .rules import check_rule, normalize_rules
from .schema import validate_schema
from .trace import run_traced
from .values import convert_literal


def compile_family(schema: dict[str, Any], rulesets: Mapping[str, dict[str, Any]], cls: str, brwf: str, *,
                   foreign: Mapping[str, str] | None = None) -> CompiledFamily:
    """Compile every ruleset of one (realm, slice, app, class).

    rulesets: name -> {"rules": [...], "is_active": bool, "is_internal": bool, "steps"?: {...}}
    foreign:  optional name -> class of rulesets of other classes (for a clear error when a
              rule calls one); a ruleset here whose "class" differs from `cls` counts too.
    Raises ValidationFailed when the schema is not valid, or when a rule does not type-check
    against it (unknown attribute, bad literal, ordering on bool or enum, unknown task or
    property). The rules must already have the shape validate_ruleset checks (stored rulesets
    do); it is not checked again, as that would more than double the time to compile. A call
    to a missing ruleset compiles, and raises MatchError when the evaluation reaches it.
    """
    problems: list[Problem] = validate_schema(schema, brwf, "schema")
    if problems:
        raise ValidationFailed(problems)
    cschema = make_compiled_schema(schema)
    info = cschema.info
    foreign = dict(foreign or {})
    compiled: dict[str, list[CRule]] = {}
    infos: dict[str, RulesetInfo] = {}
    for name, data in rulesets.items():
        rcls = data.get("class")
        if rcls is not None and rcls != cls:
            foreign[name] = rcls
            continue
        rules = normalize_rules(data.get("rules") or [])
        crules = []
        for i, rule in enumerate(rules):
            here = json_path("rulesets", name, i)
            found: list[Problem] = []
            check_rule(rule, info, here, found, [])
            problems.extend(found)
            if found:
                continue
            terms = []
            for t in rule["rulepattern"]:
                spec = info.attrs.get(t["attr"])
                lit = t["val"] if spec is None else convert_literal(spec.valtype, t["val"])
                terms.append(CTerm(t["attr"], spec is None, t["op"], lit, t["val"]))
            crules.append(CRule(i, terms, rule["ruleactions"]))
        compiled[name] = crules
        infos[name] = RulesetInfo(name=name, is_active=bool(data.get("is_active", False)),
                                  is_internal=bool(data.get("is_internal", False)),
                                  rules=tuple(rules), calls=_callees(crules),
                                  steps=MappingProxyType(dict(data.get("steps") or {})))
    if problems:
        raise ValidationFailed(problems)
    return CompiledFamily(cschema, cls, brwf, compiled, infos, foreign)


def _callees(crules: list[CRule]) -> tuple[str, ...]:
    """The rulesets these rules call (thencall or elsecall), in first-use order."""
    return tuple(dict.fromkeys(c for r in crules for c in (r.thencall, r.elsecall) if c))


def cyclic_rulesets(graph: dict[str, tuple[str, ...]]) -> set[str]:
    """Rulesets on a static call cycle (Tarjan's strongly connected components, iterative;
    callees outside `graph` are ignored)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: set[str] = set()
    work: list[tuple[str, Iterator[str]]] = []     # the depth-first path: (node, its callees)

    def push(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        work.append((v, iter(graph[v])))

    for root in graph:
        if root in index:
            continue
        push(root)
        while work:
            node, it = work[-1]
            for w in it:
                if w not in graph:
                    continue
                if w not in index:
                    push(w)
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            else:       # every callee of node seen
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1 or node in graph[node]:
                        out.update(comp)
    return out


class CompiledFamily:
    """All rulesets of one (realm, slice, app, class), compiled; immutable once built."""

    __slots__ = ("schema", "cls", "brwf", "rulesets", "source", "_fns", "_rules", "_chain",
                 "_foreign", "_index_stats", "_fast")

    def __init__(self, schema: CompiledSchema, cls: str, brwf: str,
                 compiled: dict[str, list[CRule]], infos: dict[str, RulesetInfo],
                 foreign: dict[str, str]):
        self.schema = schema
        self.cls = cls
        self.brwf = brwf
        self.rulesets = MappingProxyType(infos)
        self._rules = compiled
        self._foreign = foreign
        self._fast = schema._fast
        cyclic = cyclic_rulesets({n: _callees(rules) for n, rules in compiled.items()})
        gen = Generator(compiled, foreign, cls, cyclic)
        self._chain = bool(cyclic)
        self.source = gen.source
        self._fns = gen.entry_functions
        self._index_stats = gen.stats

    # -- evaluation ----------------------------------------------------------------------

    def match(self, entry: str, entity: dict[str, Any], trace: int = 0) -> MatchResult:
        """Evaluate `entity` against ruleset `entry` (SPEC §3).

        `entity` is complete and converted, as convert_entity returns it (plus step and
        stepfailed for a workflow); a missing attribute raises MatchError when a rule needs
        it. trace: 0 none, 1 rules, 2 rules and terms (MatchResult.visits).
        """
        if trace:
            return run_traced(self, entry, entity, trace)
        fn = self._fns.get(entry)
        if fn is None:
            raise self.unknown_entry(entry)
        T: dict[str, None] = {}
        P: dict[str, str] = {}
        try:
            fn(entity, T, P, [] if self._chain else ())
        except EVALUATION_FAILURES as ex:
            raise evaluation_error(ex) from None
        return MatchResult(list(T), P, None)

    def unknown_entry(self, entry: str) -> MatchError:
        if entry in self._foreign:
            return MatchError(f"ruleset {entry} is of class {self._foreign[entry]}, "
                              f"not {self.cls}", INVALID, "ruleset", (entry,))
        return MatchError(f"ruleset {entry} does not exist in class {self.cls}", NOT_FOUND,
                          "ruleset", (entry,))

    def convert_entity(self, entity: Any, workflow: bool = False,
                       path: str = "entity") -> dict[str, Any]:
        """convert_entity with this family's prepared converter."""
        return convert_entity(self.schema, entity, workflow, path)

    def entity_converter(self, workflow: bool = False) -> EntityConverter:
        return self.schema.entity_converter(workflow)

    # -- introspection -------------------------------------------------------------------

    def compiled_rules(self, name: str) -> list[CRule]:
        return self._rules[name]

    def foreign_class(self, name: str) -> str | None:
        return self._foreign.get(name)

    def index_stats(self) -> dict[str, str]:
        """How each ruleset was indexed (for tests and curiosity)."""
        return dict(self._index_stats)

    @property
    def step_values(self) -> tuple[str, ...]:
        """The values of a workflow schema's `step` attribute (START and every task)."""
        spec = self.schema.info.attrs.get("step")
        return spec.vals if spec is not None else ()

    def steps_of(self, name: str) -> list[dict[str, Any]]:
        """The transitions of a workflow, one per rule: {"rule", "from" (steps, [] = any),
        "stepfailed" (True/False/None = either), "tasks", "nextstep", "done", "calls"}."""
        out = []
        for rule in self._rules[name]:
            steps, ne_steps, failed = [], [], None
            for t in rule.terms:
                if t.attr == "step" and not t.is_tag:
                    if t.op == "eq":
                        steps.append(t.lit)
                    elif t.op == "ne":
                        ne_steps.append(t.lit)
                elif t.attr == "stepfailed" and not t.is_tag and t.op in ("eq", "ne"):
                    failed = t.lit if t.op == "eq" else not t.lit
            props = dict(rule.props)
            out.append({"rule": rule.index, "from": steps, "not_from": ne_steps,
                        "stepfailed": failed, "tasks": list(rule.tasks),
                        "nextstep": props.get("nextstep"), "done": props.get("done") == "true",
                        "calls": [c for c in (rule.thencall, rule.elsecall) if c]})
        return out
