"""Bad input is a 4xx envelope, never a 500, a hang or a traceback (issue 8 deliver 2), against a
real server: NUL characters and lone surrogates in every field of every call that takes text (and
in keys, entity values, path parameters and token claims), JSON nested too deep, NaN, oversized
name lists, and tokens whose times are not numbers. Every answer must be strict JSON, and the
server's log of the run must hold no traceback."""
from __future__ import annotations

import datetime as dt
import http.client
import json
import urllib.parse
from pathlib import Path

import jwt
import pytest
from marshmallow import fields

from crux.api import all_calls
from crux.api.envelope import MAX_DEPTH
from crux.api.fields import MOST_NAMES
from tests.conftest import TEST_SECRET, make_realm
from tests.http_server import Server
from tests.rules_data import eventually

BAD = {"nul": "a\x00b", "surrogate": "a\ud800b"}
SHOWN = "a\ufffdb"            # how a bad string is named back in `field` and `vals`


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    srv = Server(database_url, tmp_path_factory.mktemp("bad-input"), workers=1)
    try:
        eventually(srv.ready, timeout=60, interval=0.1)
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def realm(app, server):
    handle = make_realm(app, app.test_client())
    handle.app_new("shop", "Shop")
    return handle


def _strict(text: str):
    """JSON as the standard has it: a bare NaN or Infinity fails."""
    def refuse(name):
        raise ValueError(f"bare {name} in an answer")
    return json.loads(text, parse_constant=refuse)


def send(server, method: str, path: str, body: bytes | None, token: str | None) -> tuple[int, dict, dict]:
    """One request -> (status, headers, the envelope)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        envelope = _strict(resp.read().decode())
        assert set(envelope) == {"status", "data", "messages"}, envelope
        return resp.status, dict(resp.getheaders()), envelope
    finally:
        conn.close()


def post(server, realm, call: str, payload, token: str | None = None) -> tuple[int, dict]:
    status, _, envelope = send(server, "POST", f"/api/v1/{call}", json.dumps({"data": payload}).encode(),
                               token or realm.token())
    return status, envelope


def assert_log_clean(server) -> None:
    text = Path(server.log.name).read_text(errors="replace")
    assert "Traceback" not in text and "internal error" not in text, text[-3000:]


def _text_cases(call) -> list[tuple[str, object, str]]:
    """(payload key, a value holding `bad`, the field the answer must name) for every field of the
    call's payload that takes text, as a string, in a list, or inside an object (keys too)."""
    cases = []
    for name, field in call.schema.fields.items():
        key = field.data_key or name
        if isinstance(field, fields.List):
            cases.append((key, ["ok", "{bad}"], f"{key}[1]"))
        elif isinstance(field, (fields.Dict, fields.Raw)):
            cases.append((key, {"x": "{bad}"}, f"{key}.x"))
            cases.append((key, {"{bad}": 1}, f"{key}.{SHOWN}"))
        elif not isinstance(field, (fields.Number, fields.Boolean)):      # text: strings, names, timestamps
            cases.append((key, "{bad}", key))
    return cases


def _filled(value, bad: str):
    if isinstance(value, str):
        return value.replace("{bad}", bad)
    if isinstance(value, list):
        return [_filled(v, bad) for v in value]
    if isinstance(value, dict):
        return {_filled(k, bad): _filled(v, bad) for k, v in value.items()}
    return value


CALLS = [c for c in all_calls() if c.schema is not None]


@pytest.mark.parametrize("call", CALLS, ids=[c.name for c in CALLS])
def test_nul_and_lone_surrogates_in_every_text_field(server, realm, call):
    cases = _text_cases(call) + [("{bad}", 1, SHOWN)]        # and a key of the payload itself
    for kind, bad in BAD.items():
        for key, value, where in cases:
            status, envelope = post(server, realm, call.name, {_filled(key, bad): _filled(value, bad)})
            assert status == 400, (call.name, key, kind, envelope)
            messages = envelope["messages"]
            assert all(m["errcode"] == "invalid" for m in messages), messages
            assert where in [m["field"] for m in messages], (call.name, where, messages)
    assert_log_clean(server)


@pytest.mark.parametrize("call", CALLS, ids=[c.name for c in CALLS])
def test_deep_nesting_nan_and_huge_numbers(server, realm, call):
    token = realm.token()
    for body in (b'{"data": {"x": ' + b"[" * (MAX_DEPTH + 5) + b"]" * (MAX_DEPTH + 5) + b"}}",
                 b'{"data": {"x": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}}",
                 b'{"data": {"slice": NaN, "id": NaN, "entity": {"a": Infinity}}}',
                 b'{"data": {"slice": 1e999, "id": -1e999}}'):
        status, _, envelope = send(server, "POST", f"/api/v1/{call.name}", body, token)
        assert status == 400 and envelope["messages"][0]["errcode"] == "invalid_json", (call.name, envelope)
    assert_log_clean(server)


def test_path_parameters_and_bad_numbers(server, realm):
    token = realm.token()
    for path, field in ((f"/api/v1/appdelete/{urllib.parse.quote(BAD['nul'])}", "name"),
                        ("/api/v1/realmsliceapps/%00", "id")):
        method = "DELETE" if "appdelete" in path else "GET"
        status, _, envelope = send(server, method, path, None, token)
        assert status == 400 and envelope["messages"][0]["field"] == field, envelope
    # numbers JSON allows but the fields do not: a 400 naming the field, with valid JSON in vals
    status, envelope = post(server, realm, "wfinstancemarkdone", {"id": 1e308, "step": "s", "entity": {}})
    assert status == 400 and envelope["messages"][0]["field"] == "id"
    assert_log_clean(server)


def _token(realm_name: str, claims: dict) -> str:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    body = {"sub": "admin", "realm": realm_name, "exp": now + 600, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, TEST_SECRET, algorithm="HS256")


def test_token_claims(server, realm):
    for claims, status, errcode in (
            ({"sub": BAD["nul"]}, 400, "invalid"),
            ({"preferred_username": BAD["surrogate"]}, 400, "invalid"),
            ({"realm": BAD["nul"]}, 400, "invalid"),
            ({"realm": None, "iss": f"https://idp/realms/{BAD['surrogate']}"}, 400, "invalid"),
            ({"exp": "9999999999"}, 401, "authn"),
            ({"exp": 10**400}, 401, "authn"),
            ({"exp": [1]}, 401, "authn"),
            ({"exp": True}, 401, "authn"),
            ({"nbf": "0"}, 401, "authn"),
            ({"iat": 10**400}, 401, "authn")):
        got, envelope = post(server, realm, "applist", {}, token=_token(realm.name, claims))
        msg = envelope["messages"][0]
        assert (got, msg["errcode"], msg["field"]) == (status, errcode, "authorization"), (claims, envelope)
    assert_log_clean(server)


def test_name_lists_are_bounded_and_deduplicated(server, realm, conn):
    changes = "SELECT count(*) AS n FROM changelog WHERE realm = %s AND entity = 'capgrant'"
    before = conn.execute(changes, (realm.name,)).fetchone()["n"]
    for payload, field in (({"user": "ann", "cap": ["report"] * 100_000}, "cap"),
                           ({"user": "ann", "cap": ["schema"], "app": ["shop"] * (MOST_NAMES + 1)}, "app"),
                           ({"user": "ann", "cap": ["schema"] * (MOST_NAMES + 1), "app": ["shop"] * (MOST_NAMES + 1)},
                            "cap")):
        status, envelope = post(server, realm, "capgrant", payload)
        assert status == 400, envelope
        assert (field, "too_long") in [(m["field"], m["errcode"]) for m in envelope["messages"]]
    for call, payload, field in (("caprevoke", {"user": "ann", "cap": ["ALL"] * 100_000}, "cap"),
                                 ("realmslicenew", {"copyof": 1, "app": ["shop"] * 100_000}, "app"),
                                 ("wfeventlist", {"kinds": ["x"] * 100}, "kinds")):
        status, envelope = post(server, realm, call, payload)
        assert status == 400 and envelope["messages"][0]["field"] == field, (call, envelope)
    assert conn.execute(changes, (realm.name,)).fetchone()["n"] == before
    # duplicates collapse: one grant, one changelog row
    status, envelope = post(server, realm, "capgrant", {"user": "ann", "cap": ["report"] * MOST_NAMES})
    assert status == 200 and [g["cap"] for g in envelope["data"]["capabilities"]] == ["report"]
    assert conn.execute(changes, (realm.name,)).fetchone()["n"] == before + 1
    assert_log_clean(server)
