-- 0002_views.sql: read-only views of the usage history for people with psql (docs/sql.md has example queries).
--
-- Forward-only: never edit once applied; change a view with CREATE OR REPLACE VIEW in a new migration.
-- Every figure comes from usage_ledger, the record of what was charged; grams may be NULL for a filament whose
-- density or diameter the file did not give (its mm are still counted).  "Unknown spool" usage (no spool was
-- assigned to the tray) is counted everywhere and appears as spool_id NULL in usage_by_spool.

-- One row per print job (jobs with nothing charged yet included).
CREATE VIEW usage_by_print AS
SELECT j.id AS job_id,
       p.id AS printer_id,
       p.name AS printer,
       j.subtask_name AS print_name,
       j.plate,
       j.state,
       j.started_at,
       j.ended_at,
       count(DISTINCT l.layer) AS layers_charged,
       coalesce(sum(l.mm), 0) AS mm,
       coalesce(sum(l.grams), 0) AS grams,
       coalesce(sum(l.grams) FILTER (WHERE l.spool_id IS NULL), 0) AS grams_unknown_spool,
       (SELECT sum(f.grams) FROM job_filaments f WHERE f.job_id = j.id) AS planned_grams
  FROM print_jobs j
  JOIN printers p ON p.id = j.printer_id
  LEFT JOIN usage_ledger l ON l.job_id = j.id
 GROUP BY j.id, p.id;

-- One row per spool that was charged (spool_id NULL: usage with no spool assigned), with what the outbox has
-- confirmed in Spoolman (done), still has to send (pending or inflight), and holds for review.
CREATE VIEW usage_by_spool AS
SELECT l.spool_id,
       count(DISTINCT l.job_id) AS prints,
       sum(l.mm) AS mm,
       coalesce(sum(l.grams), 0) AS grams,
       min(l.created_at) AS first_used,
       max(l.created_at) AS last_used,
       coalesce((SELECT sum(o.use_g) FROM spoolman_outbox o
		  WHERE o.spool_id = l.spool_id AND o.state = 'done'), 0) AS grams_sent,
       coalesce((SELECT sum(o.use_g) FROM spoolman_outbox o
		  WHERE o.spool_id = l.spool_id AND o.state IN ('pending', 'inflight')), 0) AS grams_queued,
       coalesce((SELECT sum(o.use_g) FROM spoolman_outbox o
		  WHERE o.spool_id = l.spool_id AND o.state = 'needs_review'), 0) AS grams_needs_review
  FROM usage_ledger l
 GROUP BY l.spool_id;

-- One row per printer (printers that never printed included).
CREATE VIEW usage_by_printer AS
SELECT p.id AS printer_id,
       p.name AS printer,
       count(DISTINCT l.job_id) AS prints,
       coalesce(sum(l.mm), 0) AS mm,
       coalesce(sum(l.grams), 0) AS grams,
       max(l.created_at) AS last_used
  FROM printers p
  LEFT JOIN print_jobs j ON j.printer_id = p.id
  LEFT JOIN usage_ledger l ON l.job_id = j.id
 GROUP BY p.id;

-- One row per day and printer, by when the filament was charged; the day is taken in the session's TimeZone
-- (SET TimeZone = 'Europe/Berlin' first to see local days).
CREATE VIEW usage_by_day AS
SELECT l.created_at::date AS day,
       p.id AS printer_id,
       p.name AS printer,
       count(DISTINCT l.job_id) AS prints,
       sum(l.mm) AS mm,
       coalesce(sum(l.grams), 0) AS grams
  FROM usage_ledger l
  JOIN print_jobs j ON j.id = l.job_id
  JOIN printers p ON p.id = j.printer_id
 GROUP BY l.created_at::date, p.id;

-- One row per filament type as the sliced file names it ('PLA', 'PETG', ...; 'unknown' when it does not say).
CREATE VIEW usage_by_filament_type AS
SELECT coalesce(nullif(f.type, ''), 'unknown') AS filament_type,
       count(DISTINCT l.job_id) AS prints,
       count(DISTINCT l.spool_id) AS spools,
       sum(l.mm) AS mm,
       coalesce(sum(l.grams), 0) AS grams
  FROM usage_ledger l
  JOIN job_filaments f ON f.job_id = l.job_id AND f.filament_index = l.filament_index
 GROUP BY 1;

-- What is in each tray now.
CREATE VIEW trays_now AS
SELECT p.id AS printer_id,
       p.name AS printer,
       a.tray,
       tray_label(a.tray) AS tray_label,
       a.spool_id,
       a.valid_from AS since
  FROM tray_assignments a
  JOIN printers p ON p.id = a.printer_id
 WHERE a.valid_to IS NULL;
