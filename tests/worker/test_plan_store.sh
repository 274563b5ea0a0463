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
. "$(dirname "$0")/../harness/check_db.sh"
check_db_run sk_plan_store "${CHECK_PLAN_STORE:-$(dirname "$BIN")/../tests/worker/check_plan_store}"
