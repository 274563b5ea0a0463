/* check_outbox.c: the outbox drain and the Spoolman client against a migrated database and the Spoolman stand-in. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>

#include "db.h"
#include "errbuf.h"
#include "outbox.h"
#include "secret.h"
#include "spoolman.h"
#include "../harness/ckrun.h"
#include "../harness/testdb.h"

/*
 * Environment (tests/worker/test_outbox.sh sets it): SK_TEST_DATABASE, a database `spoolkeeper migrate` built;
 * SK_TEST_SPOOLMAN_PORT and SK_TEST_CONTROL_PORT, the API and control ports of a stand-in started with
 * --control-port; SK_TEST_AUTH_PORT, a second stand-in that wants basic auth u / p.  Every test starts from empty
 * tables and a reset stand-in (4 spools, used_weight 0).  All amounts are dyadic fractions, so every sum is
 * exact in any order and the totals are compared with ==.
 */
static const char	*conninfo;
static long		 api_port, ctl_port, auth_port;
static struct db	*db;
static struct spoolman	*sm;
static char		 err[ERRBUF_LEN];
static long long	 job_id;
static int		 next_layer;

/* ---- HTTP to the stand-in's control API ---- */

struct buf {
	char	*p;
	size_t	 n;
};

static size_t
on_data(char *d, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;

	b->p = realloc(b->p, b->n + size * n + 1);
	ck_assert_ptr_nonnull(b->p);
	memcpy(b->p + b->n, d, size * n);
	b->n += size * n;
	b->p[b->n] = '\0';
	return size * n;
}

/* One request on a new handle; returns the body (new) and sets *status. */
static char *
http(long port, const char *method, const char *path, const char *body,
    long *status)
{
	struct curl_slist	*h = curl_slist_append(NULL,
				    "Content-Type: application/json");
	struct buf		 b = { NULL, 0 };
	char			 url[256];
	CURL			*c = curl_easy_init();
	CURLcode		 rc;

	ck_assert_ptr_nonnull(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%ld%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	rc = curl_easy_perform(c);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, url,
	    curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	return b.p != NULL ? b.p : strdup("");
}

/* A control request (never faulted) that must answer 200; returns the parsed JSON (new). */
static json_t *
ctl(const char *method, const char *path, const char *body)
{
	long		 st;
	char		*s = http(ctl_port, method, path, body, &st);
	json_error_t	 je;
	json_t		*j;

	ck_assert_msg(st == 200, "%s %s: HTTP %ld: %s", method, path, st, s);
	j = json_loads(s, 0, &je);
	ck_assert_msg(j != NULL, "%s: %s", path, je.text);
	free(s);
	return j;
}

static void
ctl_post(const char *path, const char *body)
{
	json_decref(ctl("POST", path, body));
}

static void
fault(const char *rule)
{
	ctl_post("/_control/fault", rule);
}

/* The stand-in's used_weight of a spool. */
static double
used(int spool)
{
	json_t	*st = ctl("GET", "/_control/state", NULL), *s;
	double	 w = NAN;
	size_t	 i;

	json_array_foreach(json_object_get(st, "spools"), i, s)
		if (json_integer_value(json_object_get(s, "id")) == spool)
			w = json_number_value(json_object_get(s, "used_weight"));
	json_decref(st);
	ck_assert_msg(!isnan(w), "no spool %d in the stand-in", spool);
	return w;
}

/* How many /use the stand-in applied to a spool. */
static int
uses(int spool)
{
	json_t	*st = ctl("GET", "/_control/state", NULL);
	char	 key[16];
	int	 n;

	snprintf(key, sizeof(key), "%d", spool);
	n = (int)json_integer_value(json_object_get(json_object_get(
	    json_object_get(st, "use"), key), "count"));
	json_decref(st);
	return n;
}

/* 1 when the API port refuses connections (after POST /_control/down has closed its listener). */
static int
standin_down(void)
{
	CURL		*c = curl_easy_init();
	CURLcode	 rc;
	char		 url[128];

	ck_assert_ptr_nonnull(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%ld/api/v1/health", api_port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	return rc == CURLE_COULDNT_CONNECT;
}

/* 1 when the stand-in says it is up and its API port answers. */
static int
standin_up(void)
{
	json_t	*st = ctl("GET", "/_control/state", NULL);
	int	 down = json_is_true(json_object_get(st, "down"));

	json_decref(st);
	return !down && !standin_down();
}

/*
 * Counts the logged API requests with this method to /api/v1/spool/<spool>/use (spool 0: any spool), with
 * outcome "applied" when applied is set.  If body is not NULL, the JSON body of the last one is dumped into it.
 */
static int
log_uses(const char *method, int spool, int applied, char *body, size_t len)
{
	json_t		*lg = ctl("GET", "/_control/log", NULL), *e;
	char		 path[64];
	size_t		 i;
	int		 n = 0;

	snprintf(path, sizeof(path), "/api/v1/spool/%d/use", spool);
	json_array_foreach(json_object_get(lg, "entries"), i, e) {
		const char *p = json_string_value(json_object_get(e, "path"));
		const char *m = json_string_value(json_object_get(e, "method"));
		const char *o = json_string_value(json_object_get(e, "outcome"));

		if (strcmp(m, method) != 0 || (spool != 0 ? strcmp(p, path) != 0 :
		    strstr(p, "/use") == NULL))
			continue;
		if (applied && strcmp(o, "applied") != 0)
			continue;
		n++;
		if (body != NULL) {
			char *s = json_dumps(json_object_get(e, "body"),
			    JSON_COMPACT | JSON_SORT_KEYS);

			snprintf(body, len, "%s", s);
			free(s);
		}
	}
	json_decref(lg);
	return n;
}

/* The conn_req of every PUT /use logged: 1 each when every PUT had a connection of its own. */
static int
max_put_conn_req(void)
{
	json_t	*lg = ctl("GET", "/_control/log", NULL), *e;
	size_t	 i;
	int	 n = 0, c;

	json_array_foreach(json_object_get(lg, "entries"), i, e) {
		if (strcmp(json_string_value(json_object_get(e, "method")), "PUT") != 0)
			continue;
		c = (int)json_integer_value(json_object_get(e, "conn_req"));
		n = c > n ? c : n;
	}
	json_decref(lg);
	return n;
}

/* Polls the stand-in (never a fixed sleep) until cond() holds, for up to 10 s. */
static void
wait_until(int (*cond)(void), const char *what)
{
	struct timespec	ts = { 0, 10 * 1000 * 1000 };
	int		i;

	for (i = 0; i < 1000; i++) {
		if (cond())
			return;
		nanosleep(&ts, NULL);
	}
	ck_abort_msg("timed out waiting for %s", what);
}

/* ---- SQL ---- */

/* The SQL helpers of tests/harness/testdb.h, on db. */
#define ok(...)		testdb_ok(db, __VA_ARGS__)
#define one(...)	testdb_one(db, __VA_ARGS__)
#define one_int(...)	testdb_one_int(db, __VA_ARGS__)

static double
one_double(const char *sql, int n, const char *const *p)
{
	return strtod(one(sql, n, p), NULL);
}

static int
count_state(const char *state)
{
	return (int)one_int("SELECT count(*) FROM spoolman_outbox WHERE state = $1",
	    PARAMS(state));
}

/* Charges a layer to a spool through the ledger (filament 0 has a density; 1 does not: grams NULL). */
static long long
charge(int spool, const char *grams, const char *mm)
{
	char	sp[16], layer[16], job[24];

	snprintf(sp, sizeof(sp), "%d", spool);
	snprintf(layer, sizeof(layer), "%d", next_layer++);
	snprintf(job, sizeof(job), "%lld", job_id);
	return one_int("WITH l AS (INSERT INTO usage_ledger (job_id, layer, "
	    "filament_index, spool_id, mm, grams) VALUES ($1::bigint, "
	    "$2::integer, CASE WHEN $4::float8 IS NULL THEN 1 ELSE 0 END, "
	    "$3::integer, $5::float8, $4::float8) RETURNING id) "
	    "INSERT INTO spoolman_outbox (ledger_id) SELECT id FROM l RETURNING id",
	    PARAMS(job, layer, sp, grams, mm));
}

static double
ledger_grams(int spool)
{
	char	sp[16];

	snprintf(sp, sizeof(sp), "%d", spool);
	return one_double("SELECT coalesce(sum(grams), 0) FROM usage_ledger "
	    "WHERE spool_id = $1::integer", PARAMS(sp));
}

/* Makes every retry and every lease due now: the back-dated fixture instead of waiting. */
static void
fast_forward(void)
{
	ok("UPDATE spoolman_outbox SET next_attempt_at = now() WHERE state = "
	    "'pending'", 0, NULL);
	ok("UPDATE spoolman_outbox SET lease_until = now() - interval '1 s' "
	    "WHERE state = 'inflight'", 0, NULL);
}

static int
drain(void)
{
	int	sent;

	ck_assert_msg(outbox_drain_once(db, sm, "test-worker", &sent, err) == 0,
	    "drain: %s", err);
	return sent;
}

static void
set_url(long port, const char *user, const char *password)
{
	char	url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%ld", port);
	ok("INSERT INTO settings (key, value) VALUES ('spoolman_url', $1) ON "
	    "CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", PARAMS(url));
	ok("DELETE FROM settings WHERE key IN ('spoolman_user', "
	    "'spoolman_password')", 0, NULL);
	if (user != NULL)
		ok("INSERT INTO settings (key, value) VALUES ('spoolman_user', $1), "
		    "('spoolman_password', $2)", PARAMS(user, password));
}

static void
setup(void)
{
	char	job[24];

	ck_assert_msg(db_open(conninfo, &db, err) == 0, "db_open: %s", err);
	ok("TRUNCATE spoolman_outbox, usage_ledger, job_plan_marks, "
	    "job_plan_layers, job_filaments, print_jobs, tray_assignments, "
	    "printers, settings, spool_cache RESTART IDENTITY CASCADE", 0, NULL);
	ok("INSERT INTO printers (name, host, serial, access_code) VALUES "
	    "('p1s', '127.0.0.1', '01P00A000000001', '12345678')", 0, NULL);
	job_id = one_int("INSERT INTO print_jobs (printer_id, job_key, state, "
	    "layer_count) VALUES (1, 'job-1', 'running', 1000) RETURNING id",
	    0, NULL);
	snprintf(job, sizeof(job), "%lld", job_id);
	ok("INSERT INTO job_filaments (job_id, filament_index, type, density, "
	    "diameter, mm) VALUES ($1::bigint, 0, 'PLA', 1.24, 1.75, 1000), "
	    "($1::bigint, 1, 'PLA', NULL, NULL, 1000)", PARAMS(job));
	next_layer = 0;
	wait_until(standin_up, "the stand-in to be up");
	ctl_post("/_control/reset", "{}");
	set_url(api_port, NULL, NULL);
	sm = NULL;
	ck_assert_msg(spoolman_reload(db, NULL, &sm, err) == 1, "reload: %s", err);
	ck_assert_ptr_nonnull(sm);
}

static void
teardown(void)
{
	spoolman_free(sm);
	sm = NULL;
	db_close(db);
	db = NULL;
}

/* ---- stderr capture, to check what is logged ---- */

static int	saved_stderr = -1;
static char	capture_path[64];

static void
capture_start(void)
{
	int	fd;

	snprintf(capture_path, sizeof(capture_path), "/tmp/check_outbox.XXXXXX");
	fd = mkstemp(capture_path);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* Stops capturing; returns what was logged (new) and copies it to the real stderr. */
static char *
capture_end(void)
{
	FILE	*f;
	char	*s;
	long	 n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	f = fopen(capture_path, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	ck_assert_int_eq((long)fread(s, 1, (size_t)n, f), n);
	fclose(f);
	unlink(capture_path);
	fputs(s, stderr);
	return s;
}

static int
count_substr(const char *s, const char *needle)
{
	int	n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/* ---- pure rules ---- */

START_TEST(test_judge)
{
	ck_assert_int_eq(outbox_judge(100, 112.5, 12.5), OUTBOX_APPLIED);
	ck_assert_int_eq(outbox_judge(100, 100, 12.5), OUTBOX_NOT_APPLIED);
	ck_assert_int_eq(outbox_judge(100, 119.5, 12.5), OUTBOX_AMBIGUOUS);
	ck_assert_int_eq(outbox_judge(100, 95, 12.5), OUTBOX_AMBIGUOUS);
	/* Spoolman's clamp at 0: an un-use larger than what was used lands at 0. */
	ck_assert_int_eq(outbox_judge(3, 0, -5), OUTBOX_APPLIED);
	ck_assert_int_eq(outbox_judge(3, 3, -5), OUTBOX_NOT_APPLIED);
	/* Nothing observable either way: counts as applied (Spoolman holds what it would after applying). */
	ck_assert_int_eq(outbox_judge(0, 0, -5), OUTBOX_APPLIED);
	ck_assert_int_eq(outbox_judge(7, 7, 0), OUTBOX_APPLIED);
	/* Float noise stays within the tolerance; a real difference does not. */
	ck_assert_int_eq(outbox_judge(0.1, 0.1 + 0.2, 0.2), OUTBOX_APPLIED);
	ck_assert_int_eq(outbox_judge(1000, 1000.00001, 0.5), OUTBOX_AMBIGUOUS);
	/* Spoolman's length formula, operation for operation (docs/spoolman-api.md). */
	ck_assert(spoolman_weight_from_length(1000, 1.75, 1.24) ==
	    2.9825495255018097);
}
END_TEST

START_TEST(test_backoff)
{
	ck_assert(outbox_backoff_s(1, 0) == 0.8);
	ck_assert(outbox_backoff_s(1, 0.999) < 1.2);
	ck_assert(outbox_backoff_s(2, 0.5) == 2.0);
	ck_assert(outbox_backoff_s(4, 0.5) == 8.0);
	ck_assert(outbox_backoff_s(9, 0.5) == 256.0);
	ck_assert(outbox_backoff_s(10, 0.999) == OUTBOX_BACKOFF_CAP_S);
	ck_assert(outbox_backoff_s(1000, 0) == 0.8 * OUTBOX_BACKOFF_CAP_S);
	ck_assert(outbox_backoff_s(0, 0.5) == 1.0);
}
END_TEST

/* ---- the drain against the stand-in ---- */

START_TEST(test_normal)
{
	char	body[256];

	charge(1, "1.5", "503");
	charge(1, "2.25", "754.5");
	charge(2, "10", "3353");
	charge(3, "0.125", "41");
	charge(3, "-0.5", "-167");	/* a firmware retraction */
	charge(3, "3", "1006");
	ck_assert_int_eq(drain(), 6);
	ck_assert_int_eq(count_state("done"), 6);
	ck_assert_str_eq(one("SELECT string_agg(DISTINCT resolution, ',') FROM "
	    "spoolman_outbox", 0, NULL), "response");
	ck_assert(used(1) == 3.75 && ledger_grams(1) == 3.75);
	ck_assert(used(2) == 10 && ledger_grams(2) == 10);
	ck_assert(used(3) == 2.625 && ledger_grams(3) == 2.625);
	ck_assert(used(4) == 0);
	ck_assert_int_eq(log_uses("PUT", 0, 0, NULL, 0), 3);
	ck_assert_int_eq(log_uses("PUT", 3, 1, body, sizeof(body)), 1);
	ck_assert_str_eq(body, "{\"use_weight\":2.625}");
	/* Each PUT on a connection of its own (CURLOPT_FRESH_CONNECT). */
	ck_assert_int_eq(max_put_conn_req(), 1);
	/* The pre- and post-images; the view agrees. */
	ck_assert_str_eq(one("SELECT pre_used_weight || ' ' || post_used_weight "
	    "FROM spoolman_outbox WHERE spool_id = 1 LIMIT 1", 0, NULL), "0 3.75");
	ck_assert_str_eq(one("SELECT grams_sent || ' ' || grams_queued FROM "
	    "usage_by_spool WHERE spool_id = 3", 0, NULL), "2.625 0");
	/* Nothing left: a second pass sends nothing. */
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq(log_uses("PUT", 0, 0, NULL, 0), 3);
}
END_TEST

START_TEST(test_coalesce)
{
	char	body[256];

	charge(1, "0.5", "168");
	charge(1, "0.25", "84");
	charge(1, "1", "336");
	charge(1, "2", "671");
	charge(1, "0.125", "42");
	ck_assert_int_eq(drain(), 5);
	ck_assert_int_eq(log_uses("PUT", 1, 0, body, sizeof(body)), 1);
	ck_assert_str_eq(body, "{\"use_weight\":3.875}");
	ck_assert_int_eq(uses(1), 1);
	ck_assert(used(1) == 3.875 && ledger_grams(1) == 3.875);
	ck_assert_int_eq((int)one_int("SELECT count(DISTINCT claim_token) FROM "
	    "spoolman_outbox", 0, NULL), 1);
}
END_TEST

START_TEST(test_spoolman_down)
{
	char	*logged;

	charge(1, "1.5", "503");
	charge(2, "2.5", "838");
	capture_start();
	ctl_post("/_control/down", "{\"seconds\": 1.5}");
	wait_until(standin_down, "the stand-in to go down");
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq(count_state("pending"), 2);
	ck_assert_int_eq((int)one_int("SELECT count(*) FROM spoolman_outbox WHERE "
	    "attempts = 1 AND claim_token IS NULL AND lease_until IS NULL AND "
	    "next_attempt_at > now() AND last_error LIKE '%curl 7,%'", 0, NULL), 2);
	/* Not due yet: nothing is tried. */
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq((int)one_int("SELECT max(attempts) FROM spoolman_outbox",
	    0, NULL), 1);
	/* Due again while still down: the backoff grows (2 s x [0.8, 1.2]). */
	fast_forward();
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq((int)one_int("SELECT count(*) FROM spoolman_outbox WHERE "
	    "attempts = 2 AND next_attempt_at > now() + interval '1.5 s'", 0,
	    NULL), 2);
	wait_until(standin_up, "the stand-in to come back");
	fast_forward();
	ck_assert_int_eq(drain(), 2);
	logged = capture_end();
	ck_assert(used(1) == 1.5 && used(2) == 2.5);
	ck_assert_int_eq(uses(1), 1);
	ck_assert_int_eq(uses(2), 1);
	ck_assert_int_eq(log_uses("PUT", 0, 0, NULL, 0), 2);
	/* The outage is logged once, and its end once; no line per row while it lasts. */
	ck_assert_int_eq(count_substr(logged, "failing"), 1);
	ck_assert_int_eq(count_substr(logged, "answers again"), 1);
	ck_assert_int_eq(count_substr(logged, "not sent"), 0);
	free(logged);
}
END_TEST

/* The PUT's connection is reset after the stand-in read it (curl 56): unknown, read back, not applied, resent. */
START_TEST(test_refuse_use)
{
	charge(1, "1.5", "503");
	charge(1, "0.25", "84");
	fault("{\"mode\": \"refuse\", \"count\": 1, \"path_regex\": \"/use$\"}");
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq((int)one_int("SELECT count(*) FROM spoolman_outbox WHERE "
	    "state = 'pending' AND attempts = 1 AND last_error LIKE "
	    "'%read-back: not applied%'", 0, NULL), 2);
	ck_assert(used(1) == 0);
	fast_forward();
	ck_assert_int_eq(drain(), 2);
	ck_assert(used(1) == 1.75 && ledger_grams(1) == 1.75);
	ck_assert_int_eq(log_uses("PUT", 1, 0, NULL, 0), 2);
	ck_assert_int_eq(log_uses("PUT", 1, 1, NULL, 0), 1);
	ck_assert_int_eq(uses(1), 1);
}
END_TEST

/* Every request refused, the read of the spool before sending included: nothing is sent at all. */
START_TEST(test_refuse_all)
{
	charge(2, "3.5", "1174");
	fault("{\"mode\": \"refuse\", \"count\": 1}");
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq((int)one_int("SELECT count(*) FROM spoolman_outbox WHERE "
	    "state = 'pending' AND attempts = 1 AND pre_used_weight IS NULL", 0,
	    NULL), 1);
	ck_assert_int_eq(log_uses("PUT", 0, 0, NULL, 0), 0);
	fast_forward();
	ck_assert_int_eq(drain(), 1);
	ck_assert(used(2) == 3.5);
	ck_assert_int_eq(uses(2), 1);
}
END_TEST

START_TEST(test_500)
{
	charge(3, "4.5", "1510");
	charge(3, "0.5", "168");
	fault("{\"mode\": \"500\", \"count\": 1, \"path_regex\": \"/use$\"}");
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq((int)one_int("SELECT count(*) FROM spoolman_outbox WHERE "
	    "state = 'pending' AND last_error LIKE 'PUT /spool/3/use: HTTP 500: "
	    "Internal Server Error; read-back: not applied%' AND "
	    "next_attempt_at > now()", 0, NULL), 2);
	fast_forward();
	ck_assert_int_eq(drain(), 2);
	ck_assert_str_eq(one("SELECT string_agg(DISTINCT resolution || ' ' || "
	    "attempts, ',') FROM spoolman_outbox", 0, NULL), "response 2");
	ck_assert(used(3) == 5 && ledger_grams(3) == 5);
	ck_assert_int_eq(log_uses("PUT", 3, 0, NULL, 0), 2);
	ck_assert_int_eq(uses(3), 1);
}
END_TEST

/* Applied, then the connection closed without a reply (curl 52; with rst, 56): read back, done, never resent. */
static void
apply_then_drop(const char *rule)
{
	charge(1, "2.5", "838");
	charge(1, "0.75", "251");
	fault(rule);
	ck_assert_int_eq(drain(), 2);
	ck_assert_str_eq(one("SELECT string_agg(DISTINCT state || ' ' || "
	    "resolution || ' ' || pre_used_weight || ' ' || post_used_weight, "
	    "',') FROM spoolman_outbox", 0, NULL), "done readback 0 3.25");
	ck_assert_int_eq(drain(), 0);
	ck_assert(used(1) == 3.25 && ledger_grams(1) == 3.25);
	ck_assert_int_eq(log_uses("PUT", 1, 0, NULL, 0), 1);
	ck_assert_int_eq(uses(1), 1);
}

START_TEST(test_apply_then_drop)
{
	apply_then_drop("{\"mode\": \"apply_then_drop\", \"count\": 1, "
	    "\"path_regex\": \"/use$\"}");
	ck_assert_int_eq((int)one_int("SELECT count(*) FROM spoolman_outbox WHERE "
	    "last_error IS NULL", 0, NULL), 2);
}
END_TEST

START_TEST(test_apply_then_reset)
{
	apply_then_drop("{\"mode\": \"apply_then_drop\", \"rst\": true, "
	    "\"count\": 1, \"path_regex\": \"/use$\"}");
}
END_TEST

/*
 * reliability.md E4: libcurl 7.88 re-sends a request silently when a reused keep-alive connection dies, and
 * reports success: after apply_then_drop the use would count twice.  Every request of the client has a
 * connection of its own, so the dropped PUT is applied once and reported as unknown.
 */
START_TEST(test_no_silent_resend)
{
	struct spoolman_spool	sp;
	double			after;

	ck_assert_int_eq(spoolman_get_spool(sm, 1, &sp, err), SPOOLMAN_OK);
	ck_assert(sp.used_weight == 0 && sp.density == 1.24 && sp.diameter == 1.75);
	ck_assert_int_eq(spoolman_use(sm, 1, SPOOLMAN_GRAMS, 0.5, &after, err),
	    SPOOLMAN_OK);
	ck_assert(after == 0.5);
	fault("{\"mode\": \"apply_then_drop\", \"count\": 1, \"path_regex\": "
	    "\"/use$\"}");
	ck_assert_int_eq(spoolman_use(sm, 1, SPOOLMAN_GRAMS, 2.5, &after, err),
	    SPOOLMAN_UNKNOWN);
	ck_assert_msg(strstr(err, "curl 52") != NULL, "%s", err);
	ck_assert_int_eq(uses(1), 2);
	ck_assert(used(1) == 3);
	ck_assert_int_eq(spoolman_use(sm, 1, SPOOLMAN_GRAMS, 0.25, &after, err),
	    SPOOLMAN_OK);
	ck_assert(after == 3.25);
	ck_assert_int_eq(spoolman_get_spool(sm, 1, &sp, err), SPOOLMAN_OK);
	ck_assert(sp.used_weight == 3.25);
	ck_assert_int_eq(log_uses("PUT", 1, 0, NULL, 0), 3);
	ck_assert_int_eq(uses(1), 3);
	ck_assert_int_eq(max_put_conn_req(), 1);
}
END_TEST

/* Applied at once, the answer delayed past the client's timeout (curl 28): settle, read back, done. */
START_TEST(test_timeout_after_apply)
{
	spoolman_set_timeouts(sm, 0, 400);
	charge(1, "2.5", "838");
	charge(1, "0.5", "168");
	fault("{\"mode\": \"delay\", \"delay_s\": 1.0, \"count\": 1, "
	    "\"path_regex\": \"/use$\"}");
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq((int)one_int("SELECT count(*) FROM spoolman_outbox WHERE "
	    "state = 'inflight' AND pre_used_weight = 0 AND lease_until > now() + "
	    "interval '20 s' AND last_error LIKE '%curl 28,%'", 0, NULL), 2);
	/* Still settling: nothing is sent for that spool, not even new rows. */
	charge(1, "1", "335");
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq(log_uses("PUT", 1, 0, NULL, 0), 1);
	fast_forward();
	ck_assert_int_eq(drain(), 3);
	ck_assert_int_eq((int)one_int("SELECT count(*) FROM spoolman_outbox WHERE "
	    "resolution = 'readback'", 0, NULL), 2);
	ck_assert(used(1) == 4 && ledger_grams(1) == 4);
	ck_assert_int_eq(log_uses("PUT", 1, 0, NULL, 0), 2);
	ck_assert_int_eq(uses(1), 2);
}
END_TEST

static int
put_applied(void)
{
	return log_uses("PUT", 2, 1, NULL, 0) == 1;
}

/* The server sleeps before applying: the use lands after the client gave up; the settle wait catches it. */
START_TEST(test_timeout_before_apply)
{
	spoolman_set_timeouts(sm, 0, 300);
	charge(2, "1.25", "419");
	fault("{\"mode\": \"delay\", \"delay_s\": 0.8, \"when\": \"before_apply\", "
	    "\"count\": 1, \"path_regex\": \"/use$\"}");
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq(count_state("inflight"), 1);
	wait_until(put_applied, "the delayed use to land");
	fast_forward();
	ck_assert_int_eq(drain(), 1);
	ck_assert_str_eq(one("SELECT resolution FROM spoolman_outbox", 0, NULL),
	    "readback");
	ck_assert(used(2) == 1.25);
	ck_assert_int_eq(log_uses("PUT", 2, 0, NULL, 0), 1);
}
END_TEST

START_TEST(test_404)
{
	charge(1, "1.5", "503");
	charge(1, "0.5", "168");
	charge(9, "1.25", "419");	/* a spool Spoolman never had */
	fault("{\"mode\": \"404\", \"path_regex\": \"/use$\"}");
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq(count_state("needs_review"), 3);
	ck_assert_int_eq((int)one_int("SELECT count(*) FROM spoolman_outbox WHERE "
	    "spool_id = 1 AND last_error LIKE '%HTTP 404: No spool with ID 1 "
	    "found.'", 0, NULL), 2);
	ck_assert_int_eq((int)one_int("SELECT count(*) FROM spoolman_outbox WHERE "
	    "spool_id = 9 AND last_error LIKE 'GET /spool/9: HTTP 404%'", 0, NULL),
	    1);
	ck_assert(used(1) == 0);
	ck_assert_int_eq(log_uses("PUT", 9, 0, NULL, 0), 0);
	/* Kept, shown, never dropped nor retried on its own. */
	ck_assert_str_eq(one("SELECT grams_needs_review || ' ' || grams_sent FROM "
	    "usage_by_spool WHERE spool_id = 1", 0, NULL), "2 0");
	fault("{\"mode\": \"none\"}");
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq(log_uses("PUT", 0, 0, NULL, 0), 1);
}
END_TEST

/* Puts every row in flight as a worker that crashed after claiming would leave them; pre NULL: never recorded. */
static void
crashed_claim(const char *pre, const char *lease)
{
	ok("WITH t AS (SELECT nextval('spoolman_claim_seq') AS tok) "
	    "UPDATE spoolman_outbox SET state = 'inflight', claim_token = t.tok, "
	    "claimed_by = 'crashed-worker', attempts = 1, "
	    "lease_until = now() + $2::interval, pre_used_weight = $1::float8, "
	    "sent_at = CASE WHEN $1 IS NULL THEN NULL ELSE now() END FROM t",
	    PARAMS(pre, lease));
}

/* Sends a use to the stand-in as the crashed worker did. */
static void
direct_use(int spool, const char *body)
{
	char	path[64], *s;
	long	st;

	snprintf(path, sizeof(path), "/api/v1/spool/%d/use", spool);
	s = http(api_port, "PUT", path, body, &st);
	ck_assert_msg(st == 200, "%s: %ld %s", path, st, s);
	free(s);
}

START_TEST(test_crash_applied)
{
	charge(2, "4.5", "1510");
	charge(2, "0.5", "168");
	crashed_claim("0", "-1 s");
	direct_use(2, "{\"use_weight\": 5.0}");
	ck_assert_int_eq(drain(), 2);
	ck_assert_str_eq(one("SELECT string_agg(DISTINCT state || ' ' || "
	    "resolution || ' ' || post_used_weight || ' ' || claimed_by, ',') "
	    "FROM spoolman_outbox", 0, NULL), "done readback 5 test-worker");
	ck_assert(used(2) == 5 && ledger_grams(2) == 5);
	ck_assert_int_eq(log_uses("PUT", 2, 0, NULL, 0), 1);	/* the crashed worker's */
	ck_assert_int_eq(uses(2), 1);
}
END_TEST

START_TEST(test_crash_not_applied)
{
	charge(2, "4.5", "1510");
	charge(2, "0.5", "168");
	crashed_claim("0", "-1 s");
	ck_assert_int_eq(drain(), 2);
	ck_assert_str_eq(one("SELECT string_agg(DISTINCT state || ' ' || "
	    "resolution || ' ' || attempts, ',') FROM spoolman_outbox", 0, NULL),
	    "done response 2");
	ck_assert(used(2) == 5 && ledger_grams(2) == 5);
	ck_assert_int_eq(log_uses("PUT", 2, 0, NULL, 0), 1);
	ck_assert_int_eq(uses(2), 1);
}
END_TEST

/* A claim that never recorded its pre-image was never sent: pending again at once, no read-back needed. */
START_TEST(test_crash_before_sending)
{
	charge(3, "0.25", "84");
	crashed_claim(NULL, "-1 s");
	ck_assert_int_eq(drain(), 1);
	ck_assert_str_eq(one("SELECT resolution FROM spoolman_outbox", 0, NULL),
	    "response");
	ck_assert(used(3) == 0.25);
	ck_assert_int_eq(uses(3), 1);
}
END_TEST

/* A live claim (lease not expired) fences its spool: nothing of that spool is claimed, other spools go on. */
START_TEST(test_live_claim_fences_spool)
{
	charge(1, "1.5", "503");
	crashed_claim("0", "30 s");
	charge(1, "0.5", "168");
	charge(2, "2", "671");
	ck_assert_int_eq(drain(), 1);
	ck_assert_int_eq(count_state("inflight"), 1);
	ck_assert_int_eq(count_state("pending"), 1);
	ck_assert(used(1) == 0 && used(2) == 2);
	ck_assert_int_eq(log_uses("PUT", 1, 0, NULL, 0), 0);
}
END_TEST

/* The spool moved by something other than the use: needs a person, and nothing is resent. */
START_TEST(test_ambiguous)
{
	charge(2, "4.5", "1510");
	charge(2, "0.5", "168");
	crashed_claim("0", "-1 s");
	direct_use(2, "{\"use_weight\": 7.0}");	/* someone else's */
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq(count_state("needs_review"), 2);
	ck_assert_int_eq((int)one_int("SELECT count(*) FROM spoolman_outbox WHERE "
	    "post_used_weight = 7 AND last_error LIKE 'read-back ambiguous: "
	    "used_weight was 0 before sending 5 g%'", 0, NULL), 2);
	ck_assert(used(2) == 7);
	ck_assert_int_eq(log_uses("PUT", 2, 0, NULL, 0), 1);
}
END_TEST

/* Rows with only a length send use_length; the spool's weight follows Spoolman's formula exactly. */
START_TEST(test_length_only)
{
	char	body[256];
	double	w1 = spoolman_weight_from_length(1240, 1.75, 1.24);
	double	w2 = spoolman_weight_from_length(500.5, 1.75, 1.24);
	double	w3 = spoolman_weight_from_length(2000, 1.75, 1.27);

	charge(1, NULL, "1000.5");
	charge(1, NULL, "250.25");
	charge(1, NULL, "-10.75");
	charge(2, "2.5", "838");
	charge(2, NULL, "500.5");
	ck_assert_int_eq(drain(), 5);
	ck_assert_int_eq(log_uses("PUT", 1, 0, body, sizeof(body)), 1);
	ck_assert_str_eq(body, "{\"use_length\":1240.0}");
	ck_assert(used(1) == w1);
	/* A spool with both kinds: one request per kind, never a mix. */
	ck_assert_int_eq(log_uses("PUT", 2, 0, body, sizeof(body)), 2);
	ck_assert_str_eq(body, "{\"use_length\":500.5}");
	ck_assert(used(2) == 2.5 + w2);
	/* The read-back weighs the length with the spool's own filament (PETG, 1.27). */
	charge(3, NULL, "2000");
	fault("{\"mode\": \"apply_then_drop\", \"count\": 1, \"path_regex\": "
	    "\"/use$\"}");
	ck_assert_int_eq(drain(), 1);
	ck_assert_str_eq(one("SELECT resolution FROM spoolman_outbox WHERE "
	    "spool_id = 3", 0, NULL), "readback");
	ck_assert(used(3) == w3);
	ck_assert_int_eq(uses(3), 1);
}
END_TEST

/* Un-use below 0 clamps in Spoolman; the read-back rule knows. */
START_TEST(test_clamp)
{
	charge(4, "-2.5", "-838");
	ck_assert_int_eq(drain(), 1);
	ck_assert(used(4) == 0);
	ck_assert_str_eq(one("SELECT post_used_weight FROM spoolman_outbox", 0,
	    NULL), "0");
	charge(4, "-1.25", "-419");
	fault("{\"mode\": \"apply_then_drop\", \"count\": 1, \"path_regex\": "
	    "\"/use$\"}");
	ck_assert_int_eq(drain(), 1);
	ck_assert_int_eq((int)one_int("SELECT count(*) FROM spoolman_outbox WHERE "
	    "resolution = 'readback'", 0, NULL), 1);
	charge(4, "3", "1006");
	ck_assert_int_eq(drain(), 1);
	ck_assert(used(4) == 3);
}
END_TEST

/* Absurd amounts never leave: not through the drain, not through the client. */
START_TEST(test_refused_locally)
{
	double	after;

	ok("INSERT INTO spoolman_outbox (spool_id, use_mm, use_g) VALUES "
	    "(1, 1000, 200000)", 0, NULL);
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq((int)one_int("SELECT count(*) FROM spoolman_outbox WHERE "
	    "state = 'needs_review' AND last_error LIKE 'refused locally%'", 0,
	    NULL), 1);
	ck_assert_int_eq(spoolman_use(sm, 1, SPOOLMAN_GRAMS, NAN, &after, err),
	    SPOOLMAN_REFUSED);
	ck_assert_int_eq(spoolman_use(sm, 1, SPOOLMAN_GRAMS, INFINITY, &after,
	    err), SPOOLMAN_REFUSED);
	ck_assert_int_eq(spoolman_use(sm, 1, SPOOLMAN_GRAMS, -1e9, &after, err),
	    SPOOLMAN_REFUSED);
	ck_assert_int_eq(spoolman_use(sm, 1, SPOOLMAN_MM, 1e300, &after, err),
	    SPOOLMAN_REFUSED);
	ck_assert_int_eq(spoolman_use(sm, 0, SPOOLMAN_GRAMS, 1, &after, err),
	    SPOOLMAN_REFUSED);
	ck_assert(isnan(after));
	ck_assert_int_eq(log_uses("PUT", 0, 0, NULL, 0), 0);
	ck_assert(used(1) == 0);
}
END_TEST

static double
used_at(long port, int spool)
{
	long	 st;
	char	*s = http(port, "GET", "/_control/state", NULL, &st);
	json_t	*j = json_loads(s, 0, NULL), *e;
	double	 w = NAN;
	size_t	 i;

	json_array_foreach(json_object_get(j, "spools"), i, e)
		if (json_integer_value(json_object_get(e, "id")) == spool)
			w = json_number_value(json_object_get(e, "used_weight"));
	json_decref(j);
	free(s);
	return w;
}

/* Basic auth from the settings; a wrong password (401) is not sent, so it waits for the fix, never for a person. */
START_TEST(test_basic_auth)
{
	long	 st;

	free(http(auth_port, "POST", "/_control/reset", "{}", &st));
	set_url(auth_port, "u", "wrong");
	ck_assert_int_eq(spoolman_reload(db, NULL, &sm, err), 1);
	ck_assert_int_eq(spoolman_reload(db, NULL, &sm, err), 0);
	charge(1, "1.5", "503");
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq((int)one_int("SELECT count(*) FROM spoolman_outbox WHERE "
	    "state = 'pending' AND last_error LIKE '%HTTP 401%'", 0, NULL), 1);
	set_url(auth_port, "u", "p");
	ck_assert_int_eq(spoolman_reload(db, NULL, &sm, err), 1);
	fast_forward();
	ck_assert_int_eq(drain(), 1);
	ck_assert(used_at(auth_port, 1) == 1.5);
	ck_assert(used(1) == 0);
	/* No URL: no client. */
	ok("DELETE FROM settings", 0, NULL);
	ck_assert_int_eq(spoolman_reload(db, NULL, &sm, err), 1);
	ck_assert_ptr_null(sm);
}
END_TEST

/* An encrypted spoolman_password is decrypted with the key; without it, or under another purpose, it is refused. */
START_TEST(test_basic_auth_encrypted)
{
	struct secret_key	*key;
	char			 dir[] = "/tmp/check_outbox.XXXXXX", path[64], *enc;
	long			 st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret.key", dir);
	ck_assert_msg(secret_key_create(path, err) == 0, "%s", err);
	ck_assert_msg(secret_key_load(path, &key, err) == 0, "%s", err);
	unlink(path);
	rmdir(dir);
	free(http(auth_port, "POST", "/_control/reset", "{}", &st));
	ck_assert_int_eq(secret_encrypt(key, SECRET_ACCESS_CODE, "p", &enc, err), 0);
	set_url(auth_port, "u", enc);
	free(enc);
	ck_assert_int_eq(spoolman_reload(db, key, &sm, err), -1);
	ck_assert_str_eq(err, "the setting spoolman_password: cannot decrypt settings.spoolman_password: "
	    "wrong key file or tampered value");
	ck_assert_int_eq(secret_encrypt(key, SECRET_SPOOLMAN_PASSWORD, "p", &enc, err), 0);
	set_url(auth_port, "u", enc);
	free(enc);
	ck_assert_int_eq(spoolman_reload(db, NULL, &sm, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no key file was loaded"));
	ck_assert_int_eq(spoolman_reload(db, key, &sm, err), 1);
	ck_assert_int_eq(spoolman_reload(db, key, &sm, err), 0);
	charge(1, "1.5", "503");
	ck_assert_int_eq(drain(), 1);
	ck_assert(used_at(auth_port, 1) == 1.5);
	secret_key_free(key);
}
END_TEST

/* A done use brings the spool's cached copy (sql/0005 spool_cache) up to date; spools without a row get none. */
START_TEST(test_spool_cache)
{
	ok("INSERT INTO spool_cache (spool_id, spool) VALUES (1, '{\"id\": 1, \"initial_weight\": 1000, "
	    "\"used_weight\": 0, \"remaining_weight\": 1000, \"used_length\": 0, \"remaining_length\": 1, "
	    "\"filament\": {\"name\": \"PLA\", \"density\": 1.24, \"diameter\": 1.75}}'), "
	    "(3, '{\"id\": 3, \"used_weight\": 7, \"filament\": {\"weight\": 250}}'), "
	    "(4, '{\"id\": 4, \"used_weight\": 9}')", 0, NULL);
	ok("UPDATE spool_cache SET fetched_at = now() - interval '1 day'", 0, NULL);
	charge(1, "1.5", "503");
	charge(1, "2.25", "754.5");
	charge(2, "10", "3353");
	charge(3, "0.125", "41");
	ck_assert_int_eq(drain(), 4);
	ck_assert_str_eq(one("SELECT concat_ws(' ', spool->'used_weight', spool->'remaining_weight', "
	    "spool#>'{filament,name}', round((spool->>'used_length')::numeric, 6), "
	    "round((spool->>'remaining_length')::numeric, 3)) FROM spool_cache WHERE spool_id = 1", 0, NULL),
	    "3.75 996.25 \"PLA\" 1257.313573 334026.306");
	/* No initial weight of its own: the filament's. */
	ck_assert_str_eq(one("SELECT concat_ws(' ', spool->'used_weight', spool->'remaining_weight', "
	    "spool ? 'used_length') FROM spool_cache WHERE spool_id = 3", 0, NULL), "0.125 249.875 f");
	ck_assert_str_eq(one("SELECT string_agg(spool_id || ':' || (fetched_at > now() - interval '1 hour'), "
	    "',' ORDER BY spool_id) FROM spool_cache", 0, NULL), "1:true,3:true,4:false");
	ck_assert_str_eq(one("SELECT spool::text FROM spool_cache WHERE spool_id = 4", 0, NULL),
	    "{\"id\": 4, \"used_weight\": 9}");
}
END_TEST

/* ---- the thread ---- */

static int
all_done(void)
{
	return count_state("done") == (int)one_int("SELECT count(*) FROM "
	    "spoolman_outbox", 0, NULL);
}

/* Seconds since t0 on the monotonic clock. */
static double
since(const struct timespec *t0)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int
logged_unset(void)
{
	FILE	*f = fopen(capture_path, "r");
	char	 line[512];
	int	 found = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		found |= strstr(line, "spoolman_url is not set") != NULL;
	fclose(f);
	return found;
}

START_TEST(test_thread)
{
	struct outbox_ctx	ctx;
	struct timespec		t0;
	atomic_int		stop = 0;
	pthread_t		tid;
	char			*logged;

	memset(&ctx, 0, sizeof(ctx));
	ctx.conninfo = conninfo;
	ctx.worker_id = "test-thread";
	ctx.stop = &stop;
	ctx.poll_ms = 5000;
	capture_start();
	ck_assert_int_eq(pthread_create(&tid, NULL, outbox_thread_main, &ctx), 0);
	charge(1, "1.5", "503");
	wait_until(all_done, "the first row");
	/* Woken by the NOTIFY of the commit, well before the 5 s poll. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	charge(2, "2.5", "838");
	wait_until(all_done, "a row after the NOTIFY");
	ck_assert_msg(since(&t0) < 2, "took %.3f s", since(&t0));
	/* Settings follow their NOTIFY: unset, nothing is sent; set again, it is. */
	ok("DELETE FROM settings WHERE key = 'spoolman_url'", 0, NULL);
	wait_until(logged_unset, "the thread to see spoolman_url unset");
	charge(3, "0.5", "168");
	set_url(api_port, NULL, NULL);
	wait_until(all_done, "a row after the URL came back");
	/* A lease that falls due wakes it too (the claim of a "crashed" worker that never sent). */
	charge(4, "0.75", "251");
	ok("WITH t AS (SELECT nextval('spoolman_claim_seq') AS tok) "
	    "UPDATE spoolman_outbox SET state = 'inflight', claim_token = t.tok, "
	    "claimed_by = 'crashed-worker', lease_until = now() + "
	    "interval '300 ms' FROM t WHERE state = 'pending'", 0, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	wait_until(all_done, "the expired lease");
	ck_assert_msg(since(&t0) < 2.5, "took %.3f s", since(&t0));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&stop, 1);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert_msg(since(&t0) < 1, "stopping took %.3f s", since(&t0));
	logged = capture_end();
	ck_assert_int_eq(count_substr(logged, "sending to Spoolman at "), 2);
	free(logged);
	ck_assert(used(1) == 1.5 && used(2) == 2.5 && used(3) == 0.5 &&
	    used(4) == 0.75);
	ck_assert_int_eq(log_uses("PUT", 0, 0, NULL, 0), 4);
}
END_TEST

/* ---- two drains at once, rows arriving meanwhile ---- */

#define CONC_ROWS	200

struct conc {
	atomic_int	 inserting;
	atomic_int	 failures;
	char		 err[ERRBUF_LEN];
	const char	*worker;
};

static void
conc_fail(struct conc *c, const char *e)
{
	snprintf(c->err, sizeof(c->err), "%s", e);
	atomic_fetch_add(&c->failures, 1);
}

static void *
conc_insert(void *arg)
{
	struct conc	*c = arg;
	struct db	*d;
	char		 e[ERRBUF_LEN], layer[16], sp[16], g[32], job[24];
	int		 i;

	if (db_open(conninfo, &d, e) == -1) {
		conc_fail(c, e);
		atomic_store(&c->inserting, 0);
		return NULL;
	}
	snprintf(job, sizeof(job), "%lld", job_id);
	for (i = 0; i < CONC_ROWS; i++) {
		const char *p[4] = { job, layer, sp, g };

		snprintf(layer, sizeof(layer), "%d", 10000 + i);
		snprintf(sp, sizeof(sp), "%d", 1 + i % 4);
		snprintf(g, sizeof(g), "%g", 0.125 * (1 + i % 7));
		if (db_exec(d, "WITH l AS (INSERT INTO usage_ledger (job_id, layer, "
		    "filament_index, spool_id, mm, grams) VALUES ($1::bigint, "
		    "$2::integer, 0, $3::integer, 100, $4::float8) RETURNING id) "
		    "INSERT INTO spoolman_outbox (ledger_id) SELECT id FROM l", 4, p,
		    NULL, e) == -1)
			conc_fail(c, e);
	}
	db_close(d);
	atomic_store(&c->inserting, 0);
	return NULL;
}

static void *
conc_drain(void *arg)
{
	struct conc		*c = arg;
	struct db		*d;
	struct spoolman		*s = NULL;
	struct db_result	*r;
	struct timespec		 ts = { 0, 1000 * 1000 };
	char			 e[ERRBUF_LEN];
	int			 sent, left = 1, guard;

	if (db_open(conninfo, &d, e) == -1 || spoolman_reload(d, NULL, &s, e) != 1) {
		conc_fail(c, e);
		db_close(d);
		return NULL;
	}
	for (guard = 0; guard < 20000 && left; guard++) {
		/* Rows committed before this flag dropped are seen by the count below. */
		int inserting = atomic_load(&c->inserting);

		if (outbox_drain_once(d, s, c->worker, &sent, e) == -1 ||
		    db_exec(d, "SELECT count(*) FROM spoolman_outbox WHERE state "
		    "IN ('pending', 'inflight')", 0, NULL, &r, e) == -1) {
			conc_fail(c, e);
			break;
		}
		left = inserting || strcmp(db_result_get(r, 0, 0), "0") != 0;
		db_result_free(r);
		if (sent == 0)
			nanosleep(&ts, NULL);
	}
	spoolman_free(s);
	db_close(d);
	return NULL;
}

START_TEST(test_concurrent)
{
	struct conc	a, b;
	pthread_t	ta, tb;
	int		spool;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.worker = "drain-a";
	b.worker = "drain-b";
	atomic_store(&a.inserting, 1);
	atomic_store(&b.inserting, 1);
	ck_assert_int_eq(pthread_create(&ta, NULL, conc_drain, &a), 0);
	ck_assert_int_eq(pthread_create(&tb, NULL, conc_drain, &b), 0);
	conc_insert(&a);
	atomic_store(&b.inserting, 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ck_assert_msg(a.failures == 0, "a: %s", a.err);
	ck_assert_msg(b.failures == 0, "b: %s", b.err);
	ck_assert_msg(count_state("done") == CONC_ROWS, "states: %s", one("SELECT "
	    "string_agg(state || ' ' || n, ', ') FROM (SELECT state, count(*) AS n "
	    "FROM spoolman_outbox GROUP BY state) s", 0, NULL));
	ck_assert_int_eq((int)one_int("SELECT max(attempts) FROM spoolman_outbox",
	    0, NULL), 1);
	for (spool = 1; spool <= 4; spool++) {
		char	sp[16];

		snprintf(sp, sizeof(sp), "%d", spool);
		ck_assert_msg(used(spool) == ledger_grams(spool), "spool %d: %.17g "
		    "in Spoolman, %.17g in the ledger", spool, used(spool),
		    ledger_grams(spool));
		/* One applied request per claim, never two. */
		ck_assert_int_eq(uses(spool), (int)one_int("SELECT count(DISTINCT "
		    "claim_token) FROM spoolman_outbox WHERE spool_id = $1::integer",
		    PARAMS(sp)));
	}
	ck_assert_int_eq((int)one_int("SELECT count(DISTINCT claimed_by) FROM "
	    "spoolman_outbox", 0, NULL) >= 1, 1);
}
END_TEST

/* Two drains settle four expired multi-row claims at once: each claim settled once, nothing doubled. */
static pthread_barrier_t	takeover_barrier;

static void *
takeover_drain(void *arg)
{
	struct conc		*c = arg;
	struct db		*d;
	struct spoolman		*s = NULL;
	char			 e[ERRBUF_LEN];
	int			 sent, i;

	if (db_open(conninfo, &d, e) == -1 || spoolman_reload(d, NULL, &s, e) != 1)
		conc_fail(c, e);
	pthread_barrier_wait(&takeover_barrier);
	for (i = 0; i < 3 && c->failures == 0; i++)
		if (outbox_drain_once(d, s, c->worker, &sent, e) == -1)
			conc_fail(c, e);
	spoolman_free(s);
	db_close(d);
	return NULL;
}

START_TEST(test_concurrent_takeover)
{
	struct conc	a, b;
	pthread_t	ta, tb;
	char		sp[16];
	int		spool, i;

	for (spool = 1; spool <= 4; spool++) {
		for (i = 0; i < 10; i++)
			charge(spool, "0.25", "84");
		snprintf(sp, sizeof(sp), "%d", spool);
		ok("WITH t AS (SELECT nextval('spoolman_claim_seq') AS tok) "
		    "UPDATE spoolman_outbox SET state = 'inflight', claim_token = "
		    "t.tok, claimed_by = 'crashed-worker', attempts = 1, lease_until = "
		    "now() - interval '1 s', pre_used_weight = 0, sent_at = now() "
		    "FROM t WHERE spool_id = $1::integer", PARAMS(sp));
	}
	direct_use(1, "{\"use_weight\": 2.5}");
	direct_use(2, "{\"use_weight\": 2.5}");
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.worker = "drain-a";
	b.worker = "drain-b";
	ck_assert_int_eq(pthread_barrier_init(&takeover_barrier, NULL, 2), 0);
	ck_assert_int_eq(pthread_create(&ta, NULL, takeover_drain, &a), 0);
	ck_assert_int_eq(pthread_create(&tb, NULL, takeover_drain, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&takeover_barrier);
	ck_assert_msg(a.failures == 0, "a: %s", a.err);
	ck_assert_msg(b.failures == 0, "b: %s", b.err);
	ck_assert_int_eq(count_state("done"), 40);
	ck_assert_str_eq(one("SELECT string_agg(spool_id || ' ' || resolution, ','"
	    " ORDER BY spool_id) FROM (SELECT DISTINCT spool_id, resolution FROM "
	    "spoolman_outbox) s", 0, NULL),
	    "1 readback,2 readback,3 response,4 response");
	for (spool = 1; spool <= 4; spool++) {
		ck_assert(used(spool) == 2.5 && ledger_grams(spool) == 2.5);
		ck_assert_int_eq(uses(spool), 1);
	}
}
END_TEST

static Suite *
outbox_suite(void)
{
	Suite		*s = suite_create("outbox");
	TCase		*tc;
	size_t		 i;
	const struct {
		const char	*name;
		const TTest	*test;
	} tx[] = {
		{ "normal", test_normal },
		{ "coalesce", test_coalesce },
		{ "spoolman_down", test_spoolman_down },
		{ "refuse_use", test_refuse_use },
		{ "refuse_all", test_refuse_all },
		{ "500", test_500 },
		{ "apply_then_drop", test_apply_then_drop },
		{ "apply_then_reset", test_apply_then_reset },
		{ "no_silent_resend", test_no_silent_resend },
		{ "timeout_after_apply", test_timeout_after_apply },
		{ "timeout_before_apply", test_timeout_before_apply },
		{ "404", test_404 },
		{ "crash_applied", test_crash_applied },
		{ "crash_not_applied", test_crash_not_applied },
		{ "crash_before_sending", test_crash_before_sending },
		{ "live_claim", test_live_claim_fences_spool },
		{ "ambiguous", test_ambiguous },
		{ "length_only", test_length_only },
		{ "clamp", test_clamp },
		{ "refused_locally", test_refused_locally },
		{ "basic_auth", test_basic_auth },
		{ "basic_auth_encrypted", test_basic_auth_encrypted },
		{ "spool_cache", test_spool_cache },
		{ "thread", test_thread },
		{ "concurrent", test_concurrent },
		{ "concurrent_takeover", test_concurrent_takeover },
	};

	tc = tcase_create("rules");
	tcase_add_test(tc, test_judge);
	tcase_add_test(tc, test_backoff);
	suite_add_tcase(s, tc);
	for (i = 0; i < sizeof(tx) / sizeof(tx[0]); i++)
		suite_add_tcase(s, ck_tcase(tx[i].name, tx[i].test, setup,
		    teardown, 120));
	return s;
}

static long
port_env(const char *name)
{
	const char	*v = getenv(name);
	char		*end;
	long		 p;

	if (v == NULL || *v == '\0')
		return -1;
	p = strtol(v, &end, 10);
	return *end == '\0' && p > 0 && p < 65536 ? p : -1;
}

int
main(void)
{
	int	st;

	conninfo = getenv("SK_TEST_DATABASE");
	api_port = port_env("SK_TEST_SPOOLMAN_PORT");
	ctl_port = port_env("SK_TEST_CONTROL_PORT");
	auth_port = port_env("SK_TEST_AUTH_PORT");
	if (conninfo == NULL || *conninfo == '\0' || api_port < 0 ||
	    ctl_port < 0 || auth_port < 0) {
		fprintf(stderr, "check_outbox: SK_TEST_DATABASE, "
		    "SK_TEST_SPOOLMAN_PORT, SK_TEST_CONTROL_PORT and "
		    "SK_TEST_AUTH_PORT must be set (run tests/worker/"
		    "test_outbox.sh)\n");
		return 1;
	}
	if (spoolman_global_init(err) == -1) {
		fprintf(stderr, "check_outbox: %s\n", err);
		return 1;
	}
	st = ck_run(outbox_suite());
	spoolman_global_cleanup();
	return st;
}
