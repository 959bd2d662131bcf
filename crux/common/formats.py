"""The text forms Crux reads and writes, each defined once for the API, the engine and the
command line: identifiers, RFC 3339 timestamps and JSON paths.

Pure (no I/O, nothing of Crux imported): the engine uses it too.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import overload

UTC = dt.UTC


class BadValue(ValueError):
    """A value is not in the form or type wanted; the message says why (`is not ...`)."""


# ---- identifiers ------------------------------------------------------------------------------
# Names of classes, attributes, tasks, properties, rulesets, workflows, apps and realms.
IDENT_PATTERN = "^[a-z][a-z0-9_]*$"          # as the API document shows it
_IDENT = re.compile(IDENT_PATTERN)


def is_ident(value: object) -> bool:
    """A lower-case identifier: a letter a-z, then letters a-z, digits or _ (nothing else, no
    trailing newline)."""
    return isinstance(value, str) and _IDENT.fullmatch(value) is not None


# ---- timestamps -------------------------------------------------------------------------------
# RFC 3339 date-time: seconds required, a fraction optional (beyond microseconds truncated), an
# offset required (Z or +hh:mm); RFC 3339 also allows `t`, `z` and a space for the T.
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))")


def parse_timestamp(value: object) -> dt.datetime:
    """An RFC 3339 timestamp (or an aware datetime) as an aware UTC datetime; BadValue if not."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise BadValue("is not an RFC 3339 timestamp string")
    m = _TIMESTAMP.fullmatch(value)
    if m is None:
        raise BadValue("is not an RFC 3339 timestamp (like 2026-01-31T10:00:00Z)")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac = m.group(7)
    micro = int((frac + "00000")[:6]) if frac else 0
    tz: dt.tzinfo
    if m.group(8):
        tz = UTC
    else:
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            raise BadValue("has an invalid offset")
        delta = dt.timedelta(hours=oh, minutes=om)
        tz = dt.timezone(-delta if m.group(9) == "-" else delta)
    try:
        d = dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        raise BadValue("is not a valid date and time") from None
    return d.astimezone(UTC) if tz is not UTC else d


@overload
def format_timestamp(value: dt.datetime, micro: bool = False) -> str: ...
@overload
def format_timestamp(value: None, micro: bool = False) -> None: ...


def format_timestamp(value: dt.datetime | None, micro: bool = False) -> str | None:
    """RFC 3339 in UTC with a Z (`2026-01-31T10:00:00Z`): the fraction (6 digits) when it is
    not zero, or always with `micro`. A naive datetime is taken as UTC; None stays None."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="microseconds" if micro else "auto")[:-6] + "Z"


# ---- JSON paths -------------------------------------------------------------------------------

def json_path(*parts: str | int) -> str:
    """Where a value is in a document, as error messages name it:
    json_path("ruleset", 3, "ruleactions", "thencall") -> "ruleset[3].ruleactions.thencall";
    json_path("", "x") -> "x" (an empty start is the document itself)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out
