"""Every setting Crux reads, declared once with its default (SPEC §7).

All settings come from `CRUX_*` environment variables; the README lists them.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any


def package_folder(package: str) -> Path:
    """A folder installed as package data (`crux.schema_sql`, `crux.examples`): found the same
    way in a source checkout (`pip install -e .`) and in any installed copy (`pip install .`)."""
    return Path(str(resources.files(package)))


def _env(name: str, default=None):
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("on", "true", "yes", "1"):
        return True
    if value in ("off", "false", "no", "0"):
        return False
    raise ValueError(f"not on/off: {raw!r}")


_CONVERT: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "str": str, "bool": _flag}


@dataclass(frozen=True)
class Settings:
    # database: a URL for a real server; empty means the embedded PostgreSQL in data_dir
    database_url: str = ""
    data_dir: str = ".crux"
    pool_min: int = 1
    pool_max: int = 10
    pool_timeout: float = 5.0
    # the cache listener's own connection: LISTEN needs a session, so behind a transaction pooler
    # (PgBouncer) this points straight at PostgreSQL; empty: database_url
    listen_database_url: str = ""
    # server-side prepared statements for queries a connection repeats; off behind a pooler that
    # cannot carry them (PgBouncer in transaction mode before 1.21)
    db_prepare: bool = True
    schema_dir: str = str(package_folder("crux.schema_sql"))
    # tokens
    jwt_secret: str = ""
    jwt_public_key: str = ""
    jwt_jwks_url: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_leeway: int = 30
    # HTTP
    host: str = "0.0.0.0"
    port: int = 8085
    workers: int = 2
    threads: int = 4
    max_body: int = 1024 * 1024
    # identity and capabilities are cached per process and invalidated through NOTIFY;
    # this bounds how long a cache may live without any notification at all
    identity_ttl: float = 30.0
    log_level: str = "info"
    # webhooks may point only at these hosts or networks (comma-separated names and CIDRs); empty: anywhere
    webhook_allow: str = ""
    # engines (crux engine): seconds between beats; an engine silent for three beats is dead
    engine_beat: int = 10

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        values = {}
        for f in fields(cls):
            raw = _env("CRUX_" + f.name.upper())
            if raw is not None:
                values[f.name] = _CONVERT.get(str(f.type), str)(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().resolve()

    def dev_jwt_secret(self) -> str:
        """The HS256 secret: configured, or one generated once and kept in the data directory.

        A kept secret lets `crux token` mint tokens the local server accepts without any setup.
        """
        if self.jwt_secret:
            return self.jwt_secret
        path = self.data_path / "jwt_secret"
        if path.exists():
            return path.read_text().strip()
        self.data_path.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value)
        return value
