"""Capability grants and deactivated users (SPEC §1 `capgrant`, `deactivated`)."""
from __future__ import annotations

from crux.store.notify import notify

GRANT_COLUMNS = 'c."user", c.app, c.cap, c."from", c."to", c.setat, c.setby'


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


def upsert_grant(tx, realm: str, user: str, app: str | None, cap: str, start, end, who: str) -> tuple[dict | None, dict]:
    """Insert or update one grant; return (old, new). One upsert, so a concurrent grant of the
    same key waits and then updates (the old row is read first for the changelog)."""
    old = tx.one(f'SELECT {GRANT_COLUMNS} FROM capgrant c WHERE c.realm = %s AND c."user" = %s '
                 "AND coalesce(c.app, '') = coalesce(%s, '') AND c.cap = %s FOR UPDATE", (realm, user, app, cap))
    new = tx.one(f"""INSERT INTO capgrant AS c (realm, "user", app, cap, "from", "to", setby)
                     VALUES (%s, %s, %s, %s, %s, %s, %s)
                     ON CONFLICT (realm, "user", coalesce(app, ''), cap) DO UPDATE
                        SET "from" = excluded."from", "to" = excluded."to", setat = now(), setby = excluded.setby
                     RETURNING {GRANT_COLUMNS}""", (realm, user, app, cap, start, end, who))
    notify(tx, "identity", realm=realm, user=user)
    return old, new


def delete_grants(tx, realm: str, user: str, apps: list[str] | None, caps: list[str] | None) -> list[dict]:
    """Delete the user's grants matching apps (None: any, realm-level grants included; else only
    grants on those apps) and caps (None: any); return them."""
    rows = tx.all(
        f"""DELETE FROM capgrant c WHERE c.realm = %(r)s AND c."user" = %(u)s
              AND (%(caps)s::text[] IS NULL OR c.cap = ANY(%(caps)s))
              AND (%(apps)s::text[] IS NULL OR c.app = ANY(%(apps)s))
            RETURNING {GRANT_COLUMNS}""",
        {"r": realm, "u": user, "caps": caps, "apps": apps})
    if rows:
        notify(tx, "identity", realm=realm, user=user)
    return rows


def delete_app_grants(tx, realm: str, app: str) -> int:
    """Delete every grant on an app; return how many."""
    removed = tx.execute("DELETE FROM capgrant WHERE realm = %s AND app = %s", (realm, app)).rowcount
    if removed:
        notify(tx, "realm", realm=realm)    # any number of users: every identity of the realm
    return removed


def other_root_holders(conn, realm: str, user: str) -> int:
    """Active (not deactivated) users other than `user` holding a grant of root live now or later."""
    return conn.execute(
        """SELECT count(DISTINCT c."user") AS n FROM capgrant c
           WHERE c.realm = %(r)s AND c.cap = 'root' AND c."user" <> %(u)s
             AND (c."to" IS NULL OR c."to" > now())
             AND NOT EXISTS (SELECT 1 FROM deactivated d WHERE d.realm = c.realm AND d."user" = c."user")""",
        {"r": realm, "u": user}).fetchone()["n"]


def lock_realm_roots(tx, realm: str) -> None:
    """Serialise changes that could remove the last root holder of a realm."""
    tx.execute("SELECT 1 FROM realm WHERE shortname = %s FOR UPDATE", (realm,))


def is_deactivated(conn, realm: str, user: str) -> bool:
    return conn.execute('SELECT 1 FROM deactivated WHERE realm = %s AND "user" = %s', (realm, user)).fetchone() is not None


def deactivate(tx, realm: str, user: str, who: str) -> bool:
    done = tx.execute('INSERT INTO deactivated (realm, "user", deactby) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING',
                      (realm, user, who)).rowcount == 1
    if done:
        notify(tx, "identity", realm=realm, user=user)
    return done


def activate(tx, realm: str, user: str) -> bool:
    done = tx.execute('DELETE FROM deactivated WHERE realm = %s AND "user" = %s', (realm, user)).rowcount == 1
    if done:
        notify(tx, "identity", realm=realm, user=user)
    return done
