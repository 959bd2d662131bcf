"""Deleting old rows of the append-mostly tables: closed workflow history and the changelog.

Each batch is one short transaction deleting up to `limit` rows, so pruning a large backlog
never holds many locks or a long transaction; both tables have a BRIN index on their time.
"""
from __future__ import annotations

import datetime as dt

# A history row closed before the cutoff was handed out (logged) before it too; the loggedat
# condition lets the BRIN index find the candidates. Open steps are never pruned.
_OLD = {
    "wfhistory": "loggedat < %(before)s AND closedat < %(before)s",
    "changelog": "at < %(before)s",
}


def prune_batch(conn, table: str, before: dt.datetime, limit: int, realm: str | None = None) -> int:
    """Delete up to `limit` rows of `table` (wfhistory or changelog) older than `before`, of
    `realm` or of every realm; return how many."""
    realm_filter = "" if realm is None else " AND realm = %(realm)s"
    return conn.execute(
        f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {_OLD[table]}{realm_filter} "
        "LIMIT %(limit)s)", {"before": before, "limit": limit, "realm": realm}).rowcount
