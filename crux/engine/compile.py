"""Compiling a family of rulesets (one realm, slice, app, class) into Python functions.

Every ruleset becomes a generated function `rs<k>(e, T, P, C)`:
    e  the converted entity (attribute -> typed value)
    T  the tasks so far, a dict used as an ordered set (insertion order = task order)
    P  the properties so far
    C  the call chain (indices), kept only for rulesets on a static call cycle
It returns True when the evaluation exited (willexit, here or in a callee).

Literals are converted once; every term is a direct comparison. Rules are indexed by their
equality terms: a ruleset (or a part of it) dispatches on the value of an attribute that many
rules test with `eq`, and each branch holds only the rules that can still match for that
value, in their original order, with the terms already decided by the value folded away.
Rules that cannot match but carry an `elsecall` keep just the call. The result is therefore
the one of evaluating every rule in order (SPEC §3); the traced path in trace.py evaluates
every rule literally and the tests check both against a reference interpreter.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from .entity import FAST_FAILURES, EntityConverter, convert_slow
from .model import (EVALUATION_FAILURES, INVALID, NOT_FOUND, MatchError, MatchResult, Problem,
                    RulesetInfo, ValidationFailed, callee_error, cycle_error, evaluation_error)
from .paths import join
from .rules import check_rule, normalize_rules
from .schema import SchemaInfo, normalize_schema, validate_schema
from .trace import run_traced
from .values import COMPARE, convert_literal, is_ident

_PYOP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}

# planner limits: how deep dispatches nest, the smallest part worth indexing, how many
# rule copies a dispatch may emit (rules without a term on the attribute go in every branch)
MAX_DEPTH = 3
MIN_INDEX_RULES = 3
INLINE_KEYS = 3


class CTerm:
    """One compiled term: attribute (or task tag), operator, converted literal."""

    __slots__ = ("attr", "is_tag", "op", "lit", "raw")

    def __init__(self, attr, is_tag, op, lit, raw):
        self.attr, self.is_tag, self.op, self.lit, self.raw = attr, is_tag, op, lit, raw


class CRule:
    """One compiled rule with its actions."""

    __slots__ = ("index", "terms", "tasks", "props", "thencall", "elsecall", "willreturn",
                 "willexit")

    def __init__(self, index, terms, acts):
        self.index = index
        self.terms = tuple(terms)
        self.tasks = tuple(acts["tasks"])
        self.props = tuple(acts["properties"].items())
        self.thencall = acts["thencall"]
        self.elsecall = acts["elsecall"]
        self.willreturn = acts["willreturn"]
        self.willexit = acts["willexit"]


class CompiledSchema(dict):
    """A normalized schema document (a plain dict to callers) carrying its entity converters,
    so `convert_entity(family.schema, ...)` needs no per-call preparation."""

    __slots__ = ("info", "_converters", "_fast")

    def entity_converter(self, workflow: bool = False) -> EntityConverter:
        return self._converters[bool(workflow)]


def make_compiled_schema(schema: dict) -> CompiledSchema:
    doc = CompiledSchema(normalize_schema(schema))
    doc.info = SchemaInfo(doc)
    doc._converters = (EntityConverter(doc.info, False), EntityConverter(doc.info, True))
    # the converters' fast paths at hand: convert_entity saves a call per entity
    doc._fast = (doc._converters[0].fast, doc._converters[1].fast)
    return doc


def convert_entity(schema, entity: dict, workflow: bool = False, path: str = "entity") -> dict:
    """The entity with every value converted to its schema type (SPEC §2.3).

    Raises ValidationFailed with every problem. `schema` is a schema document, or a
    family's `schema` (or the family itself), whose prepared converter is then used.
    """
    try:
        fast = schema._fast[workflow]
    except AttributeError:
        out, problems = convert_slow(SchemaInfo(schema), entity, workflow, path)
        if problems:
            raise ValidationFailed(problems)
        return out
    try:
        return fast(entity)
    except FAST_FAILURES:
        pass
    raise ValidationFailed(schema.entity_converter(workflow).problems(entity, path))


# --------------------------------------------------------------------------------------------
# compile_family
# --------------------------------------------------------------------------------------------

def compile_family(schema: dict, rulesets: Mapping[str, dict], cls: str, brwf: str, *,
                   foreign: Mapping[str, str] | None = None) -> "CompiledFamily":
    """Compile every ruleset of one (realm, slice, app, class).

    rulesets: name -> {"rules": [...], "is_active": bool, "is_internal": bool}
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
            here = join("rulesets", name, i)
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
                                  rules=tuple(rules), calls=_callees(crules))
    if problems:
        raise ValidationFailed(problems)
    return CompiledFamily(cschema, cls, brwf, compiled, infos, foreign)


def _callees(crules) -> tuple:
    """The rulesets these rules call (thencall or elsecall), in first-use order."""
    return tuple(dict.fromkeys(c for r in crules for c in (r.thencall, r.elsecall) if c))


def _cyclic(graph: dict[str, tuple]) -> set[str]:
    """Rulesets on a static call cycle (Tarjan's strongly connected components, iterative;
    callees outside `graph` are ignored)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: set[str] = set()
    work: list = []          # the depth-first path: (node, iterator over its callees)

    def push(v):
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
        gen = _Generator(compiled, foreign, cls)
        self._chain = bool(gen.cyclic)
        self.source = gen.source
        self._fns = gen.entry_functions
        self._index_stats = gen.stats

    # -- evaluation ----------------------------------------------------------------------

    def match(self, entry: str, entity: dict, trace: int = 0) -> MatchResult:
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
        T: dict = {}
        P: dict = {}
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

    def convert_entity(self, entity: dict, workflow: bool = False,
                       path: str = "entity") -> dict:
        """convert_entity with this family's prepared converter."""
        return convert_entity(self.schema, entity, workflow, path)

    def entity_converter(self, workflow: bool = False) -> EntityConverter:
        return self.schema.entity_converter(workflow)

    # -- introspection -------------------------------------------------------------------

    def compiled_rules(self, name: str) -> list[CRule]:
        return self._rules[name]

    def foreign_class(self, name: str) -> str | None:
        return self._foreign.get(name)

    def index_stats(self) -> dict:
        """How each ruleset was indexed (for tests and curiosity)."""
        return dict(self._index_stats)

    @property
    def step_values(self) -> tuple[str, ...]:
        """The values of a workflow schema's `step` attribute (START and every task)."""
        spec = self.schema.info.attrs.get("step")
        return spec.vals if spec is not None else ()

    def steps_of(self, name: str) -> list[dict]:
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


# --------------------------------------------------------------------------------------------
# planning: where to dispatch on an attribute's value
# --------------------------------------------------------------------------------------------

class Leaf:
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items


class Dispatch:
    __slots__ = ("attr", "keys", "groups", "default")

    def __init__(self, attr, keys, groups, default):
        self.attr, self.keys, self.groups, self.default = attr, keys, groups, default


def _fold(items, attr, known, keyset):
    """Items with the terms on `attr` decided: its value is `known`, or (known is _OTHER)
    a value outside keyset. A decided-false rule keeps only its elsecall, if any."""
    out = []
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


_OTHER = object()


def _cost(items) -> float:
    c = 0.0
    for rule, terms in items:
        if terms is None:
            c += 0.3
        elif terms:
            c += 1.0 + 0.3 * (len(terms) - 1)
        else:
            c += 0.5
        if terms is not None and (rule.willreturn or rule.willexit) and not terms:
            break
    return c


def _partition(items, attr):
    """The branches of a dispatch on `attr`: (keys, groups, default, size), or None when it
    would copy too many rules. Built in one pass: a rule testing `attr` only with `eq` goes to
    its key's branch alone; the other rules are decided per key."""
    keys: list = []
    keyset: set = set()
    for rule, terms in items:
        for t in terms or ():
            if t.attr == attr and not t.is_tag and t.op in ("eq", "ne") and t.lit not in keyset:
                keyset.add(t.lit)
                keys.append(t.lit)
    specific: dict = {k: [] for k in keys}
    shared: list = []        # (position, item) copied into every branch as it is
    general: list = []       # (position, item) decided per branch
    elsecalls: list = []     # (position, rule, its key) of eq-only rules with an elsecall
    default: list = []
    for pos, (rule, terms) in enumerate(items):
        on = [t for t in terms or () if t.attr == attr and not t.is_tag]
        if not on:
            shared.append((pos, (rule, terms)))
            default.append((rule, terms))
            continue
        if all(t.op == "eq" for t in on):
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
        default.extend(_fold([(rule, terms)], attr, _OTHER, keyset))
    frozen = frozenset(keyset)
    size = ((len(keys) + 1) * (len(shared) + len(general) + len(elsecalls))
            + sum(map(len, specific.values())))
    if size > 4 * len(items) + 64:
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


def _plan(items, depth: int = 0):
    live = [it for it in items if it[1]]
    if depth >= MAX_DEPTH or len(live) < MIN_INDEX_RULES:
        return Leaf(items)
    base = _cost(items)
    candidates: list[str] = []
    for rule, terms in live:
        for t in terms:
            if not t.is_tag and t.op == "eq" and t.attr not in candidates:
                candidates.append(t.attr)
    best = None
    for attr in candidates:
        parts = _partition(items, attr)
        if parts is None:
            continue
        keys, groups, default, _size = parts
        expected = (sum(_cost(g) for g in groups) + _cost(default)) / (len(keys) + 1)
        expected += 0.5 if len(keys) <= INLINE_KEYS else 1.5
        if best is None or expected < best[0]:
            best = (expected, attr, keys, groups, default)
    if best is None or best[0] > 0.75 * base - 0.5:
        return Leaf(items)
    _, attr, keys, groups, default = best
    return Dispatch(attr, keys, [_plan(g, depth + 1) for g in groups],
                    _plan(default, depth + 1))


# --------------------------------------------------------------------------------------------
# code generation
# --------------------------------------------------------------------------------------------

class _Generator:
    """Writes the Python source of a family and executes it."""

    def __init__(self, compiled: dict[str, list[CRule]], foreign: dict, cls: str):
        self.compiled = compiled
        self.names = list(compiled)
        self.num = {n: k for k, n in enumerate(self.names)}
        self.foreign = foreign
        self.cls = cls
        self.env: dict = {"_callee_error": callee_error, "_cycle_error": cycle_error}
        self.consts: dict = {}
        self.chunks: list[str] = []
        self.dicts: list[tuple[str, list, str]] = []
        self.counter = 0
        self.stats: dict[str, str] = {}
        self.cyclic = _cyclic({n: _callees(rules) for n, rules in compiled.items()})
        for name in self.names:
            self._ruleset(name)
        self.source = "\n".join(self.chunks) + "\n"
        exec(compile(self.source, "<crux rules>", "exec"), self.env)  # noqa: S102
        for dname, pairs, default in self.dicts:
            self.env[dname] = {k: self.env[f] for k, f in pairs}
            self.env[dname + "_"] = self.env[default]
        self.entry_functions = {n: self.env[f"rs{self.num[n]}"] for n in self.names}

    def _fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _const(self, value) -> str:
        if value is None or isinstance(value, (int, float, str)):     # bool is an int
            return repr(value)
        key = (type(value), value)
        name = self.consts.get(key)
        if name is None:
            name = f"K{len(self.consts)}"
            self.consts[key] = name
            self.env[name] = value
        return name

    def _ruleset(self, name: str):
        k = self.num[name]
        rules = self.compiled[name]
        plan = _plan([(r, r.terms) for r in rules])
        self.stats[name] = _describe(plan)
        if name in self.cyclic:
            body = f"b{k}"
            self._function(body, plan, name)
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
            self._function(f"rs{k}", plan, name)

    def _function(self, fname: str, node, rsname: str):
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

    def _value(self, attr: str, bound) -> str:
        return f"a_{attr}" if attr in bound else f"e[{attr!r}]"

    def _node(self, node, ind: int, out: list, bound, rsname: str):
        pad = "    " * ind
        if isinstance(node, Leaf):
            self._items(node.items, ind, out, bound, rsname)
            return
        if len(node.keys) > INLINE_KEYS:
            dname = self._fresh("d")
            pairs = []
            for key, group in zip(node.keys, node.groups):
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
        for j, (key, group) in enumerate(zip(node.keys, node.groups)):
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

    def _term(self, t: CTerm, bound) -> str:
        if t.is_tag:
            inside = (t.op == "eq") == bool(t.lit)
            return f"{t.attr!r} {'in' if inside else 'not in'} T"
        return f"{self._value(t.attr, bound)} {_PYOP[t.op]} {self._const(t.lit)}"

    def _call(self, rsname: str, rule: CRule, key: str, callee: str, pad: str) -> str:
        if callee in self.num:
            return f"{pad}if rs{self.num[callee]}(e, T, P, C): return True"
        return (f"{pad}raise _callee_error({rsname!r}, {rule.index}, {key!r}, {callee!r}, "
                f"{self.foreign.get(callee)!r}, {self.cls!r})")

    def _items(self, items, ind: int, out: list, bound, rsname: str):
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
            for t in rule.tasks:
                out.append(f"{inner}T[{t!r}] = None")
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


def _count_uses(node, uses: dict):
    """Attribute reads in the code of one generated function (dict dispatches excluded)."""
    if isinstance(node, Leaf):
        for rule, terms in node.items:
            for t in terms or ():
                if not t.is_tag:
                    uses[t.attr] = uses.get(t.attr, 0) + 1
        return
    uses[node.attr] = uses.get(node.attr, 0) + (1 if len(node.keys) > INLINE_KEYS else 2)
    if len(node.keys) <= INLINE_KEYS:
        for g in node.groups:
            _count_uses(g, uses)
        _count_uses(node.default, uses)


def _describe(node) -> str:
    if isinstance(node, Leaf):
        return f"linear({len(node.items)})"
    inner = {_describe(g) for g in node.groups}
    sub = next(iter(inner)) if len(inner) == 1 else "mixed"
    return f"index({node.attr}:{len(node.keys)}) -> {sub}"

