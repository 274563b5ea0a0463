/* h_metrics.c: GET /metrics (no login; nginx lets only this host in): Prometheus text format 0.0.4. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"

/* One statement: every figure of the database as one JSON object (docs/operations.md, "Metrics"). */
static const char METRICS_SQL[] =
    "SELECT json_build_object("
    "  'printers', (SELECT count(*) FROM printers WHERE enabled), "
    "  'printers_connected', (SELECT count(*) FROM printer_status s JOIN worker_heartbeats h "
    "      ON h.worker_id = s.worker_id WHERE s.connected AND h.seen_at > now() - interval '1 minute'), "
    "  'workers', (SELECT count(*) FROM worker_heartbeats WHERE seen_at > now() - interval '1 minute'), "
    "  'layers_charged', (SELECT count(*) FROM (SELECT DISTINCT job_id, layer FROM usage_ledger "
    "      WHERE kind = 'layer') l), "
    "  'grams_spent', (SELECT coalesce(sum(grams), 0) FROM usage_ledger), "
    "  'meters_spent', (SELECT coalesce(sum(mm), 0) / 1000 FROM usage_ledger), "
    "  'outbox_backlog', (SELECT count(*) FROM spoolman_outbox WHERE state IN ('pending', 'inflight')), "
    "  'outbox_oldest_age', (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) "
    "      FROM spoolman_outbox WHERE state IN ('pending', 'inflight')), "
    "  'outbox_needs_review', (SELECT count(*) FROM spoolman_outbox WHERE state = 'needs_review'), "
    "  'locations_needs_review', (SELECT count(*) FROM spool_patches WHERE state = 'needs_review'), "
    "  'worker', (SELECT coalesce(json_object_agg(key, total), '{}') FROM (SELECT key, sum(value::numeric) "
    "      AS total FROM worker_metrics, jsonb_each_text(counters) WHERE value ~ '^[0-9]+$' GROUP BY key) w))";

/* A figure of the database's answer (0 when absent). */
static double
num(const json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : 0;
}

/* One metric without labels: HELP, TYPE and its sample. */
static void
sample(struct metrics_text *t, const char *name, const char *type, const char *help, double v)
{
	metrics_head(t, name, type, help);
	if (v == floor(v) && fabs(v) < 1e15)
		metrics_printf(t, "%s %.0f\n", name, v);
	else
		metrics_printf(t, "%s %.17g\n", name, v);
}

/* This process has logged that the database cannot be read: not again (every scrape) until it can. */
static int	 db_failing;

/* The database's figures as JSON (new), or NULL when the database cannot be read (logged once while it lasts). */
static json_t *
db_figures(struct ctx *c)
{
	struct db_result	*r = NULL;
	const char		*text;
	json_t			*j = NULL;
	json_error_t		 jerr;

	if (c->app->db == NULL && db_open(c->app->conninfo, &c->app->db, c->err) == -1)
		goto fail;
	if (db_check(c->app->db, c->err) == -1 ||
	    db_exec_prepared(c->app->db, METRICS_SQL, 0, NULL, &r, c->err) == -1)
		goto fail;
	text = db_result_rows(r) > 0 ? db_result_get(r, 0, 0) : NULL;
	if (text == NULL || (j = json_loads(text, 0, &jerr)) == NULL)
		ctx_logl(c, LOGL_ERROR, "metrics: the database's answer cannot be read");
	db_result_free(r);
	if (j != NULL && db_failing)
		ctx_logl(c, LOGL_INFO, "metrics: the database answers again");
	db_failing = j == NULL ? db_failing : 0;
	return j;
fail:
	if (!db_failing)
		ctx_logl(c, LOGL_ERROR, "metrics: %s (not logged again while it lasts)", c->err);
	db_failing = 1;
	return NULL;
}

/* The worker counters (sql/0007_metrics.sql, summed over every worker). */
static void
worker_counters(struct metrics_text *t, const json_t *w)
{
	static const struct {
		const char	*key, *name, *help;
	} m[] = {
		{ "mqtt_connects", "spoolkeeper_mqtt_connects_total",
		    "MQTT sessions to printers that reached CONNACK 0, first connects and reconnects." },
		{ "mqtt_reconnects", "spoolkeeper_mqtt_reconnects_total",
		    "MQTT connects of a session that had been connected before (after a lost connection)." },
		{ "mqtt_disconnects", "spoolkeeper_mqtt_disconnects_total",
		    "Connected MQTT sessions that lost their connection." },
		{ "mqtt_refused", "spoolkeeper_mqtt_login_refused_total",
		    "MQTT CONNACKs refusing the login (wrong access code or identifier)." },
		{ "spoolman_requests", "spoolkeeper_spoolman_requests_total",
		    "HTTP requests the worker sent to Spoolman." },
		{ "spoolman_errors", "spoolkeeper_spoolman_errors_total",
		    "Of those, the ones that failed: no answer, a 5xx, or a refused login (401/407)." },
	};
	size_t	 i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		sample(t, m[i].name, "counter", m[i].help, num(w, m[i].key));
}

void
h_metrics(struct ctx *c)
{
	struct metrics_text	 t = { NULL, 0, 0 };
	json_t			*j = db_figures(c);

	sample(&t, "spoolkeeper_database_up", "gauge",
	    "1 when spoolkeeper-web could read the database for this scrape, else 0 (the figures below it are "
	    "then left out).", j != NULL);
	if (j != NULL) {
		sample(&t, "spoolkeeper_printers", "gauge", "Enabled printers.", num(j, "printers"));
		sample(&t, "spoolkeeper_printers_connected", "gauge",
		    "Printers whose MQTT session is connected, by a worker seen in the last minute.",
		    num(j, "printers_connected"));
		sample(&t, "spoolkeeper_workers", "gauge", "Workers whose heartbeat is less than a minute old.",
		    num(j, "workers"));
		sample(&t, "spoolkeeper_layers_charged_total", "counter",
		    "Whole layers charged to the usage ledger (one per job and layer, whatever the filaments).",
		    num(j, "layers_charged"));
		sample(&t, "spoolkeeper_grams_spent_total", "counter",
		    "Filament charged to the usage ledger, in grams (rows without a weight count 0).",
		    num(j, "grams_spent"));
		sample(&t, "spoolkeeper_filament_spent_meters_total", "counter",
		    "Filament charged to the usage ledger, in meters.", num(j, "meters_spent"));
		sample(&t, "spoolkeeper_outbox_backlog", "gauge",
		    "Spoolman outbox rows waiting to be sent or in flight.", num(j, "outbox_backlog"));
		sample(&t, "spoolkeeper_outbox_oldest_age_seconds", "gauge",
		    "Age of the oldest outbox row waiting or in flight, in seconds (0: none).",
		    num(j, "outbox_oldest_age"));
		sample(&t, "spoolkeeper_outbox_needs_review", "gauge",
		    "Outbox rows that need a person (GET /api/v1/outbox).", num(j, "outbox_needs_review"));
		sample(&t, "spoolkeeper_location_updates_needs_review", "gauge",
		    "Spool location updates Spoolman refused (GET /api/v1/location-updates).",
		    num(j, "locations_needs_review"));
		worker_counters(&t, json_object_get(j, "worker"));
		json_decref(j);
	}
	metrics_write_http(&t);
	http_reply_text(c->res, 200, METRICS_CONTENT_TYPE, t.buf != NULL ? t.buf : "", t.len);
	metrics_text_free(&t);
}
