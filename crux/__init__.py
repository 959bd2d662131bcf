"""Crux: a business-rules and workflow engine served over HTTP, on PostgreSQL."""
from __future__ import annotations

from typing import TYPE_CHECKING

from crux.common.config import Settings

if TYPE_CHECKING:
    from flask import Flask


def create_app(settings: Settings | None = None, *, database_url: str | None = None,
               migrate: bool = True) -> Flask:
    """Build the WSGI app: settings, database (migrated), caches, Flask for the service endpoints,
    and in front of it the router that is the one way into every call (crux/api/router.py)."""
    from flask import Flask
    from flask.json.provider import DefaultJSONProvider

    from crux.api import all_calls, envelope, service
    from crux.api.router import CallRouter
    from crux.common import log
    from crux.console import bp as console
    from crux.services.state import Crux
    from crux.store import migrate as migrations

    settings = settings or Settings.from_env()
    log.set_level(settings.log_level)
    log.capture_python_logging()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    json_provider = DefaultJSONProvider(app)       # Flask's own, with the keys in the order given
    json_provider.sort_keys = False
    app.json = json_provider

    crux = Crux(settings, database_url)
    if migrate:
        migrations.upgrade(crux.db.url, settings.schema_dir)
    crux.open()
    app.extensions["crux"] = crux

    envelope.init_app(app)
    app.register_blueprint(service.bp)
    app.register_blueprint(console)
    # Flask's documented way to put a WSGI middleware in front (typeshed sees a method)
    app.wsgi_app = CallRouter(crux, all_calls(), app.wsgi_app, settings.max_body)  # type: ignore[method-assign]
    return app
