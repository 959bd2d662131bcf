"""Business-rules calls (SPEC §4.3): schemas (`breschema*`, `wfschema*`), BRE rulesets
(`breruleset*`) and `breapplyrules`. Workflow definitions are in crux/api/workflows.py."""
from __future__ import annotations

from marshmallow import Schema, ValidationError

from crux.api.auth import AppCap, AppRead, Authenticated
from crux.api.calls import DELETE, LIST, UPDATE, CallContext, CallGroup
from crux.api.fields import Dict, FoldedDict, FoldedKeys, Id, Integer, List, Name, Raw, StrictBool, ident, is_id
from crux.services import rules as rules_service
from crux.services.rules import BRE, WORKFLOW, RuleService

calls = CallGroup("rules")
SCHEMA_WRITE, RULESET_WRITE, READ = AppCap("schema"), AppCap("ruleset"), AppRead()


# ---- payloads ---------------------------------------------------------------------------------

def _class(**kw):
    # "class" is a Python keyword: the field is declared under another name
    return Name(data_key="class", attribute="class", **kw)


class SchemaKey(Schema):
    slice = Id(required=True)
    app = Name(fold=True, required=True)
    class_ = _class(required=True)


class SchemaDoc(SchemaKey):
    patternschema = List(FoldedKeys(), required=True, metadata={
        "description": "attributes: {attr, valtype (int, float, str, enum, bool, ts), vals?, valmin?, valmax?, "
                       "lenmin?, lenmax?, shortdesc?, longdesc?}"})
    actionschema = FoldedDict(required=True, metadata={"description": "{tasks: [names], properties: [names]}"})


class SchemaFilter(Schema):
    slice = Id()
    app = Name(fold=True)
    class_ = _class()


class RulesetKey(SchemaKey):
    name = Name(required=True)


RULES_DOC = {"description": "rules: {rulepattern: [{attr, op, val}], ruleactions: {tasks, properties, thencall, "
                            "elsecall, willreturn, willexit}}"}


class RulesetNew(RulesetKey):
    is_internal = StrictBool(load_default=False)
    ruleset = List(Raw(), required=True, metadata=RULES_DOC)


class RulesetUpdate(RulesetKey):
    is_internal = StrictBool(metadata={"description": "omitted: unchanged"})
    ruleset = List(Raw(), required=True, metadata=RULES_DOC)


class RulesetFilter(SchemaFilter):
    name = Name()
    is_active = StrictBool()
    is_internal = StrictBool()


class TraceLevel(Integer):
    """0 none, 1 rules, 2 rules and terms."""

    def __init__(self, **kw):
        super().__init__(strict=True, load_default=0, metadata={"enum": [0, 1, 2]}, **kw)

    def _deserialize(self, value, attr, data, **kw):
        if isinstance(value, bool) or value not in (0, 1, 2):
            raise ValidationError("invalid: trace is 0 (none), 1 (rules) or 2 (rules and terms)")
        return value


class ApplyRules(Schema):
    slice = Id(required=True)
    app = Name(fold=True, required=True)
    class_ = _class(metadata={"description": "omitted: the entity's class, else the only class having the ruleset"})
    ruleset = Name(required=True)
    entity = Dict(required=True, metadata={"description": "{class?, attribute: value, ...}"})
    trace = TraceLevel()

    def load(self, data, **kw):
        # The hot call: a well-formed payload is accepted here at a fraction of marshmallow's
        # cost; anything else goes through marshmallow, which reports every problem.
        return _apply_fast(data) or super().load(data, **kw)


def _apply_fast(data) -> dict | None:
    sl, trace = data.get("slice"), data.get("trace", 0)
    out = {"slice": sl, "app": ident(data.get("app"), fold=True), "ruleset": ident(data.get("ruleset")),
           "entity": data.get("entity"), "trace": trace}
    if (not is_id(sl) or out["app"] is None or out["ruleset"] is None
            or type(out["entity"]) is not dict or type(trace) is not int or trace not in (0, 1, 2)):
        return None
    if "class" in data:
        out["class"] = ident(data["class"])
        if out["class"] is None:
            return None
    return out


# ---- calls ------------------------------------------------------------------------------------
# Each call runs one method of RuleService (crux/services/rules.py) with (identity, kind, payload);
# the kind (BRE or WORKFLOW) says which rows a call sees and how its rules are named.

def rule_service(ctx: CallContext) -> RuleService:
    return ctx.crux.rule_service


@calls.call("breschemanew", SchemaDoc, need=SCHEMA_WRITE)
def breschemanew(ctx: CallContext, data: dict):
    """Create the BRE schema of a class (one per slice, app and class)."""
    return rule_service(ctx).schema_new(ctx.identity, BRE, data)


@calls.call("breschemaupdate", SchemaDoc, need=SCHEMA_WRITE, methods=UPDATE)
def breschemaupdate(ctx: CallContext, data: dict):
    """Replace a BRE schema; refused while a ruleset refers to it."""
    return rule_service(ctx).schema_update(ctx.identity, BRE, data)


@calls.call("breschemaget", SchemaKey, need=READ)
def breschemaget(ctx: CallContext, data: dict):
    """A BRE schema, with the app's longname."""
    return rule_service(ctx).schema_get(ctx.identity, BRE, data)


@calls.call("breschemalist", SchemaFilter, need=READ, methods=LIST)
def breschemalist(ctx: CallContext, data: dict):
    """The BRE schemas, optionally of one slice, app or class (a bare list)."""
    return rule_service(ctx).schema_list(ctx.identity, BRE, data)


@calls.call("breschemadelete", SchemaKey, need=SCHEMA_WRITE, methods=DELETE)
def breschemadelete(ctx: CallContext, data: dict):
    """Delete a BRE schema; refused while a ruleset refers to it."""
    return rule_service(ctx).schema_delete(ctx.identity, BRE, data)


@calls.call("wfschemanew", SchemaDoc, need=SCHEMA_WRITE)
def wfschemanew(ctx: CallContext, data: dict):
    """Create the workflow schema of a class (one per slice, app and class)."""
    return rule_service(ctx).schema_new(ctx.identity, WORKFLOW, data)


@calls.call("wfschemaupdate", SchemaDoc, need=SCHEMA_WRITE, methods=UPDATE)
def wfschemaupdate(ctx: CallContext, data: dict):
    """Replace a workflow schema; refused while a workflow refers to it."""
    return rule_service(ctx).schema_update(ctx.identity, WORKFLOW, data)


@calls.call("wfschemaget", SchemaKey, need=READ)
def wfschemaget(ctx: CallContext, data: dict):
    """A workflow schema, with the app's longname."""
    return rule_service(ctx).schema_get(ctx.identity, WORKFLOW, data)


@calls.call("wfschemalist", SchemaFilter, need=READ, methods=LIST)
def wfschemalist(ctx: CallContext, data: dict):
    """The workflow schemas, optionally of one slice, app or class (a bare list)."""
    return rule_service(ctx).schema_list(ctx.identity, WORKFLOW, data)


@calls.call("wfschemadelete", SchemaKey, need=SCHEMA_WRITE, methods=DELETE)
def wfschemadelete(ctx: CallContext, data: dict):
    """Delete a workflow schema; refused while a workflow refers to it."""
    return rule_service(ctx).schema_delete(ctx.identity, WORKFLOW, data)


@calls.call("brerulesetnew", RulesetNew, need=RULESET_WRITE)
def brerulesetnew(ctx: CallContext, data: dict):
    """Create a BRE ruleset (inactive). Every problem is reported at once."""
    return rule_service(ctx).ruleset_new(ctx.identity, BRE, data)


@calls.call("brerulesetupdate", RulesetUpdate, need=RULESET_WRITE, methods=UPDATE)
def brerulesetupdate(ctx: CallContext, data: dict):
    """Replace the rules of an inactive BRE ruleset."""
    return rule_service(ctx).ruleset_update(ctx.identity, BRE, data)


@calls.call("brerulesetget", RulesetKey, need=READ)
def brerulesetget(ctx: CallContext, data: dict):
    """A BRE ruleset with its rules (under `ruleset`)."""
    return rule_service(ctx).ruleset_get(ctx.identity, BRE, data)


@calls.call("brerulesetlist", RulesetFilter, need=READ, methods=LIST)
def brerulesetlist(ctx: CallContext, data: dict):
    """The BRE rulesets matching the filters, without their rules."""
    return rule_service(ctx).ruleset_list(ctx.identity, BRE, data)


@calls.call("brerulesetdelete", RulesetKey, need=RULESET_WRITE, methods=DELETE)
def brerulesetdelete(ctx: CallContext, data: dict):
    """Delete an inactive BRE ruleset that no other ruleset calls."""
    return rule_service(ctx).ruleset_delete(ctx.identity, BRE, data)


@calls.call("brerulesetactivate", RulesetKey, need=RULESET_WRITE)
def brerulesetactivate(ctx: CallContext, data: dict):
    """Activate a BRE ruleset and every ruleset reachable through its calls -> {ntraversed, nactivated}."""
    return rule_service(ctx).ruleset_activate(ctx.identity, BRE, data)


@calls.call("brerulesetdeactivate", RulesetKey, need=RULESET_WRITE)
def brerulesetdeactivate(ctx: CallContext, data: dict):
    """Deactivate a BRE ruleset; refused while an active ruleset calls it."""
    return rule_service(ctx).ruleset_deactivate(ctx.identity, BRE, data)


@calls.call("breapplyrules", ApplyRules, need=Authenticated())
def breapplyrules(ctx: CallContext, data: dict):
    """Evaluate an entity against an active, non-internal ruleset of an active slice -> {tasks,
    properties, tracedata?}."""
    return rules_service.apply_rules(ctx.crux.rules, ctx.identity, data)
