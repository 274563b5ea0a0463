/* h_status.c: GET /printers/{id}/status and the dashboard GET /status, one SQL statement each, cached briefly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "epoch.h"
#include "monoclock.h"
#include "routes.h"
#include "status.h"

#define CACHE_SLOTS	16	/* users whose dashboard one process keeps */
#define JSON_TYPE	"application/json; charset=utf-8"

/*
 * One row per printer user $1 (admin: $2) may see, or only printer $3 when it is not NULL: id, name and j, its
 * status with trays as tray_json (docs/api.md, "Live status").  Visibility is visible_printers()'s rule, written
 * out as joins so that no function runs a query per row.
 */
#define STATUS_ROWS(tray_json) \
	"WITH vp AS (SELECT p.id, p.name, p.model, p.enabled, " \
	"        CASE WHEN $2::boolean THEN 'admin' ELSE a.level END AS access " \
	"      FROM printers p LEFT JOIN printer_access a ON a.printer_id = p.id AND a.user_id = $1::bigint " \
	"     WHERE ($2::boolean OR a.level IS NOT NULL) AND ($3::bigint IS NULL OR p.id = $3::bigint)), " \
	TRAYS_CTES(tray_json) ", " \
	"un AS (SELECT printer_id, unit, json_agg(j ORDER BY tray) AS trays FROM tj GROUP BY printer_id, unit), " \
	"pu AS (SELECT printer_id, json_agg(json_build_object('unit', unit, 'kind', CASE WHEN unit < 128 THEN 'ams' " \
	"        WHEN unit < 192 THEN 'ams_ht' ELSE 'external' END, 'trays', trays) ORDER BY unit) AS units " \
	"      FROM un GROUP BY printer_id), " \
	"nr AS (SELECT pj.printer_id, count(*) AS n FROM spoolman_outbox o " \
	"      JOIN usage_ledger ul ON ul.id = o.ledger_id JOIN print_jobs pj ON pj.id = ul.job_id " \
	"     WHERE o.state = 'needs_review' GROUP BY pj.printer_id) " \
	"SELECT vp.id, vp.name, json_build_object('id', vp.id, 'name', vp.name, 'model', vp.model, " \
	"    'enabled', vp.enabled, 'access', vp.access, " \
	"    'connected', coalesce(s.connected, false) AND NOT x.stale, 'stale', x.stale, " \
	"    'connection_error', s.connection_error, " \
	"    'updated_at', s.updated_at, 'last_message_at', s.last_message_at, " \
	"    'state', s.status->'state', 'layer', s.status->'layer', 'total_layers', s.status->'total_layers', " \
	"    'percent', s.status->'percent', 'remaining_min', s.status->'remaining_min', " \
	"    'temps', json_build_object('nozzle', s.status->'nozzle_temp', 'nozzle_target', " \
	"        s.status->'nozzle_target', 'bed', s.status->'bed_temp', 'bed_target', s.status->'bed_target'), " \
	"    'print_error', s.status->'print_error', 'subtask_name', s.status->'subtask_name', " \
	"    'tray_now', s.status->'tray_now', 'units', coalesce(pu.units, '[]'::json), " \
	"    'job', CASE WHEN pj.id IS NOT NULL THEN json_build_object('id', pj.id, 'name', pj.subtask_name, " \
	"        'state', pj.state, 'plate', pj.plate, 'started_at', pj.started_at, 'layer_count', pj.layer_count, " \
	"        'reported_layer', pj.reported_layer, 'checkpoint_layer', pj.checkpoint_layer, " \
	"        'user_id', pj.user_id, 'user', ju.username) END, " \
	"    'needs_review', coalesce(nr.n, 0), " \
	"    'forecast', (SELECT fc.forecast FROM job_forecasts fc WHERE fc.job_id = pj.id)) AS j " \
	"  FROM vp LEFT JOIN printer_status s ON s.printer_id = vp.id " \
	"  LEFT JOIN worker_leases l ON l.printer_id = vp.id " \
	"  LEFT JOIN print_jobs pj ON pj.printer_id = vp.id AND pj.state IN ('preparing', 'running', 'paused') " \
	"  LEFT JOIN users ju ON ju.id = pj.user_id " \
	"  LEFT JOIN pu ON pu.printer_id = vp.id LEFT JOIN nr ON nr.printer_id = vp.id " \
	"  CROSS JOIN LATERAL (SELECT s.updated_at IS NULL " \
	"      OR s.updated_at < now() - interval '" STATUS_STR(STATUS_STALE_S) " seconds' " \
	"      OR l.expires_at IS NULL OR l.expires_at <= now() AS stale) x"

#define DASHBOARD_SQL \
	"SELECT json_build_object('printers', coalesce(json_agg(r.j ORDER BY lower(r.name), r.id), '[]'::json), " \
	"    'generated_at', now(), 'stale_after_s', " STATUS_STR(STATUS_STALE_S) ", 'spoolman', " SPOOLMAN_HEALTH ") " \
	"  FROM (" STATUS_ROWS(TRAY_SHORT) ") r"

/* A dashboard as one user saw it: the answer's text. */
struct cached {
	const struct app	*app;
	long long		 user;
	int			 admin;
	unsigned long		 epoch;	/* epoch_now() before the query that made it */
	long long		 at;	/* monoclock_ms() when it was made */
	char			*text;
	size_t			 len;
};

static struct cached	 cache[CACHE_SLOTS];

void
status_cache_invalidate(void)
{
	epoch_bump();
}

/* The user's cached dashboard if it is fresh, else NULL; *slot is where to put a new one. */
static struct cached *
cache_find(const struct ctx *c, long ttl, long long now, struct cached **slot)
{
	struct cached	*e, *oldest = NULL;
	int		 i;

	*slot = NULL;
	for (i = 0; i < CACHE_SLOTS; i++) {
		e = &cache[i];
		if (e->text == NULL) {
			if (*slot == NULL)
				*slot = e;
			continue;
		}
		if (e->app == c->app && e->user == c->user.id && e->admin == c->user.admin) {
			*slot = e;
			return e->epoch == epoch_now() && now - e->at < ttl ? e : NULL;
		}
		if (oldest == NULL || e->at < oldest->at)
			oldest = e;
	}
	if (*slot == NULL)
		*slot = oldest;
	return NULL;
}

/* Replies with text (stolen) and, when the cache is on, keeps it in slot as made under epoch. */
static void
reply_and_keep(struct ctx *c, char *text, struct cached *slot, long ttl, long long now,
    unsigned long epoch)
{
	size_t	 len = strlen(text);

	http_reply_text(c->res, 200, JSON_TYPE, text, len);
	if (ttl <= 0 || slot == NULL) {
		free(text);
		return;
	}
	free(slot->text);
	slot->app = c->app;
	slot->user = c->user.id;
	slot->admin = c->user.admin;
	slot->epoch = epoch;
	slot->at = now;
	slot->text = text;
	slot->len = len;
}

void
h_status_all(struct ctx *c)
{
	char		 uid[24], *text;
	const char	*params[3] = { ctx_num(uid, c->user.id), c->user.admin ? "true" : "false", NULL };
	struct cached	*hit, *slot;
	long long	 now = monoclock_ms();
	long		 ttl = c->app->status_cache_ms;
	unsigned long	 epoch = epoch_now();
	json_t		*j;

	if (ttl > 0 && (hit = cache_find(c, ttl, now, &slot)) != NULL) {
		http_reply_text(c->res, 200, JSON_TYPE, hit->text, hit->len);
		return;
	}
	if (ttl <= 0)
		slot = NULL;
	if ((j = ctx_query_json(c, DASHBOARD_SQL, 3, params, NULL)) == NULL)
		return;
	if ((text = http_json_text(j)) == NULL) {
		ctx_fail(c, 500, "internal", "cannot encode the dashboard");
		return;
	}
	reply_and_keep(c, text, slot, ttl, now, epoch);
}

void
h_status_get(struct ctx *c)
{
	char		 uid[24], pid[24];
	const char	*params[3] = { ctx_num(uid, c->user.id), c->user.admin ? "true" : "false",
			    ctx_num(pid, c->id[0]) };
	json_t		*j;

	/* STATUS_ROWS only has the printer when the user may see it: one statement, and 404 otherwise. */
	j = ctx_query_json(c, "SELECT r.j FROM (" STATUS_ROWS(TRAY_FULL) ") r", 3, params, "no such printer");
	if (j != NULL)
		http_reply_json(c->res, 200, j);
}
