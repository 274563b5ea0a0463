/* spoolkeeper.c: the admin command: dispatches `spoolkeeper <command> ...` to its handler. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_command commands[] = {
	{ "analyze", cmd_analyze,
	  "analyze FILE [--plate N] [--member NAME] [--json] [--no-ams] [--flow-cali 0|1]" },
};

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
