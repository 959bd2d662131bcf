"""Rule documents in files, for the offline tools (`crux rules`, `crux workflow graph --files`):
reading them, checking them as the service would, and compiling a class's rulesets.

File formats (see examples/README.md):
    schema       {"class", "brwf": "B"|"W", "patternschema": [...], "actionschema": {...}}
    ruleset      {"class", "name", "is_internal"?, "ruleset": [...]}   ("flowrules" also read;
                 a workflow may carry "steps", its step settings, SPEC §8.1)
    stepworkflow [{"step", "workflow"}, ...]
    entity cases [{"name"?, "entry", "entity": {...}, "expect"?: {"tasks", "properties"}}, ...]
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crux.common.formats import is_ident
from crux.engine import (
    MatchError,
    Problem,
    ValidationFailed,
    compile_family,
    convert_entity,
    normalize_rules,
    normalize_schema,
    validate_ruleset,
    validate_schema,
)
from crux.engine.values import START, to_bool
from crux.services.steps import check_steps, schema_steps

# --------------------------------------------------------------------------------------------
# reading documents
# --------------------------------------------------------------------------------------------

class Doc:
    """One JSON file and what kind of rule document it is."""

    def __init__(self, path: Path):
        self.path = path
        self.data: Any = None
        self.kind = "unknown"
        self.error: str | None = None
        try:
            with open(path, encoding="utf-8") as f:
                self.data = json.load(f)
        except (OSError, ValueError) as ex:
            self.kind = "broken"
            self.error = f"cannot read JSON: {ex}"
            return
        d = self.data
        if isinstance(d, dict) and "patternschema" in d:
            self.kind = "schema"
        elif isinstance(d, dict) and ("ruleset" in d or "flowrules" in d):
            self.kind = "ruleset"
        elif isinstance(d, list) and d and all(isinstance(x, dict) for x in d):
            if all("step" in x and "workflow" in x for x in d):
                self.kind = "stepworkflows"
            elif all("entity" in x for x in d):
                self.kind = "entities"

    @property
    def cls(self):
        return self.data.get("class") if isinstance(self.data, dict) else None

    @property
    def name(self):
        return self.data.get("name") if isinstance(self.data, dict) else None

    @property
    def rules_key(self) -> str:
        return "ruleset" if "ruleset" in self.data else "flowrules"

    @property
    def rules(self):
        return self.data.get(self.rules_key)


def expand(paths) -> list[Path]:
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(p.glob("*.json")))
        else:
            out.append(p)
    return out


class Library:
    """Every document of the given files plus their directories' JSON files (for lookups)."""

    def __init__(self, files: list[Path]):
        self.docs: dict[Path, Doc] = {}
        for f in files:
            self.add(f)
        for d in sorted({f.resolve().parent for f in files}):
            for f in sorted(d.glob("*.json")):
                self.add(f)

    def add(self, path: Path) -> None:
        key = path.resolve()
        if key not in self.docs:
            self.docs[key] = Doc(path)

    def of_kind(self, kind: str) -> list[Doc]:
        return [d for d in self.docs.values() if d.kind == kind]

    def schema_for(self, cls) -> Doc | None:
        for d in self.of_kind("schema"):
            if d.cls == cls:
                return d
        return None

    def known(self) -> dict[str, str]:
        return {d.name: d.cls for d in self.of_kind("ruleset") if isinstance(d.name, str)}

    def calls_of(self) -> dict[str, set]:
        out = {}
        for d in self.of_kind("ruleset"):
            if isinstance(d.name, str):
                out[d.name] = _calls(d.rules)
        return out

    def ruleset(self, name) -> Doc | None:
        for d in self.of_kind("ruleset"):
            if d.name == name:
                return d
        return None


def _calls(rules) -> set:
    try:
        norm = normalize_rules(rules)
    except (AttributeError, TypeError, ValueError):     # a broken ruleset calls nothing we can see
        return set()
    return {c for r in norm for c in (r["ruleactions"]["thencall"], r["ruleactions"]["elsecall"])
            if isinstance(c, str) and c}


def brwf_of(schema_doc: Doc) -> str:
    return schema_doc.data.get("brwf", "B")


# --------------------------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------------------------

def check_doc(doc: Doc, lib: Library) -> list[Problem]:
    if doc.kind == "broken":
        return [Problem("", "invalid", doc.error or "cannot read the file")]
    if doc.kind == "schema":
        return _check_schema(doc, lib)
    if doc.kind == "ruleset":
        return _check_ruleset(doc, lib)
    if doc.kind == "stepworkflows":
        return _check_stepworkflows(doc, lib)
    if doc.kind == "entities":
        return _check_entities(doc, lib)
    return [Problem("", "invalid", "not a schema, ruleset, stepworkflow or entity-case document")]


def _check_schema(doc: Doc, lib: Library) -> list[Problem]:
    problems = validate_schema(doc.data, brwf_of(doc))
    twins = [d for d in lib.of_kind("schema") if d.cls == doc.cls and d is not doc]
    if twins and doc.cls is not None:
        problems.append(Problem("class", "already_exist",
                                f"class {doc.cls} also has a schema in {twins[0].path}",
                                (doc.cls,)))
    return problems


def _check_ruleset(doc: Doc, lib: Library) -> list[Problem]:
    problems = []
    name, cls = doc.name, doc.cls
    if not is_ident(name):
        problems.append(Problem("name", "required" if name is None else "invalid",
                                "a ruleset needs a name (a lower-case identifier)", (name,)))
    if not is_ident(cls):
        problems.append(Problem("class", "required" if cls is None else "invalid",
                                "a ruleset needs a class (a lower-case identifier)", (cls,)))
        return problems
    twins = [d for d in lib.of_kind("ruleset") if d.name == name and d is not doc]
    if twins and name is not None:
        problems.append(Problem("name", "already_exist",
                                f"ruleset {name} is also defined in {twins[0].path}", (name,)))
    schema = lib.schema_for(cls)
    if schema is None:
        problems.append(Problem("class", "not_found",
                                f"no schema for class {cls} among the files or in "
                                f"{doc.path.resolve().parent}", (cls,)))
        return problems
    if validate_schema(schema.data, brwf_of(schema)):
        problems.append(Problem("class", "invalid",
                                f"the schema of class {cls} ({schema.path}) has problems"))
        return problems
    problems += validate_ruleset(doc.rules, normalize_schema(schema.data), brwf_of(schema),
                                 name if isinstance(name, str) else "", cls, lib.known(),
                                 lib.calls_of(), path=doc.rules_key)
    if brwf_of(schema) == "W" and "steps" in doc.data:
        problems += [Problem(m["field"], m["errcode"], m.get("msg", ""), tuple(m["vals"]))
                     for m in check_steps(doc.data["steps"], schema_steps(normalize_schema(schema.data)))]
    return problems


def _check_stepworkflows(doc: Doc, lib: Library) -> list[Problem]:
    problems = []
    steps: set[str] = set()
    for s in lib.of_kind("schema"):
        if brwf_of(s) == "W" and isinstance(s.data.get("actionschema"), dict):
            steps.update(s.data["actionschema"].get("tasks") or [])
    seen = set()
    for i, row in enumerate(doc.data):
        step, wf = row.get("step"), row.get("workflow")
        if step not in steps:
            problems.append(Problem(f"[{i}].step", "not_found",
                                    f"{step} is not a step of any workflow schema here", (step,)))
        if step in seen:
            problems.append(Problem(f"[{i}].step", "already_exist",
                                    f"step {step} is listed twice", (step,)))
        seen.add(step)
        target = lib.ruleset(wf)
        if target is None:
            problems.append(Problem(f"[{i}].workflow", "not_found",
                                    f"workflow {wf} is not defined here", (wf,)))
        else:
            schema = lib.schema_for(target.cls)
            if schema is None or brwf_of(schema) != "W":
                problems.append(Problem(f"[{i}].workflow", "invalid",
                                        f"{wf} is not a workflow (its schema is not W)", (wf,)))
    return problems


def _check_entities(doc: Doc, lib: Library) -> list[Problem]:
    problems = []
    families: dict = {}
    for i, case in enumerate(doc.data):
        entry = case.get("entry")
        rs = lib.ruleset(entry)
        if rs is None:
            problems.append(Problem(f"[{i}].entry", "not_found",
                                    f"ruleset {entry} is not defined here", (entry,)))
            continue
        if rs.cls not in families:
            try:
                families[rs.cls] = load_family(lib, rs.cls)
            except (ValidationFailed, LookupError) as ex:
                families[rs.cls] = None
                why = (f"{ex.problems[0].field}: {ex.problems[0].msg}"
                       if isinstance(ex, ValidationFailed) else str(ex))
                problems.append(Problem(f"[{i}]", "invalid",
                                        f"the rulesets of class {rs.cls} cannot be evaluated "
                                        f"({why})"))
        family = families[rs.cls]
        if family is None:
            continue
        try:
            entity = entity_for(family, case["entity"], path=f"[{i}].entity")
            got = family.match(entry, entity)
        except ValidationFailed as ex:
            problems.extend(ex.problems)
            continue
        except MatchError as ex:
            problems.append(Problem(f"[{i}]", ex.errcode, str(ex)))
            continue
        want = case.get("expect")
        if want is not None and got.actionset() != want:
            problems.append(Problem(f"[{i}].expect", "invalid",
                                    f"expected {json.dumps(want)}, got "
                                    f"{json.dumps(got.actionset())}"))
    return problems


def load_family(lib: Library, cls: str):
    """The compiled family of class `cls` from the library's documents."""
    schema = lib.schema_for(cls)
    if schema is None:
        raise LookupError(f"no schema for class {cls}")
    brwf = brwf_of(schema)
    problems = validate_schema(schema.data, brwf)
    if problems:
        raise ValidationFailed(problems)
    # the compiler takes rules as validation shapes them: check each ruleset of the class first
    doc = normalize_schema(schema.data)
    known, calls_of = lib.known(), lib.calls_of()
    rulesets, foreign = {}, {}
    for d in lib.of_kind("ruleset"):
        if not isinstance(d.name, str):
            continue
        if d.cls == cls:
            problems += [Problem(f"{d.name}.{p.field}", p.errcode, p.msg, p.vals)
                         for p in validate_ruleset(d.rules, doc, brwf, d.name, cls, known, calls_of,
                                                   path=d.rules_key)]
            steps = d.data.get("steps") or {}
            rulesets[d.name] = {"rules": d.rules, "is_active": True,
                                "is_internal": bool(d.data.get("is_internal", False)),
                                "steps": steps if isinstance(steps, dict) else {}}
        elif isinstance(d.cls, str):
            foreign[d.name] = d.cls
    if problems:
        raise ValidationFailed(problems)
    return compile_family(schema.data, rulesets, cls, brwf, foreign=foreign)


def entity_for(family, raw, path: str = "entity") -> dict:
    """The entity converted; for a workflow, with step (default START) and stepfailed."""
    if family.brwf != "W":
        return convert_entity(family.schema, raw, path=path)
    entity = convert_entity(family.schema, raw, workflow=True, path=path)
    step = raw.get("step", START) if isinstance(raw, dict) else START
    failed = raw.get("stepfailed", False) if isinstance(raw, dict) else False
    problems = []
    if step not in family.step_values:
        problems.append(Problem(f"{path}.step", "invalid", f"{step!r} is not a step", (step,)))
    try:
        failed = to_bool(failed)
    except ValueError:
        problems.append(Problem(f"{path}.stepfailed", "invalid", "must be true or false"))
    if problems:
        raise ValidationFailed(problems)
    entity["step"] = step
    entity["stepfailed"] = failed
    return entity
