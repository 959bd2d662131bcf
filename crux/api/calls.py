"""Declaring web calls: one decorator names the call, its payload schema and the capability it needs.

    bp = CallBlueprint("admin")

    @bp.call("appnew", AppNewSchema, need=RealmCap("root"))
    def appnew(ctx, data): ...

Every call is `POST /api/v1/<name>` plus the extra methods and path forms it lists. The blueprint
keeps the declarations so the app can list every call (OpenAPI, the authorization-matrix test).
`run_call` is the one way a call runs: from its Flask view (the extra forms) and from the
dispatcher in front of Flask (crux/api/dispatch.py: every `POST /api/v1/<name>`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from flask import Blueprint, Response, current_app, g, request
from marshmallow import Schema

from crux.common import log
from crux.api import envelope
from crux.api.auth import Authenticated, Need, bearer_token
from crux.errors import CruxError
from crux.services.principal import Identity

API_PREFIX = "/api/v1"


@dataclass
class Call:
    name: str
    fn: Callable
    schema: Schema | None
    need: Need
    methods: tuple[str, ...]
    extra_paths: tuple[str, ...]           # e.g. ("/realmsliceapps/<int:id>",)
    summary: str
    tag: str


@dataclass
class CallContext:
    """What a call's function receives besides its payload."""
    identity: Identity
    crux: object                           # crux.services.state.Crux: settings, db, caches, services

    @property
    def realm(self) -> str:
        return self.identity.realm

    @property
    def user(self) -> str:
        return self.identity.user


class CallBlueprint(Blueprint):
    def __init__(self, name: str, tag: str | None = None):
        super().__init__(name, __name__, url_prefix=API_PREFIX)
        self.tag = tag or name
        self.calls: list[Call] = []

    def call(self, name: str, schema: type[Schema] | Schema | None = None, *, need: Need | None = None,
             methods=("POST",), paths=()):
        def register(fn):
            call = Call(name=name, fn=fn, schema=schema() if isinstance(schema, type) else schema,
                        need=need or Authenticated(), methods=tuple(methods),
                        extra_paths=tuple(paths),
                        summary=(fn.__doc__ or "").strip(), tag=self.tag)
            self.calls.append(call)
            view = _make_view(call)
            self.add_url_rule(f"/{name}", endpoint=name, view_func=view, methods=list(call.methods))
            for i, extra in enumerate(call.extra_paths):
                method_list = ["POST", "GET", "DELETE", "PUT"]
                self.add_url_rule(extra, endpoint=f"{name}__{i}", view_func=view, methods=method_list)
            return fn
        return register

    def declare(self, name: str, schema, need: Need, doc: str, fn: Callable, **kw) -> None:
        """`call` for a function made for it (tables of similar calls): `fn(ctx, data)`, a new
        function each time, takes the call's name and `doc` as its summary."""
        fn.__name__, fn.__doc__ = name, doc
        self.call(name, schema, need=need, **kw)(fn)


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
        return 200, envelope.success_body(call.fn(CallContext(identity, crux), data)), who
    except CruxError as err:
        return err.status, envelope.failure_body(err), who
    except Exception:  # a defect: logged with its traceback, reported as `internal`
        envelope.log_internal()
        return 500, envelope.failure_body(envelope.INTERNAL), who


def _make_view(call: Call):
    def view(**path_args):
        crux = current_app.extensions["crux"]
        g.crux_call = call.name
        g.crux_started = time.perf_counter()
        raw = request.get_data(cache=True)  # past MAX_CONTENT_LENGTH: RequestEntityTooLarge, a 413 envelope
        status, body, g.crux_who = run_call(call, crux, request.headers.get("Authorization", ""), raw, path_args)
        return Response(body, status, mimetype="application/json")

    view.__name__ = f"call_{call.name}"
    return view


def observe(crux, call: str, status: int, started: float, who: str | None, remote_ip: str | None) -> None:
    """Metrics and the `A` log line of one API call; never logs the body or the token."""
    crux.metrics.observe(call, status, time.perf_counter() - started)
    log.activity("api", call, who=who, remote_ip=remote_ip, data={"status": status},
                 pri="debug" if status < 400 else "info")


def after_call(response):
    """Flask's side of `observe`, for calls served through their views."""
    call = g.get("crux_call")
    if call:
        observe(current_app.extensions["crux"], call, response.status_code, g.crux_started,
                g.get("crux_who"), request.remote_addr)
    return response
