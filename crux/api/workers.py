"""Worker leases, attempts and engines (SPEC §8.3-§8.5): `wfstepclaim`, `wfstepheartbeat`,
`wfstepfail`, `wfinstanceretry` (any authenticated user of the realm) and `wfenginelist`
(`report`). Every value out of its range or of the wrong type is `invalid` at its field."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError

from crux.api.admin import REPORT, Empty
from crux.api.auth import Authenticated
from crux.api.calls import LIST, CallContext, CallGroup
from crux.api.fields import MAX_ID, Bounded, List, Name, StrictBool, String, describe

calls = CallGroup("workers")
ANYONE = Authenticated()
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def valid_worker(value) -> bool:
    """A worker's name: 1 to 200 characters, no control characters."""
    return type(value) is str and 1 <= len(value) <= 200 and not _CONTROL.search(value)


class WorkerName(String):
    def __init__(self, **kw):
        super().__init__(**kw)
        describe(self, minLength=1, maxLength=200)

    def _deserialize(self, value, attr, data, **kw):
        if not valid_worker(value):
            raise ValidationError("invalid: a worker's name is a string of 1 to 200 characters without control "
                                  "characters")
        return value


class Attempt(Bounded):
    low, high = 1, 2**31 - 1

    @classmethod
    def valid(cls, value) -> bool:
        return type(value) is int and cls.low <= value <= cls.high


class RowRef(Bounded):
    """A row id (or slice number) in a call of SPEC §8: out of range is `invalid` there."""
    low, high = 1, MAX_ID


class Lease(Bounded):
    low, high = 1, 86_400

    def __init__(self, **kw):
        super().__init__(metadata={"description": "seconds (default: the step's timeout, else 300)"}, **kw)


class BoundedText(String):
    """A string of `low` to `high` characters; anything else is `invalid`."""

    def __init__(self, low: int, high: int, **kw):
        super().__init__(**kw)
        self.low, self.high = low, high
        describe(self, minLength=low, maxLength=high)

    def _deserialize(self, value, attr, data, **kw):
        if not isinstance(value, str) or not self.low <= len(value) <= self.high:
            raise ValidationError(f"invalid: a string of {self.low:,} to {self.high:,} characters")
        return value


class StepList(List):
    def __init__(self, **kw):
        super().__init__(BoundedText(1, 64), **kw)

    def _deserialize(self, value, attr, data, **kw):
        if not isinstance(value, list) or not 1 <= len(value) <= 100:
            raise ValidationError("invalid: a list of 1 to 100 steps")
        return super()._deserialize(value, attr, data, **kw)


class Claim(Schema):
    worker = WorkerName(required=True)
    steps = StepList(metadata={"description": "only these steps"})
    app = Name(fold=True)
    workflow = Name()
    slice = RowRef()
    max = Bounded(1, 100, load_default=1, metadata={"description": "at most this many rows (default 1)"})
    lease = Lease()
    wait = Bounded(0, 30, whole=False, load_default=0,
                   metadata={"description": "seconds to wait for a matching row to open (default 0)"})


class Heartbeat(Schema):
    id = RowRef(required=True)
    worker = WorkerName(required=True)
    lease = Lease()


class StepFail(Schema):
    id = RowRef(required=True)
    worker = WorkerName()
    error = BoundedText(0, 4000, required=True, metadata={"description": "why the attempt failed"})
    retry = StrictBool(load_default=True, metadata={"description": "start the next attempt while attempts are "
                                                                    "left (default true)"})


class RowId(Schema):
    id = RowRef(required=True)


@calls.call("wfstepclaim", Claim, need=ANYONE)
def wfstepclaim(ctx: CallContext, data: dict):
    """Lease up to `max` open rows matching the filters, oldest first -> {steps: [{id, entityid, slice, app, class,
    workflow, step, attempt, entity, dueat, leaseuntil, parent, loggedat}]}; with `wait`, as soon as one opens."""
    return ctx.crux.workers.claim(ctx.identity, data)


@calls.call("wfstepheartbeat", Heartbeat, need=ANYONE)
def wfstepheartbeat(ctx: CallContext, data: dict):
    """Extend the caller's live lease of a row (not the attempt's deadline) -> {id, leaseuntil}."""
    return ctx.crux.workers.heartbeat(ctx.identity, data)


@calls.call("wfstepfail", StepFail, need=ANYONE)
def wfstepfail(ctx: CallContext, data: dict):
    """The current attempt failed -> {id, attempt, notbefore} when the next attempt opens, else the step fails as a
    report with stepfailed would (answer as wfinstancemarkdone), or the row as wfinstancelist shows it when it
    becomes an incident."""
    return ctx.crux.attempts.step_fail(ctx.identity, data)


@calls.call("wfinstanceretry", RowId, need=ANYONE)
def wfinstanceretry(ctx: CallContext, data: dict):
    """Clear an incident (its waiting attempt opens with a fresh deadline), or end the current attempt of an open
    step and start the next one -> the row as wfinstancelist shows it."""
    return ctx.crux.attempts.retry(ctx.identity, data)


# ---- calls ------------------------------------------------------------------------------------
# Claims, heartbeats and wfenginelist run WorkerService (crux/services/workers.py); wfstepfail and
# wfinstanceretry run AttemptService (crux/services/attempts.py).

@calls.call("wfenginelist", Empty, need=REPORT, methods=LIST)
def wfenginelist(ctx: CallContext, data: dict):
    """Engines (active, and those stopped or dead within a day) and the realm's workers seen within a day ->
    {engines: [{id, name, host, pid, version, startedat, lastbeat, status}], workers: [{name, lastseen, leases}]}."""
    return ctx.crux.workers.engine_list(ctx.identity, data)
