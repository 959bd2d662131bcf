"""Workflow instances (SPEC §5): starting, advancing, aborting, listing, dry runs and history.

The engine evaluates a workflow from the cached compiled ruleset (`crux.rules`); the store keeps
the open rows and their history. `wfinstancenew` evaluates before touching the database (the
START step needs nothing stored) and then stores in one round trip; `wfinstancemarkdone` locks
the instance's rows, decides (join, failure route, update in place or replacement) and evaluates
while they stay locked, and writes every change in one statement sent with the commit.

The common markdone, a row alone in its instance moving to one next step, takes a shorter way.
Each process remembers the rows it handed out (id -> slice, app, workflow, alone); for such a
row the evaluation needs nothing from the database (it depends on the entity, the reported step
and stepfailed only), so it runs first and one statement then applies it on the condition that
the row is still alone, at that step, not done and without an open sub-workflow
(`store.move_alone`). That is the outcome the locked way would give; when the condition does not
hold nothing is written and the locked way runs (and reports whatever is wrong).

A step's sub-workflows end with it: when a row's step ends (reported, or its instance ends) any
sub-workflow instance still open under that row is aborted, recursively, in the same statement.

Deadlines, attempts and leases (SPEC §8): every step handed out gets its settings (a deadline
when its step has a timeout) and the report's entity; a report must respect the row's lease and
may name the attempt it reports (`check_lease`; the short way checks the same in its statement).
A step that fails without a report (a worker's `wfstepfail`, an expiry) goes through the same
`_report` as a report with stepfailed, on the entity kept on the row (`fail_locked`), or
becomes an incident when the rules cannot go on (crux/services/attempts.py).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crux.engine.values import START
from crux.errors import CruxError, not_found
from crux.services.principal import Identity
from crux.services.rules import class_mismatch, converted, run_match
from crux.services.steps import NONE as NO_SETTINGS
from crux.services.steps import StepSettings
from crux.services.uow import unit_of_work
from crux.store import attempts as attempt_store
from crux.store import instances as store


@dataclass
class Evaluation:
    """An interpreted workflow action set: done, or the tasks handed out and their join step."""
    done: bool
    tasks: list[str]
    nextstep: str | None        # the join step (several tasks, or a failed sibling's replacement);
                                # else the task itself
    tracedata: dict | None


@dataclass
class _Early:
    """What the short way of markdone evaluated before giving up, for the locked way to reuse
    when it evaluates the same step of the same compiled workflow."""
    family: object
    typed: dict
    step: str
    ev: Evaluation


@dataclass
class Reported:
    """A report applied to a locked instance, to be answered once the transaction has ended."""
    realm: str
    inst: store.LockedInstance
    row: dict                   # the reported row as it was read
    ev: Evaluation | None       # None: a sibling marked done while others are open
    alone: bool = False         # the one row handed out is alone in its instance (for the hints)


class InstanceService:
    """Instance calls of one process: `db` for rows and history, `rules` (a RulesetCache) for
    compiled workflows, stepworkflows and slice states."""

    HINTS_MAX = 200_000

    def __init__(self, db, rules):
        self.db = db
        self.rules = rules
        # row id -> (slice, app, workflow, alone in its instance): facts of rows this process
        # handed out (each at attempt 1); a stale one only costs the locked way (ids are never reused)
        self._hints: dict[int, tuple] = {}

    def forget(self) -> None:
        """Drop what this process remembers of rows (it then acts like any other process)."""
        self._hints.clear()

    def _remember(self, slice_id: int, app: str, workflow: str, ids, alone: bool) -> None:
        if len(self._hints) > self.HINTS_MAX:
            self._hints.clear()
        for row_id in ids:
            self._hints[row_id] = (slice_id, app, workflow, alone)

    # ---- wfinstancenew ----------------------------------------------------------------------

    def new(self, ident: Identity, data: dict) -> dict:
        realm, slice_id, app, name = ident.realm, data["slice"], data["app"], data["workflow"]
        family, cls, _, ev = self._evaluate_runnable(realm, slice_id, app, name, data["entity"], START, False,
                                                     data.get("trace", 0))
        key = {"slice": slice_id, "app": app, "class": cls, "workflow": name, "entityid": data["entityid"]}
        with unit_of_work(self.db, realm, ident.user, "pipeline") as uow:
            pending = store.new_instance(uow.conn, realm, key, ev.tasks, ev.nextstep, data.get("parent"),
                                         data["entity"], _settings(family, name, ev.tasks))
        outcome = pending.outcome()
        if outcome.taken:
            raise CruxError("already_exist", "entityid", [data["entityid"]],
                            f"entity {data['entityid']} already has an open instance of workflow {name}")
        if not outcome.parent_ok:
            raise not_found("parent", data["parent"])
        if not ev.done:
            self._remember(slice_id, app, name, outcome.ids.values(), len(ev.tasks) == 1)
        return self._answer(realm, slice_id, app, ev, ids=outcome.ids, loggedat=outcome.loggedat,
                            parent=data.get("parent"))

    # ---- wfinstancemarkdone -----------------------------------------------------------------

    def mark_done(self, ident: Identity, data: dict) -> dict:
        hint = self._hints.get(data["id"])
        early = None
        if hint is not None and hint[3]:
            result, early = self._mark_done_alone(ident, data, hint)
            if result is not None:
                return result
        return self._mark_done_locked(ident, data, early)

    def _mark_done_alone(self, ident: Identity, data: dict, hint: tuple) -> tuple[dict | None, _Early | None]:
        """The short way for a lone row moving to one next step -> (result, None); else (None,
        what it evaluated, if anything, for the locked way to use when it applies)."""
        realm, row_id, step = ident.realm, data["id"], data["step"]
        slice_id, app, name, _ = hint
        failed = data.get("stepfailed", False)
        try:
            family, _, typed, ev = self._evaluate_runnable(realm, slice_id, app, name, data["entity"], step, failed,
                                                           data.get("trace", 0))
        except CruxError:
            return None, None     # the locked way reports it, in its order of checks
        early = _Early(family, typed, step, ev)
        if ev.done or len(ev.tasks) != 1:
            return None, early
        with unit_of_work(self.db, realm, ident.user, "statement") as uow:
            # the attempt this process handed out, unless the report names one
            loggedat = store.move_alone(uow.conn, realm, row_id, (slice_id, app, name), step,
                                        "failed" if failed else "done", ev.tasks[0],
                                        attempt=data.get("attempt") or 1, entity=data["entity"],
                                        worker=data.get("worker"), settings=_settings(family, name, ev.tasks)[0])
        if loggedat is None:
            return None, early
        return self._answer(realm, slice_id, app, ev, ids={ev.tasks[0]: row_id}, loggedat=loggedat), None

    def _mark_done_locked(self, ident: Identity, data: dict, early: _Early | None = None) -> dict:
        realm, row_id, step = ident.realm, data["id"], data["step"]
        failed = data.get("stepfailed", False)
        with unit_of_work(self.db, realm, ident.user, "pipeline") as uow:
            inst = store.lock_instance(uow.conn, realm, row_id)
            row = found_row(inst, row_id)
            slice_id, app, name = row["slice"], row["app"], row["workflow"]
            self.rules.require_active_slice(realm, slice_id)
            if row["step"] != step:
                raise CruxError("step_not_found", "step", [step, row["step"]],
                                f"row {row_id} is at step {row['step']}, not {step}")
            require_open(row)
            check_lease(row, data.get("worker"), data.get("attempt"))
            family, cls = self._runnable_workflow(realm, slice_id, app, name)
            if early is not None and early.family is not family:
                early = None      # the workflow changed meanwhile
            typed = early.typed if early is not None else self._convert(family, cls, data["entity"])
            reported = self._report(inst, row, family, cls, typed, failed, "failed" if failed else "done",
                                    data["entity"], data.get("worker"), None, data.get("trace", 0), early)
        return self.answer_report(reported)

    def _report(self, inst: store.LockedInstance, row: dict, family, cls: str, typed: dict, failed: bool,
                outcome: str, entity: dict | None, worker: str | None, error: str | None, trace: int,
                early: _Early | None = None) -> Reported:
        """Apply a report on `row` of a locked instance (SPEC §5 markdone): a sibling marked done,
        or an evaluation (at the join step after the last sibling, else at the row's step) and
        the change it makes. `outcome` closes the row's attempt (done, failed, timedout)."""
        realm, row_id, slice_id, app, name = inst.realm, row["id"], row["slice"], row["app"], row["workflow"]
        concurrent = len(inst.rows) > 1
        if concurrent and not failed:
            if any(r["doneat"] is None and r["id"] != row_id for r in inst.rows):
                inst.apply(store.Change(row_id, outcome, close=[row_id], mark=row_id), entity, worker, error)
                return Reported(realm, inst, row, None)
            # the last of the concurrent set: the join
            eval_step, replaced = row["nextstep"], inst.rows
        else:
            eval_step, replaced = row["step"], [row]
        if early is not None and early.step == eval_step:
            ev = early.ev     # the same evaluation (entity, step, stepfailed), made before locking
        else:
            ev = self._evaluate(family, name, typed, eval_step, failed, trace,
                                realm=realm, app=app, slice_id=slice_id, cls=cls)
        # a failed sibling's replacement stays in its concurrent set, joined at the same step
        set_next = row["nextstep"] if concurrent and failed else None
        if set_next is not None and not ev.done:
            ev.nextstep = set_next
        inst.apply(_plan(row_id, outcome, inst.rows, replaced, ev, _settings(family, name, ev.tasks)),
                   entity, worker, error)
        return Reported(realm, inst, row, ev, len(ev.tasks) == 1 and set_next is None)

    def answer_report(self, rep: Reported) -> dict:
        """A report's answer (after its transaction has ended): {id, doneat} for a sibling marked
        done, else as for wfinstancenew, or {done: true, parent?}."""
        row, ev = rep.row, rep.ev
        slice_id, app = row["slice"], row["app"]
        if ev is None:
            return {"id": row["id"], "doneat": rep.inst.now}
        if ev.done:
            for r in rep.inst.rows:
                self._hints.pop(r["id"], None)
            return self._answer(rep.realm, slice_id, app, ev, parent=row["parent"])
        ids = rep.inst.handed_ids()
        self._remember(slice_id, app, row["workflow"], ids.values(), rep.alone)
        return self._answer(rep.realm, slice_id, app, ev, ids=ids, loggedat=rep.inst.now)

    # ---- a step failing without a report: worker failures and expiries (SPEC §8.3) -----------

    def fail_locked(self, inst: store.LockedInstance, row: dict, outcome: str, worker: str | None,
                    error: str | None) -> Reported | None:
        """The step of `row` (read with its entity) fails as a report {stepfailed: true, entity:
        the row's entity} would make it fail, its attempt closing with `outcome`; or, when that
        evaluation cannot go on (what would be a 4xx for the report), the row becomes an
        incident: None."""
        realm = inst.realm
        try:
            self.rules.require_active_slice(realm, row["slice"])
            family, cls = self._runnable_workflow(realm, row["slice"], row["app"], row["workflow"])
            typed = self._convert(family, cls, row["entity"] or {})
            return self._report(inst, row, family, cls, typed, True, outcome, row["entity"], worker, error, 0)
        except CruxError as err:
            if err.status >= 500:
                raise
            reason = "; ".join(m.get("msg") or m["errcode"] for m in err.messages)
            attempt_store.next_attempts(inst.conn, [attempt_store.NextAttempt.of(
                row, self.settings_now(realm, row), worker, error, incident=reason[:4000])], outcome)
            return None

    def settings_now(self, realm: str, row: dict) -> StepSettings:
        """The settings a new attempt of `row` starts with: its workflow's as they are now, or
        those of its current attempt when the workflow is gone."""
        try:
            family, _ = self.rules.workflow(realm, row["slice"], row["app"], row["workflow"])
        except CruxError:
            return StepSettings.of_row(row)
        return StepSettings.of(family.rulesets[row["workflow"]].steps, row["step"])

    # ---- wfinstanceabort, wfinstancelist, wfinstancehistory -----------------------------------

    def abort(self, ident: Identity, data: dict) -> dict:
        given = _exactly_one(data, "id", "entityid")
        with unit_of_work(self.db, ident.realm, ident.user) as uow:
            ids = store.abort(uow.conn, ident.realm, row_id=data.get("id"), entityid=data.get("entityid"))
        if not ids:
            raise not_found(given, data[given])
        return {"aborted": ids}

    def list(self, ident: Identity, data: dict) -> dict:
        limit = data.get("limit")
        with self.db.connection() as conn:
            rows = store.list_instances(conn, ident.realm, data, after=data.get("after"),
                                        limit=None if limit is None else limit + 1)
        if limit is not None and len(rows) > limit:
            return {"wfinstances": rows[:limit], "next": rows[limit - 1]["id"]}
        return {"wfinstances": rows}

    def history(self, ident: Identity, data: dict) -> dict:
        given = _exactly_one(data, "id", "entityid")
        with self.db.connection() as conn:
            rows = store.history(conn, ident.realm, wfid=data.get("id"), entityid=data.get("entityid"),
                                 workflow=data.get("workflow"))
        if not rows:
            raise not_found(given, data[given])
        return {"history": rows}

    # ---- wfinstancetry ------------------------------------------------------------------------

    def try_step(self, ident: Identity, data: dict) -> dict:
        """A dry run on any slice, active or not: what would the engine hand out for this step?"""
        realm, slice_id, app, name, step = ident.realm, data["slice"], data["app"], data["workflow"], data["step"]
        if self.rules.slice_active(realm, slice_id) is None:
            raise not_found("slice", slice_id)
        family, cls = self.rules.workflow(realm, slice_id, app, name)
        if step not in family.step_values:
            raise CruxError("invalid", "step", [step], f"{step} is not a step of workflow {name}")
        typed = self._convert(family, cls, data["entity"])
        ev = self._evaluate(family, name, typed, step, data.get("stepfailed", False), data.get("trace", 0),
                            realm=realm, app=app, slice_id=slice_id, cls=cls)
        return self._answer(realm, slice_id, app, ev)

    # ---- shared steps -------------------------------------------------------------------------

    def _evaluate_runnable(self, realm: str, slice_id: int, app: str, name: str, entity: dict, step: str,
                           failed: bool, trace: int):
        """On an active slice, a runnable workflow's evaluation of `entity` at `step` ->
        (family, class, converted entity, Evaluation)."""
        self.rules.require_active_slice(realm, slice_id)
        family, cls = self._runnable_workflow(realm, slice_id, app, name)
        typed = self._convert(family, cls, entity)
        ev = self._evaluate(family, name, typed, step, failed, trace, realm=realm, app=app, slice_id=slice_id, cls=cls)
        return family, cls, typed, ev

    def _runnable_workflow(self, realm: str, slice_id: int, app: str, name: str):
        family, cls = self.rules.workflow(realm, slice_id, app, name)
        info = family.rulesets[name]
        if not info.is_active:
            raise CruxError("not_allowed", "workflow", [name], f"workflow {name} is not active")
        if info.is_internal:
            raise CruxError("not_allowed", "workflow", [name],
                            f"workflow {name} is internal: only other rulesets call it")
        return family, cls

    @staticmethod
    def _convert(family, cls: str, entity: dict) -> dict:
        given = entity.get("class")
        if given is not None and given != cls:
            raise class_mismatch(given, cls)
        return converted(family, entity, workflow=True)

    @staticmethod
    def _evaluate(family, name: str, typed: dict, step: str, failed: bool, trace: int, *,
                  realm: str, app: str, slice_id: int, cls: str) -> Evaluation:
        result, tracedata = run_match(family, name, {**typed, "step": step, "stepfailed": failed}, trace, "workflow",
                                      realm=realm, app=app, slice_id=slice_id, cls=cls)
        props = result.properties
        if ("done" in props) == ("nextstep" in props):
            raise CruxError("invalid_property_attributes", "properties", sorted(props),
                            f"workflow {name} at step {step} gave an action set with "
                            + ("both done and nextstep" if "done" in props else "neither done nor nextstep"))
        if "done" in props:
            return Evaluation(True, [], None, tracedata)
        if not result.tasks:
            raise CruxError("invalid_property_attributes", "tasks", [],
                            f"workflow {name} at step {step} gave a nextstep but no task")
        tasks = list(result.tasks)
        return Evaluation(False, tasks, tasks[0] if len(tasks) == 1 else props["nextstep"], tracedata)

    def _answer(self, realm: str, slice_id: int, app: str, ev: Evaluation, *, ids: dict[str, int] | None = None,
                loggedat: dt.datetime | None = None, parent: int | None = None) -> dict:
        """A call's answer for an evaluation (SPEC §5): {done: true, parent?}, or the tasks with
        their row ids (`ids`; only their names for a dry run), nextstep for several, loggedat,
        subflows (tasks carried out by a sub-workflow); tracedata when traced."""
        if ev.done:
            out: dict = {"done": True}
            if parent is not None:
                out["parent"] = parent
        else:
            out = {"tasks": ev.tasks if ids is None else [{t: ids[t]} for t in ev.tasks]}
            if len(ev.tasks) > 1:
                out["nextstep"] = ev.nextstep
            if loggedat is not None:
                out["loggedat"] = loggedat
            runs = self.rules.stepworkflows(realm, slice_id, app)
            subflows = {t: runs[t] for t in ev.tasks if t in runs}
            if subflows:
                out["subflows"] = subflows
        if ev.tracedata is not None:
            out["tracedata"] = ev.tracedata
        return out


def _settings(family, name: str, tasks: list[str]) -> list[StepSettings]:
    """The settings of each task of workflow `name` (SPEC §8.1)."""
    steps = family.rulesets[name].steps
    return [StepSettings.of(steps, t) for t in tasks] if steps else [NO_SETTINGS] * len(tasks)


def found_row(inst: store.LockedInstance, row_id: int) -> dict:
    """The row of a locked instance a call names; 404 when there is none."""
    row = inst.row(row_id)
    if row is None:
        raise not_found("id", row_id)
    return row


def require_open(row: dict) -> None:
    """Refuse a sibling already reported done (it waits for the others of its set)."""
    if row["doneat"] is not None:
        raise CruxError("not_allowed", "id", [row["id"]],
                        f"step {row['step']} of row {row['id']} was already reported done; its siblings are still open")


def check_lease(row: dict, worker: str | None, attempt: int | None) -> None:
    """Refuse a report on a row leased to another worker (while the lease lives), a report
    naming no worker on a leased row, and a report of an attempt that is not the current one
    (SPEC §8.4). A lapsed lease stays on the row until an engine ends it."""
    holder = row["leasedby"]
    if holder is not None and (worker is None or (worker != holder and row["leaselive"])):
        raise CruxError("not_allowed", "worker", [worker] if worker is not None else [],
                        f"row {row['id']} is leased to worker {holder}"
                        + ("" if worker is None else f", not {worker}"))
    if attempt is not None and attempt != row["attempt"]:
        raise CruxError("not_allowed", "attempt", [attempt, row["attempt"]],
                        f"attempt {attempt} of row {row['id']} is over; the current attempt is {row['attempt']}")


def _plan(row_id: int, outcome: str, rows: list[dict], replaced: list[dict], ev: Evaluation,
          settings: list[StepSettings]) -> store.Change:
    """The change of a report that evaluated (SPEC §5): end the instance, update one row in
    place (the reported row, or after a join the set's lowest id), or replace rows; the rows
    handed out get `ev.nextstep` and their steps' `settings`."""
    if ev.done:
        ids = [r["id"] for r in rows]
        return store.Change(row_id, outcome, close=ids, delete=ids, finished=True)
    replaced_ids = [r["id"] for r in replaced]
    if len(ev.tasks) == 1:
        keep = min(replaced_ids)
        others = [i for i in replaced_ids if i != keep]
        return store.Change(row_id, outcome, close=replaced_ids, delete=others,
                            move=keep, movestep=ev.tasks[0], movenext=ev.nextstep, movesettings=settings[0])
    return store.Change(row_id, outcome, close=replaced_ids, delete=replaced_ids,
                        add=ev.tasks, addnext=ev.nextstep, addsettings=settings)


def _exactly_one(data: dict, *names: str) -> str:
    """The one of `names` that `data` gives (not None); else a 400."""
    given = [n for n in names if data.get(n) is not None]
    if len(given) != 1:
        raise CruxError("one_of_required", names[0] if not given else given[1], list(names),
                        f"give exactly one of {', '.join(names)}")
    return given[0]
