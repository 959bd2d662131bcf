"""Declaring web calls: one decorator names the call, its payload schema and the capability it needs.

    bp = CallBlueprint("admin")

    @bp.call("appnew", AppNewSchema, need=RealmCap("root"))
    def appnew(ctx, data): ...

Every call is `POST /api/v1/<name>` plus the extra methods and path forms it lists. The blueprint
keeps the declarations so the app can list every call (OpenAPI, the authorization-matrix test).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from flask import Blueprint, current_app, g, request
from marshmallow import Schema

from crux import log
from crux.api import envelope
from crux.api.auth import Authenticated, Need, bearer_token
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
    crux: object                           # crux.state.Crux: settings, db, caches, services

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


def _make_view(call: Call):
    def view(**path_args):
        crux = current_app.extensions["crux"]
        g.crux_call = call.name
        g.crux_started = time.perf_counter()
        identity = crux.identities.authenticate(bearer_token())
        g.crux_who = identity.user
        payload = envelope.read_payload(path_args)
        call.need.check(identity, payload)
        data = envelope.load(call.schema, payload) if call.schema is not None else payload
        return envelope.success(call.fn(CallContext(identity, crux), data))

    view.__name__ = f"call_{call.name}"
    return view


def after_call(response):
    """Metrics and the `A` log line of every API call; never logs the body or the token."""
    call = g.get("crux_call")
    if call:
        current_app.extensions["crux"].metrics.observe(call, response.status_code,
                                                       time.perf_counter() - g.crux_started)
        log.activity("api", call, who=g.get("crux_who"), remote_ip=request.remote_addr,
                     data={"status": response.status_code}, pri="debug" if response.status_code < 400 else "info")
    return response
