"""Business-rules calls (SPEC §4.3): schemas (`breschema*`, `wfschema*`), BRE rulesets
(`breruleset*`) and `breapplyrules`. Workflow definitions are in crux/api/workflows.py."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields

from crux.api.auth import AppCap, AppRead, Authenticated
from crux.api.calls import CallBlueprint
from crux.api.fields import Id, Name, StrictBool, ident, is_id
from crux.services import rules as rules_service
from crux.services.rules import BRE, WORKFLOW, RuleService

bp = CallBlueprint("rules")
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
    patternschema = fields.List(fields.Raw(), required=True, metadata={
        "description": "attributes: {attr, valtype (int, float, str, enum, bool, ts), vals?, valmin?, valmax?, "
                       "lenmin?, lenmax?, shortdesc?, longdesc?}"})
    actionschema = fields.Dict(required=True, metadata={"description": "{tasks: [names], properties: [names]}"})


class SchemaFilter(Schema):
    slice = Id()
    app = Name(fold=True)
    class_ = _class()


class RulesetKey(SchemaKey):
    name = Name(required=True)


RULES_DOC = {"description": "rules: {rulepattern: [{attr, op, val}], ruleactions: {tasks, properties, thencall, "
                            "elsecall, willreturn, willexit}}"}


def rules_payloads(key: str, prefix: str) -> tuple[type[Schema], type[Schema]]:
    """The new and update payloads of a ruleset kind whose rules are under `key`."""
    new = RulesetKey.from_dict({"is_internal": StrictBool(load_default=False),
                                key: fields.List(fields.Raw(), required=True, metadata=RULES_DOC)},
                               name=f"{prefix}New")
    update = RulesetKey.from_dict({"is_internal": StrictBool(metadata={"description": "omitted: unchanged"}),
                                   key: fields.List(fields.Raw(), required=True, metadata=RULES_DOC)},
                                  name=f"{prefix}Update")
    return new, update


RulesetNew, RulesetUpdate = rules_payloads("ruleset", "Ruleset")


class RulesetFilter(SchemaFilter):
    name = Name()
    is_active = StrictBool()
    is_internal = StrictBool()


class TraceLevel(fields.Integer):
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
    entity = fields.Dict(required=True, metadata={"description": "{class?, attribute: value, ...}"})
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

def service(ctx) -> RuleService:
    return ctx.crux.rule_service


def _runs(method: str, kind):
    """A call running `RuleService.<method>(identity, kind, data)`."""
    return lambda ctx, data: getattr(service(ctx), method)(ctx.identity, kind, data)


UPDATE, DELETE = {"methods": ("POST", "PUT")}, {"methods": ("POST", "DELETE")}


def schema_calls(prefix: str, kind) -> None:
    """The five schema calls of a kind."""
    w = kind.word
    for suffix, schema, need, doc, extra in (
            ("new", SchemaDoc, SCHEMA_WRITE, f"Create the {w} schema of a class (one per slice, app and class).", {}),
            ("update", SchemaDoc, SCHEMA_WRITE, f"Replace a {w} schema; refused while a ruleset refers to it.", UPDATE),
            ("get", SchemaKey, READ, f"A {w} schema.", {}),
            ("list", SchemaFilter, READ, f"The {w} schemas, optionally of one slice, app or class (a bare list).", {}),
            ("delete", SchemaKey, SCHEMA_WRITE, f"Delete a {w} schema; refused while a ruleset refers to it.", DELETE)):
        bp.declare(prefix + suffix, schema, need, doc, _runs(f"schema_{suffix}", kind), **extra)


def ruleset_calls(blueprint: CallBlueprint, prefix: str, kind, new_schema, update_schema, filter_schema) -> None:
    """The seven ruleset calls of a kind (BRE rulesets here, workflows in workflows.py)."""
    w = "workflow" if kind is WORKFLOW else "ruleset"
    for suffix, schema, need, doc, extra in (
            ("new", new_schema, RULESET_WRITE, f"Create a {w} (inactive). Every problem is reported at once.", {}),
            ("update", update_schema, RULESET_WRITE, f"Replace the rules of an inactive {w}.", UPDATE),
            ("get", RulesetKey, READ, f"A {w} with its rules.", {}),
            ("list", filter_schema, READ, f"The {w}s matching the filters, without their rules.", {}),
            ("delete", RulesetKey, RULESET_WRITE, f"Delete an inactive {w} that no other ruleset calls.", DELETE),
            ("activate", RulesetKey, RULESET_WRITE,
             f"Activate a {w} and every ruleset reachable through its calls -> {{ntraversed, nactivated}}.", {}),
            ("deactivate", RulesetKey, RULESET_WRITE, f"Deactivate a {w}; refused while an active ruleset calls it.", {})):
        blueprint.declare(prefix + suffix, schema, need, doc, _runs(f"ruleset_{suffix}", kind), **extra)


schema_calls("breschema", BRE)
schema_calls("wfschema", WORKFLOW)
ruleset_calls(bp, "breruleset", BRE, RulesetNew, RulesetUpdate, RulesetFilter)


@bp.call("breapplyrules", ApplyRules, need=Authenticated())
def breapplyrules(ctx, data):
    """Evaluate an entity against an active, non-internal ruleset of an active slice -> {tasks, properties,
    tracedata?}."""
    return rules_service.apply_rules(ctx.crux.rules, ctx.identity, data)
