"""The change log (SPEC §1 `changelog`): one row per change to admin or rule data, written by
the unit of work (crux/services/uow.py) in the transaction that makes the change, with its
`changed` event (SPEC §9.1) in the same statement."""
from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from crux.common.jsontext import dumps

INSERT_CHANGE = """
WITH c AS (
    INSERT INTO changelog (realm, who, entity, key, op, old, new)
    VALUES (%(realm)s, %(who)s, %(entity)s, %(key)s, %(op)s, %(old)s, %(new)s)
    RETURNING realm, entity, key, op
)
INSERT INTO wfevent (realm, kind, "table", key, op) SELECT realm, 'changed', entity, key, op FROM c"""


# a record's key: its text, or its parts (joined with '/')
ChangeKey = str | tuple[object, ...]


def key_text(key: ChangeKey) -> str:
    """A changelog key: text as is, a tuple of parts joined with '/'."""
    return key if isinstance(key, str) else "/".join(str(k) for k in key)


def _json(value: dict[str, Any] | None) -> Jsonb | None:
    return None if value is None else Jsonb(value, dumps)


def insert_changes(conn: psycopg.Connection[Any], realm: str, who: str, rows: list[dict[str, Any]]) -> None:
    """One changelog row and its `changed` event per {entity, key, op, old, new}; many go out
    in one round trip."""
    params = [{"realm": realm, "who": who, "entity": r["entity"], "key": r["key"], "op": r["op"],
               "old": _json(r["old"]), "new": _json(r["new"])} for r in rows]
    if len(params) == 1:
        conn.execute(INSERT_CHANGE, params[0])
    else:
        conn.cursor().executemany(INSERT_CHANGE, params)
