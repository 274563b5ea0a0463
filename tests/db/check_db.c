/* check_db.c: tests of db.c and of the schema (constraints, triggers, leases, views, NOTIFY) on a real PostgreSQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "db.h"
#include "errbuf.h"
#include "../harness/ckrun.h"
#include "../harness/testdb.h"

/*
 * SK_TEST_DATABASE: the conninfo of a database that `spoolkeeper migrate` has built (tests/db/test_schema.sh
 * makes one on the cluster of tests/harness/pg.sh).  Every test but the NOTIFY ones runs inside a transaction
 * that the fixture rolls back, so tests see only their own rows.
 */
static const char	*conninfo;
static struct db	*db;
static char		 err[ERRBUF_LEN];

static void
open_tx(void)
{
	ck_assert_msg(db_open(conninfo, &db, err) == 0, "db_open: %s", err);
	ck_assert_msg(db_begin(db, err) == 0, "BEGIN: %s", err);
	ck_assert_msg(db_exec(db, "SET LOCAL TimeZone = 'UTC'", 0, NULL, NULL,
	    err) == 0, "%s", err);
}

static void
close_tx(void)
{
	if (db != NULL) {
		db_rollback(db);
		db_close(db);
		db = NULL;
	}
}

/* The SQL helpers of tests/harness/testdb.h, on db. */
#define ok(...)		testdb_ok(db, __VA_ARGS__)
#define one(...)	testdb_one(db, __VA_ARGS__)

/*
 * Runs a statement that must fail with SQLSTATE state ("23505|23P01": either) and, if constraint is not NULL,
 * name that constraint; inside a savepoint so the transaction goes on.
 */
static void
fails(const char *state, const char *constraint, const char *sql, int n,
    const char *const *p)
{
	char	got[DB_SQLSTATE_LEN], con[DB_NAME_LEN];

	ok("SAVEPOINT t", 0, NULL);
	ck_assert_msg(db_exec(db, sql, n, p, NULL, err) == -1,
	    "%s: succeeded, want SQLSTATE %s", sql, state);
	snprintf(got, sizeof(got), "%s", db_sqlstate(db));
	snprintf(con, sizeof(con), "%s", db_constraint(db));
	ok("ROLLBACK TO SAVEPOINT t", 0, NULL);
	ck_assert_msg(strlen(got) == 5 && strstr(state, got) != NULL,
	    "%s: SQLSTATE %s (%s), want %s", sql, got, err, state);
	if (constraint != NULL)
		ck_assert_msg(strcmp(con, constraint) == 0,
		    "%s: constraint '%s', want '%s' (%s)", sql, con, constraint,
		    err);
}

/* Adds a printer; returns its id (static). */
static const char *
add_printer(const char *name, const char *serial)
{
	static char	id[32];

	snprintf(id, sizeof(id), "%s", one("INSERT INTO printers (name, host, "
	    "serial, access_code) VALUES ($1, '10.0.0.9', $2, '12345678') "
	    "RETURNING id", PARAMS(name, serial)));
	return id;
}

/*
 * Adds a running job on printer with two filaments: 0 PLA (planned 5 g) and 1 PETG (planned 1 g), a three-layer
 * plan, and two progress marks.  Returns the job id (static).
 */
static const char *
add_job(const char *printer, const char *key, const char *state)
{
	static char	id[32];

	snprintf(id, sizeof(id), "%s", one("INSERT INTO print_jobs (printer_id, "
	    "job_key, state, ended_at, layer_count) VALUES ($1::bigint, $2, $3, "
	    "CASE WHEN $3 IN ('preparing', 'running', 'paused') THEN NULL ELSE "
	    "now() END, 3) RETURNING id", PARAMS(printer, key, state)));
	ok("INSERT INTO job_filaments (job_id, filament_index, type, color, "
	    "density, diameter, mm, slicer_mm, grams) VALUES "
	    "($1::bigint, 0, 'PLA', '#FFFFFF', 1.24, 1.75, 1000, 999, 5), "
	    "($1::bigint, 1, 'PETG', '#000000', 1.27, 1.75, 200, 200, 1)",
	    PARAMS(id));
	ok("INSERT INTO job_plan_layers (job_id, layer, filament_index, mm) "
	    "VALUES ($1::bigint, 0, 0, 100), ($1::bigint, 1, 0, 50), "
	    "($1::bigint, 1, 1, -13.29), ($1::bigint, 2, 1, 40)", PARAMS(id));
	ok("INSERT INTO job_plan_marks (job_id, seq, percent, layer, "
	    "filament_index, mm) VALUES ($1::bigint, 0, 10, 2, 1, 8), "
	    "($1::bigint, 1, 40, 2, 1, 10)", PARAMS(id));
	return id;
}

/* Inserts a ledger row; returns its id (static). */
static const char *
charge(const char *job, const char *layer, const char *fil, const char *kind,
    const char *percent, const char *spool, const char *mm, const char *g,
    const char *at)
{
	static char	id[32];

	snprintf(id, sizeof(id), "%s", one("INSERT INTO usage_ledger (job_id, "
	    "layer, filament_index, kind, percent, spool_id, mm, grams, "
	    "created_at) VALUES ($1::bigint, $2::integer, $3::integer, $4, "
	    "$5::integer, $6::integer, $7::float8, $8::float8, "
	    "coalesce($9::timestamptz, now())) RETURNING id",
	    PARAMS(job, layer, fil, kind, percent, spool, mm, g, at)));
	return id;
}

/* --- db.c --- */

START_TEST(test_results)
{
	struct db_result	*r;
	long long		 v;
	double			 d;

	ck_assert_int_eq(db_exec(db, "SELECT $1::bigint AS a, $2 AS b, "
	    "$3::text AS c, $4::float8 AS d, $5::boolean AS e",
	    PARAMS("9007199254740993", "x y", NULL, "2.5", "true"), &r, err), 0);
	ck_assert_int_eq(db_result_rows(r), 1);
	ck_assert_int_eq(db_result_cols(r), 5);
	ck_assert_str_eq(db_result_name(r, 1), "b");
	ck_assert_ptr_null(db_result_name(r, 5));
	ck_assert_int_eq(db_result_int64(r, 0, 0, &v), 0);
	ck_assert(v == 9007199254740993LL);
	ck_assert_str_eq(db_result_get(r, 0, 1), "x y");
	ck_assert_ptr_null(db_result_get(r, 0, 2));
	ck_assert_int_eq(db_result_int64(r, 0, 2, &v), -1);
	ck_assert_int_eq(db_result_int64(r, 0, 1, &v), -1);
	ck_assert_int_eq(db_result_double(r, 0, 3, &d), 0);
	ck_assert(d == 2.5);
	ck_assert_int_eq(db_result_bool(r, 0, 4), 1);
	ck_assert_int_eq(db_result_bool(r, 0, 1), -1);
	ck_assert_ptr_null(db_result_get(r, 1, 0));
	ck_assert_ptr_null(db_result_get(r, 0, -1));
	ck_assert_int_eq((int)db_result_affected(r), 1);
	db_result_free(r);

	ok("CREATE TEMP TABLE t (x int)", 0, NULL);
	ck_assert_int_eq(db_exec(db, "INSERT INTO t SELECT generate_series(1, 3)",
	    0, NULL, &r, err), 0);
	ck_assert_int_eq((int)db_result_affected(r), 3);
	ck_assert_int_eq(db_result_rows(r), 0);
	db_result_free(r);
	ck_assert_int_eq(db_exec(db, "SELECT 'NaN'::float8", 0, NULL, &r, err), 0);
	ck_assert_int_eq(db_result_double(r, 0, 0, &d), -1);
	db_result_free(r);
}
END_TEST

/* A value that looks like SQL stays a value. */
START_TEST(test_parameters_are_values)
{
	const char	*evil = "x'); DROP TABLE printers; --";
	const char	*id = add_printer(evil, "EVIL1");

	ck_assert_str_eq(one("SELECT name FROM printers WHERE id = $1::bigint",
	    PARAMS(id)), evil);
	ck_assert_str_eq(one("SELECT count(*) FROM printers WHERE serial = "
	    "'EVIL1'", 0, NULL), "1");
}
END_TEST

START_TEST(test_sqlstate)
{
	ck_assert_int_eq(db_exec(db, "SELEC 1", 0, NULL, NULL, err), -1);
	ck_assert_str_eq(db_sqlstate(db), "42601");
	ck_assert_int_eq(db_errpos(db), 1);
	ck_assert_ptr_null(strchr(err, '\n'));
	ck_assert_ptr_nonnull(strstr(err, "(SQLSTATE 42601)"));
	db_rollback(db);
	/* The rollback keeps the failure's SQLSTATE for the caller to decide on. */
	ck_assert(db_is(db, "42601"));
	ck_assert_int_eq(db_in_transaction(db), 0);

	ck_assert_int_eq(db_begin(db, err), 0);
	ck_assert_int_eq(db_in_transaction(db), 1);
	ck_assert_int_eq(db_exec(db, "SELECT 1 / 0", 0, NULL, NULL, err), -1);
	ck_assert(db_is(db, "22012"));
	ck_assert_int_eq(db_commit(db, err), -1);
	ck_assert(db_is(db, "25P02"));
	ck_assert_int_eq(db_in_transaction(db), 0);
	ck_assert_int_eq(db_exec(db, "SELECT 1", 0, NULL, NULL, err), 0);
	ck_assert_str_eq(db_sqlstate(db), "");
	ck_assert_int_eq(db_begin(db, err), 0);	/* for the fixture */
}
END_TEST

START_TEST(test_open_fails)
{
	struct db	*d = (struct db *)&d;

	ck_assert_int_eq(db_open("host=/nonexistent-sk port=1 dbname=x "
	    "connect_timeout=2", &d, err), -1);
	ck_assert_ptr_null(d);
	ck_assert_ptr_nonnull(strstr(err, "cannot connect to the database"));
	ck_assert_ptr_null(strchr(err, '\n'));
	ck_assert_int_eq(db_open("nonsense_keyword=1", &d, err), -1);
	ck_assert_ptr_null(d);
}
END_TEST

/* A CHECK violation's error never repeats the row (it may hold an access code). */
START_TEST(test_check_error_hides_row)
{
	ck_assert_int_eq(db_exec(db, "INSERT INTO printers (name, host, serial, "
	    "access_code) VALUES ('p', 'h', 'bad serial', 'SECRET123')", 0, NULL,
	    NULL, err), -1);
	ck_assert(db_is(db, DB_CHECK_VIOLATION));
	ck_assert_str_eq(db_constraint(db), "printers_serial_check");
	ck_assert_ptr_null(strstr(err, "SECRET123"));
}
END_TEST

/* The first column of the first row of a db_exec_prepared() that must succeed (into buf), and its column count. */
static const char *
prepared_one(struct db *d, const char *sql, int n, const char *const *p, char *buf, size_t len, int *cols)
{
	struct db_result *r;

	ck_assert_msg(db_exec_prepared(d, sql, n, p, &r, err) == 0, "%s: %s", sql, err);
	ck_assert_int_eq(db_result_rows(r), 1);
	snprintf(buf, len, "%s", db_result_get(r, 0, 0));
	*cols = db_result_cols(r);
	db_result_free(r);
	return buf;
}

/*
 * db_exec_prepared(): the same answers as db_exec(), more statements than it keeps, and a statement whose result
 * a migration changed (here ALTER TABLE on a temporary table, on the same connection): run again at once outside
 * a transaction; inside one, the error, and the statement works once the transaction is retried.
 */
START_TEST(test_prepared)
{
	static const char	*const select_all = "SELECT * FROM sk_prep";
	struct db		*d;
	const char		*p[1] = { "41" };
	char			 buf[32], sql[48];
	int			 i, cols;

	ck_assert_msg(db_open(conninfo, &d, err) == 0, "db_open: %s", err);
	ck_assert_str_eq(prepared_one(d, "SELECT $1::int + 1", 1, p, buf, sizeof(buf), &cols), "42");
	ck_assert_str_eq(prepared_one(d, "SELECT $1::int + 1", 1, p, buf, sizeof(buf), &cols), "42");
	ck_assert_msg(db_exec_script(d, "CREATE TEMP TABLE sk_prep (a int); INSERT INTO sk_prep VALUES (1)",
	    err) == 0, "%s", err);
	for (i = 0; i < 6; i++) {	/* past the 5 custom plans before a generic one */
		prepared_one(d, select_all, 0, NULL, buf, sizeof(buf), &cols);
		ck_assert_int_eq(cols, 1);
	}
	ck_assert_msg(db_exec_script(d, "ALTER TABLE sk_prep ADD COLUMN b int DEFAULT 2", err) == 0, "%s", err);
	prepared_one(d, select_all, 0, NULL, buf, sizeof(buf), &cols);
	ck_assert_int_eq(cols, 2);

	ck_assert_msg(db_exec_script(d, "ALTER TABLE sk_prep ADD COLUMN c int DEFAULT 3", err) == 0, "%s", err);
	ck_assert_int_eq(db_begin(d, err), 0);
	ck_assert_int_eq(db_exec_prepared(d, select_all, 0, NULL, NULL, err), -1);
	ck_assert_str_eq(db_sqlstate(d), "0A000");
	db_rollback(d);
	prepared_one(d, select_all, 0, NULL, buf, sizeof(buf), &cols);
	ck_assert_int_eq(cols, 3);
	ck_assert_str_eq(prepared_one(d, "SELECT $1::int + 1", 1, p, buf, sizeof(buf), &cols), "42");

	/* Beyond the statements it keeps, db_exec() answers. */
	for (i = 0; i < 80; i++) {
		snprintf(sql, sizeof(sql), "SELECT %d + $1::int", i);
		snprintf(buf, sizeof(buf), "%d", i + 41);
		ck_assert_str_eq(prepared_one(d, sql, 1, p, buf + 16, 16, &cols), buf);
	}
	db_close(d);
}
END_TEST

/* --- printers --- */

START_TEST(test_printer_defaults_and_uniques)
{
	const char	*id = add_printer("x1c", "01S00C123456789");

	ck_assert_str_eq(one("SELECT format('%s %s %s %s', mqtt_port, ftps_port, "
	    "insecure_tls, enabled) FROM printers WHERE id = $1::bigint",
	    PARAMS(id)), "8883 990 f t");
	fails(DB_UNIQUE_VIOLATION, "printers_serial_key", "INSERT INTO printers "
	    "(name, host, serial, access_code) VALUES ('other', 'h', "
	    "'01s00c123456789', 'c')", 0, NULL);
	fails(DB_UNIQUE_VIOLATION, "printers_name_key", "INSERT INTO printers "
	    "(name, host, serial, access_code) VALUES ('X1C', 'h', 'S2', 'c')",
	    0, NULL);
	fails(DB_CHECK_VIOLATION, "printers_name_check", "INSERT INTO printers "
	    "(name, host, serial, access_code) VALUES ('42', 'h', 'S3', 'c')",
	    0, NULL);
	fails(DB_CHECK_VIOLATION, "printers_mqtt_port_check", "INSERT INTO "
	    "printers (name, host, serial, access_code, mqtt_port) VALUES "
	    "('p', 'h', 'S4', 'c', 70000)", 0, NULL);
}
END_TEST

/* --- trays --- */

START_TEST(test_tray_history)
{
	char	a[32], b[32];

	snprintf(a, sizeof(a), "%s", add_printer("a", "SA"));
	snprintf(b, sizeof(b), "%s", add_printer("b", "SB"));
	ok("INSERT INTO tray_assignments (printer_id, tray, spool_id, valid_from, "
	    "valid_to) VALUES ($1::bigint, 0, 10, '2026-01-01', '2026-01-02'), "
	    "($1::bigint, 0, 11, '2026-01-02', NULL)", PARAMS(a));
	/* The layer printed at a given time goes to the spool of that time. */
	ck_assert_str_eq(one("SELECT spool_id FROM tray_assignments WHERE "
	    "printer_id = $1::bigint AND tray = 0 AND tstzrange(valid_from, "
	    "valid_to) @> '2026-01-01 12:00'::timestamptz", PARAMS(a)), "10");
	ck_assert_str_eq(one("SELECT spool_id FROM tray_assignments WHERE "
	    "printer_id = $1::bigint AND tray = 0 AND tstzrange(valid_from, "
	    "valid_to) @> '2026-01-02'::timestamptz", PARAMS(a)), "11");
	/* A second open assignment of the tray (the unique index or the exclusion constraint), or an overlap. */
	fails(DB_UNIQUE_VIOLATION "|" DB_EXCLUSION_VIOLATION, NULL, "INSERT INTO tray_assignments (printer_id,"
	    " tray, spool_id, valid_from) VALUES ($1::bigint, 0, 12, now())",
	    PARAMS(a));
	fails(DB_EXCLUSION_VIOLATION, "tray_assignments_tray_excl", "INSERT INTO "
	    "tray_assignments (printer_id, tray, spool_id, valid_from, valid_to) "
	    "VALUES ($1::bigint, 0, 12, '2026-01-01 06:00', '2026-01-01 07:00')",
	    PARAMS(a));
	/* The same spool in another printer's tray at the same time. */
	fails(DB_UNIQUE_VIOLATION "|" DB_EXCLUSION_VIOLATION, NULL, "INSERT INTO "
	    "tray_assignments (printer_id, tray, spool_id) VALUES ($1::bigint, 5,"
	    " 11)", PARAMS(b));
	fails(DB_EXCLUSION_VIOLATION, "tray_assignments_spool_excl", "INSERT INTO"
	    " tray_assignments (printer_id, tray, spool_id, valid_from, valid_to)"
	    " VALUES ($1::bigint, 5, 10, '2026-01-01 06:00', '2026-01-01 07:00')",
	    PARAMS(b));
	/* Before and after are fine. */
	ok("INSERT INTO tray_assignments (printer_id, tray, spool_id, valid_from, "
	    "valid_to) VALUES ($1::bigint, 5, 10, '2025-12-01', '2026-01-01')",
	    PARAMS(b));
	fails(DB_CHECK_VIOLATION, "tray_assignments_tray_check", "INSERT INTO "
	    "tray_assignments (printer_id, tray, spool_id) VALUES ($1::bigint, "
	    "200, 20)", PARAMS(b));
	fails(DB_CHECK_VIOLATION, "tray_assignments_period_check", "INSERT INTO "
	    "tray_assignments (printer_id, tray, spool_id, valid_from, valid_to) "
	    "VALUES ($1::bigint, 6, 21, '2026-01-02', '2026-01-01')", PARAMS(b));
	ok("INSERT INTO tray_assignments (printer_id, tray, spool_id) VALUES "
	    "($1::bigint, 128, 30), ($1::bigint, 254, 31), ($1::bigint, 255, 32)",
	    PARAMS(b));
	ck_assert_str_eq(one("SELECT string_agg(tray_label, ',' ORDER BY tray) "
	    "FROM trays_now WHERE printer_id = $1::bigint", PARAMS(b)),
	    "AMS HT 1,external 254,external 255");
	ck_assert_str_eq(one("SELECT tray_label(7)", 0, NULL), "AMS 2 slot 4");
}
END_TEST

/* --- jobs --- */

START_TEST(test_job_constraints)
{
	const char	*p = add_printer("p", "SP");
	char		 j[32];

	snprintf(j, sizeof(j), "%s", add_job(p, "task-1", "running"));
	fails(DB_UNIQUE_VIOLATION, "print_jobs_key", "INSERT INTO print_jobs "
	    "(printer_id, job_key, state, ended_at) VALUES ($1::bigint, 'task-1',"
	    " 'finished', now())", PARAMS(p));
	fails(DB_UNIQUE_VIOLATION, "print_jobs_one_active", "INSERT INTO "
	    "print_jobs (printer_id, job_key) VALUES ($1::bigint, 'task-2')",
	    PARAMS(p));
	fails(DB_CHECK_VIOLATION, "print_jobs_ended_check", "UPDATE print_jobs "
	    "SET state = 'finished' WHERE id = $1::bigint", PARAMS(j));
	fails(DB_CHECK_VIOLATION, "print_jobs_state_check", "UPDATE print_jobs "
	    "SET state = 'done' WHERE id = $1::bigint", PARAMS(j));
	/* The checkpoint only moves forward, whatever the firmware reports. */
	ok("UPDATE print_jobs SET checkpoint_layer = 2, checkpoint_percent = 40 "
	    "WHERE id = $1::bigint", PARAMS(j));
	fails(DB_CHECK_VIOLATION, "print_jobs_checkpoint_monotonic", "UPDATE "
	    "print_jobs SET checkpoint_layer = 0 WHERE id = $1::bigint", PARAMS(j));
	fails(DB_CHECK_VIOLATION, "print_jobs_checkpoint_monotonic", "UPDATE "
	    "print_jobs SET checkpoint_percent = 0 WHERE id = $1::bigint",
	    PARAMS(j));
	fails(DB_CHECK_VIOLATION, "print_jobs_checkpoint_check", "UPDATE "
	    "print_jobs SET checkpoint_layer = 4 WHERE id = $1::bigint", PARAMS(j));
	ok("UPDATE print_jobs SET state = 'cancelled', ended_at = now(), "
	    "checkpoint_layer = 2 WHERE id = $1::bigint", PARAMS(j));
	ck_assert_str_eq(one("SELECT format('%s %s %s', state, checkpoint_layer, "
	    "checkpoint_percent) FROM print_jobs WHERE id = $1::bigint",
	    PARAMS(j)), "cancelled 2 40");
	/* Now the printer may start the next one. */
	ok("INSERT INTO print_jobs (printer_id, job_key) VALUES ($1::bigint, "
	    "'task-2')", PARAMS(p));
	fails(DB_FOREIGN_KEY_VIOLATION, NULL, "INSERT INTO job_plan_layers "
	    "(job_id, layer, filament_index, mm) VALUES ($1::bigint, 0, 5, 1)",
	    PARAMS(j));
	fails(DB_CHECK_VIOLATION, "job_plan_layers_mm_check", "INSERT INTO "
	    "job_plan_layers (job_id, layer, filament_index, mm) VALUES "
	    "($1::bigint, 3, 0, 'NaN')", PARAMS(j));
}
END_TEST

/* --- ledger --- */

START_TEST(test_ledger_charges_once)
{
	const char	*p = add_printer("p", "SP");
	char		 j[32];

	snprintf(j, sizeof(j), "%s", add_job(p, "k", "running"));
	charge(j, "1", "0", "layer", NULL, "5", "50", "0.75", NULL);
	fails(DB_UNIQUE_VIOLATION, "usage_ledger_once", "INSERT INTO usage_ledger "
	    "(job_id, layer, filament_index, spool_id, mm, grams) VALUES "
	    "($1::bigint, 1, 0, 5, 50, 0.75)", PARAMS(j));
	/* How the worker writes: a replay is a no-op. */
	ck_assert_str_eq(one("WITH ins AS (INSERT INTO usage_ledger (job_id, "
	    "layer, filament_index, spool_id, mm, grams) VALUES ($1::bigint, 1, 0,"
	    " 5, 50, 0.75) ON CONFLICT ON CONSTRAINT usage_ledger_once DO NOTHING "
	    "RETURNING id) SELECT count(*) FROM ins", PARAMS(j)), "0");
	/* The part of layer 2 printed before a cancel at 40 %. */
	charge(j, "2", "1", "partial", "40", NULL, "10", "0.125", NULL);
	fails(DB_UNIQUE_VIOLATION, "usage_ledger_once", "INSERT INTO usage_ledger "
	    "(job_id, layer, filament_index, kind, percent, mm) VALUES "
	    "($1::bigint, 2, 1, 'partial', 40, 10)", PARAMS(j));
	fails(DB_CHECK_VIOLATION, "usage_ledger_partial_check", "INSERT INTO "
	    "usage_ledger (job_id, layer, filament_index, kind, mm) VALUES "
	    "($1::bigint, 0, 1, 'partial', 10)", PARAMS(j));
	fails(DB_FOREIGN_KEY_VIOLATION, NULL, "INSERT INTO usage_ledger (job_id, "
	    "layer, filament_index, mm) VALUES ($1::bigint, 0, 7, 1)", PARAMS(j));
	ck_assert_str_eq(one("SELECT count(*) || ' ' || sum(mm) || ' ' || "
	    "sum(grams) FROM usage_ledger WHERE job_id = $1::bigint", PARAMS(j)),
	    "2 60 0.875");
}
END_TEST

START_TEST(test_ledger_refuses_absurd)
{
	const char	*p = add_printer("p", "SP");
	char		 j[32];
	const char	*bad[][3] = {
		{ "NaN", "1", "usage_ledger_mm_check" },
		{ "Infinity", "1", "usage_ledger_mm_check" },
		{ "-Infinity", "1", "usage_ledger_mm_check" },
		{ "2000000", "1", "usage_ledger_mm_check" },
		{ "1", "NaN", "usage_ledger_grams_check" },
		{ "1", "Infinity", "usage_ledger_grams_check" },
		{ "1", "-5000", "usage_ledger_grams_check" },
		{ "1", "-100.5", "usage_ledger_grams_check" },
		{ "1", "1e6", "usage_ledger_grams_check" },
	};
	size_t		 i;

	snprintf(j, sizeof(j), "%s", add_job(p, "k", "running"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		fails(DB_CHECK_VIOLATION, bad[i][2], "INSERT INTO usage_ledger "
		    "(job_id, layer, filament_index, mm, grams) VALUES ($1::bigint, "
		    "1, 0, $2::float8, $3::float8)", PARAMS(j, bad[i][0], bad[i][1]));
	fails(DB_CHECK_VIOLATION, "usage_ledger_tray_check", "INSERT INTO "
	    "usage_ledger (job_id, layer, filament_index, tray, mm) VALUES "
	    "($1::bigint, 1, 0, 253, 1)", PARAMS(j));
	fails(DB_CHECK_VIOLATION, "usage_ledger_spool_check", "INSERT INTO "
	    "usage_ledger (job_id, layer, filament_index, spool_id, mm) VALUES "
	    "($1::bigint, 1, 0, 0, 1)", PARAMS(j));
	/* A firmware long retraction makes a layer slightly negative (4-cubes sample: -13.29 mm). */
	charge(j, "1", "1", "layer", NULL, "5", "-13.29", "-0.0397", NULL);
	/* grams unknown (no density in the file): the length is still charged. */
	charge(j, "2", "1", "layer", NULL, NULL, "40", NULL, NULL);
}
END_TEST

START_TEST(test_ledger_append_only)
{
	const char	*p = add_printer("p", "SP");
	char		 j[32], id[32], unknown[32];

	snprintf(j, sizeof(j), "%s", add_job(p, "k", "running"));
	snprintf(id, sizeof(id), "%s", charge(j, "0", "0", "layer", NULL, "5",
	    "100", "1.5", NULL));
	snprintf(unknown, sizeof(unknown), "%s", charge(j, "1", "0", "layer",
	    NULL, NULL, "50", "0.75", NULL));
	fails(DB_INTEGRITY_VIOLATION, "usage_ledger_append_only", "UPDATE "
	    "usage_ledger SET mm = 1 WHERE id = $1::bigint", PARAMS(id));
	fails(DB_INTEGRITY_VIOLATION, "usage_ledger_append_only", "UPDATE "
	    "usage_ledger SET spool_id = 6 WHERE id = $1::bigint", PARAMS(id));
	fails(DB_INTEGRITY_VIOLATION, "usage_ledger_append_only", "DELETE FROM "
	    "usage_ledger WHERE id = $1::bigint", PARAMS(id));
	/* An unknown spool may be filled in, once. */
	ok("UPDATE usage_ledger SET spool_id = 7, tray = 3 WHERE id = $1::bigint",
	    PARAMS(unknown));
	fails(DB_INTEGRITY_VIOLATION, "usage_ledger_append_only", "UPDATE "
	    "usage_ledger SET spool_id = 8 WHERE id = $1::bigint", PARAMS(unknown));
	fails(DB_FOREIGN_KEY_VIOLATION, NULL, "DELETE FROM print_jobs WHERE id = "
	    "$1::bigint", PARAMS(j));
}
END_TEST

/* --- outbox --- */

START_TEST(test_outbox)
{
	const char	*p = add_printer("p", "SP");
	char		 j[32], l1[32], l2[32], l3[32], o1[32];

	snprintf(j, sizeof(j), "%s", add_job(p, "k", "running"));
	snprintf(l1, sizeof(l1), "%s", charge(j, "0", "0", "layer", NULL, "5",
	    "100", "1.5", NULL));
	snprintf(l2, sizeof(l2), "%s", charge(j, "1", "0", "layer", NULL, "5",
	    "50", "0.75", NULL));
	snprintf(l3, sizeof(l3), "%s", charge(j, "1", "1", "layer", NULL, NULL,
	    "20", "0.25", NULL));
	/* Spool and amounts come from the ledger row. */
	snprintf(o1, sizeof(o1), "%s", one("INSERT INTO spoolman_outbox "
	    "(ledger_id) VALUES ($1::bigint) RETURNING id", PARAMS(l1)));
	ck_assert_str_eq(one("SELECT format('%s %s %s %s %s', spool_id, use_mm, "
	    "use_g, state, attempts) FROM spoolman_outbox WHERE id = $1::bigint",
	    PARAMS(o1)), "5 100 1.5 pending 0");
	fails(DB_UNIQUE_VIOLATION, "spoolman_outbox_ledger_key", "INSERT INTO "
	    "spoolman_outbox (ledger_id) VALUES ($1::bigint)", PARAMS(l1));
	fails(DB_CHECK_VIOLATION, "spoolman_outbox_ledger_check", "INSERT INTO "
	    "spoolman_outbox (ledger_id, spool_id, use_mm) VALUES ($1::bigint, 5,"
	    " 99)", PARAMS(l2));
	fails(DB_CHECK_VIOLATION, "spoolman_outbox_ledger_check", "INSERT INTO "
	    "spoolman_outbox (ledger_id) VALUES ($1::bigint)", PARAMS(l3));
	fails(DB_CHECK_VIOLATION, "spoolman_outbox_use_g_check", "INSERT INTO "
	    "spoolman_outbox (spool_id, use_mm, use_g) VALUES (5, 1, 'NaN')",
	    0, NULL);
	ok("INSERT INTO spoolman_outbox (ledger_id) VALUES ($1::bigint)",
	    PARAMS(l2));

	/* Claim both rows of spool 5 as one request; a second claim of the spool is refused. */
	ok("UPDATE spoolman_outbox SET state = 'inflight', claim_token = 1000, "
	    "claimed_by = 'w1', lease_until = now() + interval '30 s', attempts = "
	    "attempts + 1, pre_used_weight = 10 WHERE spool_id = 5", 0, NULL);
	ok("INSERT INTO spoolman_outbox (spool_id, use_mm, use_g) VALUES (5, 1, "
	    "0.01), (6, 1, 0.01)", 0, NULL);
	fails(DB_EXCLUSION_VIOLATION, "spoolman_outbox_one_inflight", "UPDATE "
	    "spoolman_outbox SET state = 'inflight', claim_token = 1001, "
	    "lease_until = now() WHERE spool_id = 5 AND state = 'pending'", 0,
	    NULL);
	ok("UPDATE spoolman_outbox SET state = 'inflight', claim_token = 1001, "
	    "lease_until = now() WHERE spool_id = 6", 0, NULL);
	fails(DB_CHECK_VIOLATION, "spoolman_outbox_inflight_check", "UPDATE "
	    "spoolman_outbox SET state = 'inflight' WHERE spool_id = 5 AND state "
	    "= 'pending'", 0, NULL);
	/* Completion is fenced by the token. */
	ck_assert_str_eq(one("WITH d AS (UPDATE spoolman_outbox SET state = "
	    "'done', done_at = now(), resolution = 'response', post_used_weight = "
	    "12.25 WHERE claim_token = 1000 AND state = 'inflight' RETURNING use_g)"
	    " SELECT count(*) || ' ' || sum(use_g) FROM d", 0, NULL), "2 2.25");
	fails(DB_CHECK_VIOLATION, "spoolman_outbox_final", "UPDATE spoolman_outbox"
	    " SET state = 'pending', done_at = NULL WHERE id = $1::bigint",
	    PARAMS(o1));
	fails(DB_CHECK_VIOLATION, "spoolman_outbox_final", "UPDATE spoolman_outbox"
	    " SET use_g = 3 WHERE spool_id = 6", 0, NULL);
	fails(DB_CHECK_VIOLATION, "spoolman_outbox_done_check", "UPDATE "
	    "spoolman_outbox SET state = 'done' WHERE spool_id = 6", 0, NULL);
	ok("UPDATE spoolman_outbox SET state = 'needs_review', last_error = "
	    "'404 No spool with ID 6 found.' WHERE spool_id = 6", 0, NULL);
}
END_TEST

/* --- leases --- */

START_TEST(test_leases)
{
	const char	*p = add_printer("p", "SP");
	char		 t1[32], t2[32];

	snprintf(t1, sizeof(t1), "%s", one("SELECT lease_acquire($1::bigint, "
	    "'w1', '30 s')", PARAMS(p)));
	ck_assert_str_ne(t1, "NULL");
	ck_assert_str_eq(one("SELECT lease_acquire($1::bigint, 'w2', '30 s')",
	    PARAMS(p)), "NULL");
	ck_assert_str_eq(one("SELECT lease_renew($1::bigint, $2::bigint, '30 s')",
	    PARAMS(p, t1)), "t");
	ok("SELECT lease_assert($1::bigint, $2::bigint)", PARAMS(p, t1));
	fails(DB_LEASE_LOST, NULL, "SELECT lease_assert($1::bigint, "
	    "$2::bigint + 1)", PARAMS(p, t1));
	fails("22023", NULL, "SELECT lease_acquire($1::bigint, 'w1', '-1 s')",
	    PARAMS(p));
	/* w1 stops renewing: once the lease has expired, w2 takes over with a larger token. */
	ok("UPDATE worker_leases SET expires_at = now() - interval '1 s' WHERE "
	    "printer_id = $1::bigint", PARAMS(p));
	fails(DB_LEASE_LOST, NULL, "SELECT lease_assert($1::bigint, $2::bigint)",
	    PARAMS(p, t1));
	snprintf(t2, sizeof(t2), "%s", one("SELECT lease_acquire($1::bigint, "
	    "'w2', '30 s')", PARAMS(p)));
	ck_assert_str_eq(one("SELECT $1::bigint > $2::bigint", PARAMS(t2, t1)),
	    "t");
	/* The old holder is fenced out. */
	fails(DB_LEASE_LOST, NULL, "SELECT lease_assert($1::bigint, $2::bigint)",
	    PARAMS(p, t1));
	ck_assert_str_eq(one("SELECT lease_renew($1::bigint, $2::bigint, '30 s')",
	    PARAMS(p, t1)), "f");
	ok("SELECT lease_assert($1::bigint, $2::bigint)", PARAMS(p, t2));
	ck_assert_str_eq(one("SELECT lease_release($1::bigint, $2::bigint)",
	    PARAMS(p, t2)), "t");
	fails(DB_LEASE_LOST, NULL, "SELECT lease_assert($1::bigint, $2::bigint)",
	    PARAMS(p, t2));
}
END_TEST

/* --- views --- */

/*
 * Printer A: job 1 (PLA filament 0 on spool 1, PETG filament 1 on spool 2, and a partial layer with no spool)
 * on 2026-01-10, job 2 (PLA, spool 1) on 2026-01-11; printer B: job 3 (PETG on spool 3, one layer negative) on
 * 2026-01-11.  Every figure is a binary fraction, so the sums are exact.
 */
static void
seed_views(char *a, char *b, char *j1)
{
	char	j2[32], j3[32], l[32];

	snprintf(a, 32, "%s", add_printer("view-a", "SVA"));
	snprintf(b, 32, "%s", add_printer("view-b", "SVB"));
	snprintf(j1, 32, "%s", add_job(a, "j1", "finished"));
	snprintf(j2, 32, "%s", add_job(a, "j2", "finished"));
	snprintf(j3, 32, "%s", add_job(b, "j3", "running"));
	ok("UPDATE job_filaments SET type = 'PETG' WHERE job_id = $1::bigint",
	    PARAMS(j3));
	snprintf(l, sizeof(l), "%s", charge(j1, "0", "0", "layer", NULL, "1",
	    "100", "1.5", "2026-01-10 10:00"));
	ok("INSERT INTO spoolman_outbox (ledger_id) VALUES ($1::bigint)",
	    PARAMS(l));
	ok("UPDATE spoolman_outbox SET state = 'done', done_at = now() WHERE "
	    "ledger_id = $1::bigint", PARAMS(l));
	snprintf(l, sizeof(l), "%s", charge(j1, "1", "0", "layer", NULL, "1",
	    "50", "0.75", "2026-01-10 10:01"));
	ok("INSERT INTO spoolman_outbox (ledger_id) VALUES ($1::bigint)",
	    PARAMS(l));
	charge(j1, "1", "1", "layer", NULL, "2", "20", "0.25", "2026-01-10 10:01");
	charge(j1, "2", "1", "partial", "40", NULL, "10", "0.125",
	    "2026-01-10 10:02");
	snprintf(l, sizeof(l), "%s", charge(j2, "0", "0", "layer", NULL, "1",
	    "200", "3", "2026-01-11 09:00"));
	ok("INSERT INTO spoolman_outbox (ledger_id, state) VALUES ($1::bigint, "
	    "'needs_review')", PARAMS(l));
	charge(j3, "0", "0", "layer", NULL, "3", "40", "0.5", "2026-01-11 23:59");
	charge(j3, "1", "0", "layer", NULL, "3", "-4", "-0.0625",
	    "2026-01-11 23:59:30");
}

/* All rows of a query, one per line, columns separated by spaces. */
static const char *
rows(const char *sql, int n, const char *const *p)
{
	static char		 buf[2048];
	struct db_result	*r;
	size_t			 len = 0;
	int			 i, k;

	ck_assert_msg(db_exec(db, sql, n, p, &r, err) == 0, "%s: %s", sql, err);
	buf[0] = '\0';
	for (i = 0; i < db_result_rows(r); i++)
		for (k = 0; k < db_result_cols(r); k++) {
			const char *v = db_result_get(r, i, k);

			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
			    "%s%s", v != NULL ? v : "NULL",
			    k + 1 < db_result_cols(r) ? " " : "\n");
			ck_assert(len < sizeof(buf));
		}
	db_result_free(r);
	return buf;
}

START_TEST(test_views)
{
	char	a[32], b[32], j1[32];

	seed_views(a, b, j1);
	ck_assert_str_eq(rows("SELECT printer, state, layers_charged, mm, grams, "
	    "grams_unknown_spool, planned_grams FROM usage_by_print WHERE "
	    "printer_id IN ($1::bigint, $2::bigint) ORDER BY job_id", PARAMS(a, b)),
	    "view-a finished 3 180 2.625 0.125 6\n"
	    "view-a finished 1 200 3 0 6\n"
	    "view-b running 2 36 0.4375 0 6\n");
	ck_assert_str_eq(rows("SELECT spool_id, prints, mm, grams, grams_sent, "
	    "grams_queued, grams_needs_review FROM usage_by_spool ORDER BY "
	    "spool_id NULLS LAST", 0, NULL),
	    "1 2 350 5.25 1.5 0.75 3\n"
	    "2 1 20 0.25 0 0 0\n"
	    "3 1 36 0.4375 0 0 0\n"
	    "NULL 1 10 0.125 0 0 0\n");
	ck_assert_str_eq(rows("SELECT printer, prints, mm, grams, last_used FROM "
	    "usage_by_printer WHERE printer_id IN ($1::bigint, $2::bigint) ORDER "
	    "BY printer", PARAMS(a, b)),
	    "view-a 2 380 5.625 2026-01-11 09:00:00+00\n"
	    "view-b 1 36 0.4375 2026-01-11 23:59:30+00\n");
	ck_assert_str_eq(rows("SELECT day, printer, prints, mm, grams FROM "
	    "usage_by_day ORDER BY day, printer", 0, NULL),
	    "2026-01-10 view-a 1 180 2.625\n"
	    "2026-01-11 view-a 1 200 3\n"
	    "2026-01-11 view-b 1 36 0.4375\n");
	/* The day follows the session's time zone: 23:59 UTC is the next day in Berlin. */
	ok("SET LOCAL TimeZone = 'Europe/Berlin'", 0, NULL);
	ck_assert_str_eq(rows("SELECT day, printer, mm FROM usage_by_day ORDER BY "
	    "day, printer", 0, NULL),
	    "2026-01-10 view-a 180\n"
	    "2026-01-11 view-a 200\n"
	    "2026-01-12 view-b 36\n");
	ck_assert_str_eq(rows("SELECT filament_type, prints, spools, mm, grams "
	    "FROM usage_by_filament_type ORDER BY filament_type", 0, NULL),
	    "PETG 2 2 66 0.8125\n"
	    "PLA 2 1 350 5.25\n");
}
END_TEST

/* --- NOTIFY (committed: these tests use their own names) --- */

static struct db	*listener;

static void
open_pair(void)
{
	ck_assert_msg(db_open(conninfo, &db, err) == 0, "db_open: %s", err);
	ck_assert_msg(db_open(conninfo, &listener, err) == 0, "db_open: %s",
	    err);
	ck_assert_int_eq(db_listen(listener, "spoolkeeper_settings", err), 0);
	ck_assert_int_eq(db_listen(listener, "spoolkeeper_outbox", err), 0);
	ck_assert_int_eq(db_listen(listener, "spoolkeeper_printers", err), 0);
}

static void
close_pair(void)
{
	close_tx();
	db_close(listener);
	listener = NULL;
}

/*
 * Collects the notifications that arrive within ms milliseconds as "channel:payload" lines.  Waits the whole
 * time only when fewer than want have arrived.
 */
static const char *
collect(int ms, int want)
{
	static char		 buf[1024];
	struct db_notify	*n;
	size_t			 len = 0;
	int			 got = 0, step;

	buf[0] = '\0';
	for (step = 0; step < ms / 50; step++) {
		for (;;) {
			ck_assert_int_eq(db_notify_next(listener, &n, err), 0);
			if (n == NULL)
				break;
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
			    "%s:%s\n", n->channel, n->payload);
			ck_assert(len < sizeof(buf));
			db_notify_free(n);
			got++;
		}
		if (want > 0 && got >= want)
			break;
		ck_assert_int_ge(db_wait(listener, 50, err), 0);
	}
	return buf;
}

START_TEST(test_notify_settings)
{
	ok("INSERT INTO settings (key, value) VALUES ('spoolman_url', "
	    "'http://127.0.0.1:7912') ON CONFLICT (key) DO UPDATE SET value = "
	    "EXCLUDED.value", 0, NULL);
	ck_assert_str_eq(collect(5000, 1), "spoolkeeper_settings:spoolman_url\n");
	ok("UPDATE settings SET value = 'https://spoolman.example:7912' WHERE "
	    "key = 'spoolman_url'", 0, NULL);
	ok("INSERT INTO settings (key, value) VALUES ('spoolman_user', 'admin')",
	    0, NULL);
	ok("DELETE FROM settings WHERE key = 'spoolman_user'", 0, NULL);
	ck_assert_str_eq(collect(5000, 3), "spoolkeeper_settings:spoolman_url\n"
	    "spoolkeeper_settings:spoolman_user\n"
	    "spoolkeeper_settings:spoolman_user\n");
	ck_assert_int_eq(db_exec(db, "UPDATE settings SET value = 'ftp://x' "
	    "WHERE key = 'spoolman_url'", 0, NULL, NULL, err), -1);
	ck_assert(db_is(db, DB_CHECK_VIOLATION));
	ck_assert_str_eq(db_constraint(db), "settings_spoolman_url_check");
	ck_assert_str_eq(collect(300, 0), "");
}
END_TEST

START_TEST(test_notify_outbox)
{
	char	id[32], want[64];

	/* Nothing before the commit; two rows for one spool fold into one notification. */
	ck_assert_int_eq(db_begin(db, err), 0);
	ok("INSERT INTO spoolman_outbox (spool_id, use_mm, use_g) VALUES "
	    "(424242, 10, 0.25), (424242, 20, 0.5)", 0, NULL);
	ck_assert_str_eq(collect(300, 0), "");
	ck_assert_int_eq(db_commit(db, err), 0);
	ck_assert_str_eq(collect(5000, 1), "spoolkeeper_outbox:424242\n");
	ck_assert_str_eq(collect(300, 0), "");
	/* A rolled-back insert says nothing. */
	ck_assert_int_eq(db_begin(db, err), 0);
	ok("INSERT INTO spoolman_outbox (spool_id, use_mm) VALUES (424243, 1)",
	    0, NULL);
	db_rollback(db);
	/* Back to pending after a review: the drain is woken again. */
	ok("UPDATE spoolman_outbox SET state = 'needs_review' WHERE spool_id = "
	    "424242", 0, NULL);
	ok("UPDATE spoolman_outbox SET state = 'pending' WHERE spool_id = 424242",
	    0, NULL);
	ck_assert_str_eq(collect(5000, 1), "spoolkeeper_outbox:424242\n");
	/* A new printer wakes the worker. */
	snprintf(id, sizeof(id), "%s", one("INSERT INTO printers (name, host, "
	    "serial, access_code) VALUES ('notify-test', 'h', 'SNOTIFY', 'c') "
	    "RETURNING id", 0, NULL));
	snprintf(want, sizeof(want), "spoolkeeper_printers:%s\n", id);
	ck_assert_str_eq(collect(5000, 1), want);
}
END_TEST

static Suite *
db_suite(void)
{
	Suite	*s = suite_create("db");
	TCase	*tc;
	size_t	 i;
	/* Not static: START_TEST's handles are not constant expressions. */
	const struct {
		const char	*name;
		const TTest	*test;
	} tx[] = {
		{ "results", test_results },
		{ "parameters", test_parameters_are_values },
		{ "sqlstate", test_sqlstate },
		{ "open", test_open_fails },
		{ "check_error", test_check_error_hides_row },
		{ "printers", test_printer_defaults_and_uniques },
		{ "trays", test_tray_history },
		{ "jobs", test_job_constraints },
		{ "ledger_once", test_ledger_charges_once },
		{ "ledger_absurd", test_ledger_refuses_absurd },
		{ "ledger_append_only", test_ledger_append_only },
		{ "outbox", test_outbox },
		{ "leases", test_leases },
		{ "views", test_views },
	};

	for (i = 0; i < sizeof(tx) / sizeof(tx[0]); i++)
		suite_add_tcase(s, ck_tcase(tx[i].name, tx[i].test, open_tx,
		    close_tx, 60));
	suite_add_tcase(s, ck_tcase("prepared", test_prepared, NULL, NULL, 60));
	tc = tcase_create("notify");
	tcase_add_checked_fixture(tc, open_pair, close_pair);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_notify_settings);
	tcase_add_test(tc, test_notify_outbox);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	conninfo = getenv("SK_TEST_DATABASE");
	if (conninfo == NULL || *conninfo == '\0') {
		fprintf(stderr, "check_db: SK_TEST_DATABASE is not set (run "
		    "tests/db/test_schema.sh)\n");
		return 1;
	}
	return ck_run(db_suite());
}
