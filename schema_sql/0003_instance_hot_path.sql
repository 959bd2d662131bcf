-- Workflow instances: the hot path is wfinstancemarkdone, which updates an instance row in
-- place and closes one history row while opening another. Keep free room on every page so
-- those updates stay HOT (no index work), and keep no index on the columns a close changes.

-- The open history row of a wfid is always its latest one: found through wfhistory_wfid_all.
DROP INDEX wfhistory_wfid;
-- `crux history prune` uses a BRIN index on loggedat instead (0004_wfhistory_prune_index).
DROP INDEX wfhistory_closed;

ALTER TABLE wfinstance SET (fillfactor = 80);
ALTER TABLE wfhistory SET (fillfactor = 90);
