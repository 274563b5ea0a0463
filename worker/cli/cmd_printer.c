/* cmd_printer.c: `spoolkeeper printer add|list`: the printers the worker watches; access codes stored encrypted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "errbuf.h"
#include "secret.h"
#include "xmalloc.h"

#define USAGE_ADD "usage: spoolkeeper printer add --name NAME --host HOST " \
	"--serial SERIAL --access-code CODE|- [--model MODEL] [--insecure] " \
	"[--mqtt-port PORT] [--ftps-port PORT]"
#define USAGE "usage: spoolkeeper printer add ... | spoolkeeper printer list"
#define CODE_MAX	256
#define CODE_RULE	"1 to 256 bytes, no control characters"

enum opt {
	OPT_NAME,
	OPT_HOST,
	OPT_SERIAL,
	OPT_CODE,
	OPT_MODEL,
	OPT_MQTT_PORT,
	OPT_FTPS_PORT,
	OPT__MAX
};

static const char *const opt_names[OPT__MAX] = {
	"--name", "--host", "--serial", "--access-code", "--model",
	"--mqtt-port", "--ftps-port",
};

struct add_args {
	const char	*v[OPT__MAX];
	int		 insecure;
	char		 code[CODE_MAX + 2];	/* --access-code - reads it here */
};

/* What a refused CHECK constraint means, by constraint name. */
static const struct {
	const char	*constraint;
	enum opt	 opt;
	const char	*rule;
} checks[] = {
	{ "printers_name_check", OPT_NAME, "1 to 64 characters, not only "
	    "digits, no control characters or spaces around it" },
	{ "printers_serial_check", OPT_SERIAL, "letters and digits only, as "
	    "on the printer's label" },
	{ "printers_host_check", OPT_HOST, "a host name or IP address, "
	    "not a URL" },
	{ "printers_access_code_check", OPT_CODE, CODE_RULE },
	{ "printers_model_check", OPT_MODEL, "1 to 64 characters, no control "
	    "characters" },
};

/* A port number 1..65535 in decimal; 0 or -1. */
static int
port_ok(const char *s)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && v >= 1 && v <= 65535 ?
	    0 : -1;
}

/* Reads the access code from the first line of stdin into a->code.  0 or -1 with a message printed. */
static int
read_code(struct add_args *a)
{
	size_t	n;

	if (fgets(a->code, sizeof(a->code), stdin) == NULL) {
		fprintf(stderr, "spoolkeeper: printer add: --access-code -: "
		    "no line on standard input\n");
		return -1;
	}
	n = strcspn(a->code, "\r\n");
	if (n > CODE_MAX) {
		fprintf(stderr, "spoolkeeper: printer add: --access-code -: "
		    "longer than %d characters\n", CODE_MAX);
		return -1;
	}
	a->code[n] = '\0';
	a->v[OPT_CODE] = a->code;
	return 0;
}

/*
 * 1 if the access code keeps the schema's rule for it (printers_access_code_check, which the encrypted column
 * no longer sees): 1 to CODE_MAX bytes, no control characters.
 */
static int
code_ok(const char *code)
{
	const unsigned char	*p = (const unsigned char *)code;

	if (*p == '\0' || strlen(code) > CODE_MAX)
		return 0;
	for (; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* Parses the options of `printer add`.  0, or -1 with a message printed (a usage error). */
static int
parse_add(int argc, char *argv[], struct add_args *a)
{
	int	i, o;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--insecure") == 0) {
			a->insecure = 1;
			continue;
		}
		for (o = 0; o < OPT__MAX; o++)
			if (strcmp(argv[i], opt_names[o]) == 0)
				break;
		if (o == OPT__MAX || i + 1 >= argc || a->v[o] != NULL) {
			fprintf(stderr, "spoolkeeper: printer add: %s '%s' (%s)\n",
			    o == OPT__MAX ? "bad argument" : i + 1 >= argc ?
			    "no value for" : "twice:", argv[i], USAGE_ADD);
			return -1;
		}
		a->v[o] = argv[++i];
	}
	for (o = OPT_NAME; o <= OPT_CODE; o++)
		if (a->v[o] == NULL) {
			fprintf(stderr, "spoolkeeper: printer add: %s is "
			    "required (%s)\n", opt_names[o], USAGE_ADD);
			return -1;
		}
	for (o = OPT_MQTT_PORT; o <= OPT_FTPS_PORT; o++)
		if (a->v[o] != NULL && port_ok(a->v[o]) == -1) {
			fprintf(stderr, "spoolkeeper: printer add: %s '%s' is "
			    "not a port number (1-65535)\n", opt_names[o],
			    a->v[o]);
			return -1;
		}
	return 0;
}

/* Prints the one-line reason an insert was refused. */
static void
add_error(struct db *db, const struct add_args *a, const char *err)
{
	const char	*c = db_constraint(db);
	size_t		 i;

	if (db_is(db, DB_UNIQUE_VIOLATION) &&
	    strcmp(c, "printers_serial_key") == 0) {
		fprintf(stderr, "spoolkeeper: printer add: a printer with serial "
		    "'%s' already exists\n", a->v[OPT_SERIAL]);
		return;
	}
	if (db_is(db, DB_UNIQUE_VIOLATION) &&
	    strcmp(c, "printers_name_key") == 0) {
		fprintf(stderr, "spoolkeeper: printer add: a printer named '%s' "
		    "already exists\n", a->v[OPT_NAME]);
		return;
	}
	for (i = 0; db_is(db, DB_CHECK_VIOLATION) &&
	    i < sizeof(checks) / sizeof(checks[0]); i++)
		if (strcmp(c, checks[i].constraint) == 0) {
			/* The access code is a secret: never echoed. */
			if (checks[i].opt == OPT_CODE)
				fprintf(stderr, "spoolkeeper: printer add: bad "
				    "access code: %s\n", checks[i].rule);
			else
				fprintf(stderr, "spoolkeeper: printer add: bad "
				    "%s '%s': %s\n", opt_names[checks[i].opt] + 2,
				    a->v[checks[i].opt], checks[i].rule);
			return;
		}
	fprintf(stderr, "spoolkeeper: printer add: %s\n", err);
}

/* Checks and encrypts the access code into *enc (new).  0, or -1 with the message printed. */
static int
seal_code(const struct add_args *a, char **enc)
{
	struct secret_key	*k;
	char			 err[ERRBUF_LEN];
	int			 rc;

	if (!code_ok(a->v[OPT_CODE])) {
		fprintf(stderr, "spoolkeeper: printer add: bad access code: %s\n", CODE_RULE);
		return -1;
	}
	if (cli_key_load("printer add", &k) == -1)
		return -1;
	if ((rc = secret_encrypt(k, SECRET_ACCESS_CODE, a->v[OPT_CODE], enc, err)) == -1)
		fprintf(stderr, "spoolkeeper: printer add: %s\n", err);
	secret_key_free(k);
	return rc;
}

static int
printer_add(int argc, char *argv[])
{
	struct add_args		 a;
	struct db		*db;
	struct db_result	*r;
	const char		*p[8];
	char			 err[ERRBUF_LEN], *enc;

	if (parse_add(argc, argv, &a) == -1)
		return 2;
	if (strcmp(a.v[OPT_CODE], "-") == 0 && read_code(&a) == -1)
		return 1;
	if (seal_code(&a, &enc) == -1)
		return 1;
	if (cli_db_open("printer add", &db) == -1) {
		free(enc);
		return 1;
	}
	p[0] = a.v[OPT_NAME];
	p[1] = a.v[OPT_HOST];
	p[2] = a.v[OPT_SERIAL];
	p[3] = enc;		/* the code itself never reaches the database */
	p[4] = a.v[OPT_MODEL];
	p[5] = a.insecure ? "true" : "false";
	p[6] = a.v[OPT_MQTT_PORT];
	p[7] = a.v[OPT_FTPS_PORT];
	/* NULL ports take the column defaults (8883, 990). */
	if (db_exec(db, "INSERT INTO printers (name, host, serial, access_code_enc, "
	    "model, insecure_tls, mqtt_port, ftps_port) VALUES ($1, $2, $3, $4, "
	    "$5, $6::boolean, coalesce($7::integer, 8883), "
	    "coalesce($8::integer, 990)) RETURNING id", 8, p, &r, err) == -1) {
		add_error(db, &a, err);
		free(enc);
		db_close(db);
		return 1;
	}
	free(enc);
	printf("printer add: added printer %s (%s)\n", db_result_get(r, 0, 0),
	    a.v[OPT_NAME]);
	db_result_free(r);
	db_close(db);
	return fflush(stdout) == EOF ? 1 : 0;
}

/* Display width of UTF-8 text: its number of code points. */
static size_t
width(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
print_cell(const char *s, size_t w, int last)
{
	size_t	n = width(s);

	fputs(s, stdout);
	if (last) {
		putchar('\n');
		return;
	}
	for (; n < w + 2; n++)
		putchar(' ');
}

void
cli_print_table(const struct db_result *r)
{
	size_t		*w;
	const char	*s;
	int		 rows = db_result_rows(r), cols = db_result_cols(r), i, j;

	if (cols == 0)
		return;
	w = xcalloc((size_t)cols, sizeof(*w));
	for (j = 0; j < cols; j++) {
		w[j] = width(db_result_name(r, j));
		for (i = 0; i < rows; i++) {
			s = db_result_get(r, i, j);
			if (s != NULL && width(s) > w[j])
				w[j] = width(s);
		}
	}
	for (j = 0; j < cols; j++)
		print_cell(db_result_name(r, j), w[j], j == cols - 1);
	for (i = 0; i < rows; i++)
		for (j = 0; j < cols; j++) {
			s = db_result_get(r, i, j);
			print_cell(s != NULL ? s : "-", w[j], j == cols - 1);
		}
	free(w);
}

int
cli_list(struct db *db, const char *cmd, const char *sql, int n, const char *const *p, const char *empty)
{
	struct db_result	*r;
	char			 err[ERRBUF_LEN];

	if (db_exec(db, sql, n, p, &r, err) == -1) {
		fprintf(stderr, "spoolkeeper: %s: %s\n", cmd, err);
		db_close(db);
		return 1;
	}
	if (db_result_rows(r) == 0)
		printf("%s\n", empty);
	else
		cli_print_table(r);
	db_result_free(r);
	db_close(db);
	return fflush(stdout) == EOF ? 1 : 0;
}

static int
printer_list(int argc, char *argv[])
{
	struct db		*db;

	if (argc != 1) {
		fprintf(stderr, "spoolkeeper: printer list: unexpected argument "
		    "'%s' (%s)\n", argv[1], USAGE);
		return 2;
	}
	if (cli_db_open("printer list", &db) == -1)
		return 1;
	/* Never the access code. */
	return cli_list(db, "printer list", "SELECT id, name, serial, host, model, mqtt_port AS mqtt,"
	    " ftps_port AS ftps, CASE WHEN insecure_tls THEN 'insecure' ELSE "
	    "'verified' END AS tls, CASE WHEN enabled THEN 'yes' ELSE 'no' END "
	    "AS enabled FROM printers ORDER BY id", 0, NULL, "no printers yet (spoolkeeper printer add ...)");
}

int
cmd_printer(int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return printer_add(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return printer_list(argc - 1, argv + 1);
	fprintf(stderr, "spoolkeeper: printer: %s (%s)\n", argc < 2 ?
	    "no subcommand" : "unknown subcommand", USAGE);
	return 2;
}
