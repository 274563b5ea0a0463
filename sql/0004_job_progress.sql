-- 0004_job_progress.sql: the furthest layer a printer reported for a job, so charging can catch up later.
--
-- The worker records every layer_num and mc_percent the printer reports while a job runs (only ever upwards: a
-- cancel resets both to 0 on the printer).  checkpoint_layer says what has been charged; reported_layer says what
-- is finished on the printer, so a job whose plan arrives late (a slow download), or a worker that restarts,
-- charges layers checkpoint_layer + 1 .. reported_layer - 1 in one transaction when it can.

ALTER TABLE print_jobs ADD COLUMN reported_layer integer NOT NULL DEFAULT 0
    CONSTRAINT print_jobs_reported_layer_check CHECK (reported_layer BETWEEN 0 AND 1000000);

-- A job ended as failed or cancelled is charged the part of its last layer up to the last progress mark; this
-- records that it was done (the ledger's UNIQUE makes it once, this makes it cheap to know).
ALTER TABLE print_jobs ADD COLUMN partial_charged boolean NOT NULL DEFAULT false;
