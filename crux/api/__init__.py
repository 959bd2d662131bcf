"""The web layer: blueprints of calls, the envelope, auth, OpenAPI."""
from __future__ import annotations

import importlib

# Each module defines `bp`, a CallBlueprint (or a plain Blueprint for service endpoints).
CALL_MODULES = ["crux.api.admin", "crux.api.rules", "crux.api.workflows", "crux.api.instances", "crux.api.events"]
SERVICE_MODULES = ["crux.api.service"]


def blueprints():
    return [importlib.import_module(name).bp for name in CALL_MODULES + SERVICE_MODULES]


def all_calls():
    """Every declared call, in registration order."""
    return [call for name in CALL_MODULES for call in importlib.import_module(name).bp.calls]
