"""The deployment rig, brought up once per test session and taken down at its end.

Without root, nginx, PgBouncer or PostgreSQL's server binaries the rig tests are skipped, unless
CRUX_REQUIRE_RIG=1 (CI sets it), when they fail.
"""
from __future__ import annotations

import os

import pytest

from tests.deploy.rig_support import Rig, claim_rig_id, leftovers, missing_prerequisites


@pytest.fixture(scope="session")
def rig():
    missing = missing_prerequisites()
    if missing:
        reason = "the deployment rig needs " + ", ".join(missing)
        if os.environ.get("CRUX_REQUIRE_RIG") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    rid, lock = claim_rig_id()
    rig = Rig(rid, lock)
    try:
        rig.cmd("down")  # whatever an earlier, crashed session left
        rig.cmd("up", "--workers", "2", "--threads", "4")
        rig.refresh()
        assert rig.status["up"], rig.status
        yield rig
    finally:
        rig.cmd("down", check=False)
        left = leftovers(rid)
        lock.close()
        assert not left, f"deploy/rig down left {left}"


@pytest.fixture(autouse=True)
def _close_clients(request):
    """The HTTP connections a rig test opened are closed when it ends."""
    yield
    if "rig" in request.fixturenames:
        request.getfixturevalue("rig").close_clients()
