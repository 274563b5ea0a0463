#!/bin/sh
# tests/worker/test_planner.sh: the planner thread end to end: a real database, vsftpd with implicit FTPS, an HTTPS server.
#
#   BIN=build/bin/spoolkeeper sh tests/worker/test_planner.sh      (inside a cluster of tests/harness/pg.sh)
#
# Builds a database with `spoolkeeper migrate`, starts tests/harness/ftps.sh (as a Bambu printer; its
# certificate names the serials 01S00B000000001..13, each test's printers use their own) and
# tests/worker/https_server.py (a cloud URL), then runs the Check tests of <build>/tests/worker/check_planner.
# Skipped (exit 0, saying why) when the FTPS harness cannot run here (not root, no vsftpd).

BIN=${BIN:-build/bin/spoolkeeper}
CHECK=${CHECK_PLANNER:-$(dirname "$BIN")/../tests/worker/check_planner}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DB=sk_planner_$$
PREFIX=01S00B0000000

cd "$ROOT" || exit 1
. tests/harness/ftps.sh
. tests/harness/certs.sh
. tests/harness/check_db.sh

db_need_pg
if ! ftps_available; then
	echo "ok - skipped: $ftps_why"
	exit 0
fi
db_need_exec "$BIN" "$CHECK"

T=$(mktemp -d) || exit 1
HTTPS_PID=
cleanup()
{
	[ -n "$HTTPS_PID" ] && kill "$HTTPS_PID" 2>/dev/null
	ftps_stop
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

serials=
for n in 01 02 03 04 05 06 07 08 09 10 11 12 13; do
	serials="$serials $PREFIX$n"
done
# shellcheck disable=SC2086
if ! certs_make "$T/certs" $serials >"$T/certs.log" 2>&1 ||
    ! certs_leaf "$T/certs" https localhost >>"$T/certs.log" 2>&1; then
	echo "not ok - test certificates"
	cat "$T/certs.log"
	exit 1
fi
if ! FTPS_CERTS=$T/certs ftps_start "${PREFIX}01" >"$T/ftps.log" 2>&1; then
	echo "not ok - FTPS harness"
	cat "$T/ftps.log"
	exit 1
fi
mkdir -p "$T/www"
cp "$ROOT/../shared/samples/gcode/estampo_reference_P1S_BS2.5_2color_T0T3.gcode.3mf" "$T/www/model.3mf"
python3 tests/worker/https_server.py "$T/certs/https.crt" "$T/certs/https.key" "$T/www" "$T/https.port" \
    >"$T/https.log" 2>&1 &
HTTPS_PID=$!
n=0
while [ ! -s "$T/https.port" ] && [ "$n" -lt 100 ]; do
	n=$((n + 1))
	sleep 0.05
done
if [ ! -s "$T/https.port" ]; then
	echo "not ok - HTTPS server"
	cat "$T/https.log"
	exit 1
fi

db_create_migrated "$DB"
SK_TEST_DATABASE="$PG_CONNINFO dbname=$DB" SK_SAMPLES="$ROOT/../shared/samples/gcode" \
    SK_FTPS_ROOT="$FTPS_ROOT" SK_FTPS_PORT="$FTPS_PORT" SK_FTPS_CA="$FTPS_CAFILE" \
    SK_FTPS_CODE="$FTPS_ACCESS_CODE" SK_SERIAL_PREFIX="$PREFIX" \
    SK_HTTPS_BASE="https://localhost:$(cat "$T/https.port")" SK_HTTPS_CA="$T/certs/ca.crt" \
    "$CHECK"
