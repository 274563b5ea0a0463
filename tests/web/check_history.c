/* check_history.c: handler tests of the print history, usage totals, CSV exports and the admin's outbox. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webtest.h"
#include "../harness/ckrun.h"

#define PW	"correct horse battery"

/* The header line of the prints CSV. */
#define PRINTS_HEADER \
	"id,started_at,ended_at,printer_id,printer,user_id,user,name,gcode_file,plate,state,layer_count," \
	"checkpoint_layer,layers_charged,grams,mm,planned_grams,planned_mm,grams_unknown_spool,mm_unknown_spool," \
	"mm_no_grams\r\n"

static struct app	*app;

/* The fixture's ids (see setup()). */
static long long	 pa, pb;			/* printers alpha and beta */
static long long	 u_root, u_mia, u_oscar, u_una;	/* admin; viewer of alpha; operator of alpha; nothing */
static long long	 j1, j2, j3, j4;		/* prints: j1, j2, j4 on alpha, j3 on beta */
static long long	 o_done, o_review, o_pending, o_inflight, o_j2, o_j3, o_manual;
static struct wt_client	 root, mia, oscar, una;

static long long
sql_int(const char *sql, int n, const char *const *p)
{
	const char	*v = wt_sql(app, sql, n, p);

	ck_assert_ptr_nonnull(v);
	return atoll(v);
}

static long long
new_printer(const char *name)
{
	const char	*p[1] = { name };

	return sql_int("INSERT INTO printers (name, host, serial, access_code) "
	    "VALUES ($1, '127.0.0.1', 'SER' || $1, '12345678') RETURNING id", 1, p);
}

/* A print started at started (UTC text); ended prints end an hour later.  user 0: the printer's owner (none). */
static long long
new_job(long long printer, const char *key, const char *state, const char *started, const char *name,
    const char *gcode, long long user)
{
	char		 pr[24], us[24];
	const char	*p[7] = { pr, key, state, started, name, gcode, user > 0 ? us : NULL };

	snprintf(pr, sizeof(pr), "%lld", printer);
	snprintf(us, sizeof(us), "%lld", user);
	return sql_int("INSERT INTO print_jobs (printer_id, job_key, state, started_at, ended_at, subtask_name, "
	    "gcode_file, layer_count, user_id) VALUES ($1::bigint, $2, $3, $4::timestamptz, "
	    "CASE WHEN $3 IN ('finished', 'failed', 'cancelled', 'abandoned') "
	    "THEN $4::timestamptz + interval '1 hour' END, $5, $6, 100, $7::bigint) RETURNING id", 7, p);
}

static void
new_filament(long long job, int idx, const char *type, const char *density, const char *mm, const char *grams)
{
	char		 jb[24], ix[8];
	const char	*p[6] = { jb, ix, type, density, mm, grams };

	snprintf(jb, sizeof(jb), "%lld", job);
	snprintf(ix, sizeof(ix), "%d", idx);
	wt_sql(app, "INSERT INTO job_filaments (job_id, filament_index, type, density, mm, grams) "
	    "VALUES ($1::bigint, $2::int, $3, $4::float8, $5::float8, $6::float8)", 6, p);
}

/* A ledger row (spool 0: none; grams NULL: unknown; percent non-NULL: a partial charge); returns its id. */
static long long
charge(long long job, int layer, int idx, int spool, const char *mm, const char *grams, const char *at,
    const char *percent)
{
	char		 jb[24], ly[16], ix[8], sp[16];
	const char	*p[8] = { jb, ly, ix, spool > 0 ? sp : NULL, mm, grams, at, percent };

	snprintf(jb, sizeof(jb), "%lld", job);
	snprintf(ly, sizeof(ly), "%d", layer);
	snprintf(ix, sizeof(ix), "%d", idx);
	snprintf(sp, sizeof(sp), "%d", spool);
	return sql_int("INSERT INTO usage_ledger (job_id, layer, filament_index, spool_id, mm, grams, created_at, "
	    "kind, percent) VALUES ($1::bigint, $2::int, $3::int, $4::int, $5::float8, $6::float8, "
	    "$7::timestamptz, CASE WHEN $8::int IS NULL THEN 'layer' ELSE 'partial' END, $8::int) RETURNING id", 8, p);
}

/* Queues ledger row ledger in the outbox (the trigger copies spool and amounts) and puts it in state. */
static long long
queue(long long ledger, const char *state)
{
	char		 l[24], id[24];
	const char	*p[2] = { l, state };
	long long	 o;

	snprintf(l, sizeof(l), "%lld", ledger);
	o = sql_int("INSERT INTO spoolman_outbox (ledger_id) VALUES ($1::bigint) RETURNING id", 1, p);
	snprintf(id, sizeof(id), "%lld", o);
	p[0] = id;
	wt_sql(app, "UPDATE spoolman_outbox SET state = $2, "
	    "done_at = CASE WHEN $2 = 'done' THEN now() END, resolution = CASE WHEN $2 = 'done' THEN 'response' END, "
	    "claim_token = CASE WHEN $2 = 'inflight' THEN nextval('spoolman_claim_seq') END, "
	    "lease_until = CASE WHEN $2 = 'inflight' THEN now() + interval '1 hour' END, "
	    "last_error = CASE WHEN $2 = 'needs_review' THEN 'PUT /spool/7/use: HTTP 404' END, attempts = 2 "
	    "WHERE id = $1::bigint", 2, p);
	return o;
}

/*
 * The history every test starts with (all times UTC):
 *   j1 alpha finished 2024-03-01 10:00 "cube" (mia): filament 0 PLA (density 1.24, plan 300 mm 0.9 g), filament
 *      1 PETG (no density, plan 50 mm); layers 0..3: spools 7 and 8, filament 1 on no spool with no weight,
 *      layer 2 charged on 03-02 00:30 (03-01 evening in New York), layer 3 a partial charge.
 *   j2 alpha failed 2024-03-05 08:00, a name made to attack spreadsheets (oscar): 200 mm 1.5 g on spool 9.
 *   j3 beta running 2024-03-03 12:00 "secret" (root): 1000 mm 3 g on spool 7.
 *   j4 alpha cancelled 2024-02-20 09:00 "@SUM(A1)" (nobody): nothing charged.
 * Outbox: j1's rows done, needs_review, pending, inflight; j2 and j3 needs_review; one manual row pending.
 */
static void
setup(void)
{
	long long	 l0, l1, l2, l3;

	app = wt_app();
	memset(&root, 0, sizeof(root));
	memset(&mia, 0, sizeof(mia));
	memset(&oscar, 0, sizeof(oscar));
	memset(&una, 0, sizeof(una));
	u_root = wt_user(app, "root", PW, "admin");
	u_mia = wt_user(app, "mia", PW, "member");
	u_oscar = wt_user(app, "oscar", PW, "member");
	u_una = wt_user(app, "una", PW, "member");
	pa = new_printer("alpha");
	pb = new_printer("beta");
	wt_grant(app, u_mia, pa, "viewer");
	wt_grant(app, u_oscar, pa, "operator");
	j1 = new_job(pa, "k1", "finished", "2024-03-01 10:00:00+00", "cube", "-x.gcode", u_mia);
	j2 = new_job(pa, "k2", "failed", "2024-03-05 08:00:00+00", "=HYPERLINK(\"x\"),bad", "plate_1.gcode",
	    u_oscar);
	j3 = new_job(pb, "k3", "running", "2024-03-03 12:00:00+00", "secret", NULL, u_root);
	j4 = new_job(pa, "k4", "cancelled", "2024-02-20 09:00:00+00", "@SUM(A1)", "+1-2.gcode", 0);
	new_filament(j1, 0, "PLA", "1.24", "300", "0.9");
	new_filament(j1, 1, "PETG", NULL, "50", NULL);
	new_filament(j2, 0, "PLA", "1.24", "200", "1.5");
	new_filament(j3, 0, "ABS", "1.04", "1000", "3");
	l0 = charge(j1, 0, 0, 7, "100", "0.25", "2024-03-01 10:05:00+00", NULL);
	l1 = charge(j1, 1, 0, 7, "50", "0.125", "2024-03-01 10:10:00+00", NULL);
	charge(j1, 1, 1, 0, "20", NULL, "2024-03-01 10:10:00+00", NULL);
	l2 = charge(j1, 2, 0, 8, "40", "0.5", "2024-03-02 00:30:00+00", NULL);
	charge(j1, 2, 1, 0, "10", NULL, "2024-03-02 00:30:00+00", NULL);
	l3 = charge(j1, 3, 0, 8, "2.5", "0.0625", "2024-03-02 00:40:00+00", "40");
	o_done = queue(l0, "done");
	o_review = queue(l1, "needs_review");
	o_pending = queue(l2, "pending");
	o_inflight = queue(l3, "inflight");
	o_j2 = queue(charge(j2, 0, 0, 9, "200", "1.5", "2024-03-05 08:10:00+00", NULL), "needs_review");
	o_j3 = queue(charge(j3, 0, 0, 7, "1000", "3", "2024-03-03 12:10:00+00", NULL), "needs_review");
	o_manual = sql_int("INSERT INTO spoolman_outbox (spool_id, use_mm, use_g) VALUES (5, 10, 0.5) RETURNING id",
	    0, NULL);
	wt_sql(app, "INSERT INTO spool_cache (spool_id, spool) VALUES (7, '{\"id\": 7, \"filament\": "
	    "{\"name\": \"Matte Black\", \"material\": \"PLA\", \"vendor\": {\"name\": \"Bambu\"}}}')", 0, NULL);
	wt_login(app, &root, "root", PW);
	wt_login(app, &mia, "mia", PW);
	wt_login(app, &oscar, "oscar", PW);
	wt_login(app, &una, "una", PW);
}

static void
teardown(void)
{
	wt_app_free(app);
	app = NULL;
}

/* GET path as cl, asserting status; returns the reply (wt_free() it). */
static struct wt_reply
get(struct wt_client *cl, const char *path, int status)
{
	struct wt_reply	 r = wt_call(app, cl, "GET", path, NULL);

	ck_assert_msg(r.status == status, "GET %s: %d, not %d: %s", path, r.status, status, r.body);
	return r;
}

static double
num(const json_t *o, const char *key)
{
	const json_t	*v = json_object_get(o, key);

	ck_assert_msg(json_is_number(v), "%s is not a number", key);
	return json_number_value(v);
}

static const char *
str(const json_t *o, const char *key)
{
	const json_t	*v = json_object_get(o, key);

	ck_assert_msg(json_is_string(v), "%s is not a string", key);
	return json_string_value(v);
}

/* The element of array a whose key is the number n (n < 0: whose key is null); fails if there is none. */
static json_t *
find(const json_t *a, const char *key, long long n)
{
	size_t	 i;
	json_t	*e, *v;

	json_array_foreach(a, i, e) {
		v = json_object_get(e, key);
		if ((n < 0 && json_is_null(v)) || (n >= 0 && json_is_number(v) && json_number_value(v) == n))
			return e;
	}
	ck_abort_msg("no element with %s = %lld", key, n);
	return NULL;
}

/* The ids of the "prints" of a list answer, as "id,id,...". */
static const char *
print_ids(const json_t *j)
{
	static char	 out[256];
	size_t		 i, len = 0;
	json_t		*e;

	out[0] = '\0';
	json_array_foreach(json_object_get(j, "prints"), i, e)
		len += snprintf(out + len, sizeof(out) - len, "%s%lld", i > 0 ? "," : "",
		    (long long)json_integer_value(json_object_get(e, "id")));
	return out;
}

/* Asserts that GET path as cl lists exactly the prints ids ("id,id"). */
static void
expect_prints(struct wt_client *cl, const char *path, const char *ids)
{
	struct wt_reply	 r = get(cl, path, 200);

	ck_assert_msg(strcmp(print_ids(r.json), ids) == 0, "%s: %s, not %s", path, print_ids(r.json), ids);
	wt_free(&r);
}

static const char *
ids(long long a, long long b, long long c, long long d)
{
	static char	 out[128];
	long long	 v[4] = { a, b, c, d };
	size_t		 len = 0;
	int		 i;

	out[0] = '\0';
	for (i = 0; i < 4 && v[i] > 0; i++)
		len += snprintf(out + len, sizeof(out) - len, "%s%lld", i > 0 ? "," : "", v[i]);
	return out;
}

START_TEST(test_prints_list)
{
	struct wt_reply	 r;
	char		 path[128], want[128];
	json_t		*p;

	r = get(&root, "/api/v1/prints", 200);
	ck_assert_str_eq(print_ids(r.json), ids(j2, j3, j1, j4));
	ck_assert(json_is_null(json_object_get(r.json, "next")));
	p = find(json_object_get(r.json, "prints"), "id", j1);
	ck_assert_int_eq(num(p, "printer_id"), pa);
	ck_assert_str_eq(str(p, "printer"), "alpha");
	ck_assert_int_eq(num(p, "user_id"), u_mia);
	ck_assert_str_eq(str(p, "user"), "mia");
	ck_assert_str_eq(str(p, "name"), "cube");
	ck_assert_str_eq(str(p, "gcode_file"), "-x.gcode");
	ck_assert_str_eq(str(p, "state"), "finished");
	ck_assert_ptr_nonnull(strstr(str(p, "started_at"), "2024-03-01"));
	ck_assert(json_is_string(json_object_get(p, "ended_at")));
	ck_assert_int_eq(num(p, "layer_count"), 100);
	ck_assert_int_eq(num(p, "checkpoint_layer"), -1);
	ck_assert_int_eq(num(p, "layers_charged"), 4);
	ck_assert_double_eq(num(p, "grams"), 0.9375);
	ck_assert_double_eq(num(p, "mm"), 222.5);
	ck_assert_double_eq(num(p, "planned_grams"), 0.9);
	ck_assert_double_eq(num(p, "planned_mm"), 350);
	ck_assert_double_eq(num(p, "grams_unknown_spool"), 0);
	ck_assert_double_eq(num(p, "mm_unknown_spool"), 30);
	ck_assert_double_eq(num(p, "mm_no_grams"), 30);
	p = find(json_object_get(r.json, "prints"), "id", j4);
	ck_assert(json_is_null(json_object_get(p, "user_id")) && json_is_null(json_object_get(p, "user")));
	ck_assert_double_eq(num(p, "grams"), 0);
	ck_assert(json_is_null(json_object_get(p, "planned_grams")));
	wt_free(&r);

	snprintf(path, sizeof(path), "/api/v1/prints?printer=%lld", pa);
	expect_prints(&root, path, ids(j2, j1, j4, 0));
	snprintf(path, sizeof(path), "/api/v1/prints?user=%lld", u_mia);
	expect_prints(&root, path, ids(j1, 0, 0, 0));
	expect_prints(&root, "/api/v1/prints?user=none", ids(j4, 0, 0, 0));
	expect_prints(&root, "/api/v1/prints?state=failed", ids(j2, 0, 0, 0));
	expect_prints(&root, "/api/v1/prints?state=paused", "");
	expect_prints(&root, "/api/v1/prints?from=2024-03-02&to=2024-03-04", ids(j3, 0, 0, 0));
	/* Both ends are whole days, inclusive. */
	expect_prints(&root, "/api/v1/prints?from=2024-03-01&to=2024-03-01", ids(j1, 0, 0, 0));
	expect_prints(&root, "/api/v1/prints?from=2024-03-03", ids(j2, j3, 0, 0));
	expect_prints(&root, "/api/v1/prints?to=2024-02-29", ids(j4, 0, 0, 0));
	/* Days in another zone: 03-05 08:00 UTC is still 03-05 in Tokyo, 03-01 10:00 UTC is 03-01 19:00 there. */
	expect_prints(&root, "/api/v1/prints?from=2024-03-05&to=2024-03-05&tz=Asia/Tokyo", ids(j2, 0, 0, 0));
	expect_prints(&root, "/api/v1/prints?from=2024-03-01&to=2024-03-01&tz=Pacific/Kiritimati", "");
	snprintf(path, sizeof(path), "/api/v1/prints?printer=%lld&state=finished&user=%lld&from=2024-01-01",
	    pa, u_mia);
	expect_prints(&root, path, ids(j1, 0, 0, 0));
	snprintf(want, sizeof(want), "%s", ids(j2, j3, j1, j4));
	expect_prints(&root, "/api/v1/prints?limit=200&format=json", want);
}
END_TEST

START_TEST(test_prints_paging)
{
	struct wt_reply	 r;
	char		 path[160], got[256], want[256];
	long long	 extra[3];
	size_t		 glen = 0;
	int		 pages = 0, i;

	/* Three more prints started at the same instant as j2: the id breaks the tie. */
	for (i = 0; i < 3; i++) {
		char	 key[8];

		snprintf(key, sizeof(key), "t%d", i);
		extra[i] = new_job(pb, key, "finished", "2024-03-05 08:00:00+00", "tie", NULL, 0);
	}
	snprintf(want, sizeof(want), "%lld,%lld,%lld,%s", extra[2], extra[1], extra[0], ids(j2, j3, j1, j4));
	snprintf(path, sizeof(path), "/api/v1/prints?limit=2");
	got[0] = '\0';
	for (;;) {
		json_t	*next;

		r = get(&root, path, 200);
		pages++;
		ck_assert_int_le(json_array_size(json_object_get(r.json, "prints")), 2);
		glen += snprintf(got + glen, sizeof(got) - glen, "%s%s", glen > 0 ? "," : "", print_ids(r.json));
		next = json_object_get(r.json, "next");
		if (json_is_null(next)) {
			wt_free(&r);
			break;
		}
		ck_assert(json_is_string(next));
		snprintf(path, sizeof(path), "/api/v1/prints?limit=2&cursor=%s", json_string_value(next));
		wt_free(&r);
		ck_assert_int_lt(pages, 10);
	}
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(pages, 4);
	/* Exactly a page's worth: no next. */
	r = get(&root, "/api/v1/prints?limit=7", 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "prints")), 7);
	ck_assert(json_is_null(json_object_get(r.json, "next")));
	wt_free(&r);
	/* Filters apply on every page. */
	snprintf(path, sizeof(path), "/api/v1/prints?printer=%lld&limit=1", pa);
	r = get(&root, path, 200);
	ck_assert_str_eq(print_ids(r.json), ids(j2, 0, 0, 0));
	snprintf(path, sizeof(path), "/api/v1/prints?printer=%lld&limit=1&cursor=%s", pa,
	    json_string_value(json_object_get(r.json, "next")));
	wt_free(&r);
	expect_prints(&root, path, ids(j1, 0, 0, 0));
}
END_TEST

START_TEST(test_visibility)
{
	struct wt_reply	 r;
	char		 path[128], body[64];

	expect_prints(&mia, "/api/v1/prints", ids(j2, j1, j4, 0));
	expect_prints(&una, "/api/v1/prints", "");
	snprintf(path, sizeof(path), "/api/v1/prints?printer=%lld", pb);
	expect_prints(&mia, path, "");
	expect_prints(&mia, "/api/v1/prints?from=2024-03-03&to=2024-03-03", "");
	snprintf(path, sizeof(path), "/api/v1/prints/%lld", j3);
	r = get(&mia, path, 404);
	ck_assert_str_eq(str(r.json, "error"), "not_found");
	wt_free(&r);
	r = get(&root, path, 200);
	wt_free(&r);
	snprintf(path, sizeof(path), "/api/v1/prints/%lld", j1);
	r = get(&una, path, 404);
	wt_free(&r);
	r = get(&mia, "/api/v1/prints/999999", 404);
	wt_free(&r);
	/* Usage totals count only the visible printers. */
	r = get(&mia, "/api/v1/usage?group=printer&from=2024-03-01&to=2024-03-31", 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 1);
	ck_assert_str_eq(str(json_array_get(json_object_get(r.json, "rows"), 0), "printer"), "alpha");
	ck_assert_double_eq(num(json_object_get(r.json, "total"), "grams"), 2.4375);
	wt_free(&r);
	r = get(&mia, "/api/v1/usage?group=spool&from=2024-03-01&to=2024-03-31", 200);
	ck_assert_double_eq(num(find(json_object_get(r.json, "rows"), "spool_id", 7), "grams"), 0.375);
	wt_free(&r);
	snprintf(path, sizeof(path), "/api/v1/usage?from=2024-03-01&to=2024-03-31&printer=%lld", pb);
	r = get(&mia, path, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 0);
	ck_assert_double_eq(num(json_object_get(r.json, "total"), "mm"), 0);
	wt_free(&r);
	r = get(&una, "/api/v1/usage?group=user&from=2024-01-01&to=2024-12-31", 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 0);
	wt_free(&r);
	/* The CSV exports too: a header and nothing else, or only the visible printer. */
	r = get(&una, "/api/v1/prints?format=csv", 200);
	ck_assert_str_eq(r.body, PRINTS_HEADER);
	wt_free(&r);
	r = get(&mia, "/api/v1/prints?format=csv", 200);
	ck_assert_ptr_null(strstr(r.body, "secret"));
	ck_assert_ptr_null(strstr(r.body, "beta"));
	ck_assert_ptr_nonnull(strstr(r.body, "\"cube\""));
	wt_free(&r);
	r = get(&mia, "/api/v1/usage?group=printer&from=2024-03-01&to=2024-03-31&format=csv", 200);
	ck_assert_ptr_null(strstr(r.body, "beta"));
	ck_assert_ptr_nonnull(strstr(r.body, "\"alpha\",2,5,2.4375,422.5,30\r\n"));
	wt_free(&r);

	/* Whose print: an operator or an admin; a viewer may not; an invisible print is 404. */
	snprintf(path, sizeof(path), "/api/v1/prints/%lld", j1);
	snprintf(body, sizeof(body), "{\"user_id\":%lld}", u_una);
	r = wt_call(app, &mia, "PATCH", path, body);
	ck_assert_msg(r.status == 403, "%d %s", r.status, r.body);
	wt_free(&r);
	r = wt_call(app, &oscar, "PATCH", path, body);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert_int_eq(num(r.json, "user_id"), u_una);
	ck_assert_str_eq(str(r.json, "user"), "una");
	ck_assert_double_eq(num(r.json, "grams"), 0.9375);
	wt_free(&r);
	r = wt_call(app, &oscar, "PATCH", path, "{\"user_id\":999999}");
	ck_assert_int_eq(r.status, 400);
	wt_free(&r);
	r = wt_call(app, &oscar, "PATCH", path, "{\"user_id\":null}");
	ck_assert_int_eq(r.status, 200);
	ck_assert(json_is_null(json_object_get(r.json, "user_id")));
	wt_free(&r);
	expect_prints(&root, "/api/v1/prints?user=none", ids(j1, j4, 0, 0));
	r = wt_call(app, &oscar, "PATCH", path, "{}");
	ck_assert_int_eq(r.status, 400);
	wt_free(&r);
	r = wt_call(app, &oscar, "PATCH", path, "{\"user_id\":\"1\"}");
	ck_assert_int_eq(r.status, 400);
	wt_free(&r);
	r = wt_call(app, &oscar, "PATCH", path, "{\"user_id\":1,\"state\":\"failed\"}");
	ck_assert_int_eq(r.status, 400);
	wt_free(&r);
	snprintf(path, sizeof(path), "/api/v1/prints/%lld", j3);
	r = wt_call(app, &oscar, "PATCH", path, body);
	ck_assert_int_eq(r.status, 404);
	wt_free(&r);
	r = wt_call(app, &root, "PATCH", path, body);
	ck_assert_int_eq(r.status, 200);
	wt_free(&r);
	r = wt_call(app, &root, "PATCH", "/api/v1/prints/999999", body);
	ck_assert_int_eq(r.status, 404);
	wt_free(&r);
}
END_TEST

/* Asserts that the JSON array a holds exactly the n numbers of want (NAN: null). */
static void
expect_numbers(const json_t *a, const double *want, size_t n)
{
	size_t	 i;

	ck_assert_int_eq(json_array_size(a), n);
	for (i = 0; i < n; i++)
		ck_assert_msg(json_number_value(json_array_get(a, i)) == want[i], "[%zu]: %g, not %g", i,
		    json_number_value(json_array_get(a, i)), want[i]);
}

START_TEST(test_print_detail)
{
	static const double	 layers[] = { 0, 1, 2, 3 };
	static const double	 mm0[] = { 100, 50, 40, 2.5 }, g0[] = { 0.25, 0.125, 0.5, 0.0625 };
	static const double	 mm1[] = { 0, 20, 10, 0 };
	static const double	 spools0[] = { 7, 8 };
	struct wt_reply		 r;
	char			 path[64];
	json_t			*f, *s, *l, *series, *o;

	snprintf(path, sizeof(path), "/api/v1/prints/%lld", j1);
	r = get(&mia, path, 200);
	ck_assert_int_eq(num(r.json, "id"), j1);
	ck_assert_str_eq(str(r.json, "printer"), "alpha");
	ck_assert_double_eq(num(r.json, "grams"), 0.9375);
	ck_assert_double_eq(num(r.json, "mm"), 222.5);

	f = json_object_get(r.json, "filaments");
	ck_assert_int_eq(json_array_size(f), 2);
	f = find(json_object_get(r.json, "filaments"), "index", 0);
	ck_assert_str_eq(str(f, "type"), "PLA");
	ck_assert_double_eq(num(f, "planned_mm"), 300);
	ck_assert_double_eq(num(f, "planned_grams"), 0.9);
	ck_assert_double_eq(num(f, "charged_mm"), 192.5);
	ck_assert_double_eq(num(f, "charged_grams"), 0.9375);
	expect_numbers(json_object_get(f, "spool_ids"), spools0, 2);
	f = find(json_object_get(r.json, "filaments"), "index", 1);
	ck_assert_str_eq(str(f, "type"), "PETG");
	ck_assert_double_eq(num(f, "charged_mm"), 30);
	ck_assert(json_is_null(json_object_get(f, "charged_grams")));
	ck_assert(json_is_null(json_object_get(f, "planned_grams")));
	ck_assert_int_eq(json_array_size(json_object_get(f, "spool_ids")), 0);

	s = json_object_get(r.json, "spools");
	ck_assert_int_eq(json_array_size(s), 3);
	ck_assert_int_eq(num(json_array_get(s, 0), "spool_id"), 7);
	ck_assert(json_is_null(json_object_get(json_array_get(s, 2), "spool_id")));
	ck_assert_str_eq(str(find(s, "spool_id", 7), "spool_name"), "Bambu Matte Black");
	ck_assert_double_eq(num(find(s, "spool_id", 7), "grams"), 0.375);
	ck_assert_double_eq(num(find(s, "spool_id", 7), "mm"), 150);
	ck_assert_int_eq(num(find(s, "spool_id", 7), "layers"), 2);
	ck_assert(json_is_null(json_object_get(find(s, "spool_id", 8), "spool_name")));
	ck_assert_double_eq(num(find(s, "spool_id", 8), "grams"), 0.5625);
	ck_assert_double_eq(num(find(s, "spool_id", 8), "mm"), 42.5);
	ck_assert_double_eq(num(find(s, "spool_id", -1), "grams"), 0);
	ck_assert_double_eq(num(find(s, "spool_id", -1), "mm"), 30);
	ck_assert_double_eq(num(find(s, "spool_id", -1), "mm_no_grams"), 30);

	l = json_object_get(r.json, "layers");
	expect_numbers(json_object_get(l, "layer"), layers, 4);
	series = json_object_get(l, "series");
	ck_assert_int_eq(json_array_size(series), 2);
	expect_numbers(json_object_get(find(series, "filament_index", 0), "mm"), mm0, 4);
	expect_numbers(json_object_get(find(series, "filament_index", 0), "grams"), g0, 4);
	expect_numbers(json_object_get(find(series, "filament_index", 1), "mm"), mm1, 4);
	ck_assert(json_is_null(json_object_get(find(series, "filament_index", 1), "grams")));

	o = json_object_get(r.json, "outbox");
	ck_assert_int_eq(num(o, "done"), 1);
	ck_assert_int_eq(num(o, "needs_review"), 1);
	ck_assert_int_eq(num(o, "pending"), 1);
	ck_assert_int_eq(num(o, "inflight"), 1);
	ck_assert_int_eq(num(o, "discarded"), 0);
	/* j1's and j2's rows; j3's is on beta. */
	ck_assert_int_eq(num(r.json, "printer_needs_review"), 2);
	wt_free(&r);

	/* A print with nothing charged: empty, not missing. */
	snprintf(path, sizeof(path), "/api/v1/prints/%lld", j4);
	r = get(&mia, path, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "spools")), 0);
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(r.json, "layers"), "layer")), 0);
	ck_assert_int_eq(num(json_object_get(r.json, "outbox"), "done"), 0);
	wt_free(&r);
	r = get(&mia, "/api/v1/prints/1?x=1", 400);
	wt_free(&r);
}
END_TEST

/* GET /api/v1/usage?query as root; returns the reply. */
static struct wt_reply
usage(const char *query)
{
	char	 path[256];

	snprintf(path, sizeof(path), "/api/v1/usage?%s", query);
	return get(&root, path, 200);
}

/* Asserts one usage row or total: prints, layers, grams, mm, mm_no_grams. */
static void
expect_usage(const json_t *row, int prints, int layers, double grams, double mm, double mm_no_grams)
{
	ck_assert_ptr_nonnull(row);
	ck_assert_int_eq(num(row, "prints"), prints);
	ck_assert_int_eq(num(row, "layers"), layers);
	ck_assert_double_eq(num(row, "grams"), grams);
	ck_assert_double_eq(num(row, "mm"), mm);
	ck_assert_double_eq(num(row, "mm_no_grams"), mm_no_grams);
}

/* The row of a usage answer whose key is the string v. */
static const json_t *
row_of(const json_t *j, const char *key, const char *v)
{
	size_t	 i;
	json_t	*e;

	json_array_foreach(json_object_get(j, "rows"), i, e)
		if (json_is_string(json_object_get(e, key)) && strcmp(str(e, key), v) == 0)
			return e;
	ck_abort_msg("no row with %s = %s", key, v);
	return NULL;
}

START_TEST(test_usage)
{
	const char	*range = "from=2024-03-01&to=2024-03-31";
	struct wt_reply	 r;
	char		 q[128];
	json_t		*rows;

	snprintf(q, sizeof(q), "group=day&%s", range);
	r = usage(q);
	ck_assert_str_eq(str(r.json, "group"), "day");
	ck_assert_str_eq(str(r.json, "from"), "2024-03-01");
	ck_assert_str_eq(str(r.json, "to"), "2024-03-31");
	ck_assert_str_eq(str(r.json, "tz"), "UTC");
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 4);
	ck_assert_str_eq(str(json_array_get(json_object_get(r.json, "rows"), 0), "day"), "2024-03-01");
	expect_usage(row_of(r.json, "day", "2024-03-01"), 1, 2, 0.375, 170, 20);
	expect_usage(row_of(r.json, "day", "2024-03-02"), 1, 2, 0.5625, 52.5, 10);
	expect_usage(row_of(r.json, "day", "2024-03-03"), 1, 1, 3, 1000, 0);
	expect_usage(row_of(r.json, "day", "2024-03-05"), 1, 1, 1.5, 200, 0);
	expect_usage(json_object_get(r.json, "total"), 3, 6, 5.4375, 1422.5, 30);
	wt_free(&r);
	/* In New York, 03-02 00:30 UTC is the evening of 03-01. */
	snprintf(q, sizeof(q), "group=day&%s&tz=America/New_York", range);
	r = usage(q);
	ck_assert_str_eq(str(r.json, "tz"), "America/New_York");
	expect_usage(row_of(r.json, "day", "2024-03-01"), 1, 4, 0.9375, 222.5, 30);
	wt_free(&r);
	/* One day only. */
	r = usage("group=day&from=2024-03-02&to=2024-03-02");
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 1);
	expect_usage(json_object_get(r.json, "total"), 1, 2, 0.5625, 52.5, 10);
	wt_free(&r);

	snprintf(q, sizeof(q), "group=spool&%s", range);
	r = usage(q);
	rows = json_object_get(r.json, "rows");
	ck_assert_int_eq(json_array_size(rows), 4);
	ck_assert(json_is_null(json_object_get(json_array_get(rows, 3), "spool_id")));
	ck_assert_str_eq(str(find(rows, "spool_id", 7), "spool_name"), "Bambu Matte Black");
	expect_usage(find(rows, "spool_id", 7), 2, 3, 3.375, 1150, 0);
	expect_usage(find(rows, "spool_id", 8), 1, 2, 0.5625, 42.5, 0);
	expect_usage(find(rows, "spool_id", 9), 1, 1, 1.5, 200, 0);
	expect_usage(find(rows, "spool_id", -1), 1, 2, 0, 30, 30);
	wt_free(&r);

	snprintf(q, sizeof(q), "group=printer&%s", range);
	r = usage(q);
	rows = json_object_get(r.json, "rows");
	ck_assert_int_eq(json_array_size(rows), 2);
	ck_assert_str_eq(str(find(rows, "printer_id", pa), "printer"), "alpha");
	expect_usage(find(rows, "printer_id", pa), 2, 5, 2.4375, 422.5, 30);
	expect_usage(find(rows, "printer_id", pb), 1, 1, 3, 1000, 0);
	wt_free(&r);

	snprintf(q, sizeof(q), "group=filament_type&%s", range);
	r = usage(q);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 3);
	ck_assert_str_eq(str(json_array_get(json_object_get(r.json, "rows"), 0), "filament_type"), "ABS");
	expect_usage(row_of(r.json, "filament_type", "PLA"), 2, 5, 2.4375, 392.5, 0);
	expect_usage(row_of(r.json, "filament_type", "PETG"), 1, 2, 0, 30, 30);
	expect_usage(row_of(r.json, "filament_type", "ABS"), 1, 1, 3, 1000, 0);
	wt_free(&r);

	snprintf(q, sizeof(q), "group=user&%s", range);
	r = usage(q);
	rows = json_object_get(r.json, "rows");
	ck_assert_int_eq(json_array_size(rows), 3);
	ck_assert_str_eq(str(find(rows, "user_id", u_mia), "user"), "mia");
	expect_usage(find(rows, "user_id", u_mia), 1, 4, 0.9375, 222.5, 30);
	expect_usage(find(rows, "user_id", u_oscar), 1, 1, 1.5, 200, 0);
	expect_usage(find(rows, "user_id", u_root), 1, 1, 3, 1000, 0);
	wt_free(&r);

	snprintf(q, sizeof(q), "group=printer&%s&printer=%lld", range, pa);
	r = usage(q);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 1);
	wt_free(&r);

	/* The default: the last 30 days up to today, which the 2024 history is not in. */
	r = usage("");
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 0);
	expect_usage(json_object_get(r.json, "total"), 0, 0, 0, 0, 0);
	wt_free(&r);
	charge(j3, 1, 0, 7, "12.5", "0.5", "now", NULL);
	r = usage("group=spool");
	expect_usage(json_object_get(r.json, "total"), 1, 1, 0.5, 12.5, 0);
	expect_usage(find(json_object_get(r.json, "rows"), "spool_id", 7), 1, 1, 0.5, 12.5, 0);
	wt_free(&r);
}
END_TEST

/* The header named name (without "name: ") among the reply's headers, copied; "" if absent. */
static const char *
header(const struct wt_reply *r, const char *name)
{
	static char	 v[256];
	const char	*p = r->headers;
	size_t		 n = strlen(name);

	v[0] = '\0';
	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			snprintf(v, sizeof(v), "%.*s", (int)strcspn(p + n + 2, "\n"), p + n + 2);
			break;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return v;
}

START_TEST(test_csv)
{
	struct wt_reply	 r;
	char		 line[512];
	struct http_request req;

	r = get(&root, "/api/v1/prints?format=csv", 200);
	ck_assert_ptr_null(r.json);
	ck_assert_str_eq(header(&r, "Content-Disposition"), "attachment; filename=\"spoolkeeper-prints.csv\"");
	ck_assert_ptr_nonnull(strstr(r.body, "\r\n"));
	ck_assert_msg(strncmp(r.body, PRINTS_HEADER, strlen(PRINTS_HEADER)) == 0, "%s", r.body);
	ck_assert_ptr_nonnull(strstr(r.body, ",\"'=HYPERLINK(\"\"x\"\"),bad\",\"plate_1.gcode\","));
	ck_assert_ptr_nonnull(strstr(r.body, ",\"'@SUM(A1)\",\"'+1-2.gcode\","));
	ck_assert_ptr_nonnull(strstr(r.body, ",\"cube\",\"'-x.gcode\","));
	snprintf(line, sizeof(line), ",\"finished\",100,-1,4,0.9375,222.5,0.9,350,0,30,30\r\n");
	ck_assert_msg(strstr(r.body, line) != NULL, "%s", r.body);
	snprintf(line, sizeof(line), "\r\n%lld,", j4);
	ck_assert_ptr_nonnull(strstr(r.body, line));
	ck_assert_ptr_nonnull(strstr(r.body, ",\"cancelled\",100,-1,0,0,0,,,0,0,0\r\n"));
	wt_free(&r);
	/* The content type, from the raw response. */
	memset(&req, 0, sizeof(req));
	{
		struct http_response	 res;
		struct wt_client	 c = root;

		req.method = "GET";
		req.path = "/api/v1/usage";
		req.query = "group=spool&from=2024-03-01&to=2024-03-31&format=csv";
		req.host = "localhost";
		req.cookie = c.cookie;
		req.remote_addr = "127.0.0.1";
		http_response_init(&res);
		app_handle(app, &req, &res);
		ck_assert_int_eq(res.status, 200);
		ck_assert_str_eq(res.content_type, "text/csv; charset=utf-8");
		http_response_free(&res);
	}
	r = get(&root, "/api/v1/usage?group=spool&from=2024-03-01&to=2024-03-31&format=csv", 200);
	ck_assert_str_eq(header(&r, "Content-Disposition"),
	    "attachment; filename=\"spoolkeeper-usage-spool-2024-03-01-2024-03-31.csv\"");
	ck_assert_str_eq(r.body, "spool_id,spool_name,prints,layers,grams,mm,mm_no_grams\r\n"
	    "7,\"Bambu Matte Black\",2,3,3.375,1150,0\r\n"
	    "8,,1,2,0.5625,42.5,0\r\n"
	    "9,,1,1,1.5,200,0\r\n"
	    ",,1,2,0,30,30\r\n");
	wt_free(&r);
	r = get(&root, "/api/v1/usage?group=day&from=2024-03-01&to=2024-03-02&format=csv", 200);
	ck_assert_str_eq(r.body, "day,prints,layers,grams,mm,mm_no_grams\r\n"
	    "\"2024-03-01\",1,2,0.375,170,20\r\n"
	    "\"2024-03-02\",1,2,0.5625,52.5,10\r\n");
	wt_free(&r);
	/* A printer whose name would be a formula in a spreadsheet, in the printer grouping. */
	wt_sql(app, "UPDATE printers SET name = '-2+3, \"x\"' WHERE name = 'alpha'", 0, NULL);
	r = get(&root, "/api/v1/usage?group=printer&from=2024-03-05&to=2024-03-05&format=csv", 200);
	snprintf(line, sizeof(line), "printer_id,printer,prints,layers,grams,mm,mm_no_grams\r\n"
	    "%lld,\"'-2+3, \"\"x\"\"\",1,1,1.5,200,0\r\n", pa);
	ck_assert_str_eq(r.body, line);
	wt_free(&r);
	/* CSV pages too: the next cursor goes in a header. */
	r = get(&root, "/api/v1/prints?format=csv&limit=1", 200);
	ck_assert_str_ne(header(&r, "X-Next-Cursor"), "");
	wt_free(&r);
}
END_TEST

START_TEST(test_outbox)
{
	struct wt_reply	 r;
	char		 path[128];
	json_t		*rows, *o;

	r = get(&mia, "/api/v1/outbox", 403);
	wt_free(&r);
	r = get(&root, "/api/v1/outbox", 200);
	rows = json_object_get(r.json, "rows");
	ck_assert_int_eq(json_array_size(rows), 6);
	ck_assert_int_eq(num(json_array_get(rows, 0), "id"), o_review);
	ck_assert_int_eq(num(json_array_get(rows, 5), "id"), o_manual);
	o = find(rows, "id", o_review);
	ck_assert_str_eq(str(o, "state"), "needs_review");
	ck_assert_int_eq(num(o, "spool_id"), 7);
	ck_assert_str_eq(str(o, "spool_name"), "Bambu Matte Black");
	ck_assert_double_eq(num(o, "use_g"), 0.125);
	ck_assert_double_eq(num(o, "use_mm"), 50);
	ck_assert_int_eq(num(o, "attempts"), 2);
	ck_assert_str_eq(str(o, "last_error"), "PUT /spool/7/use: HTTP 404");
	ck_assert_int_eq(num(o, "job_id"), j1);
	ck_assert_int_eq(num(o, "layer"), 1);
	ck_assert_int_eq(num(o, "printer_id"), pa);
	ck_assert_str_eq(str(o, "printer"), "alpha");
	ck_assert_str_eq(str(o, "print_name"), "cube");
	ck_assert(json_is_string(json_object_get(o, "next_attempt_at")));
	ck_assert(json_is_string(json_object_get(o, "created_at")));
	o = find(rows, "id", o_manual);
	ck_assert(json_is_null(json_object_get(o, "job_id")) && json_is_null(json_object_get(o, "printer")));
	o = json_object_get(r.json, "open");
	ck_assert_int_eq(num(o, "pending"), 2);
	ck_assert_int_eq(num(o, "inflight"), 1);
	ck_assert_int_eq(num(o, "needs_review"), 3);
	ck_assert(json_is_null(json_object_get(r.json, "next")));
	wt_free(&r);
	r = get(&root, "/api/v1/outbox?state=done", 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 1);
	ck_assert_int_eq(num(json_array_get(json_object_get(r.json, "rows"), 0), "id"), o_done);
	wt_free(&r);
	r = get(&root, "/api/v1/outbox?state=needs_review,done", 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 4);
	wt_free(&r);
	/* Paging by id. */
	r = get(&root, "/api/v1/outbox?limit=4", 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 4);
	ck_assert(json_is_string(json_object_get(r.json, "next")));
	snprintf(path, sizeof(path), "/api/v1/outbox?limit=4&cursor=%s", str(r.json, "next"));
	wt_free(&r);
	r = get(&root, path, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 2);
	ck_assert_int_eq(num(json_array_get(json_object_get(r.json, "rows"), 1), "id"), o_manual);
	ck_assert(json_is_null(json_object_get(r.json, "next")));
	wt_free(&r);

	/* Retry: needs_review becomes pending, due now, attempts reset. */
	snprintf(path, sizeof(path), "/api/v1/outbox/%lld/retry", o_review);
	r = wt_call(app, &mia, "POST", path, NULL);
	ck_assert_int_eq(r.status, 403);
	wt_free(&r);
	r = wt_call(app, &root, "POST", path, NULL);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert_str_eq(str(r.json, "state"), "pending");
	ck_assert_int_eq(num(r.json, "attempts"), 0);
	ck_assert_int_eq(num(r.json, "id"), o_review);
	wt_free(&r);
	r = wt_call(app, &root, "POST", path, "{}");
	ck_assert_int_eq(r.status, 200);	/* a pending row may be retried (made due now) */
	wt_free(&r);
	r = wt_call(app, &root, "POST", path, "{\"force\":true}");
	ck_assert_int_eq(r.status, 400);
	wt_free(&r);
	snprintf(path, sizeof(path), "/api/v1/outbox/%lld/retry", o_done);
	r = wt_call(app, &root, "POST", path, NULL);
	ck_assert_msg(r.status == 409, "%d %s", r.status, r.body);
	ck_assert_str_eq(str(r.json, "error"), "conflict");
	wt_free(&r);
	snprintf(path, sizeof(path), "/api/v1/outbox/%lld/retry", o_inflight);
	r = wt_call(app, &root, "POST", path, NULL);
	ck_assert_int_eq(r.status, 409);
	wt_free(&r);
	r = wt_call(app, &root, "POST", "/api/v1/outbox/999999/retry", NULL);
	ck_assert_int_eq(r.status, 404);
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT string_agg(state, ',' ORDER BY id) FROM spoolman_outbox", 0, NULL),
	    "done,pending,pending,inflight,needs_review,needs_review,pending");

	/* Discard: with a reason, recorded with who did it and the last error. */
	snprintf(path, sizeof(path), "/api/v1/outbox/%lld/discard", o_j2);
	r = wt_call(app, &root, "POST", path, NULL);
	ck_assert_int_eq(r.status, 400);
	wt_free(&r);
	r = wt_call(app, &root, "POST", path, "{\"reason\":\"\"}");
	ck_assert_int_eq(r.status, 400);
	wt_free(&r);
	r = wt_call(app, &mia, "POST", path, "{\"reason\":\"wrong spool\"}");
	ck_assert_int_eq(r.status, 403);
	wt_free(&r);
	r = wt_call(app, &root, "POST", path, "{\"reason\":\"wrong spool\"}");
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert_str_eq(str(r.json, "state"), "discarded");
	ck_assert_str_eq(str(r.json, "resolution"), "manual");
	ck_assert_str_eq(str(r.json, "last_error"),
	    "discarded by root: wrong spool (last error: PUT /spool/7/use: HTTP 404)");
	wt_free(&r);
	r = wt_call(app, &root, "POST", path, "{\"reason\":\"again\"}");
	ck_assert_int_eq(r.status, 409);
	wt_free(&r);
	snprintf(path, sizeof(path), "/api/v1/outbox/%lld/retry", o_j2);
	r = wt_call(app, &root, "POST", path, NULL);
	ck_assert_int_eq(r.status, 409);
	wt_free(&r);
	snprintf(path, sizeof(path), "/api/v1/outbox/%lld/discard", o_done);
	r = wt_call(app, &root, "POST", path, "{\"reason\":\"x\"}");
	ck_assert_int_eq(r.status, 409);
	wt_free(&r);
	snprintf(path, sizeof(path), "/api/v1/outbox/%lld/discard", o_inflight);
	r = wt_call(app, &root, "POST", path, "{\"reason\":\"x\"}");
	ck_assert_int_eq(r.status, 409);
	wt_free(&r);
	snprintf(path, sizeof(path), "/api/v1/outbox/%lld/discard", o_pending);
	r = wt_call(app, &root, "POST", path, "{\"reason\":\"test print\"}");
	ck_assert_int_eq(r.status, 200);
	wt_free(&r);
	r = wt_call(app, &root, "POST", "/api/v1/outbox/999999/discard", "{\"reason\":\"x\"}");
	ck_assert_int_eq(r.status, 404);
	wt_free(&r);
	r = wt_call(app, &root, "GET", "/api/v1/outbox/1/discard", NULL);
	ck_assert_int_eq(r.status, 405);
	wt_free(&r);
	ck_assert_str_eq(wt_sql(app, "SELECT string_agg(state, ',' ORDER BY id) FROM spoolman_outbox", 0, NULL),
	    "done,pending,discarded,inflight,discarded,needs_review,pending");
	r = get(&root, "/api/v1/outbox?state=discarded", 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 2);
	wt_free(&r);
	/* The print shows its rows' new states. */
	snprintf(path, sizeof(path), "/api/v1/prints/%lld", j1);
	r = get(&mia, path, 200);
	ck_assert_int_eq(num(json_object_get(r.json, "outbox"), "pending"), 1);
	ck_assert_int_eq(num(json_object_get(r.json, "outbox"), "discarded"), 1);
	ck_assert_int_eq(num(r.json, "printer_needs_review"), 0);
	wt_free(&r);
}
END_TEST

START_TEST(test_bad_params)
{
	static const char *const bad[] = {
		"/api/v1/prints?from=2024-02-30", "/api/v1/prints?from=2023-02-29", "/api/v1/prints?from=2024-13-01",
		"/api/v1/prints?from=yesterday", "/api/v1/prints?to=2024-3-1", "/api/v1/prints?to=0000-01-01",
		"/api/v1/prints?from=2024-03-02&to=2024-03-01", "/api/v1/prints?from=2024-03-01T00:00:00Z",
		"/api/v1/prints?limit=0", "/api/v1/prints?limit=-1", "/api/v1/prints?limit=201",
		"/api/v1/prints?limit=abc", "/api/v1/prints?limit=", "/api/v1/prints?limit=1e3",
		"/api/v1/prints?limit=99999999999999999999", "/api/v1/prints?state=done",
		"/api/v1/prints?state=running%27%20OR%20%271%27%3D%271", "/api/v1/prints?state=",
		"/api/v1/prints?printer=1;DROP%20TABLE%20printers", "/api/v1/prints?printer=-1",
		"/api/v1/prints?printer=0", "/api/v1/prints?printer=%271%27", "/api/v1/prints?user=abc",
		"/api/v1/prints?user=1%20OR%201=1", "/api/v1/prints?cursor=abc", "/api/v1/prints?cursor=1_0",
		"/api/v1/prints?cursor=1_2;SELECT", "/api/v1/prints?cursor=_5", "/api/v1/prints?format=xml",
		"/api/v1/prints?format=csv&limit=10001", "/api/v1/prints?tz=Mars/Base",
		"/api/v1/prints?tz=Europe/Berlin%27;--", "/api/v1/prints?tz=", "/api/v1/prints?unknown=1",
		"/api/v1/prints?printer_id=1", "/api/v1/prints?printer=1&printer=2", "/api/v1/prints?from=%ZZ",
		"/api/v1/prints?name=%00", "/api/v1/usage?group=week", "/api/v1/usage?group=day;DROP%20TABLE%20x",
		"/api/v1/usage?group=user%27--", "/api/v1/usage?from=2024-01-32", "/api/v1/usage?to=20240101",
		"/api/v1/usage?from=2024-02-01&to=2024-01-01", "/api/v1/usage?format=csv;", "/api/v1/usage?printer=x",
		"/api/v1/usage?tz=UTC%27%20OR%201=1", "/api/v1/usage?limit=5", "/api/v1/outbox?state=pending%27",
		"/api/v1/outbox?state=pending,", "/api/v1/outbox?state=all", "/api/v1/outbox?limit=1000",
		"/api/v1/outbox?cursor=-5", "/api/v1/outbox?cursor=1%20OR%201=1", "/api/v1/outbox?x=1",
	};
	struct wt_reply	 r;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = wt_call(app, &root, "GET", bad[i], NULL);
		ck_assert_msg(r.status == 400, "%s: %d %s", bad[i], r.status, r.body);
		ck_assert_str_eq(str(r.json, "error"), "invalid");
		ck_assert(json_is_string(json_object_get(r.json, "detail")));
		wt_free(&r);
	}
	r = get(&root, "/api/v1/prints?from=2024-02-30", 400);
	ck_assert_str_eq(str(r.json, "detail"), "from: 2024-02-30 is not a day of the calendar");
	wt_free(&r);
	/* Nothing was harmed, and the good forms still work. */
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM printers", 0, NULL), "2");
	ck_assert_str_eq(wt_sql(app, "SELECT count(*) FROM print_jobs", 0, NULL), "4");
	expect_prints(&root, "/api/v1/prints?from=2024-02-29&to=2024-03-01&tz=Europe/Berlin&limit=200",
	    ids(j1, 0, 0, 0));
	expect_prints(&root, "/api/v1/prints?state=running", ids(j3, 0, 0, 0));
	r = get(&root, "/api/v1/usage?group=filament_type&from=2024-01-01&tz=UTC", 200);
	wt_free(&r);
	r = get(&root, "/api/v1/prints", 200);
	wt_free(&r);
	/* Not logged in: 401 on every route. */
	r = wt_call(app, NULL, "GET", "/api/v1/prints", NULL);
	ck_assert_int_eq(r.status, 401);
	wt_free(&r);
	r = wt_call(app, NULL, "GET", "/api/v1/usage", NULL);
	ck_assert_int_eq(r.status, 401);
	wt_free(&r);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("web history");
	const TTest *const tests[] = {
		test_prints_list, test_prints_paging, test_visibility, test_print_detail, test_usage, test_csv,
		test_outbox, test_bad_params,
	};
	size_t		 i;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		suite_add_tcase(s, ck_tcase(tests[i]->name, tests[i], setup, teardown, 120));
	return ck_run(s);
}
