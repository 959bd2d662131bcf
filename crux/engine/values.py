"""Typed values: identifiers, entity value conversion, rule literals, timestamp text."""
from __future__ import annotations

import datetime as _dt
import math
import operator
import re

IDENT_PATTERN = r"^[a-z][a-z0-9_]*\Z"
IDENT_RE = re.compile(IDENT_PATTERN)
START = "START"

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
_TS_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))")
UTC = _dt.timezone.utc


def is_ident(value) -> bool:
    return isinstance(value, str) and IDENT_RE.fullmatch(value) is not None


def canonical_valtype(valtype):
    return VALTYPE_ALIASES.get(valtype, valtype)


class BadValue(ValueError):
    """A value does not convert to the wanted type; the message says why."""


def to_int(value) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str) and _INT_RE.fullmatch(value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise BadValue("is not an integer")


def to_float(value) -> float:
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


def to_bool(value) -> bool:
    if value is True or value is False:
        return value
    if isinstance(value, str):
        low = value.lower()
        if low == "true":
            return True
        if low == "false":
            return False
    raise BadValue("is not a boolean (true or false)")


def to_str(value) -> str:
    if isinstance(value, str):
        return value
    raise BadValue("is not a string")


def parse_ts(value) -> _dt.datetime:
    """An RFC 3339 timestamp string (fraction and offset allowed) as an aware UTC datetime."""
    if isinstance(value, _dt.datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise BadValue("is not an RFC 3339 timestamp string")
    m = _TS_RE.fullmatch(value)
    if m is None:
        raise BadValue("is not an RFC 3339 timestamp (like 2026-01-31T10:00:00Z)")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac = m.group(7)
    micro = int((frac + "00000")[:6]) if frac else 0
    if m.group(8):
        tz = UTC
    else:
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            raise BadValue("has an invalid offset")
        delta = _dt.timedelta(hours=oh, minutes=om)
        tz = _dt.timezone(-delta if m.group(9) == "-" else delta)
    try:
        d = _dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        raise BadValue("is not a valid date and time") from None
    return d.astimezone(UTC) if tz is not UTC else d


def format_ts(d: _dt.datetime, micro: bool = False) -> str:
    """RFC 3339 in UTC with a Z; the fraction is shown when present (or always with micro)."""
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    else:
        d = d.astimezone(UTC)
    if micro or d.microsecond:
        return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


CONVERTERS = {"int": to_int, "float": to_float, "bool": to_bool, "str": to_str,
              "enum": to_str, "ts": parse_ts}


def literal_problem(valtype: str, lit, vals=()) -> str | None:
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
            parse_ts(lit)
        except BadValue as ex:
            return str(ex)
    elif valtype in STRING_TYPES:
        if not isinstance(lit, str):
            return "must be a string"
        if valtype == "enum" and lit not in vals:
            return "is not one of the enum values"
    return None


def convert_literal(valtype: str, lit):
    """A checked literal as the Python value terms compare against."""
    if valtype == "float":
        return float(lit)
    if valtype == "ts":
        return parse_ts(lit)
    return lit


def json_value(value):
    """An entity value as JSON (timestamps as RFC 3339 UTC strings)."""
    if isinstance(value, _dt.datetime):
        return format_ts(value)
    return value
