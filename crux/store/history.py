"""SQL fragments that write history rows and their events together (SPEC §5 history, §8.2, §9.1).

Every statement that hands out a step, starts an attempt, closes one or ends an instance
writes `wfhistory` and appends the matching `wfevent` rows in the same statement, through
these fragments, so the two cannot disagree:

- every history row opened gives one `stepopened` (`opening`);
- every history row closed `done`, `failed` or `timedout` gives one `stepdone`, `stepfailed` or
  `steptimedout`; rows closed `aborted` (their instance ended or was removed) give none
  (`closing`);
- `started` once per wfinstancenew that stored rows, `done` once per instance that finished,
  `aborted` once per instance removed (`instance_event`, `aborted_instances`), `incident` when
  a row becomes one (crux/store/attempts.py).

The fragments are CTE texts to put inside a `WITH`; parameters use psycopg's %(name)s style.
"""
from __future__ import annotations

# What a history CTE returns, and what a step event is made of.
HISTORY_RETURNING = ("h.wfid, h.realm, h.entityid, h.slice, h.app, h.class, h.workflow, h.step, h.parent, "
                     "h.attempt, h.worker, h.error, h.outcome")
# The columns a CTE feeding `opening` must give.
OPEN_COLUMNS = "id, realm, entityid, slice, app, class, workflow, step, parent, attempt, loggedat"

# A wfid's open history row, if any, is its latest: steps and attempts of one row follow each other.
LATEST = "SELECT max(x.id) FROM wfhistory x WHERE x.realm = {realm} AND x.wfid = {wfid}"


def step_events(source: str, kind: str, where: str = "") -> str:
    """An INSERT of one event per row of CTE `source` (history rows as HISTORY_RETURNING gives
    them); `kind` is an SQL expression."""
    return f"""INSERT INTO wfevent (realm, kind, slice, app, class, workflow, entityid, wfid, step, attempt, parent,
                         worker, error)
        SELECT realm, {kind}, slice, app, class, workflow, entityid, wfid, step, attempt, parent, worker, error
        FROM {source}{where}"""


def opening(name: str, rows: str) -> str:
    """CTEs `{name}` and `{name}_ev`: an open history row for each row that `rows` (a SELECT of
    OPEN_COLUMNS, the ids being wfinstance ids) gives, and its `stepopened` event."""
    return f"""{name} AS (
        INSERT INTO wfhistory AS h (wfid, realm, entityid, slice, app, class, workflow, step, parent, attempt, loggedat)
        {rows}
        RETURNING {HISTORY_RETURNING}
    ), {name}_ev AS (
        {step_events(name, "'stepopened'")}
    )"""


def closing(name: str, sets: str, where: str, using: str = "") -> str:
    """CTEs `{name}` and `{name}_ev`: close the open history rows of `wfhistory h` that `where`
    selects (`using`: a FROM list joined in), setting `sets` (outcome, and worker and error if
    known) besides `closedat`; an event for each closed other than `aborted`."""
    return f"""{name} AS (
        UPDATE wfhistory h SET closedat = now(), {sets}
        {"FROM " + using if using else ""}
        WHERE ({where}) AND h.closedat IS NULL
        RETURNING {HISTORY_RETURNING}
    ), {name}_ev AS (
        {step_events(name, "'step' || outcome", " WHERE outcome <> 'aborted'")}
    )"""


def instance_event(name: str, kind: str, rows: str) -> str:
    """CTE `{name}`: a `kind` event (done, aborted) for each row of `rows`, a SELECT of realm,
    slice, app, class, workflow, entityid, parent."""
    return f"""{name} AS (
        INSERT INTO wfevent (realm, kind, slice, app, class, workflow, entityid, parent)
        SELECT realm, '{kind}', slice, app, class, workflow, entityid, parent FROM ({rows}) e
    )"""


def aborted_instances(name: str, gone: str) -> str:
    """CTE `{name}`: one `aborted` event per instance among the deleted rows of CTE `gone`
    (realm, slice, app, class, workflow, entityid, parent), unless this transaction already
    gave one for that instance (an abort repeats its deletion for rows that appeared meanwhile)."""
    return instance_event(name, "aborted", f"""
        SELECT DISTINCT g.realm, g.slice, g.app, g.class, g.workflow, g.entityid, g.parent FROM {gone} g
        WHERE NOT EXISTS (SELECT 1 FROM wfevent e
                          WHERE e.realm = g.realm AND e.xid = pg_current_xact_id() AND e.kind = 'aborted'
                            AND e.slice = g.slice AND e.app = g.app AND e.workflow = g.workflow
                            AND e.entityid = g.entityid)""")
