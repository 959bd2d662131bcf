"""The code generator: a family's plans written as Python source, compiled and executed.

Every ruleset becomes a function `rs<k>(e, T, P, C)`:
    e  the converted entity (attribute -> typed value)
    T  the tasks so far, a dict used as an ordered set (insertion order = task order)
    P  the properties so far
    C  the call chain (indices), kept only for rulesets on a static call cycle
It returns True when the evaluation exited (willexit, here or in a callee).

Only identifiers (checked against the identifier pattern) and `repr()`'d literals reach the
source; other literals (timestamps) are bound as constants of the generated module.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crux.common.formats import is_ident

from .model import CRule, CTerm, callee_error, cycle_error
from .planner import INLINE_KEYS, Item, Leaf, Plan, describe, plan

_PYOP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}

RulesetFunction = Callable[[dict[str, Any], dict[str, None], dict[str, str], Any], bool]


class Generator:
    """Writes the Python source of a family and executes it: `entry_functions` by ruleset name,
    `source` the code, `stats` each ruleset's plan in a few words."""

    def __init__(self, compiled: dict[str, list[CRule]], foreign: dict[str, str], cls: str,
                 cyclic: set[str]):
        self.compiled = compiled
        self.names = list(compiled)
        self.num = {n: k for k, n in enumerate(self.names)}
        self.foreign = foreign
        self.cls = cls
        self.cyclic = cyclic
        self.env: dict[str, Any] = {"_callee_error": callee_error, "_cycle_error": cycle_error}
        self.consts: dict[tuple[type, Any], str] = {}
        self.chunks: list[str] = []
        self.dicts: list[tuple[str, list[tuple[Any, str]], str]] = []
        self.counter = 0
        self.stats: dict[str, str] = {}
        for name in self.names:
            self._ruleset(name)
        self.source = "\n".join(self.chunks) + "\n"
        exec(compile(self.source, "<crux rules>", "exec"), self.env)  # noqa: S102
        for dname, pairs, default in self.dicts:
            self.env[dname] = {k: self.env[f] for k, f in pairs}
            self.env[dname + "_"] = self.env[default]
        self.entry_functions: dict[str, RulesetFunction] = {
            n: self.env[f"rs{self.num[n]}"] for n in self.names}

    def _fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _const(self, value: Any) -> str:
        if value is None or isinstance(value, (int, float, str)):     # bool is an int
            return repr(value)
        key = (type(value), value)
        name = self.consts.get(key)
        if name is None:
            name = f"K{len(self.consts)}"
            self.consts[key] = name
            self.env[name] = value
        return name

    def _ruleset(self, name: str) -> None:
        k = self.num[name]
        rules = self.compiled[name]
        tree = plan([(r, r.terms) for r in rules])
        self.stats[name] = describe(tree)
        if name in self.cyclic:
            body = f"b{k}"
            self._function(body, tree, name)
            self.chunks.append(
                f"def rs{k}(e, T, P, C):\n"
                f"    if {k} in C:\n"
                f"        raise _cycle_error([_NAMES[i] for i in C[C.index({k}):]] + [{name!r}])\n"
                f"    C.append({k})\n"
                f"    r = {body}(e, T, P, C)\n"
                f"    C.pop()\n"
                f"    return r\n")
            self.env["_NAMES"] = self.names
        else:
            self._function(f"rs{k}", tree, name)

    def _function(self, fname: str, node: Plan, rsname: str) -> None:
        uses: dict[str, int] = {}
        _count_uses(node, uses)
        bound = {a for a, c in uses.items() if c >= 2 and is_ident(a)}
        lines = [f"def {fname}(e, T, P, C):"]
        for a in sorted(bound):
            lines.append(f"    a_{a} = e[{a!r}]")
        body: list[str] = []
        self._node(node, 1, body, bound, rsname)
        if not body:
            body.append("    return False")
        lines.extend(body)
        self.chunks.append("\n".join(lines) + "\n")

    def _value(self, attr: str, bound: set[str]) -> str:
        return f"a_{attr}" if attr in bound else f"e[{attr!r}]"

    def _node(self, node: Plan, ind: int, out: list[str], bound: set[str], rsname: str) -> None:
        pad = "    " * ind
        if isinstance(node, Leaf):
            self._items(node.items, ind, out, bound, rsname)
            return
        if len(node.keys) > INLINE_KEYS:
            dname = self._fresh("d")
            pairs = []
            for key, group in zip(node.keys, node.groups, strict=True):
                fname = self._fresh("f")
                self._function(fname, group, rsname)
                pairs.append((key, fname))
            dflt = self._fresh("f")
            self._function(dflt, node.default, rsname)
            self.dicts.append((dname, pairs, dflt))
            out.append(f"{pad}return {dname}.get({self._value(node.attr, bound)}, {dname}_)"
                       "(e, T, P, C)")
            return
        val = self._value(node.attr, bound)
        for j, (key, group) in enumerate(zip(node.keys, node.groups, strict=True)):
            out.append(f"{pad}{'if' if j == 0 else 'elif'} {val} == {self._const(key)}:")
            n = len(out)
            self._node(group, ind + 1, out, bound, rsname)
            if len(out) == n:
                out.append(f"{pad}    pass")
        out.append(f"{pad}else:")
        n = len(out)
        self._node(node.default, ind + 1, out, bound, rsname)
        if len(out) == n:
            out.append(f"{pad}    pass")

    def _term(self, t: CTerm, bound: set[str]) -> str:
        if t.is_tag:
            inside = (t.op == "eq") == bool(t.lit)
            return f"{t.attr!r} {'in' if inside else 'not in'} T"
        return f"{self._value(t.attr, bound)} {_PYOP[t.op]} {self._const(t.lit)}"

    def _call(self, rsname: str, rule: CRule, key: str, callee: str, pad: str) -> str:
        if callee in self.num:
            return f"{pad}if rs{self.num[callee]}(e, T, P, C): return True"
        return (f"{pad}raise _callee_error({rsname!r}, {rule.index}, {key!r}, {callee!r}, "
                f"{self.foreign.get(callee)!r}, {self.cls!r})")

    def _items(self, items: list[Item], ind: int, out: list[str], bound: set[str],
               rsname: str) -> None:
        pad = "    " * ind
        for rule, terms in items:
            if terms is None:
                if rule.elsecall:
                    out.append(self._call(rsname, rule, "elsecall", rule.elsecall, pad))
                continue
            if terms:
                cond = " and ".join(self._term(t, bound) for t in terms)
                out.append(f"{pad}if {cond}:")
                inner = pad + "    "
            else:
                inner = pad
            n = len(out)
            for task in rule.tasks:
                out.append(f"{inner}T[{task!r}] = None")
            for pk, pv in rule.props:
                out.append(f"{inner}P[{pk!r}] = {pv!r}")
            if rule.thencall:
                out.append(self._call(rsname, rule, "thencall", rule.thencall, inner))
            if rule.willexit:
                out.append(f"{inner}return True")
            elif rule.willreturn:
                out.append(f"{inner}return False")
            if terms:
                if len(out) == n:
                    out.append(f"{inner}pass")
                if rule.elsecall:
                    out.append(f"{pad}else:")
                    out.append(self._call(rsname, rule, "elsecall", rule.elsecall, inner))
            elif rule.willexit or rule.willreturn:
                return      # the rest of this branch is unreachable


def _count_uses(node: Plan, uses: dict[str, int]) -> None:
    """Attribute reads in the code of one generated function (dict dispatches excluded)."""
    if isinstance(node, Leaf):
        for _rule, terms in node.items:
            for t in terms or ():
                if not t.is_tag:
                    uses[t.attr] = uses.get(t.attr, 0) + 1
        return
    uses[node.attr] = uses.get(node.attr, 0) + (1 if len(node.keys) > INLINE_KEYS else 2)
    if len(node.keys) <= INLINE_KEYS:
        for g in node.groups:
            _count_uses(g, uses)
        _count_uses(node.default, uses)

