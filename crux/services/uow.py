"""The unit of work: the one owner of every write (DESIGN "Unit of work").

    with unit_of_work(db, realm, who) as uow:          # a transaction on a pooled connection
        uow.lock("rules", realm, slice, app)            # advisory locks, held until it ends
        row = app_store.insert_app(uow.conn, ...)      # store functions: plain SQL on uow.conn
        uow.changed("app", (realm, name), "insert", None, row)   # changelog row (+ C log line)
        uow.notify("rules", realm=realm, ...)           # cache notice (+ this process, at commit)

Whatever a write touches besides its own rows goes through this object, so no code path can
forget it: the `changelog` row of every change to admin and rule data (and its `C` log line once
the transaction has committed), the cache notices for every process (delivered to this one at
commit, to the others by NOTIFY, which PostgreSQL sends only if the transaction commits), the
advisory locks, and the mapping of a unique violation (two writers racing for one key) to
`already_exist`. A block that raises rolls everything back; nothing of it is logged or noticed.

Three ways to run the statements (`mode`):
- "transaction" (default): `BEGIN`, statements one by one, `COMMIT`;
- "pipeline": one transaction in pipeline mode, statements sent without waiting for each other's
  results (the hot instance calls: lock, read and write go out in one or two round trips);
- "statement": no transaction block: the block runs exactly one statement, which is its own
  transaction (markdone's one-statement short way, one round trip).
"""
from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any, Literal

import psycopg
from psycopg.pq import TransactionStatus

from crux.common import log
from crux.errors import CruxError
from crux.store import changes
from crux.store.changes import ChangeKey
from crux.store.db import Database
from crux.store.notify import notice_payload, send_notice

Mode = Literal["transaction", "pipeline", "statement"]

# A unique violation means another writer made the same record first (the services check for
# an existing record before writing, so only a race gets here): the field it is reported at.
UNIQUE_FIELDS = {
    "app_pkey": "name",
    "realm_pkey": "realm",
    "schema_realm_slice_app_class_key": "class",
    "ruleset_realm_slice_app_class_setname_key": "name",
    "ruleset_workflow_name": "name",
    "stepworkflow_pkey": "step",
    "webhook_realm_name_key": "name",
}
_KEY_VALUES = re.compile(r"\)=\((.*)\) already exists")


class UnitOfWork:
    """One write in progress: its connection, and what to do once it has committed."""

    def __init__(self, conn: psycopg.Connection[Any], realm: str | None, who: str | None) -> None:
        self.conn = conn
        self.realm = realm
        self.who = who
        self._changes: list[dict[str, Any]] = []
        self._notices: list[str] = []

    def lock(self, *key: object) -> None:
        """An advisory lock on `key` (its parts joined with '/'), held until the write ends."""
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))",
                          ("/".join(str(k) for k in key),))

    def changed(self, entity: str, key: ChangeKey, op: str, old: dict[str, Any] | None,
                new: dict[str, Any] | None) -> None:
        """Record a change to admin or rule data (SPEC §1 `changelog`, §6 `C` line)."""
        self.changed_many(entity, [(key, op, old, new)])

    def changed_many(self, entity: str, rows: list[tuple[ChangeKey, str, dict[str, Any] | None, dict[str, Any] | None]]
                     ) -> None:
        """`changed` for many records of one entity at once (key, op, old, new), sent together."""
        recorded = [{"entity": entity, "key": changes.key_text(key), "op": op, "old": old, "new": new}
                    for key, op, old, new in rows]
        changes.insert_changes(self.conn, self.realm or "", self.who or "", recorded)
        self._changes.extend(recorded)

    def notify(self, kind: str, **key: object) -> None:
        """Tell every process's caches that data of `kind` (and `key`) changed."""
        payload = notice_payload(kind, **key)
        send_notice(self.conn, payload)
        self._notices.append(payload)

    def _committed(self, deliver: Callable[[str], None]) -> None:
        for change in self._changes:
            log.change(who=self.who, realm=self.realm, **change)
        for notice in self._notices:
            deliver(notice)


def already_exist(exc: psycopg.errors.UniqueViolation) -> CruxError:
    """The 400 for a unique violation, at the field its constraint names."""
    diag = exc.diag
    field = UNIQUE_FIELDS.get(diag.constraint_name or "", "name")
    found = _KEY_VALUES.search(diag.message_detail or "")
    value = found.group(1).split(", ")[-1] if found else None
    return CruxError("already_exist", field, [] if value is None else [value], f"{field} {value} already exists")


@contextlib.contextmanager
def unit_of_work(db: Database, realm: str | None, who: str | None,
                 mode: Mode = "transaction") -> Iterator[UnitOfWork]:
    """A write on a pooled connection (see the module's docstring)."""
    with db.connection() as conn:
        uow = UnitOfWork(conn, realm, who)
        try:
            if mode == "transaction":
                with conn.transaction():
                    yield uow
            elif mode == "pipeline":
                with _pipelined(conn):
                    yield uow
            else:
                yield uow
        except psycopg.errors.UniqueViolation as exc:
            raise already_exist(exc) from None
        uow._committed(db.deliver_notice)


@contextlib.contextmanager
def _pipelined(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """One transaction in pipeline mode: statements are sent without waiting, results are read
    when a cursor is fetched, and the commit goes with the last writes."""
    try:
        with conn.pipeline():
            conn.execute("BEGIN")
            yield
            conn.execute("COMMIT")
    except BaseException:
        if conn.info.transaction_status != TransactionStatus.IDLE:
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
        raise
