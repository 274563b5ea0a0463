#!/bin/sh
# tests/harness/worker_stack.sh: the set-up pieces the worker-stack test scripts share (sourced; POSIX sh).
#
#   ROOT=...; cd "$ROOT"; BIN=...                 (the repository root; BIN defaults to build/bin/spoolkeeper)
#   . tests/harness/worker_stack.sh
#
# Sourcing sets BINDIR (dirname of BIN), WORKER (spoolkeeper-worker there), SIM (the printer simulator), SAMPLE
# (the two-colour 3MF of ../shared/samples), SERIAL, CODE (the access code), NAME (the file name the simulator
# reports), empty DBS and WPIDS (a script changes any of them after sourcing), and sources tests/harness/check_db.sh.
# T is the caller's temporary directory.
#
#   ws_need_built FILE...          every FILE is an executable, else "not ok - FILE is not built" and exit 1
#   ws_need_servers broker [ftps] [web]
#                                  db_need_pg; sources certs.sh, broker.sh and key.sh, plus ftps.sh / web.sh when
#                                  named; when one named is not available: "not ok - mosquitto[, vsftpd][ or the
#                                  web stack] missing: <their *_why>" and exit 1
#   ws_tmp [key]                   T=$(mktemp -d), else exit 1; with "key" also key_init "$T", else exit 1
#   ws_kill [-9] PID...            kill -9 each PID (no wait); without -9: kill each, then wait for it
#   ws_stop_servers                broker_stop, and ftps_stop when ws_need_servers sourced ftps.sh
#   ws_drop_dbs [force] DB...      DROP DATABASE IF EXISTS each (WITH (FORCE) with "force"); quiet, never fails
#   ws_drop_roles ROLE...          DROP ROLE IF EXISTS each (one psql); quiet, never fails
#   ws_certs_broker SERIAL...      certificates for the SERIALs in $T/certs and the broker for them (access code
#                                  CODE), logs in $T/certs.log and $T/broker.log; on failure: fail with the log, exit 1
#   ws_ftps SERIAL [FILE NAME WHAT]
#                                  the FTPS server for SERIAL (certs of $T/certs, CODE) and FILE put as NAME
#                                  (default SAMPLE as NAME, WHAT "ftps serves the sample"); on failure: fail, exit 1
#   wait_line FILE WORD [TRIES]    waits (TRIES x 0.05 s, default 200) for a line "WORD <value>" in FILE and prints
#                                  the first value; 1 when it never comes
#   ws_standin OUT TRIES [ARG...]  starts tests/spoolman/spoolman_standin.py --port 0 ARG... (stdout $T/OUT.out,
#                                  stderr $T/OUT.err) in the background, SMPID its pid; waits TRIES x 0.05 s for it
#                                  to listen; sets SM (its base URL) and CTL (its control URL when it printed one);
#                                  1 when it did not start in time (the caller reports $T/OUT.err)
#   sm METHOD PATH [BODY]          a request to the stand-in's $SM/api/v1PATH (JSON BODY); prints the body; curl -f
#   q SQL                          one psql query (unaligned, tuples only, ON_ERROR_STOP) on ${Q_DB:-$DB}
#   ws_until EXPECTED SECS CMD...  runs CMD every 0.1 s (stderr dropped) until it prints EXPECTED; 1 after SECS
#                                  seconds
#   wait_sql QUERY EXPECTED SECS   ws_until EXPECTED SECS q QUERY
#   ws_new_db DB                   CREATE DATABASE DB (listed in DBS), exports SPOOLKEEPER_DATABASE for it,
#                                  `$BIN migrate`; 1 when either fails
#   ws_printer_add                 `$BIN printer add` p1 on 127.0.0.1 with SERIAL, CODE, BROKER_PORT, FTPS_PORT
#   ws_worker ID [ARG...]          a worker in the background (CA $T/certs/ca.crt, cache $T, database
#                                  ${WS_WORKER_DB:-$SPOOLKEEPER_DATABASE}), log appended to $T/ID.log; sets WPID
#                                  and adds it to WPIDS
#   ws_stop_workers                kill and wait for every pid in WPIDS; empties WPIDS
#   ws_play [-b] LOG SPEED [ARG...]
#                                  plays SAMPLE once (timeout 120 s) at SPEED with the simulator, output in $T/LOG;
#                                  its status; with -b in the background instead, SIMPID the pid of the play

BIN=${BIN:-build/bin/spoolkeeper}
BINDIR=$(dirname "$BIN")
WORKER=$BINDIR/spoolkeeper-worker
SIM=$BINDIR/../tests/printer_sim
SAMPLE=$(pwd)/../shared/samples/gcode/estampo_reference_P1S_BS2.5_2color_T0T3.gcode.3mf
SERIAL=01S00A000000001
CODE=12345678
NAME="Two colours; cube.gcode.3mf"
WS_FTPS=
DBS=
WPIDS=

. tests/harness/check_db.sh

ws_need_built()
{
	for _f in "$@"; do
		if [ ! -x "$_f" ]; then
			echo "not ok - $_f is not built"
			exit 1
		fi
	done
}

ws_need_servers()
{
	db_need_pg
	. tests/harness/certs.sh
	. tests/harness/broker.sh
	_ws_ok=1
	broker_available || _ws_ok=
	_ws_what=mosquitto
	_ws_why=$broker_why
	for _s in "$@"; do
		case $_s in
		ftps)
			. tests/harness/ftps.sh
			WS_FTPS=1
			ftps_available || _ws_ok=
			_ws_what="$_ws_what|vsftpd"
			_ws_why="$_ws_why $ftps_why" ;;
		web)
			. tests/harness/web.sh
			web_available || _ws_ok=
			_ws_what="$_ws_what|the web stack"
			_ws_why="$_ws_why $web_why" ;;
		esac
	done
	. tests/harness/key.sh
	if [ -z "$_ws_ok" ]; then
		# "a", "a or b", "a, b or c"
		_ws_list=$(echo "$_ws_what" | sed -e 's/|\([^|]*\)$/ or \1/' -e 's/|/, /g')
		echo "not ok - $_ws_list missing: $_ws_why"
		exit 1
	fi
}

ws_tmp()
{
	T=$(mktemp -d) || exit 1
	[ "${1:-}" != key ] || key_init "$T" || exit 1
}

ws_kill()
{
	if [ "${1:-}" = -9 ]; then
		shift
		for _p in "$@"; do
			kill -9 "$_p" 2>/dev/null
		done
	else
		for _p in "$@"; do
			kill "$_p" 2>/dev/null && wait "$_p" 2>/dev/null
		done
	fi
	return 0
}

ws_stop_servers()
{
	broker_stop
	[ -z "$WS_FTPS" ] || ftps_stop
}

ws_drop_dbs()
{
	_ws_force=
	[ "${1:-}" != force ] || { _ws_force=" WITH (FORCE)"; shift; }
	for _d in "$@"; do
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $_d$_ws_force" >/dev/null 2>&1
	done
	return 0
}

ws_drop_roles()
{
	for _r in "$@"; do
		set -- "$@" -c "DROP ROLE IF EXISTS $_r"
		shift
	done
	psql -X -q -d postgres "$@" >/dev/null 2>&1
	return 0
}

ws_certs_broker()
{
	certs_make "$T/certs" "$@" >"$T/certs.log" 2>&1 || { fail "certificates" "$(cat "$T/certs.log")"; exit 1; }
	BROKER_CERTS=$T/certs BROKER_ACCESS_CODE=$CODE broker_start "$@" >"$T/broker.log" 2>&1 ||
		{ fail "broker starts" "$(cat "$T/broker.log")"; exit 1; }
}

ws_ftps()
{
	FTPS_CERTS=$T/certs FTPS_ACCESS_CODE=$CODE ftps_start "$1" >"$T/ftps.log" 2>&1 ||
		{ fail "ftps starts" "$(cat "$T/ftps.log")"; exit 1; }
	ftps_put "${2:-$SAMPLE}" "${3:-$NAME}" || { fail "${4:-ftps serves the sample}"; exit 1; }
}

wait_line()
{
	_i=0
	until grep -q "^$2 " "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -lt "${3:-200}" ] || return 1
		sleep 0.05
	done
	sed -n "s/^$2 //p" "$1" | head -n 1
}

ws_standin()
{
	_ws_out=$1
	_ws_tries=$2
	shift 2
	python3 tests/spoolman/spoolman_standin.py --port 0 "$@" >"$T/$_ws_out.out" 2>"$T/$_ws_out.err" &
	SMPID=$!
	_ws_port=$(wait_line "$T/$_ws_out.out" LISTENING "$_ws_tries") || return 1
	SM=http://127.0.0.1:$_ws_port
	CTL=http://127.0.0.1:$(sed -n 's/^CONTROL //p' "$T/$_ws_out.out")
}

sm()
{
	if [ -n "${3:-}" ]; then
		curl -s -f -X "$1" -H 'Content-Type: application/json' -d "$3" "$SM/api/v1$2"
	else
		curl -s -f -X "$1" "$SM/api/v1$2"
	fi
}

q()
{
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "${Q_DB:-$DB}" -c "$1"
}

ws_until()
{
	_ws_want=$1
	_ws_tenths=$(($2 * 10))
	shift 2
	_n=0
	while [ "$("$@" 2>/dev/null)" != "$_ws_want" ]; do
		_n=$((_n + 1))
		[ "$_n" -lt "$_ws_tenths" ] || return 1
		sleep 0.1
	done
}

wait_sql()
{
	ws_until "$2" "$3" q "$1"
}

ws_new_db()
{
	DB=$1
	DBS="$DBS $DB"
	psql -X -q -d postgres -c "CREATE DATABASE $DB" || return 1
	export SPOOLKEEPER_DATABASE="$PG_CONNINFO dbname=$DB"
	"$BIN" migrate >/dev/null
}

ws_printer_add()
{
	"$BIN" printer add --name p1 --host 127.0.0.1 --serial "$SERIAL" --access-code "$CODE" \
	    --mqtt-port "$BROKER_PORT" --ftps-port "$FTPS_PORT" >/dev/null
}

ws_worker()
{
	_ws_id=$1
	shift
	SPOOLKEEPER_DATABASE=${WS_WORKER_DB:-$SPOOLKEEPER_DATABASE} SPOOLKEEPER_CA_FILE=$T/certs/ca.crt \
	    "$WORKER" --worker-id "$_ws_id" --cache-dir "$T" "$@" >>"$T/$_ws_id.log" 2>&1 &
	WPID=$!
	WPIDS="$WPIDS $WPID"
}

ws_stop_workers()
{
	for _p in $WPIDS; do
		kill "$_p" 2>/dev/null
		wait "$_p" 2>/dev/null
	done
	WPIDS=
}

ws_play()
{
	_ws_bg=
	[ "$1" != -b ] || { _ws_bg=1; shift; }
	_ws_log=$1
	_ws_speed=$2
	shift 2
	set -- --file "$SAMPLE" --name "$NAME" --port "$BROKER_PORT" --cafile "$T/certs/ca.crt" \
	    --serial "$SERIAL" --access-code "$CODE" --speed "$_ws_speed" --start-after 2 --exit-after 2 --quiet "$@"
	if [ -n "$_ws_bg" ]; then
		timeout 120 "$SIM" "$@" >"$T/$_ws_log" 2>&1 &
		SIMPID=$!
	else
		timeout 120 "$SIM" "$@" >"$T/$_ws_log" 2>&1
	fi
}
