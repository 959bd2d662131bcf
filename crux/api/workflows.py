"""Workflow definitions (SPEC §4.3): workflows are rulesets of a workflow schema (brwf W), plus
the stepworkflows that name a sub-workflow for a step. Instances are in another module."""
from __future__ import annotations

from marshmallow import Schema, ValidationError

from crux.api.calls import DELETE, LIST, UPDATE, CallContext, CallGroup
from crux.api.fields import Field, Id, List, Name, Raw, StrictBool
from crux.api.rules import READ, RULES_DOC, RULESET_WRITE, RulesetFilter, RulesetKey, rule_service
from crux.services.rules import WORKFLOW

calls = CallGroup("workflows")


# ---- payloads ---------------------------------------------------------------------------------

STEPS_DOC = {"type": "object", "description": "step settings (SPEC §8.1): {step: {timeout?: 1..31536000 s, "
                                            "attempts?: 1..100 (1), retrydelay?: 0..86400 s (0)}}; "
                                            "workflowupdate replaces them (absent: none)"}


class StepSettings(Field):
    """An object here; its steps and settings are checked against the workflow's schema by the
    service, which names every bad one (`steps.<step>.<setting>`)."""

    def _deserialize(self, value, attr, data, **kw):
        if not isinstance(value, dict):
            raise ValidationError("invalid: steps is an object {step: {timeout?, attempts?, retrydelay?}}")
        return value


class WorkflowNew(RulesetKey):
    is_internal = StrictBool(load_default=False)
    flowrules = List(Raw(), required=True, metadata=RULES_DOC)
    steps = StepSettings(allow_none=True, metadata=STEPS_DOC)


class WorkflowUpdate(RulesetKey):
    is_internal = StrictBool(metadata={"description": "omitted: unchanged"})
    flowrules = List(Raw(), required=True, metadata=RULES_DOC)
    steps = StepSettings(allow_none=True, metadata=STEPS_DOC)


class WorkflowFilter(RulesetFilter):
    pass


class StepWorkflowKey(Schema):
    slice = Id(required=True)
    app = Name(fold=True, required=True)
    step = Name(required=True)


class StepWorkflowNew(StepWorkflowKey):
    workflow = Name(required=True)


class StepWorkflowFilter(Schema):
    slice = Id()
    app = Name(fold=True)


# ---- calls ------------------------------------------------------------------------------------
# Each call runs one method of RuleService (crux/services/rules.py), the workflow kind of the
# ruleset methods for workflows.

@calls.call("workflownew", WorkflowNew, need=RULESET_WRITE)
def workflownew(ctx: CallContext, data: dict):
    """Create a workflow (inactive). Every problem is reported at once."""
    return rule_service(ctx).ruleset_new(ctx.identity, WORKFLOW, data)


@calls.call("workflowupdate", WorkflowUpdate, need=RULESET_WRITE, methods=UPDATE)
def workflowupdate(ctx: CallContext, data: dict):
    """Replace the rules of an inactive workflow."""
    return rule_service(ctx).ruleset_update(ctx.identity, WORKFLOW, data)


@calls.call("workflowget", RulesetKey, need=READ)
def workflowget(ctx: CallContext, data: dict):
    """A workflow with its rules (under `flowrules`)."""
    return rule_service(ctx).ruleset_get(ctx.identity, WORKFLOW, data)


@calls.call("workflowlist", WorkflowFilter, need=READ, methods=LIST)
def workflowlist(ctx: CallContext, data: dict):
    """The workflows matching the filters, without their rules."""
    return rule_service(ctx).ruleset_list(ctx.identity, WORKFLOW, data)


@calls.call("workflowdelete", RulesetKey, need=RULESET_WRITE, methods=DELETE)
def workflowdelete(ctx: CallContext, data: dict):
    """Delete an inactive workflow that no other workflow calls and no stepworkflow names."""
    return rule_service(ctx).ruleset_delete(ctx.identity, WORKFLOW, data)


@calls.call("workflowactivate", RulesetKey, need=RULESET_WRITE)
def workflowactivate(ctx: CallContext, data: dict):
    """Activate a workflow and every ruleset reachable through its calls -> {ntraversed, nactivated}."""
    return rule_service(ctx).ruleset_activate(ctx.identity, WORKFLOW, data)


@calls.call("workflowdeactivate", RulesetKey, need=RULESET_WRITE)
def workflowdeactivate(ctx: CallContext, data: dict):
    """Deactivate a workflow; refused while an active workflow calls it."""
    return rule_service(ctx).ruleset_deactivate(ctx.identity, WORKFLOW, data)


@calls.call("stepworkflownew", StepWorkflowNew, need=RULESET_WRITE)
def stepworkflownew(ctx: CallContext, data: dict):
    """Have a step (a task of a workflow schema of the app) carried out by running another workflow."""
    return rule_service(ctx).stepworkflow_new(ctx.identity, data)


@calls.call("stepworkflowlist", StepWorkflowFilter, need=READ, methods=LIST)
def stepworkflowlist(ctx: CallContext, data: dict):
    """The stepworkflows, optionally of one slice or app."""
    return rule_service(ctx).stepworkflow_list(ctx.identity, data)


@calls.call("stepworkflowdelete", StepWorkflowKey, need=RULESET_WRITE, methods=DELETE)
def stepworkflowdelete(ctx: CallContext, data: dict):
    """Remove the sub-workflow of a step."""
    return rule_service(ctx).stepworkflow_delete(ctx.identity, data)
