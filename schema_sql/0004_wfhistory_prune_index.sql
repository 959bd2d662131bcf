-- `crux history prune` finds old history by when each step was handed out (a closed row's
-- closedat is later, so rows closed before a cutoff were logged before it too). A BRIN index is
-- tiny and cheap to keep up for an append-mostly table, and as loggedat never changes it does
-- not stop closing a history row from being a HOT update.
-- (IF NOT EXISTS: this file was first named 0003_wfhistory_prune_index.sql.)
CREATE INDEX IF NOT EXISTS wfhistory_loggedat ON wfhistory USING brin (loggedat);
