"""`crux db upgrade`: apply the migrations."""
from __future__ import annotations

import click

from crux.cli.shared import database_url, settings


@click.group("db")
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (each file once, under an advisory lock)."""
    from crux.store.migrate import upgrade
    config = settings()
    applied = upgrade(database_url(config), config.schema_dir)
    click.echo("applied: " + ", ".join(applied) if applied else "up to date")
