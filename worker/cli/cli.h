/* cli.h: the subcommands of the spoolkeeper admin command. */
#ifndef WORKER_CLI_H
#define WORKER_CLI_H

/* A subcommand: fn gets argv from the command name on and returns the exit status. */
struct cli_command {
	const char	*name;
	int		(*fn)(int argc, char *argv[]);
	const char	*usage;
};

struct db;
struct db_result;

/* spoolkeeper analyze: 0 done, 1 bad input file, 2 usage error. */
int	cmd_analyze(int argc, char *argv[]);

/* spoolkeeper migrate / printer / tray (docs/sql.md): 0 done, 1 runtime error, 2 usage error. */
int	cmd_migrate(int argc, char *argv[]);
int	cmd_printer(int argc, char *argv[]);
int	cmd_tray(int argc, char *argv[]);

/*
 * Opens the database of conf_database() for subcommand `cmd`; on failure prints one "spoolkeeper: ..." line and
 * returns -1.  Defined in spoolkeeper.c.
 */
int	cli_db_open(const char *cmd, struct db **dbp);

/* Prints a result as an aligned table with its column names as the header; NULL shows as "-".  In cmd_printer.c. */
void	cli_print_table(const struct db_result *r);

#endif
