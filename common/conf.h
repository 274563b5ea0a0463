/* conf.h: where the programs find their database, SQL migrations and key file: the environment, else built-in defaults. */
#ifndef COMMON_CONF_H
#define COMMON_CONF_H

#define CONF_DATABASE_ENV	"SPOOLKEEPER_DATABASE"
#define CONF_SQL_DIR_ENV	"SPOOLKEEPER_SQL_DIR"
#define CONF_KEY_FILE_ENV	"SPOOLKEEPER_KEY_FILE"
#define CONF_DEFAULT_PORT	5433	/* the embedded cluster's port, beside a system PostgreSQL on 5432 */

/*
 * The libpq conninfo: $SPOOLKEEPER_DATABASE when set and not empty, else the embedded cluster that the README's
 * run command starts under the source tree's var/:
 *   host='<source tree>/var/run' port=5433 dbname=spoolkeeper user=spoolkeeper
 * Borrowed (static storage); the same string on every call.
 */
const char	*conf_database(void);

/* 1 when conf_database() is the built-in default, 0 when it comes from the environment. */
int		 conf_database_is_default(void);

/*
 * The directory of the NNNN_<what>.sql migrations: $SPOOLKEEPER_SQL_DIR when set and not empty, else the
 * source tree's sql/ (its absolute path is compiled in).  Borrowed.
 */
const char	*conf_sql_dir(void);

/*
 * The key file that encrypts the secrets kept in the database (common/secret.h, docs/security.md):
 * $SPOOLKEEPER_KEY_FILE when set and not empty, else the source tree's var/secret.key.  Borrowed.
 */
const char	*conf_key_file(void);

#endif
