"""JSON text as Crux writes it everywhere: timestamps as RFC 3339 UTC (`2026-01-31T10:00:00Z`)."""
from __future__ import annotations

import datetime as dt
import json
import re

# What no text Crux keeps may hold: NUL (PostgreSQL's text refuses it) and lone UTF-16
# surrogates (UTF-8 cannot encode them). JSON carries them only as \u escapes.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

from crux.common.formats import format_timestamp


def json_default(value):
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), default=json_default)
