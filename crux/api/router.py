"""The one way into every call: a small WSGI router in front of Flask.

Every call path (`/api/v1/<call>` and its path forms, case-insensitive) is served here, whatever
the method: the body is read within the limit, the method checked against the call's own list
(405 with `Allow` otherwise, before anything runs), the token authenticated, the payload read and
checked (crux/api/envelope.py), the capability checked, the payload validated, the call run, and
the answer, its CORS headers, its metrics and its `A` log line written — each in one place here.

Flask serves only what is not a call (health, readiness, metrics, the API document and its
pages); its answers get the same CORS headers here. Skipping Flask's request machinery for calls
(contexts, URL matching, the Response object) saves about a third of the server's CPU per call on
the hot workflow and rules calls.
"""
from __future__ import annotations

import time
from http import HTTPStatus

from crux.api import envelope
from crux.api.auth import bearer_token
from crux.api.calls import API_PREFIX, Call, CallContext
from crux.common import log
from crux.errors import CruxError

_STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}
_PREFIX = API_PREFIX + "/"
_JSON = ("Content-Type", "application/json")
_PREFLIGHT = [("Content-Length", "0"), *envelope.CORS_HEADERS]


class CallRouter:
    def __init__(self, crux, calls: list[Call], flask_wsgi_app, max_body: int):
        self.crux = crux
        self.flask = flask_wsgi_app
        self.max_body = max_body
        self.by_name = {call.name: call for call in calls}
        self.by_path = {_PREFIX + call.name: call for call in calls}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path[:5].lower() == "/api/":
            path = environ["PATH_INFO"] = path.lower()
            call = self.by_path.get(path)
            if call is not None:
                return self._serve(call, None, environ, start_response)
            if path.startswith(_PREFIX):   # a path form: /api/v1/<call>/<parameter>...
                name, _, rest = path[len(_PREFIX):].partition("/")
                call = self.by_name.get(name)
                if call is not None:
                    for form in call.paths:
                        args = form.match(rest.split("/"))
                        if args is not None:
                            return self._serve(call, args, environ, start_response)
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            start_response("204 No Content", _PREFLIGHT)
            return [b""]

        def with_cors(status, headers, exc_info=None):
            return start_response(status, [*headers, *envelope.CORS_HEADERS], exc_info)
        return self.flask(environ, with_cors)

    def _serve(self, call: Call, path_args: dict | None, environ, start_response):
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD", "")
        who, headers = None, [_JSON, *envelope.CORS_HEADERS]
        if method not in call.methods:
            if method == "OPTIONS":
                start_response("204 No Content", _PREFLIGHT)
                return [b""]
            err = CruxError("method_not_allowed", "method", [method],
                            f"{call.name} takes {call.allow}, not {method}")
            status, body = err.status, envelope.failure_body(err)
            headers.append(("Allow", call.allow))
        else:
            raw = self._body(environ)
            if raw is None:  # not read: the server drains a little of it, then closes the connection
                status, body = envelope.TOOBIG.status, envelope.failure_body(envelope.TOOBIG)
            else:
                status, body, who = run_call(call, self.crux, environ.get("HTTP_AUTHORIZATION", ""), raw, path_args)
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


def run_call(call: Call, crux, authorization: str, raw: bytes, path_args: dict | None = None
             ) -> tuple[int, bytes, str | None]:
    """Authenticate, read the payload, check the need, validate, run -> (status, envelope, user).
    Every failure becomes its error envelope here; nothing escapes."""
    who = None
    try:
        identity = crux.identities.authenticate(bearer_token(authorization))
        who = identity.user
        payload = envelope.read_payload(raw, path_args)
        call.need.check(identity, payload)
        data = envelope.load(call.schema, payload) if call.schema is not None else payload
        return 200, envelope.success_body(call.run(CallContext(identity, crux), data)), who
    except CruxError as err:
        return err.status, envelope.failure_body(err), who
    except Exception:  # noqa: BLE001 - a defect: logged with its traceback, reported as `internal`
        envelope.log_internal()
        return 500, envelope.failure_body(envelope.INTERNAL), who


def observe(crux, call: str, status: int, started: float, who: str | None, remote_ip: str | None) -> None:
    """Metrics and the `A` log line of one API call; never logs the body or the token."""
    crux.metrics.observe(call, status, time.perf_counter() - started)
    log.activity("api", call, who=who, remote_ip=remote_ip, data={"status": status},
                 pri="debug" if status < 400 else "info")
