"""LogHarbour-style JSON lines on stdout (SPEC §6).

`A` activity lines for calls (successful ones at debug level), `C` change lines mirroring every changelog row.
Secrets and tokens never reach these functions: callers pass only names and values of records.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sys
import threading
import uuid

from crux.common.formats import format_timestamp
from crux.common.jsontext import dumps, json_default

_HOST = socket.gethostname()
_write_lock = threading.Lock()
_PRI = {"debug": 0, "info": 1, "warn": 2, "err": 3, "crit": 4}
_min_pri = _PRI["info"]


def set_level(level: str) -> str:
    """Log only lines at `level` or above (debug, info, warn, err, crit); returns the level before."""
    global _min_pri
    before = next(name for name, pri in _PRI.items() if pri == _min_pri)
    _min_pri = _PRI.get(level.lower(), 1)
    return before


def _emit(entry: dict, pri: str) -> None:
    if _PRI[pri] < _min_pri:
        return
    entry = {"id": uuid.uuid4().hex, "app": "crux", "system": _HOST, "pri": pri,
             "when": format_timestamp(dt.datetime.now(dt.timezone.utc), micro=True),
             "pid": os.getpid(), **{k: v for k, v in entry.items() if v is not None}}
    line = dumps(entry)
    with _write_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def activity(module: str, op: str, *, who=None, realm=None, remote_ip=None, msg=None, data=None,
             pri: str = "info") -> None:
    _emit({"module": module, "type": "A", "op": op, "who": who, "class": realm,
           "remote_ip": remote_ip, "msg": msg, "data": data}, pri)


def _text(value) -> str | None:
    """A value as the string a `C` line carries: text as is, scalars as JSON writes them."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    return json.dumps(value, default=json_default, sort_keys=True)


def change(*, who, realm, entity: str, key: str, op: str, old: dict | None, new: dict | None) -> None:
    """The `C` line of one changelog row: every field whose value changed, as strings."""
    old, new = old or {}, new or {}
    changes = [{"field": f, "old_value": _text(old.get(f)), "new_value": _text(new.get(f))}
               for f in sorted(set(old) | set(new)) if old.get(f) != new.get(f)]
    _emit({"module": "store", "type": "C", "op": op, "who": who, "class": realm, "instance": key,
           "data": {"change_data": {"entity": entity, "op": op, "changes": changes}}}, "info")
