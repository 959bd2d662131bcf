"""JSON text as Crux writes it everywhere: timestamps as RFC 3339 UTC (`2026-01-31T10:00:00Z`),
and never a bare NaN or Infinity (not JSON; PostgreSQL and strict parsers refuse them)."""
from __future__ import annotations

import datetime as dt
import json
import math
import re

from crux.common.formats import format_timestamp

# What no text Crux keeps may hold: NUL (PostgreSQL's text refuses it) and lone UTF-16
# surrogates (UTF-8 cannot encode them). JSON carries them only as \u escapes.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def json_default(value):
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=json_default, allow_nan=False)


def dumps(obj) -> str:
    try:
        return _ENCODER.encode(obj)
    except ValueError:  # a NaN or an infinity: written as the string JSON has no number for
        return _ENCODER.encode(_finite(obj))


def _finite(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
