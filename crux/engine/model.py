"""Value objects and exceptions shared by the engine modules."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# errcodes used by the engine (the API's catalog maps them to message ids)
REQUIRED = "required"
INVALID = "invalid"
NOT_FOUND = "not_found"
NOT_ALLOWED = "not_allowed"
ALREADY_EXIST = "already_exist"
EMPTY = "empty"


@dataclass(frozen=True)
class Problem:
    """One validation problem: where (a JSON path), what (errcode), why (msg) and the values."""

    field: str
    errcode: str
    msg: str
    vals: tuple[Any, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "errcode": self.errcode, "msg": self.msg,
                "vals": list(self.vals)}


def scalar_vals(value: object) -> tuple[Any, ...]:
    """A problem's `vals` showing `value`: (value,) for a JSON scalar, else ()."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return (value,)
    return ()


class ValidationFailed(Exception):
    """A document or entity failed validation; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        first = self.problems[0] if self.problems else None
        text = f"{first.field}: {first.msg}" if first else "validation failed"
        if len(self.problems) > 1:
            text += f" (and {len(self.problems) - 1} more problems)"
        super().__init__(text)


class MatchError(Exception):
    """An evaluation was aborted; the partial action set is discarded.

    errcode is "invalid" (cycle, callee of another class, a value that cannot be compared)
    or "not_found" (unknown ruleset); field names the offending part when known.
    """

    def __init__(self, msg: str, errcode: str = INVALID, field: str | None = None,
                 vals: tuple[Any, ...] = ()):
        super().__init__(msg)
        self.msg = msg
        self.errcode = errcode
        self.field = field
        self.vals = tuple(vals)


@dataclass(slots=True)
class MatchResult:
    """The action set of one evaluation, plus the trace's "visits" when tracing was asked."""

    tasks: list[str]
    properties: dict[str, str]
    visits: list[dict[str, Any]] | None = None

    def actionset(self) -> dict[str, Any]:
        return {"tasks": list(self.tasks), "properties": dict(self.properties)}


@dataclass(frozen=True)
class RulesetInfo:
    """A compiled family's view of one ruleset (canonical rules kept for display)."""

    name: str
    is_active: bool
    is_internal: bool
    rules: tuple[dict[str, Any], ...]
    calls: tuple[str, ...] = ()          # names this ruleset calls, in first-use order
    # a workflow's step settings (SPEC §8.1), as stored
    steps: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class AttrSpec:
    """One pattern-schema attribute, with its bounds, as the engine uses it."""

    name: str
    valtype: str
    vals: tuple[str, ...] = ()
    valmin: Any = None
    valmax: Any = None
    lenmin: int | None = None
    lenmax: int | None = None
    valset: frozenset[str] = field(init=False, compare=False)     # vals, for membership tests

    def __post_init__(self) -> None:
        object.__setattr__(self, "valset", frozenset(self.vals))


class CTerm:
    """One compiled term: attribute (or task tag), operator, converted literal, literal as given."""

    __slots__ = ("attr", "is_tag", "op", "lit", "raw")

    def __init__(self, attr: str, is_tag: bool, op: str, lit: Any, raw: Any):
        self.attr, self.is_tag, self.op, self.lit, self.raw = attr, is_tag, op, lit, raw


class CRule:
    """One compiled rule: its position, terms and actions."""

    __slots__ = ("index", "terms", "tasks", "props", "thencall", "elsecall", "willreturn",
                 "willexit")

    def __init__(self, index: int, terms: list[CTerm], acts: dict[str, Any]):
        self.index = index
        self.terms: tuple[CTerm, ...] = tuple(terms)
        self.tasks: tuple[str, ...] = tuple(acts["tasks"])
        self.props: tuple[tuple[str, str], ...] = tuple(acts["properties"].items())
        self.thencall: str | None = acts["thencall"]
        self.elsecall: str | None = acts["elsecall"]
        self.willreturn: bool = acts["willreturn"]
        self.willexit: bool = acts["willexit"]


def cycle_error(chain: list[str]) -> MatchError:
    """The evaluation called a ruleset already on the call chain (`chain` ends with it)."""
    return MatchError("call cycle: " + " -> ".join(chain), INVALID, "ruleset", (chain[-1],))


def callee_error(caller: str, index: int, key: str, callee: str, other: str | None,
                 cls: str) -> MatchError:
    """Rule `index` of `caller` calls (`key`) a ruleset that is missing, or of class `other`."""
    where = f"ruleset {caller} rule {index} ({key}) calls ruleset {callee}, "
    if other is not None:
        return MatchError(where + f"which is of class {other}, not {cls}", INVALID, "ruleset",
                          (callee,))
    return MatchError(where + "which does not exist", NOT_FOUND, "ruleset", (callee,))


# Python errors that running compiled or traced rules can raise, turned into MatchErrors.
EVALUATION_FAILURES = (KeyError, TypeError, RecursionError)


def evaluation_error(ex: Exception) -> MatchError:
    if isinstance(ex, KeyError):
        name = ex.args[0] if ex.args else "?"
        return MatchError(f"the entity has no attribute {name}", REQUIRED, f"entity.{name}", (name,))
    if isinstance(ex, RecursionError):
        return MatchError("the chain of ruleset calls is too deep")
    return MatchError(f"a value of the entity cannot be compared: {ex}")
