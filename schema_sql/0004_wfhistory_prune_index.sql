-- `crux history prune` finds old history by when each step was handed out (a closed row's
-- closedat is later, so rows closed before a cutoff were logged before it too). A BRIN index is
-- tiny and cheap to keep up for an append-mostly table, and as loggedat never changes it does
-- not stop closing a history row from being a HOT update.
CREATE INDEX wfhistory_loggedat ON wfhistory USING brin (loggedat);
