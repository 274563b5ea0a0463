/* review.h: the review lists of the queues to Spoolman (the outbox, location updates): a page of rows, an action. */
#ifndef REVIEW_H
#define REVIEW_H

#include "app.h"

/*
 * A queue an admin reviews.  retry_sql and discard_sql take the row's id as $1 (discard: the reason as $2, the
 * admin's name as $3) and return one row, none when there is no such row: the row's state, the action's result
 * (true, or NULL when the row did not allow it) and why not (text, or NULL: the state did not).
 */
struct review_kind {
	const char	*noun;		/* "outbox row": for messages */
	const char	*allowed;	/* "pending and needs_review rows": which rows the actions take */
	const char *const *takes;	/* their states, NULL-terminated: { "pending", "needs_review", NULL } */
	const char	*subject;	/* "use": what a discarded row would have sent, for messages */
	const char	*row_sql;	/* $1 the id: the row as one JSON value */
	const char	*retry_sql;
	const char	*discard_sql;
};

/*
 * The query of a review list over table, aliased a ("o"), whose page of rows is aliased the same in from (its
 * joins, over the CTE "page"): rows oldest first as fields (json_build_object arguments), the "next" cursor, and
 * open (an SQL expression: the counts of the open rows).  $1 states (comma-separated), $2 the cursor (the last id
 * of the previous page, or NULL), $3 the limit.
 */
#define REVIEW_LIST_SQL(table, a, fields, from, open) \
	"WITH hits AS (SELECT " a ".* FROM " table " " a " " \
	"   WHERE " a ".state = ANY (string_to_array($1::text, ',')) AND ($2::bigint IS NULL OR " a ".id > $2::bigint) " \
	"   ORDER BY " a ".id LIMIT $3::int + 1), " \
	"page AS (SELECT *, row_number() OVER (ORDER BY id) AS rn FROM hits) " \
	"SELECT json_build_object('rows', coalesce(json_agg(json_build_object(" fields ") ORDER BY " a ".id) " \
	"    FILTER (WHERE " a ".rn <= $3::int), '[]'::json), " \
	"  'next', CASE WHEN count(*) > $3::int THEN (max(" a ".id) FILTER (WHERE " a ".rn = $3::int))::text END, " \
	"  'open', " open ")" from

/*
 * Answers GET of a review list: query parameters state (a comma-separated list of states; default def), limit (1
 * to 200, default 50) and cursor (the "next" of the previous page); sql takes them as $1 (text), $2 (bigint or
 * NULL) and $3 (int) and returns the answer as one JSON value.
 */
void	 review_list(struct ctx *, const char *const *states, const char *def, const char *sql);

/*
 * POST .../{id}/retry (no body, or {}) and POST .../{id}/discard ({"reason": 1 to 1000 bytes}): run the kind's
 * SQL and answer 404, 409 (saying why, or which rows the action takes; "its state changed meanwhile" when the
 * state shown is one it takes), or 200 with the row; what was done is logged.
 */
void	 review_retry(struct ctx *, const struct review_kind *);
void	 review_discard(struct ctx *, const struct review_kind *);

#endif
