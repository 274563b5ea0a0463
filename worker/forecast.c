/* forecast.c: preflight and runout forecast of the running prints this worker holds, stored for the status JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "db.h"
#include "errbuf.h"
#include "forecast.h"
#include "forecast_calc.h"
#include "log.h"
#include "spoolman.h"
#include "xmalloc.h"

#define MAX_LAYERS	1000001
#define PREFLIGHT_TRIES	10	/* reads of a spool's weight until one is not crossed by a use */
/* A job whose spools all last and whose layers moved is computed again after this much time (a farm charges 100
 * layers a second); one that runs out or is unknown on every layer. */
#define FORECAST_MIN_GAP	"5 seconds"

/* The spool in the tray now, joined on the filament's tray (as the ledger charges). */
#define SPOOL_NOW "LEFT JOIN tray_assignments ta ON ta.printer_id = j.printer_id " \
	"AND ta.tray = f.tray AND ta.valid_to IS NULL "

/* Grams of mm of a filament as the ledger computes them (jobs.c); NULL without density or diameter. */
#define GRAMS(mm) "CASE WHEN f.density IS NULL OR f.diameter IS NULL THEN NULL " \
	"ELSE f.density * " mm " * pi() * (f.diameter / 2) ^ 2 / 1000 END"

/* The jobs to look at, with what says whether they need work, and the printer's progress for the clock. */
static const char JOBS_SQL[] =
    "SELECT j.id, j.checkpoint_layer, coalesce(j.layer_count, -1), extract(epoch FROM j.started_at)::bigint,"
    "  fc.job_id IS NULL"
    "   OR (fc.checkpoint_layer IS DISTINCT FROM j.checkpoint_layer"
    "       AND (fc.forecast->'ok' IS DISTINCT FROM 'true'::jsonb"
    "            OR fc.computed_at < now() - interval '" FORECAST_MIN_GAP "'))"
    "   OR fc.computed_at < now() - $2::int * interval '1 second',"
    "  EXISTS (SELECT 1 FROM job_filaments f " SPOOL_NOW
    "           WHERE f.job_id = j.id AND ta.spool_id IS NOT NULL AND NOT EXISTS (SELECT 1"
    "             FROM job_forecast_spools s WHERE s.job_id = j.id AND s.spool_id = ta.spool_id)),"
    "  CASE WHEN jsonb_typeof(s.status->'layer') = 'number' AND s.status->>'state' IN ('RUNNING', 'PAUSE')"
    "   THEN (s.status->>'layer')::int END,"
    "  CASE WHEN jsonb_typeof(s.status->'total_layers') = 'number' THEN (s.status->>'total_layers')::int END,"
    "  CASE WHEN jsonb_typeof(s.status->'remaining_min') = 'number' THEN (s.status->>'remaining_min')::int END,"
    "  extract(epoch FROM now())::bigint"
    " FROM print_jobs j"
    " JOIN worker_leases l ON l.printer_id = j.printer_id AND l.worker_id = $1 AND l.expires_at > now()"
    " LEFT JOIN job_forecasts fc ON fc.job_id = j.id"
    " LEFT JOIN printer_status s ON s.printer_id = j.printer_id"
    " WHERE j.state IN ('preparing', 'running', 'paused') AND j.planned_at IS NOT NULL"
    " ORDER BY j.id";

/* The spools mapped to the job's filaments now that have no preflight row yet. */
static const char MISSING_SQL[] =
    "SELECT DISTINCT ta.spool_id FROM print_jobs j JOIN job_filaments f ON f.job_id = j.id " SPOOL_NOW
    " WHERE j.id = $1::bigint AND ta.spool_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM job_forecast_spools s"
    "   WHERE s.job_id = j.id AND s.spool_id = ta.spool_id) ORDER BY 1";

static const char CACHE_SQL[] =
    "SELECT (spool->>'remaining_weight')::float8 FROM spool_cache"
    " WHERE spool_id = $1::integer AND jsonb_typeof(spool->'remaining_weight') = 'number'";

/*
 * What moves a spool's figure in Spoolman (and its cached copy): the job's checkpoint and the spool's open outbox
 * rows (their count, ids and grams; how many are in flight).  Read before and after the weight: the same answer
 * twice, with nothing in flight, means no use was queued or applied in between, so the weight read and the uses
 * still queued add up exactly.  Through the partial index spoolman_outbox_open.
 */
static const char STATE_SQL[] =
    "SELECT j.checkpoint_layer + 1, count(o.id), coalesce(sum(o.id), 0),"
    "  count(o.id) FILTER (WHERE o.state = 'inflight'),"
    "  coalesce(sum(o.use_g) FILTER (WHERE o.state IN ('pending', 'inflight')), 0)"
    " FROM print_jobs j LEFT JOIN spoolman_outbox o ON o.spool_id = $2::integer"
    "   AND o.state IN ('pending', 'inflight', 'needs_review')"
    " WHERE j.id = $1::bigint GROUP BY j.checkpoint_layer";

/* The preflight row: the weight read ($3, NULL unknown) minus the uses still queued ($5), from layer $6. */
static const char SNAPSHOT_SQL[] =
    "INSERT INTO job_forecast_spools (job_id, spool_id, remaining_g, source, from_layer)"
    " VALUES ($1::bigint, $2::integer, $3::float8 - $5::float8, $4, $6::int)"
    " ON CONFLICT (job_id, spool_id) DO NOTHING";

/* Each (spool, tray) group of the job's filaments, with its snapshot. */
static const char GROUPS_SQL[] =
    "SELECT ta.spool_id, f.tray, json_agg(f.filament_index ORDER BY f.filament_index)::text,"
    "  bool_or(f.density IS NULL OR f.diameter IS NULL), fs.remaining_g, fs.source, fs.from_layer"
    " FROM print_jobs j JOIN job_filaments f ON f.job_id = j.id " SPOOL_NOW
    " LEFT JOIN job_forecast_spools fs ON fs.job_id = j.id AND fs.spool_id = ta.spool_id"
    " WHERE j.id = $1::bigint"
    " GROUP BY ta.spool_id, f.tray, fs.remaining_g, fs.source, fs.from_layer"
    " ORDER BY ta.spool_id NULLS LAST, f.tray NULLS LAST";

/* Grams per layer of each group. */
static const char LAYERS_SQL[] =
    "SELECT ta.spool_id, f.tray, l.layer, coalesce(sum(" GRAMS("l.mm") "), 0)"
    " FROM print_jobs j JOIN job_plan_layers l ON l.job_id = j.id"
    " JOIN job_filaments f ON f.job_id = l.job_id AND f.filament_index = l.filament_index " SPOOL_NOW
    " WHERE j.id = $1::bigint GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";

static const char STORE_SQL[] =
    "INSERT INTO job_forecasts (job_id, forecast, checkpoint_layer, computed_at)"
    " VALUES ($1::bigint, $2::jsonb, $3::int, now())"
    " ON CONFLICT (job_id) DO UPDATE SET forecast = EXCLUDED.forecast,"
    "  checkpoint_layer = EXCLUDED.checkpoint_layer, computed_at = now()";

static const char RUNOUT_SQL[] =
    "SELECT webhook_enqueue('spool_runout_forecast', 'spool_runout_forecast:' || $1::bigint || ':' || $2::integer,"
    "  webhook_job_json($1::bigint) || jsonb_build_object('spool', $3::jsonb))";

/* A job as JOBS_SQL gives it. */
struct fjob {
	long long		 id;
	int			 checkpoint;
	int			 layer_count;
	int			 stale;
	int			 missing;
	struct forecast_clock	 clock;
};

/* One (spool, tray) group being forecast. */
struct fgroup {
	const char	*spool;		/* text, NULL: no spool in the tray */
	const char	*tray;		/* text, NULL: no tray known */
	const char	*filaments;	/* JSON array text */
	int		 no_grams;	/* a filament without density or diameter */
	int		 known;		/* a snapshot with a weight */
	double		 remaining;
	const char	*source;
	int		 from;
	double		*need;		/* grams per layer, [0, n) */
	int		 n;
};

static int
col_int(const struct db_result *r, int row, int col, int dflt)
{
	long long	v;

	if (db_result_get(r, row, col) == NULL || db_result_int64(r, row, col, &v) == -1)
		return dflt;
	return (int)v;
}

static void
iso_time(time_t t, char *buf, size_t len)
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
num_or_null(double v)
{
	return isfinite(v) ? json_real(round(v * 1000) / 1000) : json_null();
}

static json_t *
int_text_or_null(const char *s)
{
	return s != NULL ? json_integer(strtoll(s, NULL, 10)) : json_null();
}

/* The remaining weight of a spool: Spoolman first, then the cache.  Sets *source (NULL: unknown). */
static double
spool_remaining(struct db *db, struct spoolman *sm, const char *spool, const char **source, char *err)
{
	struct spoolman_spool	 sp;
	struct db_result	*r;
	double			 v = NAN;
	char			 e[ERRBUF_LEN];

	*source = NULL;
	if (sm != NULL && spoolman_get_spool(sm, (int)strtol(spool, NULL, 10), &sp, e) == SPOOLMAN_OK &&
	    isfinite(sp.remaining_weight)) {
		*source = "spoolman";
		return sp.remaining_weight;
	}
	if (db_exec_prepared(db, CACHE_SQL, 1, (const char *[]){ spool }, &r, err) == -1)
		return NAN;
	if (db_result_rows(r) == 1 && db_result_double(r, 0, 0, &v) == 0 && isfinite(v))
		*source = "cache";
	db_result_free(r);
	return v;
}

/* STATE_SQL's answer: [0] from layer, [1] open rows, [2] sum of their ids, [3] in flight; *queued_g the grams. */
struct spool_state {
	long long	v[4];
	char		queued_g[64];
};

static int
spool_state(struct db *db, const char *job, const char *spool, struct spool_state *st, char *err)
{
	struct db_result	*r;
	int			 i;

	if (db_exec_prepared(db, STATE_SQL, 2, (const char *[]){ job, spool }, &r, err) == -1)
		return -1;
	memset(st, 0, sizeof(*st));
	for (i = 0; i < 4 && db_result_rows(r) == 1; i++)
		(void)db_result_int64(r, 0, i, &st->v[i]);
	snprintf(st->queued_g, sizeof(st->queued_g), "%s", db_result_rows(r) == 1 &&
	    db_result_get(r, 0, 4) != NULL ? db_result_get(r, 0, 4) : "0");
	db_result_free(r);
	return 0;
}

/*
 * The preflight of one spool: its weight read while nothing about it moves (at most PREFLIGHT_TRIES reads, 0.1 s
 * apart; then the last one is taken as it is), stored.  0 or -1 with err.
 */
static int
preflight_spool(struct db *db, struct spoolman *sm, const char *job, const char *spool, char *err)
{
	struct spool_state	 a, b;
	struct timespec		 nap = { 0, 100000000 };
	const char		*source = NULL, *p[6];
	char			 w[64], from[24];
	double			 v = NAN;
	int			 i;

	for (i = 0; i < PREFLIGHT_TRIES; i++) {
		if (i > 0)
			nanosleep(&nap, NULL);
		if (spool_state(db, job, spool, &a, err) == -1)
			return -1;
		if (a.v[3] > 0 && i + 1 < PREFLIGHT_TRIES)
			continue;	/* a use in flight: applied or not, nobody knows yet */
		err[0] = '\0';
		v = spool_remaining(db, sm, spool, &source, err);
		if (source == NULL && err[0] != '\0')
			return -1;
		if (spool_state(db, job, spool, &b, err) == -1)
			return -1;
		if (memcmp(a.v, b.v, sizeof(a.v)) == 0 && strcmp(a.queued_g, b.queued_g) == 0)
			break;
	}
	snprintf(w, sizeof(w), "%.17g", v);
	snprintf(from, sizeof(from), "%lld", a.v[0]);
	p[0] = job;
	p[1] = spool;
	p[2] = source != NULL ? w : NULL;
	p[3] = source;
	p[4] = a.queued_g;
	p[5] = from;
	if (db_exec_prepared(db, SNAPSHOT_SQL, 6, p, NULL, err) == -1)
		return -1;
	log_msg(LOGL_INFO, 0, strtoll(job, NULL, 10), "preflight of spool %s from layer %s: %s%s%s", spool, from,
	    source != NULL ? w : "remaining weight unknown", source != NULL ? " g, less the queued " : "",
	    source != NULL ? a.queued_g : "");
	return 0;
}

/* Preflight of the spools of job that have no snapshot yet.  0 or -1 with err. */
static int
preflight(struct db *db, struct spoolman *sm, long long job, char *err)
{
	struct db_result	*r;
	char			 id[24];
	int			 i, n;

	snprintf(id, sizeof(id), "%lld", job);
	if (db_exec_prepared(db, MISSING_SQL, 1, (const char *[]){ id }, &r, err) == -1)
		return -1;
	n = db_result_rows(r);
	for (i = 0; i < n; i++)
		if (preflight_spool(db, sm, id, db_result_get(r, i, 0), err) == -1)
			break;
	db_result_free(r);
	return i == n ? 0 : -1;
}

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Fills each group's need[] from LAYERS_SQL's rows. */
static void
fill_needs(const struct db_result *r, struct fgroup *g, int ng, int n)
{
	double	grams;
	int	i, k, layer;

	for (k = 0; k < ng; k++) {
		g[k].n = n;
		g[k].need = xcalloc(n > 0 ? n : 1, sizeof(double));
	}
	for (i = 0; i < db_result_rows(r); i++) {
		layer = col_int(r, i, 2, -1);
		if (layer < 0 || layer >= n || db_result_double(r, i, 3, &grams) == -1)
			continue;
		for (k = 0; k < ng; k++)
			if (same(g[k].spool, db_result_get(r, i, 0)) && same(g[k].tray, db_result_get(r, i, 1)))
				g[k].need[layer] += grams;
	}
}

/* Why a group's forecast is unknown, or NULL when it is known. */
static const char *
unknown_why(const struct fgroup *g)
{
	if (g->tray == NULL)
		return "the filament's tray is not known yet";
	if (g->spool == NULL)
		return "no spool is assigned to the tray";
	if (g->no_grams)
		return "the file gives no density or diameter";
	if (!g->known)
		return "the spool's remaining weight is unknown (Spoolman and the cache have none)";
	return NULL;
}

/* One group's entry of "spools"; *state is 0 ok, 1 runs out, 2 unknown. */
static json_t *
group_json(const struct fgroup *g, const struct fjob *j, int *state)
{
	json_t		*o = json_object(), *fil = json_loads(g->filaments, 0, NULL);
	const char	*why = unknown_why(g);
	int		 from = j->checkpoint + 1, out = -1;
	double		 need = forecast_need_from(g->need, g->n, from), rem = NAN;
	time_t		 eta;
	char		 ts[32];

	if (why == NULL) {
		rem = g->remaining - (from > g->from ? forecast_need_from(g->need, from < g->n ? from : g->n,
		    g->from) : 0);
		out = forecast_runout_layer(g->need, g->n, g->from, g->remaining);
	}
	*state = why != NULL ? 2 : out >= 0 ? 1 : 0;
	json_object_set_new(o, "spool_id", int_text_or_null(g->spool));
	json_object_set_new(o, "tray", int_text_or_null(g->tray));
	json_object_set_new(o, "filaments", fil != NULL ? fil : json_array());
	json_object_set_new(o, "status", json_string(*state == 2 ? "unknown" : *state == 1 ? "runs_out" : "ok"));
	json_object_set_new(o, "need_g", g->no_grams ? json_null() : num_or_null(need));
	json_object_set_new(o, "remaining_g", num_or_null(rem > 0 ? rem : isfinite(rem) ? 0 : rem));
	json_object_set_new(o, "remaining_source", why == NULL ? json_string(g->source) : json_null());
	json_object_set_new(o, "shortfall_g", *state == 1 ? num_or_null(need - rem) : json_null());
	json_object_set_new(o, "runs_out_at_layer", out >= 0 ? json_integer(out) : json_null());
	eta = out >= 0 ? forecast_eta(&j->clock, out) : 0;
	iso_time(eta, ts, sizeof(ts));
	json_object_set_new(o, "runs_out_at", eta != 0 ? json_string(ts) : json_null());
	if (why != NULL)
		json_object_set_new(o, "reason", json_string(why));
	return o;
}

/* Loads the groups of a job into *gp (new; free each need and the array).  Returns the count, -1 with err. */
static int
load_groups(struct db *db, const struct fjob *j, struct db_result **gr, struct fgroup **gp, char *err)
{
	struct db_result	*lr;
	struct fgroup		*g;
	char			 id[24];
	int			 i, n, max = j->layer_count + 1;

	snprintf(id, sizeof(id), "%lld", j->id);
	if (db_exec_prepared(db, GROUPS_SQL, 1, (const char *[]){ id }, gr, err) == -1)
		return -1;
	if (db_exec_prepared(db, LAYERS_SQL, 1, (const char *[]){ id }, &lr, err) == -1) {
		db_result_free(*gr);
		return -1;
	}
	for (i = 0; i < db_result_rows(lr); i++)
		if (col_int(lr, i, 2, -1) >= max && col_int(lr, i, 2, -1) < MAX_LAYERS)
			max = col_int(lr, i, 2, -1) + 1;
	n = db_result_rows(*gr);
	g = xcalloc(n > 0 ? n : 1, sizeof(*g));
	for (i = 0; i < n; i++) {
		g[i].spool = db_result_get(*gr, i, 0);
		g[i].tray = db_result_get(*gr, i, 1);
		g[i].filaments = db_result_get(*gr, i, 2);
		g[i].no_grams = db_result_bool(*gr, i, 3) == 1;
		g[i].known = db_result_get(*gr, i, 4) != NULL &&
		    db_result_double(*gr, i, 4, &g[i].remaining) == 0;
		g[i].source = db_result_get(*gr, i, 5);
		g[i].from = col_int(*gr, i, 6, 0);
	}
	fill_needs(lr, g, n, max);
	db_result_free(lr);
	*gp = g;
	return n;
}

/* Queues the runout event of a spool (once per job and spool: the dedupe key). */
static int
runout_event(struct db *db, long long job, json_t *spool, char *err)
{
	char	id[24], sid[24], *text = json_dumps(spool, JSON_COMPACT);
	int	rc;

	snprintf(id, sizeof(id), "%lld", job);
	snprintf(sid, sizeof(sid), "%lld", (long long)json_integer_value(json_object_get(spool, "spool_id")));
	rc = db_exec_prepared(db, RUNOUT_SQL, 3, (const char *[]){ id, sid, text }, NULL, err);
	free(text);
	return rc;
}

/* Computes, stores and announces the forecast of job j.  0 or -1 with err. */
static int
forecast_job(struct db *db, const struct fjob *j, char *err)
{
	struct db_result	*gr;
	struct fgroup		*g;
	json_t			*doc = json_object(), *spools = json_array(), *e;
	char			 id[24], cp[16], ts[32], *text;
	int			 i, n, st, worst = 0, rc = 0;

	if ((n = load_groups(db, j, &gr, &g, err)) == -1) {
		json_decref(doc);
		json_decref(spools);
		return -1;
	}
	for (i = 0; i < n; i++) {
		e = group_json(&g[i], j, &st);
		json_array_append_new(spools, e);
		worst = st == 1 || worst == 1 ? 1 : st > worst ? st : worst;
		if (st == 1 && rc == 0)
			rc = runout_event(db, j->id, e, err);
		free(g[i].need);
	}
	free(g);
	db_result_free(gr);
	iso_time(j->clock.now, ts, sizeof(ts));
	json_object_set_new(doc, "ok", worst == 0 ? json_true() : worst == 1 ? json_false() : json_null());
	json_object_set_new(doc, "status", json_string(worst == 0 ? "ok" : worst == 1 ? "runs_out" : "unknown"));
	json_object_set_new(doc, "layer", json_integer(j->checkpoint + 1));
	json_object_set_new(doc, "computed_at", json_string(ts));
	json_object_set_new(doc, "spools", spools);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	snprintf(id, sizeof(id), "%lld", j->id);
	snprintf(cp, sizeof(cp), "%d", j->checkpoint);
	if (rc == 0)
		rc = db_exec_prepared(db, STORE_SQL, 3, (const char *[]){ id, text, cp }, NULL, err);
	free(text);
	return rc;
}

static void
job_row(const struct db_result *r, int i, struct fjob *j)
{
	long long	v;

	memset(j, 0, sizeof(*j));
	if (db_result_int64(r, i, 0, &v) == 0)
		j->id = v;
	j->checkpoint = col_int(r, i, 1, -1);
	j->layer_count = col_int(r, i, 2, -1);
	j->clock.first_layer_at = db_result_int64(r, i, 3, &v) == 0 ? (time_t)v : 0;
	j->stale = db_result_bool(r, i, 4) != 0;	/* NULL (no forecast yet) counts as stale */
	j->missing = db_result_bool(r, i, 5) == 1;
	j->clock.layer = col_int(r, i, 6, -1);
	j->clock.total_layers = col_int(r, i, 7, -1);
	j->clock.remaining_min = col_int(r, i, 8, -1);
	j->clock.now = db_result_int64(r, i, 9, &v) == 0 ? (time_t)v : time(NULL);
}

int
forecast_run_once(struct db *db, struct spoolman *sm, const char *worker_id, char *err)
{
	struct db_result	*r;
	struct fjob		 j;
	char			 refresh[16];
	int			 i, done = 0;

	snprintf(refresh, sizeof(refresh), "%d", FORECAST_REFRESH_S);
	if (db_exec_prepared(db, JOBS_SQL, 2, (const char *[]){ worker_id, refresh }, &r, err) == -1)
		return -1;
	for (i = 0; i < db_result_rows(r); i++) {
		job_row(r, i, &j);
		if (j.missing && preflight(db, sm, j.id, err) == -1)
			break;
		if (!j.stale && !j.missing)
			continue;
		if (forecast_job(db, &j, err) == -1)
			break;
		done++;
	}
	i = i == db_result_rows(r) ? done : -1;
	db_result_free(r);
	return i;
}
