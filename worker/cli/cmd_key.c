/* cmd_key.c: `spoolkeeper key init` (the key file of the secrets at rest) and the encryption of plain-text secrets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "conf.h"
#include "db.h"
#include "errbuf.h"
#include "secret.h"

#define USAGE "usage: spoolkeeper key init [--key-file PATH]"

/* Creates the directory of path (one level, mode 0700) when it is missing.  0, or -1 with err set. */
static int
make_parent(const char *path, char *err)
{
	char	 dir[4096];
	char	*slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return errbuf_set(err, "%s: path too long", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return errbuf_set(err, "cannot create the directory %s: %s", dir, strerror(errno));
	return 0;
}

static int
key_init(int argc, char *argv[])
{
	struct secret_key	*k;
	const char		*path = conf_key_file();
	char			 err[ERRBUF_LEN];
	int			 rc;

	if (argc == 3 && strcmp(argv[1], "--key-file") == 0 && argv[2][0] != '\0')
		path = argv[2];
	else if (argc != 1) {
		fprintf(stderr, "spoolkeeper: key init: bad arguments (%s)\n", USAGE);
		return 2;
	}
	if (make_parent(path, err) == -1 || (rc = secret_key_create(path, err)) == -1) {
		fprintf(stderr, "spoolkeeper: key init: %s\n", err);
		return 1;
	}
	if (rc == 1) {
		/* Kept as it is; say whether it can be used. */
		if (secret_key_load(path, &k, err) == -1) {
			fprintf(stderr, "spoolkeeper: key init: %s exists already and was left as it is, "
			    "but: %s\n", path, err);
			return 1;
		}
		secret_key_free(k);
		printf("key init: the key file %s exists already; left as it is\n", path);
	} else
		printf("key init: created the key file %s (mode 0600); keep a copy of it: without it the "
		    "stored access codes and passwords cannot be read\n", path);
	return fflush(stdout) == EOF ? 1 : 0;
}

int
cmd_key(int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return key_init(argc - 1, argv + 1);
	fprintf(stderr, "spoolkeeper: key: %s (%s)\n", argc < 2 ? "no subcommand" :
	    "unknown subcommand", USAGE);
	return 2;
}

/* --- plain-text secrets of older databases --- */

/* How many secrets are stored in plain text: printers' access codes, and the Spoolman password (0 or 1). */
static int
count_plain(struct db *db, long long *codes, int *password, char *err)
{
	struct db_result	*r;

	*codes = 0;
	*password = 0;
	/* Only once the schema is the one that encrypts (sql/0005: printers.access_code_enc). */
	if (db_exec(db, "SELECT (SELECT count(*) FROM printers WHERE access_code IS NOT NULL), "
	    "EXISTS (SELECT 1 FROM settings WHERE key = 'spoolman_password' AND value NOT LIKE 'v1:%') "
	    "WHERE EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('printers') AND "
	    "attname = 'access_code_enc' AND NOT attisdropped)", 0, NULL, &r, err) == -1)
		return -1;
	if (db_result_int64(r, 0, 0, codes) == -1)
		*codes = 0;
	*password = db_result_bool(r, 0, 1) == 1;
	db_result_free(r);
	return 0;
}

/* Encrypts every plain access code; the caller holds a transaction.  The number done, or -1 with err. */
static long long
encrypt_codes(struct db *db, const struct secret_key *k, char *err)
{
	struct db_result	*r;
	const char		*p[2];
	char			*enc, e[ERRBUF_LEN];
	int			 i;

	if (db_exec(db, "SELECT id, access_code FROM printers WHERE access_code IS NOT NULL "
	    "ORDER BY id FOR UPDATE", 0, NULL, &r, err) == -1)
		return -1;
	for (i = 0; i < db_result_rows(r); i++) {
		p[0] = db_result_get(r, i, 0);
		if (secret_encrypt(k, SECRET_ACCESS_CODE, db_result_get(r, i, 1), &enc, e) == -1) {
			errbuf_set(err, "printer %s: %s", p[0], e);
			db_result_free(r);
			return -1;
		}
		p[1] = enc;
		if (db_exec(db, "UPDATE printers SET access_code_enc = $2, access_code = NULL "
		    "WHERE id = $1::bigint", 2, p, NULL, err) == -1) {
			free(enc);
			db_result_free(r);
			return -1;
		}
		free(enc);
	}
	db_result_free(r);
	return i;
}

/* Encrypts a plain spoolman_password; the caller holds a transaction.  1 done, 0 none, -1 with err. */
static int
encrypt_password(struct db *db, const struct secret_key *k, char *err)
{
	struct db_result	*r;
	const char		*p[1];
	char			*enc;
	int			 n;

	if (db_exec(db, "SELECT value FROM settings WHERE key = 'spoolman_password' AND value NOT "
	    "LIKE 'v1:%' FOR UPDATE", 0, NULL, &r, err) == -1)
		return -1;
	if ((n = db_result_rows(r)) == 1) {
		if (secret_encrypt(k, SECRET_SPOOLMAN_PASSWORD, db_result_get(r, 0, 0), &enc, err) == -1) {
			db_result_free(r);
			return -1;
		}
		p[0] = enc;
		n = db_exec(db, "UPDATE settings SET value = $1 WHERE key = 'spoolman_password'", 1, p,
		    NULL, err) == -1 ? -1 : 1;
		free(enc);
	}
	db_result_free(r);
	return n;
}

/* Prints the warning of a database with plain-text secrets and no key file. */
static void
warn_plain(long long codes, int password)
{
	char	what[128] = "";

	if (codes > 0)
		snprintf(what, sizeof(what), "%lld printer access code%s%s", codes, codes == 1 ? "" : "s",
		    password ? " and " : "");
	if (password)
		strcat(what, "the Spoolman password");
	fprintf(stderr, "spoolkeeper: migrate: warning: %s %s stored in plain text: there is no key file at "
	    "%s; run `spoolkeeper key init`, then `spoolkeeper migrate` again to encrypt %s\n", what,
	    codes + password > 1 ? "are" : "is", conf_key_file(), codes + password > 1 ? "them" : "it");
}

int
cli_encrypt_legacy(struct db *db)
{
	struct secret_key	*k;
	long long		 codes;
	int			 password, done_pw;
	char			 err[ERRBUF_LEN];

	if (count_plain(db, &codes, &password, err) == -1)
		goto fail;
	if (codes == 0 && !password)
		return 0;
	if (secret_key_load(conf_key_file(), &k, err) == -1) {
		if (errno == ENOENT) {
			warn_plain(codes, password);
			return 0;
		}
		fprintf(stderr, "spoolkeeper: migrate: the secrets stored in plain text were not "
		    "encrypted: %s\n", err);
		return -1;
	}
	if (db_begin(db, err) == -1 || (codes = encrypt_codes(db, k, err)) == -1 ||
	    (done_pw = encrypt_password(db, k, err)) == -1 || db_commit(db, err) == -1) {
		secret_key_free(k);
		goto fail;
	}
	secret_key_free(k);
	if (codes > 0)
		printf("migrate: encrypted the access code%s of %lld printer%s\n", codes == 1 ? "" : "s",
		    codes, codes == 1 ? "" : "s");
	if (done_pw)
		printf("migrate: encrypted the Spoolman password\n");
	return 0;
fail:
	db_rollback(db);
	fprintf(stderr, "spoolkeeper: migrate: encrypting the plain-text secrets: %s\n", err);
	return -1;
}
