"""Worker leases (SPEC §8.4): claims, heartbeats, and the workers seen.

A claim leases the oldest open rows of a realm that match its filters, in id order, with
`FOR UPDATE SKIP LOCKED`: rows another claim (or a report, or an engine) has locked are passed
over, never waited for, so concurrent claims never share a row and never queue behind each
other. The partial index `wfinstance_claim` (realm, id) holds the rows not leased and not in an
incident, so a claim reads the head of the backlog whatever its size; rows waiting for a join,
for their retry delay or for an engine to end their expired attempt are skipped as met.

A claim or heartbeat holds row locks without the instance's advisory lock; it never waits for
anything while holding them (SKIP LOCKED; a heartbeat locks one row), so it cannot take part in
a lock cycle with reports and engines, which take the advisory lock first.
"""
from __future__ import annotations

import datetime as dt

DEFAULT_LEASE = 300     # seconds, for a step without a timeout

_CLAIMED = ("id, entityid, slice, app, class, workflow, step, attempt, entity, dueat, leaseuntil, parent, "
            "loggedat")

_SEEN = """seen AS (
    INSERT INTO wfworker AS k (realm, name) VALUES (%(realm)s, %(worker)s)
    ON CONFLICT (realm, name) DO UPDATE SET lastseen = now()
)"""

_CLAIM = """
WITH picked AS (
    SELECT id FROM wfinstance
    WHERE realm = %(realm)s AND leasedby IS NULL AND incident IS NULL AND doneat IS NULL
      AND (notbefore IS NULL OR notbefore <= now()) AND (dueat IS NULL OR dueat > now()){filters}
    ORDER BY id
    LIMIT %(max)s
    FOR UPDATE SKIP LOCKED
), leased AS (
    UPDATE wfinstance w
    SET leasedby = %(worker)s,
        leaseuntil = now() + coalesce(%(lease)s::int, w.timeout, """ + str(DEFAULT_LEASE) + """) * interval '1 second'
    FROM picked p WHERE w.id = p.id
    RETURNING """ + ", ".join("w." + c for c in _CLAIMED.split(", ")) + """
){seen}
SELECT """ + _CLAIMED + """ FROM leased ORDER BY id
"""
_CLAIM_FILTERS = {"steps": " AND step = ANY(%(steps)s)", "app": " AND app = %(app)s",
                  "workflow": " AND workflow = %(workflow)s", "slice": " AND slice = %(slice)s"}


def claim(conn, realm: str, worker: str, most: int, lease: int | None, filters: dict,
          seen: bool = True) -> list[dict]:
    """Lease up to `most` open rows of the realm matching `filters` (steps, app, workflow, slice)
    to `worker` for `lease` seconds (None: each row's step timeout, else DEFAULT_LEASE), oldest
    first; the rows as a claim answers them. With `seen`, records the worker as seen (a waiting
    claim does it at its first look only, not at every poll)."""
    where = "".join(sql for key, sql in _CLAIM_FILTERS.items() if filters.get(key) is not None)
    return conn.execute(_CLAIM.format(filters=where, seen=", " + _SEEN if seen else ""),
                        {"realm": realm, "worker": worker, "max": most, "lease": lease,
                         **{k: filters.get(k) for k in _CLAIM_FILTERS}}).fetchall()


_HEARTBEAT = """
WITH beat AS (
    UPDATE wfinstance w
    SET leaseuntil = now() + coalesce(%(lease)s::int, w.timeout, """ + str(DEFAULT_LEASE) + """) * interval '1 second'
    WHERE w.realm = %(realm)s AND w.id = %(id)s AND w.leasedby = %(worker)s AND w.leaseuntil > now()
      AND w.doneat IS NULL
    RETURNING w.id, w.leaseuntil
), """ + _SEEN + """
SELECT b.id, b.leaseuntil, (SELECT EXISTS (SELECT 1 FROM wfinstance WHERE realm = %(realm)s AND id = %(id)s)) AS found
FROM (SELECT 1) one LEFT JOIN beat b ON true
"""


def heartbeat(conn, realm: str, row_id: int, worker: str, lease: int | None) -> tuple[bool, dt.datetime | None]:
    """Extend `worker`'s live lease of a row -> (the row exists, the new leaseuntil or None when
    the row is not under a live lease of that worker). Records the worker as seen."""
    row = conn.execute(_HEARTBEAT, {"realm": realm, "id": row_id, "worker": worker, "lease": lease}).fetchone()
    return row["found"], row["leaseuntil"]


def workers(conn, realm: str) -> list[dict]:
    """Workers of the realm seen within a day, with how many live leases each holds."""
    # leased rows all have an `expiresat`: the expiry index finds them
    return conn.execute(
        """WITH live AS (
               SELECT leasedby AS name, count(*) AS n FROM wfinstance
               WHERE realm = %(realm)s AND expiresat IS NOT NULL AND leaseuntil > now() GROUP BY leasedby
           )
           SELECT k.name, k.lastseen, coalesce(l.n, 0) AS leases
           FROM wfworker k LEFT JOIN live l ON l.name = k.name
           WHERE k.realm = %(realm)s AND k.lastseen > now() - interval '1 day'
           ORDER BY k.name""", {"realm": realm}).fetchall()
