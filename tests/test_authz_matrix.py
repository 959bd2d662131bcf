"""Every call against every kind of bad identity; only the grant written here for it may pass.

The capability each call needs is written out below, from SPEC §4.2–4.3, not taken from the
calls' own declarations: a call declared with a wrong `need` fails here. The table must name
every declared call, so a call added later has to be added here too.
"""
from __future__ import annotations

import datetime as dt

import jwt
import pytest

from crux.api import all_calls
from tests.conftest import TEST_SECRET, error_of

APP = "a1"
ROOT, AUTH, CONFIG, REPORT = ("realm", "root"), ("realm", "auth"), ("realm", "config"), ("realm", "report")
CONFIG_OR_REPORT = ("realm", ("config", "report"))
SCHEMA, RULESET = ("app", "schema"), ("app", "ruleset")
READ = ("read", None)       # report, or schema or ruleset on the app
ANYONE = ("anyone", None)   # any user of the realm, without any grant

NEEDS = {
    "realmslicenew": ROOT, "realmsliceactivate": ROOT, "realmslicedeactivate": ROOT, "realmslicepurge": ROOT,
    "realmslicelist": REPORT, "realmsliceapps": REPORT,
    "appnew": ROOT, "appupdate": ROOT, "appdelete": ROOT, "applist": REPORT,
    "capgrant": AUTH, "caprevoke": AUTH, "capget": AUTH, "caplist": AUTH, "useractivate": AUTH, "userdeactivate": AUTH,
    "configset": CONFIG, "configget": REPORT,
    **{f"{kind}schema{op}": SCHEMA for kind in ("bre", "wf") for op in ("new", "update", "delete")},
    **{f"{kind}schema{op}": READ for kind in ("bre", "wf") for op in ("get", "list")},
    **{f"{kind}{op}": RULESET for kind in ("breruleset", "workflow")
       for op in ("new", "update", "delete", "activate", "deactivate")},
    **{f"{kind}{op}": READ for kind in ("breruleset", "workflow") for op in ("get", "list")},
    "stepworkflownew": RULESET, "stepworkflowdelete": RULESET, "stepworkflowlist": READ,
    "breapplyrules": ANYONE,
    **{f"wfinstance{op}": ANYONE for op in ("new", "markdone", "abort", "list", "try", "history", "retry")},
    "wfstepclaim": ANYONE, "wfstepheartbeat": ANYONE, "wfstepfail": ANYONE, "wfenginelist": REPORT,
    "wfeventlist": REPORT,
    "webhooknew": CONFIG, "webhookupdate": CONFIG, "webhookdelete": CONFIG, "webhooklist": CONFIG_OR_REPORT,
}
CALLS = all_calls()
# A payload that names every kind of record, so app-scoped checks have an app to look at.
PAYLOAD = {"app": APP, "slice": 1, "id": 1, "name": APP, "user": "someone", "cap": ["report"],
           "class": "c", "descr": "x", "val": "v", "entityid": "e1", "workflow": "w", "ruleset": "r",
           "step": "s", "entity": {}, "worker": "w", "error": "e"}


def test_the_table_names_every_call_and_the_calls_have_one_entry_path(app):
    assert sorted(NEEDS) == sorted(c.name for c in CALLS)
    # Flask serves no call: the router in front of it is the only way in
    routes = {r.rule for r in app.url_map.iter_rules() if r.rule.lower().startswith("/api/")}
    assert routes == {"/api/v1/openapi.json", "/api/v1/docs", "/api/v1/docs/static/<path:name>"}


def _token(realm, user, **claims):
    now = int(dt.datetime.now(dt.UTC).timestamp())
    body = {"sub": user, "realm": realm, "iat": now, "exp": now + 600, **claims}
    return jwt.encode(body, claims.pop("secret", TEST_SECRET), algorithm="HS256")


def _status(realm, call, token):
    return realm.call(call.name, PAYLOAD, token=token).status_code


def _sufficient(need) -> list[list[tuple]]:
    """Grant sets, each of which must let a caller through: [(app or None, cap), ...]."""
    level, cap = need
    if level == "realm":
        return [[(None, c)] for c in (cap if isinstance(cap, tuple) else (cap,))] + [[(None, "root")]]
    if level == "app":
        return [[(APP, cap)], [(None, "root")]]
    if level == "read":
        return [[(None, "report")], [(APP, "schema")], [(APP, "ruleset")], [(None, "root")]]
    return [[]]


def _lacking(need) -> list[list[tuple]]:
    """Grant sets that must not be enough."""
    level, cap = need
    others = [(None, c) for c in ("auth", "config", "report") if c not in (cap if isinstance(cap, tuple) else (cap,))]
    if level == "realm":
        return [others, [(APP, "schema"), (APP, "ruleset")]]
    if level == "app":
        return [others, [(APP, "schema" if cap == "ruleset" else "ruleset")], [("other", cap)]]
    if level == "read":
        return [[(None, "auth"), (None, "config")], [("other", "schema"), ("other", "ruleset")]]
    return []


@pytest.mark.parametrize("call", CALLS, ids=[c.name for c in CALLS])
def test_authorization_matrix(call, realm, other_realm):
    for r in (realm, other_realm):
        r.app_new(APP)
        r.app_new("other")
    need = NEEDS[call.name]
    users = iter(range(1000))

    def user_with(grants, **window) -> str:
        user = f"u{next(users)}"
        for app, cap in grants or [(None, "report")]:   # a grant makes the user known (to deactivate)
            realm.grant(user, cap, app=app, **window)
        return user

    # 1. no token
    assert realm.client.post(f"/api/v1/{call.name}", json={"data": PAYLOAD}).status_code == 401
    # 2. bad signature
    valid = user_with(_sufficient(need)[0])
    forged = jwt.encode({"sub": valid, "realm": realm.name, "exp": 2**31}, "not-the-secret-" * 3, algorithm="HS256")
    assert _status(realm, call, forged) == 401
    # 3. expired token
    assert _status(realm, call, realm.token(valid, ttl=-3600)) == 401
    # 4. a realm that does not exist; a token of another realm (the grants are in this one)
    assert _status(realm, call, realm.token(valid, realm="norealm")) == 401
    if need is not ANYONE:
        assert _status(realm, call, realm.token(valid, realm=other_realm.name)) == 403
        # 5. valid tokens whose grants are not the ones needed
        for grants in _lacking(need):
            assert _status(realm, call, realm.token(user_with(grants))) == 403, grants
        # 6. an expired grant, and one that starts in the future
        for window in ({"from": "2020-01-01T00:00:00Z", "to": "2021-01-01T00:00:00Z"},
                       {"from": "2099-01-01T00:00:00Z"}):
            assert _status(realm, call, realm.token(user_with(_sufficient(need)[0], **window))) == 403, window
    # 7. a deactivated user holding the grant
    gone = user_with(_sufficient(need)[0])
    realm.ok("userdeactivate", {"user": gone})
    resp = realm.call(call.name, PAYLOAD, token=realm.token(gone))
    assert resp.status_code == 403 and error_of(resp)["errcode"] == "unauthorized"
    # 8. each sufficient grant: authorization passes (the call may still refuse the payload)
    for grants in _sufficient(need):
        status = _status(realm, call, realm.token(user_with(grants) if grants else "nobody-granted"))
        assert status not in (401, 403), (call.name, grants, status)


def test_error_codes_of_authentication(realm):
    resp = realm.client.post("/api/v1/applist", json={})
    assert resp.status_code == 401 and error_of(resp)["errcode"] == "authn"
    resp = realm.call("applist", {}, token="not.a.jwt")
    assert resp.status_code == 401 and error_of(resp)["msgid"] == 1010
    resp = realm.call("applist", {}, token=realm.token("nobody"))
    assert resp.status_code == 403 and error_of(resp)["errcode"] == "unauthorized"


def test_issuer_and_audience_are_checked(app, database_url, settings):
    from dataclasses import replace

    from crux.services.tokens import TokenVerifier
    strict = TokenVerifier(replace(settings, jwt_issuer="https://idp/realms/acme", jwt_audience="crux"))
    good = jwt.encode({"sub": "u", "iss": "https://idp/realms/acme", "aud": "crux", "exp": 2**31}, TEST_SECRET,
                      algorithm="HS256")
    assert strict.verify(good) == ("acme", "u")  # realm from the Keycloak-style issuer
    for claims in ({"iss": "https://other/realms/acme", "aud": "crux"}, {"iss": "https://idp/realms/acme", "aud": "x"},
                   {"iss": "https://idp/realms/acme", "aud": "crux", "nbf": 2**31 - 10}):
        token = jwt.encode({"sub": "u", "exp": 2**31, **claims}, TEST_SECRET, algorithm="HS256")
        with pytest.raises(Exception) as info:
            strict.verify(token)
        assert getattr(info.value, "status", None) == 401


def test_rs256_and_es256_public_keys(settings, tmp_path):
    from dataclasses import replace

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from crux.services.tokens import TokenVerifier
    for key, alg in ((rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
                     (ec.generate_private_key(ec.SECP256R1()), "ES256")):
        pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        path = tmp_path / f"{alg}.pem"
        path.write_text(pem)
        verifier = TokenVerifier(replace(settings, jwt_secret="", jwt_public_key=str(path)))
        token = jwt.encode({"preferred_username": "Ann", "realm": "Acme", "exp": 2**31}, key, algorithm=alg)
        assert verifier.verify(token) == ("acme", "ann")
        # an HS256 token is refused when only a public key is configured
        hs = jwt.encode({"sub": "ann", "realm": "acme", "exp": 2**31}, "x" * 40, algorithm="HS256")
        with pytest.raises(Exception) as info:
            verifier.verify(hs)
        assert getattr(info.value, "status", None) == 401
