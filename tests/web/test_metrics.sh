#!/bin/sh
# tests/web/test_metrics.sh: GET /metrics through a real nginx in front of the real spoolkeeper-web (2 processes).
#
#   BIN=build/bin/spoolkeeper sh tests/web/test_metrics.sh      (inside a cluster of tests/harness/pg.sh)
#
# From 127.0.0.1 the scrape answers 200 in the text format 0.0.4, which tests/web/metrics_parse.py reads strictly;
# the request counters of the whole pool go up by exactly the requests made (the processes share them); the
# ledger figures match what SQL counts in the database; from 127.0.0.2 nginx refuses it (403).
# Prints ok / not ok lines (tests/harness/tap.sh); the database is dropped and every process stopped at the end.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-build/bin/spoolkeeper}
WEB_BIN=${WEB_BIN:-$(dirname "$BIN")/spoolkeeper-web}
WEB_ROOT=$ROOT
WEB_PROCESSES=2
export WEB_BIN WEB_ROOT WEB_PROCESSES

. tests/harness/worker_stack.sh
. tests/harness/web.sh
. tests/harness/tap.sh
db_need_pg
db_need_exec "$BIN" "$WEB_BIN"
if ! web_available; then
	echo "ok - skipped: $web_why"
	exit 0
fi

ws_tmp
DB=sk_metrics_$$
cleanup()
{
	web_stop
	ws_drop_dbs "$DB"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# (q SQL: tests/harness/worker_stack.sh)

# scrape NAME [CURL-ARGS...]: GET /metrics into $T/NAME.txt (headers $T/NAME.h), parsed into $T/NAME.s; sets code.
scrape()
{
	_n=$1
	shift
	code=$(curl -sS --max-time 20 -D "$T/$_n.h" -o "$T/$_n.txt" -w '%{http_code}' "$@" "$WEB_URL/metrics" \
	    2>"$T/curl.err")
	[ -n "$code" ] || code=000
	python3 tests/web/metrics_parse.py "$T/$_n.txt" >"$T/$_n.s" 2>"$T/$_n.err"
}

# val NAME SERIES: the value of SERIES in scrape NAME (empty when absent).
val()
{
	awk -v s="$2" '{ v = $NF; sub(/ [^ ]*$/, ""); if ($0 == s) print v }' "$T/$1.s"
}

HEALTH='spoolkeeper_http_requests_total{route="/api/v1/health",method="GET",code="2xx"}'
HEALTH_COUNT='spoolkeeper_http_request_duration_seconds_count{route="/api/v1/health",method="GET"}'
OTHER='spoolkeeper_http_requests_total{route="other",method="any",code="4xx"}'

db_create_migrated "$DB"
SPOOLKEEPER_DATABASE="$PG_CONNINFO dbname=$DB"
SPOOLKEEPER_KEY_FILE=$T/secret.key
export SPOOLKEEPER_DATABASE SPOOLKEEPER_KEY_FILE
"$BIN" key init --key-file "$SPOOLKEEPER_KEY_FILE" >/dev/null 2>&1

# Some usage in the ledger: two whole layers (one with two filaments) and a partial one.
q "INSERT INTO printers (name, host, serial, access_code) VALUES ('m1', '127.0.0.1', 'SM1', '12345678');
   INSERT INTO print_jobs (printer_id, job_key, state, layer_count) SELECT id, 'k', 'running', 5 FROM printers;
   INSERT INTO job_filaments (job_id, filament_index, type, density, mm, grams)
       SELECT id, i, 'PLA', 1.24, 100, 0.3 FROM print_jobs, generate_series(0, 1) i;
   INSERT INTO usage_ledger (job_id, layer, filament_index, spool_id, mm, grams, kind, percent)
       SELECT id, l, f, 3, 100, g, k, p FROM print_jobs, (VALUES (0, 0, 1.25, 'layer', NULL::int),
           (1, 0, 0.5, 'layer', NULL), (1, 1, 0.25, 'layer', NULL), (2, 0, 0.125, 'partial', 40)) v(l, f, g, k, p)" \
    >/dev/null || { fail "usage rows for the test"; tap_done; exit 1; }

if ! web_start; then
	fail "web_start: spoolkeeper-web behind nginx/local.conf.in"
	tap_done
	exit 1
fi
pass "web_start: spoolkeeper-web ($WEB_PROCESSES processes) behind nginx"

scrape a
if [ "$code" = 200 ]; then
	pass "GET /metrics from 127.0.0.1: 200"
else
	fail "GET /metrics from 127.0.0.1: 200" "HTTP $code $(cat "$T/curl.err") $(head -c 300 "$T/a.txt")"
fi
ct=$(grep -i '^content-type:' "$T/a.h" | head -n 1 | sed 's/^[^:]*: *//' | tr -d '\r')
case $ct in
'text/plain; version=0.0.4'*) pass "Content-Type: $ct" ;;
*) fail "Content-Type text/plain; version=0.0.4" "got: $ct" ;;
esac
if [ -s "$T/a.s" ] && [ ! -s "$T/a.err" ]; then
	pass "the text parses strictly ($(wc -l <"$T/a.s") samples)"
else
	fail "the text parses strictly" "$(cat "$T/a.err")"
fi
[ "$(val a spoolkeeper_database_up)" = 1 ] && pass "spoolkeeper_database_up 1" ||
    fail "spoolkeeper_database_up 1" "$(grep database_up "$T/a.txt")"

want=$(q "SELECT count(*) FROM (SELECT DISTINCT job_id, layer FROM usage_ledger WHERE kind = 'layer') l")
got=$(val a spoolkeeper_layers_charged_total)
if [ "$want" = 2 ] && [ "$got" = "$want" ]; then
	pass "spoolkeeper_layers_charged_total = the ledger's whole layers ($got)"
else
	fail "spoolkeeper_layers_charged_total = the ledger's whole layers" "metrics $got, SQL $want"
fi
got=$(val a spoolkeeper_grams_spent_total)
[ "$got" = 2.125 ] && pass "spoolkeeper_grams_spent_total = the ledger's sum (2.125)" ||
    fail "spoolkeeper_grams_spent_total = the ledger's sum (2.125)" "metrics $got"

# Requests spread over both processes: the pool's counters go up by exactly what was asked.
h0=$(val a "$HEALTH")
o0=$(val a "$OTHER")
i=0
while [ "$i" -lt 20 ]; do
	curl -sS -o /dev/null --max-time 10 "$WEB_URL/api/v1/health"
	i=$((i + 1))
done
curl -sS -o /dev/null --max-time 10 "$WEB_URL/api/v1/no-such-route"
curl -sS -o /dev/null --max-time 10 "$WEB_URL/api/v1/no-such-route"
scrape b
h1=$(val b "$HEALTH")
o1=$(val b "$OTHER")
if [ -n "$h1" ] && [ $((h1 - ${h0:-0})) -eq 20 ]; then
	pass "20 health requests: the 2xx counter went from ${h0:-0} to $h1"
else
	fail "20 health requests: the 2xx counter went up by 20" "before ${h0:-absent}, after ${h1:-absent}"
fi
if [ -n "$o1" ] && [ $((o1 - ${o0:-0})) -eq 2 ]; then
	pass "2 unknown routes: route=\"other\" 4xx went up by 2"
else
	fail "2 unknown routes: route=\"other\" 4xx went up by 2" "before ${o0:-absent}, after ${o1:-absent}"
fi
[ "$(val b "$HEALTH_COUNT")" = "$h1" ] && pass "the health latency histogram counted every request" ||
    fail "the health latency histogram counted every request" "count $(val b "$HEALTH_COUNT"), requests $h1"
scrape c
m1=$(val c 'spoolkeeper_http_requests_total{route="/metrics",method="GET",code="2xx"}')
[ "${m1:-0}" -ge 2 ] && pass "earlier scrapes are counted (route=\"/metrics\": $m1)" ||
    fail "earlier scrapes are counted" "got ${m1:-absent}"

# From another address of this host: refused by nginx.
scrape d --interface 127.0.0.2
if [ "$code" = 000 ]; then
	echo "# no source address 127.0.0.2 here: the refusal is checked by tests/web/test_nginx.sh where possible"
else
	[ "$code" = 403 ] && pass "GET /metrics from 127.0.0.2: 403" || fail "GET /metrics from 127.0.0.2: 403" "HTTP $code"
fi

tap_done
