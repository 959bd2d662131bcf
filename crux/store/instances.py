"""Workflow instances and their history (SPEC §1 `wfinstance`, `wfhistory`; §5).

An instance is the open rows of one (realm, slice, app, workflow, entityid). Every change to an
instance runs in one transaction that first takes the instance's advisory lock and then, in a
new statement (so a fresh snapshot sees what the previous holder committed), reads and locks
its rows. The lock makes `wfinstancenew`'s check-then-insert atomic and serialises calls on one
instance, so of several concurrent calls on sibling rows exactly one sees itself as the last.

The hot calls are pipelined: `wfinstancenew` is one round trip (lock, check-and-insert, commit);
`wfinstancemarkdone` is two (lock and read; then one write statement and the commit), with the
evaluation in between while the rows stay locked. Every step handed out opens a `wfhistory`
row in the same statement that writes the step; every step that ends closes it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from crux.store.filters import filter_clause

# The two-key advisory lock form has its own key space; this first key marks instance locks.
LOCK_CLASS = 7340

INSTANCE_COLUMNS = "id, entityid, slice, app, class, workflow, step, loggedat, doneat, nextstep, parent"
HISTORY_COLUMNS = "wfid, entityid, slice, app, class, workflow, step, parent, loggedat, closedat, outcome"


def _lock_sql(realm, slice_id, app, workflow, entityid) -> str:
    return (f"pg_advisory_xact_lock({LOCK_CLASS}, "
            f"hashtext(concat_ws('/', {realm}, {slice_id}, {app}, {workflow}, {entityid})))")


LOCK_BY_KEY = "SELECT " + _lock_sql("%(realm)s::text", "%(slice)s::int", "%(app)s::text",
                                     "%(workflow)s::text", "%(entityid)s::text")
LOCK_BY_ROW = ("SELECT " + _lock_sql("realm", "slice", "app", "workflow", "entityid")
               + " FROM wfinstance WHERE id = %(id)s AND realm = %(realm)s")


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
    INSERT INTO wfinstance (realm, entityid, slice, app, class, workflow, step, nextstep, parent)
    SELECT %(realm)s, %(entityid)s, %(slice)s, %(app)s, %(class)s, %(workflow)s, t.step,
           %(nextstep)s::text, %(parent)s::bigint
    FROM unnest(%(steps)s::text[]) WITH ORDINALITY AS t(step, n), chk
    WHERE NOT chk.taken AND chk.parent_ok
    ORDER BY t.n
    RETURNING id, realm, entityid, slice, app, class, workflow, step, parent, loggedat
), opened AS (
    INSERT INTO wfhistory (wfid, realm, entityid, slice, app, class, workflow, step, parent, loggedat)
    SELECT id, realm, entityid, slice, app, class, workflow, step, parent, loggedat FROM added
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
                 parent: int | None) -> PendingNew:
    """Store one row per step of a new instance, all with `nextstep` (the step itself when it is
    the only one), unless the entity already has one open (or the parent row is missing);
    `steps` empty only checks. key: slice, app, class, workflow, entityid. Takes the instance's
    lock first."""
    params = {**key, "realm": realm, "steps": steps, "nextstep": nextstep, "parent": parent}
    conn.execute(LOCK_BY_KEY, params)
    return PendingNew(conn.execute(NEW_INSTANCE, params))


# ---- wfinstancemarkdone -----------------------------------------------------------------------

# The rows `w` of the instance holding row %(id)s of the realm.
_ROWS_OF_INSTANCE = """
FROM wfinstance o
JOIN wfinstance w ON w.realm = o.realm AND w.entityid = o.entityid AND w.workflow = o.workflow
                 AND w.slice = o.slice AND w.app = o.app
WHERE o.id = %(id)s AND o.realm = %(realm)s"""

INSTANCE_ROWS = """
SELECT w.id, w.entityid, w.slice, w.app, w.class, w.workflow, w.step, w.loggedat, w.doneat,
       w.nextstep, w.parent, now() AS txtime,
       EXISTS (SELECT 1 FROM wfinstance c WHERE c.parent = w.id) AS has_subflows""" + _ROWS_OF_INSTANCE + """
ORDER BY w.id
FOR UPDATE OF w
"""

# Deleting a tree of rows: the seeds and, recursively, every sub-workflow row started from them
# (a sub-workflow's rows all carry the parent step's row id), closing their open history rows as
# aborted. Rows are locked in id order first, so two deletions of overlapping trees do not
# deadlock. `{p}` names the CTEs (several trees can go in one statement); needs WITH RECURSIVE.
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
    RETURNING w.id, w.slice, w.app, w.workflow, w.entityid
), {p}closed AS (
    UPDATE wfhistory h SET closedat = now(), outcome = 'aborted'
    FROM {p}gone g WHERE h.realm = %(realm)s AND h.wfid = g.id AND h.closedat IS NULL
)"""


def _subflows_of(rows_sql: str) -> str:
    """The CTEs ending every sub-workflow started from the rows whose ids `rows_sql` gives (an
    array): a step's sub-workflows end when the step does."""
    return _TREE.format(p="sub_", seed="SELECT c.id FROM wfinstance c WHERE c.realm = %(realm)s AND c.parent = ANY("
                        + rows_sql + ")")


# A wfid's open history row, if any, is its latest: steps of one row follow each other.
_LATEST_HISTORY = "SELECT max(h.id) FROM wfhistory h WHERE h.realm = %(realm)s AND h.wfid = {wfid}"

# Every change markdone makes, in one statement; each part is a no-op when its input is empty.
# History: the reported row's open history row closes with its outcome, any other row leaving
# with its history still open closes as aborted; every step handed out opens a new one.
# Sub-workflows still open under a row whose step ends (`close`) are aborted with it; the rows
# read say whether any has one (usually none: the statement then leaves that part out).
APPLY_CHANGE = """
WITH RECURSIVE {subflows} closed AS (
    UPDATE wfhistory SET closedat = now(),
           outcome = CASE WHEN wfid = %(reported)s::bigint THEN %(outcome)s::text ELSE 'aborted' END
    WHERE id IN (SELECT (""" + _LATEST_HISTORY.format(wfid="c.wfid") + """)
                 FROM unnest(%(close)s::bigint[]) AS c(wfid))
      AND closedat IS NULL
), marked AS (
    UPDATE wfinstance SET doneat = now() WHERE realm = %(realm)s AND id = %(mark)s::bigint
), gone AS (
    DELETE FROM wfinstance WHERE realm = %(realm)s AND id = ANY(%(delete)s::bigint[])
), moved AS (
    UPDATE wfinstance SET step = %(movestep)s::text, nextstep = %(movenext)s::text, doneat = NULL,
                          loggedat = now()
    WHERE realm = %(realm)s AND id = %(move)s::bigint
    RETURNING id, step
), added AS (
    INSERT INTO wfinstance (realm, entityid, slice, app, class, workflow, step, nextstep, parent)
    SELECT %(realm)s, %(entityid)s, %(slice)s, %(app)s, %(class)s, %(workflow)s, t.step,
           %(addnext)s::text, %(parent)s::bigint
    FROM unnest(%(add)s::text[]) WITH ORDINALITY AS t(step, n)
    ORDER BY t.n
    RETURNING id, step
), handed AS (
    SELECT id, step FROM moved UNION ALL SELECT id, step FROM added
), opened AS (
    INSERT INTO wfhistory (wfid, realm, entityid, slice, app, class, workflow, step, parent)
    SELECT id, %(realm)s, %(entityid)s, %(slice)s, %(app)s, %(class)s, %(workflow)s, step,
           %(parent)s::bigint
    FROM handed
)
SELECT id, step FROM handed
"""
_APPLY = {False: APPLY_CHANGE.format(subflows=""),
          True: APPLY_CHANGE.format(subflows=_subflows_of("%(close)s::bigint[]") + ",")}


@dataclass
class Change:
    """What one markdone does to an instance (see APPLY_CHANGE)."""
    reported: int
    outcome: str                                   # done | failed
    close: list[int] = field(default_factory=list)
    mark: int | None = None                        # set doneat (a sibling still waits)
    delete: list[int] = field(default_factory=list)
    move: int | None = None                        # row updated in place to movestep
    movestep: str | None = None
    movenext: str | None = None
    add: list[str] = field(default_factory=list)   # one new row per step
    addnext: str | None = None


class LockedInstance:
    """The rows of one instance, locked until the transaction ends (oldest first)."""

    def __init__(self, conn, realm: str, rows: list[dict]):
        self.conn, self.realm, self.rows = conn, realm, rows
        self._cursor = None

    @property
    def now(self) -> dt.datetime:
        """The transaction's time: what `doneat`, `loggedat` and `closedat` are set to."""
        return self.rows[0]["txtime"]

    def apply(self, change: Change) -> None:
        """Queue the change; it is sent with the commit. `handed_ids` reads what it handed out."""
        row = self.rows[0]
        params = {"realm": self.realm, **{k: row[k] for k in ("entityid", "slice", "app", "class",
                                                               "workflow", "parent")},
                  **change.__dict__}
        subflows = any(r["has_subflows"] for r in self.rows if r["id"] in change.close)
        self._cursor = self.conn.execute(_APPLY[subflows], params)

    def handed_ids(self) -> dict[str, int]:
        """step -> id of the rows `apply` moved or inserted (after the transaction has ended)."""
        return {} if self._cursor is None else {r["step"]: r["id"] for r in self._cursor.fetchall()}


def lock_instance(conn, realm: str, row_id: int) -> LockedInstance:
    """The instance holding row `row_id`, locked until the transaction ends (rows empty when
    there is no such row in the realm). In a pipelined unit of work: one round trip to lock and
    read; the writes then go with the commit."""
    params = {"realm": realm, "id": row_id}
    conn.execute(LOCK_BY_ROW, params)
    return LockedInstance(conn, realm, conn.execute(INSTANCE_ROWS, params).fetchall())


# ---- wfinstancemarkdone of a row known to be alone in its instance -----------------------------

# One statement, so one transaction: the row moves to its next step only if it is still alone in
# its instance at the step the evaluation assumed, not done, and has no sub-workflow open (the
# locked way ends those with the step). Any concurrent change to a lone
# row's instance updates or deletes that row, and the UPDATE re-checks its conditions on the
# row's latest version once the other transaction ends, so a lost race writes nothing.
MOVE_ALONE = """
WITH moved AS (
    UPDATE wfinstance w SET step = %(task)s, nextstep = %(task)s, loggedat = now()
    WHERE w.realm = %(realm)s AND w.id = %(id)s AND w.step = %(step)s AND w.doneat IS NULL
      AND w.slice = %(slice)s AND w.app = %(app)s AND w.workflow = %(workflow)s
      AND NOT EXISTS (SELECT 1 FROM wfinstance o
                      WHERE o.realm = w.realm AND o.entityid = w.entityid AND o.workflow = w.workflow
                        AND o.slice = w.slice AND o.app = w.app AND o.id <> w.id)
      AND NOT EXISTS (SELECT 1 FROM wfinstance c WHERE c.parent = w.id)
    RETURNING id, realm, entityid, slice, app, class, workflow, step, parent, loggedat
), closed AS (
    UPDATE wfhistory SET closedat = now(), outcome = %(outcome)s
    WHERE id = (""" + _LATEST_HISTORY.format(wfid="%(id)s") + """) AND closedat IS NULL
      AND EXISTS (SELECT 1 FROM moved)
)
INSERT INTO wfhistory (wfid, realm, entityid, slice, app, class, workflow, step, parent, loggedat)
SELECT id, realm, entityid, slice, app, class, workflow, step, parent, loggedat FROM moved
RETURNING loggedat
"""


def move_alone(conn, realm: str, row_id: int, key: tuple, step: str, outcome: str,
               task: str) -> dt.datetime | None:
    """Move a lone row from `step` to `task` (key: slice, app, workflow); the time it was
    handed out, or None when the row is not (or no longer) alone at `step`, or has a sub-workflow
    open: nothing is written. One statement (its own transaction when run alone)."""
    slice_id, app, workflow = key
    params = {"realm": realm, "id": row_id, "step": step, "slice": slice_id, "app": app, "workflow": workflow,
              "outcome": outcome, "task": task}
    row = conn.execute(MOVE_ALONE, params).fetchone()
    return None if row is None else row["loggedat"]


# ---- wfinstanceabort --------------------------------------------------------------------------

_ABORT = "WITH RECURSIVE " + _TREE.format(p="", seed="{seed}") + """
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


_LOCK_ENTITY = ("SELECT " + _lock_sql("realm", "slice", "app", "workflow", "entityid") + """
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


def list_instances(conn, realm: str, filters: dict, after: int | None = None,
                   limit: int | None = None) -> list[dict]:
    """The rows matching `filters` and, recursively, every row of their sub-workflows, by id;
    only ids above `after`, at most `limit` of them."""
    where, params = filter_clause("w", filters, _LIST_FILTERS)
    return conn.execute(
        f"""WITH RECURSIVE hit(id) AS (
                SELECT w.id FROM wfinstance w WHERE w.realm = %(realm)s{where}
                UNION
                SELECT c.id FROM wfinstance c JOIN hit h ON c.parent = h.id WHERE c.realm = %(realm)s
            )
            SELECT {INSTANCE_COLUMNS} FROM wfinstance
            WHERE realm = %(realm)s AND id IN (SELECT id FROM hit) AND id > %(after)s
            ORDER BY id LIMIT %(limit)s""",
        {**params, "realm": realm, "after": after or 0, "limit": limit}).fetchall()


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
