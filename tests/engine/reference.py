"""A plain interpreter of the SPEC §3 algorithm, with the trace, for checking the engine.

Written for clarity and independence from crux.engine: it reads the canonical rules as JSON,
converts each literal when it meets it, and evaluates every rule in order.
"""
from __future__ import annotations

import datetime as dt


class RefError(Exception):
    """The evaluation was aborted; kind is "cycle", "unknown", "foreign", "missing" or
    "compare"."""

    def __init__(self, kind: str, msg: str):
        super().__init__(msg)
        self.kind = kind


def _literal(valtype: str, lit):
    if valtype == "float":
        return float(lit)
    if valtype in ("ts", "timestamp"):
        d = dt.datetime.fromisoformat(lit.replace("Z", "+00:00").replace("z", "+00:00"))
        return d.astimezone(dt.UTC)
    return lit


def _json(value):
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC)
        if value.microsecond:
            return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _compare(left, op, right):
    try:
        if op == "eq":
            return left == right
        if op == "ne":
            return left != right
        if op == "lt":
            return left < right
        if op == "le":
            return left <= right
        if op == "gt":
            return left > right
        if op == "ge":
            return left >= right
    except TypeError as ex:
        raise RefError("compare", str(ex)) from None
    raise RefError("compare", f"unknown operator {op}")


def interpret(schema: dict, rulesets: dict, entry: str, entity: dict, trace: int = 0,
              cls: str | None = None):
    """(tasks, properties, visits) for `entity` (converted values) against `entry`.

    rulesets: name -> {"rules": [...canonical...], "class"?: str}
    visits is None when trace == 0.
    """
    cls = cls or schema.get("class")
    types = {a["attr"]: a["valtype"] for a in schema["patternschema"]}
    known_tasks = set(schema["actionschema"].get("tasks", []))
    tasks: list[str] = []
    props: dict[str, str] = {}
    chain: list[str] = []
    visits: list | None = [] if trace else None

    def term_holds(term, record):
        attr, op, lit = term["attr"], term["op"], term["val"]
        if attr in types:
            if attr not in entity:
                raise RefError("missing", f"no attribute {attr}")
            val = entity[attr]
            ok = _compare(val, op, _literal(types[attr], lit))
        elif attr in known_tasks:
            val = attr in tasks
            ok = _compare(val, op, lit)
        else:
            raise RefError("compare", f"unknown attribute {attr}")
        if record is not None:
            record.append({"attr": attr, "val": _json(val), "op": op, "ruleval": lit,
                           "ok": bool(ok)})
        return ok

    def snapshot():
        return {"tasks": list(tasks), "properties": dict(props)}

    def call(rec, res, callee) -> bool:
        """Run `callee` for a rule recorded in `rec` (res "+c": thencall, "-c": elsecall);
        True when it exited."""
        if rec is not None:
            rec["res"] = res
            rec["nextset"] = callee
        return run(callee)

    def run(name) -> bool:
        if name in chain:
            raise RefError("cycle", f"call cycle at {name}")
        rs = rulesets.get(name)
        if rs is None:
            raise RefError("unknown", f"unknown ruleset {name}")
        if rs.get("class", cls) != cls:
            raise RefError("foreign", f"ruleset {name} is of class {rs['class']}")
        chain.append(name)
        block = None
        for r, rule in enumerate(rs["rules"]):
            acts = rule["ruleactions"]
            terms = [] if trace >= 2 else None
            matched = True
            for term in rule["rulepattern"]:
                if not term_holds(term, terms):
                    matched = False
                    break
            rec = None
            if trace:
                if block is None:
                    block = {"ruleset": name, "rules": []}
                    visits.append(block)
                rec = {"r": r}
                block["rules"].append(rec)
            exited = False
            if matched:
                for t in acts["tasks"]:
                    if t not in tasks:
                        tasks.append(t)
                props.update(acts["properties"])
                if acts["thencall"]:
                    exited = call(rec, "+c", acts["thencall"]) or acts["willexit"]
                    block = None
                    if rec is not None:
                        if exited:
                            rec["after"] = "<<"
                        elif acts["willreturn"]:
                            rec["after"] = "<"
                elif rec is not None:
                    rec["res"] = "<<" if acts["willexit"] else "<" if acts["willreturn"] else "+"
                exited = exited or acts["willexit"]
                leave = exited or acts["willreturn"]
            else:
                leave = False
                if acts["elsecall"]:
                    exited = call(rec, "-c", acts["elsecall"])
                    block = None
                    if rec is not None and exited:
                        rec["after"] = "<<"
                    leave = exited
                elif rec is not None:
                    rec["res"] = "-"
            if rec is not None and trace >= 2:
                rec["terms"] = terms
                rec["actionset"] = snapshot()
            if leave:
                chain.pop()
                return exited
        chain.pop()
        return False

    run(entry)
    return tasks, props, visits
