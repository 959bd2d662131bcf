"""LogHarbour-style JSON lines on stdout (SPEC §6).

`A` activity lines for calls (successful ones at debug level), `C` change lines mirroring every
changelog row, and `D` lines for what Python's logging says (warnings of the pool, defects with
their stack trace, gunicorn's own errors) and for uncaught exceptions: nothing reaches stdout or
stderr as plain text. Secrets and tokens never reach these functions: callers pass only names
and values of records. The command line's one-shot commands write the lines to stderr, so that
their output stays their own.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import sys
import threading
import traceback
import uuid
from types import TracebackType
from typing import Any

from crux.common.formats import format_timestamp
from crux.common.jsontext import dumps, json_default

_HOST = socket.gethostname()
_write_lock = threading.Lock()
_PRI = {"debug": 0, "info": 1, "warn": 2, "err": 3, "crit": 4}
_min_pri = _PRI["info"]
_to_stderr = False


def set_level(level: str) -> str:
    """Log only lines at `level` or above (debug, info, warn, err, crit); returns the level before."""
    global _min_pri
    before = next(name for name, pri in _PRI.items() if pri == _min_pri)
    _min_pri = _PRI.get(level.lower(), 1)
    return before


def set_stream(name: str) -> str:
    """Write the lines to "stdout" (a server: SPEC §6) or "stderr" (a one-shot command);
    returns the stream before."""
    global _to_stderr
    before = "stderr" if _to_stderr else "stdout"
    _to_stderr = name == "stderr"
    return before


def _emit(entry: dict, pri: str) -> None:
    if _PRI[pri] < _min_pri:
        return
    entry = {"id": uuid.uuid4().hex, "app": "crux", "system": _HOST, "pri": pri,
             "when": format_timestamp(dt.datetime.now(dt.UTC), micro=True),
             "pid": os.getpid(), **{k: v for k, v in entry.items() if v is not None}}
    line = dumps(entry)
    stream = sys.stderr if _to_stderr else sys.stdout
    with _write_lock:
        stream.write(line + "\n")
        stream.flush()


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


# ---- Python's logging and uncaught exceptions as `D` lines ------------------------------------

_LEVELS = ((logging.CRITICAL, "crit"), (logging.ERROR, "err"), (logging.WARNING, "warn"),
           (logging.INFO, "info"))


def debug_line(module: str, msg: str, pri: str, *, file: str | None = None, line: int | None = None,
               func: str | None = None, exc_info: Any = None) -> None:
    """A `D` line: a message from the code or a library, with where it was said and, for an
    exception, its stack trace (LogHarbour's debug_data)."""
    where: dict[str, Any] = {"file": file, "line": line, "func": func}
    if exc_info:
        where["stacktrace"] = "".join(traceback.format_exception(*exc_info)).rstrip()
    _emit({"module": module, "type": "D", "msg": msg,
           "data": {"debug_data": {k: v for k, v in where.items() if v is not None}}}, pri)


class JsonLines(logging.Handler):
    """A logging handler writing each record as a `D` line."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            pri = next((name for level, name in _LEVELS if record.levelno >= level), "debug")
            debug_line(record.name, record.getMessage(), pri, file=record.pathname,
                       line=record.lineno, func=record.funcName, exc_info=record.exc_info)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def _uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    debug_line("crux", f"uncaught {kind.__name__}: {exc}", "crit", exc_info=(kind, exc, tb))


def _uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    debug_line("crux", f"uncaught {args.exc_type.__name__} in thread {name}: {args.exc_value}", "crit",
               exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def capture_python_logging() -> None:
    """Route Python's logging (warnings and errors of every library and of Crux's own modules),
    the `warnings` module and uncaught exceptions (any thread) through `D` lines. Idempotent."""
    root = logging.getLogger()
    if not any(isinstance(h, JsonLines) for h in root.handlers):
        root.addHandler(JsonLines())
    logging.captureWarnings(True)
    sys.excepthook = _uncaught
    threading.excepthook = _uncaught_in_thread
