/* planner.c: the planner thread: downloads each new print job's file, runs the engine on it, stores the plan. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "analyze.h"
#include "db.h"
#include "errbuf.h"
#include "fetch.h"
#include "log.h"
#include "monoclock.h"
#include "plan_store.h"
#include "planner.h"
#include "secret.h"
#include "xmalloc.h"

#define LOCK_CLASS	1936420972	/* 'skpl': pg_try_advisory_lock(LOCK_CLASS, job id) */
#define WAIT_SLICE_MS	200		/* longest wait between two looks at *stop */
#define ERROR_PREFIX	"plan: "

/* What the planner remembers of a job it failed to plan. */
struct retry {
	long long	 id;
	int		 attempts;
	int		 gave_up;	/* the file or plan was refused: wait for the job to change */
	long long	 next_ms;	/* monotonic time of the next attempt */
	int		 seen;		/* listed in the last pass */
	char		 last[ERRBUF_LEN];	/* the last message logged */
};

struct planner {
	const struct planner_ctx *ctx;
	struct db	*db;
	int		 db_failing;	/* a database failure was logged; its recovery will be */
	struct retry	*r;
	size_t		 nr, cap;
	unsigned int	 seed;
};

/* One job to plan: borrowed from the row of the pass's result. */
struct job_row {
	long long	 id, printer_id;
	const char	*host, *serial, *url, *gcode_file;
	const char	*access_code, *access_code_enc;	/* the legacy plain code, or the encrypted one */
	const char	*subtask_name, *member, *ams_mapping;
	int		 ftps_port, insecure, plate, use_ams, flow_cali;
};

enum outcome { PLANNED, FAILED_RETRY, FAILED_FINAL, SKIPPED, DB_LOST };

static void
plog(enum log_level level, long long job_id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One line "planner: <message>" at level, for job_id (0: none). */
static void
plog(enum log_level level, long long job_id, const char *fmt, ...)
{
	va_list	ap;
	char	line[1024];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_msg(level, 0, job_id, "planner: %s", line);
}

static int
stopping(const struct planner *p)
{
	return atomic_load(p->ctx->stop) != 0;
}

static void
stat_add(atomic_long *c)
{
	atomic_fetch_add(c, 1);
}

#define STAT(p, field) do { \
	if ((p)->ctx->stats != NULL) \
		stat_add(&(p)->ctx->stats->field); \
} while (0)

/* --- retries --- */

static struct retry *
retry_get(struct planner *p, long long id, int create)
{
	size_t	i;

	for (i = 0; i < p->nr; i++)
		if (p->r[i].id == id)
			return &p->r[i];
	if (!create)
		return NULL;
	if (p->nr == p->cap) {
		p->cap = p->cap != 0 ? p->cap * 2 : 16;
		p->r = xreallocarray(p->r, p->cap, sizeof(*p->r));
	}
	memset(&p->r[p->nr], 0, sizeof(p->r[0]));
	p->r[p->nr].id = id;
	return &p->r[p->nr++];
}

static void
retry_drop(struct planner *p, long long id)
{
	struct retry	*r = retry_get(p, id, 0);

	if (r != NULL)
		*r = p->r[--p->nr];
}

/* Forgets the jobs that the last pass did not list (planned elsewhere, ended, lease gone). */
static void
retry_prune(struct planner *p)
{
	size_t	i = 0;

	while (i < p->nr) {
		if (!p->r[i].seen)
			p->r[i] = p->r[--p->nr];
		else
			p->r[i++].seen = 0;
	}
}

/* The delay before attempt n + 1: retry_min * 2^(n-1), capped, +-10 % jitter. */
static long long
backoff_ms(struct planner *p, int attempts)
{
	long long	lo = p->ctx->retry_min_ms > 0 ? p->ctx->retry_min_ms :
			    PLANNER_RETRY_MIN_MS;
	long long	hi = p->ctx->retry_max_ms > 0 ? p->ctx->retry_max_ms :
			    PLANNER_RETRY_MAX_MS;
	long long	d = lo;
	int		i;

	for (i = 1; i < attempts && d < hi; i++)
		d *= 2;
	if (d > hi)
		d = hi;
	return d - d / 10 + (long long)(rand_r(&p->seed) % (unsigned)(d / 5 + 1));
}

/* --- database --- */

/* Logs a database failure once, until the database works again. */
static void
db_failed(struct planner *p, const char *what, const char *err)
{
	if (!p->db_failing)
		plog(LOGL_ERROR, 0, "database: %s: %s (retrying)", what, err);
	p->db_failing = 1;
}

static void
db_recovered(struct planner *p)
{
	if (p->db_failing)
		plog(LOGL_INFO, 0, "database: working again");
	p->db_failing = 0;
}

/* Opens the connection (if needed) and LISTENs.  Returns 0 or -1 (logged). */
static int
connect_db(struct planner *p)
{
	char	err[ERRBUF_LEN];

	if (p->db != NULL)
		return 0;
	if (db_open(p->ctx->conninfo, &p->db, err) == -1 ||
	    db_listen(p->db, "spoolkeeper_jobs", err) == -1) {
		db_close(p->db);
		p->db = NULL;
		db_failed(p, "connect", err);
		return -1;
	}
	return 0;
}

/* 1 if the last failure was the connection (08xxx, or 57P01 etc.: the server ended the session), else 0. */
static int
conn_lost(const struct planner *p)
{
	return db_is(p->db, DB_CONNECTION_FAILURE) ||
	    strncmp(db_sqlstate(p->db), "08", 2) == 0 ||
	    strncmp(db_sqlstate(p->db), "57P", 3) == 0;
}

/* Drops the connection; connect_db() opens a new one and LISTENs again (LISTEN is per session). */
static void
disconnect(struct planner *p)
{
	db_close(p->db);
	p->db = NULL;
}

/* Writes "plan: msg" to the job's error column (if it differs).  Returns 0 or -1. */
static int
record_error(struct planner *p, long long id, const char *msg)
{
	char		 job[32], text[ERRBUF_LEN + 16];
	const char	*pr[2] = { job, text };
	char		 err[ERRBUF_LEN];

	snprintf(job, sizeof(job), "%lld", id);
	snprintf(text, sizeof(text), "%s%s", ERROR_PREFIX, msg);
	if (db_exec_prepared(p->db, "UPDATE print_jobs SET error = $2 WHERE id = "
	    "$1::bigint AND planned_at IS NULL AND error IS DISTINCT FROM $2", 2,
	    pr, NULL, err) == -1) {
		db_failed(p, "recording an error", err);
		return -1;
	}
	return 0;
}

/* Takes the job's advisory lock.  Returns 1 when taken, 0 when another session holds it, -1 on failure. */
static int
lock_job(struct planner *p, long long id, int lock)
{
	struct db_result	*r;
	char			 cls[16], key[16], err[ERRBUF_LEN];
	const char		*pr[2] = { cls, key };
	int			 got;

	snprintf(cls, sizeof(cls), "%d", LOCK_CLASS);
	snprintf(key, sizeof(key), "%lld", id % 2147483648LL);
	if (db_exec_prepared(p->db, lock ? "SELECT pg_try_advisory_lock($1::int, $2::int)"
	    : "SELECT pg_advisory_unlock($1::int, $2::int)", 2, pr, &r, err) == -1) {
		db_failed(p, "advisory lock", err);
		return -1;
	}
	got = db_result_bool(r, 0, 0);
	db_result_free(r);
	return got == 1;
}

/* 1 if the job still needs a plan (another thread may have just stored it), 0 if not, -1 on failure. */
static int
still_unplanned(struct planner *p, long long id)
{
	struct db_result	*r;
	char			 job[32], err[ERRBUF_LEN];
	const char		*pr[1] = { job };
	int			 rc;

	snprintf(job, sizeof(job), "%lld", id);
	if (db_exec_prepared(p->db, "SELECT 1 FROM print_jobs WHERE id = $1::bigint AND "
	    "planned_at IS NULL", 1, pr, &r, err) == -1) {
		db_failed(p, "reading a job", err);
		return -1;
	}
	rc = db_result_rows(r) == 1;
	db_result_free(r);
	return rc;
}

/* --- one job --- */

/* Fills tray[] (PLAN_MAX_FILAMENTS, -1 unknown) from print_jobs.ams_mapping, a JSON array of tray ids or -1. */
static void
trays_from_mapping(const char *mapping, int *tray)
{
	json_t		*a, *v;
	json_int_t	 t;
	size_t		 i;

	for (i = 0; i < PLAN_MAX_FILAMENTS; i++)
		tray[i] = -1;
	if (mapping == NULL || (a = json_loads(mapping, 0, NULL)) == NULL)
		return;
	if (json_is_array(a))
		json_array_foreach(a, i, v) {
			if (i >= PLAN_MAX_FILAMENTS || !json_is_integer(v))
				continue;
			t = json_integer_value(v);
			if ((t >= 0 && t <= 191) || t == 254 || t == 255)
				tray[i] = (int)t;
		}
	json_decref(a);
}

/* 1 if the file at path starts like a zip. */
static int
looks_like_zip(const char *path)
{
	unsigned char	m[4];
	int		fd, n;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = (int)read(fd, m, sizeof(m));
	close(fd);
	return n == 4 && m[0] == 'P' && m[1] == 'K' && m[2] == 3 && m[3] == 4;
}

static void
job_opts(const struct job_row *j, const char *path, struct analyze_opts *o)
{
	analyze_opts_default(o);
	if (looks_like_zip(path)) {
		if (j->member != NULL && strncmp(j->member, "Metadata/", 9) == 0)
			o->member = j->member;
		else if (j->plate > 0)
			o->plate = j->plate;
	}
	if (j->use_ams == 0)
		o->gcode.use_ams = 0;
	if (j->flow_cali >= 0)
		o->gcode.flags[GCODE_FLAG_EXTRUDE_CALI] = j->flow_cali;
}

static enum outcome
fetch_job(struct planner *p, const struct job_row *j, const char *path,
    char *err)
{
	struct fetch_target	 t;
	enum fetch_error	 kind;
	char			 e[ERRBUF_LEN], *code;
	int			 rc;

	if (secret_open(p->ctx->key, SECRET_ACCESS_CODE, j->access_code,
	    j->access_code_enc, &code, e) == -1) {
		errbuf_set(err, "printer %lld: %s", j->printer_id, e);
		return FAILED_FINAL;
	}
	memset(&t, 0, sizeof(t));
	t.host = j->host;
	t.serial = j->serial;
	t.access_code = code;
	t.ftps_port = j->ftps_port;
	t.insecure = j->insecure;
	t.ca_file = p->ctx->ca_file;
	t.url = j->url;
	t.gcode_file = j->gcode_file;
	t.subtask_name = j->subtask_name;
	t.https_ca_file = p->ctx->https_ca_file;
	t.low_speed_s = p->ctx->low_speed_s;
	t.cancel = p->ctx->stop;
	STAT(p, fetches);
	rc = fetch_model_kind(&t, path, &kind, e);
	secret_wipe_free(code);
	if (rc == 0)
		return PLANNED;
	if (kind == FETCH_E_CANCELLED)
		return SKIPPED;
	errbuf_set(err, "download: %s", e);
	return FAILED_RETRY;
}

/* Downloads, analyses and stores the plan of one job.  The file is always removed. */
static enum outcome
plan_job(struct planner *p, const struct job_row *j, char *err)
{
	struct analyze_opts	 opts;
	struct plan		*plan = NULL;
	enum outcome		 o;
	char			 path[1024], e[ERRBUF_LEN];
	int			 tray[PLAN_MAX_FILAMENTS];

	snprintf(path, sizeof(path), "%s/%lld.gcode.3mf", p->ctx->cache_dir !=
	    NULL ? p->ctx->cache_dir : "/tmp", j->id);
	if ((o = fetch_job(p, j, path, err)) != PLANNED)
		return o;
	job_opts(j, path, &opts);
	if (analyze_path(path, &opts, &plan, e) == -1) {
		unlink(path);
		errbuf_set(err, "the engine refused the file: %s", e);
		return FAILED_FINAL;
	}
	unlink(path);
	trays_from_mapping(j->ams_mapping, tray);
	if (plan_store(p->db, j->id, plan, tray, e) == -1) {
		plan_free(plan);
		errbuf_set(err, "storing the plan: %s", e);
		if (conn_lost(p))
			return DB_LOST;
		return strncmp(db_sqlstate(p->db), "23", 2) == 0 ?
		    FAILED_FINAL : FAILED_RETRY;
	}
	plog(LOGL_INFO, j->id, "job %lld: planned: %d layers, %zu cells (plate %d)", j->id,
	    plan->layer_count, plan->ncells, plan->plate);
	plan_free(plan);
	return PLANNED;
}

/* After an attempt: clears or records the error and schedules the retry.  Returns -1 when the database failed. */
static int
settle(struct planner *p, const struct job_row *j, enum outcome o,
    const char *msg)
{
	struct retry	*r;
	char		 job[32], err[ERRBUF_LEN];
	const char	*pr[1] = { job };

	if (o == PLANNED) {
		STAT(p, planned);
		if ((r = retry_get(p, j->id, 0)) != NULL && r->attempts > 0)
			plog(LOGL_INFO, j->id, "job %lld: planned after %d failed attempt%s", j->id,
			    r->attempts, r->attempts == 1 ? "" : "s");
		retry_drop(p, j->id);
		snprintf(job, sizeof(job), "%lld", j->id);
		if (db_exec_prepared(p->db, "UPDATE print_jobs SET error = NULL WHERE id = "
		    "$1::bigint AND error LIKE 'plan: %'", 1, pr, NULL, err) == -1) {
			db_failed(p, "clearing an error", err);
			return -1;
		}
		return 0;
	}
	if (o == SKIPPED)
		return 0;
	STAT(p, failures);
	r = retry_get(p, j->id, 1);
	r->seen = 1;
	r->attempts++;
	r->gave_up = o == FAILED_FINAL;
	r->next_ms = monoclock_ms() + backoff_ms(p, r->attempts);
	if (strcmp(r->last, msg) != 0) {	/* log a repeated failure once */
		plog(LOGL_WARN, j->id, "job %lld: %s (%s)", j->id, msg, r->gave_up ? "not retried "
		    "until the job changes" : "will retry");
		snprintf(r->last, sizeof(r->last), "%s", msg);
	}
	return o == DB_LOST ? -1 : record_error(p, j->id, msg);
}

/* Locks, re-checks and plans one job.  Returns 0, or -1 when the database failed. */
static int
try_job(struct planner *p, const struct job_row *j)
{
	enum outcome	 o;
	char		 msg[ERRBUF_LEN] = "";
	int		 rc;

	if ((rc = lock_job(p, j->id, 1)) != 1)
		return rc;	/* 0: another planner has it */
	if ((rc = still_unplanned(p, j->id)) == 1) {
		o = plan_job(p, j, msg);
		rc = settle(p, j, o, msg);
	}
	if (lock_job(p, j->id, 0) == -1)
		rc = -1;
	return rc < 0 ? -1 : 0;
}

/* --- the loop --- */

static const char JOBS_SQL[] =
    "SELECT j.id, p.host, p.serial, p.access_code, p.ftps_port, "
    "p.insecure_tls, j.file_url, j.gcode_file, j.subtask_name, j.plate, "
    "j.member, j.use_ams, j.flow_cali, j.ams_mapping::text, "
    "p.access_code_enc, p.id "
    "FROM print_jobs j "
    "JOIN printers p ON p.id = j.printer_id "
    "JOIN worker_leases l ON l.printer_id = j.printer_id "
    "WHERE j.planned_at IS NULL "
    "AND (j.state <> 'preparing' OR j.file_url ILIKE 'https://%') "
    "AND (j.ended_at IS NULL OR j.ended_at > now() - $2::int * interval '1 s') "
    "AND l.worker_id = $1 AND l.expires_at > now() "
    "ORDER BY j.id LIMIT " "1000";

static int
flag(const struct db_result *r, int row, int col)
{
	return db_result_bool(r, row, col);	/* 1, 0, or -1 for NULL */
}

static void
read_row(const struct db_result *r, int i, struct job_row *j)
{
	long long	v;

	memset(j, 0, sizeof(*j));
	db_result_int64(r, i, 0, &j->id);
	j->host = db_result_get(r, i, 1);
	j->serial = db_result_get(r, i, 2);
	j->access_code = db_result_get(r, i, 3);
	j->ftps_port = db_result_int64(r, i, 4, &v) == 0 ? (int)v : 0;
	j->insecure = flag(r, i, 5) == 1;
	j->url = db_result_get(r, i, 6);
	j->gcode_file = db_result_get(r, i, 7);
	j->subtask_name = db_result_get(r, i, 8);
	j->plate = db_result_int64(r, i, 9, &v) == 0 ? (int)v : 0;
	j->member = db_result_get(r, i, 10);
	j->use_ams = flag(r, i, 11);
	j->flow_cali = flag(r, i, 12);
	j->ams_mapping = db_result_get(r, i, 13);
	j->access_code_enc = db_result_get(r, i, 14);
	db_result_int64(r, i, 15, &j->printer_id);
}

/* One pass over the jobs to plan.  Sets *next_due (monotonic ms) to the earliest retry.  Returns 0 or -1. */
static int
pass(struct planner *p, long long *next_due)
{
	struct db_result	*r;
	struct job_row		 j;
	struct retry		*rt;
	char			 window[16], err[ERRBUF_LEN];
	const char		*pr[2] = { p->ctx->worker_id, window };
	int			 i, rc = 0;

	snprintf(window, sizeof(window), "%d", p->ctx->ended_window_s > 0 ?
	    p->ctx->ended_window_s : PLANNER_ENDED_WINDOW_S);
	if (db_exec_prepared(p->db, JOBS_SQL, 2, pr, &r, err) == -1) {
		db_failed(p, "listing jobs", err);
		return -1;
	}
	db_recovered(p);
	for (i = 0; i < db_result_rows(r) && !stopping(p) && rc == 0; i++) {
		read_row(r, i, &j);
		if ((rt = retry_get(p, j.id, 0)) != NULL) {
			rt->seen = 1;
			if (rt->gave_up || rt->next_ms > monoclock_ms())
				continue;
		}
		rc = try_job(p, &j);
	}
	db_result_free(r);
	if (rc == 0 && !stopping(p))
		retry_prune(p);
	*next_due = -1;
	for (size_t k = 0; k < p->nr; k++)
		if (!p->r[k].gave_up && (*next_due == -1 ||
		    p->r[k].next_ms < *next_due))
			*next_due = p->r[k].next_ms;
	return rc;
}

/* Takes the notifications that arrived; a job named in one may be retried at once.  Returns 1 if any, 0, -1. */
static int
take_notifications(struct planner *p)
{
	struct db_notify	*n;
	struct retry		*r;
	char			 err[ERRBUF_LEN];
	int			 got = 0;

	for (;;) {
		if (db_notify_next(p->db, &n, err) == -1) {
			db_failed(p, "notifications", err);
			return -1;
		}
		if (n == NULL)
			return got;
		got = 1;
		if ((r = retry_get(p, strtoll(n->payload, NULL, 10), 0)) != NULL) {
			r->gave_up = 0;
			r->next_ms = 0;
		}
		db_notify_free(n);
	}
}

/* Sleeps until a notification, deadline (monotonic ms) or *stop.  Returns 0, or -1 when the connection failed. */
static int
wait_events(struct planner *p, long long deadline)
{
	char		err[ERRBUF_LEN];
	long long	left;
	int		rc;

	while (!stopping(p) && (left = deadline - monoclock_ms()) > 0) {
		if ((rc = take_notifications(p)) != 0)
			return rc == 1 ? 0 : -1;
		rc = db_wait(p->db, left < WAIT_SLICE_MS ? (int)left :
		    WAIT_SLICE_MS, err);
		if (rc == -1) {
			db_failed(p, "waiting", err);
			return -1;
		}
	}
	return 0;
}

/* Sleeps up to ms, waking every WAIT_SLICE_MS to look at *stop. */
static void
nap(struct planner *p, long long ms)
{
	long long		deadline = monoclock_ms() + ms;
	struct timespec		ts;

	while (!stopping(p) && monoclock_ms() < deadline) {
		ts.tv_sec = 0;
		ts.tv_nsec = WAIT_SLICE_MS * 1000000L;
		nanosleep(&ts, NULL);
	}
}

void *
planner_thread_main(void *arg)
{
	struct planner	 p;
	long long	 due, poll, down_ms = 1000;

	memset(&p, 0, sizeof(p));
	p.ctx = arg;
	p.seed = (unsigned int)monoclock_ms() ^ (unsigned int)(size_t)&p;
	poll = p.ctx->poll_ms > 0 ? p.ctx->poll_ms : PLANNER_POLL_MS;
	if (fetch_init() == -1)
		plog(LOGL_ERROR, 0, "libcurl initialisation failed; downloads will fail");
	if (p.ctx->cache_dir != NULL && mkdir(p.ctx->cache_dir, 0700) == -1 &&
	    errno != EEXIST)
		plog(LOGL_ERROR, 0, "cache directory %s: %s", p.ctx->cache_dir, strerror(errno));
	while (!stopping(&p)) {
		if (connect_db(&p) == -1) {
			nap(&p, down_ms);
			down_ms = down_ms < 30000 ? down_ms * 2 : 30000;
			continue;
		}
		down_ms = 1000;
		if (pass(&p, &due) == -1) {
			if (conn_lost(&p))
				disconnect(&p);
			else
				nap(&p, 1000);
			continue;
		}
		if (due == -1 || due > monoclock_ms() + poll)
			due = monoclock_ms() + poll;
		if (wait_events(&p, due) == -1)
			disconnect(&p);	/* db_wait failed: the connection is gone */
	}
	db_close(p.db);
	free(p.r);
	return NULL;
}
