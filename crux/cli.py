"""The `crux` command line (SPEC §7)."""
from __future__ import annotations

import json
import sys

import click

from crux.config import Settings

DEMO_REALM, DEMO_ADMIN = "demo", "admin"


def _settings() -> Settings:
    return Settings.from_env()


def _database_url(settings: Settings) -> str:
    from crux.store.db import resolve_url
    return resolve_url(settings)


@click.group()
def cli():
    """Crux: business rules and workflows as a service."""


# ---- database ---------------------------------------------------------------------------------

@cli.group()
def db():
    """Database commands."""


@db.command("upgrade")
def db_upgrade():
    """Apply pending migrations (each file once, under an advisory lock)."""
    from crux.store.migrate import upgrade
    settings = _settings()
    applied = upgrade(_database_url(settings), settings.schema_dir)
    click.echo("applied: " + ", ".join(applied) if applied else "up to date")


# ---- realms and tokens ------------------------------------------------------------------------

@cli.group()
def realm():
    """Realm commands (no web call creates realms)."""


def _create_realm(settings: Settings, url: str, name: str, admin: str, longname: str) -> bool:
    """Create the realm unless it exists; return True when created."""
    from crux.services.admin import create_realm
    from crux.store.db import opened
    from crux.store.migrate import upgrade
    upgrade(url, settings.schema_dir)
    with opened(settings, url) as database:
        return create_realm(database, name, longname, admin)


@realm.command("add")
@click.argument("name")
@click.option("--admin", required=True, help="the first user, granted root and auth")
@click.option("--longname", default="", help="a descriptive name")
def realm_add(name, admin, longname):
    """Create realm NAME with slice 1 (active) and an admin user holding root and auth."""
    from crux.api.fields import IDENT
    name, admin = name.lower(), admin.lower()
    if not IDENT.fullmatch(name):
        raise click.BadParameter("a realm name is a lower-case identifier", param_hint="NAME")
    settings = _settings()
    if not _create_realm(settings, _database_url(settings), name, admin, longname):
        raise click.ClickException(f"realm {name} already exists")
    click.echo(f"realm {name} created; {admin} holds root and auth")


@cli.command("token")
@click.option("--realm", "realm_name", required=True)
@click.option("--user", required=True)
@click.option("--ttl", default=3600, show_default=True, help="seconds until the token expires")
def token(realm_name, user, ttl):
    """Mint a signed development token (HS256 with the configured or local secret)."""
    from crux.services.tokens import TokenVerifier
    click.echo(TokenVerifier(_settings()).mint(realm_name.lower(), user.lower(), ttl))


# ---- serving ----------------------------------------------------------------------------------

def _serve(settings: Settings, url: str, port: int | None, workers: int | None) -> None:
    from crux.serve import run
    run(settings, url, port=port or settings.port, workers=workers or settings.workers)


@cli.command("serve")
@click.option("--port", type=int, help="default CRUX_PORT or 8085")
@click.option("--workers", type=int, help="gunicorn worker processes (default CRUX_WORKERS or 2)")
def serve(port, workers):
    """Serve the API with gunicorn (migrations are applied first)."""
    from crux.store.migrate import upgrade
    settings = _settings()
    url = _database_url(settings)
    upgrade(url, settings.schema_dir)
    _serve(settings, url, port, workers)


@cli.command("demo")
@click.option("--port", type=int)
@click.option("--workers", type=int)
@click.option("--no-serve", is_flag=True, help="set up the demo realm and print the token, but do not serve")
def demo(port, workers, no_serve):
    """Set up the demo realm (admin user, example rules and workflow), print a token, and serve."""
    from crux import log
    from crux.rules_load import load_demo
    from crux.services.tokens import TokenVerifier
    settings = _settings()
    url = _database_url(settings)
    log.set_level("warn")  # the set-up's change lines would bury the token (they are in `changelog`)
    _create_realm(settings, url, DEMO_REALM, DEMO_ADMIN, "Crux demo realm")
    loaded = load_demo(settings, url, DEMO_REALM, DEMO_ADMIN)
    log.set_level(settings.log_level)
    tok = TokenVerifier(settings).mint(DEMO_REALM, DEMO_ADMIN, 7 * 24 * 3600)
    port = port or settings.port
    click.echo(f"\nDemo realm '{DEMO_REALM}' is ready; user '{DEMO_ADMIN}' holds root and auth. {loaded}")
    click.echo(f"\nBearer token (valid 7 days):\n\n{tok}\n")
    click.echo("Try:\n")
    click.echo(f"  export TOKEN={tok}")
    click.echo(f"  curl -s -H \"Authorization: Bearer $TOKEN\" -d '{{}}' http://localhost:{port}/api/v1/realmslicelist\n")
    click.echo(f"API documentation: http://localhost:{port}/api/v1/docs\n")
    sys.stdout.flush()
    if not no_serve:
        _serve(settings, url, port, workers)


@cli.group()
def openapi():
    """The API document."""


@openapi.command("write")
@click.argument("path", type=click.Path(dir_okay=False, writable=True), default="-")
def openapi_write(path):
    """Write the OpenAPI document (JSON) to PATH or stdout."""
    from crux.api import all_calls
    from crux.api.openapi import build_spec
    text = json.dumps(build_spec(all_calls()), indent=2)
    if path == "-":
        click.echo(text)
    else:
        with open(path, "w") as f:
            f.write(text + "\n")


# Commands kept in modules of their own.
from crux.rules_cli import rules  # noqa: E402
from crux.rules_load import load_command  # noqa: E402
from crux.events_cli import events  # noqa: E402
from crux.retention_cli import changelog, history  # noqa: E402
from crux.workflow_cli import workflow  # noqa: E402

cli.add_command(rules)
cli.add_command(load_command)
cli.add_command(workflow)
cli.add_command(history)
cli.add_command(changelog)
cli.add_command(events)


def main():
    cli(prog_name="crux")


if __name__ == "__main__":
    main()
