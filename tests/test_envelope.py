"""The envelope (SPEC §4.1): payload forms, bad bodies, size limit, paths, CORS; never a 500."""
from __future__ import annotations

import json

import pytest

from crux.api import all_calls
from tests.conftest import error_of


def test_payload_with_or_without_data_wrapper(realm):
    assert realm.ok("appnew", {"name": "one", "descr": ""})["name"] == "one"
    resp = realm.call("appnew", {"name": "two", "descr": "", "extra": {"ignored": True}}, wrap=False)
    assert resp.status_code == 200 and resp.get_json()["data"]["name"] == "two"


def test_success_envelope_shape(realm):
    body = realm.call("applist", {}).get_json()
    assert list(body) == ["status", "data", "messages"]
    assert body["status"] == "success" and body["messages"] is None


@pytest.mark.parametrize("raw,field", [
    (b"{not json", None),
    (b"[1, 2]", None),
    (b'"text"', None),
    (b"42", None),
    (b'{"data": [1]}', "data"),
    (b'{"data": "x"}', "data"),
    (b"\xff\xfe", None),
])
def test_malformed_or_non_object_body(realm, raw, field):
    resp = realm.call("appnew", raw=raw)
    assert resp.status_code == 400
    msg = error_of(resp)
    assert msg["errcode"] == "invalid_json" and msg["field"] == field and msg["msgid"] == 1006


def test_all_validation_problems_at_once_with_values(realm):
    resp = realm.call("capgrant", {"user": 7, "cap": "root", "from": "x", "to": 3})
    assert resp.status_code == 400
    messages = resp.get_json()["messages"]
    assert {m["field"] for m in messages} == {"user", "cap", "from", "to"}
    by_field = {m["field"]: m for m in messages}
    assert by_field["user"]["vals"] == [7] and by_field["from"]["vals"] == ["x"]
    assert all(m["msgid"] == 1003 for m in messages)


def _wrong_type_for(field):
    """A value of the wrong JSON type for a field."""
    from marshmallow import fields as mf
    return 3.5 if isinstance(field, (mf.String, mf.List, mf.Dict, mf.Boolean)) else "not-a-number"


@pytest.mark.parametrize("call", [c for c in all_calls() if c.schema is not None and c.schema.fields],
                         ids=lambda c: c.name)
def test_wrong_type_in_every_field_is_a_400(realm, call):
    """Every field of every call's payload, given a value of the wrong type: a 400 naming that field."""
    for name, field in call.schema.fields.items():
        key = field.data_key or name
        resp = realm.call(call.name, {key: _wrong_type_for(field)})
        assert resp.status_code == 400, (call.name, key, resp.get_json())
        fields = [m["field"] for m in resp.get_json()["messages"]]
        assert any(f == key or (f or "").startswith(key + "[") or (f or "").startswith(key + ".") for f in fields), \
            (call.name, key, fields)


def test_oversize_body_is_413(app, realm):
    limit = app.config["MAX_CONTENT_LENGTH"]
    resp = realm.call("appnew", raw=json.dumps({"name": "x", "descr": "y" * limit}).encode())
    assert resp.status_code == 413
    assert error_of(resp)["errcode"] == "toobig"


def test_paths_are_case_insensitive_and_other_methods(realm):
    headers = {"Authorization": f"Bearer {realm.token()}"}
    resp = realm.client.post("/API/V1/appNew", json={"data": {"name": "mixed", "descr": ""}}, headers=headers)
    assert resp.status_code == 200
    resp = realm.client.put("/api/v1/APPUPDATE", json={"name": "mixed", "descr": "d"}, headers=headers)
    assert resp.status_code == 200
    resp = realm.client.delete("/api/v1/appDelete/Mixed", headers=headers)
    assert resp.status_code == 200


def test_unknown_call_and_wrong_method(realm):
    resp = realm.call("nosuchcall", {})
    assert resp.status_code == 404 and error_of(resp)["field"] == "call"
    resp = realm.client.get("/api/v1/appnew", headers={"Authorization": f"Bearer {realm.token()}"})
    assert resp.status_code == 405 and error_of(resp)["errcode"] == "method_not_allowed"


def test_cors_and_preflight(client):
    resp = client.options("/api/v1/appnew",
                          headers={"Origin": "https://ui.example", "Access-Control-Request-Method": "POST"})
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        assert method in resp.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
    assert client.post("/api/v1/applist").headers["Access-Control-Allow-Origin"] == "*"


def test_internal_error_is_an_envelope_without_trace(app, realm, monkeypatch):
    from crux.store import apps

    def boom(*a, **k):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(apps, "list_apps", boom)
    resp = realm.call("applist", {})
    assert resp.status_code == 500
    assert error_of(resp)["errcode"] == "internal"
    assert "secret detail" not in resp.get_data(as_text=True)


def test_ids_beyond_bigint_and_empty_texts_are_400s(realm):
    """A number too big for the database, or an empty entity id, is a field error, not a 500."""
    resp = realm.call("wfinstancemarkdone", {"id": 2**63, "step": "s", "entity": {}})
    assert resp.status_code == 400 and (error_of(resp)["field"], error_of(resp)["errcode"]) == ("id", "too_large")
    resp = realm.call("wfinstancenew", {"slice": 1, "app": "a", "workflow": "w", "entityid": "", "entity": {},
                                        "parent": 2**64})
    fields = {m["field"]: m["errcode"] for m in resp.get_json()["messages"]}
    assert resp.status_code == 400 and fields == {"entityid": "empty", "parent": "too_large"}


def test_oversize_body_is_413_in_every_form(app, realm):
    """Through the router, POST and the PUT form of a call alike."""
    body = json.dumps({"name": "x", "descr": "y" * app.config["MAX_CONTENT_LENGTH"]}).encode()
    headers = {"Authorization": f"Bearer {realm.token()}", "Content-Type": "application/json"}
    for method in ("post", "put"):
        resp = getattr(realm.client, method)("/api/v1/appupdate", data=body, headers=headers)
        assert resp.status_code == 413 and error_of(resp)["errcode"] == "toobig", method


def test_every_problem_at_once_as_the_readme_shows(realm):
    """The README's own capgrant example: both problems, the capability named by the payload check."""
    resp = realm.call("capgrant", {"user": 7, "cap": ["superuser"]})
    assert resp.status_code == 400
    assert [(m["field"], m["errcode"], m["vals"]) for m in resp.get_json()["messages"]] == \
        [("user", "invalid", [7]), ("cap[0]", "invalid", ["superuser"])]
    assert resp.get_json()["messages"][1]["msg"] == "unknown capability superuser"
    # levels too: an app-level capability without apps, a realm-level one with them
    resp = realm.call("capgrant", {"user": "", "cap": ["schema"]})
    assert {(m["field"], m["errcode"]) for m in resp.get_json()["messages"]} == {("user", "empty"), ("app", "required")}
    realm.app_new("shop")
    resp = realm.call("capgrant", {"user": "ann", "app": ["shop"], "cap": ["ruleset", "report"]})
    assert [(m["field"], m["errcode"]) for m in resp.get_json()["messages"]] == [("cap[1]", "invalid")]


def test_every_form_of_a_call_comes_in_the_one_way(app, realm, client, capsys):
    """POST, the PUT/DELETE forms, path forms, GET lists and a refused method: each answer has the
    CORS headers, is counted under its call and (from 400 up) logged in its `A` line."""
    realm.app_new("shop")
    headers = {"Authorization": f"Bearer {realm.token()}"}
    forms = [("POST", "/api/v1/appnew", {"name": "two", "descr": ""}, 200, "appnew"),
             ("PUT", "/API/v1/appUpdate", {"name": "two", "descr": "d"}, 200, "appupdate"),
             ("GET", "/api/v1/realmsliceapps/1", None, 200, "realmsliceapps"),
             ("GET", "/api/v1/applist", None, 200, "applist"),
             ("DELETE", "/api/v1/appdelete/Two", None, 200, "appdelete"),
             ("GET", "/api/v1/appdelete/shop", None, 405, "appdelete"),
             ("DELETE", "/api/v1/appdelete/nosuch", None, 404, "appdelete")]
    for method, path, payload, status, _ in forms:
        resp = client.open(path, method=method, headers=headers, json=None if payload is None else {"data": payload})
        assert resp.status_code == status, (path, resp.get_json())
        assert resp.headers["Access-Control-Allow-Origin"] == "*" and resp.headers["Content-Type"] == "application/json"
        assert resp.headers["Content-Length"] == str(len(resp.data))
    metrics = client.get("/metrics").get_data(as_text=True)
    for _, _, _, status, call in forms:
        assert f'crux_requests_total{{call="{call}",status="{status}"}}' in metrics, (call, status)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"type":"A"' in line]
    assert [(a["op"], a["data"]["status"]) for a in lines if a["data"]["status"] >= 400][-2:] == \
        [("appdelete", 405), ("appdelete", 404)]
    # Flask's own endpoints get the same headers
    assert client.get("/healthz").headers["Access-Control-Allow-Origin"] == "*"
    resp = client.post("/healthz")
    assert resp.status_code == 405 and resp.headers["Allow"] and error_of(resp)["errcode"] == "method_not_allowed"
