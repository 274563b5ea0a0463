/* review.c: the review lists of h_outbox.c and h_location_updates.c: a page of rows, and an action on one. */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "query.h"
#include "review.h"

#define REVIEW_LIMIT_DEFAULT	50
#define REVIEW_LIMIT_MAX	200
#define REVIEW_REASON_MAX	1000

void
review_list(struct ctx *c, const char *const *states, const char *def, const char *sql)
{
	static const char *const names[] = { "state", "limit", "cursor", NULL };
	char		 st[128], lim[24], cur[24];
	const char	*params[3] = { st, NULL, NULL };
	long long	 limit = REVIEW_LIMIT_DEFAULT, after;
	int		 r;
	json_t		*j;

	snprintf(st, sizeof(st), "%s", def);
	if (query_only(c, names) == -1 || query_words(c, "state", states, st, sizeof(st)) == -1 ||
	    query_int(c, "limit", 1, REVIEW_LIMIT_MAX, &limit) == -1 ||
	    (r = query_int(c, "cursor", 1, QUERY_ID_MAX, &after)) == -1)
		return;
	if (r == 1)
		params[1] = ctx_num(cur, after);
	params[2] = ctx_num(lim, limit);
	if ((j = ctx_query_json(c, sql, 3, params, NULL)) != NULL)
		http_reply_json(c->res, 200, j);
}

/* True when the kind's actions take rows in state. */
static int
takes(const struct review_kind *k, const char *state)
{
	const char *const *t;

	for (t = k->takes; *t != NULL; t++)
		if (strcmp(*t, state) == 0)
			return 1;
	return 0;
}

/* Runs sql with params and answers as review_retry() says. */
static void
act(struct ctx *c, const struct review_kind *k, const char *what, const char *sql, int nparams,
    const char *const *params)
{
	struct db_result	*r;
	char			 state[24], why[256];
	const char		*w;
	int			 done;
	json_t			*j;

	if (ctx_query(c, sql, nparams, params, &r) == -1)
		return;
	if (db_result_rows(r) != 1) {
		db_result_free(r);
		ctx_fail(c, 404, "not_found", "no such %s", k->noun);
		return;
	}
	snprintf(state, sizeof(state), "%s", db_result_get(r, 0, 0));
	done = db_result_bool(r, 0, 1) == 1;
	w = db_result_get(r, 0, 2);
	snprintf(why, sizeof(why), "%s", w != NULL ? w : "");
	db_result_free(r);
	if (!done) {
		if (why[0] != '\0')
			ctx_fail(c, 409, "conflict", "%s %lld: %s", k->noun, c->id[0], why);
		else
			ctx_fail(c, 409, "conflict", "%s %lld is %s%s; only %s can be %s", k->noun, c->id[0], state,
			    takes(k, state) ? " (its state changed meanwhile)" : "", k->allowed, what);
		return;
	}
	ctx_log(c, "%s %lld (was %s) %s", k->noun, c->id[0], state, what);
	if ((j = ctx_query_json(c, k->row_sql, 1, params, "no such row")) != NULL)
		http_reply_json(c->res, 200, j);
}

void
review_retry(struct ctx *c, const struct review_kind *k)
{
	static const char *const fields[] = { NULL };
	char		 id[24];
	const char	*params[1] = { ctx_num(id, c->id[0]) };

	if (body_only(c, fields) == -1)
		return;
	act(c, k, "retried", k->retry_sql, 1, params);
}

void
review_discard(struct ctx *c, const struct review_kind *k)
{
	static const char *const fields[] = { "reason", NULL };
	char		 id[24];
	const char	*params[3] = { ctx_num(id, c->id[0]), NULL, c->user.name };

	if (body_only(c, fields) == -1 || body_string(c, "reason", 1, REVIEW_REASON_MAX, &params[1]) == -1)
		return;
	if (params[1][0] == '\0') {
		ctx_fail(c, 400, "invalid", "reason: say why this %s will never be sent", k->subject);
		return;
	}
	act(c, k, "discarded", k->discard_sql, 3, params);
}
