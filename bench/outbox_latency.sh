#!/bin/sh
# bench/outbox_latency.sh: runs bench/outbox_latency.c on a fresh database and Spoolman stand-in; prints its figures.
#
#   BUILD=build sh tests/harness/pg.sh sh bench/outbox_latency.sh      (bench/run.sh does this)
#
# Needs the connection variables of tests/harness/pg.sh.  ROWS (default 500) rows per phase.

BUILD=${BUILD:-build}
BIN=$BUILD/bin/spoolkeeper
PROG=$BUILD/bench/outbox_latency
ROWS=${ROWS:-500}
DB=sk_bench_outbox_$$
TMP=
PID=

if [ -z "${PG_CONNINFO:-}" ]; then
	echo "bench: outbox latency: PG_CONNINFO is not set (run inside tests/harness/pg.sh)" >&2
	exit 1
fi
for f in "$BIN" "$PROG"; do
	[ -x "$f" ] || { echo "bench: $f not built (run make)" >&2; exit 1; }
done

cleanup()
{
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	[ -n "$TMP" ] && rm -rf "$TMP"
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM
TMP=$(mktemp -d /tmp/sk-bench-outbox.XXXXXX) || exit 1

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" || exit 1
SPOOLKEEPER_DATABASE="$PG_CONNINFO dbname=$DB" "$BIN" migrate >/dev/null || exit 1
python3 tests/spoolman/spoolman_standin.py --port 0 >"$TMP/out" 2>"$TMP/err" &
PID=$!
n=0
until grep -q '^LISTENING ' "$TMP/out" 2>/dev/null; do
	if ! kill -0 "$PID" 2>/dev/null || [ "$n" -ge 600 ]; then
		echo "bench: the Spoolman stand-in did not start:" >&2
		cat "$TMP/err" >&2
		exit 1
	fi
	n=$((n + 1))
	sleep 0.05
done
PORT=$(sed -n 's/^LISTENING //p' "$TMP/out")
# The drain logs one line per request on stderr: keep it out of the figures.
"$PROG" "$PG_CONNINFO dbname=$DB" "$PORT" "$ROWS" 2>"$TMP/log"
st=$?
[ "$st" -eq 0 ] || tail -n 20 "$TMP/log" >&2
exit "$st"
