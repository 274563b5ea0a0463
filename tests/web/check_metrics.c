/* check_metrics.c: handler tests of GET /metrics: the figures against a database state made here, the HTTP counters. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "webtest.h"
#include "../harness/ckrun.h"

static struct app	*app;

static void
setup(void)
{
	app = wt_app();
	wt_sql(app, "TRUNCATE worker_heartbeats, worker_metrics", 0, NULL);
}

static void
teardown(void)
{
	wt_app_free(app);
	app = NULL;
}

static long long
sql_int(const char *sql, int n, const char *const *p)
{
	const char	*v = wt_sql(app, sql, n, p);

	ck_assert_ptr_nonnull(v);
	return atoll(v);
}

/* GET path anonymously; asserts the status and the text format's Content-Type; the body (new: free()). */
static char *
scrape(const char *path, int want)
{
	struct http_request	 req;
	struct http_response	 res;
	char			*body;

	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = path;
	req.host = "localhost";
	req.remote_addr = "127.0.0.1";
	http_response_init(&res);
	app_handle(app, &req, &res);
	ck_assert_msg(res.status == want, "GET %s: %d, want %d: %.*s", path, res.status, want, (int)res.body_len,
	    res.body != NULL ? res.body : "");
	if (want == 200)
		ck_assert_str_eq(res.content_type, METRICS_CONTENT_TYPE);
	body = strndup(res.body != NULL ? res.body : "", res.body_len);
	http_response_free(&res);
	return body;
}

/*
 * The value of the sample "series" (name with its labels exactly as printed) in text; NAN when absent.  Also
 * asserts that a # TYPE line precedes the series' metric family.
 */
static double
value(const char *text, const char *series)
{
	const char	*p = text;
	size_t		 n = strlen(series);

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return NAN;
}

static void
expect(const char *text, const char *series, double want)
{
	double	 got = value(text, series);

	ck_assert_msg(!isnan(got), "%s: not in the answer:\n%s", series, text);
	ck_assert_msg(fabs(got - want) < 1e-6, "%s: %.17g, want %.17g", series, got, want);
}

/* The state every figure is checked against (see the expectations in db_figures). */
static void
make_state(void)
{
	long long	 p1, p2, j, l;
	char		 b1[24], b2[24], b3[24];
	const char	*p[3] = { b1, b2, b3 };

	p1 = sql_int("INSERT INTO printers (name, host, serial, access_code) VALUES ('one', '127.0.0.1', 'S1', "
	    "'12345678') RETURNING id", 0, NULL);
	p2 = sql_int("INSERT INTO printers (name, host, serial, access_code) VALUES ('two', '127.0.0.1', 'S2', "
	    "'12345678') RETURNING id", 0, NULL);
	sql_int("INSERT INTO printers (name, host, serial, access_code, enabled) VALUES ('off', '127.0.0.1', 'S3', "
	    "'12345678', false) RETURNING id", 0, NULL);
	snprintf(b1, sizeof(b1), "%lld", p1);
	j = sql_int("INSERT INTO print_jobs (printer_id, job_key, state, layer_count) VALUES ($1::bigint, 'k1', "
	    "'running', 10) RETURNING id", 1, p);
	snprintf(b1, sizeof(b1), "%lld", j);
	wt_sql(app, "INSERT INTO job_filaments (job_id, filament_index, type, density, mm, grams) VALUES "
	    "($1::bigint, 0, 'PLA', 1.24, 100, 0.3), ($1::bigint, 1, 'PETG', NULL, 50, NULL)", 1, p);
	/* Layers 0 and 1 with both filaments (2 layers, 4 rows), layer 2 a partial charge (not a whole layer). */
	wt_sql(app, "INSERT INTO usage_ledger (job_id, layer, filament_index, spool_id, mm, grams) VALUES "
	    "($1::bigint, 0, 0, 7, 1000, 2.5), ($1::bigint, 0, 1, NULL, 500, NULL), "
	    "($1::bigint, 1, 0, 7, 250.5, 0.75), ($1::bigint, 1, 1, 8, 49.5, 0.25)", 1, p);
	l = sql_int("INSERT INTO usage_ledger (job_id, layer, filament_index, spool_id, mm, grams, kind, percent) "
	    "VALUES ($1::bigint, 2, 0, 7, 100, 0.5, 'partial', 30) RETURNING id", 1, p);
	(void)l;
	/* Outbox: one pending created 100 s ago, one inflight, one needs_review, one done. */
	wt_sql(app, "INSERT INTO spoolman_outbox (spool_id, use_mm, use_g, created_at) VALUES "
	    "(7, 10, 0.1, now() - interval '100 seconds')", 0, NULL);
	wt_sql(app, "INSERT INTO spoolman_outbox (spool_id, use_mm, use_g, state, claim_token, lease_until, "
	    "created_at) VALUES (8, 10, 0.1, 'inflight', nextval('spoolman_claim_seq'), now() + interval '1 hour', "
	    "now() - interval '10 seconds')", 0, NULL);
	wt_sql(app, "INSERT INTO spoolman_outbox (spool_id, use_mm, state, last_error, created_at) VALUES "
	    "(9, 10, 'needs_review', 'HTTP 404', now() - interval '1 day')", 0, NULL);
	wt_sql(app, "INSERT INTO spoolman_outbox (spool_id, use_mm, state, done_at, resolution, created_at) VALUES "
	    "(9, 10, 'done', now(), 'response', now() - interval '2 days')", 0, NULL);
	wt_sql(app, "DELETE FROM spool_patches", 0, NULL);
	wt_sql(app, "INSERT INTO spool_patches (spool_id, location, reason, state) VALUES (9, 'Shelf', 'left', "
	    "'needs_review'), (9, 'Shelf', 'left', 'needs_review'), (9, 'Shelf', 'left', 'superseded')", 0, NULL);
	/* Workers: w1 alive, w2 silent for 5 minutes; each says one printer is connected. */
	wt_sql(app, "INSERT INTO worker_heartbeats (worker_id, seen_at) VALUES ('w1', now()), "
	    "('w2', now() - interval '5 minutes')", 0, NULL);
	snprintf(b1, sizeof(b1), "%lld", p1);
	snprintf(b2, sizeof(b2), "%lld", p2);
	wt_sql(app, "INSERT INTO printer_status (printer_id, connected, worker_id) VALUES ($1::bigint, true, 'w1'), "
	    "($2::bigint, true, 'w2')", 2, p);
	wt_sql(app, "INSERT INTO worker_metrics (worker_id, counters) VALUES "
	    "('w1', '{\"mqtt_connects\": 3, \"mqtt_reconnects\": 2, \"spoolman_requests\": 40, "
	    "\"spoolman_errors\": 5}'), "
	    "('w2', '{\"mqtt_connects\": 4, \"mqtt_disconnects\": 1, \"mqtt_refused\": 6, \"future_key\": 9}')",
	    0, NULL);
}

START_TEST(db_figures)
{
	char	*t;
	double	 age;

	make_state();
	t = scrape("/metrics", 200);
	expect(t, "spoolkeeper_database_up", 1);
	expect(t, "spoolkeeper_printers", 2);
	expect(t, "spoolkeeper_printers_connected", 1);
	expect(t, "spoolkeeper_workers", 1);
	expect(t, "spoolkeeper_layers_charged_total", 2);
	expect(t, "spoolkeeper_grams_spent_total", 2.5 + 0.75 + 0.25 + 0.5);
	expect(t, "spoolkeeper_filament_spent_meters_total", (1000 + 500 + 250.5 + 49.5 + 100) / 1000.0);
	expect(t, "spoolkeeper_outbox_backlog", 2);
	age = value(t, "spoolkeeper_outbox_oldest_age_seconds");
	ck_assert_msg(age >= 100 && age < 160, "oldest age %g, want about 100 s", age);
	expect(t, "spoolkeeper_outbox_needs_review", 1);
	expect(t, "spoolkeeper_location_updates_needs_review", 2);
	expect(t, "spoolkeeper_mqtt_connects_total", 7);
	expect(t, "spoolkeeper_mqtt_reconnects_total", 2);
	expect(t, "spoolkeeper_mqtt_disconnects_total", 1);
	expect(t, "spoolkeeper_mqtt_login_refused_total", 6);
	expect(t, "spoolkeeper_spoolman_requests_total", 40);
	expect(t, "spoolkeeper_spoolman_errors_total", 5);
	ck_assert_ptr_null(strstr(t, "future_key"));
	ck_assert_ptr_nonnull(strstr(t, "# TYPE spoolkeeper_layers_charged_total counter\n"));
	ck_assert_ptr_nonnull(strstr(t, "# TYPE spoolkeeper_outbox_backlog gauge\n"));
	ck_assert_ptr_nonnull(strstr(t, "# HELP spoolkeeper_grams_spent_total "));
	free(t);
}
END_TEST

START_TEST(empty_database)
{
	char	*t = scrape("/metrics", 200);

	expect(t, "spoolkeeper_database_up", 1);
	expect(t, "spoolkeeper_printers", 0);
	expect(t, "spoolkeeper_layers_charged_total", 0);
	expect(t, "spoolkeeper_grams_spent_total", 0);
	expect(t, "spoolkeeper_outbox_backlog", 0);
	expect(t, "spoolkeeper_outbox_oldest_age_seconds", 0);
	expect(t, "spoolkeeper_mqtt_connects_total", 0);
	expect(t, "spoolkeeper_spoolman_errors_total", 0);
	free(t);
}
END_TEST

START_TEST(http_counters)
{
	struct wt_reply	 r;
	char		*t;
	int		 i;
	double		 prev = -1, v;
	char		 series[256];
	static const char *const le[] = { "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	    "0.5", "1", "2.5", "10", "+Inf" };

	for (i = 0; i < 3; i++) {
		r = wt_call(app, NULL, "GET", "/api/v1/health", NULL);
		ck_assert_int_eq(r.status, 200);
		wt_free(&r);
	}
	r = wt_call(app, NULL, "GET", "/api/v1/no-such-thing", NULL);
	ck_assert_int_eq(r.status, 404);
	wt_free(&r);
	r = wt_call(app, NULL, "GET", "/api/v1/me", NULL);
	ck_assert_int_eq(r.status, 401);
	wt_free(&r);
	t = scrape("/metrics", 200);
	expect(t, "spoolkeeper_http_requests_total{route=\"/api/v1/health\",method=\"GET\",code=\"2xx\"}", 3);
	expect(t, "spoolkeeper_http_requests_total{route=\"other\",method=\"any\",code=\"4xx\"}", 1);
	expect(t, "spoolkeeper_http_requests_total{route=\"/api/v1/me\",method=\"GET\",code=\"4xx\"}", 1);
	ck_assert_ptr_nonnull(strstr(t, "# TYPE spoolkeeper_http_request_duration_seconds histogram\n"));
	/* Buckets cumulative and ending with +Inf = _count. */
	for (i = 0; i < 13; i++) {
		snprintf(series, sizeof(series), "spoolkeeper_http_request_duration_seconds_bucket{route=\"/api/v1/"
		    "health\",method=\"GET\",le=\"%s\"}", le[i]);
		v = value(t, series);
		ck_assert_msg(!isnan(v), "%s missing", series);
		ck_assert_msg(v >= prev, "%s: %g after %g", series, v, prev);
		prev = v;
	}
	ck_assert(prev == 3);
	expect(t, "spoolkeeper_http_request_duration_seconds_count{route=\"/api/v1/health\",method=\"GET\"}", 3);
	v = value(t, "spoolkeeper_http_request_duration_seconds_sum{route=\"/api/v1/health\",method=\"GET\"}");
	ck_assert_msg(v > 0 && v < 30, "sum %g", v);
	free(t);
	/* The scrape itself is counted once it has been answered. */
	t = scrape("/metrics", 200);
	expect(t, "spoolkeeper_http_requests_total{route=\"/metrics\",method=\"GET\",code=\"2xx\"}", 1);
	free(t);
}
END_TEST

START_TEST(only_at_the_root)
{
	char	*t;

	free(scrape("/api/v1/metrics", 404));
	free(scrape("/metrics/", 404));
	t = scrape("/metrics", 200);
	free(t);
}
END_TEST

START_TEST(database_down)
{
	struct app	*down;
	struct app	*keep = app;
	char		*t;

	setenv("PGCONNECT_TIMEOUT", "2", 1);
	down = app_new("host=127.0.0.1 port=1 dbname=none connect_timeout=2", NULL);
	app = down;
	t = scrape("/metrics", 200);
	app = keep;
	expect(t, "spoolkeeper_database_up", 0);
	ck_assert_ptr_null(strstr(t, "spoolkeeper_layers_charged_total"));
	ck_assert_ptr_nonnull(strstr(t, "# TYPE spoolkeeper_http_requests_total counter\n"));
	free(t);
	app_free(down);
}
END_TEST

START_TEST(label_escaping)
{
	struct metrics_text	 t = { NULL, 0, 0 };

	metrics_label(&t, "a\\b\"c\nd{}");
	ck_assert_str_eq(t.buf, "a\\\\b\\\"c\\nd{}");
	metrics_head(&t, "x_total", "counter", "help");
	ck_assert_ptr_nonnull(strstr(t.buf, "# HELP x_total help\n# TYPE x_total counter\n"));
	metrics_text_free(&t);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite	*s = suite_create("metrics");

	suite_add_tcase(s, ck_tcase("db_figures", db_figures, setup, teardown, 30));
	suite_add_tcase(s, ck_tcase("empty_database", empty_database, setup, teardown, 30));
	suite_add_tcase(s, ck_tcase("http_counters", http_counters, setup, teardown, 30));
	suite_add_tcase(s, ck_tcase("only_at_the_root", only_at_the_root, setup, teardown, 30));
	suite_add_tcase(s, ck_tcase("database_down", database_down, setup, teardown, 30));
	suite_add_tcase(s, ck_tcase("label_escaping", label_escaping, NULL, NULL, 0));
	return s;
}

int
main(void)
{
	return ck_run(metrics_suite());
}
