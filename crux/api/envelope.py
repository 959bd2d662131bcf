"""The one envelope (SPEC §4.1): reading request payloads and writing every response.

Success: {"status": "success", "data": ..., "messages": null}
Error:   {"status": "error", "data": null, "messages": [{msgid, errcode, field, vals}, ...]}
"""
from __future__ import annotations

import json
import logging
import re

from flask import Flask, Response, request
from marshmallow import EXCLUDE, Schema, ValidationError
from werkzeug.exceptions import HTTPException

from crux.common.formats import json_path
from crux.common.jsontext import dumps as _dumps
from crux.errors import CATALOG, CruxError, message

_logger = logging.getLogger("crux.api")


INTERNAL = CruxError("internal", msg="internal error")
TOOBIG = CruxError("toobig", msg="the request body is too large")


def success_body(data) -> bytes:
    return _dumps({"status": "success", "data": data, "messages": None}).encode()


def failure_body(err: CruxError) -> bytes:
    return _dumps({"status": "error", "data": None, "messages": err.messages}).encode()


def success(data, status: int = 200) -> Response:
    return Response(success_body(data), status, mimetype="application/json")


def failure(err: CruxError) -> Response:
    return Response(failure_body(err), err.status, mimetype="application/json")


def log_internal() -> None:
    """Log the exception being handled (a defect) with its traceback."""
    _logger.exception("internal error")


def read_payload(raw: bytes, path_args: dict | None = None) -> dict:
    """A request's payload: the body's `data` object, or the body itself; {} for an empty body."""
    payload: object = {}
    if raw.strip():
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CruxError("invalid_json", msg=f"the body is not valid JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise CruxError("invalid_json", vals=[type(payload).__name__], msg="the body must be a JSON object")
        if "data" in payload:
            payload = payload["data"]
            if payload is None:
                payload = {}
            if not isinstance(payload, dict):
                raise CruxError("invalid_json", "data", [type(payload).__name__], "data must be a JSON object")
    if path_args:
        payload = {**payload, **path_args}
    return payload


# Validators raise messages prefixed with an errcode of the catalog ("too_long: ...");
# marshmallow's own messages are mapped by their wording.
_PREFIX = re.compile(r"^([a-z_]+): ")


def _errcode_of(text: str) -> str:
    m = _PREFIX.match(text)
    if m and m.group(1) in CATALOG:
        return m.group(1)
    if text.startswith("Missing data for required field") or text.startswith("Field may not be null"):
        return "required"
    if text.startswith("Longer than maximum"):
        return "too_long"
    if text.startswith("Shorter than minimum"):
        return "too_short"
    if text.startswith("Must be greater"):
        return "too_small"
    if text.startswith("Must be less"):
        return "too_large"
    return "invalid"


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
            part = key
            if isinstance(key, str) and key.isdigit():
                part = int(key)
            if key == "_schema":
                out.extend(validation_messages(sub, payload, prefix))
            else:
                out.extend(validation_messages(sub, payload, prefix + (part,)))
    elif isinstance(errors, list):
        for item in errors:
            if isinstance(item, (dict, list)):
                out.extend(validation_messages(item, payload, prefix))
            else:
                text = str(item)
                code = _errcode_of(text)
                text = _PREFIX.sub("", text)
                value = _value_at(payload, prefix)
                out.append(message(code, json_path(*prefix) or None, [] if value is None else [value], text))
    else:
        out.append(message("invalid", json_path(*prefix) or None, [], str(errors)))
    return out


def load(schema: Schema, payload: dict) -> dict:
    """Validate a payload with its call's schema; every problem is reported at once."""
    try:
        return schema.load(payload, unknown=EXCLUDE)
    except ValidationError as exc:
        raise CruxError.many(validation_messages(exc.messages, payload)) from None


CORS_HEADERS = [("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"),
                ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
                ("Access-Control-Max-Age", "86400")]


def init_app(app: Flask) -> None:
    """Errors become envelopes; CORS for any origin (CORS_HEADERS)."""

    @app.errorhandler(CruxError)
    def _crux_error(err: CruxError):
        return failure(err)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        if err.code == 404:
            return failure(CruxError("not_found", "call", [request.path], "no such call"))
        if err.code == 405:
            return failure(CruxError("method_not_allowed", "method", [request.method],
                                     f"{request.method} is not accepted by this call"))
        if err.code == 413:
            return failure(TOOBIG)
        return failure(CruxError("invalid_request", msg=err.description or err.name))

    @app.errorhandler(Exception)
    def _internal(err: Exception):
        log_internal()
        return failure(INTERNAL)

    @app.after_request
    def _cors(resp: Response):
        resp.headers.update(CORS_HEADERS)
        return resp

    @app.before_request
    def _preflight():
        if request.method == "OPTIONS":
            return Response(status=204)
        return None
