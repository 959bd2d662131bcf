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

KINDS = ("started", "stepopened", "stepdone", "stepfailed", "steptimedout", "incident", "done", "aborted",
         "changed")
INSTANCE_KINDS = KINDS[:-1]
