-- Webhooks (SPEC §9.3): each receives the events of its realm that match its filters, committed
-- after it was created, in order, in batches; engines deliver them (crux/background/webhooks.py).
CREATE TABLE webhook (
    id          bigserial PRIMARY KEY,
    realm       text NOT NULL REFERENCES realm(shortname) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]*$'),
    url         text NOT NULL,
    kinds       text[],                        -- NULL: every kind
    app         text,
    workflow    text,
    secret      text,                          -- signs the bodies; never answered
    createdat   timestamptz NOT NULL DEFAULT now(),
    createdby   text NOT NULL,
    editedat    timestamptz,
    editedby    text,
    -- delivery: events up to (pos, eventid) are acknowledged (a stream cursor, crux/store/events.py)
    pos         bigint NOT NULL,
    eventid     bigint NOT NULL,
    -- the batch in flight: its delivery id, kept when it is sent again, and its last event
    batch       text,
    batchpos    bigint,
    batchevent  bigint,
    -- an engine delivering now holds the webhook until leaseuntil (one delivery at a time)
    leasedby    text,
    leaseuntil  timestamptz,
    nextattempt timestamptz NOT NULL DEFAULT now(),
    lastattempt timestamptz,
    lasterror   text,
    failures    integer NOT NULL DEFAULT 0,
    UNIQUE (realm, name)
);
CREATE INDEX webhook_due ON webhook (nextattempt);
