-- Events (SPEC §9.1): every instance transition and every write to admin or rule data appends
-- one row here, in the transaction that makes the change (rolled back with it).
--
-- Readers must see every committed event once, in commit order, although ids (taken from a
-- sequence when the row is written) are not in commit order: a transaction holding id 10 may
-- commit after one holding id 11. So each row carries the id of the transaction that wrote it
-- (`xid`), and `wfeventmark` keeps, per realm, a line of snapshots, each taken after the one
-- before: the events of mark N are those whose transaction is visible (completed) in mark N's
-- snapshot and was not in mark N-1's. A transaction becomes visible in exactly one mark, so
-- every committed event belongs to exactly one mark, and marks follow commit order. A reader's
-- cursor is (mark, id within the mark); see crux/store/events.py.
CREATE TABLE wfevent (
    id        bigserial PRIMARY KEY,
    xid       xid8 NOT NULL DEFAULT pg_current_xact_id(),
    at        timestamptz NOT NULL DEFAULT now(),
    realm     text NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('started', 'stepopened', 'stepdone', 'stepfailed', 'steptimedout',
                                            'incident', 'done', 'aborted', 'changed')),
    slice     integer,
    app       text,
    class     text,
    workflow  text,
    entityid  text,
    wfid      bigint,
    step      text,
    attempt   integer,
    parent    bigint,
    worker    text,
    error     text,
    tasks     jsonb,
    "table"   text,
    key       text,
    op        text
);
-- A mark's events are found by their transaction ids; readers read one realm.
CREATE INDEX wfevent_realm_xid ON wfevent (realm, xid);
-- Pruning finds old events by time, as for wfhistory (0004).
CREATE INDEX wfevent_at ON wfevent USING brin (at);

CREATE TABLE wfeventmark (
    realm  text NOT NULL,
    pos    bigserial,
    snap   pg_snapshot NOT NULL,         -- the transactions completed when the mark was taken...
    prev   pg_snapshot NOT NULL,         -- ...and not yet at the realm's mark before
    at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (realm, pos)
);
CREATE INDEX wfeventmark_at ON wfeventmark USING brin (at);

-- Pruning (`crux history prune`) deletes the events of whole marks: those up to (pos, id) of a
-- realm are gone, and a reader whose cursor is before that has lost events.
CREATE TABLE wfeventpruned (
    realm  text PRIMARY KEY,
    pos    bigint NOT NULL,
    id     bigint NOT NULL
);
