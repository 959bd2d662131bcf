"""The traced evaluation path and the SPEC §3 trace object.

Tracing evaluates every rule literally, in order, term by term (no index), recording one
block per visit to a ruleset. It shares the compiled terms (converted literals) with the fast
path, and the tests check that both give the same action set.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crux.common.formats import format_timestamp

from .model import EVALUATION_FAILURES, CRule, MatchResult, callee_error, cycle_error, evaluation_error
from .values import COMPARE, json_value

if TYPE_CHECKING:
    from .compile import CompiledFamily


def run_traced(family: CompiledFamily, entry: str, entity: dict[str, Any], level: int) -> MatchResult:
    """Evaluate with a trace at `level` 1 (rules) or 2 and above (rules, terms, action sets)."""
    tasks: dict[str, None] = {}
    props: dict[str, str] = {}
    visits: list[dict[str, Any]] = []
    chain: list[str] = []
    detailed = level >= 2

    def call(caller: str | None, index: int, key: str, name: str) -> bool:
        if name in chain:
            raise cycle_error(chain[chain.index(name):] + [name])
        try:
            rules = family.compiled_rules(name)
        except KeyError:
            if caller is None:
                raise family.unknown_entry(name) from None
            raise callee_error(caller, index, key, name, family.foreign_class(name),
                               family.cls) from None
        chain.append(name)
        exited = run(name, rules)
        chain.pop()
        return exited

    def snapshot() -> dict[str, Any]:
        return {"tasks": list(tasks), "properties": dict(props)}

    def run(name: str, rules: Sequence[CRule]) -> bool:
        block: dict[str, Any] | None = None
        for rule in rules:
            ok = True
            terms: list[dict[str, Any]] = []
            for t in rule.terms:
                if t.is_tag:
                    val = t.attr in tasks
                else:
                    val = entity[t.attr]
                held = COMPARE[t.op](val, t.lit)
                if detailed:
                    terms.append({"attr": t.attr, "val": json_value(val), "op": t.op,
                                  "ruleval": t.raw, "ok": bool(held)})
                if not held:
                    ok = False
                    break
            if block is None:
                block = {"ruleset": name, "rules": []}
                visits.append(block)
            rec: dict[str, Any] = {"r": rule.index}
            block["rules"].append(rec)
            if ok:
                for task in rule.tasks:
                    tasks[task] = None
                for k, v in rule.props:
                    props[k] = v
            nextset = rule.thencall if ok else rule.elsecall
            if nextset:
                rec["res"] = "+c" if ok else "-c"
                rec["nextset"] = nextset
            else:
                rec["res"] = "-" if not ok else "<<" if rule.willexit else "<" if rule.willreturn else "+"
            if detailed:
                rec["terms"] = terms
            exits, returns = ok and rule.willexit, ok and rule.willreturn
            if nextset:
                exits = call(name, rule.index, "thencall" if ok else "elsecall", nextset) or exits
                block = None        # the rules after a call go in a new block
                if exits or returns:
                    rec["after"] = "<<" if exits else "<"
            if detailed:
                rec["actionset"] = snapshot()
            if exits:
                return True
            if returns:
                return False
        return False

    try:
        call(None, -1, "", entry)
    except EVALUATION_FAILURES as ex:
        raise evaluation_error(ex) from None
    return MatchResult(list(tasks), props, visits)


def make_tracedata(result: MatchResult, *, start: _dt.datetime, end: _dt.datetime, realm: str,
                   app: str, slice: int, cls: str, entry: str) -> dict[str, Any]:
    """The full trace object of SPEC §3 (`tracedata`)."""
    return {"start": format_timestamp(start, micro=True), "end": format_timestamp(end, micro=True),
            "realm": realm, "app": app, "slice": slice, "class": cls,
            "entryruleset": entry, "visits": result.visits if result.visits is not None else []}
