"""The console (SPEC §10): a web client of the public API, served at /console from the files in
static/ (plain JavaScript modules, no build step, nothing fetched from elsewhere).

The console has no endpoint of its own: every page is the same shell (static/index.html), and the
page's script does all its work through `POST /api/v1/<call>` with the signed-in user's bearer
token. This blueprint only serves files, each with a Content-Security-Policy that lets the page
load scripts, styles and data from this service's own origin and nothing else (no inline script or
style, no frames, no plug-ins), so a value from the database can never run as code.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, redirect

STATIC = Path(__file__).resolve().parent / "static"

CSP = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

bp = Blueprint("console", __name__, url_prefix="/console", static_folder=str(STATIC),
               static_url_path="/static")


@bp.get("")
def root():
    return redirect("/console/", code=308)


def _shell() -> str:
    """index.html with a modulepreload link for every shared script (not the pages' own, of which
    a visit needs one), so the browser fetches them at once instead of import by import."""
    scripts = sorted(p.relative_to(STATIC).as_posix() for p in (STATIC / "js").glob("*.js"))
    links = "\n".join(f'<link rel="modulepreload" href="/console/static/{name}">' for name in scripts)
    return (STATIC / "index.html").read_text().replace("<!-- modulepreload -->", links)


SHELL = _shell()


@bp.get("/")
@bp.get("/<path:page>")
def shell(page: str = ""):
    """Every page of the console is the one shell; the script draws the page the path names."""
    return Response(SHELL, mimetype="text/html", headers={"Cache-Control": "no-cache"})


@bp.after_request
def secure(response):
    response.headers.update(HEADERS)
    return response
