"""The ruleset cache (SPEC §3 Cache): compiled rule families held in RAM, one per
(realm, slice, app, class), kept coherent across processes through LISTEN/NOTIFY.

    family(realm, slice, app, cls)     -> CompiledFamily | None   (None: no schema for the class)
    workflow(realm, slice, app, name)  -> (CompiledFamily, cls)   (raises not_found("workflow", name))
    stepworkflows(realm, slice, app)   -> Mapping step -> workflow
    slice_active(realm, slice)         -> bool | None             (effective now; None: no such slice)

Entries are immutable snapshots, replaced and never changed, so a running evaluation is not
disturbed by a concurrent edit. Rule writes (stepworkflows included) send `uow.notify("rules",
realm=, slice=, app=, cls=)`; slice writes send "slice" {realm, slice}; a listener (re)connect drops
everything, and while the listener is disconnected nothing loaded is kept. A load that races an
invalidation of its slice or app (the invalidation came after the load started) is used once
but not kept.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from crux.engine import CompiledFamily, ValidationFailed, compile_family
from crux.errors import CruxError, not_found
from crux.services.rules import require_slice_app
from crux.store import realms as realm_store
from crux.store import rules as rule_store
from crux.store.scope import Scope

_EMPTY: Mapping = MappingProxyType({})


@dataclass(frozen=True)
class AppIndex:
    """What one (realm, slice, app) holds, by name: enough to route a call without the database."""
    rulesets: Mapping[str, tuple[str, ...]]     # BRE ruleset name -> classes having it
    workflows: Mapping[str, str]                # workflow name -> class (unique per app)
    stepworkflows: Mapping[str, str]            # step -> workflow


@dataclass(frozen=True)
class SliceState:
    active: bool
    activateat: dt.datetime | None
    deactivateat: dt.datetime | None

    def active_at(self, now: dt.datetime) -> bool:
        """The effective state at `now`: the latest scheduled change already due wins
        (the same rule as crux.store.realms.EFFECTIVE_ACTIVE)."""
        on = self.activateat if self.activateat is not None and self.activateat <= now else None
        off = self.deactivateat if self.deactivateat is not None and self.deactivateat <= now else None
        if on is not None and off is not None:
            return on > off
        if on is not None or off is not None:
            return on is not None
        return self.active


class RulesetCache:
    def __init__(self, db, listener, first_connect_wait: float = 2.0):
        self.db = db
        self.listener = listener
        # A new process waits this long, once, for its listener's first connection, so the
        # entries it loads right after starting are kept (and invalidated) like all others.
        self.first_connect_wait = first_connect_wait
        self._was_connected = False
        # key -> (generation, value); each dict is only replaced entry by entry under _lock
        self._families: dict[tuple, tuple[int, CompiledFamily | None]] = {}
        self._apps: dict[tuple, tuple[int, AppIndex]] = {}
        self._slices: dict[tuple, tuple[int, SliceState]] = {}
        self._lock = threading.Lock()
        self._loading: dict[tuple, threading.Lock] = {}
        # Invalidation marks: a counter bumped by every invalidation, and its value at the last
        # one of each scope, so a load is kept only if nothing it covers was invalidated meanwhile.
        self._epoch = 0
        self._cleared_at = 0
        self._marks: dict[tuple, int] = {}      # (realm, slice) or (realm, slice, app) -> epoch
        self.loads = 0          # family compilations, for tests and metrics
        listener.subscribe("rules", self._on_app_change)
        listener.subscribe("slice", self._on_slice_change)
        listener.on_reset(self.clear)

    # ---- the interface --------------------------------------------------------------------

    def family(self, realm: str, slice_id: int, app: str, cls: str) -> CompiledFamily | None:
        """The compiled schema and rulesets of one class; None when the class has no schema."""
        return self._get(self._families, ("f", realm, slice_id, app, cls),
                         lambda: self._load_family(realm, slice_id, app, cls))

    def workflow(self, realm: str, slice_id: int, app: str, name: str) -> tuple[CompiledFamily, str]:
        """The family holding workflow `name`, and its class."""
        cls = self.app_index(realm, slice_id, app).workflows.get(name)
        family = None if cls is None else self.family(realm, slice_id, app, cls)
        if cls is None or family is None or name not in family.rulesets:
            raise not_found("workflow", name)
        return family, cls

    def stepworkflows(self, realm: str, slice_id: int, app: str) -> Mapping[str, str]:
        return self.app_index(realm, slice_id, app).stepworkflows

    def app_index(self, realm: str, slice_id: int, app: str) -> AppIndex:
        """Names of an app's rulesets, workflows and stepworkflows; 404 for a missing slice or app."""
        return self._get(self._apps, ("a", realm, slice_id, app), lambda: self._load_app(realm, slice_id, app))

    def slice_active(self, realm: str, slice_id: int, now: dt.datetime | None = None) -> bool | None:
        """Whether a slice is active now (scheduled changes honoured); None when it does not exist."""
        state = self._get(self._slices, ("s", realm, slice_id), lambda: self._load_slice(realm, slice_id))
        if state is None:
            return None
        return state.active_at(now or dt.datetime.now(dt.UTC))

    def require_active_slice(self, realm: str, slice_id: int) -> None:
        """Refuse a slice that does not exist (404) or is not active now (SPEC §4.4)."""
        active = self.slice_active(realm, slice_id)
        if active is None:
            raise not_found("slice", slice_id)
        if not active:
            raise CruxError("not_allowed", "slice", [slice_id], f"slice {slice_id} is not active")

    # ---- invalidation ---------------------------------------------------------------------

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._cleared_at = self._epoch
            self._families.clear()
            self._apps.clear()
            self._slices.clear()

    def forget_app(self, realm: str, slice_id: int, app: str) -> None:
        """Drop what is cached for one (realm, slice, app): every class of it, and its index."""
        def hit(key):
            return key[1] == realm and key[2] == slice_id and key[3] == app
        self._drop((realm, slice_id, app), hit, slices=False)

    def forget_slice(self, realm: str, slice_id: int) -> None:
        self._drop((realm, slice_id), lambda key: key[1] == realm and key[2] == slice_id, slices=True)

    def _on_app_change(self, message: dict) -> None:
        realm, slice_id, app = message["realm"], message["slice"], message.get("app")   # realm and slice always
        if app is None:
            self.forget_slice(realm, slice_id)
        else:
            self.forget_app(realm, slice_id, app)

    def _on_slice_change(self, message: dict) -> None:
        self.forget_slice(message["realm"], message["slice"])

    def _drop(self, scope: tuple, hit: Callable[[tuple], bool], slices: bool) -> None:
        with self._lock:
            self._epoch += 1
            self._marks[scope] = self._epoch
            for store in (self._families, self._apps) + ((self._slices,) if slices else ()):
                for key in [k for k in store if hit(k)]:
                    del store[key]

    # ---- loading --------------------------------------------------------------------------

    def _get(self, store: dict, key: tuple, load: Callable):
        generation = self.listener.generation
        if generation is None and not self._was_connected:
            self.listener.wait_connected(self.first_connect_wait)
            generation = self.listener.generation
        self._was_connected = self._was_connected or generation is not None
        hit = store.get(key)
        if hit is not None and generation is not None and hit[0] == generation:
            return hit[1]
        if generation is None:
            return load()[0]    # not connected: invalidations could be missed, keep nothing
        with self._lock:
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:          # one load per key at a time; the others wait and reuse it
            try:
                hit = store.get(key)
                if hit is not None and hit[0] == generation:
                    return hit[1]
                started = self._epoch
                value, keep = load()
                with self._lock:
                    if keep and not self._invalidated_since(key, started) and self.listener.generation == generation:
                        store[key] = (generation, value)
            finally:
                with self._lock:
                    self._loading.pop(key, None)
        return value

    def _invalidated_since(self, key: tuple, epoch: int) -> bool:
        """Whether an invalidation covering `key` happened after `epoch` (under _lock)."""
        return (self._cleared_at > epoch or self._marks.get(key[1:3], 0) > epoch
                or (len(key) > 3 and self._marks.get(key[1:4], 0) > epoch))

    def _load_family(self, realm, slice_id, app, cls):
        with self.db.connection() as conn:
            row = rule_store.family_rows(conn, Scope(realm, slice_id, app), cls)
        if row is None:
            return None, False      # not kept: names that do not exist must not fill the memory
        doc = {"class": cls, "patternschema": row["patternschema"], "actionschema": row["actionschema"]}
        rulesets = {r["name"]: {"rules": r["rules"], "is_active": r["is_active"], "is_internal": r["is_internal"],
                                "steps": r.get("steps")} for r in row["rulesets"]}
        others = dict(row["others"])
        try:
            family = compile_family(doc, rulesets, cls, row["brwf"], foreign=others)
        except ValidationFailed as exc:
            first = exc.problems[0]
            raise CruxError("eval_failed", "class", [cls],
                            f"the stored rules of class {cls} do not compile: {first.field}: {first.msg}") from None
        self.loads += 1
        return family, True

    def _load_app(self, realm, slice_id, app):
        with self.db.connection() as conn:
            row = rule_store.app_index(conn, Scope(realm, slice_id, app))
        require_slice_app(row, slice_id, app)
        if not row["rulesets"] and not row["stepworkflows"]:
            return AppIndex(_EMPTY, _EMPTY, _EMPTY), False     # not kept: an app's deletion sends no notice
        rulesets: dict[str, list[str]] = {}
        workflows: dict[str, str] = {}
        for name, cls, brwf in row["rulesets"]:
            if brwf == "W":
                workflows[name] = cls
            else:
                rulesets.setdefault(name, []).append(cls)
        index = AppIndex(MappingProxyType({k: tuple(v) for k, v in rulesets.items()}),
                         MappingProxyType(workflows), MappingProxyType(dict(row["stepworkflows"])))
        return index, True

    def _load_slice(self, realm, slice_id):
        with self.db.connection() as conn:
            row = realm_store.get_slice(conn, realm, slice_id)
        if row is None:
            return None, False      # a new slice sends a notification, but keep nothing for a miss anyway
        return SliceState(row["active"], row["activateat"], row["deactivateat"]), True
