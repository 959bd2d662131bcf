"""Typed values: entity value conversion and rule literals (SPEC §2.2, §2.3).

Identifiers and timestamps are read and written as crux/common/formats.py defines them, the
same for the API and the command line.
"""
from __future__ import annotations

import datetime as _dt
import math
import operator
import re
from collections.abc import Callable, Collection
from typing import Any

from crux.common.formats import BadValue, format_timestamp, parse_timestamp

START = "START"     # the step every workflow starts at (a value of a workflow schema's `step`)

VALTYPES = ("int", "float", "str", "enum", "bool", "ts")
VALTYPE_ALIASES = {"timestamp": "ts"}
ORDERED_TYPES = frozenset({"int", "float", "str", "ts"})
NUMERIC_TYPES = frozenset({"int", "float"})
STRING_TYPES = frozenset({"str", "enum"})
OPS = ("eq", "ne", "lt", "le", "gt", "ge")
COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
           "gt": operator.gt, "ge": operator.ge}
EQUALITY_OPS = frozenset({"eq", "ne"})

_INT_RE = re.compile(r"[+-]?[0-9]+")
_FLOAT_RE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def canonical_valtype(valtype: Any) -> Any:
    """The valtype as the engine names it (`timestamp` is `ts`); anything else unchanged."""
    return VALTYPE_ALIASES.get(valtype, valtype)


def to_int(value: object) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str) and _INT_RE.fullmatch(value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise BadValue("is not an integer")


def to_float(value: object) -> float:
    if isinstance(value, bool):
        raise BadValue("is not a number")
    if isinstance(value, (int, float)):
        try:
            f = float(value)
        except OverflowError:
            raise BadValue("is out of the range of a number") from None
    elif isinstance(value, str) and _FLOAT_RE.fullmatch(value):
        f = float(value)
    else:
        raise BadValue("is not a number")
    if not math.isfinite(f):
        raise BadValue("is not a finite number")
    return f


def to_bool(value: object) -> bool:
    if value is True or value is False:
        return value
    if isinstance(value, str):
        low = value.lower()
        if low == "true":
            return True
        if low == "false":
            return False
    raise BadValue("is not a boolean (true or false)")


def to_str(value: object) -> str:
    if isinstance(value, str):
        return value
    raise BadValue("is not a string")


CONVERTERS: dict[str, Callable[[object], Any]] = {"int": to_int, "float": to_float, "bool": to_bool, "str": to_str,
              "enum": to_str, "ts": parse_timestamp}


def literal_problem(valtype: str, lit: object, vals: Collection[str] = ()) -> str | None:
    """Why `lit` is not a valid rule literal for an attribute of `valtype`, or None.

    Literals are strict JSON (SPEC §2.2): integer for int, number for float, string for
    str/enum (enum: one of vals), boolean for bool, RFC 3339 string for ts.
    """
    if valtype == "int":
        if type(lit) is not int:
            return "must be a JSON integer"
    elif valtype == "float":
        if isinstance(lit, bool) or not isinstance(lit, (int, float)):
            return "must be a JSON number"
        if isinstance(lit, float) and not math.isfinite(lit):
            return "must be a finite number"
    elif valtype == "bool":
        if not isinstance(lit, bool):
            return "must be a JSON boolean"
    elif valtype == "ts":
        if not isinstance(lit, str):
            return "is not an RFC 3339 timestamp string"
        try:
            parse_timestamp(lit)
        except BadValue as ex:
            return str(ex)
    elif valtype in STRING_TYPES:
        if not isinstance(lit, str):
            return "must be a string"
        if valtype == "enum" and lit not in vals:
            return "is not one of the enum values"
    return None


def convert_literal(valtype: str, lit: Any) -> Any:
    """A checked literal as the Python value terms compare against."""
    if valtype == "float":
        return float(lit)
    if valtype == "ts":
        return parse_timestamp(lit)
    return lit


def json_value(value: Any) -> Any:
    """An entity value as JSON (timestamps as RFC 3339 UTC strings)."""
    if isinstance(value, _dt.datetime):
        return format_timestamp(value)
    return value
