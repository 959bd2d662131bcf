-- `crux changelog prune` finds old change rows by their time. As for wfhistory (0004), a BRIN
-- index is tiny and cheap to keep up for an append-only table.
CREATE INDEX IF NOT EXISTS changelog_at ON changelog USING brin (at);
