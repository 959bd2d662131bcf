"""Apps, capabilities, users and config: success, validation, not-found, realm boundary, changelog."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import error_of

# ---- apps -------------------------------------------------------------------------------------

def test_app_lifecycle_and_changelog(realm, conn):
    created = realm.ok("appnew", {"name": "Retail", "descr": "Retail orders"})
    assert created["name"] == "retail" and created["shortname"] == "Retail" and created["descr"] == "Retail orders"
    realm.ok("appupdate", {"name": "RETAIL", "descr": "Shop"}, method="put")
    realm.grant("ann", "schema", app="retail")
    apps = realm.ok("applist")["apps"]
    assert apps[0] | {"createdat": None} == {"name": "retail", "shortname": "Retail", "descr": "Shop",
                                             "createdat": None, "createdby": "admin", "nusers": 1, "nrulesetsbre": 0,
                                             "nrulesetswfe": 0}
    deleted = realm.ok("appdelete", {"name": "retail"})
    assert deleted == {"name": "retail", "grantsremoved": 1}
    assert realm.ok("applist")["apps"] == []
    assert realm.ok("caplist", {"app": "retail"})["capabilities"] == []
    ops = [r["op"] for r in conn.execute(
        "SELECT op FROM changelog WHERE realm = %s AND entity = 'app' ORDER BY id", (realm.name,))]
    assert ops == ["insert", "update", "delete"]


def test_app_update_keeps_its_creation(realm, conn):
    created = realm.ok("appnew", {"name": "shop", "descr": "Shop"})
    updated = realm.ok("appupdate", {"name": "shop", "descr": "Web shop"}, user="admin")
    assert (updated["createdat"], updated["createdby"], updated["descr"]) == (created["createdat"], "admin", "Web shop")
    change = conn.execute("SELECT old, new FROM changelog WHERE realm = %s AND entity = 'app' AND op = 'update'",
                          (realm.name,)).fetchone()
    assert {k for k in change["new"] if change["new"][k] != change["old"][k]} == {"descr"}


def test_app_delete_by_path_and_not_found(realm):
    realm.app_new("shop")
    resp = realm.client.post("/api/v1/appdelete/Shop", headers={"Authorization": f"Bearer {realm.token()}"})
    assert resp.status_code == 200
    resp = realm.call("appdelete", {"name": "shop"})
    assert resp.status_code == 404 and error_of(resp)["field"] == "name"
    resp = realm.call("appupdate", {"name": "shop", "descr": "x"})
    assert resp.status_code == 404


def test_app_in_use_cannot_be_deleted(realm, conn):
    realm.app_new("shop")
    conn.execute("""INSERT INTO schema (realm, slice, app, class, brwf, patternschema, actionschema, createdby)
                    VALUES (%s, 1, 'shop', 'order', 'B', '[]', '{}', 'admin')""", (realm.name,))
    resp = realm.call("appdelete", {"name": "shop"})
    assert resp.status_code == 400 and error_of(resp)["errcode"] == "non_empty"


@pytest.mark.parametrize("payload,fields", [
    ({}, {"name": "required", "descr": "required"}),
    ({"name": "9lives", "descr": ""}, {"name": "invalid"}),
    ({"name": "a b"}, {"name": "invalid", "descr": "required"}),
    ({"name": "shop\n", "descr": "d"}, {"name": "invalid"}),
    ({"name": 5, "descr": ["x"]}, {"name": "invalid", "descr": "invalid"}),
    ({"name": "ok", "descr": "x" * 1001}, {"descr": "too_long"}),
])
def test_app_validation(realm, payload, fields):
    resp = realm.call("appnew", payload)
    assert resp.status_code == 400
    assert {m["field"]: m["errcode"] for m in resp.get_json()["messages"]} == fields


def test_apps_realm_boundary(realm, other_realm):
    other_realm.app_new("theirs")
    assert realm.ok("applist")["apps"] == []
    assert realm.call("appupdate", {"name": "theirs", "descr": "mine"}).status_code == 404
    assert realm.call("appdelete", {"name": "theirs"}).status_code == 404
    realm.app_new("theirs")  # the same name in another realm is a different app
    assert [a["descr"] for a in other_realm.ok("applist")["apps"]] == ["theirs"]


# ---- capabilities -----------------------------------------------------------------------------

def test_grant_get_list_revoke(realm):
    realm.app_new("shop")
    got = realm.ok("capgrant", {"user": "Ann", "cap": ["schema", "ruleset"], "app": ["shop"],
                                "from": "2026-01-01T00:00:00+02:00", "to": "2099-01-01T00:00:00Z"})
    assert {(c["app"], c["cap"]) for c in got["capabilities"]} == {("shop", "schema"), ("shop", "ruleset")}
    assert got["capabilities"][0]["from"] == "2025-12-31T22:00:00Z"
    realm.ok("capgrant", {"user": "ann", "cap": ["report"]})
    mine = realm.ok("capget", {"user": "ANN"})
    assert mine["user"] == "ann" and mine["deactivated"] is False
    assert [(c["app"], c["cap"]) for c in mine["capabilities"]] == [(None, "report"), ("shop", "ruleset"),
                                                                     ("shop", "schema")]
    assert {c["user"] for c in realm.ok("caplist", {"cap": "schema"})["capabilities"]} == {"ann"}
    assert len(realm.ok("caplist", {})["capabilities"]) == 5  # admin's root and auth too
    removed = realm.ok("caprevoke", {"user": "ann", "cap": ["ALL"], "app": ["shop"]})
    assert {c["cap"] for c in removed["capabilities"]} == {"schema", "ruleset"}
    assert [c["cap"] for c in realm.ok("capget", {"user": "ann"})["capabilities"]] == ["report"]
    realm.ok("caprevoke", {"user": "ann", "cap": ["ALL"]})
    assert realm.call("capget", {"user": "ann"}).status_code == 404


def test_grant_takes_effect_at_once(realm):
    assert realm.call("applist", {}, user="bob").status_code == 403
    realm.grant("bob", "report")
    assert realm.call("applist", {}, user="bob").status_code == 200
    realm.ok("caprevoke", {"user": "bob", "cap": ["report"]})
    assert realm.call("applist", {}, user="bob").status_code == 403


def test_identical_grants_at_once_all_succeed(realm):
    """Concurrent grants of a capability nobody holds yet: one inserts, the others update it
    (no unique violation reaches the caller)."""
    realm.app_new("shop")
    token = realm.token()

    def grant(payload, gate):
        gate.wait()
        resp = realm.app.test_client().post("/api/v1/capgrant", json={"data": payload},
                                            headers={"Authorization": f"Bearer {token}"})
        return resp.status_code, resp.get_json()

    for attempt in range(3):
        payload = {"user": f"race{attempt}", "cap": ["schema", "ruleset"], "app": ["shop"]}
        gate = threading.Barrier(6)
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(grant, [payload] * 6, [gate] * 6))
        assert [status for status, _ in results] == [200] * 6, results
        held = realm.ok("capget", {"user": f"race{attempt}"})["capabilities"]
        assert sorted((g["app"], g["cap"]) for g in held) == [("shop", "ruleset"), ("shop", "schema")]


def test_a_grant_on_many_apps_is_one_write(realm, conn):
    apps = [f"app{i}" for i in range(100)]
    for app in apps:
        realm.app_new(app)
    got = realm.ok("capgrant", {"user": "ann", "cap": ["schema", "ruleset"] * 5, "app": apps})["capabilities"]
    assert sorted((g["app"], g["cap"]) for g in got) == sorted((a, c) for a in apps for c in ("schema", "ruleset"))
    again = realm.ok("capgrant", {"user": "ann", "cap": ["schema"], "app": apps[:3], "to": "2099-01-01T00:00:00Z"})
    assert [g["to"] for g in again["capabilities"]] == ["2099-01-01T00:00:00Z"] * 3
    ops = conn.execute("""SELECT op, count(*) AS n FROM changelog WHERE realm = %s AND entity = 'capgrant'
                          GROUP BY op ORDER BY op""", (realm.name,)).fetchall()
    assert [(r["op"], r["n"]) for r in ops] == [("insert", 200), ("update", 3)]


@pytest.mark.parametrize("payload,field,code", [
    ({"cap": ["report"]}, "user", "required"),
    ({"user": "ann"}, "cap", "required"),
    ({"user": "ann", "cap": ["superuser"]}, "cap[0]", "invalid"),
    ({"user": "ann", "cap": ["schema"]}, "app", "required"),
    ({"user": "ann", "cap": ["report"], "app": ["shop"]}, "cap[0]", "invalid"),
    ({"user": "ann", "cap": ["report"], "from": "soon"}, "from", "invalid"),
    ({"user": "ann", "cap": ["report"], "from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to", "invalid"),
    ({"user": "", "cap": ["report"]}, "user", "empty"),
])
def test_grant_validation(realm, payload, field, code):
    resp = realm.call("capgrant", payload)
    assert resp.status_code == 400, resp.get_json()
    assert (error_of(resp)["field"], error_of(resp)["errcode"]) == (field, code)


def test_grant_on_unknown_app(realm):
    resp = realm.call("capgrant", {"user": "ann", "cap": ["schema"], "app": ["nosuch"]})
    assert resp.status_code == 404 and error_of(resp)["field"] == "app[0]"


def test_auth_holder_cannot_grant_or_revoke_root(realm):
    realm.grant("helper", "auth")
    resp = realm.call("capgrant", {"user": "x", "cap": ["root"]}, user="helper")
    assert resp.status_code == 403
    resp = realm.call("caprevoke", {"user": "admin", "cap": ["root"]}, user="helper")
    assert resp.status_code == 403
    resp = realm.call("caprevoke", {"user": "admin", "cap": ["ALL"]}, user="helper")
    assert resp.status_code == 403


def test_last_root_cannot_be_lost(realm):
    resp = realm.call("caprevoke", {"user": "admin", "cap": ["root"]})
    assert resp.status_code == 400 and error_of(resp)["errcode"] == "not_allowed"
    resp = realm.call("userdeactivate", {"user": "admin"})
    assert resp.status_code == 400 and error_of(resp)["errcode"] == "not_allowed"
    realm.grant("second", "root")
    realm.ok("caprevoke", {"user": "admin", "cap": ["root"]})
    resp = realm.call("caprevoke", {"user": "second", "cap": ["root"]}, user="second")
    assert resp.status_code == 400 and error_of(resp)["errcode"] == "not_allowed"


def test_deactivated_user_is_refused_until_activated(realm):
    realm.grant("carol", "report")
    realm.ok("userdeactivate", {"user": "carol"})
    assert realm.ok("capget", {"user": "carol"})["deactivated"] is True
    resp = realm.call("applist", {}, user="carol")
    assert resp.status_code == 403 and error_of(resp)["field"] == "user"
    realm.ok("useractivate", {"user": "carol"})
    assert realm.call("applist", {}, user="carol").status_code == 200
    assert realm.call("useractivate", {"user": "nobody"}).status_code == 404
    assert realm.call("userdeactivate", {"user": "nobody"}).status_code == 404


def test_capabilities_realm_boundary(realm, other_realm):
    other_realm.grant("dave", "report")
    assert realm.call("capget", {"user": "dave"}).status_code == 404
    assert all(c["user"] != "dave" for c in realm.ok("caplist", {})["capabilities"])
    assert realm.call("caprevoke", {"user": "dave", "cap": ["report"]}).status_code == 404
    assert realm.call("userdeactivate", {"user": "dave"}).status_code == 404
    assert other_realm.call("applist", {}, user="dave").status_code == 200
    # a grant in realm A gives nothing in realm B
    realm.grant("erin", "root")
    assert realm.call("applist", {}, token=realm.token("erin", realm=other_realm.name)).status_code == 403


# ---- config -----------------------------------------------------------------------------------

def test_config_set_is_an_upsert_with_version(realm, conn):
    first = realm.ok("configset", {"slice": 1, "name": "max_amount", "val": "100", "descr": "cap"})
    assert (first["name"], first["ver"], first["val"]) == ("MAX_AMOUNT", 1, "100")
    second = realm.ok("configset", {"slice": 1, "name": "MAX_AMOUNT", "val": ""})
    assert (second["ver"], second["val"], second["descr"]) == (2, "", "cap")
    rows = realm.ok("configget", {})
    assert [(r["slice"], r["name"], r["ver"]) for r in rows] == [(1, "MAX_AMOUNT", 2)]
    assert set(rows[0]) == {"slice", "name", "descr", "val", "ver", "setby", "setat"}
    ops = [r["op"] for r in conn.execute(
        "SELECT op FROM changelog WHERE realm = %s AND entity = 'config' ORDER BY id", (realm.name,))]
    assert ops == ["insert", "update"]


@pytest.mark.parametrize("payload,fields", [
    ({"slice": 1, "name": "x"}, {"val": "required"}),
    ({"slice": 1, "name": "1x", "val": "v"}, {"name": "invalid"}),
    ({"slice": "1", "name": "x", "val": 5}, {"slice": "invalid", "val": "invalid"}),
    ({"name": "x", "val": None}, {"slice": "required", "val": "required"}),
])
def test_config_validation(realm, payload, fields):
    resp = realm.call("configset", payload)
    assert resp.status_code == 400
    assert {m["field"]: m["errcode"] for m in resp.get_json()["messages"]} == fields


def test_config_unknown_slice_and_boundary(realm, other_realm):
    resp = realm.call("configset", {"slice": 9, "name": "x", "val": "1"})
    assert resp.status_code == 404 and error_of(resp)["field"] == "slice"
    assert realm.ok("configget", {"slice": 9}) == []     # a list filter matches nothing, never a 404
    other_realm.ok("configset", {"slice": 1, "name": "secret", "val": "theirs"})
    assert realm.ok("configget", {}) == []


def test_config_capability(realm):
    realm.grant("ops", "config")
    realm.ok("configset", {"slice": 1, "name": "x", "val": "1"}, user="ops")
    realm.grant("viewer", "report")
    assert realm.call("configset", {"slice": 1, "name": "x", "val": "2"}, user="viewer").status_code == 403
    assert realm.ok("configget", {}, user="viewer")[0]["val"] == "1"
