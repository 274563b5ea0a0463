/* h_outbox.c: the Spoolman outbox for admins: its rows, and sending one again or giving it up. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "history.h"
#include "query.h"
#include "routes.h"

#define OUTBOX_LIMIT_DEFAULT	50
#define OUTBOX_LIMIT_MAX	200
#define OUTBOX_REASON_MAX	1000

/* An outbox row o with its spool's name (spool_cache sc) and the print and printer of its ledger row. */
#define OUTBOX_FIELDS \
	"'id', o.id, 'spool_id', o.spool_id, 'spool_name', " HISTORY_SPOOL_NAME("sc") ", 'use_g', o.use_g, " \
	"'use_mm', o.use_mm, 'state', o.state, 'attempts', o.attempts, 'next_attempt_at', o.next_attempt_at, " \
	"'last_error', o.last_error, 'resolution', o.resolution, 'created_at', o.created_at, " \
	"'updated_at', o.updated_at, 'done_at', o.done_at, 'ledger_id', o.ledger_id, 'job_id', l.job_id, " \
	"'layer', l.layer, 'printer_id', j.printer_id, 'printer', p.name, 'print_name', j.subtask_name"

#define OUTBOX_FROM(src) \
	" FROM " src " o LEFT JOIN usage_ledger l ON l.id = o.ledger_id " \
	"LEFT JOIN print_jobs j ON j.id = l.job_id LEFT JOIN printers p ON p.id = j.printer_id " \
	"LEFT JOIN spool_cache sc ON sc.spool_id = o.spool_id "

/* $1 states (comma-separated), $2 the cursor (the last id of the previous page), $3 limit.  Oldest first. */
static const char outbox_list_sql[] =
    "WITH hits AS (SELECT o.* FROM spoolman_outbox o "
    "   WHERE o.state = ANY (string_to_array($1::text, ',')) AND ($2::bigint IS NULL OR o.id > $2::bigint) "
    "   ORDER BY o.id LIMIT $3::int + 1), "
    "page AS (SELECT *, row_number() OVER (ORDER BY id) AS rn FROM hits) "
    "SELECT json_build_object('rows', coalesce(json_agg(json_build_object(" OUTBOX_FIELDS ") ORDER BY o.id) "
    "    FILTER (WHERE o.rn <= $3::int), '[]'::json), "
    "  'next', CASE WHEN count(*) > $3::int THEN (max(o.id) FILTER (WHERE o.rn = $3::int))::text END, "
    "  'open', (SELECT json_build_object('pending', count(*) FILTER (WHERE state = 'pending'), "
    "      'inflight', count(*) FILTER (WHERE state = 'inflight'), "
    "      'needs_review', count(*) FILTER (WHERE state = 'needs_review')) "
    "    FROM spoolman_outbox WHERE state IN ('pending', 'inflight', 'needs_review')))"
    OUTBOX_FROM("page");

static const char outbox_row_sql[] =
    "SELECT json_build_object(" OUTBOX_FIELDS ")" OUTBOX_FROM("spoolman_outbox") "WHERE o.id = $1::bigint";

static const char *const outbox_states[] = { "pending", "inflight", "needs_review", "done", "discarded", NULL };

void
h_outbox_list(struct ctx *c)
{
	static const char *const names[] = { "state", "limit", "cursor", NULL };
	char		 states[128] = "pending,inflight,needs_review", lim[24], cur[24];
	const char	*params[3] = { states, NULL, NULL };
	long long	 limit = OUTBOX_LIMIT_DEFAULT, after;
	int		 r;
	json_t		*j;

	if (query_only(c, names) == -1 || query_words(c, "state", outbox_states, states, sizeof(states)) == -1 ||
	    query_int(c, "limit", 1, OUTBOX_LIMIT_MAX, &limit) == -1 ||
	    (r = query_int(c, "cursor", 1, QUERY_ID_MAX, &after)) == -1)
		return;
	if (r == 1)
		params[1] = ctx_num(cur, after);
	params[2] = ctx_num(lim, limit);
	if ((j = ctx_query_json(c, outbox_list_sql, 3, params, NULL)) != NULL)
		http_reply_json(c->res, 200, j);
}

/*
 * Runs sql (the outbox row's state, then the result of outbox_retry() or outbox_discard(): true, or NULL when the
 * row's state did not allow it) and answers 404, 409 or 200 with the row.  what names the action for people.
 */
static void
outbox_act(struct ctx *c, const char *what, const char *sql, int n, const char *const *params)
{
	struct db_result	*r;
	char			 state[24];
	int			 done;
	json_t			*j;

	if (ctx_query(c, sql, n, params, &r) == -1)
		return;
	if (db_result_rows(r) != 1) {
		db_result_free(r);
		ctx_fail(c, 404, "not_found", "no such outbox row");
		return;
	}
	snprintf(state, sizeof(state), "%s", db_result_get(r, 0, 0));
	done = db_result_bool(r, 0, 1) == 1;
	db_result_free(r);
	if (!done) {
		ctx_fail(c, 409, "conflict", "outbox row %lld is %s%s; only pending and needs_review rows can be %s",
		    c->id[0], state, strcmp(state, "pending") == 0 || strcmp(state, "needs_review") == 0 ?
		    " (its state changed meanwhile)" : "", what);
		return;
	}
	ctx_log(c, "outbox row %lld (was %s) %s", c->id[0], state, what);
	if ((j = ctx_query_json(c, outbox_row_sql, 1, params, "no such outbox row")) != NULL)
		http_reply_json(c->res, 200, j);
}

void
h_outbox_retry(struct ctx *c)
{
	static const char *const fields[] = { NULL };
	char		 id[24];
	const char	*params[1] = { ctx_num(id, c->id[0]) };

	if (body_only(c, fields) == -1)
		return;
	outbox_act(c, "retried", "SELECT o.state, outbox_retry(o.id) FROM spoolman_outbox o WHERE o.id = $1::bigint",
	    1, params);
}

void
h_outbox_discard(struct ctx *c)
{
	static const char *const fields[] = { "reason", NULL };
	char		 id[24];
	const char	*params[3] = { ctx_num(id, c->id[0]), NULL, c->user.name };

	if (body_only(c, fields) == -1 || body_string(c, "reason", 1, OUTBOX_REASON_MAX, &params[1]) == -1)
		return;
	if (params[1][0] == '\0') {
		ctx_fail(c, 400, "invalid", "reason: say why this use will never be sent");
		return;
	}
	outbox_act(c, "discarded", "SELECT o.state, outbox_discard(o.id, 'discarded by ' || $3::text || ': ' || "
	    "$2::text || coalesce(' (last error: ' || o.last_error || ')', '')) "
	    "FROM spoolman_outbox o WHERE o.id = $1::bigint", 3, params);
}
