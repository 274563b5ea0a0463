/* status.h: the live status the worker writes, as the API shows it: tray rows in SQL and the dashboard's cache. */
#ifndef WEB_STATUS_H
#define WEB_STATUS_H

#include "spools.h"

/*
 * printer_status.updated_at older than this (seconds) makes a status stale.  The worker writes a printer's row
 * at most every 2 s while it changes and asks a silent printer for a full report after 60 s (worker/fleet.h
 * FLEET_SILENCE), which answers; after 150 s of silence it reconnects and writes connected = false.  So a live
 * worker refreshes the row well within 180 s; an expired worker lease (worker_leases) also makes it stale.
 */
#define STATUS_STALE_S		180
#define STATUS_STR_(x)		#x
#define STATUS_STR(x)		STATUS_STR_(x)

/*
 * CTEs of the trays of the printers in a CTE vp (column id) that the statement defines first: what each printer
 * reports (printer_status.status "trays", as worker/status_json.c writes them; rows whose tray is not a valid
 * tray id are left out) merged with the open tray assignments.  The last, tj, has one row per tray: printer_id,
 * tray, unit (AMS: tray / 4; AMS HT and external holders: the tray id) and j, the tray as JSON, TRAY_FULL or
 * TRAY_SHORT (docs/api.md, "Live status").  The spool's cached copy is looked up by its key for each tray (OFFSET 0
 * keeps the planner from hashing the whole spool_cache, which grows with every spool ever searched).
 */
#define TRAYS_CTES(tray_json) \
	"rt AS (SELECT s.printer_id, (e->>'tray')::integer AS tray, e " \
	"    FROM vp JOIN printer_status s ON s.printer_id = vp.id " \
	"    CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(s.status->'trays') = 'array' " \
	"        THEN s.status->'trays' ELSE '[]'::jsonb END) e " \
	"   WHERE e->>'tray' ~ '^[0-9]{1,3}$' AND tray_valid((e->>'tray')::integer)), " \
	"oa AS (SELECT ta.printer_id, ta.tray, ta.spool_id, ta.valid_from, ta.assigned_by " \
	"    FROM vp JOIN tray_assignments ta ON ta.printer_id = vp.id AND ta.valid_to IS NULL), " \
	"tr AS (SELECT coalesce(rt.printer_id, oa.printer_id) AS printer_id, coalesce(rt.tray, oa.tray) AS tray, " \
	"    rt.e, oa.spool_id, oa.valid_from, oa.assigned_by " \
	"    FROM rt FULL JOIN oa ON oa.printer_id = rt.printer_id AND oa.tray = rt.tray), " \
	"tj AS (SELECT tr.printer_id, tr.tray, CASE WHEN tr.tray < 128 THEN tr.tray / 4 ELSE tr.tray END AS unit, " \
	tray_json " AS j FROM tr " \
	"    LEFT JOIN LATERAL (SELECT sc.spool FROM spool_cache sc WHERE sc.spool_id = tr.spool_id OFFSET 0) c " \
	"    ON true " \
	"    LEFT JOIN tray_tags tt ON tt.printer_id = tr.printer_id AND tt.tray = tr.tray)"

/*
 * A tray of TRAYS_CTES: tray, label, reported (the printer lists it), loaded, type, color (RRGGBBAA), remain
 * (percent) from the report, and spool, the mapped spool (id, SPOOL_INFO_PAIRS from spool_cache, since) or null.
 * RFID (docs/smart-trays.md): tag (the spool identity the tray reports, or null), assigned_by ("tag", "hand" or
 * null), conflict (null, "duplicate_tag", "spool_in_other_tray", "tag_on_several_spools"), tag_state (null,
 * "pending", "matched", "unknown", "conflict") and tag_spool_id (the spool the tag names, also in a conflict).
 */
#define TRAY_FULL \
	"json_build_object('tray', tr.tray, 'label', tray_label(tr.tray), 'reported', tr.e IS NOT NULL, " \
	"    'loaded', tr.e->'loaded', 'type', tr.e->'type', 'color', tr.e->'color', 'remain', tr.e->'remain', " \
	"    'tag', tt.tag, 'assigned_by', tr.assigned_by, 'conflict', tt.conflict, 'tag_state', tt.state, " \
	"    'tag_spool_id', tt.spool_id, " \
	"    'spool', CASE WHEN tr.spool_id IS NOT NULL THEN json_build_object('id', tr.spool_id, " \
	SPOOL_INFO_PAIRS("c.spool") ", 'since', tr.valid_from) END)"

/* The dashboard's tray: tray, loaded, type, color, remain, tag, assigned_by, conflict, tag_state, and spool as id,
 * name, material (for the material-mismatch warning) and remaining_weight. */
#define TRAY_SHORT \
	"json_build_object('tray', tr.tray, 'loaded', tr.e->'loaded', 'type', tr.e->'type', " \
	"    'color', tr.e->'color', 'remain', tr.e->'remain', 'tag', tt.tag, 'assigned_by', tr.assigned_by, " \
	"    'conflict', tt.conflict, 'tag_state', tt.state, " \
	"    'spool', CASE WHEN tr.spool_id IS NOT NULL THEN json_build_object('id', tr.spool_id, " \
	"        'name', c.spool#>'{filament,name}', 'material', c.spool#>'{filament,material}', " \
	"        'remaining_weight', c.spool->'remaining_weight') END)"

/*
 * Spoolman's reachability as the worker's outbox thread last saw it (spoolman_health, sql/0010_conn_errors.sql),
 * one JSON object: ok (true, false, or null until known), error, since, last_ok_at, and backlog, the outbox rows
 * waiting to be sent (pending or in flight; an index-only count on spoolman_outbox_due/_open).
 */
#define SPOOLMAN_HEALTH \
	"(SELECT json_build_object('ok', h.ok, 'error', h.error, 'since', h.since, 'last_ok_at', h.last_ok_at, " \
	"    'backlog', (SELECT count(*) FROM spoolman_outbox o WHERE o.state IN ('pending', 'inflight'))) " \
	"  FROM (SELECT 1) one LEFT JOIN spoolman_health h ON h.id)"

/*
 * Forgets every dashboard any process of the pool has cached (epoch_bump()); called after a change that shows on
 * it (printers, trays).  The app also does this after every write request.
 */
void	 status_cache_invalidate(void);

#endif
