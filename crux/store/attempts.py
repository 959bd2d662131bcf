"""Attempts after the first (SPEC §8.2, §8.3): a new attempt of the same row, an incident, and
what expiry sweeps find.

One history row per attempt: a new attempt closes the open one (`timedout` when it expired,
`failed` when a worker or `wfinstanceretry` ended it) and opens the next with the same `wfid`.
`next_attempts` does this for any number of rows in one statement (an engine retries a whole
batch of expiries at once); an incident is a next attempt that waits (no deadline, not open to
claims) with the reason on the row.
"""
from __future__ import annotations

from dataclasses import dataclass

from crux.store.history import LATEST, OPEN_COLUMNS, closing, opening
from crux.store.instances import INSTANCE_COLUMNS, Settings, try_lock_sql


@dataclass
class NextAttempt:
    id: int
    step: str                           # the step and attempt ending: a row that has moved on
    attempt: int                        # meanwhile is left alone
    settings: Settings                  # the settings the new attempt starts with
    worker: str | None = None           # on the closed attempt's history row
    error: str | None = None
    incident: str | None = None         # the new attempt waits: this is why

    @classmethod
    def of(cls, row: dict, settings: Settings, worker: str | None = None, error: str | None = None,
           incident: str | None = None) -> NextAttempt:
        return cls(row["id"], row["step"], row["attempt"], settings, worker, error, incident)


_NEXT = """
WITH r AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(steps)s::text[], %(ending)s::int[], %(timeouts)s::int[],
                         %(attempts)s::int[], %(delays)s::int[], %(workers)s::text[], %(errors)s::text[],
                         %(incidents)s::text[])
        AS r(id, step, ending, timeout, maxattempts, retrydelay, worker, error, incident)
), upd AS (
    UPDATE wfinstance w
    SET attempt = w.attempt + 1, leasedby = NULL, leaseuntil = NULL, incident = r.incident,
        notbefore = CASE WHEN r.incident IS NULL AND r.retrydelay > 0
                         THEN now() + r.retrydelay * interval '1 second' END,
        dueat = CASE WHEN r.incident IS NULL
                     THEN now() + (r.retrydelay + r.timeout) * interval '1 second' END,
        maxattempts = r.maxattempts, timeout = r.timeout, retrydelay = r.retrydelay
    FROM r WHERE w.id = r.id AND w.doneat IS NULL AND w.step = r.step AND w.attempt = r.ending
    RETURNING """ + ", ".join("w." + c.strip() for c in OPEN_COLUMNS.split(",")) + """, w.notbefore, w.incident
), """ + closing("closed", "outcome = %(outcome)s, worker = r.worker, error = r.error",
                 "r.id = h.wfid AND h.id IN (SELECT (" + LATEST.format(realm="u.realm", wfid="u.id") + ") FROM upd u)",
                 using="r") + """, """ + opening("opened", "SELECT " + OPEN_COLUMNS.replace("loggedat", "now()")
                                                 + " FROM upd") + """, incidents AS (
    INSERT INTO wfevent (realm, kind, slice, app, class, workflow, entityid, wfid, step, attempt, parent, error)
    SELECT realm, 'incident', slice, app, class, workflow, entityid, id, step, attempt, parent, incident
    FROM upd WHERE incident IS NOT NULL
)
SELECT id, attempt, notbefore FROM upd ORDER BY id
"""


def next_attempts(conn, attempts: list[NextAttempt], outcome: str) -> list[dict]:
    """End the current attempt of each row (history `outcome`: timedout or failed) and start the
    next one: lease cleared, open after the retry delay with a fresh deadline, or waiting as an
    incident. One statement; the callers hold the rows' instance locks and row locks. A row not
    at the step and attempt given is left as it is. ->
    [{id, attempt, notbefore}] of the rows changed."""
    if not attempts:
        return []
    params = {"outcome": outcome, "ids": [a.id for a in attempts], "steps": [a.step for a in attempts],
              "ending": [a.attempt for a in attempts],
              "timeouts": [a.settings[0] for a in attempts], "attempts": [a.settings[1] for a in attempts],
              "delays": [a.settings[2] for a in attempts], "workers": [a.worker for a in attempts],
              "errors": [a.error for a in attempts], "incidents": [a.incident for a in attempts]}
    return conn.execute(_NEXT, params).fetchall()


def clear_incident(conn, realm: str, row_id: int) -> None:
    """The waiting attempt of an incident gets a fresh deadline (its own settings) and is open
    to claims again."""
    conn.execute("""UPDATE wfinstance SET incident = NULL, notbefore = NULL,
                           dueat = now() + timeout * interval '1 second'
                    WHERE realm = %s AND id = %s""", (realm, row_id))


# ---- expiry sweeps ----------------------------------------------------------------------------

# Due rows, soonest first, whose instance lock this transaction could take: another engine (or
# a report) holding it is working on that instance, and this sweep leaves it alone. The locks
# are held until the transaction ends. Only the first %(scan)s due rows are looked at, so the
# lock function runs on a bounded number of rows whatever plan is chosen.
_LOCK_DUE = """
SELECT d.id FROM (
    SELECT id, realm, slice, app, workflow, entityid FROM wfinstance
    WHERE expiresat <= now() ORDER BY expiresat LIMIT %(scan)s
) d
WHERE """ + try_lock_sql("d.realm", "d.slice", "d.app", "d.workflow", "d.entityid") + """
LIMIT %(batch)s
"""

# The due rows among those, read again under their instance locks (a fresh snapshot: what a
# report or another engine committed before the lock was taken is seen) and locked: a report's
# short way, which moves a lone row without the instance lock, waits for the sweep and then
# finds the row at its next attempt (and gives way to the locked way).
# The rows are found by id, and whether each is still due is answered beside it rather than
# tested in the WHERE clause: tested there, the planner may read the expiry index instead (its
# estimate of the rows due comes from statistics taken before the sweep's thousands fell due)
# and walk every due row of the sweep for each batch.
_DUE_ROWS = f"""
SELECT {INSTANCE_COLUMNS}, realm, maxattempts, timeout, retrydelay, expiresat <= now() AS due FROM wfinstance
WHERE id = ANY(%(ids)s::bigint[]) AND doneat IS NULL
ORDER BY id
FOR UPDATE
"""


def lock_due(conn, batch: int, scan: int | None = None) -> list[int]:
    """Ids of up to `batch` due rows (deadline passed, or lease lapsed) whose instances this
    transaction now holds locked."""
    return [r["id"] for r in conn.execute(_LOCK_DUE, {"batch": batch, "scan": scan or batch * 4})]


def due_rows(conn, ids: list[int]) -> list[dict]:
    """The rows of `ids` still due, locked (call after lock_due, in the same transaction)."""
    rows = conn.execute(_DUE_ROWS, {"ids": ids}).fetchall() if ids else []
    return [row for row in rows if row.pop("due")]

