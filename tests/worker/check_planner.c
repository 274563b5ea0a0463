/* check_planner.c: the planner thread against a real database, a real vsftpd (implicit FTPS) and a local HTTPS server. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <check.h>

#include "analyze.h"
#include "db.h"
#include "errbuf.h"
#include "planner.h"
#include "secret.h"
#include "../harness/ckrun.h"
#include "../harness/testdb.h"

/*
 * Environment (tests/worker/test_planner.sh sets it up):
 *   SK_TEST_DATABASE  a migrated database          SK_SAMPLES     the real samples (../shared/samples/gcode)
 *   SK_FTPS_ROOT      the served tree of the FTPS harness; SK_FTPS_PORT, SK_FTPS_CA, SK_FTPS_CODE
 *   SK_SERIAL_PREFIX  serials PREFIX01..PREFIX13 are in the server certificate
 *   SK_HTTPS_BASE     https://localhost:PORT of tests/worker/https_server.py; SK_HTTPS_CA its CA
 * Each test uses its own printers, serials and worker id, and commits.
 */
static const char	*conninfo, *samples, *ftps_root, *ftps_port, *ftps_ca;
static const char	*ftps_code, *serial_prefix, *https_base, *https_ca;
static struct db	*db;
static char		 err[ERRBUF_LEN];
static char		 cache[256];
static struct secret_key *run_key;	/* the key start() gives the planner (NULL: none) */

#define REF	"estampo_reference_P1S_BS2.5_2color_T0T3.gcode.3mf"

/* A running planner thread. */
struct runner {
	struct planner_ctx	 ctx;
	struct planner_stats	 stats;
	atomic_int		 stop;
	pthread_t		 th[4];
	int			 n;
	char			 worker[64];
};

static void
setup(void)
{
	ck_assert_msg(db_open(conninfo, &db, err) == 0, "db_open: %s", err);
	snprintf(cache, sizeof(cache), "/tmp/sk-planner-cache.%d", (int)getpid());
	mkdir(cache, 0700);
}

/* 1 if the cache directory holds no file. */
static int
cache_empty(void)
{
	DIR		*d = opendir(cache);
	struct dirent	*e;
	int		 n = 0;

	if (d == NULL)
		return 1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n == 0;
}

static void
teardown(void)
{
	db_close(db);
	db = NULL;
	rmdir(cache);
}

/* The SQL helpers of tests/harness/testdb.h, on db. */
#define ok(...)		testdb_ok(db, __VA_ARGS__)
#define one(...)	testdb_one(db, __VA_ARGS__)

/* Copies a file into the FTPS tree as path ("cache/x.3mf"), readable by the server. */
static void
serve(const char *src, const char *path, size_t cut)
{
	char	dst[1024], buf[65536];
	FILE	*in, *out;
	size_t	 n, total = 0;

	snprintf(dst, sizeof(dst), "%s/%s", ftps_root, path);
	ck_assert_msg((in = fopen(src, "rb")) != NULL, "%s", src);
	ck_assert_msg((out = fopen(dst, "wb")) != NULL, "%s", dst);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		if (cut > 0 && total + n > cut)
			n = cut - total;
		fwrite(buf, 1, n, out);
		total += n;
		if (cut > 0 && total >= cut)
			break;
	}
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
	chmod(dst, 0644);
}

static const char *
sample(const char *name)
{
	static char	path[1024];

	snprintf(path, sizeof(path), "%s/%s", samples, name);
	return path;
}

/* A printer (serial PREFIX<nn>) leased to worker for 5 minutes (or expired, lease_s < 0); returns its id. */
static long long
add_printer(const char *name, int nn, const char *worker, int lease_s)
{
	char	serial[64], id[32], ttl[32];

	snprintf(serial, sizeof(serial), "%s%02d", serial_prefix, nn);
	snprintf(id, sizeof(id), "%s", one("INSERT INTO printers (name, host, "
	    "serial, access_code, ftps_port) VALUES ($1, '127.0.0.1', $2, $3, "
	    "$4::int) RETURNING id", PARAMS(name, serial, ftps_code, ftps_port)));
	snprintf(ttl, sizeof(ttl), "%d s", lease_s > 0 ? lease_s : 1);
	ok("SELECT lease_acquire($1::bigint, $2, $3::interval)", PARAMS(id, worker,
	    ttl));
	if (lease_s < 0)
		ok("UPDATE worker_leases SET expires_at = now() - interval '1 s' "
		    "WHERE printer_id = $1::bigint", PARAMS(id));
	return strtoll(id, NULL, 10);
}

/* A job on the printer; returns its id. */
static long long
add_job(long long printer, const char *key, const char *state,
    const char *url, const char *subtask, const char *mapping)
{
	char	pid[32];

	snprintf(pid, sizeof(pid), "%lld", printer);
	return strtoll(one("INSERT INTO print_jobs (printer_id, job_key, state, "
	    "ended_at, file_url, subtask_name, member, ams_mapping, use_ams, "
	    "flow_cali) VALUES ($1::bigint, $2, $3, CASE WHEN $3 IN ('preparing', "
	    "'running', 'paused') THEN NULL ELSE now() END, $4, $5, "
	    "'Metadata/plate_1.gcode', $6::jsonb, true, false) RETURNING id",
	    PARAMS(pid, key, state, url, subtask, mapping)), NULL, 10);
}

static void
start(struct runner *r, const char *worker, int threads, int poll_ms)
{
	int	i;

	memset(r, 0, sizeof(*r));
	snprintf(r->worker, sizeof(r->worker), "%s", worker);
	r->ctx.conninfo = conninfo;
	r->ctx.worker_id = r->worker;
	r->ctx.cache_dir = cache;
	r->ctx.ca_file = ftps_ca;
	r->ctx.stop = &r->stop;
	r->ctx.poll_ms = poll_ms;
	r->ctx.retry_min_ms = 300;
	r->ctx.retry_max_ms = 1200;
	r->ctx.https_ca_file = https_ca;
	r->ctx.low_speed_s = 30;
	r->ctx.stats = &r->stats;
	r->ctx.key = run_key;
	r->n = threads;
	for (i = 0; i < threads; i++)
		ck_assert_int_eq(pthread_create(&r->th[i], NULL,
		    planner_thread_main, &r->ctx), 0);
}

/* Sleeps ms milliseconds (usleep is not POSIX.1-2008). */
static void
msleep(long ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Stops the threads; returns the seconds it took. */
static double
stop(struct runner *r)
{
	double	t0 = now_s();
	int	i;

	atomic_store(&r->stop, 1);
	for (i = 0; i < r->n; i++)
		pthread_join(r->th[i], NULL);
	return now_s() - t0;
}

static int
planned(long long job)
{
	char	id[32];

	snprintf(id, sizeof(id), "%lld", job);
	return strcmp(one("SELECT planned_at IS NOT NULL FROM print_jobs WHERE "
	    "id = $1::bigint", PARAMS(id)), "t") == 0;
}

/* Waits up to s seconds for the job's plan; returns 1 when it came. */
static int
wait_planned(long long job, double s)
{
	double	end = now_s() + s;

	while (now_s() < end) {
		if (planned(job))
			return 1;
		msleep(50);
	}
	return planned(job);
}

static const char *
job_error(long long job)
{
	char	id[32];

	snprintf(id, sizeof(id), "%lld", job);
	return one("SELECT coalesce(error, '') FROM print_jobs WHERE id = "
	    "$1::bigint", PARAMS(id));
}

/* Waits up to s seconds for the job's error to contain text. */
static int
wait_error(long long job, const char *text, double s)
{
	double	end = now_s() + s;

	while (now_s() < end) {
		if (strstr(job_error(job), text) != NULL)
			return 1;
		msleep(50);
	}
	return 0;
}

/* The stored plan equals the engine's plan of the same file, with the trays of the mapping. */
static void
check_plan(long long job, const char *file, const char *member, int use_ams,
    int flow_cali)
{
	struct analyze_opts	 o;
	struct plan		*plan;
	struct db_result	*r;
	char			 id[32];
	int			 i, f;

	analyze_opts_default(&o);
	o.member = member;
	o.gcode.use_ams = use_ams;
	o.gcode.flags[GCODE_FLAG_EXTRUDE_CALI] = flow_cali;
	ck_assert_msg(analyze_path(file, &o, &plan, err) == 0, "%s", err);
	snprintf(id, sizeof(id), "%lld", job);
	ck_assert_msg(db_exec(db, "SELECT filament_index, mm, tray FROM "
	    "job_filaments WHERE job_id = $1::bigint ORDER BY filament_index",
	    PARAMS(id), &r, err) == 0, "%s", err);
	ck_assert_int_ge(db_result_rows(r), 1);
	for (i = 0; i < db_result_rows(r); i++) {
		f = atoi(db_result_get(r, i, 0));
		ck_assert(strtod(db_result_get(r, i, 1), NULL) ==
		    plan->filaments[f].mm);
		/* the mapping of these tests: T0 -> 5, T3 -> 128, others unknown */
		if (f == 0)
			ck_assert_str_eq(db_result_get(r, i, 2), "5");
		else if (f == 3)
			ck_assert_str_eq(db_result_get(r, i, 2), "128");
		else
			ck_assert_ptr_null(db_result_get(r, i, 2));
	}
	db_result_free(r);
	ck_assert_int_eq(strtoll(one("SELECT count(*) FROM job_plan_layers WHERE "
	    "job_id = $1::bigint", PARAMS(id)), NULL, 10), (long long)plan->ncells);
	ck_assert_int_eq(atoi(one("SELECT layer_count FROM print_jobs WHERE id = "
	    "$1::bigint", PARAMS(id))), plan->layer_count);
	plan_free(plan);
}

#define MAPPING "[5, -1, 400, 128]"

/* A running job with a ftp:// url (spaces, ';', unicode): planned, announced, file removed, error clear. */
START_TEST(test_plans_a_job)
{
	struct runner		 r;
	struct db		*listener;
	struct db_notify	*n;
	long long		 printer, job;
	char			 id[32];
	int			 got = 0, i;

	serve(sample(REF), "cache/Tree; Size_ M – ünï 🐢.gcode.3mf", 0);
	printer = add_printer("pl-one", 1, "w-one", 300);
	ck_assert_msg(db_open(conninfo, &listener, err) == 0, "%s", err);
	ck_assert_int_eq(db_listen(listener, "spoolkeeper_planned", err), 0);
	job = add_job(printer, "one", "running",
	    "ftp:///cache/Tree; Size_ M – ünï 🐢.gcode.3mf", "Tree", MAPPING);
	snprintf(id, sizeof(id), "%lld", job);
	start(&r, "w-one", 1, 500);
	ck_assert_msg(wait_planned(job, 30), "not planned: %s", job_error(job));
	for (i = 0; i < 100 && !got; i++) {
		while (db_notify_next(listener, &n, err) == 0 && n != NULL) {
			got |= strcmp(n->channel, "spoolkeeper_planned") == 0 &&
			    strcmp(n->payload, id) == 0;
			db_notify_free(n);
		}
		if (!got)
			ck_assert_int_ge(db_wait(listener, 50, err), 0);
	}
	ck_assert_msg(got, "no NOTIFY spoolkeeper_planned %s", id);
	ck_assert_msg(stop(&r) < 2.0, "stopping took too long");
	check_plan(job, sample(REF), "Metadata/plate_1.gcode", 1, 0);
	ck_assert_str_eq(job_error(job), "");
	ck_assert(cache_empty());
	ck_assert_int_eq(atomic_load(&r.stats.planned), 1);
	db_close(listener);
}
END_TEST

/* Jobs of printers whose lease this worker does not hold (another worker's, or expired) are left alone. */
START_TEST(test_only_leased_printers)
{
	struct runner	r;
	long long	mine, other, expired;

	serve(sample(REF), "lease.gcode.3mf", 0);
	mine = add_job(add_printer("pl-mine", 2, "w-lease", 300), "m", "running",
	    "ftp:///lease.gcode.3mf", NULL, MAPPING);
	other = add_job(add_printer("pl-other", 3, "w-someone-else", 300), "o",
	    "running", "ftp:///lease.gcode.3mf", NULL, MAPPING);
	expired = add_job(add_printer("pl-expired", 4, "w-lease", -1), "e",
	    "running", "ftp:///lease.gcode.3mf", NULL, MAPPING);
	start(&r, "w-lease", 1, 300);
	ck_assert_msg(wait_planned(mine, 30), "%s", job_error(mine));
	msleep(1500);	/* several polls */
	stop(&r);
	ck_assert(!planned(other));
	ck_assert(!planned(expired));
	ck_assert_int_eq(atomic_load(&r.stats.fetches), 1);
}
END_TEST

/*
 * A preparing job with a printer url waits (the printer may still be receiving the file); its change to running
 * wakes the planner through NOTIFY spoolkeeper_jobs, long before the next poll.
 */
START_TEST(test_waits_for_running_and_wakes_on_notify)
{
	struct runner	 r;
	long long	 job;
	char		 id[32];
	double		 t0;

	serve(sample(REF), "prep.gcode.3mf", 0);
	job = add_job(add_printer("pl-prep", 5, "w-prep", 300), "p", "preparing",
	    "ftp:///prep.gcode.3mf", NULL, MAPPING);
	snprintf(id, sizeof(id), "%lld", job);
	start(&r, "w-prep", 1, 60000);
	msleep(1000);
	ck_assert(!planned(job));
	ck_assert_int_eq(atomic_load(&r.stats.fetches), 0);
	t0 = now_s();
	ok("UPDATE print_jobs SET state = 'running' WHERE id = $1::bigint",
	    PARAMS(id));
	ck_assert_msg(wait_planned(job, 20), "%s", job_error(job));
	ck_assert_msg(now_s() - t0 < 10, "woken after %.1f s", now_s() - t0);
	stop(&r);
}
END_TEST

/* A file the engine refuses (a truncated zip): the error is recorded, the download is not retried in a loop. */
START_TEST(test_bad_file_not_retried)
{
	struct runner	r;
	long long	job;

	serve(sample(REF), "cut.gcode.3mf", 20000);
	job = add_job(add_printer("pl-bad", 6, "w-bad", 300), "b", "running",
	    "ftp:///cut.gcode.3mf", NULL, MAPPING);
	start(&r, "w-bad", 1, 200);
	ck_assert_msg(wait_error(job, "plan: the engine refused the file", 30),
	    "error: %s", job_error(job));
	msleep(3000);	/* 15 polls, 10 retry periods */
	stop(&r);
	ck_assert_int_eq(atomic_load(&r.stats.fetches), 1);
	ck_assert(!planned(job));
	ck_assert(cache_empty());
}
END_TEST

/*
 * A file that is not there yet: the 550 is recorded and retried with backoff; once the file appears the job is
 * planned and the error cleared.
 */
START_TEST(test_retry_until_file_appears)
{
	struct runner	r;
	long long	job, n;

	job = add_job(add_printer("pl-late", 7, "w-late", 300), "l", "running",
	    "ftp:///cache/late one.3mf", NULL, MAPPING);
	start(&r, "w-late", 1, 60000);
	ck_assert_msg(wait_error(job, "550", 30), "error: %s", job_error(job));
	ck_assert_str_eq(job_error(job) + strlen(job_error(job)) -
	    strlen("not found (550)"), "not found (550)");
	msleep(2500);	/* backoff 0.3, 0.6, 1.2, 1.2 s: at most 5 tries */
	n = atomic_load(&r.stats.fetches);
	ck_assert_msg(n >= 2 && n <= 6, "%lld fetches in 2.5 s", n);
	ck_assert(!planned(job));
	serve(sample(REF), "cache/late one.3mf", 0);
	ck_assert_msg(wait_planned(job, 20), "%s", job_error(job));
	stop(&r);
	ck_assert_str_eq(job_error(job), "");
	ck_assert(cache_empty());
}
END_TEST

/*
 * Two planner threads, four printers: every job planned exactly once (the advisory lock); a job that ended a
 * minute ago is still planned, one that ended two days ago is not.
 */
START_TEST(test_two_threads)
{
	struct runner	 r;
	long long	 jobs[5], old, p;
	char		 pid[32];
	int		 i;

	serve(sample("mfm_4-cubes_P1S_BS1.10_2color_noTower.gcode.3mf"),
	    "cubes.gcode.3mf", 0);
	for (i = 0; i < 4; i++) {
		char name[32], key[32];

		snprintf(name, sizeof(name), "pl-two-%d", i);
		snprintf(key, sizeof(key), "two-%d", i);
		p = add_printer(name, 8 + i, "w-two", 300);
		jobs[i] = add_job(p, key, "running", "ftp:///cubes.gcode.3mf", NULL,
		    MAPPING);
	}
	jobs[4] = add_job(p, "two-ended", "finished", NULL, "cubes", MAPPING);
	old = add_job(p, "two-old", "finished", NULL, "cubes", MAPPING);
	snprintf(pid, sizeof(pid), "%lld", old);
	ok("UPDATE print_jobs SET started_at = now() - interval '3 days', "
	    "ended_at = now() - interval '2 days' WHERE id = $1::bigint",
	    PARAMS(pid));
	start(&r, "w-two", 2, 300);
	for (i = 0; i < 5; i++)
		ck_assert_msg(wait_planned(jobs[i], 60), "job %d: %s", i,
		    job_error(jobs[i]));
	msleep(1000);
	stop(&r);
	ck_assert_int_eq(atomic_load(&r.stats.planned), 5);
	ck_assert_int_eq(atomic_load(&r.stats.fetches), 5);
	ck_assert(!planned(old));
}
END_TEST

/* A cloud job (https://) may be fetched while preparing; a stalled download stops at once on *stop. */
START_TEST(test_https_and_stop_during_download)
{
	struct runner	 r;
	long long	 job, slow;
	char		 url[512];
	double		 took;

	snprintf(url, sizeof(url), "%s/files/model.3mf?X-Amz-Signature=x",
	    https_base);
	job = add_job(add_printer("pl-https", 12, "w-https", 300), "h",
	    "preparing", url, NULL, MAPPING);
	start(&r, "w-https", 1, 300);
	ck_assert_msg(wait_planned(job, 30), "%s", job_error(job));
	stop(&r);
	check_plan(job, sample(REF), "Metadata/plate_1.gcode", 1, 0);

	snprintf(url, sizeof(url), "%s/slow/model.3mf", https_base);
	ok("UPDATE print_jobs SET state = 'finished', ended_at = now() WHERE "
	    "job_key = 'h'", 0, NULL);
	slow = add_job(strtoll(one("SELECT printer_id FROM print_jobs WHERE "
	    "job_key = 'h'", 0, NULL), NULL, 10), "h-slow", "running", url, NULL,
	    MAPPING);
	start(&r, "w-https", 1, 300);
	while (atomic_load(&r.stats.fetches) == 0)
		msleep(20);
	msleep(500);		/* inside the stalled transfer */
	took = stop(&r);
	ck_assert_msg(took < 2.0, "stop took %.1f s", took);
	ck_assert(!planned(slow));
	ck_assert(cache_empty());
}
END_TEST

/* The planner's connection is killed: it reconnects, LISTENs again, and a new job wakes it by NOTIFY. */
START_TEST(test_reconnects)
{
	struct runner	 r;
	long long	 printer, job;
	int		 i, killed = 0;

	serve(sample(REF), "reconnect.gcode.3mf", 0);
	printer = add_printer("pl-reconnect", 13, "w-reconnect", 300);
	start(&r, "w-reconnect", 1, 60000);
	msleep(500);
	for (i = 0; i < 50 && killed == 0; i++) {
		killed = atoi(one("SELECT count(pg_terminate_backend(pid)) FROM "
		    "pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE "
		    "'%JOIN worker_leases%'", 0, NULL));
		msleep(100);
	}
	ck_assert_int_eq(killed, 1);
	msleep(1500);	/* reconnected and listening again */
	job = add_job(printer, "rc", "running", "ftp:///reconnect.gcode.3mf", NULL,
	    MAPPING);
	ck_assert_msg(wait_planned(job, 15), "not planned after a reconnect: %s",
	    job_error(job));
	stop(&r);
}
END_TEST

/* A new key in a directory of its own, loaded; the file is removed at once. */
static struct secret_key *
new_key(void)
{
	struct secret_key	*k;
	char			 dir[] = "/tmp/sk-planner-key.XXXXXX", path[64];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret.key", dir);
	ck_assert_msg(secret_key_create(path, err) == 0, "%s", err);
	ck_assert_msg(secret_key_load(path, &k, err) == 0, "%s", err);
	unlink(path);
	rmdir(dir);
	return k;
}

/* A printer (serial PREFIX<nn>, certificate not checked) whose access code is stored encrypted under key. */
static long long
add_encrypted_printer(const char *name, int nn, const char *worker, const struct secret_key *key)
{
	char	serial[64], id[32], *enc;

	snprintf(serial, sizeof(serial), "%s%02d", serial_prefix, nn);
	ck_assert_int_eq(secret_encrypt(key, SECRET_ACCESS_CODE, ftps_code, &enc, err), 0);
	snprintf(id, sizeof(id), "%s", one("INSERT INTO printers (name, host, serial, access_code_enc, ftps_port, "
	    "insecure_tls) VALUES ($1, '127.0.0.1', $2, $3, $4::int, true) RETURNING id",
	    PARAMS(name, serial, enc, ftps_port)));
	free(enc);
	ok("SELECT lease_acquire($1::bigint, $2, '300 s')", PARAMS(id, worker));
	return strtoll(id, NULL, 10);
}

/*
 * printers.access_code_enc: decrypted with the planner's key for the download; a code encrypted under another
 * key is refused with a plain error on the job (never the code), and nothing is downloaded for it.
 */
START_TEST(test_encrypted_access_code)
{
	struct runner		 r;
	struct secret_key	*other = new_key();
	long long		 good, bad, bad_printer;
	char			 want[128];

	run_key = new_key();
	serve(sample(REF), "enc.gcode.3mf", 0);
	good = add_job(add_encrypted_printer("pl-enc", 14, "w-enc", run_key), "g", "running",
	    "ftp:///enc.gcode.3mf", NULL, MAPPING);
	bad_printer = add_encrypted_printer("pl-enc-bad", 15, "w-enc", other);
	bad = add_job(bad_printer, "b", "running", "ftp:///enc.gcode.3mf", NULL, MAPPING);
	start(&r, "w-enc", 1, 300);
	ck_assert_msg(wait_planned(good, 30), "not planned: %s", job_error(good));
	snprintf(want, sizeof(want), "plan: printer %lld: cannot decrypt printers.access_code: wrong key file or "
	    "tampered value", bad_printer);
	ck_assert_msg(wait_error(bad, want, 30), "error: %s", job_error(bad));
	msleep(1000);
	stop(&r);
	ck_assert(!planned(bad));
	ck_assert_ptr_null(strstr(job_error(bad), ftps_code));
	ck_assert_int_eq(atomic_load(&r.stats.fetches), 1);
	check_plan(good, sample(REF), "Metadata/plate_1.gcode", 1, 0);
	secret_key_free(run_key);
	secret_key_free(other);
	run_key = NULL;
}
END_TEST

static Suite *
planner_suite(void)
{
	Suite	*s = suite_create("planner");
	TCase	*tc = tcase_create("planner");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_plans_a_job);
	tcase_add_test(tc, test_only_leased_printers);
	tcase_add_test(tc, test_waits_for_running_and_wakes_on_notify);
	tcase_add_test(tc, test_bad_file_not_retried);
	tcase_add_test(tc, test_retry_until_file_appears);
	tcase_add_test(tc, test_two_threads);
	tcase_add_test(tc, test_https_and_stop_during_download);
	tcase_add_test(tc, test_reconnects);
	tcase_add_test(tc, test_encrypted_access_code);
	suite_add_tcase(s, tc);
	return s;
}

static const char *
env(const char *name)
{
	const char	*v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "check_planner: %s is not set (run "
		    "tests/worker/test_planner.sh)\n", name);
		exit(1);
	}
	return v;
}

int
main(void)
{
	conninfo = env("SK_TEST_DATABASE");
	samples = env("SK_SAMPLES");
	ftps_root = env("SK_FTPS_ROOT");
	ftps_port = env("SK_FTPS_PORT");
	ftps_ca = env("SK_FTPS_CA");
	ftps_code = env("SK_FTPS_CODE");
	serial_prefix = env("SK_SERIAL_PREFIX");
	https_base = env("SK_HTTPS_BASE");
	https_ca = env("SK_HTTPS_CA");
	return ck_run(planner_suite());
}
