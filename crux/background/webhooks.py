"""Delivering webhooks (SPEC §9.3): a job of every engine process.

Each round holds one due webhook (crux/store/webhooks.py `claim_due`: one statement, so two
engines never hold the same one) for a lease a little longer than a delivery may take, sends its
next batch — at most BATCH matching events after its position — and lets it go: acknowledged (a
2xx within TIMEOUT seconds) moves its position past the batch; anything else keeps the position,
counts the failure and waits before the next attempt, doubling from 1 s to 5 minutes. A batch's
delivery id and last event are recorded before it is sent, so an engine that dies mid-delivery
leaves a batch that the next holder (once the lease lapses) sends again, the same events under
the same delivery id: at least once, in order, one delivery per webhook at a time. A webhook with
nothing it wants up to the end of its realm's latest mark moves there and is then passed over by
a read until events of its realm commit (an idle webhook writes nothing).
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import logging
import socket
import ssl
import time
import uuid
from urllib.parse import urlsplit

from crux.common.jsontext import dumps
from crux.errors import CruxError
from crux.services.events import event_out
from crux.services.uow import unit_of_work
from crux.services.webhooks import check_url
from crux.store import events as event_store
from crux.store import webhooks as webhook_store

BATCH = 100
TIMEOUT = 10.0                 # a delivery not acknowledged within this is a failure
LEASE = TIMEOUT + 5.0          # how long a holder keeps a webhook; a lapsed lease means it died
IDLE = 0.2                     # a webhook with nothing to send is looked at again after this
MAX_BACKOFF = 300.0
_logger = logging.getLogger("crux.webhooks")


def backoff(failures: int) -> float:
    """Seconds before the next attempt after `failures` failures in a row: 1, 2, 4, ... 300."""
    return min(2.0 ** (failures - 1), MAX_BACKOFF)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(url: str, body: bytes, headers: dict, timeout: float = TIMEOUT) -> str | None:
    """POST `body`; None when answered 2xx within `timeout` seconds in all, else what went wrong.
    Redirects are not followed (a 3xx is a failure)."""
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    assert parts.hostname is not None       # check_url refuses a URL without a host
    # the port given always: without one, http.client would read an IPv6 address's last group as it
    port = parts.port or (443 if parts.scheme == "https" else 80)
    conn: http.client.HTTPConnection | None = None
    try:
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname, port, timeout=timeout,
                                               context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path, body=body, headers=headers)
        left = deadline - time.monotonic()
        if left <= 0:
            return f"no answer within {timeout:g} s"
        conn.sock.settimeout(left)
        resp = conn.getresponse()
        resp.read(65536)
        if time.monotonic() > deadline:
            return f"no answer within {timeout:g} s"
        if 200 <= resp.status < 300:
            return None
        return f"HTTP {resp.status} {resp.reason}".strip()
    except (OSError, http.client.HTTPException, ssl.SSLError, ValueError) as exc:
        # ValueError: a URL stored before check_url refused its form (http.client.InvalidURL, IDNA)
        if isinstance(exc, socket.timeout):
            return f"no answer within {timeout:g} s"
        return f"{exc.__class__.__name__}: {exc}"[:500]
    finally:
        if conn is not None:
            conn.close()


class WebhookDelivery:
    """The engine job: `run_once()` delivers (or tries) one batch of one due webhook; False when
    no webhook was due."""

    def __init__(self, db, events, allow: list, owner: str | None = None):
        self.db, self.events, self.allow = db, events, allow
        self.owner = owner or f"{socket.gethostname()}/{uuid.uuid4().hex[:12]}"

    def run_once(self) -> bool:
        with unit_of_work(self.db, None, "crux", "statement") as uow:
            hook = webhook_store.claim_due(uow.conn, self.owner, LEASE)
        if hook is None:
            return False
        try:
            self._deliver(hook)
        except Exception as exc:  # the database went away, or a defect: count it, try again later
            _logger.exception("webhook delivery of %s failed", hook["name"])
            with contextlib.suppress(Exception):   # else the lease lapses and the batch is retried then
                self._finish(hook, error=f"internal: {exc.__class__.__name__}", retry=backoff(hook["failures"] + 1))
        return True

    def _finish(self, hook: dict, *, acked=None, error=None, retry: float = 0.0, attempted: bool = True) -> None:
        with unit_of_work(self.db, hook["realm"], "crux", "statement") as uow:
            webhook_store.finish(uow.conn, hook["id"], self.owner, acked=acked, error=error, retry_in=retry,
                                 attempted=attempted)

    def _deliver(self, hook: dict) -> None:
        realm, after = hook["realm"], (hook["pos"], hook["eventid"])
        filters = webhook_store.batch_filters(hook)
        if hook["batch"] is not None:           # sent before and not acknowledged: the same again
            batch, last = hook["batch"], (hook["batchpos"], hook["batchevent"])
            with self.db.connection() as conn:
                rows = event_store.read_events(conn, realm, after, BATCH, filters, upto=last)
            if not rows:                        # pruned meanwhile: nothing left to send of it
                self._finish(hook, acked=last, attempted=False)
                return
        else:
            end = self.events.end(realm)       # the latest mark, taken first: all its events are read
            with self.db.connection() as conn:
                rows = event_store.read_events(conn, realm, after, BATCH, filters)
            if not rows:                        # nothing it wants up to there: it waits at that end
                self._finish(hook, acked=end if end > after else None, retry=IDLE, attempted=False)
                return
            batch, last = uuid.uuid4().hex, (rows[-1]["pos"], rows[-1]["id"])
            with unit_of_work(self.db, realm, "crux", "statement") as uow:
                if not webhook_store.start_batch(uow.conn, hook["id"], self.owner, batch, last):
                    return                      # the lease was lost (deleted, or taken over)
        body = dumps({"webhook": hook["name"], "events": [event_out(r) for r in rows]}).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "crux-webhooks",
                   "X-Crux-Webhook": hook["name"], "X-Crux-Delivery": batch}
        if hook["secret"]:
            headers["X-Crux-Signature"] = signature(hook["secret"], body)
        try:
            check_url(hook["url"], self.allow)
            error = post(hook["url"], body, headers)
        except CruxError as exc:
            error = exc.messages[0].get("msg") or exc.errcode
        if error is None:
            self._finish(hook, acked=last)
        else:
            self._finish(hook, error=error, retry=backoff(hook["failures"] + 1))
