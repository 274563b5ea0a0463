/* spoolkeeper.c: the admin command: dispatches `spoolkeeper <command> ...` to its handler. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "db.h"
#include "secret.h"

static const struct cli_command commands[] = {
	{ "analyze", cmd_analyze,
	  "analyze FILE [--plate N] [--member NAME] [--json] [--no-ams] [--flow-cali 0|1]" },
	{ "migrate", cmd_migrate, "migrate" },
	{ "printer", cmd_printer,
	  "printer add --name NAME --host HOST --serial SERIAL --access-code CODE|- [--model MODEL] [--insecure]\n"
	  "                      [--mqtt-port PORT] [--ftps-port PORT]\n"
	  "  spoolkeeper printer list" },
	{ "tray", cmd_tray,
	  "tray set PRINTER TRAY SPOOL_ID [--move]\n"
	  "  spoolkeeper tray clear PRINTER TRAY\n"
	  "  spoolkeeper tray list [PRINTER] [--history]" },
	{ "key", cmd_key, "key init [--key-file PATH]" },
	{ "user", cmd_user,
	  "user add NAME [--admin] [--password-stdin]\n"
	  "  spoolkeeper user passwd NAME [--password-stdin]\n"
	  "  spoolkeeper user disable|enable NAME\n"
	  "  spoolkeeper user list" },
	{ "setup-token", cmd_setup_token, "setup-token [--ttl-hours N]" },
	{ "doctor", cmd_doctor, "doctor [--printer NAME|ID] [--cafile PATH] [--timeout SECONDS] [--json]" },
	{ "outbox", cmd_outbox, "outbox hold [--reason TEXT] [--force]" },
};

int
cli_db_open(const char *cmd, struct db **dbp)
{
	char	err[ERRBUF_LEN];

	if (db_open(conf_database(), dbp, err) == 0)
		return 0;
	fprintf(stderr, "spoolkeeper: %s: %s (%s)\n", cmd, err,
	    conf_database_is_default() ? "the default database; set "
	    CONF_DATABASE_ENV " to use another" : "from " CONF_DATABASE_ENV);
	return -1;
}

int
cli_key_load(const char *cmd, struct secret_key **kp)
{
	char	err[ERRBUF_LEN];

	if (secret_key_load(conf_key_file(), kp, err) == 0)
		return 0;
	fprintf(stderr, "spoolkeeper: %s: %s\n", cmd, err);
	return -1;
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: spoolkeeper <command> [options]\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  spoolkeeper %s\n", commands[i].usage);
}

int
main(int argc, char *argv[])
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "spoolkeeper: unknown command '%s' (try --help)\n",
	    argv[1]);
	return 2;
}
