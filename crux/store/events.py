"""Events (SPEC §9): the append-only `wfevent` table and the marks that order it by commit.

Writing: every statement that makes an instance transition appends its events in the same
statement (a CTE `INSERT INTO wfevent ... SELECT ... FROM <the rows it changed>`), and the unit of
work appends a `changed` event with every changelog row (crux/store/changes.py). A row's `xid`
(the writing transaction) and `id` are filled in by their defaults; `at` is the transaction time.

What each kind carries (other fields null):
    started       slice app class workflow entityid parent, tasks [{"<task>": <row id>}]  (one per wfinstancenew)
    stepopened    slice app class workflow entityid wfid step attempt parent   (a row handed out, or a new attempt)
    stepdone      ... wfid step attempt worker                                 (a history row closed done)
    stepfailed    ... wfid step attempt worker error                           (closed failed)
    steptimedout  ... wfid step attempt worker                                 (closed timedout)
    incident      ... wfid step attempt error                                  (a row became an incident)
    done          slice app class workflow entityid parent                     (an instance finished)
    aborted       slice app class workflow entityid parent                     (each instance removed)
    changed       table key op                                                 (a changelog row)
"""
from __future__ import annotations

# a cursor at the end of a mark: every event of that mark has been read
MARK_END = 2**63 - 1

KINDS = ("started", "stepopened", "stepdone", "stepfailed", "steptimedout", "incident", "done", "aborted",
         "changed")
INSTANCE_KINDS = KINDS[:-1]

EVENT_COLUMNS = ("id", "at", "kind", "realm", "slice", "app", "class", "workflow", "entityid", "wfid", "step",
                 "attempt", "parent", "worker", "error", "tasks", "table", "key", "op")
_SELECT_EVENT = ", ".join(f'e."{c}"' for c in EVENT_COLUMNS)

# The events of mark `m`: written by a transaction that is completed in the mark's snapshot and
# was not in the realm's mark before (`prev`). Such a transaction's id is either at or after
# prev's xmax, or one of those prev saw running (xip); both conditions can use the index on
# (realm, xid), and the visibility functions then decide exactly.
IN_MARK = """e.realm = {m}.realm
      AND ((e.xid >= pg_snapshot_xmax({m}.prev) AND e.xid < pg_snapshot_xmax({m}.snap))
           OR e.xid = ANY(ARRAY(SELECT pg_snapshot_xip({m}.prev))))
      AND pg_visible_in_snapshot(e.xid, {m}.snap) AND NOT pg_visible_in_snapshot(e.xid, {m}.prev)"""

# A realm's first mark starts from a snapshot in which no transaction is completed.
NOTHING = "'1:1:'::pg_snapshot"

# A new mark of the realm, if any event of the realm committed since its last mark. Run it in its
# own statement after taking the realm's mark lock: its snapshot is then taken after the last
# mark committed, so marks follow each other.
TAKE_MARK = f"""
WITH m AS (
    SELECT %(realm)s::text AS realm, pg_current_snapshot() AS snap,
           coalesce((SELECT snap FROM wfeventmark WHERE realm = %(realm)s ORDER BY pos DESC LIMIT 1), {NOTHING})
               AS prev
)
INSERT INTO wfeventmark (realm, snap, prev)
SELECT m.realm, m.snap, m.prev FROM m
WHERE EXISTS (SELECT 1 FROM wfevent e WHERE {IN_MARK.format(m="m")})
RETURNING pos"""


def mark_lock_key(realm: str) -> tuple:
    """The advisory lock serialising the marks of a realm."""
    return ("eventmark", realm)


def take_mark(conn, realm: str) -> int | None:
    """A new mark of the realm (its position) if events committed since the last one; call it in
    a transaction holding `mark_lock_key(realm)`."""
    row = conn.execute(TAKE_MARK, {"realm": realm}).fetchone()
    return None if row is None else row["pos"]


def last_mark(conn, realm: str) -> int:
    """The position of the realm's latest mark (0: none yet)."""
    row = conn.execute("SELECT max(pos) AS pos FROM wfeventmark WHERE realm = %s", (realm,)).fetchone()
    return row["pos"] or 0


def pruned_to(conn, realm: str) -> tuple[int, int]:
    """(mark, id) up to which the realm's events were pruned; (0, 0) when none were."""
    row = conn.execute("SELECT pos, id FROM wfeventpruned WHERE realm = %s", (realm,)).fetchone()
    return (0, 0) if row is None else (row["pos"], row["id"])


def _filters(filters: dict) -> tuple[str, dict]:
    parts, params = [], {}
    if filters.get("kinds"):
        parts.append("e.kind = ANY(%(kinds)s)")
        params["kinds"] = list(filters["kinds"])
    for key in ("app", "workflow", "entityid"):
        if filters.get(key) is not None:
            parts.append(f"e.{key} = %({key})s")
            params[key] = filters[key]
    return "".join(" AND " + p for p in parts), params


def read_events(conn, realm: str, after: tuple[int, int], limit: int, filters: dict,
                upto: tuple[int, int] | None = None) -> list[dict]:
    """Up to `limit` events of the realm after the cursor `after` = (mark, id) in commit order
    (mark by mark; by id within a mark), each with its `pos` (mark), matching `filters` (kinds,
    app, workflow, entityid) and, with `upto`, not after it."""
    where, params = _filters(filters)
    bound = ""
    if upto is not None:
        bound = " AND (m.pos < %(upto_pos)s OR (m.pos = %(upto_pos)s AND e.id <= %(upto_id)s))"
        params.update(upto_pos=upto[0], upto_id=upto[1])
    # Marks in order, each mark's events in id order (an incremental sort on the presorted mark
    # position), so a page reads only as many marks as it needs.
    return conn.execute(
        f"""SELECT m.pos, {_SELECT_EVENT}
            FROM wfeventmark m
            CROSS JOIN LATERAL (
                SELECT e.* FROM wfevent e
                WHERE {IN_MARK.format(m="m")}
                  AND (m.pos > %(pos)s OR e.id > %(id)s){where}
                ORDER BY e.id LIMIT %(limit)s) e
            WHERE m.realm = %(realm)s AND m.pos >= %(pos)s{bound}
            ORDER BY m.pos, e.id LIMIT %(limit)s""",
        {"realm": realm, "pos": after[0], "id": after[1], "limit": limit, **params}).fetchall()


def prune_marks(conn, before, limit: int, realm: str | None = None) -> tuple[int, int]:
    """Delete the events of up to `limit` whole marks taken before `before` (of `realm`, or of
    every realm), oldest first, and those marks; record per realm how far its stream was pruned.
    Returns how many marks and events were deleted."""
    realm_filter = "" if realm is None else " AND realm = %(realm)s"
    marks = conn.execute(
        f"""DELETE FROM wfeventmark WHERE (realm, pos) IN (
                SELECT realm, pos FROM wfeventmark WHERE at < %(before)s{realm_filter} ORDER BY pos LIMIT %(limit)s)
            RETURNING realm, pos, snap, prev""", {"before": before, "limit": limit, "realm": realm}).fetchall()
    if not marks:
        return 0, 0
    gone = conn.execute(
        f"""WITH m AS (SELECT * FROM unnest(%(realms)s::text[], %(pos)s::bigint[], %(snaps)s::pg_snapshot[],
                                            %(prevs)s::pg_snapshot[]) AS m(realm, pos, snap, prev))
            DELETE FROM wfevent e USING m WHERE {IN_MARK.format(m="m")}
            RETURNING m.realm, m.pos, e.id""",
        {"realms": [m["realm"] for m in marks], "pos": [m["pos"] for m in marks],
         "snaps": [str(m["snap"]) for m in marks], "prevs": [str(m["prev"]) for m in marks]}).fetchall()
    # per realm: its last pruned mark, and the last event of it (a cursor there lost nothing)
    last: dict[str, tuple[int, int]] = {}
    for m in marks:
        last[m["realm"]] = max(last.get(m["realm"], (0, 0)), (m["pos"], 0))
    for e in gone:
        if (e["pos"], 0) == (last[e["realm"]][0], 0):
            last[e["realm"]] = max(last[e["realm"]], (e["pos"], e["id"]))
    conn.execute(
        """INSERT INTO wfeventpruned (realm, pos, id)
           SELECT * FROM unnest(%(realms)s::text[], %(pos)s::bigint[], %(ids)s::bigint[])
           ON CONFLICT (realm) DO UPDATE SET pos = excluded.pos, id = excluded.id
               WHERE (excluded.pos, excluded.id) > (wfeventpruned.pos, wfeventpruned.id)""",
        {"realms": list(last), "pos": [p for p, _ in last.values()], "ids": [i for _, i in last.values()]})
    deleted = len(gone)
    return len(marks), deleted
