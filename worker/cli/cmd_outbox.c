/* cmd_outbox.c: `spoolkeeper outbox hold`: after a restore, keeps the outbox's open uses for a person to review. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "errbuf.h"

#define USAGE		"usage: spoolkeeper outbox hold [--reason TEXT] [--force]"
#define REASON_MAX	1000

/* Workers that beat in the last minute (as /api/v1/health counts them). */
#define LIVE_SQL \
	"SELECT count(*) FROM worker_heartbeats WHERE seen_at > now() - interval '1 minute'"

/*
 * Every pending or inflight use becomes needs_review, its claim dropped, with why (and the error before) in
 * last_error: a worker sends none of them until an admin retries it (POST /api/v1/outbox/{id}/retry).  One
 * statement; the counts by former state come back.
 */
#define HOLD_SQL \
	"WITH held AS (UPDATE spoolman_outbox o SET state = 'needs_review', claim_token = NULL, claimed_by = NULL, " \
	"    lease_until = NULL, last_error = left('held by spoolkeeper outbox hold: ' || $1 || " \
	"    coalesce(' (last error: ' || o.last_error || ')', ''), 4096) " \
	"  FROM spoolman_outbox b WHERE b.id = o.id AND o.state IN ('pending', 'inflight') RETURNING b.state) " \
	"SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'inflight') FROM held"

static int
hold(int argc, char *argv[])
{
	struct db		*db;
	struct db_result	*r;
	const char		*reason = "restored from a backup", *p[1];
	char			 err[ERRBUF_LEN];
	long long		 live, pending, inflight;
	int			 i, force = 0, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc && argv[i + 1][0] != '\0' &&
		    strlen(argv[i + 1]) <= REASON_MAX)
			reason = argv[++i];
		else {
			fprintf(stderr, "spoolkeeper: outbox hold: bad argument %s (%s; a reason is 1 to %d "
			    "bytes)\n", argv[i], USAGE, REASON_MAX);
			return 2;
		}
	}
	if (cli_db_open("outbox hold", &db) == -1)
		return 1;
	p[0] = reason;
	if (db_exec(db, LIVE_SQL, 0, NULL, &r, err) == -1) {
		fprintf(stderr, "spoolkeeper: outbox hold: %s\n", err);
		goto out;
	}
	live = 0;
	db_result_int64(r, 0, 0, &live);
	db_result_free(r);
	if (live > 0 && !force) {
		fprintf(stderr, "spoolkeeper: outbox hold: %lld worker%s beat in the last minute and may be sending "
		    "these uses now; stop the workers first (or --force)\n", live, live == 1 ? "" : "s");
		goto out;
	}
	if (db_exec(db, HOLD_SQL, 1, p, &r, err) == -1) {
		fprintf(stderr, "spoolkeeper: outbox hold: %s\n", err);
		goto out;
	}
	pending = inflight = 0;
	db_result_int64(r, 0, 0, &pending);
	db_result_int64(r, 0, 1, &inflight);
	db_result_free(r);
	if (pending + inflight == 0)
		printf("outbox hold: no use was pending or in flight; nothing to hold\n");
	else
		printf("outbox hold: %lld use%s (%lld pending, %lld in flight) now wait for review: the admin page's "
		    "Outbox, \"Needs review\": Retry sends one, Discard drops one Spoolman has already\n",
		    pending + inflight, pending + inflight == 1 ? "" : "s", pending, inflight);
	rc = fflush(stdout) == EOF ? 1 : 0;
out:
	db_close(db);
	return rc;
}

int
cmd_outbox(int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "hold") == 0)
		return hold(argc - 1, argv + 1);
	fprintf(stderr, "spoolkeeper: outbox: %s (%s)\n", argc < 2 ? "no subcommand" : "unknown subcommand", USAGE);
	return 2;
}
