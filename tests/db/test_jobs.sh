#!/bin/sh
# tests/db/test_jobs.sh: builds a database with `spoolkeeper migrate` and runs the Check tests of the worker's job charging on it.
#
#   BIN=build/bin/spoolkeeper sh tests/db/test_schema.sh      (inside a cluster of tests/harness/pg.sh)
#
# Needs the connection variables of tests/harness/pg.sh (PG_CONNINFO, PGHOST...); the Check binary is
# <build>/tests/db/check_jobs beside <build>/bin/spoolkeeper.  Drops its database at the end.

BIN=${BIN:-build/bin/spoolkeeper}
CHECK=${CHECK_JOBS:-$(dirname "$BIN")/../tests/db/check_jobs}
DB=sk_jobs_$$

if [ -z "${PG_CONNINFO:-}" ]; then
	echo "not ok - PG_CONNINFO is not set: run inside tests/harness/pg.sh"
	exit 1
fi
for f in "$BIN" "$CHECK"; do
	if [ ! -x "$f" ]; then
		echo "not ok - $f is not an executable"
		exit 1
	fi
done

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" || exit 1
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM

if ! SPOOLKEEPER_DATABASE="$PG_CONNINFO dbname=$DB" "$BIN" migrate >/dev/null; then
	echo "not ok - spoolkeeper migrate on $DB failed"
	exit 1
fi
SK_TEST_DATABASE="$PG_CONNINFO dbname=$DB" "$CHECK"
