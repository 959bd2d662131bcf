-- Crux base schema (SPEC §1). Every table holding rule or instance data carries `realm`.
-- Realms are referred to by their shortname so every row reads on its own.

CREATE TABLE realm (
    shortname   text PRIMARY KEY CHECK (shortname ~ '^[a-z][a-z0-9_]*$'),
    longname    text NOT NULL DEFAULT '',
    payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
    lastslice   integer NOT NULL DEFAULT 0,          -- slice numbers are never reused
    setby       text NOT NULL,
    setat       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE app (
    realm       text NOT NULL REFERENCES realm(shortname) ON DELETE CASCADE,
    shortname   text NOT NULL,
    shortnamelc text NOT NULL CHECK (shortnamelc ~ '^[a-z][a-z0-9_]*$' AND shortnamelc = lower(shortname)),
    longname    text NOT NULL DEFAULT '',
    setby       text NOT NULL,
    setat       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (realm, shortnamelc)
);

CREATE TABLE realmslice (
    realm        text NOT NULL REFERENCES realm(shortname) ON DELETE CASCADE,
    id           integer NOT NULL CHECK (id > 0),
    descr        text NOT NULL DEFAULT '',
    active       boolean NOT NULL,
    activateat   timestamptz,
    deactivateat timestamptz,
    createdat    timestamptz NOT NULL DEFAULT now(),
    createdby    text NOT NULL,
    editedat     timestamptz,
    editedby     text,
    PRIMARY KEY (realm, id)
);

CREATE TABLE config (
    realm  text NOT NULL,
    slice  integer NOT NULL,
    name   text NOT NULL CHECK (name ~ '^[A-Z][A-Z0-9_]*$'),
    descr  text NOT NULL DEFAULT '',
    val    text,
    ver    integer NOT NULL DEFAULT 1 CHECK (ver >= 1),
    setby  text NOT NULL,
    setat  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (realm, slice, name),
    FOREIGN KEY (realm, slice) REFERENCES realmslice(realm, id) ON DELETE CASCADE
);

CREATE TABLE capgrant (
    id      bigserial PRIMARY KEY,
    realm   text NOT NULL REFERENCES realm(shortname) ON DELETE CASCADE,
    "user"  text NOT NULL CHECK ("user" = lower("user") AND "user" <> ''),
    app     text,                                    -- NULL: realm-level grant
    cap     text NOT NULL CHECK (cap IN ('root', 'auth', 'config', 'report', 'schema', 'ruleset')),
    "from"  timestamptz,
    "to"    timestamptz,
    setat   timestamptz NOT NULL DEFAULT now(),
    setby   text NOT NULL,
    CHECK ("to" IS NULL OR "from" IS NULL OR "from" <= "to"),
    CHECK ((app IS NULL) = (cap IN ('root', 'auth', 'config', 'report')))
);
CREATE UNIQUE INDEX capgrant_key ON capgrant (realm, "user", coalesce(app, ''), cap);

CREATE TABLE deactivated (
    realm    text NOT NULL REFERENCES realm(shortname) ON DELETE CASCADE,
    "user"   text NOT NULL,
    deactby  text NOT NULL,
    deactat  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (realm, "user")
);

CREATE TABLE schema (
    id            bigserial PRIMARY KEY,
    realm         text NOT NULL,
    slice         integer NOT NULL,
    app           text NOT NULL,
    class         text NOT NULL CHECK (class ~ '^[a-z][a-z0-9_]*$'),
    brwf          char(1) NOT NULL CHECK (brwf IN ('B', 'W')),
    patternschema jsonb NOT NULL,
    actionschema  jsonb NOT NULL,
    createdat     timestamptz NOT NULL DEFAULT now(),
    createdby     text NOT NULL,
    editedat      timestamptz,
    editedby      text,
    UNIQUE (realm, slice, app, class),
    FOREIGN KEY (realm, slice) REFERENCES realmslice(realm, id) ON DELETE CASCADE,
    FOREIGN KEY (realm, app) REFERENCES app(realm, shortnamelc)
);

CREATE TABLE ruleset (
    id          bigserial PRIMARY KEY,
    realm       text NOT NULL,
    slice       integer NOT NULL,
    app         text NOT NULL,
    class       text NOT NULL,
    setname     text NOT NULL CHECK (setname ~ '^[a-z][a-z0-9_]*$'),
    brwf        char(1) NOT NULL CHECK (brwf IN ('B', 'W')),
    schemaid    bigint NOT NULL REFERENCES schema(id) ON DELETE CASCADE,
    is_active   boolean NOT NULL DEFAULT false,
    is_internal boolean NOT NULL DEFAULT false,
    ruleset     jsonb NOT NULL,
    createdat   timestamptz NOT NULL DEFAULT now(),
    createdby   text NOT NULL,
    editedat    timestamptz,
    editedby    text,
    UNIQUE (realm, slice, app, class, setname),
    FOREIGN KEY (realm, slice) REFERENCES realmslice(realm, id) ON DELETE CASCADE,
    FOREIGN KEY (realm, app) REFERENCES app(realm, shortnamelc)
);
-- Instances name a workflow by (slice, app, name) without its class, so a workflow name is
-- unique within a slice and app.
CREATE UNIQUE INDEX ruleset_workflow_name ON ruleset (realm, slice, app, setname) WHERE brwf = 'W';

CREATE TABLE stepworkflow (
    realm     text NOT NULL,
    slice     integer NOT NULL,
    app       text NOT NULL,
    step      text NOT NULL,
    workflow  text NOT NULL,
    createdat timestamptz NOT NULL DEFAULT now(),
    createdby text NOT NULL,
    PRIMARY KEY (realm, slice, app, step),
    FOREIGN KEY (realm, slice) REFERENCES realmslice(realm, id) ON DELETE CASCADE,
    FOREIGN KEY (realm, app) REFERENCES app(realm, shortnamelc)
);

CREATE TABLE wfinstance (
    id        bigserial PRIMARY KEY,
    realm     text NOT NULL,
    entityid  text NOT NULL,
    slice     integer NOT NULL,
    app       text NOT NULL,
    class     text NOT NULL,
    workflow  text NOT NULL,
    step      text NOT NULL,
    loggedat  timestamptz NOT NULL DEFAULT now(),
    doneat    timestamptz,
    nextstep  text NOT NULL,
    parent    bigint,
    FOREIGN KEY (realm, slice) REFERENCES realmslice(realm, id) ON DELETE CASCADE
);
CREATE INDEX wfinstance_entity ON wfinstance (realm, entityid, workflow);
CREATE INDEX wfinstance_parent ON wfinstance (parent) WHERE parent IS NOT NULL;
CREATE INDEX wfinstance_slice_app ON wfinstance (realm, slice, app, workflow);

CREATE TABLE wfhistory (
    id        bigserial PRIMARY KEY,
    wfid      bigint NOT NULL,
    realm     text NOT NULL,
    entityid  text NOT NULL,
    slice     integer NOT NULL,
    app       text NOT NULL,
    class     text NOT NULL,
    workflow  text NOT NULL,
    step      text NOT NULL,
    parent    bigint,
    loggedat  timestamptz NOT NULL DEFAULT now(),
    closedat  timestamptz,
    outcome   text CHECK (outcome IN ('done', 'failed', 'aborted')),
    CHECK ((closedat IS NULL) = (outcome IS NULL))
);
CREATE INDEX wfhistory_entity ON wfhistory (realm, entityid, id);
CREATE INDEX wfhistory_wfid ON wfhistory (wfid) WHERE closedat IS NULL;
CREATE INDEX wfhistory_wfid_all ON wfhistory (realm, wfid, id);
CREATE INDEX wfhistory_closed ON wfhistory (closedat) WHERE closedat IS NOT NULL;
CREATE INDEX wfhistory_slice ON wfhistory (realm, slice);

CREATE TABLE changelog (
    id      bigserial PRIMARY KEY,
    realm   text NOT NULL,
    who     text NOT NULL,
    at      timestamptz NOT NULL DEFAULT now(),
    entity  text NOT NULL,
    key     text NOT NULL,
    op      text NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    old     jsonb,
    new     jsonb
);
CREATE INDEX changelog_realm_at ON changelog (realm, at);
