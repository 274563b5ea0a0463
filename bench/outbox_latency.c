/* outbox_latency.c: ledger commit -> spend confirmed by Spoolman, through the worker's outbox drain thread and the stand-in. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "db.h"
#include "errbuf.h"
#include "outbox.h"
#include "spoolman.h"

/*
 *   outbox_latency CONNINFO SPOOLMAN_PORT [ROWS]
 *
 * CONNINFO names a database that `spoolkeeper migrate` built and nothing else uses; SPOOLMAN_PORT is a fresh
 * stand-in (tests/spoolman/spoolman_standin.py).  bench/outbox_latency.sh sets both up.  The drain runs as in
 * the worker: outbox_thread_main() on its own connection, woken by the NOTIFY of each commit.
 *
 * Phase "sequential": ROWS (default 500) ledger rows, one per transaction (a ledger row and its outbox row, as the
 * worker writes a layer), each waited for before the next; round robin over the 4 spools.  Latency = the row's
 * done_at (the database's now() when the drain recorded Spoolman's 200) minus the wall-clock time at which the
 * writer's COMMIT returned; both clocks are this machine's.  Phase "burst": ROWS rows committed back to back,
 * then waited for; the drain coalesces what queues up per spool.  Both end with an exact check: the stand-in's
 * used_weight of every spool equals the ledger's sum (all amounts are multiples of 1/8 g, so sums are exact).
 * Exit status 1 when the run or the check fails; a missed target only prints MISS.
 */

#define WARMUP		20
#define TARGET_P99_MS	50.0

static struct db	*db;
static long		 port;
static long long	 job_id;
static int		 layer;
static char		 err[ERRBUF_LEN];

static void
die(const char *what)
{
	fprintf(stderr, "outbox_latency: %s: %s\n", what, err);
	exit(1);
}

static void
exec_ok(const char *sql, int n, const char *const *p)
{
	if (db_exec(db, sql, n, p, NULL, err) == -1)
		die(sql);
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Commits one ledger row and its outbox row; returns the outbox id, *t the time the commit returned. */
static long long
charge(int spool, double grams, double *t)
{
	struct db_result	*r;
	char			 job[24], l[16], sp[16], g[32];
	const char		*p[4] = { job, l, sp, g };
	long long		 id;

	snprintf(job, sizeof(job), "%lld", job_id);
	snprintf(l, sizeof(l), "%d", layer++);
	snprintf(sp, sizeof(sp), "%d", spool);
	snprintf(g, sizeof(g), "%.17g", grams);
	if (db_exec(db, "WITH l AS (INSERT INTO usage_ledger (job_id, layer, "
	    "filament_index, spool_id, mm, grams) VALUES ($1::bigint, "
	    "$2::integer, 0, $3::integer, $4::float8 * 335.27, $4::float8) "
	    "RETURNING id) INSERT INTO spoolman_outbox (ledger_id) SELECT id FROM "
	    "l RETURNING id", 4, p, &r, err) == -1)
		die("insert");
	*t = now_s();
	if (db_result_int64(r, 0, 0, &id) == -1)
		die("outbox id");
	db_result_free(r);
	return id;
}

/* Waits (polling every 0.5 ms, at most 30 s) until outbox row id is done; returns its done_at as epoch seconds. */
static double
wait_done(long long id)
{
	struct timespec		 ts = { 0, 500 * 1000 };
	struct db_result	*r;
	char			 idt[24];
	const char		*p[1] = { idt };
	double			 t, start = now_s();

	snprintf(idt, sizeof(idt), "%lld", id);
	for (;;) {
		if (db_exec(db, "SELECT extract(epoch FROM done_at)::float8 FROM "
		    "spoolman_outbox WHERE id = $1::bigint AND state = 'done'", 1, p,
		    &r, err) == -1)
			die("poll");
		if (db_result_rows(r) == 1 && db_result_double(r, 0, 0, &t) == 0) {
			db_result_free(r);
			return t;
		}
		db_result_free(r);
		if (now_s() - start > 30) {
			snprintf(err, ERRBUF_LEN, "row %lld not done after 30 s", id);
			die("wait");
		}
		nanosleep(&ts, NULL);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile (0..1) of sorted v by the nearest-rank method. */
static double
quantile(const double *v, int n, double q)
{
	int	k = (int)ceil(q * n) - 1;

	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

struct buf {
	char	*p;
	size_t	 n;
};

static size_t
on_data(char *d, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;
	char		*p = realloc(b->p, b->n + size * n + 1);

	if (p == NULL)
		return 0;
	b->p = p;
	memcpy(b->p + b->n, d, size * n);
	b->n += size * n;
	b->p[b->n] = '\0';
	return size * n;
}

/* The stand-in's /_control/state (new). */
static json_t *
standin_state(void)
{
	struct buf	 b = { NULL, 0 };
	json_t		*st = NULL;
	char		 url[128];
	CURL		*c = curl_easy_init();

	snprintf(url, sizeof(url), "http://127.0.0.1:%ld/_control/state", port);
	if (c != NULL) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		if (curl_easy_perform(c) == CURLE_OK && b.p != NULL)
			st = json_loads(b.p, 0, NULL);
		curl_easy_cleanup(c);
	}
	free(b.p);
	if (st == NULL) {
		snprintf(err, ERRBUF_LEN, "cannot read %s", url);
		die("state");
	}
	return st;
}

/* Compares the stand-in's used_weight of spools 1-4 with the ledger.  0 when all equal, else -1 (printed). */
static int
check_totals(int *puts)
{
	json_t			*st = standin_state(), *s;
	struct db_result	*r;
	size_t			 i;
	int			 bad = 0;

	*puts = 0;
	json_array_foreach(json_object_get(st, "spools"), i, s) {
		json_int_t	 id = json_integer_value(json_object_get(s, "id"));
		double		 w = json_number_value(json_object_get(s, "used_weight"));
		double		 want;
		char		 sp[16];
		const char	*p[1] = { sp };

		snprintf(sp, sizeof(sp), "%lld", (long long)id);
		if (db_exec(db, "SELECT coalesce(sum(grams), 0)::float8 FROM "
		    "usage_ledger WHERE spool_id = $1::integer", 1, p, &r, err) == -1)
			die("ledger sum");
		db_result_double(r, 0, 0, &want);
		db_result_free(r);
		if (w != want) {
			printf("  MISMATCH spool %lld: Spoolman %.17g, ledger %.17g\n",
			    (long long)id, w, want);
			bad = 1;
		}
		*puts += (int)json_integer_value(json_object_get(json_object_get(
		    json_object_get(st, "use"), sp), "count"));
	}
	json_decref(st);
	return bad ? -1 : 0;
}

static void
report(const char *phase, double *lat, int n, int puts)
{
	double	sum = 0;
	int	i;

	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	for (i = 0; i < n; i++)
		sum += lat[i];
	printf("  %-10s %6d %6d %8.2f %8.2f %8.2f %8.2f %8.2f\n", phase, n, puts,
	    quantile(lat, n, 0.5), quantile(lat, n, 0.9), quantile(lat, n, 0.99),
	    lat[n - 1], sum / n);
}

static void
setup(void)
{
	struct db_result	*r;
	char			 url[64];
	const char		*p[1] = { url };

	snprintf(url, sizeof(url), "http://127.0.0.1:%ld", port);
	exec_ok("INSERT INTO settings (key, value) VALUES ('spoolman_url', $1)",
	    1, p);
	exec_ok("INSERT INTO printers (name, host, serial, access_code) VALUES "
	    "('bench', '127.0.0.1', '01P00A000000009', '12345678')", 0, NULL);
	if (db_exec(db, "INSERT INTO print_jobs (printer_id, job_key, state, "
	    "layer_count) SELECT id, 'bench', 'running', 1000000 FROM printers "
	    "RETURNING id", 0, NULL, &r, err) == -1 ||
	    db_result_int64(r, 0, 0, &job_id) == -1)
		die("job");
	db_result_free(r);
	snprintf(url, sizeof(url), "%lld", job_id);
	exec_ok("INSERT INTO job_filaments (job_id, filament_index, type, density, "
	    "diameter, mm) VALUES ($1::bigint, 0, 'PLA', 1.24, 1.75, 1000)", 1, p);
}

int
main(int argc, char *argv[])
{
	struct outbox_ctx	 ctx;
	atomic_int		 stop = 0;
	pthread_t		 tid;
	double			*lat, *tc, p99;
	long long		*ids;
	char			 fig[32];
	int			 rows = 500, i, puts, puts0, ok = 1;

	if (argc < 3 || argc > 4 || (port = strtol(argv[2], NULL, 10)) <= 0 ||
	    (argc == 4 && (rows = atoi(argv[3])) < 1)) {
		fprintf(stderr, "usage: outbox_latency CONNINFO SPOOLMAN_PORT [ROWS]\n");
		return 2;
	}
	if (spoolman_global_init(err) == -1 || db_open(argv[1], &db, err) == -1)
		die("setup");
	setup();
	memset(&ctx, 0, sizeof(ctx));
	ctx.conninfo = argv[1];
	ctx.worker_id = "bench";
	ctx.stop = &stop;
	if (pthread_create(&tid, NULL, outbox_thread_main, &ctx) != 0) {
		snprintf(err, ERRBUF_LEN, "pthread_create failed");
		die("thread");
	}
	lat = calloc((size_t)rows, sizeof(*lat));
	tc = calloc((size_t)rows, sizeof(*tc));
	ids = calloc((size_t)rows, sizeof(*ids));
	if (lat == NULL || tc == NULL || ids == NULL)
		return 1;
	for (i = 0; i < WARMUP; i++) {
		double t;

		wait_done(charge(1 + i % 4, 0.125 * (1 + i % 8), &t));
	}
	printf("bench: outbox latency: ledger commit -> spend confirmed by the "
	    "Spoolman stand-in (ms)\n");
	printf("  %-10s %6s %6s %8s %8s %8s %8s %8s\n", "phase", "rows", "PUTs",
	    "p50", "p90", "p99", "max", "mean");
	if (check_totals(&puts0) == -1)
		ok = 0;
	for (i = 0; i < rows; i++) {
		ids[i] = charge(1 + i % 4, 0.125 * (1 + i % 8), &tc[i]);
		lat[i] = (wait_done(ids[i]) - tc[i]) * 1000;
	}
	if (check_totals(&puts) == -1)
		ok = 0;
	report("sequential", lat, rows, puts - puts0);
	p99 = quantile(lat, rows, 0.99);
	puts0 = puts;
	for (i = 0; i < rows; i++)
		ids[i] = charge(1 + i % 4, 0.125 * (1 + i % 8), &tc[i]);
	for (i = 0; i < rows; i++)
		lat[i] = (wait_done(ids[i]) - tc[i]) * 1000;
	if (check_totals(&puts) == -1)
		ok = 0;
	report("burst", lat, rows, puts - puts0);
	atomic_store(&stop, 1);
	pthread_join(tid, NULL);
	printf("targets\n");
	snprintf(fig, sizeof(fig), "%.2f ms", p99);
	printf("  %-34s %12s  %s\n", "sequential: p99 < 50 ms", fig,
	    p99 < TARGET_P99_MS ? "PASS" : "MISS");
	printf("  %-34s %12s  %s\n", "Spoolman total = ledger, exactly",
	    ok ? "yes" : "no", ok ? "PASS" : "FAIL");
	free(lat);
	free(tc);
	free(ids);
	db_close(db);
	spoolman_global_cleanup();
	return ok ? 0 : 1;
}
