#!/bin/sh
# tests/worker/test_plan_store.sh: builds a database with `spoolkeeper migrate` and runs the Check tests of plan_store.c on it.
#
#   BIN=build/bin/spoolkeeper sh tests/worker/test_plan_store.sh      (inside a cluster of tests/harness/pg.sh)
#
# Needs the connection variables of tests/harness/pg.sh (PG_CONNINFO, PGHOST...); the Check binary is
# <build>/tests/worker/check_plan_store beside <build>/bin/spoolkeeper.  Stores the plans of the real samples
# of ../shared/samples/gcode, and times the big file (SK_BIG_FILE, default /tmp/big/big.gcode.3mf) when it
# exists.  Drops its database at the end.

BIN=${BIN:-build/bin/spoolkeeper}
CHECK=${CHECK_PLAN_STORE:-$(dirname "$BIN")/../tests/worker/check_plan_store}
DB=sk_plan_store_$$

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
