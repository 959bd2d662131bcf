"""Attempts, failures without a report, incidents and expiries (SPEC §8.3, §8.4).

    wfstepfail {id, worker?, error, retry?}    a worker gives up on an attempt
    wfinstanceretry {id}                       someone acts on an incident, or forces a new attempt
    expire(batch)                              an engine's sweep: every attempt whose deadline
                                               passed or whose lease lapsed

An attempt that ends early starts the next one on the same row when attempts are left (in one
statement for a whole batch of expiries: crux/store/attempts.py); otherwise the step fails
through the workflow's own rules, as a report with stepfailed would (InstanceService.fail_locked),
or the row becomes an incident. Everything on one instance runs under its advisory lock, as
reports do, so an expiry racing a report is serialised like two reports; an engine only takes
instances whose lock is free (crux/store/attempts.py `lock_due`) and checks again under it,
so each expiry is handled once however many engines sweep.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from crux.errors import CruxError
from crux.services.principal import Identity
from crux.services.steps import StepSettings
from crux.services.uow import unit_of_work
from crux.services.workflow import InstanceService, check_lease, found_row, require_open
from crux.store import attempts as attempt_store
from crux.store import instances as store
from crux.store.attempts import NextAttempt

_logger = logging.getLogger("crux.expiry")
ENGINE_USER = "crux-engine"


@dataclass
class ExpiryCounts:
    """Expiries handled, by outcome (for the engine's counters and /metrics)."""
    retried: int = 0
    failed: int = 0
    incidents: int = 0
    rows: list[int] = field(default_factory=list)


class AttemptService:
    def __init__(self, instances: InstanceService):
        self.instances = instances
        self.db = instances.db

    # ---- wfstepfail -------------------------------------------------------------------------

    def step_fail(self, ident: Identity, data: dict) -> dict:
        """The current attempt failed: the next one opens after the retry delay while attempts are
        left (and `retry` is not false), else the step fails (or becomes an incident)."""
        realm, row_id, worker, error = ident.realm, data["id"], data.get("worker"), data["error"]
        with unit_of_work(self.db, realm, ident.user) as uow:
            inst = store.lock_instance(uow.conn, realm, row_id, with_entity=True)
            row = found_row(inst, row_id)
            require_open(row)
            check_lease(row, worker, None)
            if data.get("retry", True) and row["attempt"] < row["maxattempts"]:
                [nxt] = attempt_store.next_attempts(uow.conn, [NextAttempt.of(
                    row, self.instances.settings_now(realm, row), worker, error)], "failed")
                return {"id": row_id, "attempt": nxt["attempt"], "notbefore": nxt["notbefore"]}
            reported = self.instances.fail_locked(inst, row, "failed", worker, error)
            if reported is None:
                return _listed(uow.conn, realm, row_id)
        return self.instances.answer_report(reported)

    # ---- wfinstanceretry --------------------------------------------------------------------

    def retry(self, ident: Identity, data: dict) -> dict:
        """An incident's waiting attempt opens with a fresh deadline; any other open step's
        attempt ends (failed, "retried") and the next one starts, whatever `attempts` says."""
        realm, row_id = ident.realm, data["id"]
        with unit_of_work(self.db, realm, ident.user) as uow:
            inst = store.lock_instance(uow.conn, realm, row_id)
            row = found_row(inst, row_id)
            require_open(row)
            if row["incident"] is not None:
                attempt_store.clear_incident(uow.conn, realm, row_id)
            else:
                attempt_store.next_attempts(uow.conn, [NextAttempt.of(
                    row, self.instances.settings_now(realm, row), error="retried")], "failed")
            return _listed(uow.conn, realm, row_id)

    # ---- expiries (engines) -----------------------------------------------------------------

    def expire(self, batch: int = 500) -> ExpiryCounts:
        """Handle up to `batch` due attempts (deadline passed or lease lapsed) in one transaction:
        the retries in one statement, then each failing step through the rules."""
        counts = ExpiryCounts()
        with unit_of_work(self.db, None, ENGINE_USER) as uow:
            due = attempt_store.due_rows(uow.conn, attempt_store.lock_due(uow.conn, batch))
            retries = [r for r in due if r["attempt"] < r["maxattempts"]]
            counts.retried = len(attempt_store.next_attempts(uow.conn, [
                NextAttempt.of(r, self.instances.settings_now(r["realm"], r), worker=r["leasedby"])
                for r in retries], "timedout"))
            counts.rows = [r["id"] for r in due]
            for r in due:
                if r["attempt"] < r["maxattempts"]:
                    continue
                outcome = self._fail_expired(uow.conn, r)
                if outcome == "failed":
                    counts.failed += 1
                elif outcome == "incident":
                    counts.incidents += 1
        return counts

    def _fail_expired(self, conn, due: dict) -> str:
        """The step of an expired last attempt fails through the rules ("failed") or becomes an
        incident ("incident"); "gone" if the row is no longer that attempt (it is locked since it
        was read, so only a defect gets there). A failure of the database here is a defect: the
        row is made an incident saying so, rather than expiring again at every sweep."""
        try:
            with conn.transaction():        # a savepoint: a defect undoes this row only
                inst = store.lock_instance(conn, due["realm"], due["id"], with_entity=True)
                row = inst.row(due["id"])
                if row is None or (row["step"], row["attempt"], row["doneat"]) != (due["step"], due["attempt"], None):
                    return "gone"
                reported = self.instances.fail_locked(inst, row, "timedout", row["leasedby"], None)
                return "incident" if reported is None else "failed"
        except CruxError:
            raise
        except Exception as exc:  # noqa: BLE001 - logged, and kept on the row for someone to look at
            _logger.exception("expiry of row %s failed", due["id"])
            attempt_store.next_attempts(conn, [NextAttempt.of(
                due, StepSettings.of_row(due), worker=due["leasedby"],
                incident=f"internal error while failing the expired step: {exc.__class__.__name__}")], "timedout")
            return "incident"


def _listed(conn, realm: str, row_id: int) -> dict:
    """The row as wfinstancelist shows it (it exists: the caller holds its instance's lock)."""
    row = store.get_row(conn, realm, row_id)
    assert row is not None
    return row
