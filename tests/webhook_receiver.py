"""A webhook receiver on 127.0.0.1 for tests: records every delivery, can refuse the first ones,
checks signatures, and counts deliveries in flight at once per webhook."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Receiver:
    def __init__(self, fail_first: int = 0, delay: float = 0.0, secret: str | None = None):
        self.fail_first, self.delay, self.secret = fail_first, delay, secret
        self.deliveries: list[dict] = []       # accepted ones
        self.refused: list[dict] = []
        self.arrived = 0                       # requests that began (counted before any delay)
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver._handle(self, body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handle(self, handler, body: bytes) -> None:
        with self._lock:
            self.arrived += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            record = {"headers": {k.lower(): v for k, v in handler.headers.items()}, "body": json.loads(body),
                      "signed_ok": self.secret is None or hmac.compare_digest(
                          handler.headers.get("X-Crux-Signature", ""),
                          "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest())}
            with self._lock:
                refuse = len(self.refused) < self.fail_first
                (self.refused if refuse else self.deliveries).append(record)
            try:
                handler.send_response(500 if refuse else 204)
                handler.send_header("Content-Length", "0")
                handler.end_headers()
            except OSError:        # the sender went away meanwhile (an engine killed mid-delivery)
                pass
        finally:
            with self._lock:
                self._in_flight -= 1

    def events(self) -> list[dict]:
        with self._lock:
            return [e for d in self.deliveries for e in d["body"]["events"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    """receiver(**kw) -> a Receiver on 127.0.0.1, closed at the end of the test."""
    made: list[Receiver] = []

    def make(**kw) -> Receiver:
        made.append(Receiver(**kw))
        return made[-1]
    yield make
    for r in made:
        r.close()


def keys(events) -> list[str]:
    """The last part of each `changed` event's key (the name it was about), in order."""
    return [e["key"].rsplit("/", 1)[-1] for e in events]
