"""Entities (SPEC §2.3): converting client values to the schema's types.

A converter is built once per schema: a generated fast path that accepts a well-formed
entity, and a diagnostic path that runs only when the fast path fails and reports every
problem at once.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crux.common.formats import BadValue, json_path, parse_timestamp

from .model import INVALID, REQUIRED, AttrSpec, Problem, ValidationFailed, scalar_vals
from .schema import SchemaInfo, normalize_schema
from .values import CONVERTERS, to_bool, to_float, to_int

WORKFLOW_ATTRS = ("step", "stepfailed")


class _Reject(Exception):
    """Raised inside the fast path; the diagnostic path then explains."""


FAST_FAILURES = (_Reject, BadValue, KeyError, TypeError, AttributeError)

# A generated fast path: the entity converted, or one of FAST_FAILURES raised.
FastPath = Callable[[Any], dict[str, Any]]


class EntityConverter:
    """Converts entities of one schema; `workflow=True` drops step and stepfailed."""

    __slots__ = ("info", "workflow", "fast", "_attrs", "source")

    def __init__(self, info: SchemaInfo, workflow: bool = False):
        self.info = info
        self.workflow = workflow
        self._attrs = _wanted_attrs(info, workflow)
        self.fast, self.source = self._generate()

    def _generate(self) -> tuple[FastPath, str]:
        lines = ["def fast(entity):"]
        env: dict[str, Any] = {"_Reject": _Reject, "to_int": to_int, "to_float": to_float,
                               "to_bool": to_bool, "parse_timestamp": parse_timestamp}
        outs = []
        for k, a in enumerate(self._attrs):
            v = f"v{k}"
            outs.append(f"{a.name!r}: {v}")
            lines.append(f"    {v} = entity[{a.name!r}]")
            conds: list[str] = []
            if a.valtype == "int":
                lines.append(f"    if type({v}) is not int: {v} = to_int({v})")
            elif a.valtype == "float":
                lines.append(f"    if type({v}) is not float or {v} - {v} != 0.0: "
                             f"{v} = to_float({v})")
            elif a.valtype == "bool":
                lines.append(f"    if {v} is not True and {v} is not False: {v} = to_bool({v})")
            elif a.valtype == "ts":
                lines.append(f"    {v} = parse_timestamp({v})")
            elif a.valtype == "enum":
                # only the (string) values are in the set; an unhashable value raises TypeError
                env[f"S{k}"] = a.valset
                conds.append(f"{v} not in S{k}")
            else:
                lines.append(f"    if type({v}) is not str: raise _Reject")
            if a.valtype in ("int", "float"):
                conv: Callable[[Any], Any] = float if a.valtype == "float" else (lambda x: x)
                if a.valmin is not None:
                    conds.append(f"{v} < {conv(a.valmin)!r}")
                if a.valmax is not None:
                    conds.append(f"{v} > {conv(a.valmax)!r}")
            if a.valtype in ("str", "enum"):
                if a.lenmin is not None:
                    conds.append(f"len({v}) < {a.lenmin!r}")
                if a.lenmax is not None:
                    conds.append(f"len({v}) > {a.lenmax!r}")
            if conds:
                lines.append(f"    if {' or '.join(conds)}: raise _Reject")
        extra = ['("class" in entity)']
        if self.workflow:
            extra += [f'({n!r} in entity)' for n in WORKFLOW_ATTRS]
        # all attributes were found, so only the count can reveal an unknown key
        lines.append(f"    if len(entity) != {len(self._attrs)} and len(entity) != "
                     f"{len(self._attrs)} + {' + '.join(extra)}: raise _Reject")
        lines.append("    return {" + ", ".join(outs) + "}")
        source = "\n".join(lines) + "\n"
        exec(compile(source, "<crux entity converter>", "exec"), env)  # noqa: S102
        return env["fast"], source

    def __call__(self, entity: Any, path: str = "entity") -> dict[str, Any]:
        try:
            return self.fast(entity)
        except FAST_FAILURES:
            pass
        raise ValidationFailed(self.problems(entity, path))

    def problems(self, entity: Any, path: str = "entity") -> list[Problem]:
        """Every problem of `entity` (empty when it converts)."""
        return convert_slow(self.info, entity, self.workflow, path)[1]


def _wanted_attrs(info: SchemaInfo, workflow: bool) -> list[AttrSpec]:
    """The attributes an entity must carry: all, but step and stepfailed in a workflow."""
    return [a for a in info.attrs.values() if not (workflow and a.name in WORKFLOW_ATTRS)]


def convert_slow(info: SchemaInfo, entity: Any, workflow: bool, path: str
                 ) -> tuple[dict[str, Any], list[Problem]]:
    """(converted entity, problems): the plain conversion, reporting every problem."""
    if not isinstance(entity, dict):
        return {}, [Problem(path, INVALID, "the entity must be a JSON object")]
    problems = []
    out = {}
    for key in entity:
        if key == "class" or key in info.attrs or (workflow and key in WORKFLOW_ATTRS):
            continue
        problems.append(Problem(json_path(path, str(key)), INVALID,
                                f"{key} is not an attribute of class {info.cls}", (key,)))
    for a in _wanted_attrs(info, workflow):
        where = json_path(path, a.name)
        if a.name not in entity:
            problems.append(Problem(where, REQUIRED, f"attribute {a.name} is missing"))
            continue
        value = entity[a.name]
        shown = scalar_vals(value)
        try:
            conv = CONVERTERS[a.valtype](value)
        except BadValue as ex:
            problems.append(Problem(where, INVALID,
                                    f"{a.name}: {_show(value)} {ex} (type {a.valtype})", shown))
            continue
        why = _bounds_problem(a, conv)
        if why:
            problems.append(Problem(where, INVALID, f"{a.name}: {_show(value)} {why}", shown))
            continue
        out[a.name] = conv
    return out, problems


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bounds_problem(a: AttrSpec, conv: Any) -> str | None:
    if a.valtype == "enum" and conv not in a.valset:
        return "is not one of " + ", ".join(a.vals)
    if a.valtype in ("int", "float"):
        if a.valmin is not None and conv < a.valmin:
            return f"is below the minimum {a.valmin}"
        if a.valmax is not None and conv > a.valmax:
            return f"is above the maximum {a.valmax}"
    if a.valtype in ("str", "enum"):
        if a.lenmin is not None and len(conv) < a.lenmin:
            return f"is shorter than {a.lenmin} characters"
        if a.lenmax is not None and len(conv) > a.lenmax:
            return f"is longer than {a.lenmax} characters"
    return None


def make_converter(schema: dict[str, Any], workflow: bool = False) -> EntityConverter:
    """A converter for entities of `schema` (a normalized schema document)."""
    return EntityConverter(SchemaInfo(schema), workflow)


class CompiledSchema(dict[str, Any]):
    """A normalized schema document (a plain dict to callers) carrying its entity converters,
    so `convert_entity(family.schema, ...)` needs no per-call preparation."""

    __slots__ = ("info", "_converters", "_fast")
    info: SchemaInfo
    _converters: tuple[EntityConverter, EntityConverter]
    _fast: tuple[FastPath, FastPath]

    def entity_converter(self, workflow: bool = False) -> EntityConverter:
        return self._converters[bool(workflow)]


def make_compiled_schema(schema: dict[str, Any]) -> CompiledSchema:
    doc = CompiledSchema(normalize_schema(schema))
    doc.info = SchemaInfo(doc)
    doc._converters = (EntityConverter(doc.info, False), EntityConverter(doc.info, True))
    # the converters' fast paths at hand: convert_entity saves a call per entity
    doc._fast = (doc._converters[0].fast, doc._converters[1].fast)
    return doc


def convert_entity(schema: Any, entity: Any, workflow: bool = False,
                   path: str = "entity") -> dict[str, Any]:
    """The entity with every value converted to its schema type (SPEC §2.3).

    Raises ValidationFailed with every problem. `schema` is a schema document, or a
    family's `schema` (or the family itself), whose prepared converter is then used.
    """
    try:
        fast: FastPath = schema._fast[workflow]
    except AttributeError:
        out, problems = convert_slow(SchemaInfo(schema), entity, workflow, path)
        if problems:
            raise ValidationFailed(problems) from None
        return out
    try:
        return fast(entity)
    except FAST_FAILURES:
        pass
    converter: EntityConverter = schema.entity_converter(workflow)
    raise ValidationFailed(converter.problems(entity, path))
