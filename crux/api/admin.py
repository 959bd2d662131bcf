"""Admin calls (SPEC §4.3): slices, apps, capabilities, config."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, validates_schema

from crux.api.auth import RealmCap
from crux.api.calls import DELETE, LIST, UPDATE, CallContext, CallGroup
from crux.api.fields import Choice, Id, Name, NameList, String, Text, Timestamp, UpperName, UserName
from crux.services import admin
from crux.services.principal import ALL_CAPS, APP_CAPS, REALM_CAPS

calls = CallGroup("admin")
ROOT, AUTH, CONFIG, REPORT = RealmCap("root"), RealmCap("auth"), RealmCap("config"), RealmCap("report")


# ---- payloads ---------------------------------------------------------------------------------

class SliceNew(Schema):
    copyof = Id(metadata={"description": "slice to copy; the copy starts inactive"})
    descr = Text(load_default="")
    app = NameList(Name(fold=True), metadata={"description": "copy only these apps' rules"})


class SliceRef(Schema):
    id = Id(required=True)


class SliceState(SliceRef):
    # "from" is a keyword in Python: the field is declared under another name
    from_ = Timestamp(data_key="from", attribute="from",
                      metadata={"description": "a future time to schedule the change; omitted: now"})


class Empty(Schema):
    pass


class AppNew(Schema):
    name = Name(keep_case=True, required=True, metadata={"description": "any case; matched lower-cased"})
    descr = Text(required=True)


class AppName(Schema):
    name = Name(fold=True, required=True)


class CapGrant(Schema):
    user = UserName(required=True)
    app = NameList(Name(fold=True), metadata={"description": "the apps of app-level capabilities"})
    cap = NameList(Choice(ALL_CAPS, "capability"), required=True, nonempty=True)
    from_ = Timestamp(data_key="from", attribute="from")
    to = Timestamp()

    @validates_schema(skip_on_field_errors=False)
    def _levels(self, data, **kw):
        """Realm-level capabilities take no app, app-level ones need apps (reported together
        with the other problems of the payload)."""
        apps = data.get("app")
        problems: dict[str, Any] = {}       # field -> messages, or index -> messages
        for i, cap in enumerate(data.get("cap") or ()):
            if apps and cap in REALM_CAPS:
                problems.setdefault("cap", {})[i] = [f"invalid: {cap} is a realm-level capability: give no app"]
            elif not apps and cap in APP_CAPS:
                problems["app"] = [f"required: {cap} is an app-level capability: name the apps"]
        if problems:
            raise ValidationError(problems)


class CapRevoke(Schema):
    user = UserName(required=True)
    app = NameList(String(), metadata={"description": 'app names, or ["ALL"]'})
    cap = NameList(Choice(ALL_CAPS + ("ALL",), "capability", fold=True), required=True, nonempty=True,
                   metadata={"description": 'capabilities, or ["ALL"]'})


class UserRef(Schema):
    user = UserName(required=True)


class CapList(Schema):
    app = Name(fold=True)
    cap = Name()


class ConfigSet(Schema):
    slice = Id(required=True)
    name = UpperName(required=True)
    val = String(required=True)
    descr = Text()


class ConfigGet(Schema):
    slice = Id()


# ---- calls ------------------------------------------------------------------------------------
# Each call runs one function of crux.services.admin with (db, identity, payload).

@calls.call("realmslicenew", SliceNew, need=ROOT)
def realmslicenew(ctx: CallContext, data: dict):
    """Create a slice: empty and active, or a copy (config, stepworkflows, schemas, rulesets) that
    starts inactive. Returns the new slice number."""
    return admin.slice_new(ctx.crux.db, ctx.identity, data)


@calls.call("realmsliceactivate", SliceState, need=ROOT)
def realmsliceactivate(ctx: CallContext, data: dict):
    """Activate a slice now, or at a future `from`."""
    return admin.slice_activate(ctx.crux.db, ctx.identity, data)


@calls.call("realmslicedeactivate", SliceState, need=ROOT)
def realmslicedeactivate(ctx: CallContext, data: dict):
    """Deactivate a slice now, or at a future `from`."""
    return admin.slice_deactivate(ctx.crux.db, ctx.identity, data)


@calls.call("realmslicelist", Empty, need=REPORT, methods=LIST)
def realmslicelist(ctx: CallContext, data: dict):
    """List the realm's slices with their effective state now."""
    return admin.slice_list(ctx.crux.db, ctx.identity, data)


@calls.call("realmsliceapps", SliceRef, need=REPORT, methods=LIST, paths=("realmsliceapps/<int:id>",))
def realmsliceapps(ctx: CallContext, data: dict):
    """The apps having schemas or rulesets in a slice."""
    return admin.slice_apps(ctx.crux.db, ctx.identity, data)


@calls.call("realmslicepurge", SliceRef, need=ROOT)
def realmslicepurge(ctx: CallContext, data: dict):
    """Delete an inactive slice and everything in it, its instances and history included."""
    return admin.slice_purge(ctx.crux.db, ctx.identity, data)


@calls.call("appnew", AppNew, need=ROOT)
def appnew(ctx: CallContext, data: dict):
    """Create an app (name in any case; matched lower-cased)."""
    return admin.app_new(ctx.crux.db, ctx.identity, data)


@calls.call("appupdate", AppNew, need=ROOT, methods=UPDATE)
def appupdate(ctx: CallContext, data: dict):
    """Change an app's description."""
    return admin.app_update(ctx.crux.db, ctx.identity, data)


@calls.call("appdelete", AppName, need=ROOT, methods=DELETE, paths=("appdelete/<name>",))
def appdelete(ctx: CallContext, data: dict):
    """Delete an app that no schema, ruleset or stepworkflow uses; its grants go with it."""
    return admin.app_delete(ctx.crux.db, ctx.identity, data)


@calls.call("applist", Empty, need=REPORT, methods=LIST)
def applist(ctx: CallContext, data: dict):
    """List the realm's apps with their user and ruleset counts."""
    return admin.app_list(ctx.crux.db, ctx.identity, data)


@calls.call("capgrant", CapGrant, need=AUTH)
def capgrant(ctx: CallContext, data: dict):
    """Grant capabilities to a user (realm-level, or app-level on the listed apps), optionally
    within [from, to]."""
    return admin.cap_grant(ctx.crux.db, ctx.identity, data)


@calls.call("caprevoke", CapRevoke, need=AUTH)
def caprevoke(ctx: CallContext, data: dict):
    """Revoke capabilities (or ALL) of a user, on the listed apps (or ALL). Revoking root needs
    root; the last root holder keeps it."""
    return admin.cap_revoke(ctx.crux.db, ctx.identity, data)


@calls.call("capget", UserRef, need=AUTH)
def capget(ctx: CallContext, data: dict):
    """A user's capabilities."""
    return admin.cap_get(ctx.crux.db, ctx.identity, data)


@calls.call("caplist", CapList, need=AUTH, methods=LIST)
def caplist(ctx: CallContext, data: dict):
    """Every grant of the realm, optionally of one app or one capability."""
    return admin.cap_list(ctx.crux.db, ctx.identity, data)


@calls.call("useractivate", UserRef, need=AUTH)
def useractivate(ctx: CallContext, data: dict):
    """Re-activate a deactivated user."""
    return admin.user_activate(ctx.crux.db, ctx.identity, data)


@calls.call("userdeactivate", UserRef, need=AUTH)
def userdeactivate(ctx: CallContext, data: dict):
    """Deactivate a user: refused everywhere from now on (not the last root holder)."""
    return admin.user_deactivate(ctx.crux.db, ctx.identity, data)


@calls.call("configset", ConfigSet, need=CONFIG)
def configset(ctx: CallContext, data: dict):
    """Set a named value in a slice (insert or update; `ver` counts the sets)."""
    return admin.config_set(ctx.crux.db, ctx.identity, data)


@calls.call("configget", ConfigGet, need=REPORT, methods=LIST)
def configget(ctx: CallContext, data: dict):
    """The config of one slice or of all slices."""
    return admin.config_get(ctx.crux.db, ctx.identity, data)
