"""Schemas, rulesets, workflow definitions and stepworkflows (SPEC §4.3), and `breapplyrules`.

Business rulesets and workflows are the same thing in two kinds (`brwf` B and W): the `Kind`
says which table rows a call family sees and how its payload and results name the rules.
Each write is one unit of work (crux/services/uow.py) that holds the scope's rule lock, writes
its changelog rows and notifies every process's ruleset cache (the writer's own at commit).
Capabilities are checked by the API (crux/api/auth.py); list calls filter rows to the caller's apps.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from crux.engine import (
    MatchError,
    ValidationFailed,
    make_tracedata,
    normalize_rules,
    normalize_schema,
    validate_ruleset,
    validate_schema,
)
from crux.errors import CruxError, message, not_found
from crux.services.principal import READ_CAPS, Identity
from crux.services.steps import check_steps, schema_steps
from crux.services.uow import UnitOfWork, unit_of_work
from crux.store import rules as rule_store
from crux.store.scope import Scope


@dataclass(frozen=True)
class Kind:
    brwf: str
    word: str            # in messages
    rules_key: str       # the payload and result key holding the rules
    list_key: str        # the key of list results


BRE = Kind("B", "BRE", "ruleset", "rulesets")
WORKFLOW = Kind("W", "workflow", "flowrules", "workflows")
KINDS = {"B": BRE, "W": WORKFLOW}


def problems_error(problems) -> CruxError:
    """Engine problems as one 400 error carrying every problem (each with its own errcode)."""
    return CruxError("invalid", messages=[message(p.errcode, p.field, list(p.vals), p.msg) for p in problems])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def converted(family, entity: dict, workflow: bool = False) -> dict:
    """The entity with its values converted to the family's schema types; a 400 naming every problem."""
    try:
        return family.convert_entity(entity, workflow=workflow)
    except ValidationFailed as exc:
        raise problems_error(exc.problems) from None


def run_match(family, name: str, entity: dict, trace: int, field: str, *, realm: str, app: str, slice_id: int,
              cls: str):
    """Evaluate `entity` against ruleset `name` -> (result, tracedata or None when not traced); an
    aborted evaluation is a 400 naming the engine's field, else `field`."""
    start = _now() if trace else None
    try:
        result = family.match(name, entity, trace)
    except MatchError as exc:
        raise CruxError("eval_failed", exc.field or field, list(exc.vals), str(exc)) from None
    if start is None:       # not traced
        return result, None
    return result, make_tracedata(result, start=start, end=_now(), realm=realm, app=app, slice=slice_id,
                                  cls=cls, entry=name)


def require_slice_app(found: dict, slice_id: int, app: str) -> None:
    """404 for the slice or the app, from a row of the store's {slice_exists, app_exists}."""
    if not found["slice_exists"]:
        raise not_found("slice", slice_id)
    if not found["app_exists"]:
        raise not_found("app", app)


def _schema_out(row: dict) -> dict:
    """A schema as answered: with its app's longname; attribute descriptions as stored."""
    return {"slice": row["slice"], "app": row["app"], "longname": row["longname"], "class": row["class"],
            "patternschema": row["patternschema"], "actionschema": row["actionschema"],
            "createdat": row["createdat"], "createdby": row["createdby"],
            "editedat": row["editedat"], "editedby": row["editedby"]}


def _ruleset_out(row: dict, kind: Kind, rules: bool = True) -> dict:
    out = {k: row[k] for k in ("id", "slice", "app", "class", "name", "is_active", "is_internal")}
    if rules:
        out[kind.rules_key] = [_rule_out(rule) for rule in row["rules"]]
        if kind is WORKFLOW:
            out["steps"] = row["steps"]
    out.update({k: row[k] for k in ("createdat", "createdby", "editedat", "editedby")})
    return out


def _rule_out(rule: dict) -> dict:
    """A stored (canonical) rule as answered: `thencall`/`elsecall` left out when the rule has
    none (the original service did; crux-ui takes any value there for a call), and `willreturn`/
    `willexit` also as `return`/`exit`, the names crux-ui reads and sends back."""
    acts = {k: v for k, v in rule["ruleactions"].items() if v or k not in ("thencall", "elsecall")}
    acts["return"], acts["exit"] = acts.get("willreturn", False), acts.get("willexit", False)
    return {**rule, "ruleactions": acts}


def _callers(conn, scope: Scope, cls: str, name: str, active_only: bool = False) -> list[str]:
    """The other rulesets of the class that call `name` (only the active ones, if asked)."""
    return [r["name"] for r in rule_store.app_call_graph(conn, scope)
            if r["class"] == cls and r["name"] != name and name in r["calls"] and (r["is_active"] or not active_only)]


def _steps_of(data: dict):
    """A workflow payload's step settings: absent (or null) is none."""
    steps = data.get("steps")
    return {} if steps is None else steps


def _scope(ident: Identity, data: dict) -> Scope:
    return Scope(ident.realm, data["slice"], data["app"])


class RuleService:
    """The rule-data calls, on a `Database` (the server's, or the command line's)."""

    def __init__(self, db):
        self.db = db

    # ---- plumbing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self, ident: Identity, scope: Scope, cls: str | None = None) -> Iterator[UnitOfWork]:
        """A rule write of one scope: serialised with the scope's other rule writes, on an
        existing slice and app, and every process's ruleset cache told once it commits."""
        with unit_of_work(self.db, ident.realm, ident.user) as uow:
            uow.lock(*rule_store.rules_lock_key(scope))
            self._require_slice_app(uow.conn, scope)
            yield uow
            uow.notify("rules", realm=scope.realm, slice=scope.slice, app=scope.app, cls=cls)

    @staticmethod
    def _require_slice_app(conn, scope: Scope) -> None:
        require_slice_app(rule_store.slice_and_app(conn, scope), scope.slice, scope.app)

    @staticmethod
    def _schema_of(conn, scope: Scope, cls: str, kind: Kind, lock: bool = False) -> dict:
        row = rule_store.get_schema(conn, scope, cls, lock=lock)
        if row is None:
            raise not_found("class", cls)
        if row["brwf"] != kind.brwf:
            other = KINDS[row["brwf"]].word
            raise CruxError("not_found", "class", [cls],
                            f"class {cls} has no {kind.word} schema (it has a {other} schema)")
        return row

    @staticmethod
    def _ruleset_of(conn, scope: Scope, cls: str, name: str, kind: Kind, lock: bool = False) -> dict:
        row = rule_store.get_ruleset(conn, scope, cls, name, lock=lock)
        if row is None or row["brwf"] != kind.brwf:
            RuleService._schema_of(conn, scope, cls, kind)   # a missing class is named first
            raise CruxError("not_found", "name", [name], f"{kind.word} ruleset {name} of class {cls} does not exist")
        return row

    def _inactive_ruleset(self, conn, scope: Scope, cls: str, name: str, kind: Kind, doing: str) -> dict:
        row = self._ruleset_of(conn, scope, cls, name, kind, lock=True)
        if row["is_active"]:
            raise CruxError("not_allowed", "name", [name], f"{name} is active: deactivate it before {doing} it")
        return row

    # ---- schemas --------------------------------------------------------------------------

    @staticmethod
    def _checked_schema(data: dict, kind: Kind) -> dict:
        doc = {"class": data["class"], "patternschema": data["patternschema"], "actionschema": data["actionschema"]}
        problems = validate_schema(doc, kind.brwf)
        if problems:
            raise problems_error(problems)
        return normalize_schema(doc)

    def schema_new(self, ident: Identity, kind: Kind, data: dict) -> dict:
        scope, cls = _scope(ident, data), data["class"]
        with self._write(ident, scope, cls) as uow:
            old = rule_store.get_schema(uow.conn, scope, cls)
            if old is not None:
                raise CruxError("already_exist", "class", [cls],
                                f"class {cls} already has a {KINDS[old['brwf']].word} schema in slice {scope.slice}")
            doc = self._checked_schema(data, kind)
            row = rule_store.insert_schema(uow.conn, scope, cls, kind.brwf, doc, ident.user)
            out = _schema_out(row)
            uow.changed("schema", scope.key(cls), "insert", None, {**out, "brwf": kind.brwf})
        return out

    def _refuse_if_used(self, conn, realm: str, schema: dict, what: str) -> None:
        users = rule_store.schema_users(conn, realm, schema["id"])
        if users:
            raise CruxError("not_allowed", "class", users,
                            f"the schema of class {schema['class']} cannot be {what} while rulesets refer to it "
                            f"({', '.join(users)}); make a new slice instead")

    @staticmethod
    def _refuse_if_mapped(conn, scope: Scope, cls: str, tasks, what: str) -> None:
        """A workflow schema change may not take away a step that stepworkflow maps (the mapping
        would name a step no workflow schema of the app has)."""
        mapped = rule_store.mapped_steps(conn, scope)
        if not mapped:
            return
        left = rule_store.workflow_steps(conn, scope, but=cls) | set(tasks)
        lost = [step for step in mapped if step not in left]
        if lost:
            raise CruxError("not_allowed", "actionschema.tasks", lost,
                            f"the schema of class {cls} cannot be {what}: steps {', '.join(lost)} are carried "
                            "out by sub-workflows (stepworkflow); delete those mappings first")

    def schema_update(self, ident: Identity, kind: Kind, data: dict) -> dict:
        scope, cls = _scope(ident, data), data["class"]
        with self._write(ident, scope, cls) as uow:
            old = self._schema_of(uow.conn, scope, cls, kind, lock=True)
            self._refuse_if_used(uow.conn, scope.realm, old, "changed")
            doc = self._checked_schema(data, kind)
            if kind is WORKFLOW:
                self._refuse_if_mapped(uow.conn, scope, cls, doc["actionschema"]["tasks"], "changed")
            row = rule_store.update_schema(uow.conn, scope.realm, old["id"], doc, ident.user)
            out = _schema_out(row)
            uow.changed("schema", scope.key(cls), "update", _schema_out(old), out)
        return out

    def schema_get(self, ident: Identity, kind: Kind, data: dict) -> dict:
        scope = _scope(ident, data)
        with self.db.connection() as conn:
            self._require_slice_app(conn, scope)
            return _schema_out(self._schema_of(conn, scope, data["class"], kind))

    def schema_delete(self, ident: Identity, kind: Kind, data: dict) -> dict:
        scope, cls = _scope(ident, data), data["class"]
        with self._write(ident, scope, cls) as uow:
            old = self._schema_of(uow.conn, scope, cls, kind, lock=True)
            self._refuse_if_used(uow.conn, scope.realm, old, "deleted")
            if kind is WORKFLOW:
                self._refuse_if_mapped(uow.conn, scope, cls, (), "deleted")
            rule_store.delete_schema(uow.conn, scope.realm, old["id"])
            uow.changed("schema", scope.key(cls), "delete", _schema_out(old), None)
        return {"slice": scope.slice, "app": scope.app, "class": cls}

    def schema_list(self, ident: Identity, kind: Kind, data: dict) -> list[dict]:
        with self.db.connection() as conn:
            return rule_store.list_schemas(conn, ident.realm, kind.brwf, data, ident.apps_with(READ_CAPS))

    # ---- rulesets and workflows -----------------------------------------------------------

    @staticmethod
    def _checked_rules(graph: list[dict], cls, name, kind: Kind, schema: dict, data: dict) -> list:
        """Validate the rules of a payload against the schema and the app's other rulesets
        (`graph`, the app's call graph), and a workflow's step settings; the canonical rules."""
        known = {r["name"]: cls for r in graph if r["class"] == cls}
        for r in graph:
            known.setdefault(r["name"], r["class"])
        calls_of = {r["name"]: set(r["calls"]) for r in graph if r["class"] == cls and r["name"] != name}
        rules = data[kind.rules_key]
        doc = {"class": cls, "patternschema": schema["patternschema"], "actionschema": schema["actionschema"]}
        problems = [message(p.errcode, p.field, list(p.vals), p.msg)
                    for p in validate_ruleset(rules, doc, kind.brwf, name, cls, known, calls_of, path=kind.rules_key)]
        if kind is WORKFLOW:
            problems += check_steps(_steps_of(data), schema_steps(schema))
        if problems:
            raise CruxError("invalid", messages=problems)
        return normalize_rules(rules)

    def ruleset_new(self, ident: Identity, kind: Kind, data: dict) -> dict:
        scope, cls, name = _scope(ident, data), data["class"], data["name"]
        with self._write(ident, scope, cls) as uow:
            schema = self._schema_of(uow.conn, scope, cls, kind)
            graph = rule_store.app_call_graph(uow.conn, scope)
            if any(r["class"] == cls and r["name"] == name for r in graph):
                raise CruxError("already_exist", "name", [name], f"class {cls} already has a ruleset {name}")
            other = next((r["class"] for r in graph if r["name"] == name and r["brwf"] == "W"), None) \
                if kind is WORKFLOW else None
            if other is not None:
                raise CruxError("already_exist", "name", [name],
                                f"app {scope.app} already has a workflow {name} (of class {other})")
            rules = self._checked_rules(graph, cls, name, kind, schema, data)
            row = rule_store.insert_ruleset(uow.conn, scope, cls, name, kind.brwf, schema["id"],
                                            data.get("is_internal", False), rules, ident.user,
                                            _steps_of(data) if kind is WORKFLOW else None)
            out = _ruleset_out(row, kind)
            uow.changed("ruleset", scope.key(cls, name), "insert", None, {**out, "brwf": kind.brwf})
        return out

    def ruleset_update(self, ident: Identity, kind: Kind, data: dict) -> dict:
        scope, cls, name = _scope(ident, data), data["class"], data["name"]
        with self._write(ident, scope, cls) as uow:
            old = self._inactive_ruleset(uow.conn, scope, cls, name, kind, "changing")
            schema = self._schema_of(uow.conn, scope, cls, kind)
            graph = rule_store.app_call_graph(uow.conn, scope)
            rules = self._checked_rules(graph, cls, name, kind, schema, data)
            internal = data.get("is_internal", old["is_internal"])
            row = rule_store.update_ruleset(uow.conn, scope.realm, old["id"], rules, internal, ident.user,
                                            _steps_of(data) if kind is WORKFLOW else None)
            out = _ruleset_out(row, kind)
            uow.changed("ruleset", scope.key(cls, name), "update", _ruleset_out(old, kind), out)
        return out

    def ruleset_get(self, ident: Identity, kind: Kind, data: dict) -> dict:
        scope = _scope(ident, data)
        with self.db.connection() as conn:
            self._require_slice_app(conn, scope)
            return _ruleset_out(self._ruleset_of(conn, scope, data["class"], data["name"], kind), kind)

    def ruleset_list(self, ident: Identity, kind: Kind, data: dict) -> dict:
        with self.db.connection() as conn:
            rows = rule_store.list_rulesets(conn, ident.realm, kind.brwf, data, ident.apps_with(READ_CAPS))
        return {kind.list_key: [_ruleset_out(r, kind, rules=False) for r in rows]}

    def ruleset_delete(self, ident: Identity, kind: Kind, data: dict) -> dict:
        scope, cls, name = _scope(ident, data), data["class"], data["name"]
        with self._write(ident, scope, cls) as uow:
            old = self._inactive_ruleset(uow.conn, scope, cls, name, kind, "deleting")
            callers = _callers(uow.conn, scope, cls, name)
            if callers:
                raise CruxError("not_allowed", "name", callers, f"{name} is called by {', '.join(callers)}")
            steps = rule_store.mapped_steps(uow.conn, scope, workflow=name) if kind is WORKFLOW else []
            if steps:
                raise CruxError("not_allowed", "name", steps,
                                f"{name} carries out steps {', '.join(steps)} (stepworkflow): delete those first")
            rule_store.delete_ruleset(uow.conn, scope.realm, old["id"])
            uow.changed("ruleset", scope.key(cls, name), "delete", _ruleset_out(old, kind), None)
        return {"id": old["id"], "slice": scope.slice, "app": scope.app, "class": cls, "name": name}

    def ruleset_activate(self, ident: Identity, kind: Kind, data: dict) -> dict:
        """Activate a ruleset and everything reachable through its calls (all or nothing)."""
        scope, cls, name = _scope(ident, data), data["class"], data["name"]
        with self._write(ident, scope, cls) as uow:
            self._ruleset_of(uow.conn, scope, cls, name, kind)
            family = {r["name"]: r for r in rule_store.app_call_graph(uow.conn, scope) if r["class"] == cls}
            seen, order, missing = {name}, [name], []
            for current in order:           # grows while walking: breadth first
                for callee in family[current]["calls"]:
                    if callee not in family:
                        missing.append(message("missing", "name", [current, callee],
                                               f"{current} calls {callee}, which is not a ruleset of class {cls}"))
                    elif callee not in seen:
                        seen.add(callee)
                        order.append(callee)
            if missing:
                raise CruxError.many(missing)
            todo = [family[n] for n in order if not family[n]["is_active"]]
            if todo:
                rule_store.set_rulesets_active(uow.conn, scope.realm, [r["id"] for r in todo], True, ident.user)
            uow.changed_many("ruleset", [(scope.key(cls, r["name"]), "update", {"is_active": False},
                                          {"is_active": True}) for r in todo])
        return {"ntraversed": len(order), "nactivated": len(todo)}

    def ruleset_deactivate(self, ident: Identity, kind: Kind, data: dict) -> dict:
        """Deactivate one ruleset; refused while an active ruleset calls it (active rulesets stay
        a closed, unchangeable set)."""
        scope, cls, name = _scope(ident, data), data["class"], data["name"]
        with self._write(ident, scope, cls) as uow:
            old = self._ruleset_of(uow.conn, scope, cls, name, kind, lock=True)
            if old["is_active"]:
                callers = _callers(uow.conn, scope, cls, name, active_only=True)
                if callers:
                    raise CruxError("not_allowed", "name", callers,
                                    f"{name} is called by active {', '.join(callers)}: deactivate those first")
                old = rule_store.set_rulesets_active(uow.conn, scope.realm, [old["id"]], False, ident.user)[0]
                uow.changed("ruleset", scope.key(cls, name), "update", {"is_active": True}, {"is_active": False})
        return _ruleset_out(old, kind, rules=False)

    # ---- stepworkflows --------------------------------------------------------------------

    def stepworkflow_new(self, ident: Identity, data: dict, replace: bool = False) -> dict:
        """Map a step to the workflow that carries it out; with `replace`, an existing mapping of
        the step is replaced in the same transaction (one `update` changelog row)."""
        scope, step, workflow = _scope(ident, data), data["step"], data["workflow"]
        with self._write(ident, scope) as uow:
            if rule_store.workflow_class(uow.conn, scope, workflow) is None:
                raise CruxError("not_found", "workflow", [workflow], f"workflow {workflow} does not exist")
            if step not in rule_store.workflow_steps(uow.conn, scope):
                raise CruxError("invalid", "step", [step],
                                f"{step} is not a step of any workflow schema of app {scope.app}")
            old = rule_store.get_stepworkflow(uow.conn, scope, step, lock=True)
            if old is not None and not replace:
                raise CruxError("already_exist", "step", [step], f"step {step} already has a workflow")
            if old is not None:
                rule_store.delete_stepworkflow(uow.conn, scope, step)
            row = rule_store.insert_stepworkflow(uow.conn, scope, step, workflow, ident.user)
            uow.changed("stepworkflow", scope.key(step), "update" if old else "insert", old, row)
        return row

    def stepworkflow_delete(self, ident: Identity, data: dict) -> dict:
        scope, step = _scope(ident, data), data["step"]
        with self._write(ident, scope) as uow:
            old = rule_store.get_stepworkflow(uow.conn, scope, step, lock=True)
            if old is None:
                raise not_found("step", step)
            rule_store.delete_stepworkflow(uow.conn, scope, step)
            uow.changed("stepworkflow", scope.key(step), "delete", old, None)
        return old

    def stepworkflow_list(self, ident: Identity, data: dict) -> dict:
        with self.db.connection() as conn:
            return {"stepworkflows": rule_store.list_stepworkflows(conn, ident.realm, data, ident.apps_with(READ_CAPS))}


# ---- evaluation -------------------------------------------------------------------------------

def apply_rules(cache, ident: Identity, data: dict) -> dict:
    """`breapplyrules`: evaluate an entity against an active, non-internal BRE ruleset of an
    active slice, from the cache alone when it holds the family."""
    realm, slice_id, app, name = ident.realm, data["slice"], data["app"], data["ruleset"]
    cache.require_active_slice(realm, slice_id)
    index = cache.app_index(realm, slice_id, app)
    entity = data["entity"]
    cls = _class_of(index, data.get("class"), entity.get("class"), name)
    family = cache.family(realm, slice_id, app, cls)
    if family is None or family.brwf != "B":
        raise CruxError("not_found", "class", [cls], f"class {cls} has no BRE schema")
    info = family.rulesets.get(name)
    if info is None:
        raise CruxError("not_found", "ruleset", [name], f"ruleset {name} of class {cls} does not exist")
    if not info.is_active:
        raise CruxError("not_allowed", "ruleset", [name], f"ruleset {name} is not active")
    if info.is_internal:
        raise CruxError("not_allowed", "ruleset", [name], f"ruleset {name} is internal: only other rulesets call it")
    result, tracedata = run_match(family, name, converted(family, entity), data.get("trace", 0), "ruleset",
                                  realm=realm, app=app, slice_id=slice_id, cls=cls)
    out = {"tasks": result.tasks, "properties": result.properties}
    if tracedata is not None:
        out["tracedata"] = tracedata
    return out


def class_mismatch(in_entity: str, cls: str) -> CruxError:
    """The error for an entity whose `class` is not the class being evaluated."""
    return CruxError("invalid", "entity.class", [in_entity], f"the entity is of class {in_entity}, not {cls}")


def _class_of(index, given, in_entity, name: str) -> str:
    """The class to evaluate: the payload's, else the entity's, else the only class having `name`."""
    if in_entity is not None and not isinstance(in_entity, str):
        raise CruxError("invalid", "entity.class", [], "class must be a string")
    if given is not None and in_entity is not None and given != in_entity:
        raise class_mismatch(in_entity, given)
    cls = given or in_entity
    if cls is not None:
        return cls
    classes = index.rulesets.get(name, ())
    if len(classes) == 1:
        return classes[0]
    if not classes:
        hint = " (it is a workflow: use wfinstancetry)" if name in index.workflows else ""
        raise CruxError("not_found", "ruleset", [name], f"ruleset {name} does not exist{hint}")
    raise CruxError("required", "class", list(classes), f"ruleset {name} exists in classes {', '.join(classes)}: "
                    "name the class")
