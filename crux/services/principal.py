"""Who is calling: the caller's identity and grants, and the check of one capability (SPEC §4.2)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

REALM_CAPS = ("root", "auth", "config", "report")
APP_CAPS = ("schema", "ruleset")
ALL_CAPS = REALM_CAPS + APP_CAPS
READ_CAPS = ("report", "schema", "ruleset")     # any of them lets a caller read rule data (of its apps)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Grant:
    app: str | None
    cap: str
    start: dt.datetime | None
    end: dt.datetime | None

    def live(self, now: dt.datetime) -> bool:
        return (self.start is None or self.start <= now) and (self.end is None or now <= self.end)


@dataclass(frozen=True)
class Identity:
    realm: str
    user: str
    grants: tuple[Grant, ...]

    def has(self, cap: str, app: str | None = None) -> bool:
        """True when a live grant gives `cap` (on `app` for app-level caps); root gives all."""
        now = _utcnow()
        for g in self.grants:
            if not g.live(now):
                continue
            if g.cap == "root" or (g.cap == cap and (g.app is None or g.app == app)):
                return True
        return False

    def apps_with(self, caps) -> set[str] | None:
        """Apps on which the caller holds one of `caps`; None means every app (root or report)."""
        now = _utcnow()
        apps = set()
        for g in self.grants:
            if not g.live(now):
                continue
            if g.cap == "root" or (g.app is None and g.cap in caps):
                return None
            if g.app is not None and g.cap in caps:
                apps.add(g.app)
        return apps
