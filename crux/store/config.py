"""Named settings per slice (SPEC §1 `config`)."""
from __future__ import annotations

CONFIG_COLUMNS = "slice, name, descr, val, ver, setby, setat"


def set_config(conn, realm: str, slice_id: int, name: str, val: str, descr: str | None,
               who: str) -> tuple[dict | None, dict]:
    old = conn.execute(f"SELECT {CONFIG_COLUMNS} FROM config WHERE realm = %s AND slice = %s AND name = %s FOR UPDATE",
                       (realm, slice_id, name)).fetchone()
    new = conn.execute(
        f"""INSERT INTO config (realm, slice, name, descr, val, setby) VALUES (%s, %s, %s, coalesce(%s, ''), %s, %s)
            ON CONFLICT (realm, slice, name) DO UPDATE
               SET val = excluded.val, descr = coalesce(%s, config.descr), ver = config.ver + 1,
                   setby = excluded.setby, setat = now()
            RETURNING {CONFIG_COLUMNS}""", (realm, slice_id, name, descr, val, who, descr)).fetchone()
    return old, new


def get_config(conn, realm: str, slice_id: int | None) -> list[dict]:
    return conn.execute(
        f"""SELECT {CONFIG_COLUMNS} FROM config WHERE realm = %s AND (%s::int IS NULL OR slice = %s)
            ORDER BY slice, name""", (realm, slice_id, slice_id)).fetchall()
