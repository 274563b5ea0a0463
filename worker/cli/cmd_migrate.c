/* cmd_migrate.c: `spoolkeeper migrate`: applies the forward-only sql/NNNN_<what>.sql migrations, each in its own transaction. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "db.h"
#include "errbuf.h"
#include "xmalloc.h"

#define USAGE		"usage: spoolkeeper migrate"
#define MAX_FILES	1000
#define MAX_SQL_BYTES	(4 * 1024 * 1024)
#define NAME_LEN	128
#define SUM_LEN		65	/* sha256 in hex and a NUL */

/* Every migrate transaction holds this advisory lock ("skmigrat"), so concurrent runs queue up. */
#define LOCK_SQL	"SELECT pg_advisory_xact_lock(8316861436344295796)"

#define CREATE_TABLE_SQL \
	"CREATE TABLE IF NOT EXISTS schema_migrations (" \
	" version integer PRIMARY KEY CHECK (version BETWEEN 1 AND 9999)," \
	" name text NOT NULL," \
	" checksum text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$')," \
	" applied_at timestamptz NOT NULL DEFAULT now())"

/* The checksum is the SHA-256 of the file's bytes, as sha256sum prints it. */
#define SUM_SQL		"SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')"

struct migration {
	int	 version;
	char	 name[NAME_LEN];	/* the file name, "0001_init.sql" */
	char	*sql;			/* the file's text */
	char	 sum[SUM_LEN];
	int	 applied;
};

struct migrations {
	struct migration	*m;
	size_t			 n;
};

/* 1 if name is NNNN_<lowercase letters, digits, _>.sql; sets *version. */
static int
parse_name(const char *name, int *version)
{
	size_t	i, len = strlen(name);

	if (len < 10 || len >= NAME_LEN || strcmp(name + len - 4, ".sql") != 0)
		return 0;
	for (i = 0; i < 4; i++)
		if (name[i] < '0' || name[i] > '9')
			return 0;
	if (name[4] != '_')
		return 0;
	for (i = 5; i < len - 4; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return 0;
	*version = (name[0] - '0') * 1000 + (name[1] - '0') * 100 +
	    (name[2] - '0') * 10 + (name[3] - '0');
	return *version > 0;
}

/* Reads a whole migration file into new memory; refuses NUL bytes and huge files.  0 or -1 with err. */
static int
read_file(const char *path, char **out, char *err)
{
	FILE	*f;
	char	*buf;
	size_t	 n;
	int	 rc = -1;

	if ((f = fopen(path, "rb")) == NULL)
		return errbuf_set(err, "%s: %s", path, strerror(errno));
	buf = xmalloc(MAX_SQL_BYTES + 1);
	n = fread(buf, 1, MAX_SQL_BYTES + 1, f);
	if (ferror(f))
		errbuf_set(err, "%s: %s", path, strerror(errno));
	else if (n > MAX_SQL_BYTES)
		errbuf_set(err, "%s: larger than %d bytes", path, MAX_SQL_BYTES);
	else if (memchr(buf, '\0', n) != NULL)
		errbuf_set(err, "%s: contains a NUL byte", path);
	else {
		buf[n] = '\0';
		*out = buf;
		rc = 0;
	}
	fclose(f);
	if (rc == -1)
		free(buf);
	return rc;
}

static int
by_version(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

static void
migrations_free(struct migrations *ms)
{
	size_t	i;

	for (i = 0; i < ms->n; i++)
		free(ms->m[i].sql);
	free(ms->m);
	ms->m = NULL;
	ms->n = 0;
}

/* Adds dir/name to ms if it is a migration; other files are ignored, a misnamed *.sql is an error. */
static int
add_file(struct migrations *ms, const char *dir, const char *name, char *err)
{
	struct migration	*m;
	char			 path[4096];
	int			 version;
	size_t			 len = strlen(name);

	if (len < 4 || strcmp(name + len - 4, ".sql") != 0)
		return 0;
	if (!parse_name(name, &version))
		return errbuf_set(err, "%s/%s: a migration is named "
		    "NNNN_<what>.sql (4 digits from 0001, then lower-case "
		    "letters, digits and _)", dir, name);
	if (ms->n == MAX_FILES)
		return errbuf_set(err, "%s: more than %d migrations", dir,
		    MAX_FILES);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return errbuf_set(err, "%s/%s: path too long", dir, name);
	ms->m = xreallocarray(ms->m, ms->n + 1, sizeof(*ms->m));
	m = &ms->m[ms->n];
	memset(m, 0, sizeof(*m));
	m->version = version;
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (read_file(path, &m->sql, err) == -1)
		return -1;
	ms->n++;
	return 0;
}

/* Loads the migrations of dir, sorted by version.  0 or -1 with err. */
static int
load_dir(const char *dir, struct migrations *ms, char *err)
{
	DIR		*d;
	struct dirent	*e;
	size_t		 i;
	int		 rc = 0;

	memset(ms, 0, sizeof(*ms));
	if ((d = opendir(dir)) == NULL)
		return errbuf_set(err, "%s: %s (set %s to the sql/ directory)",
		    dir, strerror(errno), CONF_SQL_DIR_ENV);
	while (rc == 0 && (e = readdir(d)) != NULL)
		rc = add_file(ms, dir, e->d_name, err);
	closedir(d);
	if (rc == 0 && ms->n == 0)
		rc = errbuf_set(err, "%s: no NNNN_<what>.sql migrations (set "
		    "%s to the sql/ directory)", dir, CONF_SQL_DIR_ENV);
	if (rc == 0) {
		qsort(ms->m, ms->n, sizeof(*ms->m), by_version);
		for (i = 1; i < ms->n; i++)
			if (ms->m[i].version == ms->m[i - 1].version)
				rc = errbuf_set(err, "%s: %s and %s have the "
				    "same version", dir, ms->m[i - 1].name,
				    ms->m[i].name);
	}
	if (rc == -1)
		migrations_free(ms);
	return rc;
}

/* The line of the 1-based character position pos in the UTF-8 text s (0: unknown). */
static int
line_of(const char *s, int pos)
{
	int	chars = 0, line = 1;

	if (pos <= 0)
		return 0;
	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) == 0x80)
			continue;
		if (++chars == pos)
			return line;
		if (*s == '\n')
			line++;
	}
	return 0;
}

static struct migration *
find(struct migrations *ms, int version)
{
	size_t	i;

	for (i = 0; i < ms->n; i++)
		if (ms->m[i].version == version)
			return &ms->m[i];
	return NULL;
}

/* Compares one applied row (version, name, checksum) with the files.  0 or -1 with err. */
static int
check_row(struct migrations *ms, const char *dir, long long version,
    const char *name, const char *sum, char *err)
{
	struct migration	*m = find(ms, (int)version);

	if (m == NULL)
		return errbuf_set(err, "the database has migration %s, which "
		    "%s does not have: is this spoolkeeper older than the "
		    "database?", name, dir);
	if (strcmp(m->name, name) != 0)
		return errbuf_set(err, "migration %04lld was applied as %s "
		    "but is now %s: applied migrations are never renamed",
		    version, name, m->name);
	if (strcmp(m->sum, sum) != 0)
		return errbuf_set(err, "%s was edited after it was applied "
		    "(sha256 %.12s... in the database, %.12s... now): applied "
		    "migrations are never changed; put the change in a new "
		    "migration", m->name, sum, m->sum);
	m->applied = 1;
	return 0;
}

/*
 * In one locked transaction: creates schema_migrations if needed, computes each file's checksum and checks
 * the applied rows against the files.  Refuses edited, renamed, unknown and out-of-order migrations.
 */
static int
check_applied(struct db *db, struct migrations *ms, const char *dir,
    char *err)
{
	struct db_result	*r;
	const char		*p[1];
	long long		 v;
	int			 i, last = 0;
	size_t			 k;

	if (db_begin(db, err) == -1 ||
	    db_exec(db, LOCK_SQL, 0, NULL, NULL, err) == -1 ||
	    db_exec(db, CREATE_TABLE_SQL, 0, NULL, NULL, err) == -1)
		return -1;
	for (k = 0; k < ms->n; k++) {
		p[0] = ms->m[k].sql;
		if (db_exec(db, SUM_SQL, 1, p, &r, err) == -1) {
			if (db_is(db, "22021"))
				return errbuf_set(err, "%s: not valid UTF-8 "
				    "text", ms->m[k].name);
			return -1;
		}
		snprintf(ms->m[k].sum, SUM_LEN, "%s", db_result_get(r, 0, 0));
		db_result_free(r);
	}
	if (db_exec(db, "SELECT version, name, checksum FROM schema_migrations"
	    " ORDER BY version", 0, NULL, &r, err) == -1)
		return -1;
	for (i = 0; i < db_result_rows(r); i++) {
		if (db_result_int64(r, i, 0, &v) == -1 ||
		    check_row(ms, dir, v, db_result_get(r, i, 1),
		    db_result_get(r, i, 2), err) == -1) {
			db_result_free(r);
			return -1;
		}
		last = (int)v;
	}
	db_result_free(r);
	for (k = 0; k < ms->n; k++)
		if (!ms->m[k].applied && ms->m[k].version < last)
			return errbuf_set(err, "%s is not applied but the later "
			    "migration %04d is: a new migration must be numbered "
			    "after %04d", ms->m[k].name, last, last);
	return db_commit(db, err);
}

/* Runs the file and records it; the caller holds the lock in an open transaction.  0 or -1 with err. */
static int
run_one(struct db *db, struct migration *m, char *err)
{
	const char	*p[3];
	char		 version[16], e[ERRBUF_LEN];
	int		 line;

	if (db_exec_script(db, m->sql, e) == -1) {
		line = line_of(m->sql, db_errpos(db));
		if (line > 0)
			return errbuf_set(err, "%s line %d: %s", m->name, line, e);
		return errbuf_set(err, "%s: %s", m->name, e);
	}
	if (!db_in_transaction(db))
		return errbuf_set(err, "%s ended the transaction: a migration "
		    "must not contain BEGIN, COMMIT or ROLLBACK (it was NOT "
		    "recorded; check the database by hand)", m->name);
	snprintf(version, sizeof(version), "%d", m->version);
	p[0] = version;
	p[1] = m->name;
	p[2] = m->sum;
	return db_exec(db, "INSERT INTO schema_migrations (version, name, "
	    "checksum) VALUES ($1::integer, $2, $3)", 3, p, NULL, err);
}

/*
 * Applies one migration in its own transaction, unless a concurrent migrate did it meanwhile.  Sets *done to 1
 * when this run applied it.  0 or -1 with err.
 */
static int
apply(struct db *db, struct migration *m, int *done, char *err)
{
	struct db_result	*r;
	const char		*p[1];
	char			 version[16];
	int			 rc, ran = 0;

	*done = 0;
	snprintf(version, sizeof(version), "%d", m->version);
	p[0] = version;
	if (db_begin(db, err) == -1 ||
	    db_exec(db, LOCK_SQL, 0, NULL, NULL, err) == -1 ||
	    db_exec(db, "SELECT checksum FROM schema_migrations WHERE "
	    "version = $1::integer", 1, p, &r, err) == -1)
		return -1;
	if (db_result_rows(r) == 0) {
		rc = run_one(db, m, err);
		ran = 1;
	} else if (strcmp(db_result_get(r, 0, 0), m->sum) != 0)
		rc = errbuf_set(err, "%s was applied meanwhile by another "
		    "migrate, from a different file", m->name);
	else
		rc = 0;
	db_result_free(r);
	if (rc == 0)
		rc = db_commit(db, err);
	if (rc == 0)
		*done = ran;
	return rc;
}

int
cmd_migrate(int argc, char *argv[])
{
	struct migrations	 ms;
	struct db		*db;
	const char		*dir = conf_sql_dir();
	char			 err[ERRBUF_LEN];
	size_t			 k;
	int			 done, napplied = 0, rc = 1;

	if (argc != 1) {
		fprintf(stderr, "spoolkeeper: migrate: unexpected argument "
		    "'%s' (%s)\n", argv[1], USAGE);
		return 2;
	}
	if (load_dir(dir, &ms, err) == -1) {
		fprintf(stderr, "spoolkeeper: migrate: %s\n", err);
		return 1;
	}
	if (cli_db_open("migrate", &db) == -1) {
		migrations_free(&ms);
		return 1;
	}
	if (check_applied(db, &ms, dir, err) == -1)
		goto fail;
	for (k = 0; k < ms.n; k++) {
		if (ms.m[k].applied)
			continue;
		if (apply(db, &ms.m[k], &done, err) == -1)
			goto fail;
		if (done) {
			printf("migrate: applied %s\n", ms.m[k].name);
			napplied++;
		}
	}
	if (napplied == 0)
		printf("migrate: the database is up to date (version %04d)\n",
		    ms.m[ms.n - 1].version);
	else
		printf("migrate: the database is at version %04d (%d "
		    "applied now)\n", ms.m[ms.n - 1].version, napplied);
	/* Then what older versions kept in plain text (its own messages). */
	rc = cli_encrypt_legacy(db) == -1 ? 1 : 0;
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "spoolkeeper: write: %s\n", strerror(errno));
		rc = 1;
	}
	db_close(db);
	migrations_free(&ms);
	return rc;
fail:
	fprintf(stderr, "spoolkeeper: migrate: %s\n", err);
	db_rollback(db);
	db_close(db);
	migrations_free(&ms);
	return 1;
}
