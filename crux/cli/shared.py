"""What several command groups need: the settings, the database, an existing realm."""
from __future__ import annotations

import click

from crux.common.config import Settings


def settings() -> Settings:
    return Settings.from_env()


def database_url(config: Settings) -> str:
    """CRUX_DATABASE_URL, or the embedded PostgreSQL's (started, or joined, for this process)."""
    from crux.store.embedded import resolve_url
    return resolve_url(config)


def require_realm(db, name: str) -> None:
    """Stop the command with a clear message when realm `name` does not exist."""
    from crux.store import realms
    with db.connection() as conn:
        if not realms.realm_exists(conn, name):
            raise click.ClickException(f"realm {name} does not exist")
