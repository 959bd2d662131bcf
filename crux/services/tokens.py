"""Bearer tokens: verification (HS256 secret, RS256/ES256 public key or JWKS) and minting for development."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import jwt

from crux.common.config import Settings
from crux.common.jsontext import UNSTORABLE
from crux.errors import CruxError


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TokenVerifier:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._public_key = None
        self._jwks = None
        if settings.jwt_public_key:
            text = settings.jwt_public_key
            if not text.lstrip().startswith("-----") and Path(text).exists():
                text = Path(text).read_text()
            self._public_key = text
        if settings.jwt_jwks_url:
            self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True, lifespan=300)
        # HS256 with the local development secret only when no public-key method is configured.
        self._secret: str | None = None
        if settings.jwt_secret or not (self._public_key or self._jwks):
            self._secret = settings.dev_jwt_secret()

    def mint(self, realm: str, user: str, ttl: int = 3600) -> str:
        if not self._secret:
            raise RuntimeError("no HS256 secret is configured: tokens come from the identity provider")
        now = int(_utcnow().timestamp())
        claims = {"sub": user, "preferred_username": user, "realm": realm, "iat": now, "nbf": now,
                  "exp": now + ttl}
        if self.settings.jwt_issuer:
            claims["iss"] = self.settings.jwt_issuer
        if self.settings.jwt_audience:
            claims["aud"] = self.settings.jwt_audience
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> tuple[str, str]:
        """Return (realm, user) from a verified token; raise `authn` otherwise."""
        realm, user, _ = self.verify_claims(token)
        return realm, user

    def verify_claims(self, token: str) -> tuple[str, str, dict]:
        """(realm, user, claims) of a verified token; raise `authn` otherwise."""
        try:
            header = jwt.get_unverified_header(token)
            alg = header.get("alg")
            if alg == "HS256" and self._secret:
                key = self._secret
            elif alg in ("RS256", "ES256") and self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
            elif alg in ("RS256", "ES256") and self._public_key:
                key = self._public_key
            else:
                raise CruxError("authn", "authorization", [alg], f"tokens signed with {alg} are not accepted")
            options: jwt.types.Options = {"require": ["exp"], "verify_aud": bool(self.settings.jwt_audience)}
            claims = jwt.decode(token, key, algorithms=[alg], options=options,
                                audience=self.settings.jwt_audience or None,
                                issuer=self.settings.jwt_issuer or None,
                                leeway=self.settings.jwt_leeway)
        except CruxError:
            raise
        except jwt.ExpiredSignatureError:
            raise CruxError("authn", "authorization", msg="the token has expired") from None
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as exc:
            raise CruxError("authn", "authorization", msg=f"the token is not valid: {exc}") from None
        for name in _TIME_CLAIMS:
            if name in claims and not _is_time(claims[name]):
                raise CruxError("authn", "authorization", [name],
                                f"the token's {name} claim is not a number of seconds")
        user_claim = "preferred_username" if claims.get("preferred_username") else "sub"
        user = claims.get(user_claim)
        realm_claim, realm = "realm", claims.get("realm")
        if not realm and isinstance(claims.get("iss"), str) and "/realms/" in claims["iss"]:
            realm_claim, realm = "iss", claims["iss"].split("/realms/", 1)[1].split("/", 1)[0]
        if not isinstance(user, str) or not user or not isinstance(realm, str) or not realm:
            raise CruxError("authn", "authorization", msg="the token names no user or no realm")
        for name, value in ((user_claim, user), (realm_claim, realm)):
            if UNSTORABLE.search(value):
                raise CruxError("invalid", "authorization", [name],
                                f"the token's {name} claim holds a NUL character or a lone surrogate")
        return realm.lower(), user.lower(), claims


_TIME_CLAIMS = ("exp", "nbf", "iat")


def _is_time(value) -> bool:
    """A NumericDate: a JSON number (not a boolean, not a string), of a sane size."""
    return type(value) in (int, float) and -1e15 < value < 1e15
