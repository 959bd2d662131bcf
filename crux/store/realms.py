"""Realms and their slices (SPEC §1 `realm`, `realmslice`)."""
from __future__ import annotations

import datetime as dt

# The effective state of a slice now: the latest scheduled change already due wins, else `active`.
EFFECTIVE_ACTIVE = """
CASE
  WHEN coalesce(s.activateat <= now(), false) AND coalesce(s.deactivateat <= now(), false)
       THEN s.activateat > s.deactivateat
  WHEN coalesce(s.activateat <= now(), false) THEN true
  WHEN coalesce(s.deactivateat <= now(), false) THEN false
  ELSE s.active
END"""

SLICE_COLUMNS = f"""s.id, s.descr, {EFFECTIVE_ACTIVE} AS active, s.activateat, s.deactivateat,
    s.createdat, s.createdby, s.editedat, s.editedby"""


def realm_exists(conn, realm: str) -> bool:
    return conn.execute("SELECT 1 FROM realm WHERE shortname = %s", (realm,)).fetchone() is not None


def create_realm(conn, shortname: str, longname: str, admin: str) -> bool:
    """A realm with slice 1 (active) and `admin` holding root and auth, unless the realm exists
    (False)."""
    made = conn.execute("""INSERT INTO realm (shortname, longname, setby, lastslice) VALUES (%s, %s, %s, 1)
                           ON CONFLICT (shortname) DO NOTHING""", (shortname, longname, admin)).rowcount
    if not made:
        return False
    conn.execute("INSERT INTO realmslice (realm, id, descr, active, createdby) VALUES (%s, 1, 'first slice', true, %s)",
                 (shortname, admin))
    conn.execute("""INSERT INTO capgrant (realm, "user", cap, setby)
                    SELECT %s, %s, cap, %s FROM unnest(ARRAY['root', 'auth']) AS cap""", (shortname, admin, admin))
    return True


def get_slice(conn, realm: str, slice_id: int, lock: bool = False) -> dict | None:
    sql = f"SELECT {SLICE_COLUMNS} FROM realmslice s WHERE s.realm = %s AND s.id = %s"
    if lock:
        sql += " FOR UPDATE"
    return conn.execute(sql, (realm, slice_id)).fetchone()


def list_slices(conn, realm: str) -> list[dict]:
    return conn.execute(f"SELECT {SLICE_COLUMNS} FROM realmslice s WHERE s.realm = %s ORDER BY s.id",
                        (realm,)).fetchall()


def new_slice(conn, realm: str, descr: str, active: bool, who: str) -> int:
    row = conn.execute("UPDATE realm SET lastslice = lastslice + 1 WHERE shortname = %s RETURNING lastslice",
                       (realm,)).fetchone()
    slice_id = row["lastslice"]
    conn.execute("INSERT INTO realmslice (realm, id, descr, active, createdby) VALUES (%s, %s, %s, %s, %s)",
                 (realm, slice_id, descr, active, who))
    return slice_id


def copy_slice_contents(conn, realm: str, source: int, target: int, apps: list[str] | None, who: str) -> dict:
    """Copy config (all of it) and the stepworkflows, schemas and rulesets of `apps` (None: all)."""
    app_filter = "" if apps is None else " AND app = ANY(%(apps)s)"
    ruleset_filter = "" if apps is None else " AND r.app = ANY(%(apps)s)"   # app alone is ambiguous there
    p = {"realm": realm, "src": source, "dst": target, "who": who, "apps": apps}
    counts = {}
    counts["config"] = conn.execute(
        """INSERT INTO config (realm, slice, name, descr, val, ver, setby)
           SELECT realm, %(dst)s, name, descr, val, 1, %(who)s FROM config
           WHERE realm = %(realm)s AND slice = %(src)s""", p).rowcount
    counts["stepworkflows"] = conn.execute(
        f"""INSERT INTO stepworkflow (realm, slice, app, step, workflow, createdby)
            SELECT realm, %(dst)s, app, step, workflow, %(who)s FROM stepworkflow
            WHERE realm = %(realm)s AND slice = %(src)s{app_filter}""", p).rowcount
    counts["schemas"] = conn.execute(
        f"""INSERT INTO schema (realm, slice, app, class, brwf, patternschema, actionschema, createdby)
            SELECT realm, %(dst)s, app, class, brwf, patternschema, actionschema, %(who)s FROM schema
            WHERE realm = %(realm)s AND slice = %(src)s{app_filter}""", p).rowcount
    counts["rulesets"] = conn.execute(
        f"""INSERT INTO ruleset (realm, slice, app, class, setname, brwf, schemaid, is_active, is_internal,
                                 ruleset, steps, createdby)
            SELECT r.realm, %(dst)s, r.app, r.class, r.setname, r.brwf, ns.id, r.is_active, r.is_internal,
                   r.ruleset, r.steps, %(who)s
            FROM ruleset r
            JOIN schema ns ON ns.realm = r.realm AND ns.slice = %(dst)s AND ns.app = r.app AND ns.class = r.class
            WHERE r.realm = %(realm)s AND r.slice = %(src)s{ruleset_filter}""", p).rowcount
    return counts


def set_slice_state(conn, realm: str, slice_id: int, active: bool, at: dt.datetime | None, who: str) -> dict:
    """Activate or deactivate now (cancelling anything pending), or schedule it for `at`; the
    slice as get_slice gives it then."""
    column = "activateat" if active else "deactivateat"
    if at is None:
        return conn.execute(f"""UPDATE realmslice s SET active = %s, activateat = NULL, deactivateat = NULL,
                                    editedat = now(), editedby = %s WHERE s.realm = %s AND s.id = %s
                                RETURNING {SLICE_COLUMNS}""", (active, who, realm, slice_id)).fetchone()
    # Fold changes already due into `active` first, so the schedule starts from the state now.
    conn.execute(f"""UPDATE realmslice s SET active = {EFFECTIVE_ACTIVE},
                        activateat = CASE WHEN s.activateat <= now() THEN NULL ELSE s.activateat END,
                        deactivateat = CASE WHEN s.deactivateat <= now() THEN NULL ELSE s.deactivateat END
                     WHERE s.realm = %s AND s.id = %s""", (realm, slice_id))
    return conn.execute(f"""UPDATE realmslice s SET {column} = %s, editedat = now(), editedby = %s
                            WHERE s.realm = %s AND s.id = %s RETURNING {SLICE_COLUMNS}""",
                        (at, who, realm, slice_id)).fetchone()


def slice_apps(conn, realm: str, slice_id: int) -> list[dict]:
    return conn.execute(
        """SELECT a.shortname, a.longname FROM app a
           WHERE a.realm = %(realm)s AND a.shortnamelc IN (
               SELECT app FROM schema WHERE realm = %(realm)s AND slice = %(slice)s
               UNION SELECT app FROM ruleset WHERE realm = %(realm)s AND slice = %(slice)s)
           ORDER BY a.shortnamelc""", {"realm": realm, "slice": slice_id}).fetchall()


def purge_slice(conn, realm: str, slice_id: int) -> dict:
    counts = {"history": conn.execute("DELETE FROM wfhistory WHERE realm = %s AND slice = %s",
                                    (realm, slice_id)).rowcount}
    for table in ("wfinstance", "stepworkflow", "ruleset", "schema", "config"):
        counts[table] = conn.execute(f"DELETE FROM {table} WHERE realm = %s AND slice = %s",
                                   (realm, slice_id)).rowcount
    conn.execute("DELETE FROM realmslice WHERE realm = %s AND id = %s", (realm, slice_id))
    return counts
