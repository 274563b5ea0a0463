#!/bin/sh
# tests/db/test_schema.sh: builds a database with `spoolkeeper migrate` and runs the Check tests of the schema and db.c on it.
#
#   BIN=build/bin/spoolkeeper sh tests/db/test_schema.sh      (inside a cluster of tests/harness/pg.sh)
#
# Needs the connection variables of tests/harness/pg.sh (PG_CONNINFO, PGHOST...); the Check binary is
# <build>/tests/db/check_db beside <build>/bin/spoolkeeper.  Drops its database at the end.

BIN=${BIN:-build/bin/spoolkeeper}
. "$(dirname "$0")/../harness/check_db.sh"
check_db_run sk_schema "${CHECK_DB:-$(dirname "$BIN")/../tests/db/check_db}"
