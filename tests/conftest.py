"""Shared fixtures: a fresh PostgreSQL database per test session, the app, and realms per test.

The server is `CRUX_TEST_DATABASE_URL` when set (any database on it; a new one is created beside
it), otherwise the embedded PostgreSQL in `.crux/test-pgdata`. Every test gets its own realm
(`realm` fixture), so tests never see each other's data.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from crux.common.config import Settings

ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET = "crux-test-secret-0123456789abcdef0123456789"


def _server_url() -> str:
    url = os.environ.get("CRUX_TEST_DATABASE_URL")
    if url:
        return url
    from crux.store.embedded import embedded_url
    return embedded_url(Settings(data_dir=str(ROOT / ".crux" / "test")), database="postgres")


def _with_database(url: str, name: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


@pytest.fixture(scope="session")
def server_url() -> str:
    return _server_url()


@contextlib.contextmanager
def new_database(server_url: str, prefix: str = "crux_test"):
    """A new empty database on the server (its URL), dropped when the block ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def database_url(server_url):
    """A new empty database for this test session, dropped at the end."""
    with new_database(server_url) as url:
        yield url


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    return Settings(jwt_secret=TEST_SECRET, data_dir=str(tmp_path_factory.mktemp("crux")),
                    pool_min=1, pool_max=8, log_level="info")


@pytest.fixture(scope="session")
def app(settings, database_url):
    from crux import create_app
    application = create_app(settings, database_url=database_url)
    application.extensions["crux"].listener.wait_connected(10)
    yield application
    application.extensions["crux"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    return app.extensions["crux"].db


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True, row_factory=psycopg.rows.dict_row) as c:
        yield c


class RealmHandle:
    """A realm made for one test: mint tokens, grant capabilities, and make calls."""

    def __init__(self, app, client, name: str, admin: str = "admin"):
        self.app, self.client, self.name, self.admin = app, client, name, admin
        self.crux = app.extensions["crux"]

    def token(self, user: str | None = None, realm: str | None = None, ttl: int = 3600) -> str:
        return self.crux.tokens.mint(realm or self.name, user or self.admin, ttl)

    def call(self, name: str, payload=None, *, user: str | None = None, token: str | None = None,
             method: str = "post", wrap: bool = True, raw=None):
        headers = {"Authorization": f"Bearer {token or self.token(user)}"}
        if raw is not None:
            return getattr(self.client, method)(f"/api/v1/{name}", data=raw, headers=headers,
                                                content_type="application/json")
        body = {"data": payload if payload is not None else {}} if wrap else payload
        return getattr(self.client, method)(f"/api/v1/{name}", json=body, headers=headers)

    def ok(self, name: str, payload=None, **kw):
        """Make a call that must succeed; return its data."""
        resp = self.call(name, payload, **kw)
        assert resp.status_code == 200, (name, resp.status_code, resp.get_json())
        body = resp.get_json()
        assert body["status"] == "success" and body["messages"] is None
        return body["data"]

    def grant(self, user: str, *caps: str, app: str | None = None, **kw) -> None:
        payload = {"user": user, "cap": list(caps), **kw}
        if app:
            payload["app"] = [app]
        self.ok("capgrant", payload)

    def app_new(self, name: str, descr: str = "") -> None:
        self.ok("appnew", {"name": name, "descr": descr or name})


def make_realm(app, client, prefix: str = "r") -> RealmHandle:
    from crux.services.admin import create_realm
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    create_realm(app.extensions["crux"].db, name, "test realm", "admin")
    return RealmHandle(app, client, name)


@pytest.fixture
def realm(app, client) -> RealmHandle:
    return make_realm(app, client)


@pytest.fixture
def other_realm(app, client) -> RealmHandle:
    return make_realm(app, client, "o")


def error_of(resp) -> dict:
    """The first message of an error envelope (asserting it is one)."""
    body = resp.get_json()
    assert body["status"] == "error" and body["data"] is None, body
    return body["messages"][0]


@pytest.fixture
def run_cli(database_url, monkeypatch):
    """Run a `crux` command on the test database -> (exit code, output)."""
    from click.testing import CliRunner

    from crux.cli import cli
    monkeypatch.setenv("CRUX_DATABASE_URL", database_url)

    def run(*args):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.output
    return run


@pytest.fixture(autouse=True)
def _log_level_restored():
    """Commands run in-process (CliRunner) set the process's log level and stream; each test
    starts with the ones the previous one started with."""
    from crux.common import log
    before = log.set_level("info")
    log.set_level(before)
    stream = log.set_stream("stdout")
    log.set_stream(stream)
    yield
    log.set_level(before)
    log.set_stream(stream)
