/* cmd_tray.c: `spoolkeeper tray set|clear|list`: which Spoolman spool is in which tray, with its history. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "errbuf.h"

#define USAGE "usage: spoolkeeper tray set PRINTER TRAY SPOOL_ID [--move] | " \
	"tray clear PRINTER TRAY | tray list [PRINTER] [--history]"
#define TRAY_RULE "a tray is 0-127 (AMS unit * 4 + slot: 0-3 the first AMS, " \
	"4-7 the second...), 128-191 (AMS HT) or 254/255 (external spool)"

/* Every tray change holds this advisory lock ("sktrays_"), so concurrent changes queue up. */
#define LOCK_SQL	"SELECT pg_advisory_xact_lock(8316869171480195935)"

struct printer {
	char	id[24];
	char	name[128];
};

/* A whole decimal number in [lo, hi]; 0 or -1. */
static int
int_arg(const char *s, long lo, long hi, long *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Parses a tray id (the schema's tray_valid() rule) into its canonical decimal text.  0 or -1 printed. */
static int
tray_arg(const char *cmd, const char *s, char *out, size_t len)
{
	long	v;

	if (int_arg(s, 0, 255, &v) == -1 || (v > 191 && v < 254)) {
		fprintf(stderr, "spoolkeeper: %s: bad tray '%s': %s\n", cmd, s,
		    TRAY_RULE);
		return -1;
	}
	snprintf(out, len, "%ld", v);
	return 0;
}

/*
 * Finds a printer by id (all digits) or by name.  Returns 0, or -1 with the message printed (no such printer
 * or a database error).
 */
static int
find_printer(struct db *db, const char *cmd, const char *arg,
    struct printer *p)
{
	struct db_result	*r;
	const char		*params[1] = { arg };
	char			 err[ERRBUF_LEN];
	size_t			 n = strspn(arg, "0123456789");
	int			 byid = arg[0] != '\0' && arg[n] == '\0' && n < 19;

	if (db_exec(db, byid ? "SELECT id, name FROM printers WHERE id = "
	    "$1::bigint" : "SELECT id, name FROM printers WHERE name = $1",
	    1, params, &r, err) == -1) {
		fprintf(stderr, "spoolkeeper: %s: %s\n", cmd, err);
		return -1;
	}
	if (db_result_rows(r) == 0) {
		fprintf(stderr, "spoolkeeper: %s: no printer %s '%s' (see "
		    "spoolkeeper printer list)\n", cmd, byid ? "with id" :
		    "named", arg);
		db_result_free(r);
		return -1;
	}
	snprintf(p->id, sizeof(p->id), "%s", db_result_get(r, 0, 0));
	snprintf(p->name, sizeof(p->name), "%s", db_result_get(r, 0, 1));
	db_result_free(r);
	return 0;
}

/*
 * Starts the transaction of a tray change: BEGIN, the lock, the printer, and the timestamp (taken after the
 * lock, so that it is later than every assignment already committed) into ts.  0 or -1 with a message printed.
 */
static int
begin_change(struct db *db, const char *cmd, const char *arg,
    struct printer *p, char *ts, size_t tslen)
{
	struct db_result	*r;
	char			 err[ERRBUF_LEN];

	if (db_begin(db, err) == -1 ||
	    db_exec(db, LOCK_SQL, 0, NULL, NULL, err) == -1 ||
	    db_exec(db, "SELECT clock_timestamp()", 0, NULL, &r, err) == -1) {
		fprintf(stderr, "spoolkeeper: %s: %s\n", cmd, err);
		return -1;
	}
	snprintf(ts, tslen, "%s", db_result_get(r, 0, 0));
	db_result_free(r);
	return find_printer(db, cmd, arg, p);
}

/* Closes the open assignment with id `id` at ts (for --move).  0 or -1 with err. */
static int
move_spool(struct db *db, const char *id, const char *ts, char *err)
{
	const char	*p[2] = { id, ts };

	return db_exec(db, "UPDATE tray_assignments SET valid_to = "
	    "$2::timestamptz WHERE id = $1::bigint", 2, p, NULL, err);
}

/*
 * Looks where the spool is now.  Sets *where to a new result (printer id, printer name, tray, assignment id) or
 * NULL when it is in no tray.  0 or -1.
 */
static int
spool_now(struct db *db, const char *spool, struct db_result **where,
    char *err)
{
	const char		*p[1] = { spool };
	struct db_result	*r;

	*where = NULL;
	if (db_exec(db, "SELECT a.printer_id, p.name, a.tray, a.id, "
	    "tray_label(a.tray) FROM tray_assignments a JOIN printers p ON "
	    "p.id = a.printer_id WHERE a.spool_id = $1::integer AND "
	    "a.valid_to IS NULL", 1, p, &r, err) == -1)
		return -1;
	if (db_result_rows(r) == 0)
		db_result_free(r);
	else
		*where = r;
	return 0;
}

/* Closes the open assignment of a tray; *prev gets its spool ("" if the tray was empty).  0 or -1. */
static int
close_tray(struct db *db, const struct printer *pr, const char *tray,
    const char *ts, char *prev, size_t prevlen, char *err)
{
	const char		*p[3] = { pr->id, tray, ts };
	struct db_result	*r;

	if (db_exec(db, "UPDATE tray_assignments SET valid_to = $3::timestamptz "
	    "WHERE printer_id = $1::bigint AND tray = $2::integer AND valid_to "
	    "IS NULL RETURNING spool_id", 3, p, &r, err) == -1)
		return -1;
	snprintf(prev, prevlen, "%s", db_result_rows(r) > 0 ?
	    db_result_get(r, 0, 0) : "");
	db_result_free(r);
	return 0;
}

/* What `tray set` did, printed once the transaction has committed. */
struct set_outcome {
	int	already;	/* the spool was in this tray: nothing done */
	char	prev[24];	/* the spool the tray held, "" if empty */
	char	moved[192];	/* "printer P tray T" the spool was moved out of */
};

/*
 * The spool is already in a tray.  Returns 0 when that is this very tray (o->already) or it was moved out
 * (--move), -1 with the message printed when it may not move, -2 on a database error (err).
 */
static int
spool_elsewhere(struct db *db, const struct db_result *w,
    const struct printer *pr, const char *tray, const char *spool, int move,
    const char *ts, struct set_outcome *o, char *err)
{
	if (strcmp(db_result_get(w, 0, 0), pr->id) == 0 &&
	    strcmp(db_result_get(w, 0, 2), tray) == 0) {
		o->already = 1;
		return 0;
	}
	if (!move) {
		fprintf(stderr, "spoolkeeper: tray set: spool %s is in printer "
		    "%s tray %s (%s); use --move to move it\n", spool,
		    db_result_get(w, 0, 1), db_result_get(w, 0, 2),
		    db_result_get(w, 0, 4));
		return -1;
	}
	if (move_spool(db, db_result_get(w, 0, 3), ts, err) == -1)
		return -2;
	snprintf(o->moved, sizeof(o->moved), "printer %s tray %s",
	    db_result_get(w, 0, 1), db_result_get(w, 0, 2));
	return 0;
}

/* The body of `tray set` inside its transaction.  0 done, -1 printed, -2 database error (err). */
static int
set_in_tx(struct db *db, const struct printer *pr, const char *tray,
    const char *spool, int move, const char *ts, struct set_outcome *o,
    char *err)
{
	struct db_result	*w;
	const char		*p[4] = { pr->id, tray, spool, ts };
	int			 rc;

	memset(o, 0, sizeof(*o));
	if (spool_now(db, spool, &w, err) == -1)
		return -2;
	if (w != NULL) {
		rc = spool_elsewhere(db, w, pr, tray, spool, move, ts, o, err);
		db_result_free(w);
		if (rc != 0 || o->already)
			return rc;
	}
	if (close_tray(db, pr, tray, ts, o->prev, sizeof(o->prev), err) == -1 ||
	    db_exec(db, "INSERT INTO tray_assignments (printer_id, tray, "
	    "spool_id, valid_from) VALUES ($1::bigint, $2::integer, $3::integer,"
	    " $4::timestamptz)", 4, p, NULL, err) == -1)
		return -2;
	return 0;
}

static void
print_set(const struct printer *pr, const char *tray, const char *spool,
    const struct set_outcome *o)
{
	if (o->already) {
		printf("tray set: spool %s is already in printer %s tray %s\n",
		    spool, pr->name, tray);
		return;
	}
	printf("tray set: printer %s tray %s: spool %s (%s%s%s%s)\n", pr->name,
	    tray, spool, o->prev[0] != '\0' ? "was spool " : "was empty",
	    o->prev, o->moved[0] != '\0' ? "; moved from " : "", o->moved);
}

static int
tray_set(int argc, char *argv[])
{
	struct printer		 pr;
	struct set_outcome	 o;
	struct db		*db;
	char			 err[ERRBUF_LEN], ts[64], tray[8], spool[16];
	long			 v;
	int			 move = argc == 5 && strcmp(argv[4], "--move") == 0;
	int			 rc;

	if (argc != 4 && !move) {
		fprintf(stderr, "spoolkeeper: tray set: PRINTER TRAY SPOOL_ID "
		    "[--move] expected (%s)\n", USAGE);
		return 2;
	}
	if (tray_arg("tray set", argv[2], tray, sizeof(tray)) == -1)
		return 2;
	if (int_arg(argv[3], 1, 2147483647, &v) == -1) {
		fprintf(stderr, "spoolkeeper: tray set: bad spool id '%s': the "
		    "Spoolman spool id, a whole number from 1\n", argv[3]);
		return 2;
	}
	snprintf(spool, sizeof(spool), "%ld", v);
	if (cli_db_open("tray set", &db) == -1)
		return 1;
	if (begin_change(db, "tray set", argv[1], &pr, ts, sizeof(ts)) == -1) {
		db_rollback(db);
		db_close(db);
		return 1;
	}
	rc = set_in_tx(db, &pr, tray, spool, move, ts, &o, err);
	if (rc == 0 && db_commit(db, err) == -1)
		rc = -2;
	if (rc == 0)
		print_set(&pr, tray, spool, &o);
	else if (rc == -2 && (db_is(db, DB_UNIQUE_VIOLATION) ||
	    db_is(db, DB_EXCLUSION_VIOLATION)))
		/* Constraints are the fence should a change get past the lock. */
		fprintf(stderr, "spoolkeeper: tray set: spool %s or tray %s "
		    "changed meanwhile; try again\n", spool, tray);
	else if (rc == -2)
		fprintf(stderr, "spoolkeeper: tray set: %s\n", err);
	db_rollback(db);
	db_close(db);
	return rc < 0 ? 1 : fflush(stdout) == EOF;
}

static int
tray_clear(int argc, char *argv[])
{
	struct printer	 pr;
	struct db	*db;
	char		 err[ERRBUF_LEN], ts[64], prev[24], tray[8];

	if (argc != 3) {
		fprintf(stderr, "spoolkeeper: tray clear: PRINTER TRAY expected "
		    "(%s)\n", USAGE);
		return 2;
	}
	if (tray_arg("tray clear", argv[2], tray, sizeof(tray)) == -1)
		return 2;
	if (cli_db_open("tray clear", &db) == -1)
		return 1;
	if (begin_change(db, "tray clear", argv[1], &pr, ts, sizeof(ts)) == -1) {
		db_rollback(db);
		db_close(db);
		return 1;
	}
	if (close_tray(db, &pr, tray, ts, prev, sizeof(prev), err) == -1 ||
	    db_commit(db, err) == -1) {
		fprintf(stderr, "spoolkeeper: tray clear: %s\n", err);
		db_rollback(db);
		db_close(db);
		return 1;
	}
	if (prev[0] != '\0')
		printf("tray clear: printer %s tray %s: empty (was spool %s)\n",
		    pr.name, tray, prev);
	else
		printf("tray clear: printer %s tray %s was already empty\n",
		    pr.name, tray);
	db_close(db);
	return fflush(stdout) == EOF;
}

static int
tray_list(int argc, char *argv[])
{
	struct printer		 pr;
	struct db		*db;
	const char		*printer = NULL, *p[2];
	int			 i, history = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--history") == 0 && !history)
			history = 1;
		else if (argv[i][0] != '-' && printer == NULL)
			printer = argv[i];
		else {
			fprintf(stderr, "spoolkeeper: tray list: bad argument "
			    "'%s' (%s)\n", argv[i], USAGE);
			return 2;
		}
	}
	if (cli_db_open("tray list", &db) == -1)
		return 1;
	if (printer != NULL && find_printer(db, "tray list", printer, &pr) == -1) {
		db_close(db);
		return 1;
	}
	p[0] = printer != NULL ? pr.id : NULL;
	p[1] = history ? "true" : "false";
	return cli_list(db, "tray list", "SELECT p.name AS printer, a.tray, tray_label(a.tray) AS "
	    "label, a.spool_id AS spool, to_char(a.valid_from, "
	    "'YYYY-MM-DD HH24:MI:SS') AS since, to_char(a.valid_to, "
	    "'YYYY-MM-DD HH24:MI:SS') AS until FROM tray_assignments a JOIN "
	    "printers p ON p.id = a.printer_id WHERE ($1::bigint IS NULL OR "
	    "a.printer_id = $1::bigint) AND (a.valid_to IS NULL OR $2::boolean) "
	    "ORDER BY p.name, a.tray, a.valid_from, a.id", 2, p,
	    "no spools in trays (spoolkeeper tray set PRINTER TRAY SPOOL_ID)");
}

int
cmd_tray(int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "set") == 0)
		return tray_set(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "clear") == 0)
		return tray_clear(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return tray_list(argc - 1, argv + 1);
	fprintf(stderr, "spoolkeeper: tray: %s (%s)\n", argc < 2 ?
	    "no subcommand" : "unknown subcommand", USAGE);
	return 2;
}
