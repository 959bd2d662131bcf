"""`crux events tail`: a realm's events as JSON lines, like `tail -f` (SPEC §9.2 on the command line).

    crux events tail --realm demo --follow                  # from now on, until interrupted
    crux events tail --realm demo --from-start --kinds done,aborted
    crux events tail --realm demo --after <cursor>          # resume where an earlier run stopped

The cursor to resume from is printed on standard error when the command ends.
"""
from __future__ import annotations

import time

import click

from crux.cli.shared import require_realm, settings
from crux.common.jsontext import dumps

POLL = 0.2


def _kinds(ctx, param, value: str | None) -> list[str] | None:
    from crux.store.events import KINDS
    if not value:
        return None
    kinds = [k.strip() for k in value.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise click.BadParameter(f"unknown kinds {', '.join(unknown)}; kinds are {', '.join(KINDS)}")
    return kinds


@click.group("events")
def events():
    """Event stream commands."""


@events.command("tail")
@click.option("--realm", required=True, help="the realm whose events to print")
@click.option("--kinds", callback=_kinds, help="only these kinds, comma-separated (e.g. done,aborted)")
@click.option("--app", help="only instance events of this app")
@click.option("--workflow", help="only instance events of this workflow")
@click.option("--entityid", help="only instance events of this entity")
@click.option("--follow", "-f", is_flag=True, help="keep waiting for new events (Ctrl-C ends)")
@click.option("--from-start", is_flag=True, help="start at the oldest event kept (default: the current end)")
@click.option("--after", help="start after this cursor (printed on stderr by an earlier run)")
def tail(realm, kinds, app, workflow, entityid, follow, from_start, after):
    """Print a realm's events as JSON lines, in commit order."""
    from crux.errors import CruxError
    from crux.services.events import EventService, decode_cursor
    from crux.store.db import opened

    realm = realm.lower()
    try:
        cursor = None if after is None else decode_cursor(after)
    except CruxError:
        raise click.BadParameter("not a cursor printed by crux events tail or answered as next",
                                 param_hint="--after") from None
    filters = {"kinds": kinds, "app": app.lower() if app else None, "workflow": workflow, "entityid": entityid}
    with opened(settings()) as db:
        require_realm(db, realm)
        service = EventService(db)
        if cursor is None and not from_start:
            cursor = service.end(realm)
        nxt = None
        try:
            while True:
                page = service.page(realm, cursor, 1000, filters)
                for event in page["events"]:
                    click.echo(dumps(event))
                nxt, cursor = page["next"], decode_cursor(page["next"])
                if not page["events"]:
                    if not follow:
                        break
                    time.sleep(POLL)
        except KeyboardInterrupt:
            pass
        finally:
            if nxt is not None:
                click.echo(f"resume with: --after {nxt}", err=True)
