"""The event stream and webhooks (SPEC §9)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from crux.api.auth import RealmCap
from crux.api.calls import CallBlueprint
from crux.api.fields import Id, Name, Text
from crux.store.events import KINDS

bp = CallBlueprint("events")
REPORT = RealmCap("report")


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
