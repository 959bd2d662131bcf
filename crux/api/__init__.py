"""The web layer: the calls (declared in admin, rules, workflows, instances, events), the one entry
path to them (router), the envelope, auth, and the service endpoints and OpenAPI document (Flask)."""
from __future__ import annotations

import importlib

# Each module declares its calls in `calls`, a CallGroup (crux/api/calls.py).
CALL_MODULES = ["crux.api.admin", "crux.api.rules", "crux.api.workflows", "crux.api.instances", "crux.api.events",
                "crux.api.workers"]


def all_calls():
    """Every declared call, in declaration order."""
    return [call for name in CALL_MODULES for call in importlib.import_module(name).calls.calls]
