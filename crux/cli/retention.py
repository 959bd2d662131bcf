"""`crux history prune` and `crux changelog prune`: delete old rows in batches.

    crux history prune --older-than 90d [--realm R] [--batch 5000]
    crux changelog prune --older-than 400d [--realm R] [--batch 5000]

History keeps open steps whatever their age; the changelog is the audit trail of every data
change, so how long to keep it is the operator's decision (nothing prunes it by itself).
"""
from __future__ import annotations

import datetime as dt
import re

import click

from crux.cli.shared import require_realm, settings

EVENT_MARKS_PER_BATCH = 100
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> dt.timedelta:
    """`90d`, `12h`, `30m`, `2w`, `45s` -> a timedelta."""
    m = _DURATION.match(text.strip().lower())
    if not m:
        raise click.BadParameter("a number and a unit: s, m, h, d or w (e.g. 90d)", param_hint="--older-than")
    return dt.timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def _prune(table: str, what: str, age: str, realm: str | None, batch: int) -> None:
    from crux.services.uow import unit_of_work
    from crux.store import events, retention
    from crux.store.db import opened
    before = dt.datetime.now(dt.UTC) - parse_age(age)
    realm = realm.lower() if realm else None
    total = pruned_events = 0
    with opened(settings()) as db:
        if realm:
            require_realm(db, realm)
        while True:
            with unit_of_work(db, realm, "crux") as uow:
                deleted = retention.prune_batch(uow.conn, table, before, batch, realm)
            total += deleted
            if deleted < batch:
                break
        # Events are kept as long as history (SPEC §9.2): whole marks at a time, so a reader
        # can tell exactly where its stream was cut.
        while table == "wfhistory":
            with unit_of_work(db, realm, "crux") as uow:
                marks, deleted = events.prune_marks(uow.conn, before, EVENT_MARKS_PER_BATCH, realm)
            pruned_events += deleted
            if marks < EVENT_MARKS_PER_BATCH:
                break
    click.echo(f"deleted {total} {what} before {before.isoformat(timespec='seconds')}"
               + (f", and {pruned_events} events" if table == "wfhistory" else ""))


def _prune_command(group: click.Group, table: str, what: str, help_age: str, doc: str):
    @group.command("prune", help=doc)
    @click.option("--older-than", "age", required=True, help=help_age)
    @click.option("--realm", help="only this realm (default: every realm)")
    @click.option("--batch", default=5000, show_default=True, type=click.IntRange(min=1),
                  help="rows deleted per transaction")
    def prune(age, realm, batch):
        _prune(table, what, age, realm, batch)
    return prune


@click.group("history")
def history():
    """Workflow history commands."""


@click.group("changelog")
def changelog():
    """Changelog (audit trail) commands."""


_prune_command(history, "wfhistory", "history rows closed", "delete history closed longer ago than this (e.g. 90d)",
               "Delete closed workflow history older than a given age, in batches (open steps are kept).")
_prune_command(changelog, "changelog", "changelog rows written", "delete changes made longer ago than this (e.g. 400d)",
               "Delete changelog rows older than a given age, in batches.")
