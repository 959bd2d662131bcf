-- Deadlines, attempts, worker leases and engines (SPEC §8).
--
-- Keeping wfinstancemarkdone's update HOT: PostgreSQL updates a row without touching its
-- indexes only when no indexed column (nor a column of a partial index's predicate) changes
-- value. The common markdone (a step without a timeout, not leased) changes step, nextstep,
-- loggedat and entity and leaves every column indexed here as it was (NULL stays NULL), so it
-- stays HOT. Claims, heartbeats and steps with a timeout change `expiresat` and are not HOT.

-- Step settings of a workflow (§8.1): {"<step>": {"timeout", "attempts", "retrydelay"}} as given.
ALTER TABLE ruleset ADD COLUMN steps jsonb NOT NULL DEFAULT '{}'::jsonb;

ALTER TABLE wfinstance
    ADD COLUMN attempt     integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    ADD COLUMN dueat       timestamptz,              -- the current attempt's deadline
    ADD COLUMN notbefore   timestamptz,              -- a retried attempt is not open before it
    ADD COLUMN leasedby    text,                     -- the worker holding (or last holding) a lease
    ADD COLUMN leaseuntil  timestamptz,
    ADD COLUMN incident    text,                     -- why the rules could not go on
    ADD COLUMN entity      jsonb,                    -- as given by the last call handing out or reporting
    -- the step's settings as they were when the current attempt started (§8.1 last sentence)
    ADD COLUMN maxattempts integer NOT NULL DEFAULT 1,
    ADD COLUMN timeout     integer,
    ADD COLUMN retrydelay  integer NOT NULL DEFAULT 0,
    -- when an engine must look at the row: the attempt's deadline or its lease's end, whichever
    -- comes first (both cleared on an incident and on a reported sibling)
    ADD COLUMN expiresat   timestamptz GENERATED ALWAYS AS (least(dueat, leaseuntil)) STORED;

-- Expiry sweeps: the rows whose time has come, soonest first.
CREATE INDEX wfinstance_expiry ON wfinstance (expiresat) WHERE expiresat IS NOT NULL;
-- Claims: open rows of a realm in id order (oldest first), so a claim reads only the head of
-- the backlog. Leased rows and incidents leave the index; rows waiting for a join, retried
-- attempts before `notbefore` and other steps are filtered as the scan meets them.
CREATE INDEX wfinstance_claim ON wfinstance (realm, id) WHERE leasedby IS NULL AND incident IS NULL;
-- Incidents, for the list filter and the metric.
CREATE INDEX wfinstance_incident ON wfinstance (realm, id) WHERE incident IS NOT NULL;

ALTER TABLE wfhistory
    ADD COLUMN attempt integer NOT NULL DEFAULT 1,
    ADD COLUMN worker  text,
    ADD COLUMN error   text,
    DROP CONSTRAINT wfhistory_outcome_check,
    ADD CONSTRAINT wfhistory_outcome_check CHECK (outcome IN ('done', 'failed', 'aborted', 'timedout'));

-- Engine processes (§8.5). Counters are the expiries each engine handled, by outcome, added
-- at every beat: /metrics sums them over every engine that ever ran.
CREATE TABLE wfengine (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    host       text NOT NULL,
    pid        integer NOT NULL,
    version    text NOT NULL,
    startedat  timestamptz NOT NULL DEFAULT now(),
    lastbeat   timestamptz NOT NULL DEFAULT now(),
    beat       integer NOT NULL CHECK (beat > 0),   -- seconds between its beats
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'stopped', 'dead')),
    retried    bigint NOT NULL DEFAULT 0,
    failed     bigint NOT NULL DEFAULT 0,
    incidents  bigint NOT NULL DEFAULT 0
);

-- Workers seen in claims and heartbeats, per realm (§8.4, wfenginelist).
CREATE TABLE wfworker (
    realm     text NOT NULL,
    name      text NOT NULL,
    lastseen  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (realm, name)
);
