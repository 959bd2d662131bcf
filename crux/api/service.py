"""Service endpoints (no token): health, readiness, metrics, the API document and its browser."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, send_from_directory

from crux.api import all_calls
from crux.api.envelope import failure, success
from crux.api.openapi import build_spec
from crux.errors import CruxError
from crux.store.migrate import pending

bp = Blueprint("service", __name__)
_DOCS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Crux API</title>
<link rel="stylesheet" href="/api/v1/docs/static/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/api/v1/docs/static/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#ui", deepLinking: true});</script>
</body></html>"""


def _swagger_dir() -> Path:
    import swagger_ui_bundle
    return Path(swagger_ui_bundle.swagger_ui_path)


@bp.get("/healthz")
def healthz():
    return success({"status": "up"})


@bp.get("/readyz")
def readyz():
    crux = current_app.extensions["crux"]
    try:
        with crux.db.connection() as conn:
            todo = pending(conn, crux.settings.schema_dir)
    except CruxError as err:
        return failure(err)
    if todo:
        return failure(CruxError("trylater", "migrations", todo, "migrations are not applied"))
    return success({"status": "ready"})


@bp.get("/metrics")
def metrics():
    body, ctype = current_app.extensions["crux"].metrics.render()
    return Response(body, mimetype=ctype.split(";")[0])


@bp.get("/api/v1/openapi.json")
def openapi():
    spec = current_app.extensions.setdefault("crux_openapi", build_spec(all_calls()))
    return current_app.response_class(current_app.json.dumps(spec), mimetype="application/json")


@bp.get("/api/v1/docs")
def docs():
    return Response(_DOCS_PAGE, mimetype="text/html")


@bp.get("/api/v1/docs/static/<path:name>")
def docs_static(name):
    return send_from_directory(_swagger_dir(), name)
