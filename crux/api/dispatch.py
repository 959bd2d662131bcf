"""The WSGI layer in front of Flask: `POST /api/v1/<call>` goes straight to its call.

A call's work is `run_call` (crux/api/calls.py) whichever way it arrives; what this layer saves
is Flask's request machinery (request and app contexts, URL matching, the Response object and
its header handling), about a third of the server's CPU per call on the hot workflow and rules
calls. Everything else (the extra method and path forms of some calls, OPTIONS, the service
endpoints, unknown paths) goes on to Flask. Paths under /api/ are case-insensitive either way.
"""
from __future__ import annotations

import time
from http import HTTPStatus

from crux.api import envelope
from crux.api.calls import API_PREFIX, Call, observe, run_call

_STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}


class CallDispatcher:
    def __init__(self, flask_wsgi_app, crux, calls: list[Call], max_body: int):
        self.next = flask_wsgi_app
        self.crux = crux
        self.max_body = max_body
        self.calls = {f"{API_PREFIX}/{call.name}": call for call in calls if "POST" in call.methods}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path[:5].lower() == "/api/":
            path = environ["PATH_INFO"] = path.lower()
            if environ.get("REQUEST_METHOD") == "POST":
                call = self.calls.get(path)
                if call is not None:
                    return self._serve(call, environ, start_response)
        return self.next(environ, start_response)

    def _serve(self, call: Call, environ, start_response):
        started = time.perf_counter()
        raw, who = self._body(environ), None
        headers = [("Content-Type", "application/json"), *envelope.CORS_HEADERS]
        if raw is None:  # not read: gunicorn drains a little of it, then closes the connection
            status, body = envelope.TOOBIG.status, envelope.failure_body(envelope.TOOBIG)
        else:
            status, body, who = run_call(call, self.crux, environ.get("HTTP_AUTHORIZATION", ""), raw)
        headers.append(("Content-Length", str(len(body))))
        start_response(_STATUS_LINES[status], headers)
        observe(self.crux, call.name, status, started, who, environ.get("REMOTE_ADDR"))
        return [body]

    def _body(self, environ) -> bytes | None:
        """The request body; None past the configured limit (as werkzeug reads it: a body without
        a length counts only when the server marks the input as terminated, e.g. chunked)."""
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        if length:
            try:
                size = int(length)
            except ValueError:
                size = 0
            if size > self.max_body:
                return None
            return stream.read(size) if size > 0 else b""
        if environ.get("wsgi.input_terminated"):
            raw = stream.read(self.max_body + 1)
            return None if len(raw) > self.max_body else raw
        return b""
