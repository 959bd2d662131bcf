"""Admin calls of SPEC §4.3: slices, apps, capabilities, config, and realms (command line only).
Each write is one unit of work (crux/services/uow.py) with its changelog rows and cache notices;
every query carries the caller's realm."""
from __future__ import annotations

import datetime as dt

from crux.errors import CruxError, message, not_found
from crux.services.principal import ALL_CAPS, APP_CAPS, REALM_CAPS, Identity
from crux.services.uow import UnitOfWork, unit_of_work
from crux.store import apps as app_store
from crux.store import config as config_store
from crux.store import grants as grant_store
from crux.store import realms as realm_store


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _require_slice(conn, realm: str, slice_id: int, field: str = "id", lock: bool = False) -> dict:
    row = realm_store.get_slice(conn, realm, slice_id, lock=lock)
    if row is None:
        raise not_found(field, slice_id)
    return row


def _require_apps(conn, realm: str, apps: list[str]) -> None:
    """404 naming every app of the list (field `app[i]`) that the realm does not have."""
    missing = app_store.missing_apps(conn, realm, apps)
    if missing:
        raise CruxError.many([message("not_found", f"app[{apps.index(m)}]", [m], f"app {m} does not exist")
                              for m in missing])


# ---- realms (no web call creates realms: SPEC §1) ----------------------------------------------

def create_realm(db, name: str, longname: str, admin: str) -> bool:
    """A realm with slice 1 (active) and `admin` holding root and auth, unless the realm exists;
    True when it was created."""
    with unit_of_work(db, name, admin) as uow:
        if not realm_store.create_realm(uow.conn, name, longname, admin):
            return False
        uow.changed("realm", name, "insert", None, {"shortname": name, "longname": longname})
    return True


# ---- slices -----------------------------------------------------------------------------------

def slice_new(db, ident: Identity, data: dict) -> int:
    realm, who = ident.realm, ident.user
    with unit_of_work(db, realm, who) as uow:
        source = data.get("copyof")
        apps = data.get("app")
        if source is not None:
            _require_slice(uow.conn, realm, source, "copyof")
        if apps is not None:
            _require_apps(uow.conn, realm, apps)
        slice_id = realm_store.new_slice(uow.conn, realm, data.get("descr", ""), active=source is None, who=who)
        new = {"id": slice_id, "descr": data.get("descr", ""), "active": source is None}
        if source is not None:
            new["copyof"] = source
            new["copied"] = realm_store.copy_slice_contents(uow.conn, realm, source, slice_id, apps, who)
            if apps is not None:
                new["apps"] = apps
        uow.changed("realmslice", (realm, slice_id), "insert", None, new)
        _slice_changed(uow, slice_id)
    return slice_id


def _slice_changed(uow: UnitOfWork, slice_id: int) -> None:
    uow.notify("slice", realm=uow.realm, slice=slice_id)


def slice_activate(db, ident: Identity, data: dict) -> dict:
    return _slice_set_active(db, ident, data, True)


def slice_deactivate(db, ident: Identity, data: dict) -> dict:
    return _slice_set_active(db, ident, data, False)


def _slice_set_active(db, ident: Identity, data: dict, active: bool) -> dict:
    realm = ident.realm
    at = data.get("from")
    if at is not None and at <= _now():
        raise CruxError("invalid", "from", [data["from"]], "from must be in the future")
    with unit_of_work(db, realm, ident.user) as uow:
        old = _require_slice(uow.conn, realm, data["id"], lock=True)
        new = realm_store.set_slice_state(uow.conn, realm, data["id"], active, at, ident.user)
        uow.changed("realmslice", (realm, data["id"]), "update", _slice_state(old), _slice_state(new))
        _slice_changed(uow, data["id"])
    return new


def _slice_state(row: dict) -> dict:
    return {k: row[k] for k in ("active", "activateat", "deactivateat")}


def slice_list(db, ident: Identity, data: dict) -> dict:
    with db.connection() as conn:
        return {"slices": realm_store.list_slices(conn, ident.realm)}


def slice_apps(db, ident: Identity, data: dict) -> list[dict]:
    with db.connection() as conn:
        _require_slice(conn, ident.realm, data["id"])
        return realm_store.slice_apps(conn, ident.realm, data["id"])


def slice_purge(db, ident: Identity, data: dict) -> dict:
    realm, slice_id = ident.realm, data["id"]
    with unit_of_work(db, realm, ident.user) as uow:
        old = _require_slice(uow.conn, realm, slice_id, lock=True)
        if old["active"] or (old["activateat"] is not None and old["activateat"] > _now()):
            raise CruxError("not_allowed", "id", [slice_id],
                            "only an inactive slice with no activation pending can be purged")
        counts = realm_store.purge_slice(uow.conn, realm, slice_id)
        uow.changed("realmslice", (realm, slice_id), "delete", dict(old), {"deleted": counts})
        _slice_changed(uow, slice_id)
    return {"id": slice_id, "deleted": counts}


# ---- apps -------------------------------------------------------------------------------------

def app_new(db, ident: Identity, data: dict) -> dict:
    realm = ident.realm
    with unit_of_work(db, realm, ident.user) as uow:
        if app_store.get_app(uow.conn, realm, data["name"]) is not None:
            raise CruxError("already_exist", "name", [data["name"]], f"app {data['name']} already exists")
        new = app_store.insert_app(uow.conn, realm, data["name"], data.get("descr", ""), ident.user)
        uow.changed("app", (realm, new["name"]), "insert", None, new)
    return new


def app_update(db, ident: Identity, data: dict) -> dict:
    realm = ident.realm
    with unit_of_work(db, realm, ident.user) as uow:
        old = app_store.get_app(uow.conn, realm, data["name"], lock=True)
        if old is None:
            raise not_found("name", data["name"])
        new = app_store.update_app(uow.conn, realm, data["name"], data.get("descr", ""))
        assert new is not None      # locked above
        uow.changed("app", (realm, new["name"]), "update", old, new)
    return new


def app_delete(db, ident: Identity, data: dict) -> dict:
    realm, name = ident.realm, data["name"]
    with unit_of_work(db, realm, ident.user) as uow:
        old = app_store.get_app(uow.conn, realm, name, lock=True)
        if old is None:
            raise not_found("name", name)
        if app_store.app_in_use(uow.conn, realm, name):
            raise CruxError("non_empty", "name", [name], f"app {name} still has schemas, rulesets or stepworkflows")
        grants = grant_store.delete_app_grants(uow.conn, realm, old["name"])
        if grants:
            uow.notify("realm", realm=realm)    # any number of users: every identity of the realm
        app_store.delete_app(uow.conn, realm, name)
        uow.changed("app", (realm, old["name"]), "delete", old, None)
    return {"name": old["name"], "grantsremoved": grants}


def app_list(db, ident: Identity, data: dict) -> dict:
    with db.connection() as conn:
        return {"apps": app_store.list_apps(conn, ident.realm)}


# ---- capabilities -----------------------------------------------------------------------------

def _unknown_cap(i: int, cap: str) -> dict:
    return message("invalid", f"cap[{i}]", [cap], f"unknown capability {cap}")


def _check_caps(caps: list[str], apps: list[str] | None) -> None:
    problems = []
    for i, cap in enumerate(caps):
        if cap not in ALL_CAPS:
            problems.append(_unknown_cap(i, cap))
        elif apps and cap in REALM_CAPS:
            problems.append(message("invalid", f"cap[{i}]", [cap], f"{cap} is a realm-level capability: give no app"))
        elif not apps and cap in APP_CAPS:
            problems.append(message("required", "app", [cap], f"{cap} is an app-level capability: name the apps"))
    if problems:
        raise CruxError.many(problems)


def _require_user(conn, realm: str, user: str) -> None:
    """404 for a user the realm does not know (no grant, not deactivated)."""
    if not grant_store.user_known(conn, realm, user):
        raise not_found("user", user)


def cap_grant(db, ident: Identity, data: dict) -> dict:
    realm, user = ident.realm, data["user"]
    caps, apps = data["cap"], data.get("app") or None
    _check_caps(caps, apps)
    if "root" in caps and not ident.has("root"):
        raise CruxError("unauthorized", "cap", ["root"], "granting root needs root")
    if data.get("from") and data.get("to") and data["from"] > data["to"]:
        raise CruxError("invalid", "to", [data["to"]], "to must not be before from")
    with unit_of_work(db, realm, ident.user) as uow:
        if apps:
            _require_apps(uow.conn, realm, apps)
        rows = grant_store.upsert_grants(uow.conn, realm, user, apps or [None], caps, data.get("from"), data.get("to"),
                                         ident.user)
        uow.changed_many("capgrant", [((realm, user, r["new"]["app"] or "", r["new"]["cap"]),
                                       "insert" if r["inserted"] else "update", r["old"], r["new"]) for r in rows])
        uow.notify("identity", realm=realm, user=user)
    return {"capabilities": [r["new"] for r in rows]}


def cap_revoke(db, ident: Identity, data: dict) -> dict:
    realm, user = ident.realm, data["user"]
    caps = None if data["cap"] == ["ALL"] else [c.lower() for c in data["cap"]]
    apps_given = data.get("app")
    apps = None if not apps_given or apps_given == ["ALL"] else [a.lower() for a in apps_given]
    if caps is not None:
        bad = [_unknown_cap(i, c) for i, c in enumerate(caps) if c not in ALL_CAPS]
        if bad:
            raise CruxError.many(bad)
    if (caps is None or "root" in caps) and not ident.has("root"):
        raise CruxError("unauthorized", "cap", ["root"], "revoking root needs root")
    with unit_of_work(db, realm, ident.user) as uow:
        grant_store.lock_realm_roots(uow.conn, realm)
        _require_user(uow.conn, realm, user)
        # Without an app list, realm-level grants are revoked too; with one, only those apps'.
        removed = grant_store.delete_grants(uow.conn, realm, user, apps, caps)
        if not removed:
            raise CruxError("not_found", "cap", data["cap"], f"user {user} holds none of these capabilities")
        if any(r["cap"] == "root" for r in removed) and grant_store.other_root_holders(uow.conn, realm, user) == 0:
            raise CruxError("not_allowed", "cap", ["root"], "the last root holder of a realm cannot lose root")
        uow.changed_many("capgrant", [((realm, user, row["app"] or "", row["cap"]), "delete", row, None)
                                      for row in removed])
        uow.notify("identity", realm=realm, user=user)
    return {"capabilities": removed}


def cap_get(db, ident: Identity, data: dict) -> dict:
    with db.connection() as conn:
        _require_user(conn, ident.realm, data["user"])
        return {"user": data["user"], "deactivated": grant_store.is_deactivated(conn, ident.realm, data["user"]),
                "capabilities": grant_store.grants_of(conn, ident.realm, data["user"])}


def cap_list(db, ident: Identity, data: dict) -> dict:
    with db.connection() as conn:
        return {"capabilities": grant_store.list_grants(conn, ident.realm, data.get("app"), data.get("cap"))}


def user_activate(db, ident: Identity, data: dict) -> dict:
    realm, user = ident.realm, data["user"]
    with unit_of_work(db, realm, ident.user) as uow:
        _require_user(uow.conn, realm, user)
        if grant_store.activate(uow.conn, realm, user):
            uow.changed("deactivated", (realm, user), "delete", {"user": user}, None)
            uow.notify("identity", realm=realm, user=user)
    return {"user": user, "active": True}


def user_deactivate(db, ident: Identity, data: dict) -> dict:
    realm, user = ident.realm, data["user"]
    with unit_of_work(db, realm, ident.user) as uow:
        grant_store.lock_realm_roots(uow.conn, realm)
        _require_user(uow.conn, realm, user)
        holds_root = any(g["cap"] == "root" for g in grant_store.grants_of(uow.conn, realm, user))
        if holds_root and grant_store.other_root_holders(uow.conn, realm, user) == 0:
            raise CruxError("not_allowed", "user", [user], "the last root holder of a realm cannot be deactivated")
        if grant_store.deactivate(uow.conn, realm, user, ident.user):
            uow.changed("deactivated", (realm, user), "insert", None, {"user": user, "deactby": ident.user})
            uow.notify("identity", realm=realm, user=user)
    return {"user": user, "active": False}


# ---- config -----------------------------------------------------------------------------------

def config_set(db, ident: Identity, data: dict) -> dict:
    realm = ident.realm
    with unit_of_work(db, realm, ident.user) as uow:
        _require_slice(uow.conn, realm, data["slice"], "slice")
        old, new = config_store.set_config(uow.conn, realm, data["slice"], data["name"], data["val"], data.get("descr"),
                                           ident.user)
        uow.changed("config", (realm, data["slice"], data["name"]), "update" if old else "insert", old, new)
    return new


def config_get(db, ident: Identity, data: dict) -> list[dict]:
    with db.connection() as conn:    # a list filter: a slice that does not exist matches nothing
        return config_store.get_config(conn, ident.realm, data.get("slice"))
