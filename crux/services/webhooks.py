"""Webhook calls (SPEC §9.3): `webhooknew`, `webhookupdate`, `webhookdelete`, `webhooklist`.

Engines deliver them (crux/background/webhooks.py). A webhook starts at the end of its realm's
stream as it is when the webhook is created: it receives the events committed after that. The
secret is stored to sign bodies and never answered or logged (the changelog says whether a
webhook is signed, not with what).
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from crux.errors import CruxError, not_found
from crux.services.principal import Identity
from crux.services.uow import unit_of_work
from crux.store import events as event_store
from crux.store import webhooks as webhook_store

_CHANGE_FIELDS = ("url", "kinds", "app", "workflow", "signed")


def allowed_targets(setting: str) -> list:
    """CRUX_WEBHOOK_ALLOW: host names and networks (CIDRs), comma-separated; empty: anywhere."""
    out: list = []
    for part in (p.strip() for p in setting.split(",")):
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            out.append(part.lower())
    return out


def check_url(url: str, allow: list, field: str = "url", resolve: bool = True) -> None:
    """An http(s) URL with a host, pointing where CRUX_WEBHOOK_ALLOW lets webhooks point: its host
    named in the list, or every address it resolves to inside a listed network."""
    if any(c <= " " or c == "\x7f" for c in url):
        raise CruxError("invalid", field, [url], "a webhook url has no spaces or control characters")
    try:
        parts = urlsplit(url)           # raises ValueError for a malformed [IPv6] host
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise CruxError("invalid", field, [url], "a webhook url is an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 - reading it checks it (urlsplit raises ValueError for a bad port)
    except ValueError:
        raise CruxError("invalid", field, [url], "the url's port is not a number from 0 to 65535") from None
    if not _host_ok(parts.hostname):
        raise CruxError("invalid", field, [url], "the url's host is not a valid host name or IP address")
    if not allow:
        return
    host = parts.hostname.lower()
    if host in allow:
        return
    networks = [a for a in allow if not isinstance(a, str)]
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        addresses = set()
        if resolve:
            try:
                # a TCP lookup gives IPv4 and IPv6 socket addresses: the address as text first (typeshed
                # also allows other families' forms), an IPv6 zone after a %
                addresses = {ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
                             for *_, sockaddr in socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)}
            except (OSError, UnicodeError):
                addresses = set()
    if not addresses or not all(any(a in n for n in networks) for a in addresses):
        raise CruxError("not_allowed", field, [url], "webhooks may not point there (CRUX_WEBHOOK_ALLOW)")


def _host_ok(host: str) -> bool:
    """An IP address, or a host name that can be looked up (IDNA: labels of 1-63 characters)."""
    if ":" in host:                     # only an IPv6 address has one (urlsplit took the port off)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return True
    try:
        return bool(host.encode("idna"))
    except UnicodeError:
        return False


def _out(row: dict, pending: int | None = None) -> dict:
    out = {k: row[k] for k in ("name", "url", "kinds", "app", "workflow", "createdat", "createdby")}
    if pending is not None:
        out["pending"] = pending
    out.update({k: row[k] for k in ("lastattempt", "lasterror", "failures")})
    return out


def _change(row: dict | None) -> dict | None:
    return None if row is None else {k: row[k] for k in _CHANGE_FIELDS}


class WebhookService:
    def __init__(self, db, events, settings):
        self.db, self.events = db, events
        self.allow = allowed_targets(settings.webhook_allow)

    def new(self, ident: Identity, data: dict) -> dict:
        check_url(data["url"], self.allow)
        realm = ident.realm
        self.events.mark(realm)         # the stream's end now: the webhook gets what commits after
        with unit_of_work(self.db, realm, ident.user) as uow:
            if webhook_store.get_webhook(uow.conn, realm, data["name"]) is not None:
                raise CruxError("already_exist", "name", [data["name"]], f"webhook {data['name']} already exists")
            start = (event_store.last_mark(uow.conn, realm), event_store.MARK_END)
            row = webhook_store.insert_webhook(uow.conn, realm, data["name"], data, start, ident.user)
            uow.changed("webhook", (realm, data["name"]), "insert", None, _change(row))
        return _out(row, 0)

    def update(self, ident: Identity, data: dict) -> dict:
        if "url" in data:
            check_url(data["url"], self.allow)
        realm, name = ident.realm, data["name"]
        with unit_of_work(self.db, realm, ident.user) as uow:
            old = webhook_store.get_webhook(uow.conn, realm, name, lock=True)
            if old is None:
                raise not_found("name", name)
            row = webhook_store.update_webhook(uow.conn, realm, name, {k: v for k, v in data.items() if k != "name"},
                                               ident.user)
            assert row is not None      # locked above
            uow.changed("webhook", (realm, name), "update", _change(old), _change(row))
        return _out(row)

    def delete(self, ident: Identity, data: dict) -> dict:
        realm, name = ident.realm, data["name"]
        with unit_of_work(self.db, realm, ident.user) as uow:
            old = webhook_store.delete_webhook(uow.conn, realm, name)
            if old is None:
                raise not_found("name", name)
            uow.changed("webhook", (realm, name), "delete", _change(old), None)
        return {"name": name}

    def list(self, ident: Identity, data: dict) -> dict:
        self.events.mark(ident.realm)
        with self.db.connection() as conn:
            return {"webhooks": [_out(r, r["pending"]) for r in webhook_store.list_webhooks(conn, ident.realm)]}
