"""The database lifecycle: the connection pool (the server is the configured one, or the
embedded one: embedded.py).

Connections are autocommit: a read runs on `db.connection()`; every write runs in a unit of work
(crux/services/uow.py), the one place that opens transactions.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from crux.common.config import Settings
from crux.errors import CruxError
from crux.store.embedded import resolve_url

_logger = logging.getLogger("crux.db")
# The errors that mean "no usable primary behind this connection": the server or the way to it
# is gone (OperationalError), or it is read-only now (a demoted primary, a standby).
_SERVER_LOST = (psycopg.OperationalError, psycopg.errors.ReadOnlySqlTransaction)


class Database:
    def __init__(self, settings: Settings, url: str | None = None):
        self.settings = settings
        self.url = url or resolve_url(settings)
        # prepare_threshold: a query a connection runs twice becomes a server-side prepared
        # statement, unless CRUX_DB_PREPARE=off (behind PgBouncer 1.18 in transaction mode the
        # next transaction may run on another server connection, which never saw it).
        # reconnect_timeout: a failed connection attempt is retried (after 1 s, 2 s, ...) for as
        # long as a call waits for a connection, so after a failover or a restart the waiting
        # calls get the new server's first connection instead of 503 at the end of their wait.
        self.pool: ConnectionPool[psycopg.Connection[DictRow]] = ConnectionPool(
            self.url, min_size=settings.pool_min, max_size=settings.pool_max,
            timeout=settings.pool_timeout, open=False, name="crux",
            kwargs={"autocommit": True, "row_factory": dict_row,
                    "prepare_threshold": 2 if settings.db_prepare else None},
            reconnect_timeout=settings.pool_timeout)

        # called with each cache notice of a committed transaction (the process's own listener)
        self.deliver_notice: Callable[[str], None] = lambda notice: None

    def open(self, wait: bool = False) -> None:
        """Open the pool; with `wait`, until its first connections are made (command-line use)."""
        self.pool.open(wait=wait)

    def close(self) -> None:
        self.pool.close()

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[DictRow]]:
        """A pooled connection; database failures become 503 `trylater`."""
        try:
            with self.pool.connection() as conn:
                try:
                    yield conn
                except _SERVER_LOST:
                    # Never hand this connection out again, even when libpq still thinks it is
                    # fine: behind PgBouncer it is a socket to the pooler, which stays up when
                    # the server behind it dies, and after a failover it may lead to a server
                    # that is no longer the primary. A new connection goes through the
                    # multi-host URL again and finds the primary. (A deadlock or a cancelled
                    # statement is an OperationalError too; a new connection costs little.)
                    conn.close()
                    raise
        except (*_SERVER_LOST, PoolTimeout) as exc:
            # Broken connections are discarded by the pool when returned; make it look at the
            # idle ones too so the service recovers as soon as the database is back.
            _logger.warning("database unavailable: %s", exc.__class__.__name__)
            self.recheck()
            raise CruxError("trylater", msg="the database is unavailable, try again later") from exc

    def recheck(self) -> None:
        """Test the idle pooled connections, in the background, and drop the broken ones: after a
        call found the database unavailable, and whenever the cache listener loses or regains its
        server (after a failover every idle connection still leads to the old primary, and each
        would fail one call)."""
        threading.Thread(target=self._check_pool, daemon=True).start()

    def _check_pool(self) -> None:
        with contextlib.suppress(Exception):
            self.pool.check()


@contextlib.contextmanager
def opened(settings: Settings, url: str | None = None):
    """A Database for a command-line run: its pool open (first connections made) until the block ends."""
    database = Database(settings, url)
    database.open(wait=True)
    try:
        yield database
    finally:
        database.close()
