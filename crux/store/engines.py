"""Engine processes (SPEC §8.5): the `wfengine` table, beats, and what /metrics counts.

An engine is `dead` when its last beat is older than three of its beats. Every engine marks
the others it finds so at each beat; readers show the same judgement for engines nobody is
left to mark (`EFFECTIVE_STATUS`).
"""
from __future__ import annotations

ENGINE_COLUMNS = "id, name, host, pid, version, startedat, lastbeat"
EFFECTIVE_STATUS = ("CASE WHEN status = 'active' AND lastbeat < now() - 3 * beat * interval '1 second' "
                    "THEN 'dead' ELSE status END")


def register(conn, name: str, host: str, pid: int, version: str, beat: int) -> dict:
    return conn.execute(f"""INSERT INTO wfengine (name, host, pid, version, beat) VALUES (%s, %s, %s, %s, %s)
                            RETURNING {ENGINE_COLUMNS}, status""", (name, host, pid, version, beat)).fetchone()


def beat(conn, engine_id: int, retried: int, failed: int, incidents: int) -> int:
    """Record a beat of engine `engine_id` (adding the expiries it handled since its last beat),
    and mark engines that missed three beats dead; how many were marked."""
    conn.execute("""UPDATE wfengine SET lastbeat = now(), status = 'active', retried = retried + %s,
                           failed = failed + %s, incidents = incidents + %s
                    WHERE id = %s AND status <> 'stopped'""", (retried, failed, incidents, engine_id))
    return conn.execute("""UPDATE wfengine SET status = 'dead'
                           WHERE status = 'active' AND lastbeat < now() - 3 * beat * interval '1 second'
                             AND id <> %s""", (engine_id,)).rowcount


def stop(conn, engine_id: int, retried: int, failed: int, incidents: int) -> None:
    conn.execute("""UPDATE wfengine SET lastbeat = now(), status = 'stopped', retried = retried + %s,
                           failed = failed + %s, incidents = incidents + %s WHERE id = %s""",
                 (retried, failed, incidents, engine_id))


def engines(conn) -> list[dict]:
    """Engines active now, and those that stopped or died within a day, newest first."""
    return conn.execute(f"""SELECT {ENGINE_COLUMNS}, {EFFECTIVE_STATUS} AS status FROM wfengine
                            WHERE status = 'active' OR lastbeat > now() - interval '1 day'
                            ORDER BY id DESC""").fetchall()


def gauges(conn) -> dict:
    """What /metrics reports from the database: active engines, overdue steps, incidents, and
    the expiries handled by every engine that ever ran, by outcome."""
    return conn.execute(f"""
        SELECT (SELECT count(*) FROM wfengine WHERE {EFFECTIVE_STATUS} = 'active') AS engines,
               (SELECT count(*) FROM wfinstance WHERE expiresat <= now() AND dueat <= now()) AS overdue,
               (SELECT count(*) FROM wfinstance WHERE incident IS NOT NULL) AS incidents,
               coalesce(sum(retried), 0) AS retried, coalesce(sum(failed), 0) AS failed,
               coalesce(sum(incidents), 0) AS incident_expiries
        FROM wfengine""").fetchone()
