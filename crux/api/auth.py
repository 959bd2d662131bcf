"""What each call needs (SPEC §4.2): one `Need` object per call, checked in one place.

Every call is declared with one of these in the `call` decorator (crux/api/calls.py).
"""
from __future__ import annotations

from crux.errors import CruxError
from crux.services.principal import READ_CAPS, Identity


class Need:
    """Base: an authenticated user of an existing realm, not deactivated."""
    label = "authenticated"

    def check(self, ident: Identity, payload: dict) -> None:
        return None


class Authenticated(Need):
    pass


class RealmCap(Need):
    """A realm-level capability (root implies it)."""

    def __init__(self, cap: str):
        self.cap = cap
        self.label = cap

    def check(self, ident, payload):
        if not ident.has(self.cap):
            raise CruxError("unauthorized", "cap", [self.cap], f"this call needs the {self.cap} capability")


def _payload_app(payload: dict, field: str):
    value = payload.get(field)
    return value.lower() if isinstance(value, str) else None


class AppCap(Need):
    """An app-level capability on the app named in the payload (root implies it)."""

    def __init__(self, cap: str, field: str = "app"):
        self.cap, self.field = cap, field
        self.label = f"{cap} on the app"

    def check(self, ident, payload):
        app = _payload_app(payload, self.field)
        if app is None:
            return  # the payload is invalid: validation reports it; nothing is done
        if not ident.has(self.cap, app):
            raise CruxError("unauthorized", self.field, [app],
                            f"this call needs the {self.cap} capability on app {app}")


class AppRead(Need):
    """Reading rule data: `report`, or `schema`/`ruleset` on the app. Without an app in the
    payload the caller needs some right to read, and the service filters rows to its apps."""

    caps = READ_CAPS
    label = "report, or schema/ruleset on the app"

    def __init__(self, field: str = "app"):
        self.field = field

    def check(self, ident, payload):
        allowed = ident.apps_with(self.caps)
        if allowed is None:
            return
        app = _payload_app(payload, self.field)
        if app is None and payload.get(self.field) is None:
            if not allowed:
                raise CruxError("unauthorized", "cap", list(self.caps),
                                "this call needs report, schema or ruleset rights")
            return
        if app not in allowed:
            raise CruxError("unauthorized", self.field, [app], f"no right to read app {app}")


def bearer_token(header: str) -> str:
    """The token of an `Authorization: Bearer <token>` header."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CruxError("authn", "authorization", msg="a bearer token is required")
    return token.strip()
