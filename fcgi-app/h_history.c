/* h_history.c: the print history (list, one print with its usage, whose it is) and usage totals, as JSON or CSV. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "csv.h"
#include "db.h"
#include "history.h"
#include "query.h"
#include "routes.h"

#define PRINTS_LIMIT_DEFAULT	50
#define PRINTS_LIMIT_MAX	200
#define PRINTS_CSV_LIMIT_MAX	10000

/* A print as in the list: print_jobs j (any row source with its columns), printer, user, charged and planned. */
#define PRINT_FIELDS \
	"'id', j.id, 'printer_id', j.printer_id, 'printer', p.name, 'user_id', j.user_id, 'user', u.username, " \
	"'name', j.subtask_name, 'gcode_file', j.gcode_file, 'plate', j.plate, 'state', j.state, " \
	"'started_at', j.started_at, 'ended_at', j.ended_at, 'layer_count', j.layer_count, " \
	"'checkpoint_layer', j.checkpoint_layer, 'layers_charged', s.layers, 'grams', s.grams, 'mm', s.mm, " \
	"'planned_grams', pf.grams, 'planned_mm', pf.mm, 'grams_unknown_spool', s.grams_unknown_spool, " \
	"'mm_unknown_spool', s.mm_unknown_spool, 'mm_no_grams', s.mm_no_grams"

#define PRINT_FROM(src) \
	" FROM " src " j JOIN printers p ON p.id = j.printer_id LEFT JOIN users u ON u.id = j.user_id " \
	"CROSS JOIN LATERAL (SELECT count(DISTINCT l.layer) AS layers, coalesce(sum(l.grams), 0) AS grams, " \
	"    coalesce(sum(l.mm), 0) AS mm, " \
	"    coalesce(sum(l.grams) FILTER (WHERE l.spool_id IS NULL), 0) AS grams_unknown_spool, " \
	"    coalesce(sum(l.mm) FILTER (WHERE l.spool_id IS NULL), 0) AS mm_unknown_spool, " \
	"    coalesce(sum(l.mm) FILTER (WHERE l.grams IS NULL), 0) AS mm_no_grams " \
	"  FROM usage_ledger l WHERE l.job_id = j.id) s " \
	"CROSS JOIN LATERAL (SELECT sum(f.grams) AS grams, sum(f.mm) AS mm FROM job_filaments f " \
	"  WHERE f.job_id = j.id) pf "

/* The keyset cursor of a print: started_at in microseconds since 1970, "_", id. */
#define PRINT_CURSOR	"((extract(epoch FROM j.started_at) * 1000000)::bigint || '_' || j.id)"

/*
 * The prints list.  $1 user, $2 printer, $3 user filter, $4 unassigned only, $5 state, $6 from, $7 to (dates,
 * inclusive, in time zone $8), $9 and $10 the cursor (microseconds, id), $11 limit.  Newest first.
 */
static const char prints_sql[] =
    "WITH hits AS (SELECT j.* FROM print_jobs j "
    "   WHERE j.printer_id IN (SELECT visible_printers($1::bigint)) "
    "     AND ($2::bigint IS NULL OR j.printer_id = $2::bigint) "
    "     AND ($3::bigint IS NULL OR j.user_id = $3::bigint) "
    "     AND (NOT $4::boolean OR j.user_id IS NULL) "
    "     AND ($5::text IS NULL OR j.state = $5::text) "
    "     AND ($6::date IS NULL OR j.started_at >= $6::date::timestamp AT TIME ZONE $8::text) "
    "     AND ($7::date IS NULL OR j.started_at < ($7::date + 1)::timestamp AT TIME ZONE $8::text) "
    "     AND ($9::bigint IS NULL OR (j.started_at, j.id) < "
    "         (timestamptz 'epoch' + $9::bigint * interval '1 microsecond', $10::bigint)) "
    "   ORDER BY j.started_at DESC, j.id DESC LIMIT $11::int + 1), "
    "page AS (SELECT *, row_number() OVER (ORDER BY started_at DESC, id DESC) AS rn FROM hits) "
    "SELECT json_build_object('prints', coalesce(json_agg(json_build_object(" PRINT_FIELDS ") ORDER BY j.rn) "
    "    FILTER (WHERE j.rn <= $11::int), '[]'::json), "
    "  'next', CASE WHEN count(*) > $11::int THEN max(" PRINT_CURSOR ") FILTER (WHERE j.rn = $11::int) END)"
    PRINT_FROM("page");

/* The CSV columns of the prints list. */
static const char *const prints_csv_columns[] = {
	"id", "started_at", "ended_at", "printer_id", "printer", "user_id", "user", "name", "gcode_file", "plate",
	"state", "layer_count", "checkpoint_layer", "layers_charged", "grams", "mm", "planned_grams", "planned_mm",
	"grams_unknown_spool", "mm_unknown_spool", "mm_no_grams", NULL
};

static const char *const print_states[] = {
	"preparing", "running", "paused", "finished", "failed", "cancelled", "abandoned", NULL
};
static const char *const formats[] = { "json", "csv", NULL };

/* The parameters of the prints list as SQL text parameters (see prints_sql). */
struct prints_query {
	const char	*params[11];
	char		 uid[24], printer[24], user[24], from[QUERY_DATE_LEN], to[QUERY_DATE_LEN];
	char		 tz[QUERY_TZ_LEN], cur_us[24], cur_id[24], limit[24];
	int		 csv;
};

/* Parses cursor "<microseconds>_<id>" into q.  0, or -1 after answering 400. */
static int
parse_cursor(struct ctx *c, const char *s, struct prints_query *q)
{
	char		*end;
	long long	 us, id;

	errno = 0;
	us = strtoll(s, &end, 10);
	if (end == s || *end != '_' || errno != 0 || end[1] < '1' || end[1] > '9')
		return ctx_fail(c, 400, "invalid", "cursor: not a cursor this API gave out");
	id = strtoll(end + 1, &end, 10);
	if (errno != 0 || *end != '\0' || id > QUERY_ID_MAX)
		return ctx_fail(c, 400, "invalid", "cursor: not a cursor this API gave out");
	q->params[8] = ctx_num(q->cur_us, us);
	q->params[9] = ctx_num(q->cur_id, id);
	return 0;
}

/* The "user" filter: a user id, or "none" for prints nobody owns.  0, or -1 after a 400. */
static int
parse_user(struct ctx *c, struct prints_query *q)
{
	char		 v[24];
	long long	 n;
	int		 r;

	q->params[3] = "false";
	if ((r = query_string(c, "user", v, sizeof(v))) <= 0)
		return r == 0 ? 0 : -1;
	if (strcmp(v, "none") == 0) {
		q->params[3] = "true";
		return 0;
	}
	if (query_int(c, "user", 1, QUERY_ID_MAX, &n) == -1)
		return -1;
	q->params[2] = ctx_num(q->user, n);
	return 0;
}

/* Reads and checks every parameter of the prints list into q.  0, or -1 after a 400. */
static int
prints_query(struct ctx *c, struct prints_query *q)
{
	static const char *const names[] = {
		"printer", "user", "state", "from", "to", "tz", "limit", "cursor", "format", NULL
	};
	const char	*fmt = "json";
	char		 cursor[48];
	long long	 n, limit;
	int		 r;

	memset(q, 0, sizeof(*q));
	q->params[0] = ctx_num(q->uid, c->user.id);
	if (query_only(c, names) == -1 || query_word(c, "format", formats, &fmt) == -1)
		return -1;
	q->csv = strcmp(fmt, "csv") == 0;
	limit = q->csv ? PRINTS_CSV_LIMIT_MAX : PRINTS_LIMIT_DEFAULT;
	if ((r = query_int(c, "printer", 1, QUERY_ID_MAX, &n)) == -1 || parse_user(c, q) == -1 ||
	    query_word(c, "state", print_states, &q->params[4]) == -1)
		return -1;
	if (r == 1)
		q->params[1] = ctx_num(q->printer, n);
	if ((r = query_date(c, "from", q->from)) == -1)
		return -1;
	q->params[5] = r == 1 ? q->from : NULL;
	if ((r = query_date(c, "to", q->to)) == -1)
		return -1;
	q->params[6] = r == 1 ? q->to : NULL;
	if (q->params[5] != NULL && q->params[6] != NULL && strcmp(q->from, q->to) > 0)
		return ctx_fail(c, 400, "invalid", "from: %s is after to: %s", q->from, q->to);
	if (query_tz(c, q->tz) == -1 ||
	    query_int(c, "limit", 1, q->csv ? PRINTS_CSV_LIMIT_MAX : PRINTS_LIMIT_MAX, &limit) == -1 ||
	    (r = query_string(c, "cursor", cursor, sizeof(cursor))) == -1 ||
	    (r == 1 && parse_cursor(c, cursor, q) == -1))
		return -1;
	q->params[7] = q->tz;
	q->params[10] = ctx_num(q->limit, limit);
	return 0;
}

void
h_prints_list(struct ctx *c)
{
	struct prints_query	 q;
	json_t			*j, *next;

	if (prints_query(c, &q) == -1 || (j = ctx_query_json(c, prints_sql, 11, q.params, NULL)) == NULL)
		return;
	if (!q.csv) {
		http_reply_json(c->res, 200, j);
		return;
	}
	csv_reply(c->res, json_object_get(j, "prints"), prints_csv_columns, "spoolkeeper-prints.csv");
	if (json_is_string(next = json_object_get(j, "next")))
		http_add_header(c->res, "X-Next-Cursor: %s", json_string_value(next));
	json_decref(j);
}

/*
 * One print with its filaments, its usage per spool and per layer, and the state of its outbox rows.  $1 print,
 * $2 user.  The per-layer usage is columnar (one array of layer numbers, and per filament one array of mm and one
 * of grams, null when its weight is unknown, rounded to 0.001 mm and 0.0001 g) so that a 10,000-layer print
 * stays a few hundred kilobytes.  Every other figure is exact.
 */
static const char print_sql[] =
    "WITH led AS MATERIALIZED (SELECT * FROM usage_ledger WHERE job_id = $1::bigint), "
    "lf AS (SELECT layer, filament_index, round(sum(mm)::numeric, 3) AS mm, round(sum(grams)::numeric, 4) AS grams "
    "    FROM led GROUP BY 1, 2) "
    "SELECT json_build_object(" PRINT_FIELDS ", 'reported_layer', j.reported_layer, 'error', j.error, "
    "  'filaments', (SELECT coalesce(json_agg(json_build_object('index', f.filament_index, 'tray', f.tray, "
    "      'tray_label', tray_label(f.tray), 'type', f.type, 'color', f.color, 'planned_mm', f.mm, "
    "      'planned_grams', f.grams, 'charged_mm', coalesce(x.mm, 0), "
    "      'charged_grams', CASE WHEN x.n = 0 THEN 0 ELSE x.grams END, "
    "      'spool_ids', coalesce(to_json(x.spools), '[]'::json)) ORDER BY f.filament_index), '[]'::json) "
    "    FROM job_filaments f CROSS JOIN LATERAL (SELECT count(*) AS n, sum(l.mm) AS mm, sum(l.grams) AS grams, "
    "        array_agg(DISTINCT l.spool_id) FILTER (WHERE l.spool_id IS NOT NULL) AS spools "
    "      FROM led l WHERE l.filament_index = f.filament_index) x "
    "   WHERE f.job_id = j.id), "
    "  'spools', (SELECT coalesce(json_agg(json_build_object('spool_id', x.spool_id, "
    "      'spool_name', " HISTORY_SPOOL_NAME("sc") ", 'grams', x.grams, 'mm', x.mm, "
    "      'mm_no_grams', x.mm_no_grams, 'layers', x.layers) ORDER BY x.spool_id NULLS LAST), '[]'::json) "
    "    FROM (SELECT l.spool_id, coalesce(sum(l.grams), 0) AS grams, sum(l.mm) AS mm, "
    "        coalesce(sum(l.mm) FILTER (WHERE l.grams IS NULL), 0) AS mm_no_grams, "
    "        count(DISTINCT l.layer) AS layers FROM led l GROUP BY l.spool_id) x "
    "    LEFT JOIN spool_cache sc ON sc.spool_id = x.spool_id), "
    "  'layers', json_build_object("
    "    'layer', (SELECT coalesce(json_agg(DISTINCT layer ORDER BY layer), '[]'::json) FROM lf), "
    "    'series', (SELECT coalesce(json_agg(json_build_object('filament_index', x.fi, 'mm', x.mm, "
    "        'grams', x.grams) ORDER BY x.fi), '[]'::json) "
    "      FROM (SELECT f.fi, json_agg(coalesce(v.mm, 0) ORDER BY y.layer) AS mm, "
    "          CASE WHEN count(v.grams) > 0 THEN json_agg(coalesce(v.grams, 0) ORDER BY y.layer) END AS grams "
    "        FROM (SELECT DISTINCT layer FROM lf) y CROSS JOIN (SELECT DISTINCT filament_index AS fi FROM lf) f "
    "        LEFT JOIN lf v ON v.layer = y.layer AND v.filament_index = f.fi GROUP BY f.fi) x)), "
    "  'outbox', (SELECT json_build_object('pending', count(*) FILTER (WHERE o.state = 'pending'), "
    "      'inflight', count(*) FILTER (WHERE o.state = 'inflight'), "
    "      'needs_review', count(*) FILTER (WHERE o.state = 'needs_review'), "
    "      'done', count(*) FILTER (WHERE o.state = 'done'), "
    "      'discarded', count(*) FILTER (WHERE o.state = 'discarded')) "
    "    FROM spoolman_outbox o JOIN led ON led.id = o.ledger_id), "
    "  'printer_needs_review', (SELECT count(*) FROM spoolman_outbox o "
    "      JOIN usage_ledger l ON l.id = o.ledger_id JOIN print_jobs j2 ON j2.id = l.job_id "
    "     WHERE o.state = 'needs_review' AND j2.printer_id = j.printer_id))"
    PRINT_FROM("print_jobs")
    "WHERE j.id = $1::bigint AND j.printer_id IN (SELECT visible_printers($2::bigint))";

void
h_prints_get(struct ctx *c)
{
	char		 id[24], uid[24];
	const char	*params[2] = { ctx_num(id, c->id[0]), ctx_num(uid, c->user.id) };
	json_t		*j;

	if (query_only(c, (const char *const[]){ NULL }) == -1)
		return;
	if ((j = ctx_query_json(c, print_sql, 2, params, "no such print")) != NULL)
		http_reply_json(c->res, 200, j);
}

void
h_prints_update(struct ctx *c)
{
	static const char *const fields[] = { "user_id", NULL };
	char			 id[24], uid[24], owner[24];
	const char		*params[3] = { ctx_num(id, c->id[0]), ctx_num(uid, c->user.id), NULL };
	const char		*level;
	long long		 n;
	struct db_result	*r;
	json_t			*j;
	int			 has, user_ok;

	if (body_only(c, fields) == -1 || (has = body_int(c, "user_id", 0, 1, QUERY_ID_MAX, &n)) == -1)
		return;
	if (!body_has(c, "user_id")) {
		ctx_fail(c, 400, "invalid", "user_id: is required (a user id, or null for nobody)");
		return;
	}
	if (has == 1)
		params[2] = ctx_num(owner, n);
	if (ctx_query(c, "SELECT user_printer_level($2::bigint, j.printer_id), "
	    "$3::bigint IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = $3::bigint) "
	    "FROM print_jobs j WHERE j.id = $1::bigint", 3, params, &r) == -1)
		return;
	level = db_result_rows(r) == 1 ? db_result_get(r, 0, 0) : NULL;
	if (level == NULL) {
		db_result_free(r);
		ctx_fail(c, 404, "not_found", "no such print");
		return;
	}
	if (strcmp(level, "viewer") == 0) {
		db_result_free(r);
		ctx_fail(c, 403, "forbidden", "only an operator of the printer or an admin may change whose print "
		    "this is");
		return;
	}
	user_ok = db_result_bool(r, 0, 1) == 1;
	db_result_free(r);
	if (!user_ok) {
		ctx_fail(c, 400, "invalid", "user_id: no such user");
		return;
	}
	j = ctx_query_json(c, "WITH upd AS (UPDATE print_jobs SET user_id = $2::bigint WHERE id = $1::bigint "
	    "RETURNING *) SELECT json_build_object(" PRINT_FIELDS ")" PRINT_FROM("upd"), 2,
	    (const char *const[]){ params[0], params[2] }, "no such print");
	if (j == NULL)
		return;
	ctx_log(c, "print %lld now belongs to user %s", c->id[0], params[2] != NULL ? params[2] : "nobody");
	http_reply_json(c->res, 200, j);
}

/* Usage totals -------------------------------------------------------------------------------------------- */

/* The figures of the ledger rows l of one (print, layer) pair, and the totals of such pairs x. */
#define USAGE_PAIR \
	"sum(l.mm) AS mm, sum(l.grams) AS grams, sum(l.mm) FILTER (WHERE l.grams IS NULL) AS mm_no_grams"
#define USAGE_SUMS \
	"count(DISTINCT x.job_id) AS prints, count(*) AS layers, coalesce(sum(x.grams), 0) AS grams, " \
	"coalesce(sum(x.mm), 0) AS mm, coalesce(sum(x.mm_no_grams), 0) AS mm_no_grams"
#define USAGE_FIELDS \
	"'prints', g.prints, 'layers', g.layers, 'grams', g.grams, 'mm', g.mm, 'mm_no_grams', g.mm_no_grams"

/*
 * Usage totals per group over a range of days.  $1 user, $2 printer, $3 from, $4 to (dates, inclusive, in time
 * zone $5; to defaults to today, from to 29 days before to), $6 the group's name.  key groups the ledger rows l
 * (with the print's printer_id, user_id and the filament's type), fields names a group g.k (joined with join).
 * The rows are first summed per (group, print, layer) so that "layers" (distinct print layers) is a count(*).
 */
#define USAGE_SQL(key, fields, join, order) \
	"WITH rng AS (SELECT coalesce($3::date, t - 29) AS f, t " \
	"    FROM (SELECT coalesce($4::date, (now() AT TIME ZONE $5::text)::date) AS t) r), " \
	"l AS (SELECT l.job_id, l.layer, l.mm, l.grams, l.spool_id, l.created_at, j.printer_id, j.user_id, f.type " \
	"    FROM rng, usage_ledger l JOIN print_jobs j ON j.id = l.job_id " \
	"    LEFT JOIN job_filaments f ON f.job_id = l.job_id AND f.filament_index = l.filament_index " \
	"   WHERE j.printer_id IN (SELECT visible_printers($1::bigint)) " \
	"     AND ($2::bigint IS NULL OR j.printer_id = $2::bigint) " \
	"     AND l.created_at >= rng.f::timestamp AT TIME ZONE $5::text " \
	"     AND l.created_at < (rng.t + 1)::timestamp AT TIME ZONE $5::text), " \
	"g AS (SELECT x.k, " USAGE_SUMS " FROM (SELECT " key " AS k, l.job_id, l.layer, " USAGE_PAIR \
	"    FROM l GROUP BY 1, 2, 3) x GROUP BY x.k) " \
	"SELECT json_build_object('group', $6::text, 'from', rng.f, 'to', rng.t, 'tz', $5::text, " \
	"  'rows', (SELECT coalesce(json_agg(json_build_object(" fields ", " USAGE_FIELDS ") " \
	"      ORDER BY " order "), '[]'::json) FROM g " join "), " \
	"  'total', (SELECT json_build_object(" USAGE_FIELDS ") FROM (SELECT " USAGE_SUMS \
	"      FROM (SELECT l.job_id, l.layer, " USAGE_PAIR " FROM l GROUP BY 1, 2) x) g)) " \
	"FROM rng"

/* One way of grouping the usage: its name, SQL, and CSV columns. */
struct usage_group {
	const char		*name;
	const char		*sql;
	const char *const	 columns[9];
};

static const struct usage_group usage_groups[] = {
	{ "day", USAGE_SQL("(l.created_at AT TIME ZONE $5::text)::date", "'day', g.k", "", "g.k"),
	    { "day", "prints", "layers", "grams", "mm", "mm_no_grams", NULL } },
	{ "spool", USAGE_SQL("l.spool_id", "'spool_id', g.k, 'spool_name', " HISTORY_SPOOL_NAME("sc"),
	    "LEFT JOIN spool_cache sc ON sc.spool_id = g.k", "g.k NULLS LAST"),
	    { "spool_id", "spool_name", "prints", "layers", "grams", "mm", "mm_no_grams", NULL } },
	{ "printer", USAGE_SQL("l.printer_id", "'printer_id', g.k, 'printer', p.name",
	    "JOIN printers p ON p.id = g.k", "g.k"),
	    { "printer_id", "printer", "prints", "layers", "grams", "mm", "mm_no_grams", NULL } },
	{ "filament_type", USAGE_SQL("coalesce(nullif(l.type, ''), 'unknown')", "'filament_type', g.k", "", "g.k"),
	    { "filament_type", "prints", "layers", "grams", "mm", "mm_no_grams", NULL } },
	{ "user", USAGE_SQL("l.user_id", "'user_id', g.k, 'user', u.username", "LEFT JOIN users u ON u.id = g.k",
	    "g.k NULLS LAST"),
	    { "user_id", "user", "prints", "layers", "grams", "mm", "mm_no_grams", NULL } },
};

static const char *const usage_group_names[] = { "day", "spool", "printer", "filament_type", "user", NULL };

/* Answers with the CSV of usage j (the JSON answer) grouped by g. */
static void
usage_csv(struct ctx *c, json_t *j, const struct usage_group *g)
{
	const char	*from = json_string_value(json_object_get(j, "from"));
	const char	*to = json_string_value(json_object_get(j, "to"));
	char		 name[128];

	snprintf(name, sizeof(name), "spoolkeeper-usage-%s-%s-%s.csv", g->name, from != NULL ? from : "",
	    to != NULL ? to : "");
	csv_reply(c->res, json_object_get(j, "rows"), g->columns, name);
}

void
h_usage(struct ctx *c)
{
	static const char *const names[] = { "group", "from", "to", "tz", "printer", "format", NULL };
	const struct usage_group	*g;
	const char			*group = "day", *fmt = "json", *params[6];
	char				 uid[24], printer[24], from[QUERY_DATE_LEN], to[QUERY_DATE_LEN];
	char				 tz[QUERY_TZ_LEN];
	long long			 n;
	int				 hp, hf, ht;
	size_t				 i;
	json_t				*j;

	if (query_only(c, names) == -1 || query_word(c, "group", usage_group_names, &group) == -1 ||
	    query_word(c, "format", formats, &fmt) == -1 ||
	    (hp = query_int(c, "printer", 1, QUERY_ID_MAX, &n)) == -1 ||
	    (hf = query_date(c, "from", from)) == -1 || (ht = query_date(c, "to", to)) == -1)
		return;
	if (hf == 1 && ht == 1 && strcmp(from, to) > 0) {
		ctx_fail(c, 400, "invalid", "from: %s is after to: %s", from, to);
		return;
	}
	if (query_tz(c, tz) == -1)
		return;
	for (i = 0; strcmp(usage_groups[i].name, group) != 0; i++)
		;
	g = &usage_groups[i];
	params[0] = ctx_num(uid, c->user.id);
	params[1] = hp == 1 ? ctx_num(printer, n) : NULL;
	params[2] = hf == 1 ? from : NULL;
	params[3] = ht == 1 ? to : NULL;
	params[4] = tz;
	params[5] = g->name;
	if ((j = ctx_query_json(c, g->sql, 6, params, NULL)) == NULL)
		return;
	if (strcmp(fmt, "csv") == 0) {
		usage_csv(c, j, g);
		json_decref(j);
	} else
		http_reply_json(c->res, 200, j);
}
