"""Schema documents (SPEC §2.1): validation, canonical form, and the engine's view."""
from __future__ import annotations

import math
from typing import Any

import jsonschema

from crux.common.formats import is_ident, json_path

from .model import ALREADY_EXIST, EMPTY, INVALID, NOT_ALLOWED, REQUIRED, AttrSpec, Problem
from .paths import FORMATS, IDENTIFIER, schema_problems, under
from .values import NUMERIC_TYPES, START, STRING_TYPES, VALTYPE_ALIASES, VALTYPES, canonical_valtype

_IDENT = {"type": "string", "format": IDENTIFIER}

ATTRIBUTE_JSON_SCHEMA = {
    "type": "object",
    "required": ["attr", "valtype"],
    "properties": {
        "attr": _IDENT,
        "valtype": {"enum": list(VALTYPES) + sorted(VALTYPE_ALIASES)},
        "vals": {"type": "array", "items": {"type": "string"}},
        "enumdesc": {"type": "array", "items": {"type": "string"}},
        "shortdesc": {"type": "string"},
        "longdesc": {"type": "string"},
        "valmin": {"type": "number"},
        "valmax": {"type": "number"},
        "lenmin": {"type": "integer", "minimum": 0},
        "lenmax": {"type": "integer", "minimum": 0},
    },
}

SCHEMA_JSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Crux schema document (SPEC §2.1)",
    "type": "object",
    "required": ["class", "patternschema", "actionschema"],
    "properties": {
        "class": _IDENT,
        "patternschema": {"type": "array", "minItems": 1, "items": ATTRIBUTE_JSON_SCHEMA},
        "actionschema": {
            "type": "object",
            "properties": {
                "tasks": {"type": "array", "items": _IDENT},
                "properties": {"type": "array", "items": _IDENT},
            },
        },
    },
}

_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA_JSON_SCHEMA, format_checker=FORMATS)

ATTR_KEYS = ("attr", "shortdesc", "longdesc", "valtype", "vals", "enumdesc", "valmin",
             "valmax", "lenmin", "lenmax")


def validate_schema(doc: Any, brwf: str, path: str = "") -> list[Problem]:
    """Every problem of a schema document (shape first, then SPEC §2.1 semantics)."""
    if brwf not in ("B", "W"):
        return [Problem(json_path(path, "brwf"), INVALID, "brwf must be B or W", (brwf,))]
    problems = schema_problems(_VALIDATOR, doc, path)
    if not isinstance(doc, dict):
        return problems
    pattern = doc.get("patternschema")
    pattern = pattern if isinstance(pattern, list) else []
    actions = doc.get("actionschema")
    actions = actions if isinstance(actions, dict) else {}
    shape_bad = list(problems)
    tasks = _ident_list(actions.get("tasks"))
    props = _ident_list(actions.get("properties"))
    attrs_seen: dict[str, int] = {}

    for i, entry in enumerate(pattern):
        here = json_path(path, "patternschema", i)
        if not isinstance(entry, dict):
            continue
        name_ok = not under(shape_bad, json_path(here, "attr"))
        type_ok = not under(shape_bad, json_path(here, "valtype"))
        name = entry.get("attr")
        if not name_ok:
            pass
        elif name == "class":
            problems.append(Problem(json_path(here, "attr"), NOT_ALLOWED,
                                    "class is a reserved name and cannot be an attribute",
                                    (name,)))
        elif name in attrs_seen:
            problems.append(Problem(json_path(here, "attr"), ALREADY_EXIST,
                                    f"attribute {name} is defined twice", (name,)))
        else:
            attrs_seen[str(name)] = i         # name_ok: an identifier
        if type_ok:
            vt = canonical_valtype(entry["valtype"])
            problems.extend(_check_attr_details(entry, vt, here, brwf == "W" and name == "step",
                                                not under(shape_bad, json_path(here, "vals"))))

    at = json_path(path, "actionschema")
    if not under(shape_bad, at):
        if not tasks and not props:
            problems.append(Problem(at, EMPTY, "tasks and properties cannot both be empty"))
        for key, names in (("tasks", tasks), ("properties", props)):
            seen: set[str] = set()
            for j, n in enumerate(names):
                if n in seen:
                    problems.append(Problem(json_path(at, key, j), ALREADY_EXIST,
                                            f"{n} is listed twice", (n,)))
                seen.add(n)
        for j, t in enumerate(tasks):
            if t in attrs_seen:
                problems.append(Problem(json_path(at, "tasks", j), ALREADY_EXIST,
                                        f"task {t} has the name of an attribute; a term on it "
                                        "would be ambiguous", (t,)))
    if brwf == "W":
        problems.extend(_check_workflow_schema(pattern, tasks, props, path, shape_bad))
    return problems


def _ident_list(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)]


def _check_attr_details(entry: dict[str, Any], vt: str, here: str, is_wf_step: bool,
                        vals_ok: bool) -> list[Problem]:
    problems: list[Problem] = []
    vals = entry.get("vals")
    if vt == "enum" and not vals_ok:
        pass
    elif vt == "enum":
        if not vals:
            problems.append(Problem(json_path(here, "vals"), EMPTY if vals == [] else REQUIRED,
                                    "an enum needs a non-empty list of values"))
        else:
            seen: set[Any] = set()
            for j, v in enumerate(vals):
                if v in seen:
                    problems.append(Problem(json_path(here, "vals", j), ALREADY_EXIST,
                                            f"value {v} is listed twice", (v,)))
                seen.add(v)
                if v == START:
                    if not is_wf_step:
                        problems.append(Problem(json_path(here, "vals", j), INVALID,
                                                "START is allowed only in the step attribute "
                                                "of a workflow schema", (v,)))
                elif not is_ident(v):
                    problems.append(Problem(json_path(here, "vals", j), INVALID,
                                            f"{v!r} is not a lower-case identifier", (v,)))
    else:
        for key in ("vals", "enumdesc"):
            if key in entry:
                problems.append(Problem(json_path(here, key), NOT_ALLOWED,
                                        f"{key} is allowed only on an enum attribute"))
    for lo, hi, types, what in (("valmin", "valmax", NUMERIC_TYPES, "int and float"),
                                ("lenmin", "lenmax", STRING_TYPES, "str and enum")):
        for key in (lo, hi):
            if key in entry and vt not in types:
                problems.append(Problem(json_path(here, key), NOT_ALLOWED,
                                        f"{key} applies only to {what} attributes"))
        a, b = entry.get(lo), entry.get(hi)
        if vt in types and isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > b:
            problems.append(Problem(json_path(here, hi), INVALID, f"{hi} is below {lo}", (b,)))
    for key in ("valmin", "valmax"):
        v = entry.get(key)
        if isinstance(v, float) and not math.isfinite(v):
            problems.append(Problem(json_path(here, key), INVALID, f"{key} must be finite"))
    return problems


def _check_workflow_schema(pattern: list[Any], tasks: list[str], props: list[str], path: str,
                           shape_bad: list[Problem]) -> list[Problem]:
    problems: list[Problem] = []
    by_name: dict[str, tuple[int, dict[str, Any]]] = {}
    for i, entry in enumerate(pattern):
        if isinstance(entry, dict) and isinstance(entry.get("attr"), str):
            by_name.setdefault(entry["attr"], (i, entry))
    ps = json_path(path, "patternschema")
    if "step" not in by_name:
        problems.append(Problem(ps, REQUIRED, "a workflow schema needs an attribute step of "
                                              "type enum whose values are its tasks and START",
                                ("step",)))
    else:
        i, entry = by_name["step"]
        here = json_path(ps, i)
        if canonical_valtype(entry.get("valtype")) != "enum":
            if not under(shape_bad, json_path(here, "valtype")):
                problems.append(Problem(json_path(here, "valtype"), INVALID,
                                        "step must be of type enum", (entry.get("valtype"),)))
        elif isinstance(entry.get("vals"), list) and entry["vals"]:
            got = {v for v in entry["vals"] if isinstance(v, str)}
            want = set(tasks) | {START}
            if got != want:
                missing = sorted(want - got)
                extra = sorted(got - want)
                parts: list[str] = []
                if missing:
                    parts.append("missing " + ", ".join(missing))
                if extra:
                    parts.append("not tasks: " + ", ".join(extra))
                problems.append(Problem(json_path(here, "vals"), INVALID,
                                        "the values of step must be exactly the tasks plus "
                                        f"START ({'; '.join(parts)})", tuple(missing + extra)))
    if "stepfailed" not in by_name:
        problems.append(Problem(ps, REQUIRED, "a workflow schema needs an attribute stepfailed "
                                              "of type bool", ("stepfailed",)))
    else:
        i, entry = by_name["stepfailed"]
        if canonical_valtype(entry.get("valtype")) != "bool":
            here = json_path(ps, i, "valtype")
            if not under(shape_bad, here):
                problems.append(Problem(here, INVALID, "stepfailed must be of type bool",
                                        (entry.get("valtype"),)))
    at = json_path(path, "actionschema", "properties")
    if not under(shape_bad, at) and set(props) != {"nextstep", "done"}:
        problems.append(Problem(at, INVALID, "the properties of a workflow schema must be "
                                             "exactly nextstep and done", tuple(props)))
    at = json_path(path, "actionschema", "tasks")
    if not tasks and not under(shape_bad, at):
        problems.append(Problem(at, EMPTY, "a workflow schema needs at least one task (step)"))
    return problems


def normalize_schema(doc: dict[str, Any]) -> dict[str, Any]:
    """The canonical form of a valid schema document (aliases resolved, known keys only)."""
    pattern = []
    for entry in doc.get("patternschema", []):
        out: dict[str, Any] = {}
        for key in ATTR_KEYS:
            if key in entry and entry[key] is not None:
                val = entry[key]
                if key == "valtype":
                    val = canonical_valtype(val)
                elif key in ("lenmin", "lenmax"):
                    val = int(val)
                elif key in ("vals", "enumdesc"):
                    val = list(val)
                out[key] = val
        pattern.append(out)
    actions = doc.get("actionschema") or {}
    norm: dict[str, Any] = {"patternschema": pattern,
           "actionschema": {"tasks": list(actions.get("tasks") or []),
                            "properties": list(actions.get("properties") or [])}}
    if "class" in doc:
        norm = {"class": doc["class"], **norm}
    return norm


class SchemaInfo:
    """A valid schema as lookups: attributes, tasks (a workflow's steps), properties."""

    __slots__ = ("cls", "attrs", "tasks", "properties")

    def __init__(self, schema: dict[str, Any]):
        self.cls: str | None = schema.get("class")
        attrs: dict[str, AttrSpec] = {}
        for entry in schema.get("patternschema", []):
            vt = canonical_valtype(entry["valtype"])
            vals = tuple(entry.get("vals") or ())
            attrs[entry["attr"]] = AttrSpec(
                name=entry["attr"], valtype=vt, vals=vals, valmin=entry.get("valmin"),
                valmax=entry.get("valmax"),
                lenmin=None if entry.get("lenmin") is None else int(entry["lenmin"]),
                lenmax=None if entry.get("lenmax") is None else int(entry["lenmax"]))
        self.attrs = attrs
        actions = schema.get("actionschema") or {}
        self.tasks = frozenset(actions.get("tasks") or ())     # in a workflow, also its steps
        self.properties = frozenset(actions.get("properties") or ())
