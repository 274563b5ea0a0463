/* fleet.c: the printers this worker serves: leases, MQTT sessions and trackers, kept in step with the database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "fleet.h"
#include "session.h"
#include "tracker.h"
#include "xmalloc.h"

#define STATUS_EVERY	2	/* seconds between status writes of one printer */
#define PUSHALL_EVERY	5	/* seconds between pushall requests until a full report came */
#define RESTART_AFTER	30	/* seconds without any connection event before a new session */

/* A printer row as fleet_sync() reads it. */
struct printer_row {
	long long	 id;
	const char	*name, *serial, *host, *code;
	int		 port, insecure;
};

struct member {
	struct tracker	*t;
	struct session	*s;
	char		 serial[64];
	char		 host[256];
	char		 code[64];
	int		 port, insecure;
	int		 seen;		/* still listed in this sync */
	int		 failing;	/* a restart was logged; quiet until connected */
	char		 last_err[ERRBUF_LEN];	/* logged once until it changes or clears */
};

struct fleet {
	const struct fleet_conf	*conf;
	struct db		*db;
	struct queue		*q;
	struct member		*m;
	int			 n, cap;
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

	fprintf(stderr, "worker: printer %lld: dropped (%s)\n",
	    mb->t->printer_id, why);
	session_stop(mb->s);
	if (release) {
		snprintf(pid, sizeof(pid), "%lld", mb->t->printer_id);
		snprintf(tok, sizeof(tok), "%lld", mb->t->lease.token);
		if (db_exec(f->db, "SELECT lease_release($1, $2)", 2, p, NULL,
		    err) == -1)
			fprintf(stderr, "worker: lease release: %s\n", err);
	}
	tracker_free(mb->t);
	f->m[i] = f->m[--f->n];
}

void
fleet_free(struct fleet *f)
{
	if (f == NULL)
		return;
	while (f->n > 0)
		drop(f, f->n - 1, 1, "worker stopping");
	free(f->m);
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
	mb->s = session_start(&c, f->q, err);
	return mb->s != NULL ? 0 : -1;
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

	snprintf(pid, sizeof(pid), "%lld", r->id);
	if (db_exec(f->db, "SELECT lease_acquire($1, $2, $3::interval)", 3, p,
	    &res, err) == -1)
		return -1;
	if (db_result_int64(res, 0, 0, &token) == -1) {
		db_result_free(res);
		return 0;		/* another worker holds it */
	}
	db_result_free(res);
	memset(&mb, 0, sizeof(mb));
	mb.t = tracker_new(r->id, r->name, token);
	snprintf(mb.serial, sizeof(mb.serial), "%s", r->serial);
	snprintf(mb.host, sizeof(mb.host), "%s", r->host);
	snprintf(mb.code, sizeof(mb.code), "%s", r->code);
	mb.port = r->port;
	mb.insecure = r->insecure;
	mb.t->last_msg = time(NULL);
	if (tracker_resume(mb.t, f->db, err) == -1 ||
	    start_session(f, &mb, err) == -1) {
		tracker_free(mb.t);
		return -1;
	}
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->m = xreallocarray(f->m, (size_t)f->cap, sizeof(*f->m));
	}
	mb.seen = 1;
	f->m[f->n++] = mb;
	fprintf(stderr, "worker: printer %lld (%s): lease %lld taken%s\n",
	    r->id, r->name, token, mb.t->job.id ? ", resuming its job" : "");
	return 0;
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
	if (db_exec(f->db, "SELECT lease_renew($1, $2, $3::interval)", 3, p,
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
}

static int
heartbeat(struct fleet *f, char *err)
{
	char		 host[256] = "", pid[16], n[16];
	const char	*p[4] = { f->conf->worker_id, host, pid, n };

	gethostname(host, sizeof(host) - 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(n, sizeof(n), "%d", f->n);
	return db_exec(f->db, "INSERT INTO worker_heartbeats (worker_id, "
	    "hostname, pid, printers, seen_at) VALUES ($1, $2, $3::int, "
	    "$4::int, now()) ON CONFLICT (worker_id) DO UPDATE SET hostname = "
	    "EXCLUDED.hostname, pid = EXCLUDED.pid, printers = "
	    "EXCLUDED.printers, seen_at = now()", 4, p, NULL, err);
}

int
fleet_sync(struct fleet *f, time_t now, char *err)
{
	struct db_result	*res;
	struct printer_row	 r;
	struct member		*mb;
	int			 i, held;

	(void)now;
	if (db_exec(f->db, "SELECT id, name, serial, host, mqtt_port, "
	    "access_code, insecure_tls FROM printers WHERE enabled ORDER BY id",
	    0, NULL, &res, err) == -1)
		return -1;
	for (i = 0; i < f->n; i++)
		f->m[i].seen = 0;
	for (i = 0; i < db_result_rows(res); i++) {
		row_of(res, i, &r);
		if ((mb = find(f, r.id)) != NULL) {
			mb->seen = 1;
			continue;
		}
		if (f->conf->max_printers > 0 && f->n >= f->conf->max_printers)
			continue;
		if (adopt(f, &r, err) == -1)
			fprintf(stderr, "worker: printer %lld: %s\n", r.id, err);
	}
	db_result_free(res);
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
		fprintf(stderr, "worker: printer %lld: connected\n",
		    m->printer_id);
		tracker_connection(mb->t, 1, now);
		break;
	case QUEUE_DISCONNECTED:
		if (mb->t->connected)
			fprintf(stderr, "worker: printer %lld: disconnected "
			    "(%d)\n", m->printer_id, m->rc);
		tracker_connection(mb->t, 0, now);
		break;
	case QUEUE_REPORT:
		if (tracker_report(mb->t, f->db, m->payload, m->len, now,
		    err) == -1) {
			/* A repeating failure (database down) is logged once. */
			if (strcmp(err, mb->last_err) != 0)
				fprintf(stderr, "worker: printer %lld: %s\n",
				    m->printer_id, err);
			snprintf(mb->last_err, sizeof(mb->last_err), "%s", err);
		} else if (mb->last_err[0] != '\0') {
			fprintf(stderr, "worker: printer %lld: working again\n",
			    m->printer_id);
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
	if (db_exec(f->db, "SELECT printer_id FROM print_jobs WHERE id = $1",
	    1, p, &res, err) == -1) {
		fprintf(stderr, "worker: job %lld: %s\n", job_id, err);
		return;
	}
	if (db_result_int64(res, 0, 0, &printer_id) == 0 &&
	    (mb = find(f, printer_id)) != NULL &&
	    tracker_planned(mb->t, f->db, job_id, err) == -1)
		fprintf(stderr, "worker: job %lld: %s\n", job_id, err);
	db_result_free(res);
}

static void
restart(struct fleet *f, struct member *mb, time_t now)
{
	char err[ERRBUF_LEN];

	if (!mb->failing)
		fprintf(stderr, "worker: printer %lld: cannot connect to %s:%d "
		    "(TLS, access code or network); retrying every %d s\n",
		    mb->t->printer_id, mb->host, mb->port, RESTART_AFTER);
	mb->failing = 1;
	session_stop(mb->s);
	mb->s = NULL;
	mb->t->last_msg = now;
	if (start_session(f, mb, err) == -1)
		fprintf(stderr, "worker: printer %lld: %s\n", mb->t->printer_id,
		    err);
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
			fprintf(stderr, "worker: printer %lld: status: %s\n",
			    mb->t->printer_id, err);
		if (!mb->t->connected) {
			/*
			 * libmosquitto reconnects by itself, but its network
			 * thread ends on a TLS or login failure: with no event
			 * for a while, start a new session.
			 */
			if (now - mb->t->last_msg >= RESTART_AFTER)
				restart(f, mb, now);
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
