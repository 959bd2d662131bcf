"""Slices: new, copy, (de)activate now or later, list, apps, purge; their changelog and realm boundary."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import error_of


def _future(minutes=60):
    return (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def test_new_slice_numbers_count_per_realm_and_are_not_reused(realm, other_realm):
    assert realm.ok("realmslicenew", {"descr": "second"}) == 2
    assert realm.ok("realmslicenew", {}) == 3
    assert other_realm.ok("realmslicenew", {}) == 2
    realm.ok("realmslicedeactivate", {"id": 3})
    realm.ok("realmslicepurge", {"id": 3})
    assert realm.ok("realmslicenew", {}) == 4
    slices = realm.ok("realmslicelist")["slices"]
    assert [(s["id"], s["active"]) for s in slices] == [(1, True), (2, True), (4, True)]
    first = slices[0]
    assert set(first) == {"id", "descr", "active", "activateat", "deactivateat", "createdat", "createdby",
                          "editedat", "editedby"}
    assert first["createdby"] == "admin" and first["createdat"].endswith("Z")


def test_copy_takes_config_and_starts_inactive(realm, conn):
    realm.ok("configset", {"slice": 1, "name": "limit", "val": "10", "descr": "a limit"})
    realm.app_new("retail")
    copy = realm.ok("realmslicenew", {"copyof": 1, "descr": "copy", "app": ["Retail"]})
    slices = {s["id"]: s for s in realm.ok("realmslicelist")["slices"]}
    assert slices[copy]["active"] is False
    config = realm.ok("configget", {"slice": copy})
    assert [(c["name"], c["val"], c["descr"], c["ver"]) for c in config] == [("LIMIT", "10", "a limit", 1)]
    row = conn.execute("SELECT op, new FROM changelog WHERE realm = %s AND entity = 'realmslice' ORDER BY id DESC",
                       (realm.name,)).fetchone()
    assert row["op"] == "insert" and row["new"]["copyof"] == 1 and row["new"]["copied"]["config"] == 1


def test_new_slice_validation_and_missing_records(realm):
    resp = realm.call("realmslicenew", {"copyof": "one", "descr": 5, "app": "retail"})
    assert resp.status_code == 400
    fields = {m["field"]: m["errcode"] for m in resp.get_json()["messages"]}
    assert fields == {"copyof": "invalid", "descr": "invalid", "app": "invalid"}
    resp = realm.call("realmslicenew", {"copyof": 99})
    assert resp.status_code == 404 and error_of(resp)["field"] == "copyof"
    resp = realm.call("realmslicenew", {"copyof": 1, "app": ["nosuch"]})
    assert resp.status_code == 404 and error_of(resp) | {"msg": ""} == {
        "msgid": 1009, "errcode": "not_found", "field": "app[0]", "vals": ["nosuch"], "msg": ""}


def test_activate_and_deactivate_now_and_scheduled(realm):
    realm.ok("realmslicedeactivate", {"id": 1})
    assert realm.ok("realmslicelist")["slices"][0]["active"] is False
    when = _future()
    got = realm.ok("realmsliceactivate", {"id": 1, "from": when})
    assert got["active"] is False and got["activateat"] == when
    # an immediate change cancels the pending one
    got = realm.ok("realmslicedeactivate", {"id": 1})
    assert got["activateat"] is None and got["active"] is False
    got = realm.ok("realmsliceactivate", {"id": 1})
    assert got["active"] is True and got["editedby"] == "admin"


def test_scheduled_time_takes_effect_when_due(realm, conn):
    realm.ok("realmslicedeactivate", {"id": 1, "from": _future()})
    # move the scheduled time into the past, as if it had come
    conn.execute("UPDATE realmslice SET deactivateat = now() - interval '1 second' WHERE realm = %s AND id = 1",
                 (realm.name,))
    assert realm.ok("realmslicelist")["slices"][0]["active"] is False


@pytest.mark.parametrize("payload,field,code", [
    ({"id": 1, "from": "2020-01-01T00:00:00Z"}, "from", "invalid"),
    ({"id": 1, "from": "tomorrow"}, "from", "invalid"),
    ({"id": "1"}, "id", "invalid"),
    ({"id": 0}, "id", "too_small"),
    ({}, "id", "required"),
])
def test_activate_validation(realm, payload, field, code):
    resp = realm.call("realmsliceactivate", payload)
    assert resp.status_code == 400
    assert (error_of(resp)["field"], error_of(resp)["errcode"]) == (field, code)


def test_slice_not_found_everywhere(realm):
    for call in ("realmsliceactivate", "realmslicedeactivate", "realmsliceapps", "realmslicepurge"):
        resp = realm.call(call, {"id": 42})
        assert resp.status_code == 404, call
        assert error_of(resp)["field"] == "id" and error_of(resp)["vals"] == [42]


def test_purge_only_inactive_and_removes_everything(realm, conn):
    new = realm.ok("realmslicenew", {})
    realm.ok("configset", {"slice": new, "name": "x", "val": "1"})
    resp = realm.call("realmslicepurge", {"id": new})
    assert resp.status_code == 400 and error_of(resp)["errcode"] == "not_allowed"
    realm.ok("realmslicedeactivate", {"id": new})
    got = realm.ok("realmslicepurge", {"id": new})
    assert got["deleted"]["config"] == 1
    assert conn.execute("SELECT count(*) AS n FROM config WHERE realm = %s AND slice = %s",
                        (realm.name, new)).fetchone()["n"] == 0
    resp = realm.call("realmslicepurge", {"id": new})
    assert resp.status_code == 404


def test_slice_apps_by_post_and_get(realm):
    assert realm.ok("realmsliceapps", {"id": 1}) == []
    resp = realm.client.get("/api/v1/realmsliceapps/1", headers={"Authorization": f"Bearer {realm.token()}"})
    assert resp.status_code == 200 and resp.get_json()["data"] == []
    resp = realm.client.get("/api/v1/REALMSLICEAPPS/7", headers={"Authorization": f"Bearer {realm.token()}"})
    assert resp.status_code == 404 and error_of(resp)["field"] == "id"


def test_realm_boundary_for_slices(realm, other_realm):
    other_realm.ok("realmslicenew", {"descr": "theirs"})
    assert [s["id"] for s in realm.ok("realmslicelist")["slices"]] == [1]
    resp = realm.call("realmslicepurge", {"id": 2})
    assert resp.status_code == 404
    resp = realm.call("realmslicedeactivate", {"id": 2})
    assert resp.status_code == 404
    assert [s["active"] for s in other_realm.ok("realmslicelist")["slices"]] == [True, True]


def test_report_can_list_but_not_change(realm):
    realm.grant("reader", "report")
    assert realm.ok("realmslicelist", user="reader")["slices"]
    resp = realm.call("realmslicenew", {}, user="reader")
    assert resp.status_code == 403 and error_of(resp)["errcode"] == "unauthorized"
