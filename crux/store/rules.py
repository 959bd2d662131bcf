"""Schemas, rulesets (business rulesets and workflows) and stepworkflows (SPEC §1).

In the API a ruleset's `name` is `setname` in the table. Every query carries the realm; the
functions on one app's rule data take `(conn, scope, ...)`, a `Scope` of (realm, slice, app).
Rule writes of one scope are serialised by the unit of work's lock on `rules_lock_key(scope)`,
so validation (known callees, call cycles, "is this schema in use") sees a stable picture until
commit.
"""
from __future__ import annotations

from psycopg.types.json import Jsonb

from crux.common.jsontext import dumps
from crux.store.filters import filter_clause
from crux.store.scope import Scope

SCHEMA_COLUMNS = """s.id, s.slice, s.app, s.class, s.brwf, s.patternschema, s.actionschema,
    s.createdat, s.createdby, s.editedat, s.editedby,
    (SELECT a.longname FROM app a WHERE a.realm = s.realm AND a.shortnamelc = s.app) AS longname"""
RULESET_SUMMARY = """r.id, r.slice, r.app, r.class, r.setname AS name, r.brwf, r.is_active, r.is_internal,
    r.createdat, r.createdby, r.editedat, r.editedby"""
RULESET_COLUMNS = RULESET_SUMMARY + ", r.ruleset AS rules, r.steps"


def _json(value):
    return Jsonb(value, dumps)


def rules_lock_key(scope: Scope) -> tuple:
    """The advisory lock key serialising rule writes of one scope."""
    return ("rules", scope.realm, scope.slice, scope.app)


# Whether slice %(s)s and app %(a)s of realm %(r)s exist (select-list columns).
_SLICE_AND_APP_EXIST = """
    EXISTS (SELECT 1 FROM realmslice WHERE realm = %(r)s AND id = %(s)s) AS slice_exists,
    EXISTS (SELECT 1 FROM app WHERE realm = %(r)s AND shortnamelc = %(a)s) AS app_exists"""


def _scope_params(scope: Scope) -> dict:
    return {"r": scope.realm, "s": scope.slice, "a": scope.app}


def slice_and_app(conn, scope: Scope) -> dict:
    """Whether the slice and the app exist: {slice_exists, app_exists}."""
    return conn.execute("SELECT" + _SLICE_AND_APP_EXIST, _scope_params(scope)).fetchone()


# ---- schemas ----------------------------------------------------------------------------------

def get_schema(conn, scope: Scope, cls: str, lock: bool = False) -> dict | None:
    sql = f"""SELECT {SCHEMA_COLUMNS} FROM schema s
              WHERE s.realm = %(r)s AND s.slice = %(s)s AND s.app = %(a)s AND s.class = %(c)s"""
    return conn.execute(sql + (" FOR UPDATE" if lock else ""), {**_scope_params(scope), "c": cls}).fetchone()


def insert_schema(conn, scope: Scope, cls: str, brwf: str, doc: dict, who: str) -> dict:
    return conn.execute(
        f"""INSERT INTO schema AS s (realm, slice, app, class, brwf, patternschema, actionschema, createdby)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {SCHEMA_COLUMNS}""",
        (scope.realm, scope.slice, scope.app, cls, brwf, _json(doc["patternschema"]), _json(doc["actionschema"]),
         who)).fetchone()


def update_schema(conn, realm: str, schema_id: int, doc: dict, who: str) -> dict:
    return conn.execute(
        f"""UPDATE schema s SET patternschema = %s, actionschema = %s, editedat = now(), editedby = %s
            WHERE s.realm = %s AND s.id = %s RETURNING {SCHEMA_COLUMNS}""",
        (_json(doc["patternschema"]), _json(doc["actionschema"]), who, realm, schema_id)).fetchone()


def delete_schema(conn, realm: str, schema_id: int) -> None:
    conn.execute("DELETE FROM schema WHERE realm = %s AND id = %s", (realm, schema_id))


def schema_users(conn, realm: str, schema_id: int) -> list[str]:
    """Names of the rulesets that refer to a schema."""
    return [r["setname"] for r in conn.execute(
        "SELECT setname FROM ruleset WHERE realm = %s AND schemaid = %s ORDER BY setname", (realm, schema_id))]


def list_schemas(conn, realm: str, brwf: str, filters: dict, apps: set[str] | None) -> list[dict]:
    where, params = filter_clause("s", filters, {"slice": "slice", "app": "app", "class": "class"}, apps)
    return conn.execute(
        f"""SELECT s.slice, sl.descr AS slicedesc, s.app, a.longname, s.class,
                   s.createdat, s.createdby, s.editedat, s.editedby
            FROM schema s
            JOIN realmslice sl ON sl.realm = s.realm AND sl.id = s.slice
            JOIN app a ON a.realm = s.realm AND a.shortnamelc = s.app
            WHERE s.realm = %(realm)s AND s.brwf = %(brwf)s{where}
            ORDER BY s.slice, s.app, s.class""", {"realm": realm, "brwf": brwf, **params}).fetchall()


# ---- rulesets ---------------------------------------------------------------------------------

def get_ruleset(conn, scope: Scope, cls: str, name: str, lock: bool = False) -> dict | None:
    sql = f"""SELECT {RULESET_COLUMNS} FROM ruleset r
              WHERE r.realm = %(r)s AND r.slice = %(s)s AND r.app = %(a)s AND r.class = %(c)s AND r.setname = %(n)s"""
    return conn.execute(sql + (" FOR UPDATE" if lock else ""), {**_scope_params(scope), "c": cls, "n": name}).fetchone()


def app_call_graph(conn, scope: Scope) -> list[dict]:
    """Every ruleset of a (realm, slice, app) without its rules: id, name, class, brwf, flags and
    the names it calls (stored rules are canonical, so the keys are known)."""
    return conn.execute(
        """SELECT r.id, r.setname AS name, r.class, r.brwf, r.is_active, r.is_internal,
                  coalesce((SELECT array_agg(DISTINCT c.callee ORDER BY c.callee)
                            FROM jsonb_array_elements(r.ruleset) x,
                                 LATERAL (VALUES (x->'ruleactions'->>'thencall'), (x->'ruleactions'->>'elsecall'))
                                     AS c(callee)
                            WHERE c.callee <> ''), '{}') AS calls
           FROM ruleset r WHERE r.realm = %(r)s AND r.slice = %(s)s AND r.app = %(a)s ORDER BY r.id""",
        _scope_params(scope)).fetchall()


def workflow_class(conn, scope: Scope, name: str) -> str | None:
    row = conn.execute("""SELECT class FROM ruleset WHERE realm = %(r)s AND slice = %(s)s AND app = %(a)s
                          AND setname = %(n)s AND brwf = 'W'""", {**_scope_params(scope), "n": name}).fetchone()
    return None if row is None else row["class"]


def workflow_steps(conn, scope: Scope, but: str | None = None) -> set[str]:
    """The steps (tasks) of every workflow schema of a (realm, slice, app), but class `but`'s."""
    return {r["step"] for r in conn.execute(
        """SELECT jsonb_array_elements_text(actionschema->'tasks') AS step FROM schema
           WHERE realm = %(r)s AND slice = %(s)s AND app = %(a)s AND brwf = 'W' AND class IS DISTINCT FROM %(c)s""",
        {**_scope_params(scope), "c": but})}


def mapped_steps(conn, scope: Scope, workflow: str | None = None) -> list[str]:
    """The steps of a (realm, slice, app) that stepworkflow maps to a sub-workflow (to `workflow`,
    if given)."""
    return [r["step"] for r in conn.execute(
        """SELECT step FROM stepworkflow WHERE realm = %(r)s AND slice = %(s)s AND app = %(a)s
             AND (%(w)s::text IS NULL OR workflow = %(w)s) ORDER BY step""", {**_scope_params(scope), "w": workflow})]


def insert_ruleset(conn, scope: Scope, cls: str, name: str, brwf: str, schema_id: int, is_internal: bool,
                   rules: list, who: str, steps: dict | None = None) -> dict:
    """`steps`: a workflow's step settings (SPEC §8.1), as given."""
    return conn.execute(
        f"""INSERT INTO ruleset AS r (realm, slice, app, class, setname, brwf, schemaid, is_internal, ruleset,
                                      steps, createdby)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {RULESET_COLUMNS}""",
        (scope.realm, scope.slice, scope.app, cls, name, brwf, schema_id, is_internal, _json(rules),
         _json(steps or {}), who)).fetchone()


def update_ruleset(conn, realm: str, ruleset_id: int, rules: list, is_internal: bool, who: str,
                   steps: dict | None = None) -> dict:
    return conn.execute(
        f"""UPDATE ruleset r SET ruleset = %s, is_internal = %s, steps = %s, editedat = now(), editedby = %s
            WHERE r.realm = %s AND r.id = %s RETURNING {RULESET_COLUMNS}""",
        (_json(rules), is_internal, _json(steps or {}), who, realm, ruleset_id)).fetchone()


def set_rulesets_active(conn, realm: str, ids: list[int], active: bool, who: str) -> list[dict]:
    """The changed rulesets, without their rules."""
    return conn.execute(f"""UPDATE ruleset r SET is_active = %s, editedat = now(), editedby = %s
                            WHERE r.realm = %s AND r.id = ANY(%s) RETURNING {RULESET_SUMMARY}""",
                        (active, who, realm, ids)).fetchall()


def delete_ruleset(conn, realm: str, ruleset_id: int) -> None:
    conn.execute("DELETE FROM ruleset WHERE realm = %s AND id = %s", (realm, ruleset_id))


def list_rulesets(conn, realm: str, brwf: str, filters: dict, apps: set[str] | None) -> list[dict]:
    where, params = filter_clause("r", filters, {"slice": "slice", "app": "app", "class": "class", "name": "setname",
                                                 "is_active": "is_active", "is_internal": "is_internal"}, apps)
    return conn.execute(
        f"""SELECT {RULESET_SUMMARY} FROM ruleset r WHERE r.realm = %(realm)s AND r.brwf = %(brwf)s{where}
            ORDER BY r.slice, r.app, r.class, r.setname""", {"realm": realm, "brwf": brwf, **params}).fetchall()


# ---- stepworkflows ----------------------------------------------------------------------------

STEPWORKFLOW_COLUMNS = "w.slice, w.app, w.step, w.workflow"


def get_stepworkflow(conn, scope: Scope, step: str, lock: bool = False) -> dict | None:
    sql = f"""SELECT {STEPWORKFLOW_COLUMNS} FROM stepworkflow w
              WHERE w.realm = %(r)s AND w.slice = %(s)s AND w.app = %(a)s AND w.step = %(step)s"""
    return conn.execute(sql + (" FOR UPDATE" if lock else ""), {**_scope_params(scope), "step": step}).fetchone()


def insert_stepworkflow(conn, scope: Scope, step: str, workflow: str, who: str) -> dict:
    return conn.execute(
        f"""INSERT INTO stepworkflow AS w (realm, slice, app, step, workflow, createdby)
            VALUES (%s, %s, %s, %s, %s, %s) RETURNING {STEPWORKFLOW_COLUMNS}""",
        (scope.realm, scope.slice, scope.app, step, workflow, who)).fetchone()


def delete_stepworkflow(conn, scope: Scope, step: str) -> None:
    conn.execute("DELETE FROM stepworkflow WHERE realm = %(r)s AND slice = %(s)s AND app = %(a)s AND step = %(step)s",
                 {**_scope_params(scope), "step": step})


def list_stepworkflows(conn, realm: str, filters: dict, apps: set[str] | None) -> list[dict]:
    where, params = filter_clause("w", filters, {"slice": "slice", "app": "app"}, apps)
    return conn.execute(
        f"""SELECT {STEPWORKFLOW_COLUMNS} FROM stepworkflow w WHERE w.realm = %(realm)s{where}
            ORDER BY w.slice, w.app, w.step""", {"realm": realm, **params}).fetchall()


# ---- what the ruleset cache loads -------------------------------------------------------------

def app_index(conn, scope: Scope) -> dict:
    """In one round trip: do the slice and the app exist, the app's rulesets' names/classes/kinds,
    its stepworkflows."""
    return conn.execute(
        "SELECT" + _SLICE_AND_APP_EXIST + """,
                  coalesce((SELECT json_agg(json_build_array(setname, class, brwf) ORDER BY id)
                            FROM ruleset WHERE realm = %(r)s AND slice = %(s)s AND app = %(a)s), '[]') AS rulesets,
                  coalesce((SELECT json_agg(json_build_array(step, workflow) ORDER BY step)
                            FROM stepworkflow WHERE realm = %(r)s AND slice = %(s)s AND app = %(a)s), '[]')
                      AS stepworkflows""",
        _scope_params(scope)).fetchone()


def family_rows(conn, scope: Scope, cls: str) -> dict | None:
    """In one round trip (one snapshot): the schema of a class (brwf, patternschema, actionschema),
    its rulesets with rules (`rulesets`: [{name, is_active, is_internal, rules, steps}]) and the names
    and classes of the app's rulesets of other classes (`others`: [[name, class]]); None when
    the class has no schema."""
    return conn.execute(
        """SELECT s.brwf, s.patternschema, s.actionschema,
                  coalesce((SELECT jsonb_agg(jsonb_build_object('name', r.setname, 'is_active', r.is_active,
                                                                'is_internal', r.is_internal, 'rules', r.ruleset,
                                                                'steps', r.steps)
                                             ORDER BY r.id)
                            FROM ruleset r WHERE r.realm = s.realm AND r.slice = s.slice AND r.app = s.app
                                             AND r.class = s.class), '[]') AS rulesets,
                  coalesce((SELECT json_agg(json_build_array(r.setname, r.class) ORDER BY r.id)
                            FROM ruleset r WHERE r.realm = s.realm AND r.slice = s.slice AND r.app = s.app
                                             AND r.class <> s.class), '[]') AS others
           FROM schema s WHERE s.realm = %(r)s AND s.slice = %(s)s AND s.app = %(a)s AND s.class = %(c)s""",
        {**_scope_params(scope), "c": cls}).fetchone()
