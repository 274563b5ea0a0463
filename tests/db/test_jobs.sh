#!/bin/sh
# tests/db/test_jobs.sh: builds a database with `spoolkeeper migrate` and runs the Check tests of the worker's job charging on it.
#
#   BIN=build/bin/spoolkeeper sh tests/db/test_schema.sh      (inside a cluster of tests/harness/pg.sh)
#
# Needs the connection variables of tests/harness/pg.sh (PG_CONNINFO, PGHOST...); the Check binary is
# <build>/tests/db/check_jobs beside <build>/bin/spoolkeeper.  Drops its database at the end.

BIN=${BIN:-build/bin/spoolkeeper}
. "$(dirname "$0")/../harness/check_db.sh"
check_db_run sk_jobs "${CHECK_JOBS:-$(dirname "$BIN")/../tests/db/check_jobs}"
