/* check_jobs.c: the worker's job bookkeeping against a real database: charging layers once, in order, exactly. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bambu_project.h"
#include "db.h"
#include "errbuf.h"
#include "jobs.h"
#include "../harness/ckrun.h"
#include "../harness/testdb.h"

/*
 * SK_TEST_DATABASE: a database `spoolkeeper migrate` has built (tests/db/test_jobs.sh).  Each test makes its own
 * printer, so tests do not see each other's rows.
 */
static struct db	*db;
static char		 err[ERRBUF_LEN];

/* The plan every test stores: layers 0..3 of filaments 0 and 1, and progress marks in layer 2. */
static const struct {
	int layer, f;
	double mm;
} plan[] = {
	{ 0, 0, 100.5 }, { 1, 0, 40 }, { 1, 1, 12.25 }, { 2, 0, 30 }, { 2, 1, 8 },
	{ 3, 0, 20 }, { 3, 1, -0.5 },
};
#define PLAN_TOTAL_0	190.5
#define PLAN_TOTAL_1	19.75

/* The SQL helpers of tests/harness/testdb.h, on db. */
#define exec_ok(...)	testdb_ok(db, __VA_ARGS__)

static long long
scalar(const char *sql, int n, const char *const *p)
{
	struct db_result	*r;
	long long		 v = -1;

	ck_assert_msg(db_exec(db, sql, n, p, &r, err) == 0, "%s: %s", sql, err);
	if (db_result_get(r, 0, 0) != NULL)
		ck_assert(db_result_int64(r, 0, 0, &v) == 0);
	db_result_free(r);
	return v;
}

static double
real(const char *sql, int n, const char *const *p)
{
	struct db_result	*r;
	double			 v = NAN;

	ck_assert_msg(db_exec(db, sql, n, p, &r, err) == 0, "%s: %s", sql, err);
	if (db_result_get(r, 0, 0) != NULL)
		ck_assert(db_result_double(r, 0, 0, &v) == 0);
	db_result_free(r);
	return v;
}

/* Makes a printer with a lease held by "w1"; returns its lease. */
static struct jobs_lease
new_printer(const char *name)
{
	struct jobs_lease	 l;
	char			 serial[32], pid[32];
	const char		*p[3] = { name, serial, NULL };

	snprintf(serial, sizeof(serial), "SER%s", name);
	l.printer_id = scalar("INSERT INTO printers (name, host, serial, "
	    "access_code) VALUES ($1, '127.0.0.1', $2, '12345678') RETURNING id",
	    2, p);
	snprintf(pid, sizeof(pid), "%lld", l.printer_id);
	p[0] = pid;
	p[1] = "w1";
	p[2] = "1 hour";
	l.token = scalar("SELECT lease_acquire($1, $2, $3::interval)", 3, p);
	ck_assert_int_gt(l.token, 0);
	return l;
}

static void
assign(const struct jobs_lease *l, int tray, int spool)
{
	char		 pid[32], t[16], s[16];
	const char	*p[3] = { pid, t, s };

	snprintf(pid, sizeof(pid), "%lld", l->printer_id);
	snprintf(t, sizeof(t), "%d", tray);
	snprintf(s, sizeof(s), "%d", spool);
	exec_ok("INSERT INTO tray_assignments (printer_id, tray, spool_id) "
	    "VALUES ($1, $2::int, $3::int)", 3, p);
}

/* Starts a job with filament 0 in tray 2 and filament 1 in tray 5 (or no mapping). */
static struct job
start(const struct jobs_lease *l, const char *key, int mapped)
{
	struct bambu_project	pf;
	struct job_start	js = { key, "77", "78", "cube", "cube.gcode",
				    NULL, NULL, 0 };
	struct job		j;
	static const int	trays[2] = { 2, 5 };

	memset(&pf, 0, sizeof(pf));
	pf.use_ams = pf.flow_cali = pf.extrude_cali_flag = -1;
	pf.plate_idx = 1;
	snprintf(pf.param, sizeof(pf.param), "Metadata/plate_1.gcode");
	pf.nams_mapping = pf.nfilaments = 2;
	pf.ams_mapping[0] = 2;
	pf.ams_mapping[1] = 5;
	js.project = mapped ? &pf : NULL;
	js.trays = mapped ? trays : NULL;
	js.ntrays = mapped ? 2 : 0;
	ck_assert_msg(jobs_start(db, l, &js, &j, err) == 1, "%s", err);
	return j;
}

/* Stores the plan as the planner would (trays from the mapping), and marks the job planned. */
static void
store_plan(const struct job *j, int mapped)
{
	char		 id[32], layer[16], f[16], mm[32];
	const char	*p[4] = { id, layer, f, mm };
	size_t		 i;

	snprintf(id, sizeof(id), "%lld", j->id);
	exec_ok(mapped ? "INSERT INTO job_filaments (job_id, filament_index, "
	    "tray, density, diameter, mm) VALUES ($1, 0, 2, 1.24, 1.75, 190.5), "
	    "($1, 1, 5, 1.24, 1.75, 19.75)" : "INSERT INTO job_filaments "
	    "(job_id, filament_index, density, diameter, mm) VALUES "
	    "($1, 0, 1.24, 1.75, 190.5), ($1, 1, 1.24, 1.75, 19.75)", 1, p);
	for (i = 0; i < sizeof(plan) / sizeof(plan[0]); i++) {
		snprintf(layer, sizeof(layer), "%d", plan[i].layer);
		snprintf(f, sizeof(f), "%d", plan[i].f);
		snprintf(mm, sizeof(mm), "%.17g", plan[i].mm);
		exec_ok("INSERT INTO job_plan_layers (job_id, layer, "
		    "filament_index, mm) VALUES ($1, $2::int, $3::int, "
		    "$4::float8)", 4, p);
	}
	/* Layer 2: at 40 % filament 0 had drawn 12 mm; at 45 %, 18 mm and filament 1 3 mm. */
	exec_ok("INSERT INTO job_plan_marks (job_id, seq, percent, layer, "
	    "filament_index, mm) VALUES ($1, 1, 30, 1, 0, 5), "
	    "($1, 2, 40, 2, 0, 12), ($1, 3, 45, 2, 0, 18), ($1, 3, 45, 2, 1, 3)",
	    1, p);
	exec_ok("UPDATE print_jobs SET planned_at = now(), layer_count = 3 "
	    "WHERE id = $1", 1, p);
}

static long long
ledger_rows(const struct job *j)
{
	char		 id[32];
	const char	*p[1] = { id };

	snprintf(id, sizeof(id), "%lld", j->id);
	return scalar("SELECT count(*) FROM usage_ledger WHERE job_id = $1", 1,
	    p);
}

static double
ledger_mm(const struct job *j, int f)
{
	char		 id[32], fs[16];
	const char	*p[2] = { id, fs };

	snprintf(id, sizeof(id), "%lld", j->id);
	snprintf(fs, sizeof(fs), "%d", f);
	return real("SELECT coalesce(sum(mm), 0) FROM usage_ledger "
	    "WHERE job_id = $1 AND filament_index = $2::int", 2, p);
}

static double
outbox_g(int spool)
{
	char		 s[16];
	const char	*p[1] = { s };

	snprintf(s, sizeof(s), "%d", spool);
	return real("SELECT coalesce(sum(use_g), 0) FROM spoolman_outbox "
	    "WHERE spool_id = $1::int", 1, p);
}

static void
advance(const struct jobs_lease *l, struct job *j, int layer, int percent,
    const char *end, int tray)
{
	ck_assert_msg(jobs_advance(db, l, j, layer, percent, end, tray,
	    err) == 0, "%s", err);
}

START_TEST(layers_charged_once_in_order)
{
	struct jobs_lease	l = new_printer("p1");
	struct job		j, again;
	double			g0;

	assign(&l, 2, 11);
	j = start(&l, "task:77/78", 1);
	store_plan(&j, 1);
	advance(&l, &j, 0, 0, NULL, -1);
	ck_assert_int_eq(ledger_rows(&j), 0);	/* layer 0 still printing */
	advance(&l, &j, 1, 5, NULL, -1);
	ck_assert_int_eq(ledger_rows(&j), 1);	/* layer 0 done */
	ck_assert_int_eq(j.checkpoint_layer, 0);
	advance(&l, &j, 1, 6, NULL, -1);	/* a repeated report */
	ck_assert_int_eq(ledger_rows(&j), 1);
	advance(&l, &j, 3, 70, NULL, -1);	/* catch-up: layers 1 and 2 */
	ck_assert_int_eq(ledger_rows(&j), 5);
	ck_assert_str_eq(j.state, "running");
	advance(&l, &j, -1, -1, "finished", -1);
	ck_assert_int_eq(ledger_rows(&j), 7);
	ck_assert_str_eq(j.state, "finished");
	ck_assert(fabs(ledger_mm(&j, 0) - PLAN_TOTAL_0) < 1e-9);
	ck_assert(fabs(ledger_mm(&j, 1) - PLAN_TOTAL_1) < 1e-9);
	/* Spool 11 (tray 2, filament 0) gets Spoolman's grams; tray 5 has no spool: no outbox row. */
	g0 = 1.24 * PLAN_TOTAL_0 * 3.14159265358979323846 * 0.875 * 0.875 / 1000;
	ck_assert_msg(fabs(outbox_g(11) - g0) < 1e-9, "%.12f %.12f",
	    outbox_g(11), g0);
	/* A replayed FINISH or start of the same print changes nothing. */
	advance(&l, &j, -1, -1, "finished", -1);
	ck_assert_int_eq(ledger_rows(&j), 7);
	memset(&again, 0, sizeof(again));
	{
		struct job_start js = { "task:77/78", "77", "78", "cube",
		    "cube.gcode", NULL, NULL, 0 };

		ck_assert_int_eq(jobs_start(db, &l, &js, &again, err), 0);
	}
}
END_TEST

START_TEST(failed_charges_last_progress_mark)
{
	struct jobs_lease	l = new_printer("p2");
	struct job		j;

	assign(&l, 2, 21);
	assign(&l, 5, 22);
	j = start(&l, "task:80/81", 1);
	store_plan(&j, 1);
	advance(&l, &j, 2, 40, NULL, -1);
	advance(&l, &j, 2, 44, NULL, -1);
	/* The firmware resets layer_num and mc_percent to 0 on cancel: nothing goes back. */
	advance(&l, &j, 0, 0, NULL, -1);
	ck_assert_int_eq(j.reported_layer, 2);
	advance(&l, &j, -1, -1, "cancelled", -1);
	ck_assert_str_eq(j.state, "cancelled");
	/* Layers 0 and 1 whole, plus layer 2 up to the mark of 40 % (44 % reached, 45 % not). */
	ck_assert(fabs(ledger_mm(&j, 0) - (100.5 + 40 + 12)) < 1e-9);
	ck_assert(fabs(ledger_mm(&j, 1) - 12.25) < 1e-9);
	ck_assert_int_eq(ledger_rows(&j), 4);
	advance(&l, &j, -1, -1, "cancelled", -1);
	ck_assert_int_eq(ledger_rows(&j), 4);
}
END_TEST

START_TEST(late_plan_catches_up)
{
	struct jobs_lease	l = new_printer("p3");
	struct job		j;

	j = start(&l, "task:90/91", 1);
	advance(&l, &j, 3, 80, NULL, -1);	/* no plan yet: only recorded */
	ck_assert_int_eq(ledger_rows(&j), 0);
	advance(&l, &j, -1, -1, "finished", -1);
	ck_assert_int_eq(ledger_rows(&j), 0);
	store_plan(&j, 1);
	advance(&l, &j, -1, -1, NULL, -1);	/* what tracker_planned does */
	ck_assert_int_eq(ledger_rows(&j), 7);
	ck_assert_str_eq(j.state, "finished");
	/* Spool unknown: recorded, not dropped, no outbox row. */
	{
		char id[32];
		const char *p[1] = { id };

		snprintf(id, sizeof(id), "%lld", j.id);
		ck_assert_int_eq(scalar("SELECT count(*) FROM usage_ledger "
		    "WHERE job_id = $1 AND spool_id IS NULL", 1, p), 7);
	}
}
END_TEST

START_TEST(no_mapping_follows_tray_now)
{
	struct jobs_lease	l = new_printer("p4");
	struct job		j;

	assign(&l, 3, 41);
	j = start(&l, "local:cube@1", 0);
	store_plan(&j, 0);
	advance(&l, &j, 2, 50, NULL, 3);
	ck_assert_int_eq(ledger_rows(&j), 3);
	ck_assert(fabs(outbox_g(41) - 1.24 * (100.5 + 40 + 12.25) *
	    3.14159265358979323846 * 0.875 * 0.875 / 1000) < 1e-9);
}
END_TEST

START_TEST(lost_lease_writes_nothing)
{
	struct jobs_lease	l = new_printer("p5"), stale;
	struct job		j;
	char			pid[32];
	const char		*p[3] = { pid, "w2", "1 hour" };

	j = start(&l, "task:95/96", 1);
	store_plan(&j, 1);
	snprintf(pid, sizeof(pid), "%lld", l.printer_id);
	exec_ok("UPDATE worker_leases SET expires_at = now() - interval '1 s' "
	    "WHERE printer_id = $1", 1, p);
	ck_assert_int_gt(scalar("SELECT lease_acquire($1, $2, $3::interval)",
	    3, p), l.token);
	stale = l;
	ck_assert_int_eq(jobs_advance(db, &stale, &j, 3, 50, NULL, -1, err),
	    -1);
	ck_assert(db_is(db, DB_LEASE_LOST));
	ck_assert_int_eq(ledger_rows(&j), 0);
}
END_TEST

static void
setup(void)
{
	const char *conninfo = getenv("SK_TEST_DATABASE");

	ck_assert_msg(conninfo != NULL, "SK_TEST_DATABASE is not set");
	ck_assert_msg(db_open(conninfo, &db, err) == 0, "%s", err);
}

static void
teardown(void)
{
	db_close(db);
}

int
main(void)
{
	Suite	*s = suite_create("jobs");
	TCase	*t = tcase_create("jobs");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, layers_charged_once_in_order);
	tcase_add_test(t, failed_charges_last_progress_mark);
	tcase_add_test(t, late_plan_catches_up);
	tcase_add_test(t, no_mapping_follows_tray_now);
	tcase_add_test(t, lost_lease_writes_nothing);
	suite_add_tcase(s, t);
	return ck_run(s);
}
