"""The one error catalog (SPEC §4.1) and the typed exception every layer raises.

A leaf module: it imports nothing from Crux, so the engine, the store, the services and the API
can all raise `CruxError` and the API turns it into the envelope in one place.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorKind:
    errcode: str
    msgid: int
    status: int
    meaning: str


_KINDS = [
    ErrorKind("validation", 100, 400, "The request did not pass validation."),
    ErrorKind("required", 101, 400, "A required field is missing."),
    ErrorKind("too_long", 102, 400, "A text or list is longer than allowed."),
    ErrorKind("too_short", 103, 400, "A text or list is shorter than allowed."),
    ErrorKind("too_large", 104, 400, "A number is larger than allowed."),
    ErrorKind("too_small", 105, 400, "A number is smaller than allowed."),
    ErrorKind("bad_format", 106, 400, "A value does not have the required format."),
    ErrorKind("internal", 1001, 500, "Internal error; the request may be retried."),
    ErrorKind("schema_not_found", 1002, 400, "Reserved for Crux compatibility."),
    ErrorKind("invalid", 1003, 400, "A value has the wrong type or form, or breaks a rule of the language."),
    ErrorKind("invalid_property_attributes", 1003, 400,
              "A workflow's action set does not hold exactly one of done/nextstep."),
    ErrorKind("eval_failed", 1003, 400,
              "The evaluation was aborted (call cycle, unknown callee, callee of another class)."),
    ErrorKind("value_type_invalid", 1004, 400, "Reserved for Crux compatibility."),
    ErrorKind("empty", 1005, 400, "A value that must not be empty is empty."),
    ErrorKind("invalid_request", 1006, 400, "The request as a whole is not acceptable."),
    ErrorKind("invalid_json", 1006, 400, "The body is not a JSON object (malformed JSON or a non-object payload)."),
    ErrorKind("one_of_required", 1007, 400, "Exactly one of several fields is required."),
    ErrorKind("already_exist", 1008, 400, "The record already exists."),
    ErrorKind("not_found", 1009, 404, "The named record does not exist in the caller's realm, or the call is unknown."),
    ErrorKind("unauthorized", 1010, 403, "The caller lacks the capability the call needs, or is deactivated."),
    ErrorKind("authn", 1010, 401, "Missing, malformed, expired or wrongly signed credentials."),
    ErrorKind("step_not_found", 1011, 400, "The step does not match the instance's open step."),
    ErrorKind("non_empty", 1012, 400, "The record is still in use."),
    ErrorKind("missing", 1013, 400, "Something the call relies on is missing."),
    ErrorKind("not_allowed", 1014, 400, "The change is refused by a business rule (e.g. an active ruleset)."),
    ErrorKind("not_matched", 1015, 400, "The values do not match."),
    ErrorKind("method_not_allowed", 1006, 405, "The call does not accept this HTTP method."),
    ErrorKind("toobig", 1006, 413, "The request body is larger than the configured limit."),
    ErrorKind("trylater", 1001, 503, "The database is unavailable; retry later."),
]

CATALOG: dict[str, ErrorKind] = {k.errcode: k for k in _KINDS}


class CruxError(Exception):
    """An error to report in the envelope: one or more messages with one HTTP status."""

    def __init__(self, errcode: str, field: str | None = None, vals=None, msg: str = "",
                 messages: list[dict] | None = None):
        kind = CATALOG[errcode]
        self.errcode = errcode
        self.status = kind.status
        self.messages = messages or [message(errcode, field, vals, msg)]
        super().__init__(msg or kind.meaning)

    @classmethod
    def many(cls, messages: list[dict]) -> CruxError:
        """Several problems at once; the HTTP status is that of the first."""
        return cls(messages[0]["errcode"], messages=messages)


def message(errcode: str, field: str | None = None, vals=None, msg: str = "") -> dict:
    kind = CATALOG[errcode]
    out = {"msgid": kind.msgid, "errcode": errcode, "field": field,
           "vals": list(vals) if isinstance(vals, (list, tuple)) else ([] if vals is None else [vals])}
    if msg:
        out["msg"] = msg
    return out


def not_found(field: str, value) -> CruxError:
    return CruxError("not_found", field, [value], f"{field} {value!r} does not exist")
