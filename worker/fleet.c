/* fleet.c: the printers this worker serves: leases, MQTT sessions and trackers, kept in step with the database. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "conn_error.h"
#include "counters.h"
#include "errbuf.h"
#include "fleet.h"
#include "log.h"
#include "secret.h"
#include "session.h"
#include "tcp_open.h"
#include "tracker.h"
#include "xmalloc.h"

#define STATUS_EVERY	2	/* seconds between status writes of one printer */
#define PUSHALL_EVERY	5	/* seconds between pushall requests until a full report came */
#define RESTART_AFTER	30	/* seconds without any connection event before a new session */
#define CODE_MAX	256	/* bytes of an access code (printers_access_code_check) */
#define PROBE_AFTER	3	/* seconds without a connection before a TCP probe names why */
#define PROBE_MS	1000	/* that probe's deadline (in a thread of its own: the fleet's thread never waits) */

static atomic_int	 probes_running;	/* probe threads; fleet_free() waits for them: they push into the queue */

/* A printer row as fleet_sync() reads it. */
struct printer_row {
	long long	 id;
	const char	*name, *serial, *host;
	const char	*code, *code_enc;	/* the legacy plain code, or the encrypted one */
	int		 port, insecure;
};

/* A printer whose access code cannot be decrypted: skipped, and logged once until its error changes. */
struct unreadable {
	long long	 id;
	int		 seen;		/* still failing in this sync */
	char		 err[ERRBUF_LEN];
};

struct member {
	struct tracker	*t;
	struct session	*s;
	char		 serial[64];
	char		 host[256];
	char		 code[CODE_MAX + 1];
	int		 port, insecure;
	int		 seen;		/* still listed in this sync */
	int		 failing;	/* a restart was logged; quiet until connected */
	int		 ever_connected;	/* a later connect counts as a reconnect */
	int		 probed;	/* the TCP probe ran since the session started or the connection dropped */
	char		 last_err[ERRBUF_LEN];	/* logged once until it changes or clears */
	char		 problem[ERRBUF_LEN + 16];	/* "KIND\tmessage" of the last connection problem, or "" */
	unsigned char	 code_tag[crypto_generichash_BYTES];	/* hash of the stored code, to notice a new one */
};

struct fleet {
	const struct fleet_conf	*conf;
	struct db		*db;
	struct queue		*q;
	struct member		*m;
	int			 n, cap;
	struct unreadable	*bad;
	int			 nbad, capbad;
	char			 client_prefix[200];
	char			 ttl[32];	/* the lease's interval, "30 seconds" */
};

struct fleet *
fleet_new(const struct fleet_conf *conf, struct db *db, struct queue *q)
{
	struct fleet *f = xcalloc(1, sizeof(*f));

	f->conf = conf;
	f->db = db;
	f->q = q;
	snprintf(f->client_prefix, sizeof(f->client_prefix), "spoolkeeper-%s",
	    conf->worker_id);
	snprintf(f->ttl, sizeof(f->ttl), "%d seconds", conf->lease_ttl > 0 ?
	    conf->lease_ttl : FLEET_LEASE_TTL);
	return f;
}

static struct member *
find(struct fleet *f, long long printer_id)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (f->m[i].t->printer_id == printer_id)
			return &f->m[i];
	return NULL;
}

/* Stops a member's session and forgets it; release gives the lease up too. */
static void
drop(struct fleet *f, int i, int release, const char *why)
{
	struct member	*mb = &f->m[i];
	char		 pid[32], tok[32], err[ERRBUF_LEN];
	const char	*p[2] = { pid, tok };

	log_msg(LOGL_INFO, mb->t->printer_id, mb->t->job.id, "dropped (%s)", why);
	session_stop(mb->s);
	if (release) {
		snprintf(pid, sizeof(pid), "%lld", mb->t->printer_id);
		snprintf(tok, sizeof(tok), "%lld", mb->t->lease.token);
		if (db_exec_prepared(f->db, "SELECT lease_release($1, $2)", 2, p, NULL,
		    err) == -1)
			log_msg(LOGL_WARN, mb->t->printer_id, 0, "lease release: %s", err);
	}
	tracker_free(mb->t);
	sodium_memzero(mb->code, sizeof(mb->code));
	f->m[i] = f->m[--f->n];
}

void
fleet_free(struct fleet *f)
{
	if (f == NULL)
		return;
	while (f->n > 0)
		drop(f, f->n - 1, 1, "worker stopping");
	/* A probe thread still running pushes into the queue the caller frees next: wait (PROBE_MS at most). */
	while (atomic_load(&probes_running) > 0)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	free(f->m);
	free(f->bad);
	free(f);
}

/* Starts the member's MQTT session from the printer data it keeps. */
static int
start_session(struct fleet *f, struct member *mb, char *err)
{
	struct session_conf	c;
	char			client[256];

	snprintf(client, sizeof(client), "%s-%lld", f->client_prefix,
	    mb->t->printer_id);
	c.printer_id = mb->t->printer_id;
	c.client_id = client;
	c.serial = mb->serial;
	c.host = mb->host;
	c.port = mb->port;
	c.access_code = mb->code;
	c.cafile = f->conf->cafile;
	c.insecure = mb->insecure;
	mb->probed = 0;
	mb->s = session_start(&c, f->q, err);
	return mb->s != NULL ? 0 : -1;
}

/* Remembers that printer id's code cannot be read; 1 when err is news (to be logged), 0 when already said. */
static int
unreadable(struct fleet *f, long long id, const char *err)
{
	struct unreadable	*u;
	int			 i;

	for (i = 0; i < f->nbad; i++)
		if (f->bad[i].id == id)
			break;
	if (i == f->nbad) {
		if (f->nbad == f->capbad) {
			f->capbad = f->capbad ? f->capbad * 2 : 8;
			f->bad = xreallocarray(f->bad, (size_t)f->capbad, sizeof(*f->bad));
		}
		memset(&f->bad[f->nbad++], 0, sizeof(*f->bad));
	}
	u = &f->bad[i];
	u->id = id;
	u->seen = 1;
	if (strcmp(u->err, err) == 0)
		return 0;
	snprintf(u->err, sizeof(u->err), "%s", err);
	return 1;
}

/* Forgets the printers that were readable (or gone) in this sync; the others stay remembered. */
static void
unreadable_prune(struct fleet *f)
{
	int	i;

	for (i = f->nbad - 1; i >= 0; i--) {
		if (!f->bad[i].seen)
			f->bad[i] = f->bad[--f->nbad];
		else
			f->bad[i].seen = 0;
	}
}

/*
 * The printer's access code into code (CODE_MAX + 1 bytes): decrypted from access_code_enc, or the plain
 * access_code of a row from before encryption.  0, or -1 when it cannot be read (logged once per printer and
 * error; the code is never logged).
 */
static int
access_code(struct fleet *f, const struct printer_row *r, char *code)
{
	char	*plain, err[ERRBUF_LEN];

	if (secret_open(f->conf->key, SECRET_ACCESS_CODE, r->code, r->code_enc, &plain, err) == 0 &&
	    strlen(plain) > CODE_MAX) {
		secret_wipe_free(plain);
		errbuf_set(err, "the access code is longer than %d bytes", CODE_MAX);
		plain = NULL;
	}
	if (plain == NULL) {
		if (unreadable(f, r->id, err))
			log_msg(LOGL_ERROR, r->id, 0, "printer %s: %s; printer skipped", r->name, err);
		return -1;
	}
	memcpy(code, plain, strlen(plain) + 1);
	secret_wipe_free(plain);
	return 0;
}

/* A hash of the printer row's stored access code (plain or encrypted) into tag, to notice when it changes. */
static void
code_tag(const struct printer_row *r, unsigned char *tag)
{
	crypto_generichash_state	st;

	crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
	if (r->code != NULL)
		crypto_generichash_update(&st, (const unsigned char *)r->code, strlen(r->code) + 1);
	crypto_generichash_update(&st, (const unsigned char *)"|", 1);
	if (r->code_enc != NULL)
		crypto_generichash_update(&st, (const unsigned char *)r->code_enc, strlen(r->code_enc) + 1);
	crypto_generichash_final(&st, tag, crypto_generichash_BYTES);
}

/* Takes the lease of a free printer and starts following it. */
static int
adopt(struct fleet *f, const struct printer_row *r, char *err)
{
	struct db_result	*res;
	struct member		 mb;
	long long		 token;
	char			 pid[32];
	const char		*p[3] = { pid, f->conf->worker_id, f->ttl };

	/* A code that cannot be read takes no lease: another worker (with the right key) may serve it. */
	memset(&mb, 0, sizeof(mb));
	if (access_code(f, r, mb.code) == -1)
		return 0;
	snprintf(pid, sizeof(pid), "%lld", r->id);
	if (db_exec_prepared(f->db, "SELECT lease_acquire($1, $2, $3::interval)", 3, p,
	    &res, err) == -1)
		goto fail;
	if (db_result_int64(res, 0, 0, &token) == -1) {
		db_result_free(res);
		sodium_memzero(mb.code, sizeof(mb.code));
		return 0;		/* another worker holds it */
	}
	db_result_free(res);
	mb.t = tracker_new(r->id, r->name, token);
	snprintf(mb.serial, sizeof(mb.serial), "%s", r->serial);
	snprintf(mb.host, sizeof(mb.host), "%s", r->host);
	mb.port = r->port;
	mb.insecure = r->insecure;
	code_tag(r, mb.code_tag);
	mb.t->last_msg = time(NULL);
	if (tracker_resume(mb.t, f->db, err) == -1 ||
	    start_session(f, &mb, err) == -1) {
		tracker_free(mb.t);
		goto fail;
	}
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->m = xreallocarray(f->m, (size_t)f->cap, sizeof(*f->m));
	}
	mb.seen = 1;
	f->m[f->n++] = mb;
	log_msg(LOGL_INFO, r->id, mb.t->job.id, "printer %s: lease %lld taken%s", r->name, token,
	    mb.t->job.id ? ", resuming its job" : "");
	return 0;
fail:
	sodium_memzero(mb.code, sizeof(mb.code));
	return -1;
}

/* Renews a held lease; returns 1 when still held, 0 when lost, -1 on error. */
static int
renew(struct fleet *f, struct member *mb, char *err)
{
	struct db_result	*res;
	char			 pid[32], tok[32];
	const char		*p[3] = { pid, tok, f->ttl };
	int			 held;

	snprintf(pid, sizeof(pid), "%lld", mb->t->printer_id);
	snprintf(tok, sizeof(tok), "%lld", mb->t->lease.token);
	if (db_exec_prepared(f->db, "SELECT lease_renew($1, $2, $3::interval)", 3, p,
	    &res, err) == -1)
		return -1;
	held = db_result_bool(res, 0, 0) == 1;
	db_result_free(res);
	return held;
}

static void
row_of(const struct db_result *res, int i, struct printer_row *r)
{
	long long v;

	db_result_int64(res, i, 0, &r->id);
	r->name = db_result_get(res, i, 1);
	r->serial = db_result_get(res, i, 2);
	r->host = db_result_get(res, i, 3);
	r->port = db_result_int64(res, i, 4, &v) == 0 ? (int)v : 8883;
	r->code = db_result_get(res, i, 5);
	r->insecure = db_result_bool(res, i, 6) == 1;
	r->code_enc = db_result_get(res, i, 7);
}

/* Writes this worker's counters (worker/counters.h) to worker_metrics, which GET /metrics adds up. */
static int
publish_counters(struct fleet *f, char *err)
{
	char		*json = counters_json();
	const char	*p[2] = { f->conf->worker_id, json };
	int		 rc;

	if (json == NULL)
		return errbuf_set(err, "counters: out of memory");
	rc = db_exec_prepared(f->db, "INSERT INTO worker_metrics (worker_id, counters) VALUES ($1, $2::jsonb) "
	    "ON CONFLICT (worker_id) DO UPDATE SET counters = EXCLUDED.counters, updated_at = now()",
	    2, p, NULL, err);
	free(json);
	return rc;
}

static int
heartbeat(struct fleet *f, char *err)
{
	char		 host[256] = "", pid[16], n[16];
	const char	*p[4] = { f->conf->worker_id, host, pid, n };

	gethostname(host, sizeof(host) - 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(n, sizeof(n), "%d", f->n);
	if (db_exec_prepared(f->db, "INSERT INTO worker_heartbeats (worker_id, "
	    "hostname, pid, printers, seen_at) VALUES ($1, $2, $3::int, "
	    "$4::int, now()) ON CONFLICT (worker_id) DO UPDATE SET hostname = "
	    "EXCLUDED.hostname, pid = EXCLUDED.pid, printers = "
	    "EXCLUDED.printers, seen_at = now()", 4, p, NULL, err) == -1)
		return -1;
	return publish_counters(f, err);
}

/*
 * A held printer whose address, port, TLS setting or access code was changed (PATCH, `spoolkeeper printer`):
 * a new session with the new values, right away, so a fixed access code shows at once.
 */
static void
reconfigure(struct fleet *f, struct member *mb, const struct printer_row *r)
{
	unsigned char	 tag[crypto_generichash_BYTES];
	char		 err[ERRBUF_LEN];

	code_tag(r, tag);
	if (strcmp(mb->host, r->host) == 0 && mb->port == r->port && mb->insecure == r->insecure &&
	    sodium_memcmp(tag, mb->code_tag, sizeof(tag)) == 0)
		return;
	if (access_code(f, r, mb->code) == -1)
		return;
	log_msg(LOGL_INFO, r->id, mb->t->job.id, "printer %s: connection settings changed; connecting again",
	    r->name);
	memcpy(mb->code_tag, tag, sizeof(tag));
	snprintf(mb->host, sizeof(mb->host), "%s", r->host);
	mb->port = r->port;
	mb->insecure = r->insecure;
	session_stop(mb->s);
	mb->s = NULL;
	mb->failing = 0;
	mb->t->last_msg = time(NULL);
	if (start_session(f, mb, err) == -1)
		log_msg(LOGL_ERROR, r->id, mb->t->job.id, "%s", err);
}

/*
 * A connection problem ("KIND\tmessage", len bytes) a session named: logged and stored once per change; NULL
 * clears it (connected).
 */
static void
note_problem(struct fleet *f, struct member *mb, const char *payload, size_t len)
{
	char	 now[sizeof(mb->problem)], kind[16], err[ERRBUF_LEN];
	char	*msg = NULL;
	size_t	 k;

	if (len >= sizeof(now))
		len = sizeof(now) - 1;
	if (payload != NULL)
		memcpy(now, payload, len);
	now[payload != NULL ? len : 0] = '\0';
	if (strcmp(now, mb->problem) == 0)
		return;
	if (now[0] != '\0') {
		if ((msg = strchr(now, '\t')) == NULL || (k = (size_t)(msg - now)) >= sizeof(kind))
			return;
		memcpy(kind, now, k);
		kind[k] = '\0';
		msg++;
		log_msg(LOGL_WARN, mb->t->printer_id, mb->t->job.id, "cannot connect (%s): %s; retrying", kind, msg);
	} else
		log_msg(LOGL_INFO, mb->t->printer_id, mb->t->job.id, "connected: the problem before is over (%s)",
		    strchr(mb->problem, '\t') + 1);
	snprintf(mb->problem, sizeof(mb->problem), "%s", now);
	if (conn_error_store(f->db, mb->t->printer_id, f->conf->worker_id, msg != NULL ? kind : NULL, msg,
	    err) == -1)
		log_msg(LOGL_ERROR, mb->t->printer_id, mb->t->job.id, "connection error: %s", err);
}

int
fleet_sync(struct fleet *f, time_t now, char *err)
{
	struct db_result	*res;
	struct printer_row	 r;
	struct member		*mb;
	int			 i, held;

	(void)now;
	if (db_exec_prepared(f->db, "SELECT id, name, serial, host, mqtt_port, "
	    "access_code, insecure_tls, access_code_enc FROM printers WHERE "
	    "enabled ORDER BY id", 0, NULL, &res, err) == -1)
		return -1;
	for (i = 0; i < f->n; i++)
		f->m[i].seen = 0;
	for (i = 0; i < db_result_rows(res); i++) {
		row_of(res, i, &r);
		if ((mb = find(f, r.id)) != NULL) {
			mb->seen = 1;
			reconfigure(f, mb, &r);
			continue;
		}
		if (f->conf->max_printers > 0 && f->n >= f->conf->max_printers)
			continue;
		if (adopt(f, &r, err) == -1)
			log_msg(LOGL_ERROR, r.id, 0, "%s", err);
	}
	db_result_free(res);
	unreadable_prune(f);
	for (i = f->n - 1; i >= 0; i--) {
		if (!f->m[i].seen) {
			drop(f, i, 1, "removed or disabled");
			continue;
		}
		if ((held = renew(f, &f->m[i], err)) == -1)
			return -1;
		if (held == 0)
			drop(f, i, 0, "lease taken over");
	}
	return heartbeat(f, err);
}

void
fleet_dispatch(struct fleet *f, const struct queue_msg *m, time_t now)
{
	struct member	*mb = find(f, m->printer_id);
	char		 err[ERRBUF_LEN];

	if (mb == NULL)
		return;		/* a late event of a dropped printer */
	switch (m->kind) {
	case QUEUE_CONNECTED:
		log_msg(LOGL_INFO, m->printer_id, mb->t->job.id, "connected");
		counters_add(COUNTER_MQTT_CONNECTS, 1);
		if (mb->ever_connected)
			counters_add(COUNTER_MQTT_RECONNECTS, 1);
		mb->ever_connected = 1;
		mb->failing = 0;
		if (mb->problem[0] != '\0')
			note_problem(f, mb, NULL, 0);
		tracker_connection(mb->t, 1, now);
		break;
	case QUEUE_DISCONNECTED:
		if (mb->t->connected) {
			log_msg(LOGL_WARN, m->printer_id, mb->t->job.id, "disconnected (%d)", m->rc);
			counters_add(COUNTER_MQTT_DISCONNECTS, 1);
		}
		if (m->len > 0)
			note_problem(f, mb, m->payload, m->len);
		else
			mb->probed = 0;	/* a dropped connection: libmosquitto's silent retries may need naming */
		tracker_connection(mb->t, 0, now);
		break;
	case QUEUE_PROBLEM:
		if (!mb->t->connected)	/* a late answer about a printer that has connected since says nothing */
			note_problem(f, mb, m->payload, m->len);
		break;
	case QUEUE_REPORT:
		if (tracker_report(mb->t, f->db, m->payload, m->len, now,
		    err) == -1) {
			/* A repeating failure (database down) is logged once. */
			if (strcmp(err, mb->last_err) != 0)
				log_msg(LOGL_ERROR, m->printer_id, mb->t->job.id, "%s", err);
			snprintf(mb->last_err, sizeof(mb->last_err), "%s", err);
		} else if (mb->last_err[0] != '\0') {
			log_msg(LOGL_INFO, m->printer_id, mb->t->job.id, "working again");
			mb->last_err[0] = '\0';
		}
		break;
	}
}

void
fleet_planned(struct fleet *f, long long job_id)
{
	struct db_result	*res;
	struct member		*mb;
	long long		 printer_id;
	char			 id[32], err[ERRBUF_LEN];
	const char		*p[1] = { id };

	snprintf(id, sizeof(id), "%lld", job_id);
	if (db_exec_prepared(f->db, "SELECT printer_id FROM print_jobs WHERE id = $1",
	    1, p, &res, err) == -1) {
		log_msg(LOGL_ERROR, 0, job_id, "%s", err);
		return;
	}
	if (db_result_int64(res, 0, 0, &printer_id) == 0 &&
	    (mb = find(f, printer_id)) != NULL &&
	    tracker_planned(mb->t, f->db, job_id, err) == -1)
		log_msg(LOGL_ERROR, printer_id, job_id, "%s", err);
	db_result_free(res);
}

/* What one probe thread needs: its own copies, since the member may be dropped while it runs. */
struct probe_job {
	struct queue	*q;
	long long	 printer_id;
	char		*host;
	int		 port;
};


static void *
probe_main(void *arg)
{
	struct probe_job	*pj = arg;
	char			 err[ERRBUF_LEN], buf[ERRBUF_LEN * 2];
	int			 fd, n;

	if ((fd = tcp_open(pj->host, pj->port, PROBE_MS, err)) != -1)
		close(fd);
	else {
		n = snprintf(buf, sizeof(buf), "unreachable\tcannot reach %s:%d: %s", pj->host, pj->port, err);
		queue_push(pj->q, pj->printer_id, QUEUE_PROBLEM, 0, buf,
		    n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	}
	free(pj->host);
	free(pj);
	atomic_fetch_sub(&probes_running, 1);
	return NULL;
}

/*
 * libmosquitto names no problem when the TCP connection itself fails (refused, no route, no answer): a probe of
 * host:port does, once per session or dropped connection, in a short-lived thread of its own (PROBE_MS at most)
 * whose answer comes back through the queue as QUEUE_PROBLEM.  A port that answers leaves the problem to the
 * session (TLS, login) or to restart().
 */
static void
probe(struct fleet *f, struct member *mb)
{
	struct probe_job	*pj;
	pthread_attr_t		 attr;
	pthread_t		 th;

	mb->probed = 1;
	pj = xcalloc(1, sizeof(*pj));
	pj->q = f->q;
	pj->printer_id = mb->t->printer_id;
	pj->host = xstrdup(mb->host);
	pj->port = mb->port;
	atomic_fetch_add(&probes_running, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, probe_main, pj) != 0) {
		atomic_fetch_sub(&probes_running, 1);
		free(pj->host);
		free(pj);
	}
	pthread_attr_destroy(&attr);
}

static void
restart(struct fleet *f, struct member *mb, time_t now)
{
	char	 err[ERRBUF_LEN], silent[ERRBUF_LEN + 16];
	int	 n;

	if (mb->problem[0] == '\0') {
		/* No session named a problem (a host that drops packets): say what is known. */
		n = snprintf(silent, sizeof(silent), "unreachable\tno answer from %s:%d for %d s", mb->host, mb->port,
		    RESTART_AFTER);
		note_problem(f, mb, silent, (size_t)n);
	}
	if (!mb->failing)
		log_msg(LOGL_INFO, mb->t->printer_id, mb->t->job.id, "no connection to %s:%d; a new session every "
		    "%d s until it connects", mb->host, mb->port, RESTART_AFTER);
	mb->failing = 1;
	session_stop(mb->s);
	mb->s = NULL;
	mb->t->last_msg = now;
	if (start_session(f, mb, err) == -1)
		log_msg(LOGL_ERROR, mb->t->printer_id, mb->t->job.id, "%s", err);
}

void
fleet_tick(struct fleet *f, time_t now)
{
	struct member	*mb;
	char		 err[ERRBUF_LEN];
	int		 i;

	for (i = f->n - 1; i >= 0; i--) {
		mb = &f->m[i];
		if (tracker_flush_status(mb->t, f->db, f->conf->worker_id, now,
		    STATUS_EVERY, err) == -1)
			log_msg(LOGL_ERROR, mb->t->printer_id, mb->t->job.id, "status: %s", err);
		if (!mb->t->connected) {
			/*
			 * libmosquitto reconnects by itself, but its network
			 * thread ends on a TLS or login failure: with no event
			 * for a while, start a new session.
			 */
			if (now - mb->t->last_msg >= RESTART_AFTER)
				restart(f, mb, now);
			else if (!mb->probed && now - mb->t->last_msg >= PROBE_AFTER)
				probe(f, mb);
			continue;
		}
		mb->failing = 0;
		/*
		 * Deltas only merge into a full report: until one came (the
		 * pushall asked at connect may have found nobody), ask again.
		 */
		if (!bambu_state_complete(mb->t->st) && mb->s != NULL &&
		    now - mb->t->pushall_at >= PUSHALL_EVERY) {
			session_pushall(mb->s);
			mb->t->pushall_at = now;
		}
		if (now - mb->t->last_msg < FLEET_SILENCE)
			continue;
		if (!mb->t->poked) {
			if (mb->s != NULL)
				session_pushall(mb->s);
			mb->t->poked = 1;
		} else if (now - mb->t->last_msg >= FLEET_DEAD)
			drop(f, i, 1, "connected but silent; the next sync "
			    "reconnects");
	}
}

int
fleet_size(const struct fleet *f)
{
	return f->n;
}
