#!/bin/sh
# tests/harness/check_db.sh: a fresh migrated database of the tests/harness/pg.sh cluster for a Check program (sourced).
#
#   . tests/harness/check_db.sh
#   db_need_pg                   PG_CONNINFO is set (run inside tests/harness/pg.sh), else "not ok" and exit 1
#   db_need_exec FILE...         every FILE is an executable, else "not ok" and exit 1
#   db_create_migrated DB        CREATE DATABASE DB and `$BIN migrate` on it, else exit 1
#   check_db_run PREFIX CHECK    all of it for database PREFIX_$$: runs CHECK with SK_TEST_DATABASE pointing at
#                                it and drops it at the end; CHECK's exit status
#
# BIN is the spoolkeeper CLI (default build/bin/spoolkeeper).

BIN=${BIN:-build/bin/spoolkeeper}

db_need_pg()
{
	if [ -z "${PG_CONNINFO:-}" ]; then
		echo "not ok - PG_CONNINFO is not set: run inside tests/harness/pg.sh"
		exit 1
	fi
}

db_need_exec()
{
	for f in "$@"; do
		if [ ! -x "$f" ]; then
			echo "not ok - $f is not an executable"
			exit 1
		fi
	done
}

db_create_migrated()
{
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $1" || exit 1
	if ! SPOOLKEEPER_DATABASE="$PG_CONNINFO dbname=$1" "$BIN" migrate >/dev/null; then
		echo "not ok - spoolkeeper migrate on $1 failed"
		exit 1
	fi
}

check_db_run()
{
	DB=$1_$$
	CHECK=$2
	db_need_pg
	db_need_exec "$BIN" "$CHECK"
	trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1' EXIT
	trap 'exit 130' INT TERM
	db_create_migrated "$DB"
	SK_TEST_DATABASE="$PG_CONNINFO dbname=$DB" "$CHECK"
}
