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
# Each call runs one function of crux.services.admin with (db, identity, payload).

def _runs(service):
    return lambda ctx, data: service(ctx.crux.db, ctx.identity, data)


for _name, _schema, _need, _service, _doc, _kw in (
    ("realmslicenew", SliceNew, ROOT, admin.slice_new,
     "Create a slice: empty and active, or a copy (config, stepworkflows, schemas, rulesets) that starts "
     "inactive. Returns the new slice number.", {}),
    ("realmsliceactivate", SliceState, ROOT, admin.slice_activate, "Activate a slice now, or at a future `from`.", {}),
    ("realmslicedeactivate", SliceState, ROOT, admin.slice_deactivate,
     "Deactivate a slice now, or at a future `from`.", {}),
    ("realmslicelist", Empty, REPORT, admin.slice_list, "List the realm's slices with their effective state now.", {}),
    ("realmsliceapps", SliceRef, REPORT, admin.slice_apps, "The apps having schemas or rulesets in a slice.",
     {"methods": ("POST", "GET"), "paths": ("/realmsliceapps/<int:id>",)}),
    ("realmslicepurge", SliceRef, ROOT, admin.slice_purge,
     "Delete an inactive slice and everything in it, its instances and history included.", {}),
    ("appnew", AppNew, ROOT, admin.app_new, "Create an app (name in any case; matched lower-cased).", {}),
    ("appupdate", AppNew, ROOT, admin.app_update, "Change an app's description.", {"methods": ("POST", "PUT")}),
    ("appdelete", AppName, ROOT, admin.app_delete,
     "Delete an app that no schema, ruleset or stepworkflow uses; its grants go with it.",
     {"methods": ("POST", "DELETE"), "paths": ("/appdelete/<name>",)}),
    ("applist", Empty, REPORT, admin.app_list, "List the realm's apps with their user and ruleset counts.", {}),
    ("capgrant", CapGrant, AUTH, admin.cap_grant,
     "Grant capabilities to a user (realm-level, or app-level on the listed apps), optionally within [from, to].", {}),
    ("caprevoke", CapRevoke, AUTH, admin.cap_revoke,
     "Revoke capabilities (or ALL) of a user, on the listed apps (or ALL). Revoking root needs root; the last "
     "root holder keeps it.", {}),
    ("capget", UserRef, AUTH, admin.cap_get, "A user's capabilities.", {}),
    ("caplist", CapList, AUTH, admin.cap_list, "Every grant of the realm, optionally of one app or one capability.", {}),
    ("useractivate", UserRef, AUTH, admin.user_activate, "Re-activate a deactivated user.", {}),
    ("userdeactivate", UserRef, AUTH, admin.user_deactivate,
     "Deactivate a user: refused everywhere from now on (not the last root holder).", {}),
    ("configset", ConfigSet, CONFIG, admin.config_set,
     "Set a named value in a slice (insert or update; `ver` counts the sets).", {}),
    ("configget", ConfigGet, REPORT, admin.config_get, "The config of one slice or of all slices.", {}),
):
    bp.declare(_name, _schema, _need, _doc, _runs(_service), **_kw)
