"""The SPEC §3 trace: exact structure at levels 1 and 2 for call, return and exit."""
from __future__ import annotations

import datetime as dt

from crux.engine import convert_entity, make_tracedata

from . import reference
from .helpers import canonical_rulesets, family_of

SCHEMA = {
    "class": "order",
    "patternschema": [
        {"attr": "amount", "valtype": "float"},
        {"attr": "qty", "valtype": "int"},
        {"attr": "member", "valtype": "bool"},
        {"attr": "placed", "valtype": "ts"}],
    "actionschema": {"tasks": ["a", "b", "c", "gift", "audit"], "properties": ["level"]}}


def rule(pattern, tasks=(), props=None, **acts):
    return {"rulepattern": [{"attr": a, "op": o, "val": v} for a, o, v in pattern],
            "ruleactions": {"tasks": list(tasks), "properties": props or {}, **acts}}


# main calls sub (which returns), then a rule fails, then an elsecall reaches sub2, which exits
RULESETS = {
    "main": {"rules": [
        rule([("member", "eq", True)], ["a"], {"level": "1"}, thencall="sub"),
        rule([("qty", "gt", 100)], ["b"]),
        rule([("qty", "eq", 0)], ["c"], elsecall="sub2"),
        rule([], ["b"])]},
    "sub": {"rules": [
        rule([("amount", "gt", 1000)], ["c"]),
        rule([], ["gift"], {"level": "2"}, willreturn=True),
        rule([], ["c"])]},
    "sub2": {"rules": [
        rule([("a", "eq", True), ("placed", "lt", "2026-02-01T01:00:00+02:00")], ["audit"],
             willexit=True),
        rule([], ["c"])]},
}
ENTITY = {"amount": 99.5, "qty": 3, "member": "true", "placed": "2026-01-31T11:00:00+01:00"}

LEVEL1 = [
    {"ruleset": "main", "rules": [{"r": 0, "res": "+c", "nextset": "sub"}]},
    {"ruleset": "sub", "rules": [{"r": 0, "res": "-"}, {"r": 1, "res": "<"}]},
    {"ruleset": "main", "rules": [{"r": 1, "res": "-"},
                                  {"r": 2, "res": "-c", "nextset": "sub2", "after": "<<"}]},
    {"ruleset": "sub2", "rules": [{"r": 0, "res": "<<"}]},
]

AS_A = {"tasks": ["a"], "properties": {"level": "1"}}
AS_GIFT = {"tasks": ["a", "gift"], "properties": {"level": "2"}}
AS_END = {"tasks": ["a", "gift", "audit"], "properties": {"level": "2"}}
LEVEL2 = [
    {"ruleset": "main", "rules": [
        {"r": 0, "res": "+c", "nextset": "sub",
         "terms": [{"attr": "member", "val": True, "op": "eq", "ruleval": True, "ok": True}],
         "actionset": AS_GIFT}]},
    {"ruleset": "sub", "rules": [
        {"r": 0, "res": "-",
         "terms": [{"attr": "amount", "val": 99.5, "op": "gt", "ruleval": 1000, "ok": False}],
         "actionset": AS_A},
        {"r": 1, "res": "<", "terms": [], "actionset": AS_GIFT}]},
    {"ruleset": "main", "rules": [
        {"r": 1, "res": "-",
         "terms": [{"attr": "qty", "val": 3, "op": "gt", "ruleval": 100, "ok": False}],
         "actionset": AS_GIFT},
        {"r": 2, "res": "-c", "nextset": "sub2", "after": "<<",
         "terms": [{"attr": "qty", "val": 3, "op": "eq", "ruleval": 0, "ok": False}],
         "actionset": AS_END}]},
    {"ruleset": "sub2", "rules": [
        {"r": 0, "res": "<<",
         "terms": [{"attr": "a", "val": True, "op": "eq", "ruleval": True, "ok": True},
                   {"attr": "placed", "val": "2026-01-31T10:00:00Z", "op": "lt",
                    "ruleval": "2026-02-01T01:00:00+02:00", "ok": True}],
         "actionset": AS_END}]},
]


def _run(trace):
    family = family_of(SCHEMA, RULESETS)
    return family.match("main", convert_entity(family.schema, ENTITY), trace)


def test_no_trace_gives_no_visits():
    res = _run(0)
    assert res.visits is None
    assert (res.tasks, res.properties) == (AS_END["tasks"], AS_END["properties"])


def test_level1_exact():
    res = _run(1)
    assert res.visits == LEVEL1
    assert (res.tasks, res.properties) == (AS_END["tasks"], AS_END["properties"])


def test_level2_exact():
    assert _run(2).visits == LEVEL2


def test_trace_keys_keep_their_order():
    # the API sends keys in the order written (no sorting): terms before after, actionset last
    rules = [r for block in _run(2).visits for r in block["rules"]]
    assert [list(r) for r in rules] == [
        ["r", "res", "nextset", "terms", "actionset"], ["r", "res", "terms", "actionset"],
        ["r", "res", "terms", "actionset"], ["r", "res", "terms", "actionset"],
        ["r", "res", "nextset", "terms", "after", "actionset"], ["r", "res", "terms", "actionset"]]


def test_reference_gives_the_same_trace():
    family = family_of(SCHEMA, RULESETS)
    entity = convert_entity(family.schema, ENTITY)
    for level, want in ((1, LEVEL1), (2, LEVEL2)):
        _, _, visits = reference.interpret(SCHEMA, canonical_rulesets(RULESETS), "main",
                                           entity, level)
        assert visits == want


def test_call_then_return_and_callee_exit_marks():
    rulesets = {
        "main": {"rules": [rule([], ["a"], thencall="sub", willreturn=True), rule([], ["b"])]},
        "sub": {"rules": [rule([], ["c"])]},
    }
    family = family_of(SCHEMA, rulesets)
    e = convert_entity(family.schema, ENTITY)
    assert family.match("main", e, 1).visits == [
        {"ruleset": "main", "rules": [{"r": 0, "res": "+c", "nextset": "sub", "after": "<"}]},
        {"ruleset": "sub", "rules": [{"r": 0, "res": "+"}]},
    ]
    rulesets["sub"] = {"rules": [rule([], ["c"], willexit=True)]}
    rulesets["main"]["rules"][0]["ruleactions"]["willreturn"] = False
    family = family_of(SCHEMA, rulesets)
    assert family.match("main", e, 1).visits == [
        {"ruleset": "main", "rules": [{"r": 0, "res": "+c", "nextset": "sub", "after": "<<"}]},
        {"ruleset": "sub", "rules": [{"r": 0, "res": "<<"}]},
    ]
    rulesets["sub"] = {"rules": [rule([], ["c"])]}
    rulesets["main"]["rules"][0]["ruleactions"]["willexit"] = True
    family = family_of(SCHEMA, rulesets)
    assert family.match("main", e, 1).visits == [
        {"ruleset": "main", "rules": [{"r": 0, "res": "+c", "nextset": "sub", "after": "<<"}]},
        {"ruleset": "sub", "rules": [{"r": 0, "res": "+"}]},
    ]


def test_no_block_when_caller_has_no_rules_left():
    rulesets = {"main": {"rules": [rule([], ["a"]), rule([], ["b"], thencall="sub")]},
                "sub": {"rules": [rule([], ["c"])]}}
    family = family_of(SCHEMA, rulesets)
    visits = family.match("main", convert_entity(family.schema, ENTITY), 1).visits
    assert visits == [
        {"ruleset": "main", "rules": [{"r": 0, "res": "+"},
                                      {"r": 1, "res": "+c", "nextset": "sub"}]},
        {"ruleset": "sub", "rules": [{"r": 0, "res": "+"}]},
    ]


def test_make_tracedata():
    res = _run(1)
    start = dt.datetime(2026, 1, 31, 10, 0, 0, 123456, tzinfo=dt.UTC)
    end = dt.datetime(2026, 1, 31, 11, 0, 0, 7, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    data = make_tracedata(res, start=start, end=end, realm="r", app="a", slice=1, cls="order",
                          entry="main")
    assert data == {"start": "2026-01-31T10:00:00.123456Z", "end": "2026-01-31T10:00:00.000007Z",
                    "realm": "r", "app": "a", "slice": 1, "class": "order",
                    "entryruleset": "main", "visits": LEVEL1}
