"""Workflow instance calls (SPEC §5): any authenticated user of the realm may make them."""
from __future__ import annotations

from marshmallow import Schema

from crux.api.auth import Authenticated
from crux.api.calls import LIST, CallContext, CallGroup
from crux.api.fields import Dict, Id, Name, StrictBool, Text, ident, is_id
from crux.api.rules import TraceLevel
from crux.api.workers import Attempt, WorkerName, valid_worker
from crux.services.workflow import InstanceService

calls = CallGroup("instances")
ANYONE = Authenticated()
ENTITY_DOC = {"description": "{class?, attribute: value, ...}; step and stepfailed are set by the engine"}


class EntityId(Text):
    def __init__(self, **kw):
        super().__init__(max_length=256, nonempty=True, **kw)


class Step(Text):
    def __init__(self, **kw):
        super().__init__(max_length=64, nonempty=True, **kw)


# The two hot calls accept a well-formed payload without marshmallow, at a fraction of its cost;
# anything else goes through marshmallow, which reports every problem (same results: tested).

def _text(value, longest: int) -> bool:
    return type(value) is str and 0 < len(value) <= longest


def _common(data: dict, out: dict) -> dict | None:
    trace = data.get("trace", 0)
    if type(data.get("entity")) is not dict or type(trace) is not int or trace not in (0, 1, 2):
        return None
    out.update(entity=data["entity"], trace=trace)
    return out


class InstanceNew(Schema):
    slice = Id(required=True)
    app = Name(fold=True, required=True)
    entityid = EntityId(required=True)
    entity = Dict(required=True, metadata=ENTITY_DOC)
    workflow = Name(required=True)
    trace = TraceLevel()
    parent = Id(metadata={"description": "the id of the parent step's row, for a sub-workflow"})

    def load(self, data, **kw):
        return _new_fast(data) or super().load(data, **kw)


def _new_fast(data: dict) -> dict | None:
    out = {"slice": data.get("slice"), "app": ident(data.get("app"), fold=True), "entityid": data.get("entityid"),
           "workflow": ident(data.get("workflow"))}
    if (not is_id(out["slice"]) or out["app"] is None or out["workflow"] is None
            or not _text(out["entityid"], 256)):
        return None
    if "parent" in data:
        if not is_id(data["parent"]):
            return None
        out["parent"] = data["parent"]
    return _common(data, out)


class MarkDone(Schema):
    id = Id(required=True)
    entity = Dict(required=True, metadata=ENTITY_DOC)
    step = Step(required=True, metadata={"description": "the row's step"})
    stepfailed = StrictBool(load_default=False)
    trace = TraceLevel()
    worker = WorkerName(metadata={"description": "the worker reporting (required on a leased row: its holder)"})
    attempt = Attempt(metadata={"description": "the attempt reported (refused when it is not the current one)"})

    def load(self, data, **kw):
        return _markdone_fast(data) or super().load(data, **kw)


def _markdone_fast(data: dict) -> dict | None:
    out = {"id": data.get("id"), "step": data.get("step"), "stepfailed": data.get("stepfailed", False)}
    if not is_id(out["id"]) or not _text(out["step"], 64) or type(out["stepfailed"]) is not bool:
        return None
    for key, valid in (("worker", valid_worker), ("attempt", Attempt.valid)):
        if key in data:
            if not valid(data[key]):
                return None
            out[key] = data[key]
    return _common(data, out)


class Abort(Schema):
    id = Id(metadata={"description": "a row of the instance (exactly one of id, entityid)"})
    entityid = EntityId(metadata={"description": "every instance of the entity"})


LIST_MOST = 10_000


class InstanceFilter(Schema):
    slice = Id()
    app = Name(fold=True)
    workflow = Name()
    entityid = EntityId()
    parent = Id()
    incident = StrictBool(metadata={"description": "only rows in (true) or not in (false) an incident"})
    overdue = StrictBool(metadata={"description": "only rows whose deadline passed (true) or not (false)"})
    limit = Id(most=LIST_MOST, metadata={"description": "at most this many rows (a page); the answer's "
                                                        "`next` is the `after` of the next page"})
    after = Id(metadata={"description": "only rows with a greater id (the previous page's `next`)"})


class TryStep(Schema):
    slice = Id(required=True)
    app = Name(fold=True, required=True)
    entity = Dict(required=True, metadata=ENTITY_DOC)
    workflow = Name(required=True)
    step = Step(required=True)
    stepfailed = StrictBool(load_default=False)
    trace = TraceLevel()


class History(Schema):
    id = Id(metadata={"description": "a wfid (exactly one of id, entityid)"})
    entityid = EntityId()
    workflow = Name()


# ---- calls ------------------------------------------------------------------------------------
# Each call runs one method of InstanceService (crux/services/workflow.py) with (identity, payload).

def _instances(ctx: CallContext) -> InstanceService:
    return ctx.crux.instances


@calls.call("wfinstancenew", InstanceNew, need=ANYONE)
def wfinstancenew(ctx: CallContext, data: dict):
    """Start a workflow for an entity (evaluated at step START) -> {tasks: [{task: id}], nextstep? (several
    tasks), loggedat, subflows?, tracedata?} or {done: true}. One open instance per entity and workflow."""
    return _instances(ctx).new(ctx.identity, data)


@calls.call("wfinstancemarkdone", MarkDone, need=ANYONE)
def wfinstancemarkdone(ctx: CallContext, data: dict):
    """Report a step done (or failed) -> {id, doneat} while concurrent siblings are open, else the next
    steps as wfinstancenew gives them, or {done: true, parent?}. A leased row takes reports from its worker only."""
    return _instances(ctx).mark_done(ctx.identity, data)


@calls.call("wfinstanceabort", Abort, need=ANYONE)
def wfinstanceabort(ctx: CallContext, data: dict):
    """Delete an instance (or every instance of an entity) with all its sub-workflows -> {aborted: [ids]}."""
    return _instances(ctx).abort(ctx.identity, data)


@calls.call("wfinstancelist", InstanceFilter, need=ANYONE, methods=LIST)
def wfinstancelist(ctx: CallContext, data: dict):
    """The open rows matching the filters and every row of their sub-workflows, by id (then only those in, or not
    in, an incident or overdue when asked) -> {wfinstances: [...], next? (when a `limit` cut the list: pass it as
    `after` for the next page)}."""
    return _instances(ctx).list(ctx.identity, data)


@calls.call("wfinstancetry", TryStep, need=ANYONE)
def wfinstancetry(ctx: CallContext, data: dict):
    """A dry run on any slice: what the workflow hands out for a step -> {tasks, nextstep?, subflows?,
    tracedata?} or {done: true}. Writes nothing."""
    return _instances(ctx).try_step(ctx.identity, data)


@calls.call("wfinstancehistory", History, need=ANYONE)
def wfinstancehistory(ctx: CallContext, data: dict):
    """Every step handed out for an entity (or one wfid), open or closed, oldest first -> {history: [...]}."""
    return _instances(ctx).history(ctx.identity, data)
