"""The OpenAPI document, generated from the calls' own marshmallow schemas (never hand-written)."""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from crux.api.calls import API_PREFIX
from crux.errors import CATALOG

ENVELOPE_ERROR = {
    "type": "object",
    "required": ["status", "data", "messages"],
    "properties": {
        "status": {"type": "string", "enum": ["error"]},
        "data": {"nullable": True},
        "messages": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "msgid": {"type": "integer"},
                "errcode": {"type": "string", "enum": sorted(CATALOG)},
                "field": {"type": "string", "nullable": True, "description": "JSON path inside data"},
                "vals": {"type": "array", "items": {}},
                "msg": {"type": "string"},
            }}},
    },
}


ERROR_STATUSES = {400: "Invalid request or refused by a business rule", 401: "Missing or invalid credentials",
                  403: "Capability missing or user deactivated", 404: "Unknown call or a named record not found",
                  405: "The call does not take this method (see the Allow header)", 413: "Body too large",
                  500: "Internal error", 503: "Database unavailable (trylater)"}


def _catalog_text() -> str:
    rows = ["| errcode | msgid | HTTP | meaning |", "|---|---|---|---|"]
    rows += [f"| `{k.errcode}` | {k.msgid} | {k.status} | {k.meaning} |" for k in CATALOG.values()]
    return "\n".join(rows)


def _operations(call, operation: dict, suffix: str) -> dict:
    """One operation per method the call takes; its ids: `<call><suffix>` for POST, else
    `<call><suffix>_<method>`. A GET is sent without a body."""
    out = {}
    for method in call.methods:
        op = dict(operation, operationId=call.name + suffix + ("" if method == "POST" else "_" + method.lower()))
        if method == "GET":
            del op["requestBody"]
        out[method.lower()] = op
    return out


def build_spec(calls) -> dict:
    spec = APISpec(
        title="Crux", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
        info={"description": (
            "Business rules and workflows as a service. Every call is `POST /api/v1/<call>` with a body "
            "`{\"data\": {...}}` (or the payload object itself); paths and payload keys are case-insensitive; "
            "updates also take PUT, deletes DELETE, and lists GET without a body. Every answer "
            "is an envelope `{status, data, messages}`. Authenticate with `Authorization: Bearer <JWT>`.\n\n"
            "### Error catalog\n" + _catalog_text())})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("ErrorEnvelope", ENVELOPE_ERROR)
    for code, text in ERROR_STATUSES.items():
        spec.components.response(f"E{code}", {"description": text, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}})
    for call in calls:
        payload = {"type": "object"}
        if call.schema is not None:
            name = type(call.schema).__name__
            if name not in spec.components.schemas:
                spec.components.schema(name, schema=type(call.schema))
            payload = {"$ref": f"#/components/schemas/{name}"}
        body = {"oneOf": [{"type": "object", "properties": {"data": payload}, "required": ["data"]}, payload]}
        operation = {
            "tags": [call.tag], "summary": call.doc.split(". ")[0].rstrip("."),
            "description": f"{call.doc}\n\nNeeds: **{call.need.label}**. Methods: {call.allow}.",
            "security": [{"bearer": []}],
            "requestBody": {"required": False, "content": {"application/json": {"schema": body}}},
            "responses": {"200": {"description": "success", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"status": {"type": "string", "enum": ["success"]},
                                                 "data": {}, "messages": {"nullable": True}}}}}},
                          **{str(c): {"$ref": f"#/components/responses/E{c}"} for c in ERROR_STATUSES}},
        }
        spec.path(path=f"{API_PREFIX}/{call.name}", operations=_operations(call, operation, ""))
        for form in call.paths:
            params = [{"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer" if is_int else "string"}} for name, is_int in form.params]
            spec.path(path=f"{API_PREFIX}/{form.openapi}",
                      operations=_operations(call, dict(operation, parameters=params), "_path"))
    for path, text in (("/healthz", "The process is up"), ("/readyz", "The database is reachable and migrated"),
                       ("/metrics", "Prometheus metrics")):
        spec.path(path=path, operations={"get": {"operationId": path.strip("/"), "tags": ["service"],
                                                 "summary": text, "responses": {"200": {"description": text}}}})
    return spec.to_dict()
