-- 0003_jobs_notify.sql: wakes the worker's planner when a print job needs a plan, and its tracker when the plan is stored.
--
-- Channels (payload: the print job id; delivered at commit, not at all on rollback):
--   spoolkeeper_jobs     a job is inserted, or a job without a plan changes what the planner reads (state, file_url,
--                        gcode_file, subtask_name, plate, member, use_ams, flow_cali).  The planner (worker/planner.c)
--                        LISTENs on it and also polls, since notifications sent while it is disconnected are lost.
--   spoolkeeper_planned  planned_at goes from NULL to a time: the plan's rows are committed in the same transaction,
--                        so the listener (the worker's main thread) can charge the layers already reported.
-- The WHEN clause keeps the per-layer progress updates of a running job from calling the function at all.

CREATE FUNCTION print_jobs_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND NEW.planned_at IS NOT NULL THEN
		PERFORM pg_notify('spoolkeeper_planned', NEW.id::text);
	ELSE
		PERFORM pg_notify('spoolkeeper_jobs', NEW.id::text);
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER print_jobs_notify_insert AFTER INSERT ON print_jobs
    FOR EACH ROW EXECUTE FUNCTION print_jobs_notify();

CREATE TRIGGER print_jobs_notify_update AFTER UPDATE ON print_jobs
    FOR EACH ROW WHEN (OLD.planned_at IS NULL AND (NEW.planned_at IS NOT NULL
	OR (NEW.state, NEW.file_url, NEW.gcode_file, NEW.subtask_name, NEW.plate, NEW.member, NEW.use_ams,
	    NEW.flow_cali)
	   IS DISTINCT FROM (OLD.state, OLD.file_url, OLD.gcode_file, OLD.subtask_name, OLD.plate, OLD.member,
	    OLD.use_ams, OLD.flow_cali)))
    EXECUTE FUNCTION print_jobs_notify();
