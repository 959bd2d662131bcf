"""The event stream and webhooks (SPEC §9)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from crux.api.auth import RealmCap
from crux.api.calls import CallBlueprint
from crux.api.fields import Id, Name, Text
from crux.store.events import KINDS

bp = CallBlueprint("events")
REPORT, CONFIG = RealmCap("report"), RealmCap("config")


class Kind(fields.String):
    def _deserialize(self, value, attr, data, **kw):
        text = super()._deserialize(value, attr, data, **kw)
        if text not in KINDS:
            raise ValidationError(f"invalid: unknown event kind {text}; kinds are {', '.join(KINDS)}")
        return text


class Seconds(fields.Float):
    """A number of seconds within [0, most] (integers or fractions; not booleans or strings)."""

    def __init__(self, most: float, **kw):
        super().__init__(**kw)
        self.most = most
        self.metadata.update(minimum=0, maximum=most)

    def _deserialize(self, value, attr, data, **kw):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ValidationError("invalid: must be a number of seconds")
        if value < 0:
            raise ValidationError("too_small: must be 0 or more")
        if value > self.most:
            raise ValidationError(f"too_large: at most {self.most} seconds")
        return float(value)


class WebhookRead(RealmCap):
    """`config` or `report`."""

    def __init__(self):
        super().__init__("report")
        self.label = "config or report"

    def check(self, ident, payload):
        if not ident.has("config"):
            super().check(ident, payload)

    def sufficient(self, app):
        return [(None, "config"), (None, "report")]


class EventList(Schema):
    after = Text(max_length=200, metadata={"description": "a `next` cursor of an earlier answer"})
    limit = Id(most=1000, load_default=100, metadata={"description": "at most this many events (1 to 1000)"})
    wait = Seconds(30, load_default=0, metadata={"description": "seconds to wait for an event (0 to 30)"})
    kinds = fields.List(Kind(), validate=validate.Length(max=len(KINDS)))
    app = Name(fold=True)
    workflow = Name()
    entityid = Text(max_length=256)


@bp.call("wfeventlist", EventList, need=REPORT)
def wfeventlist(ctx, data):
    """The realm's events after a cursor, in commit order -> {events: [...], next, lost}; with `wait`,
    answers as soon as a matching event commits."""
    return ctx.crux.events.list(ctx.identity, data)


class Kinds(fields.List):
    def __init__(self, **kw):
        super().__init__(Kind(), validate=validate.Length(min=1, max=len(KINDS), error="invalid: 1 to 9 kinds"), **kw)


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


@bp.call("webhooknew", WebhookNew, need=CONFIG)
def webhooknew(ctx, data):
    """A webhook receiving the realm's events (those it asks for) committed from now on, in batches."""
    return ctx.crux.webhooks.new(ctx.identity, data)


@bp.call("webhookupdate", WebhookUpdate, need=CONFIG, methods=("POST", "PUT"))
def webhookupdate(ctx, data):
    """Change the fields of a webhook that are given."""
    return ctx.crux.webhooks.update(ctx.identity, data)


@bp.call("webhookdelete", WebhookName, need=CONFIG, methods=("POST", "DELETE"))
def webhookdelete(ctx, data):
    """Delete a webhook; its deliveries stop."""
    return ctx.crux.webhooks.delete(ctx.identity, data)


@bp.call("webhooklist", Nothing, need=WebhookRead())
def webhooklist(ctx, data):
    """The realm's webhooks with their pending events and last error (never the secret)."""
    return ctx.crux.webhooks.list(ctx.identity, data)
