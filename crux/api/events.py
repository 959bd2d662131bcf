"""The event stream and webhooks (SPEC §9)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError

from crux.api.auth import RealmCap
from crux.api.calls import DELETE, LIST, UPDATE, CallContext, CallGroup
from crux.api.fields import Bounded, Name, NameList, String, Text
from crux.store.events import KINDS

calls = CallGroup("events")
REPORT, CONFIG = RealmCap("report"), RealmCap("config")


class Kind(String):
    def _deserialize(self, value, attr, data, **kw):
        text = super()._deserialize(value, attr, data, **kw)
        if text not in KINDS:
            raise ValidationError(f"invalid: unknown event kind {text}; kinds are {', '.join(KINDS)}")
        return text


class WebhookRead(RealmCap):
    """`config` or `report`."""

    def __init__(self):
        super().__init__("report")
        self.label = "config or report"

    def check(self, ident, payload):
        if not ident.has("config"):
            super().check(ident, payload)


class EventList(Schema):
    after = Text(max_length=200, metadata={"description": "a `next` cursor of an earlier answer"})
    limit = Bounded(1, 1000, load_default=100, metadata={"description": "at most this many events (default 100)"})
    wait = Bounded(0, 30, whole=False, load_default=0, metadata={"description": "seconds to wait for an event"})
    kinds = NameList(Kind(), most=len(KINDS))
    app = Name(fold=True)
    workflow = Name()
    entityid = Text(max_length=256)


@calls.call("wfeventlist", EventList, need=REPORT, methods=LIST)
def wfeventlist(ctx: CallContext, data: dict):
    """The realm's events after a cursor, in commit order -> {events: [...], next, lost}; with `wait`,
    answers as soon as a matching event commits."""
    return ctx.crux.events.list(ctx.identity, data)


class Kinds(NameList):
    def __init__(self, **kw):
        super().__init__(Kind(), most=len(KINDS), nonempty=True, **kw)


class WebhookName(Schema):
    name = Name(required=True)


class WebhookNew(WebhookName):
    url = Text(max_length=2000, required=True, metadata={"description": "http:// or https://"})
    kinds = Kinds(metadata={"description": "only events of these kinds (default: all)"})
    app = Name(fold=True, metadata={"description": "only instance events of this app"})
    workflow = Name(metadata={"description": "only instance events of this workflow"})
    secret = Text(max_length=200, nonempty=True, metadata={"description": "signs each body (X-Crux-Signature)"})


class WebhookUpdate(WebhookName):
    """The fields given change (null clears a filter or the secret)."""
    url = Text(max_length=2000)
    kinds = Kinds(allow_none=True)
    app = Name(fold=True, allow_none=True)
    workflow = Name(allow_none=True)
    secret = Text(max_length=200, nonempty=True, allow_none=True)


class Nothing(Schema):
    pass


@calls.call("webhooknew", WebhookNew, need=CONFIG)
def webhooknew(ctx: CallContext, data: dict):
    """A webhook receiving the realm's events (those it asks for) committed from now on, in batches."""
    return ctx.crux.webhooks.new(ctx.identity, data)


@calls.call("webhookupdate", WebhookUpdate, need=CONFIG, methods=UPDATE)
def webhookupdate(ctx: CallContext, data: dict):
    """Change the fields of a webhook that are given."""
    return ctx.crux.webhooks.update(ctx.identity, data)


@calls.call("webhookdelete", WebhookName, need=CONFIG, methods=DELETE)
def webhookdelete(ctx: CallContext, data: dict):
    """Delete a webhook; its deliveries stop."""
    return ctx.crux.webhooks.delete(ctx.identity, data)


@calls.call("webhooklist", Nothing, need=WebhookRead(), methods=LIST)
def webhooklist(ctx: CallContext, data: dict):
    """The realm's webhooks with their pending events and last error (never the secret)."""
    return ctx.crux.webhooks.list(ctx.identity, data)
