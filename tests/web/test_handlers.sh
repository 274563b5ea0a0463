#!/bin/sh
# tests/web/test_handlers.sh: runs every Check program of tests/web (handler tests, no socket) on a fresh migrated database.
#
# Inside a cluster of tests/harness/pg.sh (PG_CONNINFO); BIN is the spoolkeeper CLI, the programs are
# <build>/tests/web/check_* beside it.  Each gets its own database, dropped at the end.

BIN=${BIN:-build/bin/spoolkeeper}
dir=$(dirname "$BIN")/../tests/web
st=0
for c in "$dir"/check_*; do
	[ -x "$c" ] || continue
	( . "$(dirname "$0")/../harness/check_db.sh"; check_db_run "sk_$(basename "$c")" "$c" ) || st=1
done
exit $st
