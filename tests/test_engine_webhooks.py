"""Webhook deliveries by real engine processes (SPEC §9.3): an engine killed with SIGKILL in the
middle of a batch leaves it to another engine, which sends the same batch again (same delivery id)
and everything after it, in order, nothing lost; several engines never deliver one webhook at once."""
from __future__ import annotations

import time

import pytest

from tests.engine_processes import Engines
from tests.webhook_receiver import keys, receiver  # noqa: F401 (a fixture)
from tests.wf_support import poll


@pytest.fixture
def engines(database_url, tmp_path):
    group = Engines(database_url, tmp_path)
    yield group
    group.close()






def test_a_batch_cut_off_by_a_killed_engine_comes_again(realm, engines, receiver):
    rec = receiver(delay=3.0, secret="k")
    realm.ok("webhooknew", {"name": "audit", "url": rec.url, "secret": "k"})
    for i in range(150):
        realm.ok("configset", {"slice": 1, "name": f"k{i}", "val": "x"})
    engines.start("first")
    poll(lambda: rec.arrived >= 1, timeout=30)           # the first batch is in flight...
    engines.kill("first")                                    # ...and its engine dies
    engines.start("second")
    poll(lambda: len({e["id"] for e in rec.events()}) >= 151, timeout=60)
    deliveries = [d["headers"]["x-crux-delivery"] for d in rec.deliveries]
    assert deliveries[0] == deliveries[1]                     # the cut-off batch, sent again under its id
    assert all(d["signed_ok"] for d in rec.deliveries)
    seen, in_order = set(), []
    for e in rec.events():                                    # a receiver dedupes by id
        if e["id"] not in seen:
            seen.add(e["id"])
            in_order.append(e)
    assert keys(in_order) == ["audit"] + [f"K{i}" for i in range(150)]
    assert realm.ok("webhooklist", {})["webhooks"][0]["pending"] == 0


def test_engines_take_turns_on_a_webhook(realm, engines, receiver):
    rec = receiver(delay=0.05)
    realm.ok("webhooknew", {"name": "audit", "url": rec.url})
    engines.start("e1", "e2", "e3")
    for i in range(40):
        realm.ok("configset", {"slice": 1, "name": f"k{i}", "val": "x"})
        time.sleep(0.02)                                     # many small batches
    poll(lambda: len(rec.events()) >= 41, timeout=60)
    assert keys(rec.events()) == ["audit"] + [f"K{i}" for i in range(40)]
    assert rec.max_in_flight == 1
