#!/bin/sh
# tests/worker/test_outbox.sh: the Spoolman outbox drain and client (worker/outbox.c, worker/spoolman.c) on a migrated database against the Spoolman stand-in.
#
#   BIN=build/bin/spoolkeeper sh tests/worker/test_outbox.sh      (inside a cluster of tests/harness/pg.sh)
#
# Needs the connection variables of tests/harness/pg.sh (PG_CONNINFO, PGHOST...).  Builds a database with
# `spoolkeeper migrate`, starts two stand-ins (tests/spoolman/spoolman_standin.py --port 0; the second behind basic
# auth u/p), waits for their LISTENING lines (polling their output, never a fixed sleep), and runs the Check program
# <build>/tests/worker/check_outbox.  Stops the stand-ins and drops the database at the end.

BIN=${BIN:-build/bin/spoolkeeper}
CHECK=${CHECK_OUTBOX:-$(dirname "$BIN")/../tests/worker/check_outbox}
STANDIN=tests/spoolman/spoolman_standin.py
DB=sk_outbox_$$
TMP=
PIDS=

. "$(dirname "$0")/../harness/check_db.sh"
db_need_pg
db_need_exec "$BIN" "$CHECK"

cleanup()
{
	for p in $PIDS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -n "$TMP" ] && rm -rf "$TMP"
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TMP=$(mktemp -d /tmp/sk-outbox.XXXXXX) || exit 1

# standin NAME ARGS...: starts a stand-in with its output in $TMP/NAME.out and waits (up to 30 s) for LISTENING.
standin()
{
	name=$1
	shift
	python3 "$STANDIN" --port 0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	pid=$!
	PIDS="$PIDS $pid"
	n=0
	until grep -q '^LISTENING ' "$TMP/$name.out" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null || [ "$n" -ge 600 ]; then
			echo "not ok - the stand-in $name did not start:"
			cat "$TMP/$name.err"
			return 1
		fi
		n=$((n + 1))
		sleep 0.05
	done
}

db_create_migrated "$DB"
standin main --control-port 0 || exit 1
standin auth --user u --password p || exit 1

SK_TEST_DATABASE="$PG_CONNINFO dbname=$DB" \
SK_TEST_SPOOLMAN_PORT=$(sed -n 's/^LISTENING //p' "$TMP/main.out") \
SK_TEST_CONTROL_PORT=$(sed -n 's/^CONTROL //p' "$TMP/main.out") \
SK_TEST_AUTH_PORT=$(sed -n 's/^LISTENING //p' "$TMP/auth.out") \
    "$CHECK"
st=$?
if [ "$st" -ne 0 ]; then
	for f in "$TMP"/*.err; do
		[ -s "$f" ] || continue
		echo "# $(basename "$f" .err) stand-in stderr:"
		sed 's/^/#   /' "$f"
	done
fi
exit "$st"
