"""Reading the event stream (SPEC §9.2): `wfeventlist` with opaque cursors and long polling.

A cursor is a position in a realm's stream: (mark, id) — every event of the marks before `mark`,
and those of `mark` up to `id`, have been read (crux/store/events.py explains marks: they put
events in commit order, so a transaction that took an early id and committed late is read when
it commits, not skipped). Before reading, a reader closes the stream's open end with a new mark
when events have committed since the last one; marks of a realm are taken one at a time.

Long polling (`wait`) polls the database every POLL seconds until a matching event commits or the
wait is over: notifications would have to come from the writers, and NOTIFY serialises commits.
"""
from __future__ import annotations

import base64
import binascii
import re
import time

from crux.errors import CruxError
from crux.services.principal import Identity
from crux.services.uow import unit_of_work
from crux.store import events as event_store

POLL = 0.1
MARK_END = event_store.MARK_END
_CURSOR = re.compile(r"^e1\.(\d{1,19})\.(\d{1,19})$")


def encode_cursor(pos: int, event_id: int) -> str:
    return base64.urlsafe_b64encode(f"e1.{pos}.{event_id}".encode()).decode().rstrip("=")


def decode_cursor(text: str, field: str = "after") -> tuple[int, int]:
    """(mark, id) of a cursor `encode_cursor` made; anything else is `invalid` at `field`."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raw = ""
    found = _CURSOR.match(raw)
    if not found or int(found.group(1)) > MARK_END or int(found.group(2)) > MARK_END:
        raise CruxError("invalid", field, [text], "not a cursor of this stream (pass back a `next` as given)")
    return int(found.group(1)), int(found.group(2))


def event_out(row: dict) -> dict:
    return {k: row[k] for k in event_store.EVENT_COLUMNS}


class EventService:
    def __init__(self, db):
        self.db = db

    def mark(self, realm: str) -> None:
        """Close the realm's stream with a new mark if events committed since the last one."""
        with unit_of_work(self.db, realm, "crux") as uow:
            uow.lock(*event_store.mark_lock_key(realm))
            event_store.take_mark(uow.conn, realm)

    def end(self, realm: str) -> tuple[int, int]:
        """A cursor at the current end of the realm's stream: what commits next comes after it."""
        self.mark(realm)
        with self.db.connection() as conn:
            return event_store.last_mark(conn, realm), MARK_END

    def page(self, realm: str, after: tuple[int, int] | None, limit: int, filters: dict) -> dict:
        """One read: {events, next, lost}, `next` the cursor after the last event (the one given
        when there are none; with none given, the current end)."""
        self.mark(realm)
        with self.db.connection() as conn:
            pruned = event_store.pruned_to(conn, realm)
            start = pruned if after is None else max(after, pruned)
            lost = after is not None and after < pruned
            rows = event_store.read_events(conn, realm, start, limit, filters)
            if rows:
                nxt = (rows[-1]["pos"], rows[-1]["id"])
            elif after is not None:
                nxt = start        # the cursor given (past the pruned events when they were lost)
            else:
                nxt = (event_store.last_mark(conn, realm), MARK_END)
        return {"events": [event_out(r) for r in rows], "next": encode_cursor(*nxt), "lost": lost}

    def list(self, ident: Identity, data: dict) -> dict:
        """`wfeventlist`: the next page of the caller's realm's events, waiting up to `wait`
        seconds for one when there is none."""
        after = None if data.get("after") is None else decode_cursor(data["after"])
        filters = {k: data.get(k) for k in ("kinds", "app", "workflow", "entityid")}
        deadline = time.monotonic() + data.get("wait", 0)
        while True:
            page = self.page(ident.realm, after, data.get("limit", 100), filters)
            left = deadline - time.monotonic()
            if page["events"] or left <= 0:
                return page
            time.sleep(min(POLL, left))
