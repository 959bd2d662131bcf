"""Every registered call against every kind of bad identity; only a valid grant may pass.

The calls come from the app's own registry (`all_calls()`), and the test checks that registry
against the app's URL map, so a call added later is picked up without touching this file.
"""
from __future__ import annotations

import datetime as dt

import jwt
import pytest

from crux.api import all_calls
from crux.api.auth import Authenticated
from crux.api.calls import API_PREFIX
from tests.conftest import TEST_SECRET, error_of

CALLS = all_calls()
APP = "a1"
# A payload that names every kind of record, so app-scoped checks have an app to look at.
PAYLOAD = {"app": APP, "slice": 1, "id": 1, "name": APP, "user": "someone", "cap": ["report"],
           "class": "c", "descr": "x", "val": "v", "entityid": "e1", "workflow": "w", "ruleset": "r",
           "step": "s", "entity": {}}


def test_every_api_route_is_a_registered_call(app):
    """The registry the matrix walks is complete: every /api/v1 route belongs to a call."""
    registered = {f"{API_PREFIX}/{c.name}" for c in CALLS} | {f"{API_PREFIX}{p}" for c in CALLS for p in c.extra_paths}
    routes = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith(API_PREFIX)}
    served_elsewhere = {f"{API_PREFIX}/openapi.json", f"{API_PREFIX}/docs", f"{API_PREFIX}/docs/static/<path:name>"}
    assert routes - served_elsewhere == registered
    assert len(CALLS) >= 18


def _token(realm, user, **claims):
    now = int(dt.datetime.now(dt.timezone.utc).timestamp())
    body = {"sub": user, "realm": realm, "iat": now, "exp": now + 600, **claims}
    return jwt.encode(body, claims.pop("secret", TEST_SECRET), algorithm="HS256")


def _status(realm, call, token):
    return realm.call(call.name, PAYLOAD, token=token).status_code


@pytest.mark.parametrize("call", CALLS, ids=[c.name for c in CALLS])
def test_authorization_matrix(call, realm, other_realm):
    realm.app_new(APP)
    other_realm.app_new(APP)
    grants = call.need.sufficient(APP)
    needs_capability = not isinstance(call.need, Authenticated)

    def give(user, **window):
        # calls open to every user of the realm still need the user to be known to deactivate them
        for app, cap in grants or [(None, "report")]:
            realm.grant(user, cap, app=app, **window)

    # 1. no token
    assert realm.client.post(f"/api/v1/{call.name}", json={"data": PAYLOAD}).status_code == 401
    # 2. bad signature
    give("valid")
    forged = jwt.encode({"sub": "valid", "realm": realm.name, "exp": 2**31}, "not-the-secret-" * 3, algorithm="HS256")
    assert _status(realm, call, forged) == 401
    # 3. expired token
    assert _status(realm, call, realm.token("valid", ttl=-3600)) == 401
    # 4. a token of another realm: the user's grants are in this realm, not that one; and a realm that does not exist
    if needs_capability:
        assert _status(realm, call, realm.token("valid", realm=other_realm.name)) == 403
    assert _status(realm, call, realm.token("valid", realm="norealm")) == 401
    # 5. a valid token lacking the capability
    if needs_capability:
        realm.grant("lacking", next(c for c in ("report", "config", "auth") if (None, c) not in grants))
        assert _status(realm, call, realm.token("lacking")) == 403
        # 6. an expired grant
        give("expired", **{"from": "2020-01-01T00:00:00Z", "to": "2021-01-01T00:00:00Z"})
        assert _status(realm, call, realm.token("expired")) == 403
        # a grant that starts in the future does not count yet either
        give("future", **{"from": "2099-01-01T00:00:00Z"})
        assert _status(realm, call, realm.token("future")) == 403
    # 7. a deactivated user holding the grant
    give("gone")
    realm.ok("userdeactivate", {"user": "gone"})
    resp = realm.call(call.name, PAYLOAD, token=realm.token("gone"))
    assert resp.status_code == 403 and error_of(resp)["errcode"] == "unauthorized"
    # 8. a valid grant: authorization passes (the call may still refuse the payload)
    status = _status(realm, call, realm.token("valid"))
    assert status not in (401, 403), (call.name, status)


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
