"""Apply the numbered SQL files of schema_sql/ exactly once each, under an advisory lock."""
from __future__ import annotations

from pathlib import Path

import psycopg

_LOCK_KEY = 0x637275785F6D6967  # "crux_mig": one lock for every Crux process on this database


def _files(schema_dir: str | Path) -> list[Path]:
    """The migration files, in the order they apply."""
    return sorted(Path(schema_dir).glob("[0-9][0-9][0-9][0-9]_*.sql"))


def upgrade(url: str, schema_dir: str | Path) -> list[str]:
    """Apply pending migrations; return the names applied now (empty when up to date)."""
    files = _files(schema_dir)
    applied_now = []
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            # The lock is held until this transaction ends, so a second starting server waits
            # and then finds every file recorded.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                                name text PRIMARY KEY, appliedat timestamptz NOT NULL DEFAULT now())""")
            done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
            for path in files:
                if path.name in done:
                    continue
                conn.execute(path.read_text())
                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (path.name,))
                applied_now.append(path.name)
    return applied_now


def pending(conn, schema_dir: str | Path) -> list[str]:
    files = [p.name for p in _files(schema_dir)]
    try:
        done = {r["name"] if isinstance(r, dict) else r[0]
                for r in conn.execute("SELECT name FROM schema_migrations")}
    except psycopg.errors.UndefinedTable:
        return files
    return [f for f in files if f not in done]
