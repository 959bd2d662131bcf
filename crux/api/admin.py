"""Admin calls (SPEC §4.3): slices, apps, capabilities, config."""
from __future__ import annotations

from marshmallow import Schema, fields

from crux.api.auth import RealmCap
from crux.api.calls import CallBlueprint
from crux.api.fields import Id, Name, Text, Timestamp, UpperName, UserName
from crux.services import admin

bp = CallBlueprint("admin")
ROOT, AUTH, CONFIG, REPORT = RealmCap("root"), RealmCap("auth"), RealmCap("config"), RealmCap("report")


# ---- payloads ---------------------------------------------------------------------------------

class SliceNew(Schema):
    copyof = Id(metadata={"description": "slice to copy; the copy starts inactive"})
    descr = Text(load_default="")
    app = fields.List(Name(fold=True), metadata={"description": "copy only these apps' rules"})


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
    descr = Text(load_default="")


class AppName(Schema):
    name = Name(fold=True, required=True)


class CapGrant(Schema):
    user = UserName(required=True)
    app = fields.List(Name(fold=True))
    cap = fields.List(Name(), required=True, validate=lambda v: len(v) > 0)
    from_ = Timestamp(data_key="from", attribute="from")
    to = Timestamp()


class CapRevoke(Schema):
    user = UserName(required=True)
    app = fields.List(fields.String(), metadata={"description": 'app names, or ["ALL"]'})
    cap = fields.List(fields.String(), required=True, validate=lambda v: len(v) > 0,
                      metadata={"description": 'capabilities, or ["ALL"]'})


class UserRef(Schema):
    user = UserName(required=True)


class CapList(Schema):
    app = Name(fold=True)
    cap = Name()


class ConfigSet(Schema):
    slice = Id(required=True)
    name = UpperName(required=True)
    val = fields.String(required=True)
    descr = Text()


class ConfigGet(Schema):
    slice = Id()


# ---- calls ------------------------------------------------------------------------------------

@bp.call("realmslicenew", SliceNew, need=ROOT)
def realmslicenew(ctx, data):
    """Create a slice: empty and active, or a copy (config, stepworkflows, schemas, rulesets) that starts inactive.
    Returns the new slice number."""
    return admin.slice_new(ctx.crux.db, ctx.identity, data)


@bp.call("realmsliceactivate", SliceState, need=ROOT)
def realmsliceactivate(ctx, data):
    """Activate a slice now, or at a future `from`."""
    return admin.slice_set_active(ctx.crux.db, ctx.identity, data, True)


@bp.call("realmslicedeactivate", SliceState, need=ROOT)
def realmslicedeactivate(ctx, data):
    """Deactivate a slice now, or at a future `from`."""
    return admin.slice_set_active(ctx.crux.db, ctx.identity, data, False)


@bp.call("realmslicelist", Empty, need=REPORT)
def realmslicelist(ctx, data):
    """List the realm's slices with their effective state now."""
    return admin.slice_list(ctx.crux.db, ctx.identity)


@bp.call("realmsliceapps", SliceRef, need=REPORT, methods=("POST", "GET"), paths=("/realmsliceapps/<int:id>",))
def realmsliceapps(ctx, data):
    """The apps having schemas or rulesets in a slice."""
    return admin.slice_apps(ctx.crux.db, ctx.identity, data)


@bp.call("realmslicepurge", SliceRef, need=ROOT)
def realmslicepurge(ctx, data):
    """Delete an inactive slice and everything in it, its instances and history included."""
    return admin.slice_purge(ctx.crux.db, ctx.identity, data)


@bp.call("appnew", AppNew, need=ROOT)
def appnew(ctx, data):
    """Create an app (name in any case; matched lower-cased)."""
    return admin.app_new(ctx.crux.db, ctx.identity, data)


@bp.call("appupdate", AppNew, need=ROOT, methods=("POST", "PUT"))
def appupdate(ctx, data):
    """Change an app's description."""
    return admin.app_update(ctx.crux.db, ctx.identity, data)


@bp.call("appdelete", AppName, need=ROOT, methods=("POST", "DELETE"), paths=("/appdelete/<name>",))
def appdelete(ctx, data):
    """Delete an app that no schema, ruleset or stepworkflow uses; its grants go with it."""
    return admin.app_delete(ctx.crux.db, ctx.identity, data)


@bp.call("applist", Empty, need=REPORT)
def applist(ctx, data):
    """List the realm's apps with their user and ruleset counts."""
    return admin.app_list(ctx.crux.db, ctx.identity)


@bp.call("capgrant", CapGrant, need=AUTH)
def capgrant(ctx, data):
    """Grant capabilities to a user (realm-level, or app-level on the listed apps), optionally within [from, to]."""
    return admin.cap_grant(ctx.crux.db, ctx.identity, data)


@bp.call("caprevoke", CapRevoke, need=AUTH)
def caprevoke(ctx, data):
    """Revoke capabilities (or ALL) of a user, on the listed apps (or ALL). Revoking root needs root;
    the last root holder keeps it."""
    return admin.cap_revoke(ctx.crux.db, ctx.identity, data)


@bp.call("capget", UserRef, need=AUTH)
def capget(ctx, data):
    """A user's capabilities."""
    return admin.cap_get(ctx.crux.db, ctx.identity, data)


@bp.call("caplist", CapList, need=AUTH)
def caplist(ctx, data):
    """Every grant of the realm, optionally of one app or one capability."""
    return admin.cap_list(ctx.crux.db, ctx.identity, data)


@bp.call("useractivate", UserRef, need=AUTH)
def useractivate(ctx, data):
    """Re-activate a deactivated user."""
    return admin.user_activate(ctx.crux.db, ctx.identity, data)


@bp.call("userdeactivate", UserRef, need=AUTH)
def userdeactivate(ctx, data):
    """Deactivate a user: refused everywhere from now on (not the last root holder)."""
    return admin.user_deactivate(ctx.crux.db, ctx.identity, data)


@bp.call("configset", ConfigSet, need=CONFIG)
def configset(ctx, data):
    """Set a named value in a slice (insert or update; `ver` counts the sets)."""
    return admin.config_set(ctx.crux.db, ctx.identity, data)


@bp.call("configget", ConfigGet, need=REPORT)
def configget(ctx, data):
    """The config of one slice or of all slices."""
    return admin.config_get(ctx.crux.db, ctx.identity, data)
