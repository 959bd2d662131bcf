"""`crux realm add` and `crux token`: realms are made here (no web call creates one), and
development tokens for their users."""
from __future__ import annotations

import click

from crux.cli.shared import database_url, require_realm, settings
from crux.common.config import Settings


def add_realm(config: Settings, url: str, name: str, admin: str, longname: str) -> bool:
    """Create the realm unless it exists (migrating first); return True when created."""
    from crux.services.admin import create_realm
    from crux.store.db import opened
    from crux.store.migrate import upgrade
    upgrade(url, config.schema_dir)
    with opened(config, url) as database:
        return create_realm(database, name, longname, admin)


@click.group("realm")
def realm() -> None:
    """Realm commands (no web call creates realms)."""


@realm.command("add")
@click.argument("name")
@click.option("--admin", required=True, help="the first user, granted root and auth")
@click.option("--longname", default="", help="a descriptive name")
def realm_add(name: str, admin: str, longname: str) -> None:
    """Create realm NAME with slice 1 (active) and an admin user holding root and auth."""
    from crux.common.formats import is_ident
    name, admin = name.lower(), admin.lower()
    if not is_ident(name):
        raise click.BadParameter("a realm name is a lower-case identifier", param_hint="NAME")
    config = settings()
    if not add_realm(config, database_url(config), name, admin, longname):
        raise click.ClickException(f"realm {name} already exists")
    click.echo(f"realm {name} created; {admin} holds root and auth")


@click.command("token")
@click.option("--realm", "realm_name", required=True, help="the realm the token is for (it must exist)")
@click.option("--user", required=True, help="the user the token names")
@click.option("--ttl", default=3600, show_default=True, help="seconds until the token expires")
def token(realm_name: str, user: str, ttl: int) -> None:
    """Mint a signed development token (HS256 with the configured or local secret)."""
    from crux.services.tokens import TokenVerifier
    from crux.store.db import opened
    config = settings()
    realm_name = realm_name.lower()
    with opened(config, database_url(config)) as db:
        require_realm(db, realm_name)
    click.echo(TokenVerifier(config).mint(realm_name, user.lower(), ttl))
