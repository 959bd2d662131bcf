"""Two real server processes on one database: a write through one reaches the other's cache
(SPEC §3 Cache: LISTEN/NOTIFY), without a restart."""
from __future__ import annotations

import pytest

from tests.http_server import Server
from tests.rules_data import ORDER, eventually, key, order_rules, rule


@pytest.fixture
def servers(database_url, tmp_path):
    pair = [Server(database_url, tmp_path), Server(database_url, tmp_path)]
    try:
        for server in pair:
            eventually(server.ready, timeout=60, interval=0.1)
        yield pair
    finally:
        for server in pair:
            server.stop()


def test_a_write_through_one_server_reaches_the_other(realm, servers, conn):
    one, two = servers
    token = realm.token()
    order_rules(realm)
    payload = {"slice": 1, "app": "retail", "ruleset": "main", "entity": ORDER}

    def discount_on_two():
        status, body = two.call("breapplyrules", payload, token)
        return body["data"]["properties"].get("discount") if status == 200 else status

    assert discount_on_two() == "15"
    # a change behind the cache's back (no notification) is not seen: server two answers from RAM
    conn.execute("""UPDATE ruleset SET ruleset = jsonb_set(ruleset, '{0,ruleactions,properties,discount}', '"99"')
                    WHERE realm = %s AND setname = 'loyalty'""", (realm.name,))
    assert [discount_on_two() for _ in range(5)] == ["15"] * 5
    # the same change through server one's API reaches server two without a restart
    for name, payload_one in (("brerulesetdeactivate", key(name="main")), ("brerulesetdeactivate", key(name="loyalty")),
                              ("brerulesetupdate",
                               key(name="loyalty", ruleset=[rule([("member", "eq", True)], [], {"discount": "30"})])),
                              ("brerulesetactivate", key(name="main"))):
        status, body = one.call(name, payload_one, token)
        assert status == 200, body
    eventually(lambda: discount_on_two() == "30")
    # a slice write through one: two refuses the deactivated slice, then serves it again
    assert one.call("realmslicedeactivate", {"id": 1}, token)[0] == 200
    eventually(lambda: discount_on_two() == 400)
    assert one.call("realmsliceactivate", {"id": 1}, token)[0] == 200
    eventually(lambda: discount_on_two() == "30")
