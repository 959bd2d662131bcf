"""Workflow definitions (SPEC §4.3): workflows are rulesets of a workflow schema (brwf W), plus
the stepworkflows that name a sub-workflow for a step. Instances are in another module."""
from __future__ import annotations

from marshmallow import Schema

from crux.api.auth import AppCap, AppRead
from crux.api.calls import CallBlueprint
from crux.api.fields import Id, Name
from crux.api.rules import RulesetFilter, rules_payloads, ruleset_calls, service
from crux.services.rules import WORKFLOW

bp = CallBlueprint("workflows")


WorkflowNew, WorkflowUpdate = rules_payloads("flowrules", "Workflow")


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


ruleset_calls(bp, "workflow", WORKFLOW, WorkflowNew, WorkflowUpdate, WorkflowFilter)


@bp.call("stepworkflownew", StepWorkflowNew, need=AppCap("ruleset"))
def stepworkflownew(ctx, data):
    """Have a step (a task of a workflow schema of the app) carried out by running another workflow."""
    return service(ctx).stepworkflow_new(ctx.identity, data)


@bp.call("stepworkflowlist", StepWorkflowFilter, need=AppRead())
def stepworkflowlist(ctx, data):
    """The stepworkflows, optionally of one slice or app."""
    return service(ctx).stepworkflow_list(ctx.identity, data)


@bp.call("stepworkflowdelete", StepWorkflowKey, need=AppCap("ruleset"), methods=("POST", "DELETE"))
def stepworkflowdelete(ctx, data):
    """Remove the sub-workflow of a step."""
    return service(ctx).stepworkflow_delete(ctx.identity, data)
