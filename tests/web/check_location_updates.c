/* check_location_updates.c: handler tests of the location updates Spoolman refused: the list, retry and discard. */
#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "webtest.h"
#include "../harness/ckrun.h"

#define PW	"correct horse battery"

static struct app	*app;
static struct wt_client	 root, op, view;
static long long	 uop, uview;
static long long	 l_done, l_old, l_new, l_alone, l_pending;	/* spool_patches rows, see setup() */

/* A location update of spool (location NULL: cleared) in state, with last_error for needs_review; its id. */
static long long
patch(int spool, const char *location, const char *state)
{
	char		 sp[16];
	const char	*p[3] = { sp, location, state }, *v;

	snprintf(sp, sizeof(sp), "%d", spool);
	v = wt_sql(app, "INSERT INTO spool_patches (spool_id, location, reason, state, attempts, done_at, last_error) "
	    "VALUES ($1::int, $2, 'assigned', $3, 2, CASE WHEN $3 = 'done' THEN now() END, "
	    "CASE WHEN $3 = 'needs_review' THEN 'PATCH /spool/' || $1 || ': HTTP 404' END) RETURNING id", 3, p);
	ck_assert_ptr_nonnull(v);
	return atoll(v);
}

/*
 * Spool 7: done, then refused (l_old), then refused again later (l_new); spool 8: refused, the only row (l_alone);
 * spool 9: pending.  Spool 7 has a name in the cache.
 */
static void
setup(void)
{
	app = wt_app_members(PW, &root, &op, &view, &uop, &uview);
	wt_sql(app, "DELETE FROM spool_patches", 0, NULL);
	wt_sql(app, "DELETE FROM spool_cache", 0, NULL);
	wt_sql(app, "INSERT INTO spool_cache (spool_id, spool) VALUES (7, '{\"id\": 7, \"filament\": "
	    "{\"name\": \"Matte Black\", \"vendor\": {\"name\": \"Bambu\"}}}')", 0, NULL);
	l_done = patch(7, "alpha / AMS 1 / Slot 1", "done");
	l_old = patch(7, "alpha / AMS 1 / Slot 2", "needs_review");
	l_new = patch(7, NULL, "needs_review");
	l_alone = patch(8, "beta / External", "needs_review");
	l_pending = patch(9, "Shelf", "pending");
	wt_login(app, &op, "op", PW);
}

static void
teardown(void)
{
	wt_app_free(app);
}

static struct wt_reply
get(struct wt_client *cl, const char *path, int status)
{
	struct wt_reply r = wt_call(app, cl, "GET", path, NULL);

	ck_assert_msg(r.status == status, "GET %s: %d, want %d: %s", path, r.status, status, r.body);
	return r;
}

/* The element of array a whose "id" is id. */
static json_t *
row(const json_t *a, long long id)
{
	size_t	 i;
	json_t	*o;

	json_array_foreach(a, i, o)
		if (wt_jint(o, "id") == id)
			return o;
	ck_abort_msg("no row %lld", id);
	return NULL;
}

static struct wt_reply
post(struct wt_client *cl, long long id, const char *action, const char *body, int status)
{
	char		 path[96];
	struct wt_reply	 r;

	snprintf(path, sizeof(path), "/api/v1/location-updates/%lld/%s", id, action);
	r = wt_call(app, cl, "POST", path, body);
	ck_assert_msg(r.status == status, "POST %s: %d, want %d: %s", path, r.status, status, r.body);
	return r;
}

START_TEST(test_list)
{
	struct wt_reply	 r;
	char		 next[24], path[128];
	json_t		*rows, *o;

	r = get(&op, "/api/v1/location-updates", 403);
	wt_free(&r);
	r = get(&root, "/api/v1/location-updates", 200);
	rows = json_object_get(r.json, "rows");
	ck_assert_int_eq(json_array_size(rows), 4);	/* pending and needs_review, oldest first */
	ck_assert_int_eq(wt_jint(json_array_get(rows, 0), "id"), l_old);
	ck_assert_int_eq(wt_jint(json_array_get(rows, 3), "id"), l_pending);
	o = row(rows, l_old);
	ck_assert_str_eq(wt_jstr(o, "state"), "needs_review");
	ck_assert_int_eq(wt_jint(o, "spool_id"), 7);
	ck_assert_str_eq(wt_jstr(o, "spool_name"), "Bambu Matte Black");
	ck_assert_str_eq(wt_jstr(o, "location"), "alpha / AMS 1 / Slot 2");
	ck_assert_str_eq(wt_jstr(o, "reason"), "assigned");
	ck_assert_str_eq(wt_jstr(o, "last_error"), "PATCH /spool/7: HTTP 404");
	ck_assert(json_is_true(json_object_get(o, "later")));
	o = row(rows, l_new);
	ck_assert(json_is_null(json_object_get(o, "location")));	/* cleared */
	ck_assert(json_is_false(json_object_get(o, "later")));
	ck_assert(json_is_null(json_object_get(row(rows, l_alone), "spool_name")));
	o = json_object_get(r.json, "open");
	ck_assert_int_eq(wt_jint(o, "needs_review"), 3);
	ck_assert_int_eq(wt_jint(o, "pending"), 1);
	ck_assert(json_is_null(json_object_get(r.json, "next")));
	wt_free(&r);

	r = get(&root, "/api/v1/location-updates?state=done", 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 1);
	wt_free(&r);
	r = get(&root, "/api/v1/location-updates?state=needs_review&limit=2", 200);
	rows = json_object_get(r.json, "rows");
	ck_assert_int_eq(json_array_size(rows), 2);
	snprintf(next, sizeof(next), "%lld", wt_jint(json_array_get(rows, 1), "id"));
	ck_assert_str_eq(wt_jstr(r.json, "next"), next);
	wt_free(&r);
	snprintf(path, sizeof(path), "/api/v1/location-updates?state=needs_review&limit=2&cursor=%s", next);
	r = get(&root, path, 200);
	rows = json_object_get(r.json, "rows");
	ck_assert_int_eq(json_array_size(rows), 1);
	ck_assert_int_eq(wt_jint(json_array_get(rows, 0), "id"), l_alone);
	ck_assert(json_is_null(json_object_get(r.json, "next")));
	wt_free(&r);
	r = get(&root, "/api/v1/location-updates?state=lost", 400);
	wt_free(&r);
	r = get(&root, "/api/v1/location-updates?limit=0", 400);
	wt_free(&r);
	r = get(&root, "/api/v1/location-updates?colour=red", 400);
	wt_free(&r);
}
END_TEST

START_TEST(test_retry)
{
	struct wt_reply	 r;
	char		 id[24];
	const char	*p[1] = { id };

	r = post(&op, l_alone, "retry", NULL, 403);
	wt_free(&r);
	/* The only row of its spool: pending again, due now, attempts reset. */
	r = post(&root, l_alone, "retry", NULL, 200);
	ck_assert_str_eq(wt_jstr(r.json, "state"), "pending");
	ck_assert_int_eq(wt_jint(r.json, "attempts"), 0);
	ck_assert_int_eq(wt_jint(r.json, "id"), l_alone);
	wt_free(&r);
	snprintf(id, sizeof(id), "%lld", l_alone);
	ck_assert_str_eq(wt_sql(app, "SELECT (next_attempt_at <= now())::text FROM spool_patches "
	    "WHERE id = $1::bigint", 1, p), "true");
	/* Again: it is pending now, which retry does not take. */
	r = post(&root, l_alone, "retry", "{}", 409);
	ck_assert_str_eq(wt_jstr(r.json, "error"), "conflict");
	wt_free(&r);
	/* An older refused row of a spool that changed place since is never sent again. */
	r = post(&root, l_old, "retry", NULL, 409);
	ck_assert_msg(strstr(wt_jstr(r.json, "detail"), "spool 7 has changed place since") != NULL, "%s",
	    wt_jstr(r.json, "detail"));
	wt_free(&r);
	/* Its latest one may. */
	r = post(&root, l_new, "retry", NULL, 200);
	wt_free(&r);
	r = post(&root, l_done, "retry", NULL, 409);
	wt_free(&r);
	r = post(&root, 999999, "retry", NULL, 404);
	wt_free(&r);
	r = post(&root, l_old, "retry", "{\"force\":true}", 400);
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT string_agg(state, ',' ORDER BY id) FROM spool_patches", 0, NULL),
	    "done,needs_review,pending,pending,pending");
}
END_TEST

START_TEST(test_discard)
{
	struct wt_reply	 r;

	r = post(&root, l_old, "discard", NULL, 400);
	wt_free(&r);
	r = post(&root, l_old, "discard", "{\"reason\":\"\"}", 400);
	wt_free(&r);
	r = post(&op, l_old, "discard", "{\"reason\":\"spool deleted\"}", 403);
	wt_free(&r);
	r = post(&root, l_old, "discard", "{\"reason\":\"spool deleted\"}", 200);
	ck_assert_str_eq(wt_jstr(r.json, "state"), "discarded");
	ck_assert_str_eq(wt_jstr(r.json, "last_error"),
	    "discarded by root: spool deleted (last error: PATCH /spool/7: HTTP 404)");
	wt_free(&r);
	r = post(&root, l_old, "discard", "{\"reason\":\"again\"}", 409);
	wt_free(&r);
	r = post(&root, l_old, "retry", NULL, 409);
	wt_free(&r);
	r = post(&root, l_pending, "discard", "{\"reason\":\"no\"}", 409);	/* the worker's, not an admin's */
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT string_agg(state, ',' ORDER BY id) FROM spool_patches", 0, NULL),
	    "done,discarded,needs_review,needs_review,pending");
}
END_TEST

/* Runs sql on conn and checks that it succeeded. */
static void
exec_ok(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);

	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s",
	    sql, PQerrorMessage(conn));
	PQclear(res);
}

/* The other admin's session: commits once a backend waits for the row lock it holds (at most 30 s). */
static void *
commit_when_waited(void *arg)
{
	PGconn		*conn = PQconnectdb(getenv("SK_TEST_DATABASE")), *other = arg;
	PGresult	*res;
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	int		 i, waiting = 0;

	for (i = 0; i < 3000 && !waiting; i++) {
		res = PQexec(conn, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
		    "AND datname = current_database()");
		waiting = PQresultStatus(res) == PGRES_TUPLES_OK && atoi(PQgetvalue(res, 0, 0)) > 0;
		PQclear(res);
		if (!waiting)
			nanosleep(&ts, NULL);
	}
	PQfinish(conn);
	res = PQexec(other, "COMMIT");
	PQclear(res);
	return (void *)(long)waiting;
}

/*
 * Another admin discards the row while the retry waits for it: the retry reads the row as needs_review, a state it
 * takes, but does nothing, and says that the state changed meanwhile.
 */
START_TEST(test_changed_meanwhile)
{
	PGconn		*other = PQconnectdb(getenv("SK_TEST_DATABASE"));
	struct wt_reply	 r;
	pthread_t	 tid;
	char		 sql[160];
	void		*waited;

	ck_assert_msg(PQstatus(other) == CONNECTION_OK, "%s", PQerrorMessage(other));
	exec_ok(other, "BEGIN");
	snprintf(sql, sizeof(sql), "UPDATE spool_patches SET state = 'discarded', last_error = 'by the other admin' "
	    "WHERE id = %lld", l_alone);
	exec_ok(other, sql);
	ck_assert_int_eq(pthread_create(&tid, NULL, commit_when_waited, other), 0);
	r = post(&root, l_alone, "retry", NULL, 409);
	pthread_join(tid, &waited);
	PQfinish(other);
	ck_assert_msg(waited != NULL, "the retry never waited for the row lock");
	ck_assert_msg(strstr(wt_jstr(r.json, "detail"), "is needs_review (its state changed meanwhile)") != NULL,
	    "%s", wt_jstr(r.json, "detail"));
	wt_free(&r);
	/* Once it has changed, the state shown is the new one, which retry does not take. */
	r = post(&root, l_alone, "retry", NULL, 409);
	ck_assert_msg(strstr(wt_jstr(r.json, "detail"), "is discarded; only needs_review rows") != NULL, "%s",
	    wt_jstr(r.json, "detail"));
	wt_free(&r);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("web location updates");
	const TTest *const tests[] = { test_list, test_retry, test_discard, test_changed_meanwhile };
	size_t		 i;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		suite_add_tcase(s, ck_tcase(tests[i]->name, tests[i], setup, teardown, 60));
	return ck_run(s);
}
