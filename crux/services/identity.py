"""Authentication: token -> (realm, user) -> Identity with its grants, cached per process.

A verified token is remembered (by its exact text) until it expires or `identity_ttl` passes,
whichever is first, so a signature is checked once per token and process, not per request.

The cache is invalidated through NOTIFY (`identity` for a user, `realm` for a whole realm) and
kept only while the listener is connected; `identity_ttl` bounds an entry's age regardless.
"""
from __future__ import annotations

import datetime as dt
import threading
import time

from crux.errors import CruxError
from crux.services.principal import Grant, Identity
from crux.services.tokens import TokenVerifier
from crux.store import grants as grant_store


def _ts(value):
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value)


class IdentityService:
    def __init__(self, db, listener, verifier: TokenVerifier, ttl: float):
        self.db = db
        self.listener = listener
        self.verifier = verifier
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[int, float, Identity | CruxError]] = {}
        self._lock = threading.Lock()
        self._epoch = 0  # bumped by every invalidation, so a load that raced one is not kept
        self._tokens: dict[str, tuple[float, float, str, str]] = {}
        listener.subscribe("identity", self._forget)
        listener.subscribe("realm", self._forget)
        listener.on_reset(self.clear)

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._cache.clear()

    def _forget(self, message: dict) -> None:
        with self._lock:
            self._epoch += 1
            realm, user = message["realm"], message.get("user")     # every notice names its realm
            if user is None:
                for key in [k for k in self._cache if k[0] == realm]:
                    self._cache.pop(key, None)
            else:
                self._cache.pop((realm, user), None)

    _MAX_TOKENS = 10_000

    def _verified(self, token: str) -> tuple[str, str]:
        now = time.time()
        hit = self._tokens.get(token)
        if hit is not None and hit[0] <= now < hit[1]:
            return hit[2], hit[3]
        realm, user, claims = self.verifier.verify_claims(token)
        leeway = self.verifier.settings.jwt_leeway
        not_before = float(claims.get("nbf", now)) - leeway
        expires = min(float(claims["exp"]) + leeway, now + self.ttl)
        if len(self._tokens) >= self._MAX_TOKENS:
            self._tokens.clear()
        self._tokens[token] = (not_before, expires, realm, user)
        return realm, user

    def authenticate(self, token: str) -> Identity:
        realm, user = self._verified(token)
        key = (realm, user)
        generation = self.listener.generation
        hit = self._cache.get(key)
        if hit is not None and generation is not None and hit[0] == generation and hit[1] > time.monotonic():
            outcome = hit[2]
        else:
            epoch = self._epoch
            outcome = self._load(realm, user)
            if generation is not None:
                with self._lock:
                    if epoch == self._epoch:
                        self._cache[key] = (generation, time.monotonic() + self.ttl, outcome)
        if isinstance(outcome, CruxError):
            raise outcome
        return outcome

    def _load(self, realm: str, user: str) -> Identity | CruxError:
        with self.db.connection() as conn:
            row = grant_store.identity_row(conn, realm, user)
        if not row["realm_exists"]:
            return CruxError("authn", "authorization", [realm], f"realm {realm} does not exist")
        if row["deactivated"]:
            return CruxError("unauthorized", "user", [user], f"user {user} is deactivated")
        grants = tuple(Grant(g["app"], g["cap"], _ts(g["from"]), _ts(g["to"])) for g in row["grants"])
        return Identity(realm, user, grants)
