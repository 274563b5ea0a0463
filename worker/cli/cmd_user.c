/* cmd_user.c: `spoolkeeper user add|passwd|disable|enable|list` and `setup-token`: accounts without a default one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "db.h"
#include "errbuf.h"
#include "password.h"
#include "token.h"

#define USAGE "usage: spoolkeeper user add NAME [--admin] [--password-stdin] | user passwd NAME " \
	"[--password-stdin] | user disable|enable NAME | user list"
#define USAGE_TOKEN	"usage: spoolkeeper setup-token [--ttl-hours N]"
#define NAME_RULE	"1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
#define GEN_GROUPS	5	/* a generated password: 5 groups of 4 hex digits (80 bits) */
#define TTL_MAX_HOURS	720	/* a setup token lasts at most 30 days */
#define AUDIT_DETAIL	"by the spoolkeeper command"

/* A password being set: typed on standard input or generated. */
struct newpw {
	char	 text[PASSWORD_MAX_LEN + 3];	/* the line, its newline and a NUL */
	int	 generated;
};

/* Reads the password from the first line of standard input.  0, or -1 with the message printed. */
static int
read_password(const char *cmd, struct newpw *pw)
{
	size_t	n;

	if (fgets(pw->text, sizeof(pw->text), stdin) == NULL) {
		fprintf(stderr, "spoolkeeper: %s: --password-stdin: no line on standard input\n", cmd);
		return -1;
	}
	n = strcspn(pw->text, "\r\n");
	if (n > PASSWORD_MAX_LEN) {
		fprintf(stderr, "spoolkeeper: %s: the password must have at most %d bytes\n", cmd,
		    PASSWORD_MAX_LEN);
		return -1;
	}
	pw->text[n] = '\0';
	return 0;
}

/* A new random password, "xxxx-xxxx-xxxx-xxxx-xxxx" (hex from token_new()).  0, or -1 with the message printed. */
static int
generate_password(const char *cmd, struct newpw *pw)
{
	char	hex[TOKEN_HEX_LEN + 1];
	int	i;

	if (token_new(hex) == -1) {
		fprintf(stderr, "spoolkeeper: %s: libsodium cannot start\n", cmd);
		return -1;
	}
	for (i = 0; i < GEN_GROUPS; i++) {
		memcpy(pw->text + i * 5, hex + i * 4, 4);
		pw->text[i * 5 + 4] = i + 1 < GEN_GROUPS ? '-' : '\0';
	}
	sodium_memzero(hex, sizeof(hex));
	pw->generated = 1;
	return 0;
}

/*
 * The password for user name (read when from_stdin, else generated), checked against the rules and hashed into
 * hash.  0, or -1 with the message printed.
 */
static int
new_password(const char *cmd, const char *name, int from_stdin, struct newpw *pw,
    char hash[PASSWORD_HASH_MAX])
{
	char	err[ERRBUF_LEN];

	memset(pw, 0, sizeof(*pw));
	if ((from_stdin ? read_password(cmd, pw) : generate_password(cmd, pw)) == -1)
		return -1;
	if (password_acceptable(pw->text, name, err) == -1 || password_hash(pw->text, hash, err) == -1) {
		fprintf(stderr, "spoolkeeper: %s: %s\n", cmd, err);
		sodium_memzero(pw, sizeof(*pw));
		return -1;
	}
	if (!pw->generated)
		sodium_memzero(pw, sizeof(*pw));
	return 0;
}

/* Parses NAME and the flags of user add / passwd.  0, or -1 with the message printed (a usage error). */
static int
parse_name_flags(const char *cmd, int argc, char *argv[], int allow_admin, int *admin, int *from_stdin)
{
	int	i;

	*admin = *from_stdin = 0;
	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "spoolkeeper: %s: no user name (%s)\n", cmd, USAGE);
		return -1;
	}
	for (i = 2; i < argc; i++) {
		if (allow_admin && strcmp(argv[i], "--admin") == 0 && !*admin)
			*admin = 1;
		else if (strcmp(argv[i], "--password-stdin") == 0 && !*from_stdin)
			*from_stdin = 1;
		else {
			fprintf(stderr, "spoolkeeper: %s: bad argument '%s' (%s)\n", cmd, argv[i], USAGE);
			return -1;
		}
	}
	return 0;
}

/* Prints the one-line reason an insert of user name was refused. */
static void
add_error(struct db *db, const char *name, const char *err)
{
	if (db_is(db, DB_UNIQUE_VIOLATION) && strcmp(db_constraint(db), "users_username_key") == 0)
		fprintf(stderr, "spoolkeeper: user add: a user named '%s' already exists (names are compared "
		    "without regard to case)\n", name);
	else if (db_is(db, DB_CHECK_VIOLATION) && strcmp(db_constraint(db), "users_username_check") == 0)
		fprintf(stderr, "spoolkeeper: user add: bad user name '%s': %s\n", name, NAME_RULE);
	else
		fprintf(stderr, "spoolkeeper: user add: %s\n", err);
}

static int
user_add(int argc, char *argv[])
{
	struct newpw	 pw;
	struct db	*db;
	const char	*p[3];
	char		 hash[PASSWORD_HASH_MAX], err[ERRBUF_LEN];
	int		 admin, from_stdin;

	if (parse_name_flags("user add", argc, argv, 1, &admin, &from_stdin) == -1)
		return 2;
	if (new_password("user add", argv[1], from_stdin, &pw, hash) == -1)
		return 1;
	if (cli_db_open("user add", &db) == -1) {
		sodium_memzero(&pw, sizeof(pw));
		return 1;
	}
	p[0] = argv[1];
	p[1] = hash;
	p[2] = admin ? "admin" : "member";
	if (db_exec(db, "INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3)", 3, p,
	    NULL, err) == -1) {
		add_error(db, argv[1], err);
		sodium_memzero(&pw, sizeof(pw));
		db_close(db);
		return 1;
	}
	db_close(db);
	printf("user add: added user %s (%s)", argv[1], p[2]);
	if (pw.generated)
		printf("; password (shown only now): %s", pw.text);
	printf("\n");
	sodium_memzero(&pw, sizeof(pw));
	return fflush(stdout) == EOF ? 1 : 0;
}

static int
user_passwd(int argc, char *argv[])
{
	struct newpw		 pw;
	struct db		*db;
	struct db_result	*r;
	const char		*p[3];
	char			 hash[PASSWORD_HASH_MAX], err[ERRBUF_LEN];
	int			 admin, from_stdin, rc = 1;

	if (parse_name_flags("user passwd", argc, argv, 0, &admin, &from_stdin) == -1)
		return 2;
	if (new_password("user passwd", argv[1], from_stdin, &pw, hash) == -1)
		return 1;
	if (cli_db_open("user passwd", &db) == -1) {
		sodium_memzero(&pw, sizeof(pw));
		return 1;
	}
	p[0] = argv[1];
	p[1] = hash;
	p[2] = AUDIT_DETAIL;
	/* The users_end_sessions trigger ends the user's sessions. */
	if (db_exec(db, "WITH u AS (UPDATE users SET password_hash = $2 WHERE lower(username) = "
	    "lower($1) RETURNING id, username) INSERT INTO auth_events (event, user_id, username, detail) "
	    "SELECT 'password_reset', id, username, $3 FROM u RETURNING username", 3, p, &r, err) == -1)
		fprintf(stderr, "spoolkeeper: user passwd: %s\n", err);
	else {
		if (db_result_rows(r) == 0)
			fprintf(stderr, "spoolkeeper: user passwd: no user named '%s' (see spoolkeeper user "
			    "list)\n", argv[1]);
		else {
			printf("user passwd: new password for %s%s%s; their sessions were ended\n",
			    db_result_get(r, 0, 0), pw.generated ? " (shown only now): " : "",
			    pw.generated ? pw.text : "");
			rc = fflush(stdout) == EOF ? 1 : 0;
		}
		db_result_free(r);
	}
	sodium_memzero(&pw, sizeof(pw));
	db_close(db);
	return rc;
}

/* The SQL of user disable / enable: $1 name, $2 disabled, $3 the event, $4 the detail. */
static const char SET_DISABLED_SQL[] =
    "WITH u AS (UPDATE users SET disabled = $2::boolean WHERE lower(username) = lower($1) AND "
    "disabled <> $2::boolean RETURNING id, username), e AS (INSERT INTO auth_events (event, user_id, "
    "username, detail) SELECT $3, id, username, $4 FROM u) "
    "SELECT (SELECT username FROM users WHERE lower(username) = lower($1)), "
    "(SELECT username FROM u), NOT EXISTS (SELECT 1 FROM users WHERE role = 'admin' AND NOT disabled "
    "AND id NOT IN (SELECT id FROM u WHERE $2::boolean))";

static int
user_set_disabled(int argc, char *argv[], int disable)
{
	struct db		*db;
	struct db_result	*r;
	const char		*cmd = disable ? "user disable" : "user enable";
	const char		*p[4] = { NULL, disable ? "true" : "false",
				    disable ? "user_disabled" : "user_enabled", AUDIT_DETAIL };
	char			 err[ERRBUF_LEN];
	int			 rc = 1;

	if (argc != 2) {
		fprintf(stderr, "spoolkeeper: %s: %s (%s)\n", cmd, argc < 2 ? "no user name" :
		    "unexpected argument", USAGE);
		return 2;
	}
	if (cli_db_open(cmd, &db) == -1)
		return 1;
	p[0] = argv[1];
	if (db_exec(db, SET_DISABLED_SQL, 4, p, &r, err) == -1) {
		fprintf(stderr, "spoolkeeper: %s: %s\n", cmd, err);
		db_close(db);
		return 1;
	}
	if (db_result_get(r, 0, 0) == NULL)
		fprintf(stderr, "spoolkeeper: %s: no user named '%s' (see spoolkeeper user list)\n", cmd,
		    argv[1]);
	else {
		if (db_result_get(r, 0, 1) == NULL)
			printf("%s: %s was already %s\n", cmd, db_result_get(r, 0, 0), disable ?
			    "disabled" : "enabled");
		else
			printf("%s: %s %s%s\n", cmd, db_result_get(r, 0, 0), disable ? "disabled" :
			    "enabled", disable ? "; their sessions were ended" : "");
		if (disable && db_result_bool(r, 0, 2) == 1)
			printf("%s: no enabled admin is left: `spoolkeeper setup-token` makes a token to "
			    "create one, or `spoolkeeper user enable NAME`\n", cmd);
		rc = fflush(stdout) == EOF ? 1 : 0;
	}
	db_result_free(r);
	db_close(db);
	return rc;
}

static int
user_list(int argc, char *argv[])
{
	struct db		*db;

	if (argc != 1) {
		fprintf(stderr, "spoolkeeper: user list: unexpected argument '%s' (%s)\n", argv[1], USAGE);
		return 2;
	}
	if (cli_db_open("user list", &db) == -1)
		return 1;
	/* Never the password hash. */
	return cli_list(db, "user list", "SELECT id, username AS name, role, CASE WHEN disabled THEN 'disabled' "
	    "ELSE 'enabled' END AS state, to_char(created_at, 'YYYY-MM-DD') AS created, "
	    "to_char(last_login_at, 'YYYY-MM-DD HH24:MI') AS last_login FROM users ORDER BY id", 0, NULL,
	    "no users yet (spoolkeeper setup-token, or spoolkeeper user add NAME --admin)");
}

int
cmd_user(int argc, char *argv[])
{
	const char	*sub = argc >= 2 ? argv[1] : "";

	if (strcmp(sub, "add") == 0)
		return user_add(argc - 1, argv + 1);
	if (strcmp(sub, "passwd") == 0)
		return user_passwd(argc - 1, argv + 1);
	if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0)
		return user_set_disabled(argc - 1, argv + 1, sub[0] == 'd');
	if (strcmp(sub, "list") == 0)
		return user_list(argc - 1, argv + 1);
	fprintf(stderr, "spoolkeeper: user: %s (%s)\n", argc < 2 ? "no subcommand" : "unknown subcommand",
	    USAGE);
	return 2;
}

/* Parses [--ttl-hours N] into hours (text).  0, or -1 with the message printed. */
static int
parse_ttl(int argc, char *argv[], char *hours, size_t len)
{
	char	*end;
	long	 v = 24;

	if (argc == 3 && strcmp(argv[1], "--ttl-hours") == 0) {
		errno = 0;
		v = strtol(argv[2], &end, 10);
		if (errno != 0 || end == argv[2] || *end != '\0' || v < 1 || v > TTL_MAX_HOURS) {
			fprintf(stderr, "spoolkeeper: setup-token: --ttl-hours '%s' is not a number of hours "
			    "from 1 to %d\n", argv[2], TTL_MAX_HOURS);
			return -1;
		}
	} else if (argc != 1) {
		fprintf(stderr, "spoolkeeper: setup-token: bad arguments (%s)\n", USAGE_TOKEN);
		return -1;
	}
	snprintf(hours, len, "%ld", v);
	return 0;
}

int
cmd_setup_token(int argc, char *argv[])
{
	struct db		*db;
	struct db_result	*r;
	unsigned char		 h[TOKEN_HASH_LEN];
	char			 tok[TOKEN_HEX_LEN + 1], hash[2 * TOKEN_HASH_LEN + 3], hours[16],
				 err[ERRBUF_LEN];
	const char		*p[2] = { hash, hours };
	int			 rc = 1;

	if (parse_ttl(argc, argv, hours, sizeof(hours)) == -1)
		return 2;
	if (token_new(tok) == -1) {
		fprintf(stderr, "spoolkeeper: setup-token: libsodium cannot start\n");
		return 1;
	}
	token_hash(tok, h);
	token_hash_param(h, hash);
	if (cli_db_open("setup-token", &db) == -1)
		return 1;
	/* One statement: no token is made once an enabled admin exists. */
	if (db_exec(db, "INSERT INTO setup_tokens (token_hash, expires_at) SELECT $1::bytea, now() + "
	    "$2::integer * interval '1 hour' WHERE NOT EXISTS (SELECT 1 FROM users WHERE role = 'admin' "
	    "AND NOT disabled) RETURNING to_char(expires_at, 'YYYY-MM-DD HH24:MI TZ')", 2, p, &r,
	    err) == -1)
		fprintf(stderr, "spoolkeeper: setup-token: %s\n", err);
	else {
		if (db_result_rows(r) == 0)
			fprintf(stderr, "spoolkeeper: setup-token: an admin account exists already; sign in "
			    "as an admin, or add one with `spoolkeeper user add NAME --admin`\n");
		else {
			fprintf(stderr, "setup-token: a one-time token to create the first admin account in "
			    "the web app, valid for %s hour%s (until %s):\n", hours, strcmp(hours, "1") == 0 ?
			    "" : "s", db_result_get(r, 0, 0));
			printf("%s\n", tok);
			rc = fflush(stdout) == EOF ? 1 : 0;
		}
		db_result_free(r);
	}
	sodium_memzero(tok, sizeof(tok));
	db_close(db);
	return rc;
}
