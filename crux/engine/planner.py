"""The index planner: where a ruleset dispatches on the value of an attribute.

A plan is a tree. A `Leaf` is rules tested one after the other; a `Dispatch` reads one attribute
and goes to the branch for its value, or to the default branch for any other value. A branch
holds, in the original order, only the rules that can still match for that value, with the
terms the value decides folded away; a rule that can no longer match but has an `elsecall`
keeps just its call. So a plan evaluates exactly like the rules in order (SPEC §3); the
property tests check that against two plain interpreters whatever the weights below say.

The weights below only choose between plans, never change a result. They are relative costs
of the generated Python, in units of "one rule tested by one comparison"; bench/engine_bench.py
measures the speed they buy against a plain interpreter (workflow-1000, flat-1000, ...).
"""
from __future__ import annotations

from typing import Any

from .model import CRule, CTerm
from .values import COMPARE

# An item is a rule with the terms still to test: None when only its elsecall is left (the
# rule is decided false), () when nothing is left to test (decided true).
Terms = tuple[CTerm, ...] | None
Item = tuple[CRule, Terms]

# ---- cost of testing rules one after the other --------------------------------------------
RULE_COST = 1.0           # a rule with terms: its first comparison, and the branch on it
EXTRA_TERM_COST = 0.3     # each further term: reached only while the ones before hold (`and`)
DECIDED_RULE_COST = 0.5   # a rule with nothing left to test: its actions run unconditionally
ELSECALL_ONLY_COST = 0.3  # a rule decided false that keeps its elsecall: one call line, no test

# ---- cost of a dispatch ------------------------------------------------------------------------
INLINE_KEYS = 3           # up to this many values: an if/elif chain inside the function ...
INLINE_DISPATCH_COST = 0.5
TABLE_DISPATCH_COST = 1.5  # ... more: a dict of branch functions, a lookup and a call

# ---- when a dispatch is made -------------------------------------------------------------------
MAX_DEPTH = 3             # dispatches nest at most this deep (e.g. step, then branch, then ...)
MIN_INDEX_RULES = 3       # a part with fewer rules still to test stays linear
# A dispatch must pay: its expected cost below this share of the linear cost, less a margin,
# so that an index saving a fraction of a comparison is not worth the extra code.
MIN_SAVING_SHARE = 0.75
MIN_SAVING = 0.5
# Rules without a term on the attribute are copied into every branch: a dispatch may emit at
# most COPY_FACTOR times the part's rules plus COPY_SLACK, so the generated code stays small.
COPY_FACTOR = 4
COPY_SLACK = 64


class Leaf:
    __slots__ = ("items",)

    def __init__(self, items: list[Item]):
        self.items = items


class Dispatch:
    __slots__ = ("attr", "keys", "groups", "default")

    def __init__(self, attr: str, keys: list[Any], groups: list[Plan], default: Plan):
        self.attr, self.keys, self.groups, self.default = attr, keys, groups, default


Plan = Leaf | Dispatch


class _Other:
    """The value of a dispatched attribute in the default branch: none of the keys."""


_OTHER = _Other()


def _fold(items: list[Item], attr: str, known: Any, keyset: frozenset[Any]) -> list[Item]:
    """Items with the terms on `attr` decided: its value is `known`, or (known is _OTHER)
    a value outside keyset. A decided-false rule keeps only its elsecall, if any."""
    out: list[Item] = []
    for rule, terms in items:
        if terms is None:
            out.append((rule, None))
            continue
        rest = []
        false = False
        for t in terms:
            if t.attr == attr and not t.is_tag:
                if known is _OTHER:
                    if t.op in ("eq", "ne") and t.lit in keyset:
                        if t.op == "eq":
                            false = True
                            break
                        continue
                    rest.append(t)
                    continue
                if not COMPARE[t.op](known, t.lit):
                    false = True
                    break
                continue
            rest.append(t)
        if false:
            if rule.elsecall:
                out.append((rule, None))
        else:
            out.append((rule, tuple(rest)))
    return out


def linear_cost(items: list[Item]) -> float:
    """What testing `items` one after the other costs, up to the first rule that surely returns."""
    c = 0.0
    for rule, terms in items:
        if terms is None:
            c += ELSECALL_ONLY_COST
        elif terms:
            c += RULE_COST + EXTRA_TERM_COST * (len(terms) - 1)
        else:
            c += DECIDED_RULE_COST
        if terms is not None and (rule.willreturn or rule.willexit) and not terms:
            break
    return c


def _partition(items: list[Item], attr: str
               ) -> tuple[list[Any], list[list[Item]], list[Item], int] | None:
    """The branches of a dispatch on `attr`: (keys, groups, default, size), or None when it
    would copy too many rules. Built in one pass: a rule testing `attr` only with `eq` goes to
    its key's branch alone; the other rules are decided per key."""
    keys: list[Any] = []
    keyset: set[Any] = set()
    for _rule, terms in items:
        for t in terms or ():
            if t.attr == attr and not t.is_tag and t.op in ("eq", "ne") and t.lit not in keyset:
                keyset.add(t.lit)
                keys.append(t.lit)
    specific: dict[Any, list[tuple[int, Item]]] = {k: [] for k in keys}
    shared: list[tuple[int, Item]] = []      # copied into every branch as they are
    general: list[tuple[int, Item]] = []     # decided per branch
    elsecalls: list[tuple[int, CRule, Any]] = []   # eq-only rules with an elsecall, and their key
    default: list[Item] = []
    frozen = frozenset(keyset)
    for pos, (rule, terms) in enumerate(items):
        on = [t for t in terms or () if t.attr == attr and not t.is_tag]
        if not on:
            shared.append((pos, (rule, terms)))
            default.append((rule, terms))
            continue
        if terms is not None and all(t.op == "eq" for t in on):
            lits = {t.lit for t in on}
            if len(lits) == 1:
                rest = tuple(t for t in terms if not (t.attr == attr and not t.is_tag))
                lit = next(iter(lits))
                specific[lit].append((pos, (rule, rest)))
                if rule.elsecall:       # every other branch keeps just the elsecall
                    elsecalls.append((pos, rule, lit))
                    default.append((rule, None))
                continue
        general.append((pos, (rule, terms)))
        default.extend(_fold([(rule, terms)], attr, _OTHER, frozen))
    size = ((len(keys) + 1) * (len(shared) + len(general) + len(elsecalls))
            + sum(map(len, specific.values())))
    if size > COPY_FACTOR * len(items) + COPY_SLACK:
        return None
    groups = []
    for k in keys:
        merged = list(shared)
        merged.extend(specific[k])
        for pos, item in general:
            merged.extend((pos, it) for it in _fold([item], attr, k, frozen))
        merged.extend((pos, (rule, None)) for pos, rule, lit in elsecalls if lit != k)
        merged.sort(key=lambda pi: pi[0])
        groups.append([it for _, it in merged])
    return keys, groups, default, size


def plan(items: list[Item], depth: int = 0) -> Plan:
    """The cheapest plan for `items`: a dispatch on the attribute whose branches cost least
    on average (every key and `any other value` taken as equally likely), when it pays."""
    live = [it for it in items if it[1]]
    if depth >= MAX_DEPTH or len(live) < MIN_INDEX_RULES:
        return Leaf(items)
    base = linear_cost(items)
    candidates: list[str] = []
    for _rule, terms in live:
        for t in terms or ():
            if not t.is_tag and t.op == "eq" and t.attr not in candidates:
                candidates.append(t.attr)
    best = None
    for attr in candidates:
        parts = _partition(items, attr)
        if parts is None:
            continue
        keys, groups, default, _size = parts
        expected = (sum(linear_cost(g) for g in groups) + linear_cost(default)) / (len(keys) + 1)
        expected += INLINE_DISPATCH_COST if len(keys) <= INLINE_KEYS else TABLE_DISPATCH_COST
        if best is None or expected < best[0]:
            best = (expected, attr, keys, groups, default)
    if best is None or best[0] > MIN_SAVING_SHARE * base - MIN_SAVING:
        return Leaf(items)
    _, attr, keys, groups, default = best
    return Dispatch(attr, keys, [plan(g, depth + 1) for g in groups], plan(default, depth + 1))


def describe(node: Plan) -> str:
    """A plan in a few words (CompiledFamily.index_stats): `index(step:4) -> linear(3)`."""
    if isinstance(node, Leaf):
        return f"linear({len(node.items)})"
    inner = {describe(g) for g in node.groups}
    sub = next(iter(inner)) if len(inner) == 1 else "mixed"
    return f"index({node.attr}:{len(node.keys)}) -> {sub}"
