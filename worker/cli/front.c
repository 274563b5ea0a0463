/* front.c: the spoolkeeper command: runs analyze itself and hands every other command to spoolkeeper-cli. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define CLI_NAME	"spoolkeeper-cli"

/*
 * Runs spoolkeeper-cli from this program's own directory with the same
 * arguments; returns only on failure (127, after a message).  Why two
 * programs: the admin commands link libpq and libcurl, whose LDAP support
 * brings in GnuTLS, and GnuTLS's constructor alone takes about 4 ms at
 * every start; `spoolkeeper analyze` links none of them (docs/gcode.md).
 */
static int
run_cli(char *argv[])
{
	char	 path[PATH_MAX];
	char	*slash;
	ssize_t	 n;

	n = readlink("/proc/self/exe", path, sizeof(path));
	if (n == -1 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, "spoolkeeper: cannot find my own program: %s\n",
		    n == -1 ? strerror(errno) : "path too long");
		return 127;
	}
	path[n] = '\0';
	if ((slash = strrchr(path, '/')) == NULL ||
	    (size_t)(slash + 1 - path) + sizeof(CLI_NAME) > sizeof(path)) {
		fprintf(stderr, "spoolkeeper: odd program path %s\n", path);
		return 127;
	}
	memcpy(slash + 1, CLI_NAME, sizeof(CLI_NAME));
	execv(path, argv);
	fprintf(stderr, "spoolkeeper: cannot run %s: %s\n", path,
	    strerror(errno));
	return 127;
}

int
main(int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "analyze") == 0)
		return cmd_analyze(argc - 1, argv + 1);
	return run_cli(argv);
}
