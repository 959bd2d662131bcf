"""Webhooks (SPEC §9.3 `webhook`): what each one wants, and how far its delivery has come."""
from __future__ import annotations

from crux.store.events import IN_MARK, MARK_END, NOTHING

WEBHOOK_COLUMNS = """w.name, w.url, w.kinds, w.app, w.workflow, w.createdat, w.createdby,
    w.lastattempt, w.lasterror, w.failures"""
_FIELDS = ("url", "kinds", "app", "workflow", "secret")


def get_webhook(conn, realm: str, name: str, lock: bool = False) -> dict | None:
    return conn.execute(f"SELECT {WEBHOOK_COLUMNS}, w.secret IS NOT NULL AS signed FROM webhook w "
                        "WHERE w.realm = %s AND w.name = %s" + (" FOR UPDATE" if lock else ""),
                        (realm, name)).fetchone()


def insert_webhook(conn, realm: str, name: str, fields: dict, start: tuple[int, int], who: str) -> dict:
    """A webhook whose delivery starts after the stream position `start`."""
    return conn.execute(
        f"""INSERT INTO webhook AS w (realm, name, url, kinds, app, workflow, secret, createdby, pos, eventid)
            VALUES (%(realm)s, %(name)s, %(url)s, %(kinds)s, %(app)s, %(workflow)s, %(secret)s, %(who)s,
                    %(pos)s, %(eventid)s)
            RETURNING {WEBHOOK_COLUMNS}, w.secret IS NOT NULL AS signed""",
        {"realm": realm, "name": name, **{k: fields.get(k) for k in _FIELDS}, "who": who,
         "pos": start[0], "eventid": start[1]}).fetchone()


def update_webhook(conn, realm: str, name: str, fields: dict, who: str) -> dict | None:
    """Change the given fields (keys of `fields`; a None value clears a filter or the secret)."""
    sets = "".join(f", {k} = %({k})s" for k in _FIELDS if k in fields)
    return conn.execute(
        f"""UPDATE webhook w SET editedat = now(), editedby = %(who)s{sets}
            WHERE w.realm = %(realm)s AND w.name = %(name)s
            RETURNING {WEBHOOK_COLUMNS}, w.secret IS NOT NULL AS signed""",
        {"realm": realm, "name": name, "who": who, **{k: fields[k] for k in _FIELDS if k in fields}}).fetchone()


def delete_webhook(conn, realm: str, name: str) -> dict | None:
    return conn.execute(f"DELETE FROM webhook w WHERE w.realm = %s AND w.name = %s "
                        f"RETURNING {WEBHOOK_COLUMNS}, w.secret IS NOT NULL AS signed", (realm, name)).fetchone()


def list_webhooks(conn, realm: str) -> list[dict]:
    """The realm's webhooks, each with `pending`: the marked events after its position that it wants."""
    return conn.execute(
        f"""SELECT {WEBHOOK_COLUMNS},
                   (SELECT count(*) FROM wfeventmark m
                    JOIN LATERAL (SELECT 1 FROM wfevent e
                                  WHERE {IN_MARK.format(m="m")} AND (m.pos > w.pos OR e.id > w.eventid)
                                    AND (w.kinds IS NULL OR e.kind = ANY(w.kinds))
                                    AND (w.app IS NULL OR e.app = w.app)
                                    AND (w.workflow IS NULL OR e.workflow = w.workflow)) e ON true
                    WHERE m.realm = w.realm AND m.pos >= w.pos) AS pending
            FROM webhook w WHERE w.realm = %s ORDER BY w.name""", (realm,)).fetchall()


# ---- delivery (engines) -----------------------------------------------------------------------

# A webhook is worth holding when it has a batch to send again, or its position is not at the end
# of its realm's latest mark, or events of its realm committed since that mark. One that has read
# everything (its position moved to the end of the latest mark, `MARK_END`) is passed over with a
# read: an idle webhook costs no write, however often engines look.
_CLAIM_DUE = f"""
UPDATE webhook w SET leasedby = %(owner)s, leaseuntil = now() + make_interval(secs => %(lease)s)
WHERE w.id = (
    SELECT h.id FROM webhook h
    LEFT JOIN LATERAL (SELECT pos, snap FROM wfeventmark WHERE realm = h.realm ORDER BY pos DESC LIMIT 1) last
        ON true
    WHERE h.nextattempt <= now() AND (h.leaseuntil IS NULL OR h.leaseuntil < now())
      AND (h.batch IS NOT NULL OR h.eventid <> {MARK_END} OR h.pos < coalesce(last.pos, 0)
           OR EXISTS (SELECT 1 FROM (SELECT h.realm AS realm, pg_current_snapshot() AS snap,
                                            coalesce(last.snap, {NOTHING}) AS prev) m
                      JOIN wfevent e ON {IN_MARK.format(m="m")}))
    ORDER BY h.nextattempt LIMIT 1
    FOR UPDATE OF h SKIP LOCKED)
RETURNING w.id, w.realm, w.name, w.url, w.kinds, w.app, w.workflow, w.secret, w.pos, w.eventid,
          w.batch, w.batchpos, w.batchevent, w.failures"""


def claim_due(conn, owner: str, lease_seconds: float) -> dict | None:
    """Hold the webhook that has waited longest for its next attempt, is not held by another
    engine (or whose holder's lease lapsed: it died mid-delivery) and may have something to send,
    until the lease ends; None when none is. One statement: two engines never hold one webhook."""
    return conn.execute(_CLAIM_DUE, {"owner": owner, "lease": lease_seconds}).fetchone()


def start_batch(conn, webhook_id: int, owner: str, batch: str, last: tuple[int, int]) -> bool:
    """Record the batch about to be sent (its delivery id and last event), while still held."""
    return conn.execute(
        """UPDATE webhook SET batch = %s, batchpos = %s, batchevent = %s
           WHERE id = %s AND leasedby = %s""", (batch, last[0], last[1], webhook_id, owner)).rowcount == 1


def finish(conn, webhook_id: int, owner: str, *, acked: tuple[int, int] | None, error: str | None,
           retry_in: float, attempted: bool) -> None:
    """Let the webhook go: with `acked`, its position moves there and the batch is done (failures
    reset); with `error`, the failure is counted and the next attempt waits `retry_in` seconds;
    with neither, nothing was due. Nothing happens when the lease was lost meanwhile."""
    conn.execute(
        """UPDATE webhook SET leasedby = NULL, leaseuntil = NULL,
                  nextattempt = now() + make_interval(secs => %(retry)s),
                  lastattempt = CASE WHEN %(attempted)s THEN now() ELSE lastattempt END,
                  pos = coalesce(%(pos)s, pos), eventid = coalesce(%(eventid)s, eventid),
                  batch = CASE WHEN %(pos)s::bigint IS NULL THEN batch END,
                  batchpos = CASE WHEN %(pos)s::bigint IS NULL THEN batchpos END,
                  batchevent = CASE WHEN %(pos)s::bigint IS NULL THEN batchevent END,
                  failures = CASE WHEN %(error)s::text IS NOT NULL THEN failures + 1
                                  WHEN %(attempted)s THEN 0 ELSE failures END,
                  lasterror = CASE WHEN %(error)s::text IS NOT NULL THEN %(error)s
                                   WHEN %(attempted)s THEN NULL ELSE lasterror END
           WHERE id = %(id)s AND leasedby = %(owner)s""",
        {"id": webhook_id, "owner": owner, "retry": retry_in, "attempted": attempted, "error": error,
         "pos": None if acked is None else acked[0], "eventid": None if acked is None else acked[1]})


def batch_filters(hook: dict) -> dict:
    return {"kinds": hook["kinds"], "app": hook["app"], "workflow": hook["workflow"]}

