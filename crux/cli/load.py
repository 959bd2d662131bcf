"""`crux load DIR`: load a folder of schema, ruleset, workflow and stepworkflow JSON files into
a slice, through the same payload checks and service calls as the web API.

The folder's files (the format of examples/*):

    schema        {"class", "brwf"?: "B" (default) | "W", "patternschema", "actionschema"}
    ruleset       {"class", "name", "is_internal"?, "ruleset": [rules]}   ("flowrules" also accepted);
                  a ruleset of a class whose schema is a workflow schema is a workflow, which may
                  carry "steps": its step settings (SPEC §8.1)
    stepworkflows [{"step", "workflow"}, ...]
    entities      [{"entity", ...}, ...]      example entities: skipped

A file may name its own "app"; otherwise the app is --app, or the folder's name. Loading is
idempotent: a record that exists unchanged is left alone, a changed one is updated (which the
service refuses for an active ruleset or a schema in use), a missing one is created. Every
problem is reported with its file and JSON path; the other files are still loaded.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from crux.common.config import package_folder
from crux.engine import normalize_rules, normalize_schema
from crux.errors import CruxError
from crux.services.principal import Grant, Identity
from crux.services.rules import KINDS, WORKFLOW, RuleService
from crux.store import rules as rule_store
from crux.store.scope import Scope


@dataclass
class Item:
    path: Path
    what: str             # "schema", "ruleset", "stepworkflow"
    data: dict
    rules_key: str = "ruleset"


@dataclass
class LoadReport:
    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1


def loader_identity(realm: str, user: str) -> Identity:
    """The command line is trusted like the database owner: it acts with root in the realm."""
    return Identity(realm, user, (Grant(None, "root", None, None),))


def read_folder(folder: Path, app: str) -> tuple[list[Item], list[str]]:
    """The folder's items in load order (schemas, rulesets callees first, stepworkflows)."""
    items: list[Item] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: not valid JSON: {exc}")
            continue
        if isinstance(doc, list) and all(isinstance(e, dict) and "entity" in e for e in doc):
            continue
        if isinstance(doc, list) and all(isinstance(e, dict) and {"step", "workflow"} <= set(e) for e in doc):
            items.extend(Item(path, "stepworkflow", {"app": app, **e}) for e in doc)
        elif isinstance(doc, dict) and "patternschema" in doc:
            items.append(Item(path, "schema", {"app": app, **doc}))
        elif isinstance(doc, dict) and ("ruleset" in doc or "flowrules" in doc):
            items.append(Item(path, "ruleset", {"app": app, **doc}, "ruleset" if "ruleset" in doc else "flowrules"))
        else:
            problems.append(f"{path}: not a schema, ruleset, workflow or stepworkflows file")
    order = {"schema": 0, "ruleset": 1, "stepworkflow": 2}
    items.sort(key=lambda it: order[it.what])
    return _callees_first(items), problems


def _callees_first(items: list[Item]) -> list[Item]:
    """Rulesets ordered so that a ruleset's callees of the same class come before it."""
    rulesets = [it for it in items if it.what == "ruleset"]
    by_key = {(it.data.get("class"), it.data.get("name")): it for it in rulesets}
    placed: list[Item] = []
    state: dict[int, str] = {}

    def visit(it: Item) -> None:
        if state.get(id(it)):
            return              # placed, or on the current path (a cycle: validation reports it)
        state[id(it)] = "visiting"
        rules: Any = it.data.get(it.rules_key)
        try:
            callees = {c for r in normalize_rules(rules)
                       for c in (r["ruleactions"]["thencall"], r["ruleactions"]["elsecall"])}
        except (AttributeError, TypeError, ValueError):
            callees = set()     # malformed rules: the service will say what is wrong
        for callee in sorted(c for c in callees if c):
            dep = by_key.get((it.data.get("class"), callee))
            if dep is not None:
                visit(dep)
        state[id(it)] = "placed"
        placed.append(it)

    for it in rulesets:
        visit(it)
    return [it for it in items if it.what == "schema"] + placed + [it for it in items if it.what == "stepworkflow"]


def _checked(item: Item, payload: dict) -> dict:
    """The item's payload as the web API checks and loads it. (Imported here: every `crux`
    command imports this module, and only loading needs the API's schemas.)"""
    from marshmallow import Schema

    from crux.api import envelope
    from crux.api.rules import RulesetNew, SchemaDoc
    from crux.api.workflows import StepWorkflowNew
    schemas: dict[str, type[Schema]] = {"schema": SchemaDoc, "ruleset": RulesetNew, "stepworkflow": StepWorkflowNew}
    return envelope.load(schemas[item.what](), payload)


def _problem_lines(path: Path, err: CruxError, rules_key: str | None = None) -> list[str]:
    """One line per message; paths into the rules use the file's own key for them."""
    out = []
    for m in err.messages:
        where = m.get("field") or "-"
        for key in ("ruleset", "flowrules"):
            if rules_key and (where == key or where.startswith(key + "[")):
                where = rules_key + where[len(key):]
        vals = f" {m['vals']}" if m.get("vals") else ""
        out.append(f"{path}: {where}: {m['errcode']}: {m.get('msg', '')}{vals}")
    return out


class FolderLoader:
    def __init__(self, db, ident: Identity, slice_id: int, report: LoadReport):
        self.db = db
        self.service = RuleService(db)
        self.ident = ident
        self.slice_id = slice_id
        self.report = report
        self.loaded: list[tuple[Path, dict, object]] = []       # rulesets to activate: (path, key, kind)

    def _stored(self, app: str, cls: str, name: str | None = None) -> tuple[dict | None, dict | None]:
        """The stored schema of a class, and its ruleset `name` (None when either is missing)."""
        with self.db.connection() as conn:
            schema = rule_store.get_schema(conn, Scope(self.ident.realm, self.slice_id, app), cls)
            if schema is None or name is None:
                return schema, None
            return schema, rule_store.get_ruleset(conn, Scope(self.ident.realm, self.slice_id, app), cls, name)

    def _note(self, what: str, name: str, outcome: str) -> None:
        self.report.done.append(f"{what} {name}: {outcome}")
        self.report.count(outcome)

    def schema(self, item: Item) -> None:
        kind = KINDS.get(item.data.get("brwf", "B"))
        if kind is None:
            raise CruxError("invalid", "brwf", [item.data.get("brwf")], "brwf is B (business rules) or W (workflow)")
        data = _checked(item, {"slice": self.slice_id, **item.data})
        old, _ = self._stored(data["app"], data["class"])
        if old is None:
            self.service.schema_new(self.ident, kind, data)
            return self._note("schema", data["class"], "created")
        new = normalize_schema({"class": data["class"], "patternschema": data["patternschema"],
                                "actionschema": data["actionschema"]})
        same = (old["patternschema"], old["actionschema"]) == (new["patternschema"], new["actionschema"])
        if old["brwf"] == kind.brwf and same:
            return self._note("schema", data["class"], "unchanged")
        self.service.schema_update(self.ident, kind, data)
        self._note("schema", data["class"], "updated")

    def ruleset(self, item: Item) -> None:
        payload = {"slice": self.slice_id, **item.data, "ruleset": item.data.get(item.rules_key)}
        data = _checked(item, payload)
        schema, old = self._stored(data["app"], data["class"], data["name"])
        kind = KINDS[schema["brwf"] if schema else "B"]
        data[kind.rules_key] = data.pop("ruleset")
        if kind is WORKFLOW and item.data.get("steps") is not None:
            data["steps"] = item.data["steps"]          # step settings (checked by the service)
        word = "workflow" if kind is WORKFLOW else "ruleset"
        key = {k: data[k] for k in ("slice", "app", "class", "name")}
        if old is None:
            self.service.ruleset_new(self.ident, kind, data)       # says what is missing, if anything
            self._note(word, data["name"], "created")
        elif (old["rules"], old["is_internal"], old["steps"]) == (_canonical(data[kind.rules_key]), data["is_internal"],
                                                                 data.get("steps") or {}):
            self._note(word, data["name"], "unchanged")
        else:
            self.service.ruleset_update(self.ident, kind, data)
            self._note(word, data["name"], "updated")
        self.loaded.append((item.path, key, kind))

    def stepworkflow(self, item: Item) -> None:
        data = _checked(item, {"slice": self.slice_id, **item.data})
        with self.db.connection() as conn:
            old = rule_store.get_stepworkflow(conn, Scope(self.ident.realm, self.slice_id, data["app"]), data["step"])
        if old is not None and old["workflow"] == data["workflow"]:
            return self._note("stepworkflow", data["step"], "unchanged")
        self.service.stepworkflow_new(self.ident, data, replace=True)
        self._note("stepworkflow", data["step"], "updated" if old else "created")

    def activate(self) -> None:
        for path, key, kind in reversed(self.loaded):      # callers first: they reach their callees
            try:
                result = self.service.ruleset_activate(self.ident, kind, key)
            except CruxError as err:
                self.report.problems.extend(_problem_lines(path, err))
                continue
            self.report.done.append(f"activate {key['name']}: {result['ntraversed']} traversed, "
                                    f"{result['nactivated']} activated")


def _canonical(rules):
    try:
        return normalize_rules(rules)
    except (AttributeError, TypeError):
        return None


def load_folder(db, ident: Identity, folder: Path, slice_id: int, app: str | None = None,
                activate: bool = False) -> LoadReport:
    """Load one folder into a slice; see the module's documentation."""
    report = LoadReport()
    items, report.problems = read_folder(folder, (app or folder.name).lower())
    loader = FolderLoader(db, ident, slice_id, report)
    bad_classes: set[tuple] = set()
    for item in items:
        if item.what == "ruleset" and (item.data.get("app"), item.data.get("class")) in bad_classes:
            report.problems.append(f"{item.path}: skipped: the schema of class {item.data.get('class')} was not loaded")
            continue
        try:
            getattr(loader, item.what)(item)
        except CruxError as err:
            report.problems.extend(_problem_lines(item.path, err, item.rules_key if item.what == "ruleset" else None))
            if item.what == "schema":
                bad_classes.add((item.data.get("app"), item.data.get("class")))
    if activate:
        loader.activate()
    return report


@click.command("load")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--realm", "realm_name", required=True, help="the realm to load into")
@click.option("--slice", "slice_id", type=int, required=True, help="the slice number")
@click.option("--app", help="the app (default: each file's own \"app\", else the folder's name)")
@click.option("--activate", is_flag=True, help="activate every loaded ruleset and workflow (and their callees)")
@click.option("--create-app", is_flag=True, help="create the app first when it does not exist")
@click.option("--user", default="crux-load", show_default=True, help="recorded as the author of the changes")
def load_command(folder, realm_name, slice_id, app, activate, create_app, user):
    """Load the schema, ruleset, workflow and stepworkflow JSON files of FOLDER into a slice."""
    from crux.common import log
    from crux.common.config import Settings
    from crux.store import realms
    from crux.store.db import opened
    from crux.store.embedded import resolve_url
    from crux.store.migrate import upgrade
    settings = Settings.from_env()
    log.set_level(settings.log_level)
    url = resolve_url(settings)
    upgrade(url, settings.schema_dir)
    with opened(settings, url) as db:
        realm_name = realm_name.lower()
        ident = loader_identity(realm_name, user.lower())
        with db.connection() as conn:
            if not realms.realm_exists(conn, realm_name):
                raise click.ClickException(f"realm {realm_name} does not exist")
        if create_app:
            _ensure_app(db, ident, (app or folder.name).lower(), f"loaded from {folder.name}")
        report = load_folder(db, ident, folder, slice_id, app, activate)
    for line in report.done:
        click.echo(line)
    for line in report.problems:
        click.echo(line, err=True)
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.counts.items())) or "nothing loaded"
    click.echo(f"{summary}; {len(report.problems)} problem(s)")
    if report.problems:
        raise SystemExit(1)


__all__ = ["LoadReport", "load_command", "load_folder", "loader_identity", "read_folder"]


# ---- the demo realm's content ---------------------------------------------------------------

DEMO_APPS = {"retail": "Retail orders (business rules example)",
             "onboarding": "Customer onboarding (workflow example)"}


def _ensure_app(db, ident, name: str, descr: str) -> None:
    """Create app `name` unless the realm has it (through the admin service, as `appnew` does)."""
    from crux.services import admin
    from crux.store import apps
    with db.connection() as conn:
        exists = apps.get_app(conn, ident.realm, name) is not None
    if not exists:
        admin.app_new(db, ident, {"name": name, "descr": descr})


def load_demo(settings, url: str, realm: str, admin: str) -> str:
    """The demo apps and examples/retail, examples/onboarding loaded into slice 1 as
    `crux load --activate` loads a folder; running it again changes nothing."""
    from crux.store.db import opened

    ident = loader_identity(realm, admin)
    problems: list[str] = []
    loaded = 0
    with opened(settings, url) as database:
        for name, descr in DEMO_APPS.items():
            _ensure_app(database, ident, name, descr)
            folder = package_folder("crux.examples") / name
            if not folder.is_dir():
                problems.append(f"{folder}: not found")
                continue
            report = load_folder(database, ident, folder, 1, name, activate=True)
            problems.extend(report.problems)
            loaded += report.counts.get("created", 0) + report.counts.get("updated", 0)
    text = f"Apps: {', '.join(DEMO_APPS)}; example rules and workflows in slice 1 ({loaded} loaded now)."
    if problems:
        text += "\nProblems loading the examples:\n  " + "\n  ".join(problems)
    return text
