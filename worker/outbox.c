/* outbox.c: drains spoolman_outbox into Spoolman: one claim per spool, coalesced sums, fenced completion, read-back. */
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "errbuf.h"
#include "log.h"
#include "monoclock.h"
#include "outbox.h"
#include "rfid.h"
#include "spool_patch.h"
#include "spoolman.h"
#include "xmalloc.h"

#define TAG_LEN		200	/* "spool 3 rows 4-6,9 claim 17" */
#define NUM_LEN		32	/* a double as %.17g */
#define SLICE_MS	100	/* the thread looks at the stop flag this often while waiting */
#define EXTRAS_EVERY_S	0.5	/* seconds between the RFID and location passes while the outbox is busy */
#define HEALTH_EVERY	60	/* seconds between refreshes of spoolman_health.last_ok_at while Spoolman answers */

/* Spoolman's reachability ($1 ok, $2 the error): since changes only with ok; last_ok_at whenever ok. */
#define HEALTH_SQL \
	"INSERT INTO spoolman_health (id, ok, error, since, last_ok_at, updated_at) " \
	"VALUES (true, $1::boolean, $2, now(), CASE WHEN $1::boolean THEN now() END, now()) " \
	"ON CONFLICT (id) DO UPDATE SET ok = EXCLUDED.ok, error = EXCLUDED.error, " \
	"    since = CASE WHEN spoolman_health.ok IS NOT DISTINCT FROM EXCLUDED.ok THEN spoolman_health.since " \
	"        ELSE now() END, " \
	"    last_ok_at = coalesce(EXCLUDED.last_ok_at, spoolman_health.last_ok_at), updated_at = now()"

/* The rows of one claim (one claim_token), as sent in one request. */
struct batch {
	long long	 token;
	int		 spool;
	int		 by_length;	/* every row has only use_mm: send use_length */
	int		 mixed;		/* rows of both kinds (never claimed so; only a hand-made row) */
	int		 attempts;	/* the highest of the rows */
	int		 nrows;
	double		 amount;	/* sum of use_g, or of use_mm, added in id order */
	double		 pre;		/* pre_used_weight, NAN when not recorded */
	char		 claimer[64];	/* claimed_by before a takeover, "" otherwise */
	char		 tag[TAG_LEN];	/* for logs */
};

struct row {
	long long	id;
	double		use_g;		/* NAN for NULL */
	double		use_mm;
	double		pre;
};

/*
 * Claims the due pending rows of one spool, all of one kind (grams, or length only: those of the spool's first
 * due row), under a new token, and commits (autocommit).  The spool is the one due first that has nothing in
 * flight and whose claim lock (a transaction-level advisory lock on (OUTBOX_LOCK_KEY, spool)) is free: claims of
 * one spool never run at once, so two drains never wait on each other's exclusion-constraint check (a deadlock)
 * and at most one gets 23P01 when its snapshot missed a claim committed just before.
 * $1 worker id, $2 lease seconds, $3 row limit.
 */
#define OUTBOX_LOCK_KEY	"1936420706"	/* "sk" "ob" */
static const char CLAIM_SQL[] =
    "WITH cand AS MATERIALIZED ("
    " SELECT o.spool_id, min(o.next_attempt_at) AS due, min(o.id) AS first"
    "   FROM spoolman_outbox o"
    "  WHERE o.state = 'pending' AND o.next_attempt_at <= now()"
    "  GROUP BY o.spool_id"
    " HAVING NOT EXISTS (SELECT 1 FROM spoolman_outbox i"
    "                     WHERE i.spool_id = o.spool_id AND i.state = 'inflight')"
    "  ORDER BY 2, 3 LIMIT 32),"
    " s AS MATERIALIZED ("
    " SELECT spool_id FROM cand"
    "  WHERE pg_try_advisory_xact_lock(" OUTBOX_LOCK_KEY ", spool_id) LIMIT 1),"
    " k AS ("
    " SELECT o.use_g IS NULL AS by_length FROM spoolman_outbox o JOIN s USING (spool_id)"
    "  WHERE o.state = 'pending' AND o.next_attempt_at <= now()"
    "  ORDER BY o.next_attempt_at, o.id LIMIT 1),"
    " c AS ("
    " SELECT o.id FROM spoolman_outbox o JOIN s USING (spool_id), k"
    "  WHERE o.state = 'pending' AND o.next_attempt_at <= now()"
    "    AND (o.use_g IS NULL) = k.by_length"
    "  ORDER BY o.id LIMIT $3::integer FOR UPDATE OF o SKIP LOCKED),"
    " t AS (SELECT nextval('spoolman_claim_seq') AS token)"
    " UPDATE spoolman_outbox o SET state = 'inflight', claim_token = t.token,"
    "   claimed_by = $1, lease_until = now() + $2::float8 * interval '1 second',"
    "   attempts = o.attempts + 1, pre_used_weight = NULL, post_used_weight = NULL"
    "  FROM c, t WHERE o.id = c.id AND o.state = 'pending'"
    " RETURNING o.id, o.spool_id, o.use_g, o.use_mm, o.claim_token, o.attempts,"
    "   o.pre_used_weight, NULL::text";

/*
 * Takes over the inflight claim whose lease expired first: the lease becomes ours, the token stays (one token per
 * spool in flight).  Under the same per-spool advisory lock as a claim, so two drains never take over one claim
 * at once (each would lock some of its rows and wait for the other's).  $1 worker id, $2 lease seconds, $3 true
 * when Spoolman can be asked (else only claims that never recorded a pre_used_weight, certainly never sent).
 */
static const char TAKEOVER_SQL[] =
    "WITH cand AS MATERIALIZED ("
    " SELECT claim_token, spool_id, min(claimed_by) AS claimed_by,"
    "   min(lease_until) AS expired"
    "   FROM spoolman_outbox"
    "  WHERE state = 'inflight' AND lease_until <= now()"
    "    AND ($3::boolean OR pre_used_weight IS NULL)"
    "  GROUP BY claim_token, spool_id ORDER BY 4, 1 LIMIT 32),"
    " e AS MATERIALIZED ("
    " SELECT claim_token, claimed_by FROM cand"
    "  WHERE pg_try_advisory_xact_lock(" OUTBOX_LOCK_KEY ", spool_id) LIMIT 1)"
    " UPDATE spoolman_outbox o SET claimed_by = $1,"
    "   lease_until = now() + $2::float8 * interval '1 second'"
    "  FROM e WHERE o.claim_token = e.claim_token AND o.state = 'inflight'"
    "    AND o.lease_until <= now()"
    " RETURNING o.id, o.spool_id, o.use_g, o.use_mm, o.claim_token, o.attempts,"
    "   o.pre_used_weight, e.claimed_by";

/* The pre-image, committed before the PUT; renews the lease, and only while the claim is still ours. */
static const char PRE_SQL[] =
    "UPDATE spoolman_outbox SET pre_used_weight = $2::float8, sent_at = now(),"
    "  lease_until = now() + $4::float8 * interval '1 second'"
    " WHERE claim_token = $1::bigint AND claimed_by = $3 AND state = 'inflight'"
    "   AND lease_until > now()";

/* Completion, fenced by the token (whoever holds the lease now: a 2xx is the best evidence there is). */
static const char DONE_SQL[] =
    "UPDATE spoolman_outbox SET state = 'done', done_at = now(), resolution = $2,"
    "  post_used_weight = $3::float8, lease_until = NULL"
    " WHERE claim_token = $1::bigint AND state = 'inflight'";

static const char RELEASE_SQL[] =
    "UPDATE spoolman_outbox SET state = 'pending', claim_token = NULL, claimed_by = NULL,"
    "  lease_until = NULL, pre_used_weight = NULL,"
    "  next_attempt_at = now() + $2::float8 * interval '1 second', last_error = $3"
    " WHERE claim_token = $1::bigint AND state = 'inflight'";

static const char REVIEW_SQL[] =
    "UPDATE spoolman_outbox SET state = 'needs_review', lease_until = NULL,"
    "  last_error = $2, post_used_weight = $3::float8"
    " WHERE claim_token = $1::bigint AND state = 'inflight'";

/* Keeps the claim in flight for later (a read-back that failed, or a timeout to let settle). */
static const char HOLD_SQL[] =
    "UPDATE spoolman_outbox SET lease_until = now() + $2::float8 * interval '1 second',"
    "  attempts = attempts + $4::integer, last_error = $3"
    " WHERE claim_token = $1::bigint AND state = 'inflight'";

/*
 * The web app's copy of the spool (sql/0005 spool_cache), brought up to date with the used_weight Spoolman
 * reported: used_weight, and remaining_weight (Spoolman's max(initial - used, 0), the initial weight being the
 * spool's or else its filament's) and the lengths when the copy has them and the filament gives a density and a
 * diameter.  Only an existing row changes (the web app inserts them).  $1 spool id, $2 used_weight.
 */
static const char CACHE_SQL[] =
    "UPDATE spool_cache c SET spool = c.spool || jsonb_strip_nulls(jsonb_build_object("
    "  'used_weight', $2::float8,"
    "  'remaining_weight', greatest(s.initial - $2::float8, 0),"
    "  'used_length', CASE WHEN c.spool ? 'used_length' THEN $2::float8 / s.g_per_mm END,"
    "  'remaining_length', CASE WHEN c.spool ? 'remaining_length'"
    "    THEN greatest(s.initial - $2::float8, 0) / s.g_per_mm END)),"
    "  fetched_at = now()"
    " FROM (SELECT spool_id,"
    "   CASE WHEN jsonb_typeof(spool->'initial_weight') = 'number' THEN (spool->>'initial_weight')::float8"
    "        WHEN jsonb_typeof(spool#>'{filament,weight}') = 'number'"
    "        THEN (spool#>>'{filament,weight}')::float8 END AS initial,"
    "   CASE WHEN jsonb_typeof(spool#>'{filament,density}') = 'number'"
    "         AND jsonb_typeof(spool#>'{filament,diameter}') = 'number'"
    "        THEN nullif((spool#>>'{filament,density}')::float8 * pi()"
    "             * ((spool#>>'{filament,diameter}')::float8 / 2) ^ 2 / 1000, 0) END AS g_per_mm"
    "   FROM spool_cache WHERE spool_id = $1::integer) s"
    " WHERE c.spool_id = s.spool_id";

/* Seconds until something falls due: a pending row of a spool with nothing in flight, or a lease; NULL if none. */
static const char WAKE_SQL[] =
    "SELECT greatest(0, extract(epoch FROM least("
    "  (SELECT min(o.next_attempt_at) FROM spoolman_outbox o WHERE o.state = 'pending'"
    "     AND NOT EXISTS (SELECT 1 FROM spoolman_outbox i"
    "                      WHERE i.spool_id = o.spool_id AND i.state = 'inflight')),"
    "  (SELECT min(lease_until) FROM spoolman_outbox WHERE state = 'inflight')) - now()))::float8";

static void
olog(const struct batch *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One info line: "outbox: <batch tag>: <message>" (common/log.h). */
static void
olog(const struct batch *b, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(LOGL_INFO, 0, 0, "outbox: %s: %s", b->tag, msg);
}

/* A double as exact text for a parameter ("%.17g"), or NULL for NAN. */
static const char *
num(char *buf, double v)
{
	if (isnan(v))
		return NULL;
	snprintf(buf, NUM_LEN, "%.17g", v);
	return buf;
}

static double
col_double(const struct db_result *r, int row, int col)
{
	double	v;

	return db_result_double(r, row, col, &v) == 0 ? v : NAN;
}

static int
cmp_row(const void *a, const void *b)
{
	const struct row	*x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* Appends "4-6,9" style id ranges to tag, cut short with "..." when long. */
static void
tag_ids(char *tag, size_t len, const struct row *rows, int n)
{
	size_t	used = strlen(tag);
	int	i = 0;

	while (i < n && used + 24 < len) {
		int	j = i;

		while (j + 1 < n && rows[j + 1].id == rows[j].id + 1)
			j++;
		if (j > i)
			snprintf(tag + used, len - used, "%s%lld-%lld",
			    i > 0 ? "," : "", rows[i].id, rows[j].id);
		else
			snprintf(tag + used, len - used, "%s%lld",
			    i > 0 ? "," : "", rows[i].id);
		used = strlen(tag);
		i = j + 1;
	}
	if (i < n)
		snprintf(tag + used, len - used, ",...");
}

/*
 * Fills b from the rows of one claim (columns: id, spool_id, use_g, use_mm, claim_token, attempts,
 * pre_used_weight, previous claimed_by).  Returns the number of rows (0: none).
 */
static int
load_batch(const struct db_result *r, struct batch *b)
{
	struct row	*rows;
	long long	 v;
	int		 n = db_result_rows(r), i, ng = 0;
	size_t		 used;

	memset(b, 0, sizeof(*b));
	b->pre = NAN;
	if (n == 0)
		return 0;
	rows = xcalloc((size_t)n, sizeof(*rows));
	for (i = 0; i < n; i++) {
		rows[i].id = db_result_int64(r, i, 0, &v) == 0 ? v : 0;
		rows[i].use_g = col_double(r, i, 2);
		rows[i].use_mm = col_double(r, i, 3);
		rows[i].pre = col_double(r, i, 6);
		if (db_result_int64(r, i, 5, &v) == 0 && v > b->attempts)
			b->attempts = (int)v;
		ng += !isnan(rows[i].use_g);
	}
	qsort(rows, (size_t)n, sizeof(*rows), cmp_row);
	b->spool = db_result_int64(r, 0, 1, &v) == 0 ? (int)v : 0;
	b->token = db_result_int64(r, 0, 4, &v) == 0 ? v : 0;
	b->nrows = n;
	b->by_length = ng == 0;
	b->mixed = ng != 0 && ng != n;
	for (i = 0; i < n; i++) {
		b->amount += b->by_length ? rows[i].use_mm : rows[i].use_g;
		if (isnan(b->pre))
			b->pre = rows[i].pre;
	}
	snprintf(b->claimer, sizeof(b->claimer), "%s",
	    db_result_get(r, 0, 7) != NULL ? db_result_get(r, 0, 7) : "");
	snprintf(b->tag, sizeof(b->tag), "spool %d row%s ", b->spool,
	    n > 1 ? "s" : "");
	tag_ids(b->tag, sizeof(b->tag) - 24, rows, n);
	used = strlen(b->tag);
	snprintf(b->tag + used, sizeof(b->tag) - used, " claim %lld", b->token);
	free(rows);
	return n;
}

/* Runs one fenced UPDATE of the batch's token; returns the rows changed, or -1 with err. */
static long long
update(struct db *db, const char *sql, int n, const char *const *p, char *err)
{
	struct db_result	*r;
	long long		 rows;

	if (db_exec_prepared(db, sql, n, p, &r, err) == -1)
		return -1;
	rows = db_result_affected(r);
	db_result_free(r);
	return rows;
}

static void
token_text(char *buf, const struct batch *b)
{
	snprintf(buf, NUM_LEN, "%lld", b->token);
}

/*
 * Writes the spool's new used_weight into the web app's spool cache.  Best effort: the rows are done already, so
 * a failure is logged and the next read of the spool by the web app corrects the copy.
 */
static void
cache_used_weight(struct db *db, const struct batch *b, double used)
{
	char		 spool[NUM_LEN], ubuf[NUM_LEN], err[ERRBUF_LEN];
	const char	*p[2] = { spool, ubuf };

	if (!isfinite(used))
		return;
	snprintf(spool, sizeof(spool), "%d", b->spool);
	num(ubuf, used);
	if (db_exec_prepared(db, CACHE_SQL, 2, p, NULL, err) == -1)
		olog(b, "updating the spool cache: %s", err);
}

/* Final: done with a resolution ('response' or 'readback') and the used_weight after.  0 or -1. */
static int
finish_done(struct db *db, struct batch *b, const char *resolution, double post,
    char *err)
{
	char		 tok[NUM_LEN], pbuf[NUM_LEN];
	const char	*p[3] = { tok, resolution, NULL };
	long long	 n;

	token_text(tok, b);
	p[2] = num(pbuf, post);
	if ((n = update(db, DONE_SQL, 3, p, err)) == -1)
		return -1;
	if (n == 0)
		olog(b, "Spoolman applied the use, but the claim was settled by "
		    "someone else meanwhile: check this spool for a double spend");
	else
		cache_used_weight(db, b, post);
	return (int)n;
}

/* Back to pending, due after delay_s; nothing was applied.  0 or -1. */
static int
release(struct db *db, struct batch *b, double delay_s, const char *why,
    char *err)
{
	char		 tok[NUM_LEN], dbuf[NUM_LEN];
	const char	*p[3] = { tok, dbuf, why };

	token_text(tok, b);
	num(dbuf, delay_s);
	return update(db, RELEASE_SQL, 3, p, err) == -1 ? -1 : 0;
}

/* Needs a person (404, a permanent 4xx, a refused amount, an ambiguous read-back).  0 or -1. */
static int
review(struct db *db, struct batch *b, const char *why, double post, char *err)
{
	char		 tok[NUM_LEN], pbuf[NUM_LEN];
	const char	*p[3] = { tok, why, NULL };

	token_text(tok, b);
	p[2] = num(pbuf, post);
	log_msg(LOGL_WARN, 0, 0, "outbox: %s: needs review: %s", b->tag, why);
	return update(db, REVIEW_SQL, 3, p, err) == -1 ? -1 : 0;
}

/* Keeps the claim in flight for delay_s more (counting a try when count is set).  0 or -1. */
static int
hold(struct db *db, struct batch *b, double delay_s, int count, const char *why,
    char *err)
{
	char		 tok[NUM_LEN], dbuf[NUM_LEN];
	const char	*p[4] = { tok, dbuf, why, count ? "1" : "0" };

	token_text(tok, b);
	num(dbuf, delay_s);
	return update(db, HOLD_SQL, 4, p, err) == -1 ? -1 : 0;
}

/* A uniform draw in [0, 1) from a per-thread xorshift generator. */
static double
jitter(void)
{
	static _Thread_local unsigned long long s;
	struct timespec	ts;

	if (s == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		s = ((unsigned long long)ts.tv_nsec << 20) ^ (unsigned long long)ts.tv_sec ^
		    ((unsigned long long)getpid() << 40) ^ (unsigned long long)(size_t)&s;
		s |= 1;
	}
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return (double)(s >> 11) / 9007199254740992.0;
}

double
outbox_backoff_s(int attempts, double u)
{
	double	d;

	if (attempts < 1)
		attempts = 1;
	d = attempts > 30 ? OUTBOX_BACKOFF_CAP_S :
	    OUTBOX_BACKOFF_BASE_S * (double)(1L << (attempts - 1));
	if (d > OUTBOX_BACKOFF_CAP_S)
		d = OUTBOX_BACKOFF_CAP_S;
	d *= 0.8 + 0.4 * u;
	return d > OUTBOX_BACKOFF_CAP_S ? OUTBOX_BACKOFF_CAP_S : d;
}

enum outbox_verdict
outbox_judge(double pre, double now, double sent_g)
{
	double	tol = 1e-6 + 1e-9 * (fabs(pre) + fabs(sent_g));
	double	applied = pre + sent_g >= 0 ? pre + sent_g : 0;

	if (fabs(now - applied) <= tol)
		return OUTBOX_APPLIED;
	if (fabs(now - pre) <= tol)
		return OUTBOX_NOT_APPLIED;
	return OUTBOX_AMBIGUOUS;
}

static const char *
unit(const struct batch *b)
{
	return b->by_length ? "mm" : "g";
}

/*
 * Settles a claim whose request may or may not have been applied (b->pre set): reads the spool back and judges.
 * cause says why the outcome is unknown (kept in last_error).  immediate: a not-applied claim may go again at
 * once (a crash, not a failing Spoolman).  0 or -1 (database).
 */
static int
reconcile(struct db *db, struct spoolman *sm, struct batch *b,
    const char *cause, int immediate, int *sent, char *err)
{
	struct spoolman_spool	 sp;
	enum spoolman_result	 res;
	double			 sent_g, delay;
	char			 why[3 * ERRBUF_LEN], herr[ERRBUF_LEN];
	int			 n;

	res = spoolman_get_spool(sm, b->spool, &sp, herr);
	if (res == SPOOLMAN_NOT_FOUND) {
		snprintf(why, sizeof(why), "%s; read-back: %s", cause, herr);
		return review(db, b, why, NAN, err);
	}
	if (res != SPOOLMAN_OK) {
		delay = outbox_backoff_s(b->attempts + 1, jitter());
		snprintf(why, sizeof(why), "%s; read-back failed: %s", cause,
		    herr);
		if (!spoolman_is_down(sm))
			olog(b, "%s; reading back again in %.1f s", why, delay);
		return hold(db, b, delay, 1, why, err);
	}
	sent_g = b->by_length ? spoolman_weight_from_length(b->amount,
	    sp.diameter, sp.density) : b->amount;
	if (!isfinite(sent_g)) {
		snprintf(why, sizeof(why), "%s; read-back: spool %d has no "
		    "filament density or diameter to weigh %.17g mm by", cause,
		    b->spool, b->amount);
		return review(db, b, why, sp.used_weight, err);
	}
	switch (outbox_judge(b->pre, sp.used_weight, sent_g)) {
	case OUTBOX_APPLIED:
		olog(b, "read-back: applied (used_weight %.17g before, %.17g now, "
		    "%.17g g sent): done", b->pre, sp.used_weight, sent_g);
		if ((n = finish_done(db, b, "readback", sp.used_weight, err)) == -1)
			return -1;
		*sent += n;
		return 0;
	case OUTBOX_NOT_APPLIED:
		delay = immediate ? 0 : outbox_backoff_s(b->attempts, jitter());
		snprintf(why, sizeof(why), "%s; read-back: not applied "
		    "(used_weight %.17g unchanged)", cause, sp.used_weight);
		olog(b, "read-back: not applied (used_weight %.17g unchanged): to "
		    "send again in %.1f s", sp.used_weight, delay);
		return release(db, b, delay, why, err);
	default:
		snprintf(why, sizeof(why), "read-back ambiguous: used_weight was "
		    "%.17g before sending %.17g g (%.17g %s) and is %.17g now; "
		    "someone else changed the spool meanwhile (%s)", b->pre, sent_g,
		    b->amount, unit(b), sp.used_weight, cause);
		return review(db, b, why, sp.used_weight, err);
	}
}

/* Claims the next spool's due rows into b.  1 claimed, 0 nothing due, 2 lost a race (try again), -1 error. */
static int
claim(struct db *db, const char *worker_id, struct batch *b, char *err)
{
	struct db_result	*r;
	char			 lease[NUM_LEN], lim[NUM_LEN];
	const char		*p[3] = { worker_id, lease, lim };
	int			 n;

	num(lease, OUTBOX_LEASE_S);
	snprintf(lim, sizeof(lim), "%d", OUTBOX_BATCH_ROWS);
	if (db_exec_prepared(db, CLAIM_SQL, 3, p, &r, err) == -1)
		return db_is(db, DB_EXCLUSION_VIOLATION) || db_is(db, "40P01") ||
		    db_is(db, "40001") ? 2 : -1;
	n = load_batch(r, b);
	db_result_free(r);
	return n > 0;
}

/* The PUT of a claimed batch whose pre-image is committed, and what follows from its outcome.  0 or -1. */
static int
put_batch(struct db *db, struct spoolman *sm, struct batch *b, int *sent,
    char *err)
{
	enum spoolman_result	 res;
	double			 after;
	char			 herr[ERRBUF_LEN];
	int			 n;

	res = spoolman_use(sm, b->spool, b->by_length ? SPOOLMAN_MM :
	    SPOOLMAN_GRAMS, b->amount, &after, herr);
	switch (res) {
	case SPOOLMAN_OK:
		if ((n = finish_done(db, b, "response", after, err)) == -1)
			return -1;
		*sent += n;
		olog(b, "spent %.17g %s: used_weight %.17g -> %.17g", b->amount,
		    unit(b), b->pre, after);
		return 0;
	case SPOOLMAN_NOT_SENT: {
		double delay = outbox_backoff_s(b->attempts, jitter());

		if (!spoolman_is_down(sm))
			olog(b, "not sent (%s): again in %.1f s", herr, delay);
		return release(db, b, delay, herr, err);
	}
	case SPOOLMAN_UNKNOWN:
		if (spoolman_last_timed_out(sm)) {
			olog(b, "outcome unknown (%s): reading back in %d s", herr,
			    OUTBOX_SETTLE_S);
			return hold(db, b, OUTBOX_SETTLE_S, 0, herr, err);
		}
		olog(b, "outcome unknown (%s): reading back", herr);
		return reconcile(db, sm, b, herr, 0, sent, err);
	default:	/* NOT_FOUND, REJECTED, REFUSED: permanent */
		return review(db, b, herr, NAN, err);
	}
}

/* Sends a freshly claimed batch: pre-image, PUT, outcome.  0 or -1 (database). */
static int
send_batch(struct db *db, struct spoolman *sm, const char *worker_id,
    struct batch *b, int *sent, char *err)
{
	struct spoolman_spool	 sp;
	enum spoolman_result	 res;
	char			 herr[ERRBUF_LEN], tok[NUM_LEN], pbuf[NUM_LEN],
				 lease[NUM_LEN];
	const char		*p[4] = { tok, pbuf, worker_id, lease };
	double			 max = b->by_length ? SPOOLMAN_MAX_USE_MM :
				    SPOOLMAN_MAX_USE_G;
	long long		 n;

	if (b->mixed || !isfinite(b->amount) || fabs(b->amount) > max) {
		snprintf(herr, sizeof(herr), "refused locally: %s%.17g %s is not "
		    "a sane amount to send (limit +-%g)", b->mixed ? "a mixed "
		    "grams/length batch; " : "", b->amount, unit(b), max);
		return review(db, b, herr, NAN, err);
	}
	res = spoolman_get_spool(sm, b->spool, &sp, herr);
	if (res == SPOOLMAN_NOT_FOUND || res == SPOOLMAN_REFUSED)
		return review(db, b, herr, NAN, err);
	if (res != SPOOLMAN_OK) {
		double delay = outbox_backoff_s(b->attempts, jitter());

		if (!spoolman_is_down(sm))
			olog(b, "not sent: reading the spool before sending "
			    "failed (%s): again in %.1f s", herr, delay);
		return release(db, b, delay, herr, err);
	}
	b->pre = sp.used_weight;
	token_text(tok, b);
	num(pbuf, b->pre);
	num(lease, OUTBOX_LEASE_S);
	if ((n = update(db, PRE_SQL, 4, p, err)) == -1)
		return -1;
	if (n == 0) {
		olog(b, "the claim expired before sending: left to its new "
		    "holder, not sent");
		return 0;
	}
	return put_batch(db, sm, b, sent, err);
}

/* Settles the claims whose lease has expired (a crash, a settled timeout).  0 or -1. */
static int
take_over_expired(struct db *db, struct spoolman *sm, const char *worker_id,
    int *sent, char *err)
{
	struct db_result	*r;
	struct batch		 b;
	char			 lease[NUM_LEN], cause[128];
	const char		*p[3] = { worker_id, lease, sm != NULL ? "true" : "false" };
	int			 i, n;

	num(lease, OUTBOX_LEASE_S);
	for (i = 0; i < OUTBOX_MAX_BATCHES; i++) {
		if (db_exec_prepared(db, TAKEOVER_SQL, 3, p, &r, err) == -1)
			return -1;
		n = load_batch(r, &b);
		db_result_free(r);
		if (n == 0)
			return 0;
		if (isnan(b.pre)) {
			olog(&b, "claim of %s expired before anything was sent: "
			    "pending again", b.claimer);
			if (release(db, &b, 0, "claim expired before sending",
			    err) == -1)
				return -1;
			continue;
		}
		snprintf(cause, sizeof(cause), "the claim of %s expired with the "
		    "outcome unknown", b.claimer);
		olog(&b, "%s: reading back", cause);
		if (reconcile(db, sm, &b, cause, 1, sent, err) == -1)
			return -1;
	}
	return 0;
}

int
outbox_drain_once(struct db *db, struct spoolman *sm, const char *worker_id,
    int *sent, char *err)
{
	struct batch	b;
	int		i, rc;

	*sent = 0;
	if (take_over_expired(db, sm, worker_id, sent, err) == -1)
		return -1;
	if (sm == NULL)
		return 0;
	for (i = 0; i < OUTBOX_MAX_BATCHES; i++) {
		rc = claim(db, worker_id, &b, err);
		if (rc == -1)
			return -1;
		if (rc == 0)
			break;
		if (rc == 2)
			continue;	/* another drain claimed that spool meanwhile */
		if (send_batch(db, sm, worker_id, &b, sent, err) == -1)
			return -1;
	}
	return 0;
}

/* ---- the drain thread ---- */

struct drain {
	const struct outbox_ctx	*ctx;
	struct db		*db;
	struct spoolman		*sm;
	int			 poll_ms;
	int			 db_fails;	/* consecutive connection failures */
	double			 reloaded_at;	/* monoclock_s() of the last settings read */
	int			 reload;	/* re-read the settings before the next pass */
	double			 extras_at;	/* monoclock_s() of the last RFID and location pass */
	char			 db_trouble[ERRBUF_LEN];	/* logged once; "" when fine */
	char			 conf_trouble[ERRBUF_LEN];
	int			 health;	/* what spoolman_health last stored: -1 nothing, 0 failing, 1 ok */
	double			 health_at;	/* monoclock_s() of that store */
	char			 health_why[ERRBUF_LEN];
};

static int
stopping(const struct drain *d)
{
	return atomic_load(d->ctx->stop) != 0;
}

/* Sleeps up to ms, in slices, returning early when asked to stop. */
static void
nap(const struct drain *d, double ms)
{
	double	end = monoclock_s() + ms / 1000;
	double	left;

	while (!stopping(d) && (left = (end - monoclock_s()) * 1000) > 0) {
		struct timespec	ts;

		if (left > SLICE_MS)
			left = SLICE_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e6);
		nanosleep(&ts, NULL);
	}
}

/* A repeated failure is logged once, when its text changes; its end once (trouble_over). */
static void
trouble(char *last, const char *what, const char *err)
{
	if (strcmp(last, err) == 0)
		return;
	log_msg(LOGL_WARN, 0, 0, "outbox: %s: %s (not logged again while it lasts)", what, err);
	snprintf(last, ERRBUF_LEN, "%s", err);
}

static void
trouble_over(char *last, const char *msg)
{
	if (last[0] == '\0')
		return;
	log_msg(LOGL_INFO, 0, 0, "outbox: %s", msg);
	last[0] = '\0';
}

/* A database failure: logged once; the connection is dropped and made again (LISTEN again, re-read). */
static void
db_failed(struct drain *d, const char *err)
{
	trouble(d->db_trouble, "database", err);
	db_close(d->db);
	d->db = NULL;
}

static int
connect_db(struct drain *d, char *err)
{
	if (db_open(d->ctx->conninfo, &d->db, err) == -1)
		return -1;
	if (db_listen(d->db, "spoolkeeper_outbox", err) == -1 ||
	    db_listen(d->db, "spoolkeeper_settings", err) == -1) {
		db_close(d->db);
		d->db = NULL;
		return -1;
	}
	d->reload = 1;
	return 0;
}

/* Re-reads the Spoolman settings; a new client when they changed. */
static void
reload_settings(struct drain *d)
{
	char	err[ERRBUF_LEN];
	int	rc;

	d->reload = 0;
	d->reloaded_at = monoclock_s();
	rc = spoolman_reload(d->db, d->ctx->key, &d->sm, err);
	if (rc == -1) {
		trouble(d->conf_trouble, "Spoolman settings", err);
		return;
	}
	trouble_over(d->conf_trouble, "Spoolman settings read again");
	if (rc == 0)
		return;
	if (d->sm == NULL) {
		log_msg(LOGL_WARN, 0, 0, "outbox: the setting spoolman_url is not set: nothing is sent until it is");
		return;
	}
	if (d->ctx->spoolman_timeout_ms > 0)
		spoolman_set_timeouts(d->sm, 0, d->ctx->spoolman_timeout_ms);
	log_msg(LOGL_INFO, 0, 0, "outbox: sending to Spoolman at %s", spoolman_url_redacted(d->sm));
}

/* Takes the notifications that have arrived.  1 if there were any, 0 if none, -1 when the connection failed. */
static int
take_notifications(struct drain *d, char *err)
{
	struct db_notify	*n;
	int			 any = 0;

	for (;;) {
		if (db_notify_next(d->db, &n, err) == -1)
			return -1;
		if (n == NULL)
			return any;
		if (strcmp(n->channel, "spoolkeeper_settings") == 0)
			d->reload = 1;
		any = 1;
		db_notify_free(n);
	}
}

/* Waits up to ms for a notification or the stop flag.  0 (woken, timed out or stopping), -1 connection failed. */
static int
wait_work(struct drain *d, double ms, char *err)
{
	double	end = monoclock_s() + ms / 1000;
	double	left;
	int	rc;

	for (;;) {
		if (stopping(d))
			return 0;
		if ((rc = take_notifications(d, err)) != 0)
			return rc < 0 ? -1 : 0;
		left = (end - monoclock_s()) * 1000;
		if (left <= 0)
			return 0;
		if (db_wait(d->db, left > SLICE_MS ? SLICE_MS : (int)left + 1,
		    err) == -1)
			return -1;
	}
}

/* Milliseconds until a row or a lease falls due, at most the poll interval.  0 or -1 with err. */
static int
next_wake_ms(struct drain *d, double *ms, char *err)
{
	struct db_result	*r;
	double			 s;

	*ms = d->poll_ms;
	if (d->sm == NULL)
		return 0;
	if (db_exec_prepared(d->db, WAKE_SQL, 0, NULL, &r, err) == -1)
		return -1;
	if (db_result_double(r, 0, 0, &s) == 0 && s * 1000 < *ms)
		*ms = s * 1000;
	db_result_free(r);
	return 0;
}

/*
 * Stores Spoolman's reachability (spoolman_health, for the dashboard) when it changed, and every HEALTH_EVERY s
 * while it answers (last_ok_at).  0, or -1 with err (database).
 */
static int
save_health(struct drain *d, char *err)
{
	const char	*why, *p[2];
	int		 h;

	if (d->sm == NULL || (h = spoolman_health(d->sm, &why)) == -1)
		return 0;
	if (h == d->health && (h == 1 ? monoclock_s() - d->health_at < HEALTH_EVERY : strcmp(why, d->health_why) == 0))
		return 0;
	p[0] = h ? "true" : "false";
	p[1] = why;
	if (db_exec_prepared(d->db, HEALTH_SQL, 2, p, NULL, err) == -1)
		return -1;
	d->health = h;
	d->health_at = monoclock_s();
	snprintf(d->health_why, sizeof(d->health_why), "%s", why != NULL ? why : "");
	return 0;
}

/* One round: connect if needed, settings, a drain pass, then wait for the next reason to drain. */
static void
round_once(struct drain *d)
{
	char	err[ERRBUF_LEN];
	double	ms, now, extras_in;
	int	sent, more;

	if (d->db == NULL) {
		if (connect_db(d, err) == -1) {
			trouble(d->db_trouble, "database", err);
			d->db_fails++;
			nap(d, 1000 * outbox_backoff_s(d->db_fails, jitter()));
			return;
		}
		d->db_fails = 0;
	}
	if (d->reload || monoclock_s() - d->reloaded_at >= d->poll_ms / 1000.0)
		reload_settings(d);
	/*
	 * Then the RFID lookups and the location writes (rfid.c, spool_patch.c), on the same client, at most every
	 * EXTRAS_EVERY_S: under a farm's load the outbox passes follow each other closely, and two more claims per
	 * pass added to every use's latency (bench/fleet.sh) for work that is never in a hurry.
	 */
	now = monoclock_s();
	extras_in = EXTRAS_EVERY_S - (now - d->extras_at);
	if (outbox_drain_once(d->db, d->sm, d->ctx->worker_id, &sent, err) == -1 ||
	    (extras_in <= 0 && (rfid_drain_once(d->db, d->sm, &more, err) == -1 ||
	    spool_patch_drain_once(d->db, d->sm, &more, err) == -1)) ||
	    save_health(d, err) == -1 || next_wake_ms(d, &ms, err) == -1) {
		db_failed(d, err);
		return;
	}
	if (extras_in <= 0)
		d->extras_at = now;
	else if (ms > extras_in * 1000)
		ms = extras_in * 1000;	/* woken early (perhaps for them): come back when they are due */
	trouble_over(d->db_trouble, "database: working again");
	/* Due work that this pass could not take (another drain holds its spool): do not spin on it. */
	if (ms < 20 && sent == 0)
		ms = 20;
	if (wait_work(d, ms, err) == -1)
		db_failed(d, err);
}

void *
outbox_thread_main(void *arg)
{
	struct drain	d;

	memset(&d, 0, sizeof(d));
	d.ctx = arg;
	d.poll_ms = d.ctx->poll_ms > 0 ? d.ctx->poll_ms : OUTBOX_POLL_MS;
	d.reload = 1;
	d.health = -1;
	while (!stopping(&d))
		round_once(&d);
	rfid_thread_done();
	spoolman_free(d.sm);
	db_close(d.db);
	return NULL;
}
