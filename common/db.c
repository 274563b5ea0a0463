/* db.c: the PostgreSQL connection: one execute wrapper over PQexecParams, SQLSTATE capture, results, NOTIFY. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "errbuf.h"
#include "xmalloc.h"

/*
 * A statement of db_exec_prepared() on this connection: its text, that text's hash, and the generation of its
 * name "sk_<slot>_<gen>" (a new name once the server has refused to run the old one), prepared or not yet.
 */
struct prepared {
	char		*sql;
	unsigned long	 hash;
	int		 gen;
	int		 ready;
};

#define DB_MAX_PREPARED	64

struct db {
	PGconn		*conn;
	char		 sqlstate[DB_SQLSTATE_LEN];	/* of the last failure, "" if none */
	char		 constraint[DB_NAME_LEN];
	int		 errpos;
	struct prepared	 prepared[DB_MAX_PREPARED];
	int		 nprepared;
};

struct db_result {
	PGresult	*res;
};

/* Copies src into dst (ERRBUF_LEN) as one line: runs of whitespace become one space, ends trimmed. */
static void
one_line(char *dst, const char *src)
{
	size_t	n = 0;
	int	space = 0;

	for (; *src != '\0' && n + 1 < ERRBUF_LEN; src++) {
		if (*src == ' ' || *src == '\n' || *src == '\r' || *src == '\t') {
			space = n > 0;
			continue;
		}
		if (space && n + 2 < ERRBUF_LEN)
			dst[n++] = ' ';
		space = 0;
		dst[n++] = *src;
	}
	dst[n] = '\0';
}

static void
clear_error(struct db *db)
{
	db->sqlstate[0] = '\0';
	db->constraint[0] = '\0';
	db->errpos = 0;
}

static void
copy_field(char *dst, size_t len, const char *src)
{
	if (src == NULL)
		src = "";
	snprintf(dst, len, "%s", src);
}

/* Fills err from libpq's connection message; marks a lost connection with 08006.  Returns -1. */
static int
conn_error(struct db *db, const char *what, char *err)
{
	char	buf[ERRBUF_LEN];

	if (PQstatus(db->conn) == CONNECTION_BAD && db->sqlstate[0] == '\0')
		copy_field(db->sqlstate, sizeof(db->sqlstate), DB_CONNECTION_FAILURE);
	snprintf(buf, sizeof(buf), "%s: %s", what, PQerrorMessage(db->conn));
	if (err != NULL)
		one_line(err, buf);
	return -1;
}

/* Fills err, the SQLSTATE, constraint and position from a failed result.  Returns -1. */
static int
result_error(struct db *db, const PGresult *res, char *err)
{
	const char	*primary, *detail, *state, *pos;
	char		 buf[ERRBUF_LEN];

	primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
	copy_field(db->sqlstate, sizeof(db->sqlstate), state);
	copy_field(db->constraint, sizeof(db->constraint),
	    PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME));
	db->errpos = pos != NULL ? (int)strtol(pos, NULL, 10) : 0;
	if (primary == NULL) {
		if (PQresultStatus(res) == PGRES_EMPTY_QUERY)
			return errbuf_set(err, "empty query");
		if (PQresultStatus(res) != PGRES_FATAL_ERROR &&
		    PQresultStatus(res) != PGRES_NONFATAL_ERROR)
			return errbuf_set(err, "unexpected result %s",
			    PQresStatus(PQresultStatus(res)));
		return conn_error(db, "query failed", err);
	}
	/* The "Failing row contains (...)" of these may show secrets (an access code): never repeat it. */
	if (state != NULL && (strcmp(state, DB_CHECK_VIOLATION) == 0 ||
	    strcmp(state, DB_NOT_NULL_VIOLATION) == 0))
		detail = NULL;
	if (state == NULL && PQstatus(db->conn) == CONNECTION_BAD)
		copy_field(db->sqlstate, sizeof(db->sqlstate),
		    DB_CONNECTION_FAILURE);
	snprintf(buf, sizeof(buf), "%s%s%s (SQLSTATE %s)", primary,
	    detail != NULL ? ": " : "", detail != NULL ? detail : "",
	    db->sqlstate[0] != '\0' ? db->sqlstate : "none");
	if (err != NULL)
		one_line(err, buf);
	return -1;
}

/*
 * Takes ownership of res (from PQexec or PQexecParams): checks it, and either hands it to *resp or clears it.
 * Returns 0 or -1 with the error recorded.
 */
static int
finish(struct db *db, PGresult *res, struct db_result **resp, char *err)
{
	ExecStatusType	st;
	int		rc;

	if (res == NULL)
		return conn_error(db, "query failed", err);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		rc = result_error(db, res, err);
		PQclear(res);
		return rc;
	}
	if (resp == NULL) {
		PQclear(res);
		return 0;
	}
	*resp = xmalloc(sizeof(**resp));
	(*resp)->res = res;
	return 0;
}

/* Notice receiver: NOTICE and INFO are dropped, WARNING goes to stderr on one line. */
static void
on_notice(void *arg, const PGresult *res)
{
	const char	*sev, *msg;
	char		 line[ERRBUF_LEN];

	(void)arg;
	sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (sev == NULL || msg == NULL || strcmp(sev, "WARNING") != 0)
		return;
	one_line(line, msg);
	fprintf(stderr, "spoolkeeper: database warning: %s\n", line);
}

/* Forgets the statements prepared on the connection (after a reset they no longer exist on the server). */
static void
forget_prepared(struct db *db)
{
	int	 i;

	if (db == NULL)
		return;
	for (i = 0; i < db->nprepared; i++)
		free(db->prepared[i].sql);
	db->nprepared = 0;
}

int
db_open(const char *conninfo, struct db **dbp, char *err)
{
	static const char *const keys[] = { "dbname",
	    "fallback_application_name", "client_encoding", NULL };
	const char	*vals[4];
	struct db	*db;

	*dbp = NULL;
	vals[0] = conninfo;
	vals[1] = "spoolkeeper";
	vals[2] = "UTF8";
	vals[3] = NULL;
	db = xcalloc(1, sizeof(*db));
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL) {
		free(db);
		return errbuf_set(err, "out of memory for the connection");
	}
	if (PQstatus(db->conn) != CONNECTION_OK) {
		conn_error(db, "cannot connect to the database", err);
		db_close(db);
		return -1;
	}
	PQsetNoticeReceiver(db->conn, on_notice, NULL);
	*dbp = db;
	return 0;
}

void
db_close(struct db *db)
{
	forget_prepared(db);
	if (db == NULL)
		return;
	PQfinish(db->conn);
	free(db);
}

int
db_exec(struct db *db, const char *sql, int nparams, const char *const *params,
    struct db_result **resp, char *err)
{
	if (resp != NULL)
		*resp = NULL;
	clear_error(db);
	if (nparams < 0 || (nparams > 0 && params == NULL))
		return errbuf_set(err, "db_exec: bad parameter list");
	return finish(db, PQexecParams(db->conn, sql, nparams, NULL, params,
	    NULL, NULL, 0), resp, err);
}

/* FNV-1a of a statement's text. */
static unsigned long
sql_hash(const char *s)
{
	unsigned long	 h = 14695981039346656037UL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211UL;
	return h;
}

/* Drops the prepared statement name (an identifier we made) from the server; errors are ignored. */
static void
deallocate(struct db *db, const char *name)
{
	char sql[48];

	snprintf(sql, sizeof(sql), "DEALLOCATE %s", name);
	PQclear(PQexec(db->conn, sql));
}

/* Prepares statement p (slot i) under its current name, in name (32 bytes).  0 or -1 as db_exec(). */
static int
prepare(struct db *db, int i, int nparams, char *name, char *err)
{
	struct prepared	*p = &db->prepared[i];
	PGresult	*res;

	snprintf(name, 32, "sk_%d_%d", i, p->gen);
	if (p->ready)
		return 0;
	res = PQprepare(db->conn, name, p->sql, nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return finish(db, res, NULL, err);
	PQclear(res);
	p->ready = 1;
	return 0;
}

int
db_exec_prepared(struct db *db, const char *sql, int nparams, const char *const *params,
    struct db_result **resp, char *err)
{
	unsigned long	 h = sql_hash(sql);
	char		 name[32];
	int		 i, rc;

	if (resp != NULL)
		*resp = NULL;
	clear_error(db);
	if (nparams < 0 || (nparams > 0 && params == NULL))
		return errbuf_set(err, "db_exec_prepared: bad parameter list");
	for (i = 0; i < db->nprepared; i++)
		if (db->prepared[i].hash == h && strcmp(db->prepared[i].sql, sql) == 0)
			break;
	if (i == db->nprepared) {
		if (i == DB_MAX_PREPARED)
			return db_exec(db, sql, nparams, params, resp, err);
		db->prepared[i].sql = xstrdup(sql);
		db->prepared[i].hash = h;
		db->prepared[i].gen = 0;
		db->prepared[i].ready = 0;
		db->nprepared++;
	}
	if (prepare(db, i, nparams, name, err) == -1)
		return -1;
	rc = finish(db, PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0), resp, err);
	/*
	 * "cached plan must not change result type": a migration changed what the statement returns since it was
	 * prepared.  It is prepared again under a new name, and run again at once unless a transaction has failed
	 * with it (its caller then retries the transaction, which finds the new statement).
	 */
	if (rc == -1 && strcmp(db->sqlstate, "0A000") == 0) {
		db->prepared[i].gen++;
		db->prepared[i].ready = 0;
		if (PQtransactionStatus(db->conn) == PQTRANS_IDLE) {
			deallocate(db, name);
			clear_error(db);
			if (prepare(db, i, nparams, name, err) == -1)
				return -1;
			rc = finish(db, PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0), resp, err);
		}
	}
	return rc;
}

int
db_exec_script(struct db *db, const char *sql, char *err)
{
	clear_error(db);
	return finish(db, PQexec(db->conn, sql), NULL, err);
}

int
db_begin(struct db *db, char *err)
{
	return db_exec(db, "BEGIN", 0, NULL, NULL, err);
}

int
db_commit(struct db *db, char *err)
{
	struct db_result	*r;
	int			 ok;

	if (PQtransactionStatus(db->conn) == PQTRANS_INERROR) {
		db_rollback(db);
		copy_field(db->sqlstate, sizeof(db->sqlstate), "25P02");
		return errbuf_set(err, "the transaction failed and was "
		    "rolled back");
	}
	if (db_exec(db, "COMMIT", 0, NULL, &r, err) == -1)
		return -1;
	/* COMMIT of a failed transaction answers "ROLLBACK" without an error. */
	ok = strcmp(PQcmdStatus(r->res), "COMMIT") == 0;
	db_result_free(r);
	if (!ok) {
		copy_field(db->sqlstate, sizeof(db->sqlstate), "25P02");
		return errbuf_set(err, "the transaction was rolled back");
	}
	return 0;
}

void
db_rollback(struct db *db)
{
	PGTransactionStatusType	ts;

	ts = PQtransactionStatus(db->conn);
	if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR)
		return;
	PQclear(PQexec(db->conn, "ROLLBACK"));
}

int
db_in_transaction(const struct db *db)
{
	PGTransactionStatusType	ts;

	ts = PQtransactionStatus(db->conn);
	return ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
}

const char *
db_sqlstate(const struct db *db)
{
	return db->sqlstate;
}

const char *
db_constraint(const struct db *db)
{
	return db->constraint;
}

int
db_errpos(const struct db *db)
{
	return db->errpos;
}

int
db_is(const struct db *db, const char *state)
{
	return strcmp(db->sqlstate, state) == 0;
}

int
db_check(struct db *db, char *err)
{
	clear_error(db);
	if (PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	forget_prepared(db);
	PQreset(db->conn);
	if (PQstatus(db->conn) != CONNECTION_OK)
		return conn_error(db, "cannot reconnect to the database", err);
	return 0;
}

int
db_listen(struct db *db, const char *channel, char *err)
{
	char	*ident, *sql;
	size_t	 len;
	int	 rc;

	clear_error(db);
	ident = PQescapeIdentifier(db->conn, channel, strlen(channel));
	if (ident == NULL)
		return conn_error(db, "LISTEN", err);
	len = strlen(ident) + sizeof("LISTEN ");
	sql = xmalloc(len);
	snprintf(sql, len, "LISTEN %s", ident);	/* an identifier, escaped */
	PQfreemem(ident);
	rc = db_exec(db, sql, 0, NULL, NULL, err);
	free(sql);
	return rc;
}

int
db_socket(const struct db *db)
{
	return PQsocket(db->conn);
}

int
db_wait(struct db *db, int timeout_ms, char *err)
{
	struct pollfd	pfd;
	int		n;

	clear_error(db);
	pfd.fd = PQsocket(db->conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (pfd.fd < 0)
		return conn_error(db, "no connection", err);
	n = poll(&pfd, 1, timeout_ms);
	if (n == -1 && errno == EINTR)
		return 0;
	if (n == -1)
		return errbuf_set(err, "poll: %s", strerror(errno));
	if (n == 0)
		return 0;
	if (!PQconsumeInput(db->conn))
		return conn_error(db, "connection lost", err);
	return 1;
}

int
db_notify_next(struct db *db, struct db_notify **np, char *err)
{
	PGnotify	*pn;
	struct db_notify *n;

	*np = NULL;
	clear_error(db);
	if (!PQconsumeInput(db->conn))
		return conn_error(db, "connection lost", err);
	pn = PQnotifies(db->conn);
	if (pn == NULL)
		return 0;
	n = xmalloc(sizeof(*n));
	n->channel = xstrdup(pn->relname);
	n->payload = xstrdup(pn->extra != NULL ? pn->extra : "");
	n->pid = pn->be_pid;
	PQfreemem(pn);
	*np = n;
	return 0;
}

void
db_notify_free(struct db_notify *n)
{
	if (n == NULL)
		return;
	free(n->channel);
	free(n->payload);
	free(n);
}

int
db_result_rows(const struct db_result *r)
{
	return PQntuples(r->res);
}

int
db_result_cols(const struct db_result *r)
{
	return PQnfields(r->res);
}

long long
db_result_affected(const struct db_result *r)
{
	const char	*s = PQcmdTuples(r->res);

	if (s == NULL || *s == '\0')
		return -1;
	return strtoll(s, NULL, 10);
}

const char *
db_result_name(const struct db_result *r, int col)
{
	if (col < 0 || col >= PQnfields(r->res))
		return NULL;
	return PQfname(r->res, col);
}

const char *
db_result_get(const struct db_result *r, int row, int col)
{
	if (row < 0 || row >= PQntuples(r->res) || col < 0 ||
	    col >= PQnfields(r->res) || PQgetisnull(r->res, row, col))
		return NULL;
	return PQgetvalue(r->res, row, col);
}

int
db_result_int64(const struct db_result *r, int row, int col, long long *out)
{
	const char	*s = db_result_get(r, row, col);
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
db_result_double(const struct db_result *r, int row, int col, double *out)
{
	const char	*s = db_result_get(r, row, col);
	char		*end;
	double		 v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int
db_result_bool(const struct db_result *r, int row, int col)
{
	const char	*s = db_result_get(r, row, col);

	if (s == NULL)
		return -1;
	if (strcmp(s, "t") == 0)
		return 1;
	if (strcmp(s, "f") == 0)
		return 0;
	return -1;
}

void
db_result_free(struct db_result *r)
{
	if (r == NULL)
		return;
	PQclear(r->res);
	free(r);
}
