/* check_plan_store.c: plan_store() on a real migrated database with the plans of the real samples. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "analyze.h"
#include "db.h"
#include "errbuf.h"
#include "plan_store.h"
#include "../harness/ckrun.h"
#include "../harness/testdb.h"

/*
 * SK_TEST_DATABASE: a database built by `spoolkeeper migrate` (tests/worker/test_plan_store.sh makes one).
 * SK_SAMPLES: the directory of the real samples (default ../shared/samples/gcode).  SK_BIG_FILE: a big
 * .gcode.3mf whose plan is stored once to time it (default /tmp/big/big.gcode.3mf; skipped when absent).
 * plan_store() commits, so every test makes its own printer and jobs with unique names.
 */
static const char	*conninfo;
static const char	*samples;
static struct db	*db;
static char		 err[ERRBUF_LEN];

static const char *const sample_files[] = {
	"estampo_reference_P1S_BS2.5_2color_T0T3.gcode.3mf",
	"estampo_decoy_base_P1S_BS2.5_1color_T2.gcode.3mf",
	"filamentor_test_A1mini_Orca2.0_3color_customToolchange.gcode.3mf",
	"mfm_4-cubes_P1S_BS1.10_2color_noTower.gcode.3mf",
	"mfm_AMS-calibration_P1S_BS2.0_4color.gcode.3mf",
	"ams-color-swapper_carrot_sign_P1S_Orca2.3_2color_primeTower.gcode",
	"gridfinity_A1_Orca2.3.1_1color_noM73L.gcode",
	"mfm_dice_multiple_X1C_BS1.8_2color_primeTower.gcode",
};
#define NSAMPLES ((int)(sizeof(sample_files) / sizeof(sample_files[0])))

static void
open_db(void)
{
	ck_assert_msg(db_open(conninfo, &db, err) == 0, "db_open: %s", err);
}

static void
close_db(void)
{
	db_close(db);
	db = NULL;
}

/* The SQL helpers of tests/harness/testdb.h, on db. */
#define ok(...)		testdb_ok(db, __VA_ARGS__)
#define one(...)	testdb_one(db, __VA_ARGS__)
#define one_int(...)	testdb_one_int(db, __VA_ARGS__)

/* A new printer and a running job on it; returns the job id. */
static long long
new_job(const char *tag)
{
	char	name[64], serial[64], key[64];

	snprintf(name, sizeof(name), "ps-%s-%d", tag, (int)getpid());
	snprintf(serial, sizeof(serial), "PS%d%s", (int)getpid(), tag);
	for (char *s = serial; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= 'a' && *s <= 'z')))
			*s = 'x';
	snprintf(key, sizeof(key), "job-%s", tag);
	ok("INSERT INTO printers (name, host, serial, access_code) VALUES ($1, "
	    "'127.0.0.1', $2, '12345678')", PARAMS(name, serial));
	return strtoll(one("INSERT INTO print_jobs (printer_id, job_key, state) "
	    "SELECT id, $2, 'running' FROM printers WHERE name = $1 RETURNING id",
	    PARAMS(name, key)), NULL, 10);
}

static struct plan *
analyze_sample(const char *file)
{
	struct analyze_opts	 opts;
	struct plan		*plan = NULL;
	char			 path[1024];

	snprintf(path, sizeof(path), "%s/%s", samples, file);
	analyze_opts_default(&opts);
	ck_assert_msg(analyze_path(path, &opts, &plan, err) == 0, "%s: %s", path,
	    err);
	return plan;
}

static double
num(const char *s)
{
	return strcmp(s, "NULL") == 0 ? NAN : strtod(s, NULL);
}

/* Exactly equal doubles, NaN equal to NaN (NULL in the database). */
static int
same(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

/* Checks the stored job_filaments against the plan, exactly. */
static void
check_filaments(const char *job, const struct plan *plan, const int *tray)
{
	struct db_result	*r;
	const struct plan_filament *pf;
	int			 i, f, n = 0;

	for (f = 0; f < PLAN_MAX_FILAMENTS; f++)
		n += plan->filaments[f].extrudes;
	ck_assert_msg(db_exec(db, "SELECT filament_index, tray, type, color, "
	    "tray_info_idx, density, diameter, mm, slicer_mm, grams FROM "
	    "job_filaments WHERE job_id = $1::bigint ORDER BY filament_index",
	    PARAMS(job), &r, err) == 0, "%s", err);
	ck_assert_int_ge(db_result_rows(r), n);
	for (i = 0; i < db_result_rows(r); i++) {
		const char *v[10];
		int c;

		for (c = 0; c < 10; c++) {
			v[c] = db_result_get(r, i, c);
			if (v[c] == NULL)
				v[c] = "NULL";
		}
		f = atoi(v[0]);
		pf = &plan->filaments[f];
		if (tray != NULL && tray[f] >= 0 && tray[f] != 300)
			ck_assert_int_eq(atoi(v[1]), tray[f]);
		else
			ck_assert_str_eq(v[1], "NULL");
		ck_assert_str_eq(v[2], pf->type[0] != '\0' ? pf->type : "NULL");
		ck_assert_str_eq(v[3], pf->color[0] != '\0' ? pf->color : "NULL");
		ck_assert_str_eq(v[4], pf->tray_info_idx[0] != '\0' ?
		    pf->tray_info_idx : "NULL");
		ck_assert(same(num(v[5]), pf->density > 0 ? pf->density : NAN));
		ck_assert(same(num(v[6]), pf->diameter > 0 ? pf->diameter : NAN));
		ck_assert_msg(num(v[7]) == pf->mm, "T%d mm %s != %.17g", f, v[7],
		    pf->mm);
		ck_assert(same(num(v[8]), pf->slicer_mm));
		ck_assert(same(num(v[9]), plan_mm_to_grams(pf->mm, pf->diameter,
		    pf->density)));	/* NaN (NULL) for a density of 0 */
	}
	db_result_free(r);
}

/* The layers, summed in the plan's order, give each filament's total exactly; and every cell is there. */
static void
check_layers(const char *job, const struct plan *plan)
{
	struct db_result	*r;
	double			 sum[PLAN_MAX_FILAMENTS] = { 0 };
	int			 i, f;

	ck_assert_msg(db_exec(db, "SELECT layer, filament_index, mm FROM "
	    "job_plan_layers WHERE job_id = $1::bigint ORDER BY layer, "
	    "filament_index", PARAMS(job), &r, err) == 0, "%s", err);
	ck_assert_int_eq(db_result_rows(r), (int)plan->ncells);
	for (i = 0; i < db_result_rows(r); i++) {
		ck_assert_int_eq(atoi(db_result_get(r, i, 0)),
		    plan->cells[i].layer);
		f = atoi(db_result_get(r, i, 1));
		ck_assert_int_eq(f, plan->cells[i].filament);
		ck_assert(strtod(db_result_get(r, i, 2), NULL) ==
		    plan->cells[i].mm);
		sum[f] += strtod(db_result_get(r, i, 2), NULL);
	}
	db_result_free(r);
	ck_assert_msg(db_exec(db, "SELECT filament_index, mm FROM job_filaments "
	    "WHERE job_id = $1::bigint", PARAMS(job), &r, err) == 0, "%s", err);
	for (i = 0; i < db_result_rows(r); i++) {
		f = atoi(db_result_get(r, i, 0));
		ck_assert_msg(sum[f] == strtod(db_result_get(r, i, 1), NULL),
		    "T%d: layers add up to %.17g, job_filaments.mm %s", f, sum[f],
		    db_result_get(r, i, 1));
		ck_assert(sum[f] == plan->filaments[f].mm);
	}
	db_result_free(r);
}

/* Every amount of every progress mark is stored with its seq, percent and layer, exactly. */
static void
check_marks(const char *job, const struct plan *plan)
{
	struct db_result	*r;
	const struct plan_mark	*m;
	size_t			 i, k, n = 0;
	int			 row, f, found;
	long			 seq;

	for (i = 0; i < plan->nmarks; i++)
		n += plan->marks[i].count;
	ck_assert_msg(db_exec(db, "SELECT seq, percent, layer, filament_index, "
	    "mm FROM job_plan_marks WHERE job_id = $1::bigint ORDER BY seq, "
	    "filament_index", PARAMS(job), &r, err) == 0, "%s", err);
	ck_assert_int_eq(db_result_rows(r), (int)n);
	for (row = 0; row < db_result_rows(r); row++) {
		seq = atol(db_result_get(r, row, 0));
		ck_assert(seq >= 0 && (size_t)seq < plan->nmarks);
		m = &plan->marks[seq];
		ck_assert_int_eq(atoi(db_result_get(r, row, 1)), m->percent);
		ck_assert_int_eq(atoi(db_result_get(r, row, 2)), m->layer);
		f = atoi(db_result_get(r, row, 3));
		found = 0;
		for (k = m->first; k < m->first + m->count; k++)
			if (plan->mark_amounts[k].filament == f) {
				ck_assert(strtod(db_result_get(r, row, 4), NULL) ==
				    plan->mark_amounts[k].mm);
				found = 1;
			}
		ck_assert_msg(found, "mark %ld: filament %d not in the plan", seq,
		    f);
	}
	db_result_free(r);
}

START_TEST(test_sample)
{
	const char	*file = sample_files[_i];
	struct plan	*plan = analyze_sample(file);
	int		 tray[PLAN_MAX_FILAMENTS], f;
	long long	 id;
	char		 job[32], tag[16], planned_at[64];

	for (f = 0; f < PLAN_MAX_FILAMENTS; f++)
		tray[f] = f % 5 == 4 ? -1 : f == 3 ? 300 : f + 1;
	snprintf(tag, sizeof(tag), "s%d", _i);
	id = new_job(tag);
	snprintf(job, sizeof(job), "%lld", id);
	ck_assert_msg(plan_store(db, id, plan, tray, err) == 0, "%s: %s", file,
	    err);
	check_filaments(job, plan, tray);
	check_layers(job, plan);
	check_marks(job, plan);
	ck_assert_int_eq(one_int("SELECT layer_count FROM print_jobs WHERE id = "
	    "$1::bigint", PARAMS(job)), plan->layer_count);
	ck_assert_int_eq(one_int("SELECT plate FROM print_jobs WHERE id = "
	    "$1::bigint", PARAMS(job)), plan->plate);
	ck_assert_str_eq(one("SELECT coalesce(member, '') FROM print_jobs WHERE "
	    "id = $1::bigint", PARAMS(job)), plan->member);
	snprintf(planned_at, sizeof(planned_at), "%s", one("SELECT planned_at "
	    "FROM print_jobs WHERE id = $1::bigint", PARAMS(job)));
	ck_assert_str_ne(planned_at, "NULL");

	/* idempotent: a second call stores nothing and changes nothing */
	ck_assert_msg(plan_store(db, id, plan, NULL, err) == 0, "%s", err);
	ck_assert_str_eq(one("SELECT planned_at FROM print_jobs WHERE id = "
	    "$1::bigint", PARAMS(job)), planned_at);
	check_filaments(job, plan, tray);
	check_layers(job, plan);
	check_marks(job, plan);
	plan_free(plan);
}
END_TEST

START_TEST(test_no_trays)
{
	struct plan	*plan = analyze_sample(sample_files[0]);
	long long	 id = new_job("notray");
	char		 job[32];

	snprintf(job, sizeof(job), "%lld", id);
	ck_assert_msg(plan_store(db, id, plan, NULL, err) == 0, "%s", err);
	check_filaments(job, plan, NULL);
	ck_assert_int_eq(one_int("SELECT count(*) FROM job_filaments WHERE "
	    "job_id = $1::bigint AND tray IS NOT NULL", PARAMS(job)), 0);
	plan_free(plan);
}
END_TEST

START_TEST(test_missing_job)
{
	struct plan	*plan = analyze_sample(sample_files[0]);

	ck_assert_int_eq(plan_store(db, 999999999, plan, NULL, err), -1);
	ck_assert_msg(strstr(err, "does not exist") != NULL, "%s", err);
	ck_assert(!db_in_transaction(db));
	plan_free(plan);
}
END_TEST

/* A plan the schema refuses (a NaN amount) stores nothing: one transaction. */
START_TEST(test_refused_plan_stores_nothing)
{
	struct plan	*plan = analyze_sample(sample_files[0]);
	long long	 id = new_job("nan");
	char		 job[32];

	snprintf(job, sizeof(job), "%lld", id);
	plan->cells[plan->ncells / 2].mm = NAN;
	ck_assert_int_eq(plan_store(db, id, plan, NULL, err), -1);
	ck_assert_msg(db_is(db, DB_CHECK_VIOLATION), "%s", err);
	ck_assert(!db_in_transaction(db));
	ck_assert_int_eq(one_int("SELECT count(*) FROM job_filaments WHERE "
	    "job_id = $1::bigint", PARAMS(job)), 0);
	ck_assert_str_eq(one("SELECT planned_at FROM print_jobs WHERE id = "
	    "$1::bigint", PARAMS(job)), "NULL");
	plan_free(plan);
}
END_TEST

/* Texts with quotes, backslashes and braces go through the array literals unchanged; bad UTF-8 becomes NULL. */
START_TEST(test_texts)
{
	struct plan	*plan = analyze_sample(sample_files[0]);
	long long	 id = new_job("texts");
	char		 job[32];
	int		 f;

	snprintf(job, sizeof(job), "%lld", id);
	for (f = 0; f < PLAN_MAX_FILAMENTS && !plan->filaments[f].extrudes; f++)
		;
	snprintf(plan->filaments[f].type, PLAN_TEXT_LEN, "P\"L{A},\\ x");
	snprintf(plan->filaments[f].color, PLAN_TEXT_LEN, "NULL");
	snprintf(plan->filaments[f].tray_info_idx, PLAN_TEXT_LEN, "\xff\xfe");
	ck_assert_msg(plan_store(db, id, plan, NULL, err) == 0, "%s", err);
	ck_assert_str_eq(one("SELECT type FROM job_filaments WHERE job_id = "
	    "$1::bigint AND type IS NOT NULL ORDER BY filament_index LIMIT 1",
	    PARAMS(job)), "P\"L{A},\\ x");
	ck_assert_str_eq(one("SELECT color FROM job_filaments WHERE job_id = "
	    "$1::bigint AND color = 'NULL'", PARAMS(job)), "NULL");
	ck_assert_int_eq(one_int("SELECT count(*) FROM job_filaments WHERE "
	    "job_id = $1::bigint AND tray_info_idx IS NULL", PARAMS(job)), 1);
	plan_free(plan);
}
END_TEST

/* Two connections plan one job at the same time: it is stored once, both succeed. */
struct racer {
	long long	 id;
	struct plan	*plan;
	int		 rc;
	char		 err[ERRBUF_LEN];
};

static void *
race(void *arg)
{
	struct racer	*r = arg;
	struct db	*d;

	if (db_open(conninfo, &d, r->err) == -1) {
		r->rc = -1;
		return NULL;
	}
	r->rc = plan_store(d, r->id, r->plan, NULL, r->err);
	db_close(d);
	return NULL;
}

START_TEST(test_concurrent)
{
	struct plan	*plan = analyze_sample(sample_files[3]);
	struct racer	 r[4];
	pthread_t	 th[4];
	long long	 id = new_job("race");
	char		 job[32];
	int		 i;

	snprintf(job, sizeof(job), "%lld", id);
	for (i = 0; i < 4; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].id = id;
		r[i].plan = plan;
		ck_assert_int_eq(pthread_create(&th[i], NULL, race, &r[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(r[i].rc == 0, "racer %d: %s", i, r[i].err);
	}
	ck_assert_int_eq(one_int("SELECT count(*) FROM job_plan_layers WHERE "
	    "job_id = $1::bigint", PARAMS(job)), (long long)plan->ncells);
	plan_free(plan);
}
END_TEST

/* Storing a plan announces it once on spoolkeeper_planned, at commit; a new job is announced on spoolkeeper_jobs. */
START_TEST(test_notify)
{
	struct db		*listener;
	struct db_notify	*n;
	struct plan		*plan = analyze_sample(sample_files[1]);
	long long		 id;
	char			 job[32], got[256] = "";
	int			 step;

	ck_assert_msg(db_open(conninfo, &listener, err) == 0, "%s", err);
	ck_assert_int_eq(db_listen(listener, "spoolkeeper_planned", err), 0);
	ck_assert_int_eq(db_listen(listener, "spoolkeeper_jobs", err), 0);
	id = new_job("notify");
	snprintf(job, sizeof(job), "%lld", id);
	ok("UPDATE print_jobs SET checkpoint_percent = 5 WHERE id = $1::bigint",
	    PARAMS(job));	/* not something the planner reads: silent */
	ok("UPDATE print_jobs SET file_url = 'ftp:///x.3mf' WHERE id = "
	    "$1::bigint", PARAMS(job));
	ck_assert_msg(plan_store(db, id, plan, NULL, err) == 0, "%s", err);
	ck_assert_msg(plan_store(db, id, plan, NULL, err) == 0, "%s", err);
	ok("UPDATE print_jobs SET state = 'paused' WHERE id = $1::bigint",
	    PARAMS(job));	/* planned: silent */
	for (step = 0; step < 40; step++) {
		while (db_notify_next(listener, &n, err) == 0 && n != NULL) {
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    "%s:%s\n", n->channel, strcmp(n->payload, job) == 0 ?
			    "id" : n->payload);
			db_notify_free(n);
		}
		if (strstr(got, "planned") != NULL && step > 4)
			break;
		ck_assert_int_ge(db_wait(listener, 50, err), 0);
	}
	ck_assert_str_eq(got, "spoolkeeper_jobs:id\nspoolkeeper_jobs:id\n"
	    "spoolkeeper_planned:id\n");
	db_close(listener);
	plan_free(plan);
}
END_TEST

/* The big file (86 MB of gcode, 8,481 layers): stored once and timed; the figure is printed, not judged. */
START_TEST(test_big_timing)
{
	const char		*big = getenv("SK_BIG_FILE");
	struct analyze_opts	 opts;
	struct plan		*plan = NULL;
	struct timespec		 t0, t1;
	long long		 id;
	double			 ms;

	if (big == NULL || *big == '\0')
		big = "/tmp/big/big.gcode.3mf";
	if (access(big, R_OK) != 0) {
		printf("plan_store timing: %s absent, skipped\n", big);
		return;
	}
	analyze_opts_default(&opts);
	ck_assert_msg(analyze_path(big, &opts, &plan, err) == 0, "%s", err);
	id = new_job("big");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_msg(plan_store(db, id, plan, NULL, err) == 0, "%s", err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("plan_store timing: %s: %d layers, %zu cells, %zu mark amounts "
	    "stored in %.0f ms\n", big, plan->layer_count, plan->ncells,
	    plan->nmark_amounts, ms);
	fflush(stdout);
	plan_free(plan);
}
END_TEST

static Suite *
plan_store_suite(void)
{
	Suite	*s = suite_create("plan_store");
	TCase	*tc;

	tc = tcase_create("samples");
	tcase_add_checked_fixture(tc, open_db, close_db);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_sample, 0, NSAMPLES);
	tcase_add_test(tc, test_no_trays);
	tcase_add_test(tc, test_missing_job);
	tcase_add_test(tc, test_refused_plan_stores_nothing);
	tcase_add_test(tc, test_texts);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_notify);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, ck_tcase("big", test_big_timing, open_db, close_db,
	    600));
	return s;
}

int
main(void)
{
	conninfo = getenv("SK_TEST_DATABASE");
	samples = getenv("SK_SAMPLES");
	if (samples == NULL || *samples == '\0')
		samples = "../shared/samples/gcode";
	if (conninfo == NULL || *conninfo == '\0') {
		fprintf(stderr, "check_plan_store: SK_TEST_DATABASE is not set "
		    "(run tests/worker/test_plan_store.sh)\n");
		return 1;
	}
	return ck_run(plan_store_suite());
}
