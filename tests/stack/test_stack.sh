#!/bin/sh
# tests/stack/test_stack.sh: the local run (stack.sh) in demo mode: up, charging, stopped, restarted with its data.
#
#   sh tests/stack/test_stack.sh       (as root, from anywhere; needs no PostgreSQL of its own: the stack makes one)
#
# 1. stack_start (the library) in a temp DIR on a free port: /api/v1/health through nginx, the demo admin logs in
#    through the API (cookie + CSRF), the demo print's layers reach the usage ledger and the Spoolman stand-in;
#    stack_stop: every process gone, the port free.
# 2. `stack.sh demo DIR` (the command of make demo) on the same DIR: the cluster is reused, the printer and the
#    ledger rows are still there, the same admin login; then the stack's shell is killed with SIGKILL (a crash).
# 3. `stack.sh demo DIR` again recovers from the stale pid files; a second run on the same DIR is refused in one
#    line; `stack.sh stop DIR` (make stop) stops it all.
# 4. A port already in use: one clear line naming the port and PORT=, a non-zero exit, nothing started.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
TAP_TAIL=12
. tests/harness/tap.sh
. tests/harness/stack.sh

B=${BUILD:-build}
for f in $B/bin/spoolkeeper $B/bin/spoolkeeper-worker $B/bin/spoolkeeper-web $B/tests/printer_sim; do
	if [ ! -x "$f" ]; then
		echo "not ok - $f is not built (make all)"
		exit 1
	fi
done
if ! pg_available || ! broker_available || ! ftps_available || ! web_available; then
	echo "not ok - a server is missing: $pg_why $broker_why $ftps_why $web_why (make deps)"
	exit 1
fi
if [ ! -d "$ROOT/../shared/samples/gcode" ]; then
	echo "not ok - the samples are missing: $ROOT/../shared/samples/gcode"
	exit 1
fi

# The stack's own cluster and key: nothing inherited from a caller's database.
unset SPOOLKEEPER_DATABASE SPOOLKEEPER_KEY_FILE PGHOST PGPORT PGUSER PGDATABASE DEMO
T=$(mktemp -d /tmp/spoolkeeper-stacktest.XXXXXX) || exit 1
chmod 755 "$T"          # PostgreSQL (user postgres) must enter it
D=$T/var
STACK_PG_FAST=1
PORT=$(harness_free_port)
export STACK_PG_FAST PORT
LISTENER=
RUNPID=
cleanup()
{
	[ -z "$LISTENER" ] || kill "$LISTENER" 2>/dev/null
	[ -z "$RUNPID" ] || kill "$RUNPID" 2>/dev/null
	sh tests/harness/stack.sh stop "$D" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CONNINFO="host=$D/run port=5433 dbname=spoolkeeper user=spoolkeeper"
q()
{
	"$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$CONNINFO" -c "$1" 2>&1
}

# poll SECONDS CMD...: true once CMD succeeds (every 0.5 s).
poll()
{
	_end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$_end" ] || return 1
		sleep 0.5
	done
}

# pids_of_stack: every pid the stack's files name (pid files, process groups, servers' own files), but this
# shell's (stack_start records the caller as the stack's shell).
pids_of_stack()
{
	{
		cat "$D"/pids/*.pid "$D/web/web.pid" "$D/web/nginx.pgid" 2>/dev/null | cut -d ' ' -f 1
		head -n 1 "$D/pg/data/postmaster.pid" 2>/dev/null
		for _d in $(cat "$D/pids/broker.dir" "$D/pids/ftps.dir" 2>/dev/null); do
			cat "$_d/pid" 2>/dev/null
		done
	} | grep -E '^[0-9]+$' | grep -v -x "$$" | sort -u
}

# all_gone PIDS: nothing of the stack runs: none of PIDS, no process whose command line names DIR.
all_gone()
{
	for _p in $1; do
		# A zombie has ended (this machine's init may reap orphans late).
		if kill -0 "$_p" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$_p/stat" 2>/dev/null | cut -c 1)" != Z ]; then
			echo "pid $_p still runs: $(stack_cmdline "$_p")"
			return 1
		fi
	done
	_left=$(ps -eo pid=,args= | grep -F "$T" | grep -v -e grep -e test_stack.sh)
	[ -z "$_left" ] || { echo "left running: $_left"; return 1; }
	return 0
}

port_free()
{
	! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/" && stack_port_check "$PORT" 2>/dev/null
}

ledger_rows()
{
	q "SELECT count(*) FROM usage_ledger l JOIN print_jobs j ON j.id = l.job_id WHERE j.printer_id = $PRINTER"
}

ledger_has_rows()
{
	[ "$(ledger_rows)" -gt 0 ] 2>/dev/null
}

spoolman_used()
{
	curl -sS --max-time 5 "$STACK_SPOOLMAN_URL/_control/state" |
	    python3 -c 'import json, sys; print(sum(s["used_weight"] for s in json.load(sys.stdin)["spools"]))'
}

spoolman_has_spends()
{
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)' "$(spoolman_used 2>/dev/null)" \
	    2>/dev/null
}

# banner_value OUT KEY: from the banner of `stack.sh demo`: the login (KEY user|password) or the URL (url).
banner_value()
{
	case $2 in
	url) sed -n 's/^Spoolkeeper runs at //p' "$1" ;;
	user) sed -n 's/^  log in as: \([^ ]*\) \/ .*/\1/p' "$1" ;;
	password) sed -n 's/^  log in as: [^ ]* \/ \([^ ]*\) .*/\1/p' "$1" ;;
	esac
}

# login USER PASSWORD: POST /api/v1/session through nginx; the cookie in $T/jar, the token in CSRF.
login()
{
	_b=$(python3 -c 'import json, sys; print(json.dumps({"username": sys.argv[1], "password": sys.argv[2]}))' "$1" "$2")
	CODE=$(curl -sS -o "$T/login.json" -w '%{http_code}' -c "$T/jar" -H 'Content-Type: application/json' \
	    --data-binary "$_b" "$URL/api/v1/session")
	CSRF=$(stack_json 'j["csrf_token"]' <"$T/login.json")
	[ "$CODE" = 200 ] && [ -n "$CSRF" ]
}

# --- 1. the library, in demo mode --------------------------------------------------------------------------
if stack_start "$D" demo >"$T/start1.out" 2>&1; then
	pass "stack_start DIR demo: the whole stack answers"
else
	fail "stack_start DIR demo: the whole stack answers" "$(cat "$T/start1.out")"
	exit 1
fi
URL=$STACK_URL
PRINTER=$STACK_PRINTER_ID
if [ "$URL" = "http://127.0.0.1:$PORT" ] && [ -n "$PRINTER" ] && [ "$STACK_ADMIN_USER" = demo ] &&
    [ -n "$STACK_ADMIN_PASSWORD" ] && [ -n "$STACK_SPOOLMAN_URL" ] && [ "$STACK_DEMO" = 1 ] &&
    [ "$STACK_DATABASE" = "$SPOOLKEEPER_DATABASE" ] && [ -f "$SPOOLKEEPER_KEY_FILE" ]; then
	pass "the exported variables: STACK_URL on PORT, the printer, the admin, the stand-in, the database, the key"
else
	fail "the exported variables" "URL=$URL PRINTER=$PRINTER USER=$STACK_ADMIN_USER SM=$STACK_SPOOLMAN_URL"
fi
H=$(curl -sS -w ' %{http_code}' "$URL/api/v1/health" 2>&1)
case $H in
*'"database"'*'"ok"'*' 200') pass "GET /api/v1/health through nginx: 200, database ok" ;;
*) fail "GET /api/v1/health through nginx: 200, database ok" "$H" ;;
esac
if login "$STACK_ADMIN_USER" "$STACK_ADMIN_PASSWORD"; then
	pass "the demo admin logs in (POST /api/v1/session)"
else
	fail "the demo admin logs in (POST /api/v1/session)" "HTTP $CODE $(cat "$T/login.json")"
fi
P=$(curl -sS -b "$T/jar" "$URL/api/v1/printers/$PRINTER" | stack_json 'j["serial"] + " " + str(j["mqtt_port"])')
if [ "$P" = "$STACK_PRINTER_SERIAL $(cat "$(cat "$D/pids/broker.dir")/port")" ]; then
	pass "the session sees the simulated printer, on the broker's port"
else
	fail "the session sees the simulated printer, on the broker's port" "$P"
fi
N=$(curl -sS -o /dev/null -w '%{http_code}' -b "$T/jar" -X DELETE "$URL/api/v1/session")
Y=$(curl -sS -o /dev/null -w '%{http_code}' -b "$T/jar" -H "X-CSRF-Token: $CSRF" -X DELETE "$URL/api/v1/session")
if [ "$N" = 403 ] && [ "$Y" = 204 ]; then
	pass "CSRF: log-out refused without the token (403), done with it (204)"
else
	fail "CSRF: log-out refused without the token (403), done with it (204)" "without $N, with $Y"
fi
if poll 120 ledger_has_rows; then
	pass "the demo print's layers are in the usage ledger ($(ledger_rows) rows)"
else
	fail "the demo print's layers are in the usage ledger" "$(ledger_rows)
$(q "SELECT id, state, checkpoint_layer, error FROM print_jobs")
$(tail -n 5 "$D/log/worker.log")"
fi
if poll 90 spoolman_has_spends; then
	pass "the Spoolman stand-in received spends ($(spoolman_used) g)"
else
	fail "the Spoolman stand-in received spends" "$(spoolman_used 2>&1)
$(q "SELECT state, count(*), max(last_error) FROM spoolman_outbox GROUP BY 1")"
fi
ROWS1=$(ledger_rows)
PIDS=$(pids_of_stack)
stack_stop
if [ "$(echo "$PIDS" | wc -w)" -ge 8 ] && out=$(all_gone "$PIDS"); then
	pass "stack_stop: every process is gone ($(echo "$PIDS" | wc -w) recorded)"
else
	fail "stack_stop: every process is gone" "$PIDS
$out"
fi
if port_free; then
	pass "stack_stop: port $PORT is free"
else
	fail "stack_stop: port $PORT is free"
fi

# --- 2. the command of make demo, on the same DIR: the data is kept ---------------------------------------------
# run_demo OUT: `stack.sh demo DIR` in the background (RUNPID); true once its banner is out.
run_demo()
{
	sh tests/harness/stack.sh demo "$D" >"$1" 2>&1 &
	RUNPID=$!
	poll 120 grep -q '^Spoolkeeper runs at' "$1" 2>/dev/null
}

if run_demo "$T/run2.out"; then
	pass "stack.sh demo DIR: starts again on the same DIR"
else
	fail "stack.sh demo DIR: starts again on the same DIR" "$(cat "$T/run2.out")"
	exit 1
fi
if ! grep -q "initialising" "$T/run2.out" && [ "$(banner_value "$T/run2.out" url)" = "$URL" ] &&
    [ "$(banner_value "$T/run2.out" user)" = demo ] &&
    [ "$(banner_value "$T/run2.out" password)" = "$STACK_ADMIN_PASSWORD" ]; then
	pass "the banner: same URL, same demo login; the cluster was reused, not initialised"
else
	fail "the banner: same URL, same demo login; the cluster was reused" "$(cat "$T/run2.out")"
fi
if [ "$(q "SELECT string_agg(id::text, ',') FROM printers")" = "$PRINTER" ] &&
    [ "$(ledger_rows)" -ge "$ROWS1" ] 2>/dev/null && [ "$ROWS1" -gt 0 ]; then
	pass "the data is kept: the same printer, the ledger's $ROWS1 rows (now $(ledger_rows))"
else
	fail "the data is kept: the same printer, the ledger's rows" "$(q "SELECT id, name FROM printers")
ledger before $ROWS1, now $(ledger_rows)"
fi
if login demo "$STACK_ADMIN_PASSWORD"; then
	pass "the demo admin logs in after the restart"
else
	fail "the demo admin logs in after the restart" "HTTP $CODE $(cat "$T/login.json")"
fi
# A crash: the foreground shell dies without stopping anything.
SHPID=$(cut -d ' ' -f 1 "$D/pids/stack.pid")
kill -9 "$SHPID" 2>/dev/null
wait "$RUNPID" 2>/dev/null
RUNPID=

# --- 3. stale pid files: recovered, not refused; make stop ----------------------------------------------------
if run_demo "$T/run3.out" && grep -q "did not stop cleanly" "$T/run3.out"; then
	pass "after a crash: the stale pid files are cleaned up and the stack starts"
else
	fail "after a crash: the stale pid files are cleaned up and the stack starts" "$(cat "$T/run3.out")"
fi
timeout 30 sh tests/harness/stack.sh run "$D" >"$T/twice.out" 2>"$T/twice.err"
st=$?
if [ "$st" -eq 1 ] && grep -q "a stack already runs from $D (pid [0-9]*): stop it first" "$T/twice.err" &&
    [ "$(wc -l <"$T/twice.err")" -eq 1 ] && curl -sf -o /dev/null "$URL/api/v1/health"; then
	pass "a second run on the same DIR is refused in one line; the first one goes on"
else
	fail "a second run on the same DIR is refused in one line; the first one goes on" "exit $st
$(cat "$T/twice.out" "$T/twice.err")"
fi
PIDS=$(pids_of_stack)
if sh tests/harness/stack.sh stop "$D" >"$T/stop.out" 2>&1; then
	pass "stack.sh stop DIR (make stop) exits 0"
else
	fail "stack.sh stop DIR (make stop) exits 0" "$(cat "$T/stop.out")"
fi
if poll 10 eval '! kill -0 "$RUNPID" 2>/dev/null'; then
	wait "$RUNPID" 2>/dev/null
	RUNPID=
	pass "the foreground run ends on make stop"
else
	fail "the foreground run ends on make stop" "$(tail -n 5 "$T/run3.out")"
fi
if out=$(all_gone "$PIDS") && port_free; then
	pass "make stop: every process is gone, the port is free"
else
	fail "make stop: every process is gone, the port is free" "$out"
fi

# --- 4. a port already in use -----------------------------------------------------------------------------
python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
print("ready", flush=True)
time.sleep(120)' "$PORT" >"$T/listener.out" 2>&1 &
LISTENER=$!
poll 10 grep -q ready "$T/listener.out"
timeout 60 sh tests/harness/stack.sh run "$T/var2" >"$T/busy.out" 2>"$T/busy.err"
st=$?
if [ "$st" -ne 0 ] && [ "$st" -ne 124 ] && [ "$(wc -l <"$T/busy.err")" -eq 1 ] &&
    grep -q "port $PORT of 127.0.0.1 is already in use.*PORT=" "$T/busy.err" && [ ! -d "$T/var2/pg" ]; then
	pass "a port in use: exit $st, one line: $(cat "$T/busy.err")"
else
	fail "a port in use: a clear line and a non-zero exit" "exit $st
$(cat "$T/busy.out" "$T/busy.err")"
fi
kill "$LISTENER" 2>/dev/null
wait "$LISTENER" 2>/dev/null
LISTENER=

tap_done
