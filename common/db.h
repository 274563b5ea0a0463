/* db.h: the PostgreSQL connection of a Spoolkeeper program; the only module that uses libpq. */
#ifndef COMMON_DB_H
#define COMMON_DB_H

#include <stddef.h>

#include "errbuf.h"

/*
 * SQLSTATEs the programs decide on (never on message text).  The 23xxx codes come from constraints; SKL01 is
 * raised by the schema's lease_assert() when a worker no longer holds a printer's lease; 08006 is also set by
 * this module when the connection is lost.
 */
#define DB_INTEGRITY_VIOLATION		"23000"
#define DB_NOT_NULL_VIOLATION		"23502"
#define DB_FOREIGN_KEY_VIOLATION	"23503"
#define DB_UNIQUE_VIOLATION		"23505"
#define DB_CHECK_VIOLATION		"23514"
#define DB_EXCLUSION_VIOLATION		"23P01"
#define DB_CONNECTION_FAILURE		"08006"
#define DB_LEASE_LOST			"SKL01"

#define DB_SQLSTATE_LEN	6	/* five characters and a NUL */
#define DB_NAME_LEN	64	/* NAMEDATALEN */

/* An open connection (opaque). */
struct db;

/* The rows of one successful statement (opaque); free with db_result_free(). */
struct db_result;

/* One NOTIFY received; free with db_notify_free(). */
struct db_notify {
	char	*channel;
	char	*payload;
	int	 pid;		/* the backend that sent it */
};

/*
 * Connects with a libpq conninfo string ("host=... dbname=..." or a postgresql:// URI), client encoding UTF8,
 * application_name "spoolkeeper" unless the conninfo sets one.  Server NOTICEs are dropped; WARNINGs go to
 * stderr.  On success *dbp is a new connection (db_close() it) and 0 is returned; otherwise -1 with err
 * (ERRBUF_LEN bytes) set to one line, and *dbp NULL.
 */
int	 db_open(const char *conninfo, struct db **dbp, char *err)
	    __attribute__((warn_unused_result));

/* Closes the connection and frees it; NULL is allowed. */
void	 db_close(struct db *);

/*
 * Runs one SQL statement with nparams text parameters $1..$n (params[i] NULL = SQL NULL; parameter types are
 * inferred by the server, so cast in the SQL: $1::bigint).  On success returns 0 and, if resp is not NULL,
 * stores a new result in *resp (db_result_free() it).  On failure returns -1, sets err to one line
 * ("message: detail (SQLSTATE xxxxx)"; no detail for CHECK and NOT NULL violations, whose detail is the row and
 * may hold a secret) and records the SQLSTATE, the constraint name and the position for
 * db_sqlstate(), db_constraint() and db_errpos(); *resp is then NULL.  The PGresult is always cleared.
 */
int	 db_exec(struct db *, const char *sql, int nparams, const char *const *params,
	    struct db_result **resp, char *err) __attribute__((warn_unused_result));

/*
 * As db_exec(), through a prepared statement: the first call with a given SQL text prepares it on this connection
 * (PQprepare, named "sk_<slot>_<generation>"), later calls only execute it, which saves the server parsing and planning it
 * again.  Statements are matched by their text; up to 64 per connection, beyond that db_exec() is used.  A
 * reconnect (db_check()) forgets them and they are prepared again.  When a migration has changed what a statement
 * returns (SQLSTATE 0A000, "cached plan must not change result type"), it is prepared again and, outside a
 * transaction, run again at once; inside one the error stands and the transaction's retry finds the new one.  For
 * programs that run the same statements many times on long-lived connections (the web app, the worker).  Same
 * results and errors as db_exec().
 */
int	 db_exec_prepared(struct db *, const char *sql, int nparams, const char *const *params,
	    struct db_result **resp, char *err) __attribute__((warn_unused_result));

/*
 * Runs a script of several statements (the simple query protocol, no parameters): for the migration files
 * only, never for anything that contains a value from outside.  Returns 0 or -1 as db_exec().
 */
int	 db_exec_script(struct db *, const char *sql, char *err)
	    __attribute__((warn_unused_result));

/* BEGIN and COMMIT: 0 or -1 as db_exec().  Committing a transaction that has failed is an error. */
int	 db_begin(struct db *, char *err) __attribute__((warn_unused_result));
int	 db_commit(struct db *, char *err) __attribute__((warn_unused_result));

/* ROLLBACK if a transaction is open; keeps the SQLSTATE and constraint of the failure that led to it. */
void	 db_rollback(struct db *);

/* 1 inside a transaction block (also a failed one), else 0. */
int	 db_in_transaction(const struct db *);

/*
 * The SQLSTATE of the last failure ("" when it did not come from the server, e.g. a connect error), the name of
 * the constraint it names ("" if none), and the 1-based character position in the statement it points at (0 if
 * none).  All borrowed; valid until the next call on the connection.
 */
const char	*db_sqlstate(const struct db *);
const char	*db_constraint(const struct db *);
int		 db_errpos(const struct db *);

/* 1 if the last failure had SQLSTATE `state`, else 0. */
int	 db_is(const struct db *, const char *state);

/*
 * Checks the connection and reconnects once if it was lost (then LISTEN again: notifications are per
 * session).  Returns 0 when usable, -1 with err set.
 */
int	 db_check(struct db *, char *err) __attribute__((warn_unused_result));

/* LISTEN on a channel (an identifier; quoted with PQescapeIdentifier).  0 or -1 with err set. */
int	 db_listen(struct db *, const char *channel, char *err) __attribute__((warn_unused_result));

/* The socket to poll() for readability while waiting for notifications; -1 if there is none. */
int	 db_socket(const struct db *);

/*
 * Waits up to timeout_ms (-1: forever) for input from the server and reads it.  Returns 1 when something was
 * read (maybe notifications), 0 on timeout, -1 with err set when the connection failed.
 */
int	 db_wait(struct db *, int timeout_ms, char *err) __attribute__((warn_unused_result));

/*
 * Takes the next notification that has arrived.  Returns 0 with *np a new notification, or with *np NULL when
 * there is none; -1 with err set when the connection failed.
 */
int	 db_notify_next(struct db *, struct db_notify **np, char *err)
	    __attribute__((warn_unused_result));
void	 db_notify_free(struct db_notify *);

/* Result accessors.  Rows and columns count from 0. */
int		 db_result_rows(const struct db_result *);
int		 db_result_cols(const struct db_result *);

/* Rows inserted, updated, deleted or returned (PQcmdTuples); -1 for statements without a count (BEGIN...). */
long long	 db_result_affected(const struct db_result *);

/* The column's name (borrowed), NULL when out of range. */
const char	*db_result_name(const struct db_result *, int col);

/* The value as text (borrowed, valid until db_result_free()); NULL for SQL NULL or out of range. */
const char	*db_result_get(const struct db_result *, int row, int col);

/*
 * The value as a whole number or a finite double.  Returns 0, or -1 when it is NULL, out of range or not a
 * number of that kind.
 */
int		 db_result_int64(const struct db_result *, int row, int col, long long *out);
int		 db_result_double(const struct db_result *, int row, int col, double *out);

/* 1 if the value is true, 0 if false; -1 when NULL or not a boolean. */
int		 db_result_bool(const struct db_result *, int row, int col);

void		 db_result_free(struct db_result *);

#endif
