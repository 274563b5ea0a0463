-- 0012_outbox_autovacuum.sql: vacuum the queue tables as soon as autovacuum may, not after a fifth of them is dead.
--
-- Every use goes pending -> inflight -> done in spoolman_outbox, and each step leaves a dead row version whose
-- entry in the partial index spoolman_outbox_due (state = 'pending') every claim of the drain reads until a vacuum
-- removes it.  With the default scale factor (20% of the table) a farm's outbox, which only grows, waits longer
-- and longer between vacuums.  A fixed threshold keeps the dead entries near what one autovacuum round makes.
--
-- Forward-only: never edit once applied.

ALTER TABLE spoolman_outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE spool_patches SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
