"""Apps of a realm (SPEC §1 `app`)."""
from __future__ import annotations

APP_COLUMNS = "a.shortnamelc AS name, a.shortname, a.longname AS descr, a.setat AS createdat, a.setby AS createdby"


def get_app(conn, realm: str, name: str, lock: bool = False) -> dict | None:
    return conn.execute(f"SELECT {APP_COLUMNS} FROM app a WHERE a.realm = %s AND a.shortnamelc = %s"
                        + (" FOR UPDATE" if lock else ""), (realm, name.lower())).fetchone()


def missing_apps(conn, realm: str, names: list[str]) -> list[str]:
    found = {r["shortnamelc"] for r in conn.execute(
        "SELECT shortnamelc FROM app WHERE realm = %s AND shortnamelc = ANY(%s)", (realm, names))}
    return [n for n in names if n not in found]


def insert_app(conn, realm: str, name: str, descr: str, who: str) -> dict:
    """The new app, as get_app gives it."""
    return conn.execute(f"""INSERT INTO app AS a (realm, shortname, shortnamelc, longname, setby)
                      VALUES (%s, %s, %s, %s, %s) RETURNING {APP_COLUMNS}""",
                        (realm, name, name.lower(), descr, who)).fetchone()


def update_app(conn, realm: str, name: str, descr: str) -> dict | None:
    """The updated app, as get_app gives it (None when there is no such app). `setat`/`setby`
    say who created the app and when (answered as createdat/createdby): an update keeps them;
    the changelog says who changed what."""
    return conn.execute(f"""UPDATE app a SET longname = %s WHERE a.realm = %s AND a.shortnamelc = %s
                            RETURNING {APP_COLUMNS}""", (descr, realm, name.lower())).fetchone()


def app_in_use(conn, realm: str, name: str) -> bool:
    return conn.execute(
        """SELECT EXISTS (SELECT 1 FROM schema WHERE realm = %(r)s AND app = %(a)s)
               OR EXISTS (SELECT 1 FROM ruleset WHERE realm = %(r)s AND app = %(a)s)
               OR EXISTS (SELECT 1 FROM stepworkflow WHERE realm = %(r)s AND app = %(a)s) AS used""",
        {"r": realm, "a": name.lower()}).fetchone()["used"]


def delete_app(conn, realm: str, name: str) -> None:
    conn.execute("DELETE FROM app WHERE realm = %s AND shortnamelc = %s", (realm, name.lower()))


def list_apps(conn, realm: str) -> list[dict]:
    return conn.execute(
        f"""SELECT {APP_COLUMNS},
              (SELECT count(DISTINCT "user") FROM capgrant c
                WHERE c.realm = a.realm AND c.app = a.shortnamelc) AS nusers,
              (SELECT count(*) FROM ruleset r
                WHERE r.realm = a.realm AND r.app = a.shortnamelc AND r.brwf = 'B') AS nrulesetsbre,
              (SELECT count(*) FROM ruleset r
                WHERE r.realm = a.realm AND r.app = a.shortnamelc AND r.brwf = 'W') AS nrulesetswfe
            FROM app a WHERE a.realm = %s ORDER BY a.shortnamelc""", (realm,)).fetchall()
