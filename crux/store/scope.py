"""Where rule data lives: a realm's slice and app. Store functions take `(conn, scope, ...)`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scope:
    """A (realm, slice, app): every schema, ruleset, workflow and stepworkflow belongs to one."""
    realm: str
    slice: int
    app: str

    def key(self, *more) -> tuple:
        """The changelog key of a record in this scope: (realm, slice, app, *more)."""
        return (self.realm, self.slice, self.app, *more)
