"""The settings and connection handling the production layout needs (deploy/README.md):
CRUX_DB_PREPARE, CRUX_LISTEN_DATABASE_URL, and a connection that saw its server lost or
read-only is never handed out again."""
from __future__ import annotations

from dataclasses import replace

import psycopg
import pytest

from crux.common.config import Settings
from crux.errors import CruxError
from crux.services.state import Crux
from crux.store.db import Database


@pytest.mark.parametrize("raw, expected", [("off", False), ("OFF", False), ("0", False), ("false", False),
                                           ("on", True), ("yes", True), ("1", True)])
def test_db_prepare_reads_on_and_off(monkeypatch, raw, expected):
    monkeypatch.setenv("CRUX_DB_PREPARE", raw)
    assert Settings.from_env().db_prepare is expected


def test_db_prepare_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("CRUX_DB_PREPARE", "sometimes")
    with pytest.raises(ValueError, match="sometimes"):
        Settings.from_env()


def test_prepared_statements_follow_the_setting(settings, database_url):
    assert Database(settings, database_url).pool.kwargs["prepare_threshold"] == 2
    assert Database(replace(settings, db_prepare=False), database_url).pool.kwargs["prepare_threshold"] is None


def test_the_listener_uses_its_own_url_when_given(settings, database_url):
    assert Crux(settings, database_url).listener.url == database_url
    direct = "postgresql://crux@db1:5432,db2:5432/crux?target_session_attrs=read-write"
    state = Crux(replace(settings, listen_database_url=direct), database_url)
    assert state.listener.url == direct and state.db.url == database_url


def test_a_connection_that_found_its_server_read_only_is_dropped(settings, database_url):
    """As after a failover behind PgBouncer: the statement fails read-only, the call gets 503
    `trylater`, and the pool never hands that connection out again."""
    db = Database(replace(settings, pool_min=1, pool_max=1), database_url)
    db.open(wait=True)
    try:
        with pytest.raises(CruxError) as caught:
            with db.connection() as conn:
                first = conn
                conn.execute("SET default_transaction_read_only = on")
                conn.execute("CREATE TABLE never_made (x int)")
        assert caught.value.errcode == "trylater" and caught.value.status == 503
        assert first.closed
        with db.connection() as conn:
            assert conn is not first
            row = conn.execute("SHOW default_transaction_read_only").fetchone()
            assert row["default_transaction_read_only"] == "off"
    finally:
        db.close()


def test_a_connection_whose_server_went_away_is_dropped(settings, database_url, conn):
    db = Database(replace(settings, pool_min=1, pool_max=1), database_url)
    db.open(wait=True)
    try:
        with pytest.raises(CruxError) as caught:
            with db.connection() as pooled:
                first = pooled
                pid = pooled.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
                pooled.execute("SELECT 1")
        assert caught.value.errcode == "trylater"
        assert first.closed
        with db.connection() as pooled:
            assert pooled is not first and pooled.execute("SELECT 1 AS one").fetchone()["one"] == 1
    finally:
        db.close()


def test_an_error_of_the_call_itself_keeps_the_connection(settings, database_url):
    db = Database(replace(settings, pool_min=1, pool_max=1), database_url)
    db.open(wait=True)
    try:
        with pytest.raises(psycopg.errors.UndefinedTable):
            with db.connection() as conn:
                first = conn
                conn.execute("SELECT * FROM no_such_table")
        with db.connection() as conn:
            assert conn is first
    finally:
        db.close()
