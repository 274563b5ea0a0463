/* cli.h: the subcommands of the spoolkeeper admin command. */
#ifndef WORKER_CLI_H
#define WORKER_CLI_H

/* A subcommand: fn gets argv from the command name on and returns the exit status. */
struct cli_command {
	const char	*name;
	int		(*fn)(int argc, char *argv[]);
	const char	*usage;
};

/* spoolkeeper analyze: 0 done, 1 bad input file, 2 usage error. */
int	cmd_analyze(int argc, char *argv[]);

#endif
