"""The one envelope (SPEC §4.1): reading request payloads and writing every response.

Success: {"status": "success", "data": ..., "messages": null}
Error:   {"status": "error", "data": null, "messages": [{msgid, errcode, field, vals}, ...]}

A payload is the body's `data` object, or the body itself. Before anything reads it, it is held
to what every layer below can take (the checks cost nothing on a well-formed body):
- JSON only: malformed text, `NaN`/`Infinity`, or a body or `data` that is not an object
  (`{"data": null}` included) is `invalid_json`;
- nested at most MAX_DEPTH levels (deeper: `invalid_json`, never a RecursionError);
- no NUL character and no lone UTF-16 surrogate in any string or key (PostgreSQL and UTF-8
  cannot hold them): `invalid` at the field. The body text is searched for their `\\u` escapes
  first (the only way JSON can carry them), and the payload is walked only on a hit;
- its keys lower-cased, so `App` or `patternSchema` reach `app` and `patternschema`, as the
  original service's decoder matched them.
"""
from __future__ import annotations

import json
import logging
import math
import re

from flask import Flask, Response, request
from marshmallow import EXCLUDE, Schema, ValidationError
from werkzeug.exceptions import HTTPException

from crux.common.formats import json_path
from crux.common.jsontext import UNSTORABLE, dumps
from crux.errors import CATALOG, CruxError, message

_logger = logging.getLogger("crux.api")


INTERNAL = CruxError("internal", msg="internal error")
TOOBIG = CruxError("toobig", msg="the request body is too large")
MAX_DEPTH = 32


def success_body(data) -> bytes:
    return dumps({"status": "success", "data": data, "messages": None}).encode()


def failure_body(err: CruxError) -> bytes:
    return dumps({"status": "error", "data": None, "messages": err.messages}).encode()


def success(data, status: int = 200) -> Response:
    return Response(success_body(data), status, mimetype="application/json")


def failure(err: CruxError) -> Response:
    return Response(failure_body(err), err.status, mimetype="application/json")


def log_internal() -> None:
    """Log the exception being handled (a defect) with its traceback."""
    _logger.exception("internal error")


# ---- reading a payload ------------------------------------------------------------------------

def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"{text[:20]} is too large for a number")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constants, parse_float=_finite)
_MISSING = object()
# a \u escape of NUL or of a surrogate (a pair is fine, and is told apart by the walk)
_BAD_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def read_payload(raw: bytes, path_args: dict | None = None) -> dict:
    """A request's payload: the body's `data` object, or the body itself; {} for an empty body."""
    payload: dict = {}
    if raw.strip():
        try:
            text = _text(raw)
            body = _DECODER.decode(text)
        except RecursionError:
            raise _too_deep() from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise CruxError("invalid_json", msg=f"the body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise CruxError("invalid_json", vals=[type(body).__name__], msg="the body must be a JSON object")
        if text.count("{") + text.count("[") > MAX_DEPTH and _depth(body) > MAX_DEPTH:
            raise _too_deep()
        payload = body if all(map(str.islower, body)) else _folded(body)
        data = payload.get("data", _MISSING)
        if data is not _MISSING:
            if not isinstance(data, dict):
                raise CruxError("invalid_json", "data", ["null" if data is None else type(data).__name__],
                                "data must be a JSON object")
            payload = data if all(map(str.islower, data)) else _folded(data)
        if _BAD_ESCAPE.search(text):
            _refuse_bad_strings(payload)
    if path_args:
        _refuse_bad_strings(path_args)
        payload = {**payload, **path_args}
    return payload


def _text(raw: bytes) -> str:
    """The body as text: UTF-8 (a BOM skipped), else the UTF-16 or UTF-32 that JSON allows."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        encoding = json.detect_encoding(raw)
        if encoding == "utf-8":
            raise
        text = raw.decode(encoding)
    return text[1:] if text[:1] == "\ufeff" else text


def _folded(obj: dict) -> dict:
    """obj with its keys lower-cased."""
    return {key.lower(): value for key, value in obj.items()}


def _too_deep() -> CruxError:
    return CruxError("invalid_json", vals=[MAX_DEPTH], msg=f"the body is nested deeper than {MAX_DEPTH} levels")


def _depth(value) -> int:
    """How deeply objects and lists nest in a decoded JSON value (iteratively: no recursion)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                return deepest
            todo.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _refuse_bad_strings(payload: dict) -> None:
    """400 `invalid` at every string or key of the payload holding a NUL or a lone surrogate."""
    problems: list[dict] = []
    todo: list[tuple[object, tuple]] = [(payload, ())]
    while todo:
        item, where = todo.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                here = where + (_shown(key),)
                if isinstance(key, str) and UNSTORABLE.search(key):
                    problems.append(_bad_string(here, key, "key"))
                todo.append((child, here))
        elif isinstance(item, list):
            todo.extend((child, where + (i,)) for i, child in enumerate(item))
        elif isinstance(item, str) and UNSTORABLE.search(item):
            problems.append(_bad_string(where, item, "value"))
    if problems:
        raise CruxError.many(sorted(problems, key=lambda m: m["field"] or ""))


def _shown(text):
    """Text safe to write back in an answer: NUL and lone surrogates replaced by U+FFFD."""
    return UNSTORABLE.sub("\ufffd", text) if isinstance(text, str) else text


def _bad_string(where: tuple, text: str, what: str) -> dict:
    kind = "a NUL character" if "\x00" in text else "a lone UTF-16 surrogate"
    return message("invalid", json_path(*where) or None, [_shown(text)[:100]],
                   f"the {what} holds {kind}, which no text may hold")


# ---- validating a payload ---------------------------------------------------------------------

# Every message of a payload schema starts with an errcode of the catalog ("too_long: ..."):
# the fields write them so (crux/api/fields.py); anything else is `invalid`.
_PREFIX = re.compile(r"^([a-z_]+): ")


def _errcode_of(text: str) -> str:
    m = _PREFIX.match(text)
    return m.group(1) if m and m.group(1) in CATALOG else "invalid"


def _value_at(payload, parts):
    cur = payload
    for part in parts:
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            cur = cur[part]
        else:
            return None
    return cur


def validation_messages(errors, payload, prefix=()) -> list[dict]:
    """Flatten marshmallow's nested error dict into envelope messages with JSON paths."""
    out = []
    if isinstance(errors, dict):
        for key, sub in errors.items():
            if key == "_schema":
                out.extend(validation_messages(sub, payload, prefix))
            else:
                part = int(key) if isinstance(key, int) or (isinstance(key, str) and key.isdigit()) else key
                out.extend(validation_messages(sub, payload, prefix + (part,)))
    elif isinstance(errors, list):
        for item in errors:
            if isinstance(item, (dict, list)):
                out.extend(validation_messages(item, payload, prefix))
            else:
                text = str(item)
                value = _value_at(payload, prefix)
                out.append(message(_errcode_of(text), json_path(*prefix) or None, [] if value is None else [value],
                                   _PREFIX.sub("", text)))
    else:
        out.append(message("invalid", json_path(*prefix) or None, [], str(errors)))
    return out


def load(schema: Schema, payload: dict) -> dict:
    """Validate a payload with its call's schema; every problem is reported at once."""
    try:
        return schema.load(payload, unknown=EXCLUDE)
    except ValidationError as exc:
        raise CruxError.many(validation_messages(exc.messages, payload)) from None


# ---- the rest of the web ----------------------------------------------------------------------

CORS_HEADERS = [("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"),
                ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
                ("Access-Control-Max-Age", "86400")]


def init_app(app: Flask) -> None:
    """The errors of Flask's own endpoints (not calls) become envelopes."""

    @app.errorhandler(CruxError)
    def _crux_error(err: CruxError):
        return failure(err)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        if err.code == 404:
            return failure(CruxError("not_found", "call", [request.path], "no such call"))
        if err.code == 405:
            allowed = ", ".join(sorted(getattr(err, "valid_methods", None) or ()))
            resp = failure(CruxError("method_not_allowed", "method", [request.method],
                                     f"{request.path} takes {allowed}, not {request.method}"))
            resp.headers["Allow"] = allowed
            return resp
        if err.code == 413:
            return failure(TOOBIG)
        return failure(CruxError("invalid_request", msg=err.description or err.name))

    @app.errorhandler(Exception)
    def _internal(err: Exception):
        log_internal()
        return failure(INTERNAL)
