"""Workflow instances and their history (SPEC §1 `wfinstance`, `wfhistory`; §5; §8.2).

An instance is the open rows of one (realm, slice, app, workflow, entityid). Every change to an
instance runs in one transaction that first takes the instance's advisory lock and then, in a
new statement (so a fresh snapshot sees what the previous holder committed), reads and locks
its rows. The lock makes `wfinstancenew`'s check-then-insert atomic and serialises calls on one
instance (reports, aborts, expiries), so of several concurrent calls on sibling rows exactly one
sees itself as the last. Whatever takes row locks of instances without their advisory lock
(claims, heartbeats) never waits for anything else while holding them, so no lock cycle forms.

The hot calls are pipelined: `wfinstancenew` is one round trip (lock, check-and-insert, commit);
`wfinstancemarkdone` is two (lock and read; then one write statement and the commit), with the
evaluation in between while the rows stay locked. Every step handed out opens a `wfhistory`
row in the same statement that writes the step, every step that ends closes it, and each of
these appends its events (crux/store/history.py).

A row handed out starts at attempt 1 with the settings of its step (SPEC §8.1; a `Settings`
triple here) and the entity of the call that handed it out; attempts after the first are made
by crux/store/attempts.py.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from psycopg.types.json import Jsonb

from crux.common.jsontext import dumps
from crux.store.filters import filter_clause
from crux.store.history import LATEST, OPEN_COLUMNS, aborted_instances, closing, instance_event, opening

# The two-key advisory lock form has its own key space; this first key marks instance locks.
LOCK_CLASS = 7340

INSTANCE_COLUMNS = ("id, entityid, slice, app, class, workflow, step, loggedat, doneat, nextstep, parent, "
                    "attempt, dueat, notbefore, leasedby, leaseuntil, incident")
HISTORY_COLUMNS = ("wfid, entityid, slice, app, class, workflow, step, parent, loggedat, closedat, outcome, "
                   "attempt, worker, error")

# A step's settings as a row keeps them: (timeout seconds or None, attempts, retrydelay seconds).
Settings = tuple
NO_SETTINGS: Settings = (None, 1, 0)


def lock_sql(realm, slice_id, app, workflow, entityid) -> str:
    """The instance lock of the row (or key) these SQL expressions name."""
    return (f"pg_advisory_xact_lock({LOCK_CLASS}, "
            f"hashtext(concat_ws('/', {realm}, {slice_id}, {app}, {workflow}, {entityid})))")


def try_lock_sql(realm, slice_id, app, workflow, entityid) -> str:
    """`lock_sql` without waiting: false when another transaction holds it."""
    return lock_sql(realm, slice_id, app, workflow, entityid).replace("pg_advisory_xact_lock",
                                                                      "pg_try_advisory_xact_lock")


LOCK_BY_KEY = "SELECT " + lock_sql("%(realm)s::text", "%(slice)s::int", "%(app)s::text",
                                    "%(workflow)s::text", "%(entityid)s::text")
LOCK_BY_ROW = ("SELECT " + lock_sql("realm", "slice", "app", "workflow", "entityid")
               + " FROM wfinstance WHERE id = %(id)s AND realm = %(realm)s")


def entity_json(entity: dict | None):
    return None if entity is None else Jsonb(entity, dumps)


def _seconds(column: str) -> str:
    """An interval of `column` seconds (NULL stays NULL)."""
    return f"{column} * interval '1 second'"


# Rows handed out, from `unnest` of their steps and settings in task order (`t`).
_HANDED_OUT = """unnest({steps}::text[], {timeouts}::int[], {attempts}::int[], {delays}::int[])
                 WITH ORDINALITY AS t(step, timeout, maxattempts, retrydelay, n)"""
_NEW_ROW_COLUMNS = ("realm, entityid, slice, app, class, workflow, step, nextstep, parent, entity, dueat, "
                    "maxattempts, timeout, retrydelay")
_NEW_ROW_VALUES = ("%(realm)s, %(entityid)s, %(slice)s, %(app)s, %(class)s, %(workflow)s, t.step, {next}::text, "
                   "%(parent)s::bigint, %(entity)s, now() + " + _seconds("t.timeout")
                   + ", t.maxattempts, t.timeout, t.retrydelay")


def _settings_params(prefix: str, settings: Sequence[Settings]) -> dict:
    return {f"{prefix}timeouts": [s[0] for s in settings], f"{prefix}attempts": [s[1] for s in settings],
            f"{prefix}delays": [s[2] for s in settings]}


# ---- wfinstancenew ----------------------------------------------------------------------------

NEW_INSTANCE = """
WITH chk AS (
    SELECT EXISTS (SELECT 1 FROM wfinstance
                   WHERE realm = %(realm)s AND entityid = %(entityid)s AND workflow = %(workflow)s
                     AND slice = %(slice)s AND app = %(app)s) AS taken,
           (%(parent)s::bigint IS NULL
            OR EXISTS (SELECT 1 FROM wfinstance WHERE realm = %(realm)s AND id = %(parent)s::bigint
                       FOR KEY SHARE)) AS parent_ok
), added AS (
    INSERT INTO wfinstance (""" + _NEW_ROW_COLUMNS + """)
    SELECT """ + _NEW_ROW_VALUES.format(next="%(nextstep)s") + """
    FROM """ + _HANDED_OUT.format(steps="%(steps)s", timeouts="%(timeouts)s", attempts="%(attempts)s",
                                  delays="%(delays)s") + """, chk
    WHERE NOT chk.taken AND chk.parent_ok
    ORDER BY t.n
    RETURNING """ + OPEN_COLUMNS + """
), """ + opening("opened", "SELECT " + OPEN_COLUMNS + " FROM added") + """, started AS (
    INSERT INTO wfevent (realm, kind, slice, app, class, workflow, entityid, parent, tasks)
    SELECT %(realm)s, 'started', %(slice)s, %(app)s, %(class)s, %(workflow)s, %(entityid)s, %(parent)s::bigint,
           jsonb_agg(jsonb_build_object(step, id) ORDER BY id)
    FROM added HAVING count(*) > 0
)
SELECT chk.taken, chk.parent_ok, a.id, a.step, coalesce(a.loggedat, now()) AS loggedat
FROM chk LEFT JOIN added a ON true
"""


@dataclass
class NewOutcome:
    taken: bool                 # the entity already has an open instance of the workflow
    parent_ok: bool             # the parent row exists (or none was given)
    loggedat: dt.datetime
    ids: dict[str, int]         # step -> new row id (empty when nothing was stored)


class PendingNew:
    """`new_instance`'s statements, sent; `outcome()` reads their result once they have run
    (in a pipelined unit of work: after it has committed, so lock, insert and commit go out
    in one round trip)."""

    def __init__(self, cursor):
        self._cursor = cursor

    def outcome(self) -> NewOutcome:
        rows = self._cursor.fetchall()
        first = rows[0]
        return NewOutcome(first["taken"], first["parent_ok"], first["loggedat"],
                          {r["step"]: r["id"] for r in rows if r["id"] is not None})


def new_instance(conn, realm: str, key: dict, steps: list[str], nextstep: str | None,
                 parent: int | None, entity: dict | None = None,
                 settings: Sequence[Settings] | None = None) -> PendingNew:
    """Store one row per step of a new instance, all with `nextstep` (the step itself when it is
    the only one) and the step's settings (`settings`, aligned with `steps`), unless the entity
    already has one open (or the parent row is missing); `steps` empty only checks. key: slice,
    app, class, workflow, entityid. Takes the instance's lock first."""
    params = {**key, "realm": realm, "steps": steps, "nextstep": nextstep, "parent": parent,
              "entity": entity_json(entity), **_settings_params("", settings or [NO_SETTINGS] * len(steps))}
    conn.execute(LOCK_BY_KEY, params)
    return PendingNew(conn.execute(NEW_INSTANCE, params))


# ---- wfinstancemarkdone -----------------------------------------------------------------------

# The rows `w` of the instance holding row %(id)s of the realm.
_ROWS_OF_INSTANCE = """
FROM wfinstance o
JOIN wfinstance w ON w.realm = o.realm AND w.entityid = o.entityid AND w.workflow = o.workflow
                 AND w.slice = o.slice AND w.app = o.app
WHERE o.id = %(id)s AND o.realm = %(realm)s"""

_INSTANCE_ROWS = """
SELECT w.id, w.entityid, w.slice, w.app, w.class, w.workflow, w.step, w.loggedat, w.doneat,
       w.nextstep, w.parent, w.attempt, w.leasedby, coalesce(w.leaseuntil > now(), false) AS leaselive,
       w.incident, w.maxattempts, w.timeout, w.retrydelay, now() AS txtime{more},
       EXISTS (SELECT 1 FROM wfinstance c WHERE c.parent = w.id) AS has_subflows""" + _ROWS_OF_INSTANCE + """
ORDER BY w.id
FOR UPDATE OF w
"""
INSTANCE_ROWS = {False: _INSTANCE_ROWS.format(more=""), True: _INSTANCE_ROWS.format(more=", w.entity")}

# Deleting a tree of rows: the seeds and, recursively, every sub-workflow row started from them
# (a sub-workflow's rows all carry the parent step's row id), closing their open history rows as
# aborted, with one `aborted` event per instance removed. Rows are locked in id order first, so
# two deletions of overlapping trees do not deadlock. `{p}` names the CTEs (several trees can go
# in one statement); needs WITH RECURSIVE.
_TREE = """
{p}tree(id) AS (
    {seed}
    UNION
    SELECT c.id FROM wfinstance c JOIN {p}tree t ON c.parent = t.id WHERE c.realm = %(realm)s
), {p}locked AS (
    SELECT w.id FROM wfinstance w WHERE w.realm = %(realm)s AND w.id IN (SELECT id FROM {p}tree)
    ORDER BY w.id FOR UPDATE
), {p}gone AS (
    DELETE FROM wfinstance w USING {p}locked l WHERE w.id = l.id AND w.realm = %(realm)s
    RETURNING w.id, w.realm, w.slice, w.app, w.class, w.workflow, w.entityid, w.parent
), {p}closed AS (
    UPDATE wfhistory h SET closedat = now(), outcome = 'aborted'
    FROM {p}gone g WHERE h.realm = %(realm)s AND h.wfid = g.id AND h.closedat IS NULL
), {aborted}"""


def _tree(p: str, seed: str) -> str:
    return _TREE.format(p=p, seed=seed, aborted=aborted_instances(f"{p}ended", f"{p}gone"))


def _subflows_of(rows_sql: str) -> str:
    """The CTEs ending every sub-workflow started from the rows whose ids `rows_sql` gives (an
    array): a step's sub-workflows end when the step does."""
    return _tree("sub_", "SELECT c.id FROM wfinstance c WHERE c.realm = %(realm)s AND c.parent = ANY("
                 + rows_sql + ")")


# Every change a report makes, in one statement; each part is a no-op when its input is empty.
# History: the reported row's open history row closes with its outcome (and the worker and
# error of the report), any other row leaving with its history still open closes as aborted;
# every step handed out opens a new one. The report's entity goes on every row of the instance
# that stays. Sub-workflows still open under a row whose step ends (`close`) are aborted with
# it; the rows read say whether any has one (usually none: the statement then leaves that part
# out). An instance that ends gives its `done` event.
APPLY_CHANGE = """
WITH RECURSIVE {subflows} """ + closing(
    "closed",
    """outcome = CASE WHEN h.wfid = %(reported)s::bigint THEN %(outcome)s::text ELSE 'aborted' END,
       worker = CASE WHEN h.wfid = %(reported)s::bigint THEN %(worker)s::text END,
       error = CASE WHEN h.wfid = %(reported)s::bigint THEN %(error)s::text END""",
    "h.id IN (SELECT (" + LATEST.format(realm="%(realm)s", wfid="c.wfid") + ")"
    "         FROM unnest(%(close)s::bigint[]) AS c(wfid))"
) + """, marked AS (
    -- a reported sibling: its deadline, lease and incident end with it
    UPDATE wfinstance SET doneat = now(), entity = %(entity)s, dueat = NULL, notbefore = NULL, leasedby = NULL,
                          leaseuntil = NULL, incident = NULL
    WHERE realm = %(realm)s AND id = %(mark)s::bigint
), touched AS (
    UPDATE wfinstance SET entity = %(entity)s WHERE realm = %(realm)s AND id = ANY(%(touch)s::bigint[])
), gone AS (
    DELETE FROM wfinstance WHERE realm = %(realm)s AND id = ANY(%(delete)s::bigint[])
), moved AS (
    UPDATE wfinstance SET step = %(movestep)s::text, nextstep = %(movenext)s::text, doneat = NULL, loggedat = now(),
                          entity = %(entity)s, attempt = 1,
                          dueat = now() + """ + _seconds("%(movetimeout)s::int") + """,
                          notbefore = NULL, leasedby = NULL, leaseuntil = NULL, incident = NULL,
                          maxattempts = %(moveattempts)s::int, timeout = %(movetimeout)s::int,
                          retrydelay = %(movedelay)s::int
    WHERE realm = %(realm)s AND id = %(move)s::bigint
    RETURNING """ + OPEN_COLUMNS + """
), added AS (
    INSERT INTO wfinstance (""" + _NEW_ROW_COLUMNS + """)
    SELECT """ + _NEW_ROW_VALUES.format(next="%(addnext)s") + """
    FROM """ + _HANDED_OUT.format(steps="%(add)s", timeouts="%(addtimeouts)s", attempts="%(addattempts)s",
                                  delays="%(adddelays)s") + """
    ORDER BY t.n
    RETURNING """ + OPEN_COLUMNS + """
), handed AS (
    SELECT * FROM moved UNION ALL SELECT * FROM added
), """ + opening("opened", "SELECT " + OPEN_COLUMNS + " FROM handed") + """, """ + instance_event(
    "ended", "done", """SELECT %(realm)s AS realm, %(slice)s AS slice, %(app)s AS app, %(class)s AS class,
                               %(workflow)s AS workflow, %(entityid)s AS entityid, %(parent)s::bigint AS parent
                        WHERE %(finished)s""") + """
SELECT id, step FROM handed
"""
_APPLY = {False: APPLY_CHANGE.format(subflows=""),
          True: APPLY_CHANGE.format(subflows=_subflows_of("%(close)s::bigint[]") + ",")}


@dataclass
class Change:
    """What one report does to an instance (see APPLY_CHANGE)."""
    reported: int
    outcome: str                                   # done | failed | timedout
    close: list[int] = field(default_factory=list)
    mark: int | None = None                        # set doneat (a sibling still waits)
    delete: list[int] = field(default_factory=list)
    move: int | None = None                        # row updated in place to movestep
    movestep: str | None = None
    movenext: str | None = None
    movesettings: Settings = NO_SETTINGS
    add: list[str] = field(default_factory=list)   # one new row per step
    addnext: str | None = None
    addsettings: Sequence[Settings] = field(default_factory=list)
    finished: bool = False                         # the instance ends (done)


class LockedInstance:
    """The rows of one instance, locked until the transaction ends (oldest first)."""

    def __init__(self, conn, realm: str, rows: list[dict]):
        self.conn, self.realm, self.rows = conn, realm, rows
        self._cursor = None

    @property
    def now(self) -> dt.datetime:
        """The transaction's time: what `doneat`, `loggedat` and `closedat` are set to."""
        return self.rows[0]["txtime"]

    def row(self, row_id: int) -> dict | None:
        return next((r for r in self.rows if r["id"] == row_id), None)

    def apply(self, change: Change, entity: dict | None, worker: str | None = None, error: str | None = None) -> None:
        """Queue the change (with the report's entity, worker and error); it is sent with the
        commit. `handed_ids` reads what it handed out."""
        row = self.rows[0]
        params = {"realm": self.realm, **{k: row[k] for k in ("entityid", "slice", "app", "class",
                                                               "workflow", "parent")},
                  **{k: v for k, v in change.__dict__.items() if k not in ("movesettings", "addsettings")},
                  "movetimeout": change.movesettings[0], "moveattempts": change.movesettings[1],
                  "movedelay": change.movesettings[2], **_settings_params("add", change.addsettings),
                  "entity": entity_json(entity), "worker": worker, "error": error,
                  "touch": [r["id"] for r in self.rows
                            if r["id"] not in change.delete and r["id"] not in (change.mark, change.move)]}
        subflows = any(r["has_subflows"] for r in self.rows if r["id"] in change.close)
        self._cursor = self.conn.execute(_APPLY[subflows], params)

    def handed_ids(self) -> dict[str, int]:
        """step -> id of the rows `apply` moved or inserted (after the transaction has ended)."""
        return {} if self._cursor is None else {r["step"]: r["id"] for r in self._cursor.fetchall()}


def lock_instance(conn, realm: str, row_id: int, with_entity: bool = False) -> LockedInstance:
    """The instance holding row `row_id`, locked until the transaction ends (rows empty when
    there is no such row in the realm); `with_entity`: the rows' stored entities too. In a
    pipelined unit of work: one round trip to lock and read; the writes then go with the commit."""
    params = {"realm": realm, "id": row_id}
    conn.execute(LOCK_BY_ROW, params)
    return LockedInstance(conn, realm, conn.execute(INSTANCE_ROWS[with_entity], params).fetchall())


# ---- wfinstancemarkdone of a row known to be alone in its instance -----------------------------

# One statement, so one transaction: the row moves to its next step only if it is still alone in
# its instance at the step and attempt the evaluation assumed, not done, has no sub-workflow
# open (the locked way ends those with the step), and the report may be made under its lease.
# Any concurrent change to a lone row's instance updates or deletes that row (a new attempt
# changes `attempt`), and the UPDATE re-checks its conditions on the row's latest version once
# the other transaction ends, so a lost race writes nothing.
MOVE_ALONE = """
WITH moved AS (
    UPDATE wfinstance w SET step = %(task)s, nextstep = %(task)s, loggedat = now(), entity = %(entity)s,
           attempt = 1, dueat = now() + """ + _seconds("%(timeout)s::int") + """, notbefore = NULL,
           leasedby = NULL, leaseuntil = NULL, incident = NULL,
           maxattempts = %(attempts)s, timeout = %(timeout)s::int, retrydelay = %(retrydelay)s
    WHERE w.realm = %(realm)s AND w.id = %(id)s AND w.step = %(step)s AND w.doneat IS NULL
      AND w.slice = %(slice)s AND w.app = %(app)s AND w.workflow = %(workflow)s AND w.attempt = %(attempt)s
      AND (w.leasedby IS NULL OR w.leasedby = %(worker)s::text
           OR (%(worker)s::text IS NOT NULL AND w.leaseuntil <= now()))
      AND NOT EXISTS (SELECT 1 FROM wfinstance o
                      WHERE o.realm = w.realm AND o.entityid = w.entityid AND o.workflow = w.workflow
                        AND o.slice = w.slice AND o.app = w.app AND o.id <> w.id)
      AND NOT EXISTS (SELECT 1 FROM wfinstance c WHERE c.parent = w.id)
    RETURNING """ + OPEN_COLUMNS + """
), """ + closing("closed", "outcome = %(outcome)s, worker = %(worker)s::text",
                 "h.id = (" + LATEST.format(realm="%(realm)s", wfid="%(id)s") + ") AND EXISTS (SELECT 1 FROM moved)"
                 ) + """, """ + opening("opened", "SELECT " + OPEN_COLUMNS + " FROM moved") + """
SELECT loggedat FROM moved
"""


def move_alone(conn, realm: str, row_id: int, key: tuple, step: str, outcome: str, task: str, *,
               attempt: int, entity: dict, worker: str | None = None,
               settings: Settings = NO_SETTINGS) -> dt.datetime | None:
    """Move a lone row from `step` (at `attempt`) to `task` (key: slice, app, workflow); the
    time it was handed out, or None when the row is not (or no longer) alone at that step and
    attempt, has a sub-workflow open, or is leased to another worker: nothing is written. One
    statement (its own transaction when run alone)."""
    slice_id, app, workflow = key
    params = {"realm": realm, "id": row_id, "step": step, "slice": slice_id, "app": app, "workflow": workflow,
              "outcome": outcome, "task": task, "attempt": attempt, "entity": entity_json(entity),
              "worker": worker, "timeout": settings[0], "attempts": settings[1], "retrydelay": settings[2]}
    row = conn.execute(MOVE_ALONE, params).fetchone()
    return None if row is None else row["loggedat"]


# ---- wfinstanceabort --------------------------------------------------------------------------

_ABORT = "WITH RECURSIVE " + _TREE.format(p="", seed="{seed}", aborted=aborted_instances("ended", "gone")) + """
SELECT id, slice, app, workflow, entityid FROM gone
"""
_SEED_BY_ROW = "SELECT w.id" + _ROWS_OF_INSTANCE
_SEED_BY_ENTITY = "SELECT id FROM wfinstance WHERE realm = %(realm)s AND entityid = %(entityid)s"
# Rows that appeared while the previous statement ran (a concurrent markdone replacing rows of
# a sub-workflow being deleted, a sub-workflow started under a row being deleted).
_SEED_AFTER = """SELECT w.id FROM wfinstance w
    WHERE w.realm = %(realm)s
      AND ((w.slice, w.app, w.workflow, w.entityid) IN
               (SELECT * FROM unnest(%(slices)s::int[], %(apps)s::text[], %(workflows)s::text[],
                                     %(entityids)s::text[]))
           OR w.parent = ANY(%(ids)s::bigint[]))"""


_LOCK_ENTITY = ("SELECT " + lock_sql("realm", "slice", "app", "workflow", "entityid") + """
    FROM (SELECT DISTINCT realm, slice, app, workflow, entityid FROM wfinstance
          WHERE realm = %(realm)s AND entityid = %(entityid)s ORDER BY slice, app, workflow) k""")


def abort(conn, realm: str, row_id: int | None = None, entityid: str | None = None) -> list[int]:
    """Delete the instance holding `row_id` (or every instance of `entityid`) with all its
    sub-workflows, closing their open history rows as aborted; return the deleted row ids.
    Runs several statements: call it in a transaction."""
    by_row = row_id is not None
    params = {"realm": realm, "id": row_id, "entityid": entityid}
    deleted: list[dict] = []
    # The named instances' locks first: their rows are then stable until the commit.
    conn.execute(LOCK_BY_ROW if by_row else _LOCK_ENTITY, params)
    batch = conn.execute(_ABORT.format(seed=_SEED_BY_ROW if by_row else _SEED_BY_ENTITY), params).fetchall()
    # Sub-workflows are not locked: repeat with what the deletions touched until a fresh
    # snapshot finds nothing more.
    while batch:
        deleted.extend(batch)
        after = {"realm": realm, "ids": [r["id"] for r in batch],
                 "slices": [r["slice"] for r in batch], "apps": [r["app"] for r in batch],
                 "workflows": [r["workflow"] for r in batch], "entityids": [r["entityid"] for r in batch]}
        batch = conn.execute(_ABORT.format(seed=_SEED_AFTER), after).fetchall()
    return sorted(r["id"] for r in deleted)


# ---- reads ------------------------------------------------------------------------------------

_LIST_FILTERS = {k: k for k in ("slice", "app", "workflow", "entityid", "parent")}
# Filters on the rows listed (after sub-workflow rows were added): true / false.
_STATE_FILTERS = {"incident": ("incident IS NOT NULL", "incident IS NULL"),
                  "overdue": ("dueat <= now()", "(dueat IS NULL OR dueat > now())")}


def list_instances(conn, realm: str, filters: dict, after: int | None = None,
                   limit: int | None = None) -> list[dict]:
    """The rows matching `filters` and, recursively, every row of their sub-workflows, by id;
    only ids above `after`, at most `limit` of them. `incident` and `overdue` (booleans) then
    keep the rows in (or not in) that state."""
    where, params = filter_clause("w", filters, _LIST_FILTERS)
    states = "".join(f" AND {_STATE_FILTERS[k][0 if filters[k] else 1]}"
                     for k in _STATE_FILTERS if filters.get(k) is not None)
    return conn.execute(
        f"""WITH RECURSIVE hit(id) AS (
                SELECT w.id FROM wfinstance w WHERE w.realm = %(realm)s{where}
                UNION
                SELECT c.id FROM wfinstance c JOIN hit h ON c.parent = h.id WHERE c.realm = %(realm)s
            )
            SELECT {INSTANCE_COLUMNS} FROM wfinstance
            WHERE realm = %(realm)s AND id IN (SELECT id FROM hit) AND id > %(after)s{states}
            ORDER BY id LIMIT %(limit)s""",
        {**params, "realm": realm, "after": after or 0, "limit": limit}).fetchall()


def get_row(conn, realm: str, row_id: int) -> dict | None:
    """One row as wfinstancelist shows it."""
    return conn.execute(f"SELECT {INSTANCE_COLUMNS} FROM wfinstance WHERE realm = %s AND id = %s",
                        (realm, row_id)).fetchone()


def history(conn, realm: str, *, wfid: int | None = None, entityid: str | None = None,
            workflow: str | None = None) -> list[dict]:
    """History rows of one wfid or of one entity (optionally of one workflow), oldest first."""
    column = "wfid" if wfid is not None else "entityid"
    query = f"SELECT {HISTORY_COLUMNS} FROM wfhistory WHERE realm = %(realm)s AND {column} = %(key)s"
    if workflow is not None:
        query += " AND workflow = %(workflow)s"
    return conn.execute(query + " ORDER BY id",
                        {"realm": realm, "key": wfid if wfid is not None else entityid,
                         "workflow": workflow}).fetchall()
