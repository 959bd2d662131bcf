"""Capability grants and deactivated users (SPEC §1 `capgrant`, `deactivated`)."""
from __future__ import annotations

GRANT_COLUMNS = 'c."user", c.app, c.cap, c."from", c."to", c.setat, c.setby'
_GRANT_KEYS = ("user", "app", "cap", "from", "to", "setat", "setby")


def identity_row(conn, realm: str, user: str) -> dict:
    """Everything authentication needs, in one round trip."""
    return conn.execute(
        """SELECT EXISTS (SELECT 1 FROM realm WHERE shortname = %(r)s) AS realm_exists,
                  EXISTS (SELECT 1 FROM deactivated WHERE realm = %(r)s AND "user" = %(u)s) AS deactivated,
                  coalesce((SELECT json_agg(json_build_object('app', app, 'cap', cap, 'from', "from", 'to', "to"))
                            FROM capgrant WHERE realm = %(r)s AND "user" = %(u)s), '[]'::json) AS grants""",
        {"r": realm, "u": user}).fetchone()


def user_known(conn, realm: str, user: str) -> bool:
    return conn.execute(
        """SELECT EXISTS (SELECT 1 FROM capgrant WHERE realm = %(r)s AND "user" = %(u)s)
               OR EXISTS (SELECT 1 FROM deactivated WHERE realm = %(r)s AND "user" = %(u)s) AS known""",
        {"r": realm, "u": user}).fetchone()["known"]


def grants_of(conn, realm: str, user: str) -> list[dict]:
    return conn.execute(f'SELECT {GRANT_COLUMNS} FROM capgrant c WHERE c.realm = %s AND c."user" = %s '
                        "ORDER BY c.app NULLS FIRST, c.cap", (realm, user)).fetchall()


def list_grants(conn, realm: str, app: str | None, cap: str | None) -> list[dict]:
    return conn.execute(
        f"""SELECT {GRANT_COLUMNS} FROM capgrant c WHERE c.realm = %(r)s
              AND (%(app)s::text IS NULL OR c.app = %(app)s) AND (%(cap)s::text IS NULL OR c.cap = %(cap)s)
            ORDER BY c."user", c.app NULLS FIRST, c.cap""", {"r": realm, "app": app, "cap": cap}).fetchall()


def upsert_grants(conn, realm: str, user: str, apps: list[str | None], caps: list[str], start, end,
                  who: str) -> list[dict]:
    """Insert or update the grant of every cap on every app (None: realm-level) in one statement;
    return [{inserted, old, new}] per grant, in (app, cap) order. Existing grants are locked
    and read before the upsert, so `old` is what the upsert replaced (None for a grant that a
    concurrent call inserted after this statement's snapshot)."""
    rows = conn.execute(
        f"""WITH want AS (
                SELECT DISTINCT a.app, c.cap FROM unnest(%(apps)s::text[]) a(app), unnest(%(caps)s::text[]) c(cap)
            ), old AS (
                SELECT {GRANT_COLUMNS} FROM capgrant c JOIN want w ON coalesce(c.app, '') = coalesce(w.app, '')
                                                          AND c.cap = w.cap
                WHERE c.realm = %(realm)s AND c."user" = %(user)s
                FOR UPDATE OF c
            ), new AS (
                INSERT INTO capgrant AS c (realm, "user", app, cap, "from", "to", setby)
                SELECT %(realm)s, %(user)s, w.app, w.cap, %(start)s, %(end)s, %(who)s FROM want w
                ORDER BY w.app NULLS FIRST, w.cap
                ON CONFLICT (realm, "user", coalesce(app, ''), cap) DO UPDATE
                   SET "from" = excluded."from", "to" = excluded."to", setat = now(), setby = excluded.setby
                RETURNING {GRANT_COLUMNS}, c.xmax = 0 AS inserted
            )
            SELECT n.*, o.cap IS NOT NULL AS seen, o."from" AS old_from, o."to" AS old_to,
                   o.setat AS old_setat, o.setby AS old_setby
            FROM new n LEFT JOIN old o ON coalesce(o.app, '') = coalesce(n.app, '') AND o.cap = n.cap
            ORDER BY n.app NULLS FIRST, n.cap""",
        {"realm": realm, "user": user, "apps": apps, "caps": caps, "start": start, "end": end, "who": who}).fetchall()
    out = []
    for r in rows:
        new = {k: r[k] for k in _GRANT_KEYS}
        # a grant inserted meanwhile by a concurrent call was updated here, but not seen before
        old = {**new, **{k: r["old_" + k] for k in ("from", "to", "setat", "setby")}} if r["seen"] else None
        out.append({"inserted": r["inserted"], "old": old, "new": new})
    return out


def delete_grants(conn, realm: str, user: str, apps: list[str] | None, caps: list[str] | None) -> list[dict]:
    """Delete the user's grants matching apps (None: any, realm-level grants included; else only
    grants on those apps) and caps (None: any); return them."""
    return conn.execute(
        f"""DELETE FROM capgrant c WHERE c.realm = %(r)s AND c."user" = %(u)s
              AND (%(caps)s::text[] IS NULL OR c.cap = ANY(%(caps)s))
              AND (%(apps)s::text[] IS NULL OR c.app = ANY(%(apps)s))
            RETURNING {GRANT_COLUMNS}""",
        {"r": realm, "u": user, "caps": caps, "apps": apps}).fetchall()


def delete_app_grants(conn, realm: str, app: str) -> int:
    """Delete every grant on an app; return how many."""
    return conn.execute("DELETE FROM capgrant WHERE realm = %s AND app = %s", (realm, app)).rowcount


def other_root_holders(conn, realm: str, user: str) -> int:
    """Active (not deactivated) users other than `user` holding a grant of root live now or later."""
    return conn.execute(
        """SELECT count(DISTINCT c."user") AS n FROM capgrant c
           WHERE c.realm = %(r)s AND c.cap = 'root' AND c."user" <> %(u)s
             AND (c."to" IS NULL OR c."to" > now())
             AND NOT EXISTS (SELECT 1 FROM deactivated d WHERE d.realm = c.realm AND d."user" = c."user")""",
        {"r": realm, "u": user}).fetchone()["n"]


def lock_realm_roots(conn, realm: str) -> None:
    """Serialise changes that could remove the last root holder of a realm."""
    conn.execute("SELECT 1 FROM realm WHERE shortname = %s FOR UPDATE", (realm,))


def is_deactivated(conn, realm: str, user: str) -> bool:
    found = conn.execute('SELECT 1 FROM deactivated WHERE realm = %s AND "user" = %s', (realm, user)).fetchone()
    return found is not None


def deactivate(conn, realm: str, user: str, who: str) -> bool:
    return conn.execute('INSERT INTO deactivated (realm, "user", deactby) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING',
                        (realm, user, who)).rowcount == 1


def activate(conn, realm: str, user: str) -> bool:
    return conn.execute('DELETE FROM deactivated WHERE realm = %s AND "user" = %s', (realm, user)).rowcount == 1
