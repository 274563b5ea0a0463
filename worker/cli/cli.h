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
struct secret_key;

/* spoolkeeper analyze: 0 done, 1 bad input file, 2 usage error. */
int	cmd_analyze(int argc, char *argv[]);

/* spoolkeeper migrate / printer / tray (docs/sql.md): 0 done, 1 runtime error, 2 usage error. */
int	cmd_migrate(int argc, char *argv[]);
int	cmd_printer(int argc, char *argv[]);
int	cmd_tray(int argc, char *argv[]);

/* spoolkeeper key / user / setup-token (docs/security.md): 0 done, 1 runtime error, 2 usage error. */
int	cmd_key(int argc, char *argv[]);
int	cmd_user(int argc, char *argv[]);
int	cmd_setup_token(int argc, char *argv[]);

/*
 * spoolkeeper doctor (docs/operations.md): checks the installation and every enabled printer, one ok/warn/FAIL
 * line each: 0 when nothing failed, 1 when something did, 2 usage error.  In cmd_doctor.c.
 */
int	cmd_doctor(int argc, char *argv[]);

/*
 * spoolkeeper outbox hold (docs/operations.md, "Backup and restore"): every pending or inflight use waits for an
 * admin's review; refused while a worker is alive unless --force.  0 done, 1 runtime error, 2 usage error.
 */
int	cmd_outbox(int argc, char *argv[]);

/*
 * Opens the database of conf_database() for subcommand `cmd`; on failure prints one "spoolkeeper: ..." line and
 * returns -1.  Defined in spoolkeeper.c.
 */
int	cli_db_open(const char *cmd, struct db **dbp);

/*
 * Loads the key file of conf_key_file() into *kp (new; secret_key_free() it) for subcommand `cmd`; on failure
 * prints one "spoolkeeper: ..." line (for a missing file: run `spoolkeeper key init`) and returns -1.  In
 * spoolkeeper.c.
 */
int	cli_key_load(const char *cmd, struct secret_key **kp);

/*
 * After the migrations: encrypts the secrets still stored in plain text (printers.access_code into
 * access_code_enc, the setting spoolman_password) with the key file, in one transaction, and says what it did on
 * stdout.  Without a key file it only warns on stderr.  0, or -1 with the message printed.  In cmd_key.c.
 */
int	cli_encrypt_legacy(struct db *db);

/* Prints a result as an aligned table with its column names as the header; NULL shows as "-".  In cmd_printer.c. */
void	cli_print_table(const struct db_result *r);

/*
 * The body of every `... list` command: runs sql with its n parameters p on db, prints the rows with
 * cli_print_table() or, when there are none, the line `empty`; closes db.  Returns the exit status: 0, or 1 after
 * printing "spoolkeeper: <cmd>: <error>".  In cmd_printer.c.
 */
int	cli_list(struct db *db, const char *cmd, const char *sql, int n, const char *const *p, const char *empty);

#endif
