"""Declaring web calls: one decorator per call, the same form for every call.

    calls = CallGroup("admin")

    @calls.call("appdelete", AppName, need=ROOT, methods=("POST", "DELETE"), paths=("appdelete/<name>",))
    def appdelete(ctx: CallContext, data: dict):
        \"\"\"Delete an app that nothing uses.\"\"\"          # the call's documentation
        return admin.app_delete(ctx.crux.db, ctx.identity, data)

The decorator names the call, its payload schema and the capability it needs, and lists the HTTP
methods it takes (POST unless said) and any path forms (`<name>` or `<int:id>` segments after the
call's name, merged into the payload). The function runs the service and is named after the call,
so a traceback names the call. Grepping a call's name finds its declaration.

How a request reaches a call (authentication, body, limits, CORS, metrics, the `A` log line) is
crux/api/router.py, the one entry path.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from marshmallow import Schema

from crux.api.auth import Need
from crux.services.principal import Identity

if TYPE_CHECKING:
    from crux.services.state import Crux

API_PREFIX = "/api/v1"
# The methods of a call besides POST, as Crux's clients send them: PUT for updates, DELETE for
# deletes, GET for lists (sent without a body).
UPDATE, DELETE, LIST = ("POST", "PUT"), ("POST", "DELETE"), ("POST", "GET")


@dataclass(frozen=True)
class PathForm:
    """An extra path of a call: its name, then one parameter per segment (`realmsliceapps/<int:id>`,
    `appdelete/<name>`); the parameters are merged into the payload."""
    template: str
    params: tuple[tuple[str, bool], ...]   # (name, is an int)

    @classmethod
    def parse(cls, call: str, template: str) -> PathForm:
        name, *params = template.strip("/").split("/")
        if name != call or not params or not all(p[:1] == "<" and p[-1:] == ">" for p in params):
            raise ValueError(f"path form {template!r} of {call}: the call's name, then <name> or <int:name> segments")
        return cls(template.strip("/"), tuple((p[1:-1].removeprefix("int:"), p.startswith("<int:")) for p in params))

    def match(self, segments: list[str]) -> dict | None:
        """The parameters of the segments after the call's name, or None when they do not fit.
        An int parameter that is not a number is passed on as text: the payload schema names it."""
        if len(segments) != len(self.params) or not all(segments):
            return None
        return {name: int(given) if is_int and given.isascii() and given.isdigit() else given
                for given, (name, is_int) in zip(segments, self.params, strict=True)}

    @property
    def openapi(self) -> str:
        """The path in OpenAPI's form: `realmsliceapps/{id}`."""
        return "/".join([self.template.split("/", 1)[0]] + ["{" + name + "}" for name, _ in self.params])


@dataclass(frozen=True)
class Call:
    name: str
    run: Callable                          # run(ctx, data) -> the result
    schema: Schema | None
    need: Need
    methods: tuple[str, ...]               # as declared, POST first by convention
    paths: tuple[PathForm, ...]
    doc: str
    tag: str
    allow: str = field(init=False)         # the Allow header of a 405

    def __post_init__(self):
        object.__setattr__(self, "allow", ", ".join(self.methods))


@dataclass
class CallContext:
    """What a call's function receives besides its payload."""
    identity: Identity
    crux: Crux                             # the process's settings, database, caches and services


class CallGroup:
    """The calls of one module (a tag in the API document), in declaration order."""

    def __init__(self, tag: str):
        self.tag = tag
        self.calls: list[Call] = []

    def call(self, name: str, schema: type[Schema] | None, *, need: Need, methods: tuple[str, ...] = ("POST",),
             paths: tuple[str, ...] = ()):
        def register(fn: Callable) -> Callable:
            if fn.__name__ != name:
                raise ValueError(f"the function of call {name} must be named {name}, not {fn.__name__}")
            if not fn.__doc__:
                raise ValueError(f"call {name} has no documentation (its function's docstring)")
            self.calls.append(Call(name=name, run=fn, schema=schema() if schema is not None else None,
                                   need=need, methods=tuple(m.upper() for m in methods),
                                   paths=tuple(PathForm.parse(name, p) for p in paths),
                                   doc=" ".join(fn.__doc__.split()), tag=self.tag))
            return fn
        return register
