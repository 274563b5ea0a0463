#!/bin/sh
# tests/harness/stack.sh: starts and stops the whole Spoolkeeper stack on 127.0.0.1 (make run, make demo, tests).
#
# As a command (from anywhere; `make run`, `make demo` and `make stop` call it):
#
#   sh tests/harness/stack.sh run  [DIR]   start, print the URL, stay in the foreground; Ctrl-C stops it all
#   sh tests/harness/stack.sh demo [DIR]   the same plus a simulated printer and Spoolman (below)
#   sh tests/harness/stack.sh stop [DIR...] stop the stacks running from the DIRs (default ./var and ./var/demo)
#
# As a library (POSIX sh, from the repository root):
#
#   . tests/harness/stack.sh
#   stack_start DIR [demo] || exit 1    # returns once everything answers; 1 after cleaning up, with a message
#   trap stack_stop EXIT
#   ...
#   stack_stop                          # stops everything started from DIR; waits until every process is gone
#
# DIR (default ./var of the checkout, ./var/demo in demo mode, so that the demo's printer, admin and settings never
# mix with real ones) keeps the state between runs: pg/ (the embedded cluster, reused, never re-initialised), run/
# (its unix socket), secret.key (the key of `spoolkeeper key init`, made once), web/ (spoolkeeper-web's socket
# and nginx's files), cache/ (the worker's downloads), demo-data/ (the demo's certificates, admin login and the
# stand-in's spools, saved at stop), log/ (every process's log) and pids/ (what `stop` and a later start need; a
# stale set left by a crash is cleaned up, not refused).  With the default DIR, the
# programs' built-in defaults (common/conf.c: socket ./var/run, port 5433, key ./var/secret.key) name this
# stack, so `build/bin/spoolkeeper ...` works in another terminal without any variable.
#
# What stack_start exports (the browser tests rely on these names):
#   STACK_DIR             DIR, absolute
#   STACK_URL             http://127.0.0.1:PORT, nginx serving the frontend and /api/v1
#   STACK_PORT            PORT
#   STACK_DEMO            1 in demo mode, else empty
#   SPOOLKEEPER_DATABASE  the libpq conninfo of the stack's database (STACK_DATABASE is the same)
#   SPOOLKEEPER_KEY_FILE  the key file
#   STACK_SETUP_TOKEN     a one-time token for POST /api/v1/setup when no admin existed; else empty
#   demo mode only:
#   STACK_ADMIN_USER, STACK_ADMIN_PASSWORD   the demo admin (the same on every run of the same DIR)
#   STACK_PRINTER_ID, STACK_PRINTER_NAME, STACK_PRINTER_SERIAL   the simulated printer
#   STACK_SPOOLMAN_URL    the Spoolman stand-in (its /_control/state shows what it received); empty when it
#                         did not start (the app goes on without it)
#   STACK_SAMPLE          the sliced file the simulated printer plays in a loop
#
# Environment read: PORT (default 8080), SPOOLKEEPER_DATABASE (an existing server: used instead of the embedded
# cluster), SPOOLKEEPER_KEY_FILE (default DIR/secret.key), SPOOLKEEPER_CA_FILE (the Bambu CA bundle for real
# printers; default /etc/spoolkeeper/bambu-ca.pem, else ../shared/samples/certs/bbl_ca_bundle.pem when there),
# BUILD (build), WEB_PROCESSES (2), STACK_FRONTEND (the directory to serve; default the frontend's build
# output when there is one, else frontend/), STACK_SAMPLES (default ../shared/samples beside the checkout),
# STACK_SPEED (the simulated printer's layers per second, default 2), STACK_SPOOLMAN_SEED (a spool list for the
# stand-in's first run), STACK_PG_FAST (1: initdb --nosync and fsync off, for tests), PG_BIN.
#
# Simulated in demo mode, and only there: the printer (tests/printer/printer_sim) and Spoolman
# (tests/spoolman/spoolman_standin.py).  Real: PostgreSQL, mosquitto (TLS + password, the printer's broker),
# vsftpd (implicit FTPS, the printer's SD card), nginx, spoolkeeper-web, spoolkeeper-worker.

# As a command, the checkout is the current directory (the harnesses find each other from there).
STACK_CWD=$(pwd)
case ${0##*/} in
stack.sh) cd "$(dirname "$0")/../.." || exit 1 ;;
esac
STACK_ROOT=$(pwd)
. tests/harness/pg.sh
. tests/harness/web.sh
. tests/harness/certs.sh
. tests/harness/broker.sh
. tests/harness/ftps.sh

STACK_DIR=
STACK_OWN_ENV=
STACK_SERIAL=01S00A000000001
STACK_CODE=12345678
STACK_PG_PORT=5433
STACK_PRINTER_NAME="Demo P1S"
STACK_SAMPLE_NAME="Two colours; cube.gcode.3mf"
STACK_ADMIN_NAME=demo

# stack_say TEXT...: one line for the person running the stack.
stack_say()
{
	echo "stack: $*"
}

# stack_err TEXT...: one error line on stderr.
stack_err()
{
	echo "stack: $*" >&2
}

# stack_bin NAME: the path of a built program.
stack_bin()
{
	case $1 in
	printer_sim) echo "$STACK_ROOT/${BUILD:-build}/tests/printer_sim" ;;
	*) echo "$STACK_ROOT/${BUILD:-build}/bin/$1" ;;
	esac
}

# stack_cmdline PID: the command line of PID (spaces for NULs), empty when it is gone.
stack_cmdline()
{
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null
}

# stack_owned PID PATTERN: true when PID is alive and its command line contains PATTERN (not a reused pid).
stack_owned()
{
	case $1 in '' | *[!0-9]*) return 1 ;; esac
	kill -0 "$1" 2>/dev/null || return 1
	case $(stack_cmdline "$1") in *"$2"*) return 0 ;; esac
	return 1
}

# stack_json EXPR: evaluates the Python expression EXPR on the JSON of standard input (as `j`); prints it.
stack_json()
{
	python3 -c 'import json, sys
j = json.load(sys.stdin)
v = eval(sys.argv[1])
print("" if v is None else v)' "$1" 2>/dev/null
}

# stack_port_check PORT: true when PORT is a valid port nothing listens on at 127.0.0.1; else says so.
stack_port_check()
{
	case $1 in
	'' | *[!0-9]*)
		stack_err "PORT=$1 is not a port number: pick one from 1024 to 65535, e.g. make run PORT=8081"
		return 1
		;;
	esac
	if [ "$1" -lt 1 ] || [ "$1" -gt 65535 ]; then
		stack_err "PORT=$1 is not a port number: pick one from 1024 to 65535, e.g. make run PORT=8081"
		return 1
	fi
	# SO_REUSEADDR: only a listener makes the bind fail (connections of a previous run in TIME_WAIT do not).
	if python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(1)
except PermissionError:
    sys.exit(2)
except OSError:
    sys.exit(1)' "$1" 2>/dev/null; then
		return 0
	elif [ $? -eq 2 ]; then
		stack_err "port $1 is below 1024, which only root may use: pick another one, e.g. make run PORT=8080"
		return 1
	fi
	_who=$(ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/ by \1, pid \2/p' |
	    head -n 1)
	stack_err "port $1 of 127.0.0.1 is already in use$_who; pick another one: make run PORT=$(($1 + 1))" \
	    "(or make demo PORT=...)"
	return 1
}

# stack_pidfile NAME: the pid file of one of the stack's processes.
stack_pidfile()
{
	echo "$STACK_DIR/pids/$1.pid"
}

# stack_launch NAME LOG CMD...: runs CMD in a process group of its own (Ctrl-C on the terminal reaches only the
# stack's shell, which stops everything in order), its pid in pids/NAME.pid, output appended to LOG.
stack_launch()
{
	_name=$1
	_log=$2
	shift 2
	rm -f "$(stack_pidfile "$_name")"
	setsid sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$(stack_pidfile "$_name")" "$@" >>"$_log" 2>&1 \
	    </dev/null &
	_job=$!
	while [ ! -s "$(stack_pidfile "$_name")" ]; do
		kill -0 "$_job" 2>/dev/null || break
		sleep 0.01
	done
	[ -s "$(stack_pidfile "$_name")" ]
}

# stack_kill NAME PATTERN: stops the process group of pids/NAME.pid (SIGTERM, SIGKILL after 5 s) when its
# leader still runs PATTERN, and waits until the group is gone.  A pid file of a dead process is just removed.
stack_kill()
{
	_f=$(stack_pidfile "$1")
	[ -f "$_f" ] || return 0
	_p=$(cat "$_f" 2>/dev/null)
	if stack_owned "$_p" "$2"; then
		kill -s TERM -- "-$_p" 2>/dev/null
		stack_reap "$_p"
		wait "$_p" 2>/dev/null
	fi
	rm -f "$_f"
}

# stack_reap_pid PID: stack_reap for one process (mosquitto shares the stack shell's process group).
stack_reap_pid()
{
	_n=0
	while kill -0 "$1" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c 1)" != Z ]; do
		_n=$((_n + 1))
		[ "$_n" -lt 100 ] || kill -s KILL "$1" 2>/dev/null
		if [ "$_n" -ge 300 ]; then
			stack_err "warning: pid $1 does not end"
			return 1
		fi
		sleep 0.05
	done
}

# stack_reap PGID: waits until no process of the group runs (a zombie has ended: an orphan's is reaped by init,
# late on some machines); SIGKILL after 5 s; gives up after 15 s, saying so.
stack_reap()
{
	_n=0
	while ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'; do
		_n=$((_n + 1))
		[ "$_n" -lt 100 ] || kill -s KILL -- "-$1" 2>/dev/null
		if [ "$_n" -ge 300 ]; then
			stack_err "warning: process group $1 does not end"
			return 1
		fi
		sleep 0.05
	done
}

# stack_paths DIR: sets STACK_DIR (absolute) and makes its directories.
stack_paths()
{
	mkdir -p "$1" || { stack_err "cannot create $1"; return 1; }
	STACK_DIR=$(cd "$1" && pwd) || return 1
	case $STACK_DIR in
	*"'"* | *'\'* | *' '*)
		stack_err "the directory $STACK_DIR holds a space, a quote or a backslash: pick a plainer one"
		return 1
		;;
	esac
	mkdir -p "$STACK_DIR/log" "$STACK_DIR/pids" "$STACK_DIR/cache" || return 1
	export STACK_DIR
}

# --- PostgreSQL ---------------------------------------------------------------------------------------

# stack_pg_as CMD...: CMD as the cluster's owner (postgres when root), from inside DIR/pg.  (Not pg.sh's pg_as:
# its PG_DIR is a throwaway cluster that pg_stop deletes.)
stack_pg_as()
{
	if [ "$(id -u)" = 0 ]; then
		(cd "$STACK_DIR/pg" && runuser -u postgres -- "$@")
	else
		(cd "$STACK_DIR/pg" && "$@")
	fi
}

# stack_pg_stale: removes postmaster.pid and socket locks whose pid is not a running PostgreSQL (a crash, a
# reboot that gave the pid to another program), so that the next start does not refuse.
stack_pg_stale()
{
	_pf=$STACK_DIR/pg/data/postmaster.pid
	[ -f "$_pf" ] || return 0
	_p=$(head -n 1 "$_pf")
	if stack_owned "$_p" postgres || stack_owned "$_p" postmaster; then
		return 0
	fi
	stack_say "removing the stale $_pf of a PostgreSQL that is gone (pid $_p)"
	rm -f "$_pf" "$STACK_DIR/run/.s.PGSQL.$STACK_PG_PORT" "$STACK_DIR/run/.s.PGSQL.$STACK_PG_PORT.lock"
}

# stack_pg_start: initialises DIR/pg once, starts it (or reuses one a crashed run left running), makes the
# database and sets SPOOLKEEPER_DATABASE.
stack_pg_start()
{
	pg_available || { stack_err "PostgreSQL: $pg_why"; return 1; }
	_data=$STACK_DIR/pg/data
	_sock=$STACK_DIR/run
	if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$STACK_DIR" 2>/dev/null; then
		stack_err "PostgreSQL runs as the user postgres, which cannot enter $STACK_DIR (a private parent" \
		    "directory, e.g. a checkout under /root): run with STACK_DIR=/var/lib/spoolkeeper, or point" \
		    "SPOOLKEEPER_DATABASE at a server"
		return 1
	fi
	if [ "${#_sock}" -gt 90 ]; then
		# A unix socket's path holds at most 107 bytes (sun_path); PostgreSQL adds /.s.PGSQL.5433.lock.
		stack_err "the directory $STACK_DIR is too deep for PostgreSQL's unix socket ($_sock): pick a" \
		    "shorter one with STACK_DIR="
		return 1
	fi
	mkdir -p "$STACK_DIR/pg" "$_sock" || return 1
	chmod 700 "$STACK_DIR/pg"
	chmod 755 "$_sock"
	touch "$STACK_DIR/log/pg.log"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$STACK_DIR/pg" "$_sock" "$STACK_DIR/log/pg.log" || return 1
	fi
	if [ ! -f "$_data/PG_VERSION" ]; then
		if [ -d "$_data" ] && [ -n "$(ls -A "$_data" 2>/dev/null)" ]; then
			stack_err "$_data is not empty but holds no PostgreSQL cluster (no PG_VERSION): move it away"
			return 1
		fi
		stack_say "initialising the PostgreSQL cluster in $STACK_DIR/pg (once; later runs reuse it)"
		_sync=
		[ -z "${STACK_PG_FAST:-}" ] || _sync=--nosync
		if ! stack_pg_as "$PG_BIN/initdb" -D "$_data" -A trust -U spoolkeeper -E UTF8 --no-locale $_sync \
		    >"$STACK_DIR/log/initdb.log" 2>&1; then
			stack_err "initdb failed: $(grep -v '^$' "$STACK_DIR/log/initdb.log" | tail -n 1)" \
			    "(all of it in $STACK_DIR/log/initdb.log)"
			return 1
		fi
		{
			echo "# tests/harness/stack.sh: the embedded cluster of the local run: unix socket only"
			echo "listen_addresses = ''"
			echo "port = $STACK_PG_PORT"
			echo "unix_socket_directories = '$_sock'"
			echo "max_connections = 50"
			echo "log_min_messages = warning"
			echo "autovacuum_naptime = 10s		# the outbox churns: docs/operations.md"
			[ -z "${STACK_PG_FAST:-}" ] || printf '%s\n' "fsync = off" "synchronous_commit = off"
		} >>"$_data/postgresql.conf"
	fi
	_v=$(cat "$_data/PG_VERSION")
	if [ ! -x "$PG_BIN/postgres" ] || ! "$PG_BIN/postgres" --version | grep -q " $_v\."; then
		stack_err "the cluster in $STACK_DIR/pg is PostgreSQL $_v but $PG_BIN is $("$PG_BIN/postgres" --version)"
		return 1
	fi
	stack_pg_stale
	if stack_pg_as "$PG_BIN/pg_ctl" -D "$_data" status >/dev/null 2>&1; then
		stack_say "PostgreSQL of $STACK_DIR/pg is still running (a previous run did not stop it): reusing it"
	elif ! stack_pg_as "$PG_BIN/pg_ctl" -D "$_data" -l "$STACK_DIR/log/pg.log" -w -t 60 start \
	    >"$STACK_DIR/log/pg_ctl.log" 2>&1; then
		_why=$(grep -E 'FATAL|ERROR|PANIC' "$STACK_DIR/log/pg.log" | tail -n 1)
		[ -n "$_why" ] || _why=$(grep -v '^$' "$STACK_DIR/log/pg_ctl.log" | tail -n 1)
		stack_err "PostgreSQL did not start: $_why (see $STACK_DIR/log/pg.log)"
		return 1
	fi
	_n=0
	until "$PG_BIN/pg_isready" -q -h "$_sock" -p "$STACK_PG_PORT" -t 1; do
		_n=$((_n + 1))
		if [ "$_n" -ge 300 ]; then
			stack_err "PostgreSQL does not answer on $_sock (see $STACK_DIR/log/pg.log)"
			return 1
		fi
		sleep 0.1
	done
	if [ "$(stack_psql postgres "SELECT count(*) FROM pg_database WHERE datname = 'spoolkeeper'")" != 1 ]; then
		if ! _out=$(stack_psql postgres "CREATE DATABASE spoolkeeper" 2>&1); then
			stack_err "cannot create the database spoolkeeper: $_out"
			return 1
		fi
	fi
	SPOOLKEEPER_DATABASE="host=$_sock port=$STACK_PG_PORT dbname=spoolkeeper user=spoolkeeper"
	export SPOOLKEEPER_DATABASE
}

# stack_psql DB SQL: one statement on the embedded cluster; prints the values (unaligned, no header).
stack_psql()
{
	"$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$STACK_DIR/run" -p "$STACK_PG_PORT" -U spoolkeeper \
	    -d "$1" -c "$2"
}

# stack_pg_stop: stops the embedded cluster when it runs (fast shutdown: sessions end, data is kept).
stack_pg_stop()
{
	[ -f "$STACK_DIR/pg/data/PG_VERSION" ] || return 0
	stack_pg_stale
	[ -f "$STACK_DIR/pg/data/postmaster.pid" ] || return 0
	if ! stack_pg_as "$PG_BIN/pg_ctl" -D "$STACK_DIR/pg/data" -m fast -w -t 60 stop \
	    >>"$STACK_DIR/log/pg_ctl.log" 2>&1; then
		stack_pg_as "$PG_BIN/pg_ctl" -D "$STACK_DIR/pg/data" -m immediate -w -t 30 stop \
		    >>"$STACK_DIR/log/pg_ctl.log" 2>&1
	fi
}

# --- the web stack ------------------------------------------------------------------------------------

# stack_frontend: the directory nginx serves: STACK_FRONTEND, else the frontend's build output, else frontend/.
stack_frontend()
{
	if [ -n "${STACK_FRONTEND:-}" ]; then
		echo "$STACK_FRONTEND"
		return 0
	fi
	for _d in frontend/dist frontend/build frontend/public frontend; do
		if [ -f "$STACK_ROOT/$_d/index.html" ]; then
			echo "$STACK_ROOT/$_d"
			return 0
		fi
	done
}

# stack_web_start: spoolkeeper-web and nginx on 127.0.0.1:PORT (tests/harness/web.sh), files in DIR/web.
stack_web_start()
{
	web_available || { stack_err "$web_why"; return 1; }
	_fe=$(stack_frontend)
	if ! WEB_LISTEN_PORT=$STACK_PORT WEB_FRONTEND=$_fe web_start "$STACK_DIR/web" 2>"$STACK_DIR/log/web-start.log"
	then
		if grep -q "already in use" "$STACK_DIR/log/web-start.log"; then
			stack_err "port $STACK_PORT of 127.0.0.1 is already in use; pick another one: make run" \
			    "PORT=$((STACK_PORT + 1))"
		else
			stack_err "the web app or nginx did not start: $(grep -v '^ ' "$STACK_DIR/log/web-start.log" |
			    head -n 1) (all of it in $STACK_DIR/log/web-start.log)"
		fi
		return 1
	fi
	[ "$WEB_RUN" = "$WEB_DIR" ] || echo "$WEB_RUN" >"$STACK_DIR/pids/web.run"
	ln -sf ../web/web.log "$STACK_DIR/log/web.log"
	ln -sf ../web/var/error.log "$STACK_DIR/log/nginx-error.log"
	ln -sf ../web/var/access.log "$STACK_DIR/log/nginx-access.log"
	STACK_URL=$WEB_URL
	export STACK_URL
}

# stack_web_stop: stops nginx and the app, from web.sh's variables or, from another process, its pid files.
stack_web_stop()
{
	if [ -z "$WEB_PID$NGINX_PID" ] && [ -d "$STACK_DIR/web" ]; then
		WEB_DIR=$STACK_DIR/web
		WEB_OWN_DIR=
		WEB_JOB=
		WEB_OWN_RUN=$(cat "$STACK_DIR/pids/web.run" 2>/dev/null)
		# Not this shell's children: stopped here (web_stop then removes WEB_OWN_RUN).
		_p=$(cat "$WEB_DIR/nginx.pgid" 2>/dev/null)
		if stack_owned "$_p" nginx; then
			kill -s TERM -- "-$_p" 2>/dev/null
			stack_reap "$_p"
		fi
		_p=$(cat "$WEB_DIR/web.pid" 2>/dev/null)
		if stack_owned "$_p" spoolkeeper-web; then
			kill -s TERM "$_p" 2>/dev/null
			stack_reap "$_p"
		fi
	fi
	web_stop
	rm -f "$STACK_DIR/pids/web.run" "$STACK_DIR/web/web.pid" "$STACK_DIR/web/nginx.pgid"
}

# stack_api METHOD PATH [BODY]: a call to the API as the logged-in demo admin; the answer's body goes to
# DIR/demo-data/api.out, its HTTP status to stack_code.
stack_api()
{
	_h=
	[ ! -s "$STACK_DIR/demo-data/csrf" ] || _h="X-CSRF-Token: $(cat "$STACK_DIR/demo-data/csrf")"
	stack_code=$(curl -sS -o "$STACK_DIR/demo-data/api.out" -w '%{http_code}' --max-time 30 -X "$1" \
	    -b "$STACK_DIR/demo-data/cookies" -c "$STACK_DIR/demo-data/cookies" -H "Content-Type: application/json" \
	    ${_h:+-H "$_h"} ${3:+--data-binary "$3"} "$STACK_URL$2" 2>"$STACK_DIR/demo-data/api.err")
}

# --- demo mode ----------------------------------------------------------------------------------------

# stack_samples: the directory of the real sample prints.
stack_samples()
{
	echo "${STACK_SAMPLES:-$STACK_ROOT/../shared/samples}"
}

# stack_demo_check: what demo mode needs, checked before anything starts: the sample, the servers, the simulator.
stack_demo_check()
{
	STACK_SAMPLE=$(stack_samples)/gcode/estampo_reference_P1S_BS2.5_2color_T0T3.gcode.3mf
	if [ ! -f "$STACK_SAMPLE" ]; then
		stack_err "demo mode plays a real sample print, and $STACK_SAMPLE is missing: put the project's" \
		    "shared material beside the checkout (../shared/samples) or set STACK_SAMPLES=DIR"
		return 1
	fi
	STACK_SAMPLE=$(cd "$(dirname "$STACK_SAMPLE")" && pwd)/$(basename "$STACK_SAMPLE")
	export STACK_SAMPLE
	broker_available || { stack_err "$broker_why"; return 1; }
	ftps_available || { stack_err "$ftps_why"; return 1; }
	[ -x "$(stack_bin printer_sim)" ] || { stack_err "$(stack_bin printer_sim) is not built (make)"; return 1; }
}

# stack_demo_servers: the simulated printer's real servers (mosquitto, vsftpd) with a CA kept in DIR/demo.
stack_demo_servers()
{
	mkdir -p "$STACK_DIR/demo-data" && chmod 700 "$STACK_DIR/demo-data" || return 1
	if [ ! -s "$STACK_DIR/demo-data/certs/server.crt" ]; then
		certs_make "$STACK_DIR/demo-data/certs" "$STACK_SERIAL" >"$STACK_DIR/log/certs.log" 2>&1 || {
			stack_err "making the demo printer's certificates failed (see $STACK_DIR/log/certs.log)"
			return 1
		}
	fi
	# The worker's CA file: the demo CA, and the Bambu CA when known, so that real printers work too.
	cat "$STACK_DIR/demo-data/certs/ca.crt" >"$STACK_DIR/demo-data/ca.pem"
	_bbl=$(stack_bambu_ca)
	[ -z "$_bbl" ] || cat "$_bbl" >>"$STACK_DIR/demo-data/ca.pem"
	if ! BROKER_CERTS=$STACK_DIR/demo-data/certs BROKER_ACCESS_CODE=$STACK_CODE broker_start "$STACK_SERIAL" \
	    >"$STACK_DIR/log/broker-start.log" 2>&1; then
		stack_err "mosquitto (the simulated printer's broker) did not start: $(head -n 2 \
		    "$STACK_DIR/log/broker-start.log" | tr '\n' ' ')"
		return 1
	fi
	echo "$BROKER_DIR" >"$STACK_DIR/pids/broker.dir"
	ln -sf "$BROKER_DIR/broker.log" "$STACK_DIR/log/broker.log"
	if ! FTPS_CERTS=$STACK_DIR/demo-data/certs FTPS_ACCESS_CODE=$STACK_CODE ftps_start "$STACK_SERIAL" \
	    >"$STACK_DIR/log/ftps-start.log" 2>&1; then
		stack_err "vsftpd (the simulated printer's FTPS) did not start: $(head -n 2 \
		    "$STACK_DIR/log/ftps-start.log" | tr '\n' ' ')"
		return 1
	fi
	echo "$FTPS_DIR" >"$STACK_DIR/pids/ftps.dir"
	ln -sf "$FTPS_DIR/vsftpd.log" "$STACK_DIR/log/vsftpd.log"
	ftps_put "$STACK_SAMPLE" "$STACK_SAMPLE_NAME" || { stack_err "vsftpd cannot serve the sample"; return 1; }
}

# stack_bambu_ca: the Bambu CA bundle for real printers, when one is found.
stack_bambu_ca()
{
	for _f in "${SPOOLKEEPER_CA_FILE:-}" /etc/spoolkeeper/bambu-ca.pem "$(stack_samples)/certs/bbl_ca_bundle.pem"
	do
		[ -n "$_f" ] && [ -s "$_f" ] && { echo "$_f"; return 0; }
	done
}

# stack_spoolman_start: the Spoolman stand-in, with the spools saved by the last stop (else its built-in four, or
# STACK_SPOOLMAN_SEED).  Not starting is not fatal: the app runs without Spoolman and says so.
stack_spoolman_start()
{
	STACK_SPOOLMAN_URL=
	_seed=
	if [ -s "$STACK_DIR/demo-data/spoolman.json" ]; then
		_seed=$STACK_DIR/demo-data/spoolman.json
	elif [ -n "${STACK_SPOOLMAN_SEED:-}" ]; then
		_seed=$STACK_SPOOLMAN_SEED
	fi
	: >"$STACK_DIR/log/spoolman.out"
	stack_launch spoolman "$STACK_DIR/log/spoolman.log" sh -c 'exec python3 -u "$1" --port 0 ${2:+--seed "$2"} \
	    >"$3"' sh "$STACK_ROOT/tests/spoolman/spoolman_standin.py" "$_seed" "$STACK_DIR/log/spoolman.out"
	_n=0
	until grep -q '^LISTENING' "$STACK_DIR/log/spoolman.out" 2>/dev/null; do
		_n=$((_n + 1))
		if [ "$_n" -ge 200 ] || ! kill -0 "$(cat "$(stack_pidfile spoolman)" 2>/dev/null)" 2>/dev/null; then
			stack_err "warning: the Spoolman stand-in did not start ($(tail -n 1 "$STACK_DIR/log/spoolman.log"));" \
			    "the app runs on without Spoolman: spends wait in the outbox"
			stack_kill spoolman spoolman_standin
			return 0
		fi
		sleep 0.05
	done
	STACK_SPOOLMAN_URL=http://127.0.0.1:$(sed -n 's/^LISTENING //p' "$STACK_DIR/log/spoolman.out")
	export STACK_SPOOLMAN_URL
}

# stack_spoolman_save: keeps the stand-in's spools (used weights included) for the next run.
stack_spoolman_save()
{
	_u=$(sed -n 's/^LISTENING //p' "$STACK_DIR/log/spoolman.out" 2>/dev/null)
	[ -n "$_u" ] && [ -f "$(stack_pidfile spoolman)" ] || return 0
	if curl -sS -f --max-time 5 -o "$STACK_DIR/demo-data/spoolman.json.new" \
	    "http://127.0.0.1:$_u/api/v1/spool?allow_archived=true" 2>/dev/null; then
		mv "$STACK_DIR/demo-data/spoolman.json.new" "$STACK_DIR/demo-data/spoolman.json"
	else
		rm -f "$STACK_DIR/demo-data/spoolman.json.new"
	fi
}

# stack_demo_admin: the demo admin account (made once; its password kept in DIR/demo-data/admin, mode 0600), logged
# in through the API.
stack_demo_admin()
{
	STACK_ADMIN_USER=$STACK_ADMIN_NAME
	STACK_ADMIN_PASSWORD=$(sed -n 2p "$STACK_DIR/demo-data/admin" 2>/dev/null)
	rm -f "$STACK_DIR/demo-data/cookies" "$STACK_DIR/demo-data/csrf"
	if [ -z "$STACK_ADMIN_PASSWORD" ] || ! stack_demo_login; then
		STACK_ADMIN_PASSWORD=$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n')
		_bin=$(stack_bin spoolkeeper)
		if ! printf '%s\n' "$STACK_ADMIN_PASSWORD" | "$_bin" user add "$STACK_ADMIN_USER" --admin \
		    --password-stdin >"$STACK_DIR/log/admin.log" 2>&1 &&
		    ! printf '%s\n' "$STACK_ADMIN_PASSWORD" | "$_bin" user passwd "$STACK_ADMIN_USER" \
		    --password-stdin >>"$STACK_DIR/log/admin.log" 2>&1; then
			stack_err "cannot make the demo admin: $(tail -n 1 "$STACK_DIR/log/admin.log")"
			return 1
		fi
		(umask 077 && printf '%s\n%s\n' "$STACK_ADMIN_USER" "$STACK_ADMIN_PASSWORD" >"$STACK_DIR/demo-data/admin")
		stack_demo_login || { stack_err "the demo admin cannot log in: $(cat "$STACK_DIR/demo-data/api.out")"; return 1; }
	fi
	export STACK_ADMIN_USER STACK_ADMIN_PASSWORD
}

# stack_demo_login: POST /api/v1/session as the demo admin; keeps the cookie and the CSRF token.
stack_demo_login()
{
	_body=$(python3 -c 'import json, sys; print(json.dumps({"username": sys.argv[1], "password": sys.argv[2]}))' \
	    "$STACK_ADMIN_USER" "$STACK_ADMIN_PASSWORD")
	stack_api POST /api/v1/session "$_body"
	stack_json 'j["csrf_token"]' <"$STACK_DIR/demo-data/api.out" >"$STACK_DIR/demo-data/csrf"
	[ "$stack_code" = 200 ] && [ -s "$STACK_DIR/demo-data/csrf" ]
}

# stack_demo_config: Spoolman's URL in the settings, the simulated printer (added once, its ports brought up to
# date on later runs) and its trays, through the CLI and the API.
stack_demo_config()
{
	if [ -n "$STACK_SPOOLMAN_URL" ]; then
		stack_api PUT /api/v1/settings "{\"spoolman_url\": \"$STACK_SPOOLMAN_URL\"}"
		[ "$stack_code" = 200 ] || stack_err "warning: PUT /api/v1/settings answered $stack_code:" \
		    "$(cat "$STACK_DIR/demo-data/api.out")"
	fi
	stack_api GET /api/v1/printers
	if [ "$stack_code" != 200 ]; then
		stack_err "GET /api/v1/printers answered $stack_code: $(cat "$STACK_DIR/demo-data/api.out")"
		return 1
	fi
	STACK_PRINTER_ID=$(stack_json "([p['id'] for p in j if p['serial'] == '$STACK_SERIAL'] + [''])[0]" \
	    <"$STACK_DIR/demo-data/api.out")
	_bin=$(stack_bin spoolkeeper)
	if [ -z "$STACK_PRINTER_ID" ]; then
		if ! "$_bin" printer add --name "$STACK_PRINTER_NAME" --host 127.0.0.1 --serial "$STACK_SERIAL" \
		    --access-code "$STACK_CODE" --model P1S --mqtt-port "$BROKER_PORT" --ftps-port "$FTPS_PORT" \
		    >"$STACK_DIR/log/printer.add.log" 2>&1; then
			stack_err "spoolkeeper printer add failed: $(tail -n 1 "$STACK_DIR/log/printer.add.log")"
			return 1
		fi
		STACK_PRINTER_ID=$(sed -n 's/^printer add: added printer \([0-9]*\).*/\1/p' \
		    "$STACK_DIR/log/printer.add.log")
		[ -n "$STACK_PRINTER_ID" ] || { stack_err "printer add said: $(cat "$STACK_DIR/log/printer.add.log")"; return 1; }
		# The sample's filaments T0 and T3 go to trays 0 and 3; the stand-in's spools 1-4 fill the AMS.
		for _m in "0 1" "1 3" "2 4" "3 2"; do
			# shellcheck disable=SC2086
			if ! "$_bin" tray set "$STACK_PRINTER_ID" $_m >>"$STACK_DIR/log/printer.add.log" 2>&1; then
				stack_err "spoolkeeper tray set $STACK_PRINTER_ID $_m failed:" \
				    "$(tail -n 1 "$STACK_DIR/log/printer.add.log")"
				return 1
			fi
		done
	else
		# Another run: the broker and vsftpd have new ports.
		_body="{\"host\": \"127.0.0.1\", \"mqtt_port\": $BROKER_PORT, \"ftps_port\": $FTPS_PORT, \"enabled\": true}"
		stack_api PATCH "/api/v1/printers/$STACK_PRINTER_ID" "$_body"
		if [ "$stack_code" != 200 ]; then
			stack_err "PATCH /api/v1/printers/$STACK_PRINTER_ID answered $stack_code: $(cat "$STACK_DIR/demo-data/api.out")"
			return 1
		fi
	fi
	STACK_PRINTER_SERIAL=$STACK_SERIAL
	export STACK_PRINTER_ID STACK_PRINTER_NAME STACK_PRINTER_SERIAL
}

# stack_demo_play: once the worker is connected to the printer, the simulator plays the sample in a loop.
stack_demo_play()
{
	_n=0
	until grep -Eq "printer[ =]$STACK_PRINTER_ID( job=[0-9]+)?: connected" "$STACK_DIR/log/worker.log" 2>/dev/null
	do
		_n=$((_n + 1))
		if [ "$_n" -ge 300 ]; then
			stack_err "warning: the worker has not connected to the simulated printer within 30 s" \
			    "(see $STACK_DIR/log/worker.log); the printer starts anyway"
			break
		fi
		sleep 0.1
	done
	stack_launch printer "$STACK_DIR/log/printer.log" "$(stack_bin printer_sim)" --file "$STACK_SAMPLE" \
	    --name "$STACK_SAMPLE_NAME" --port "$BROKER_PORT" --cafile "$STACK_DIR/demo-data/certs/ca.crt" \
	    --serial "$STACK_SERIAL" --access-code "$STACK_CODE" --speed "${STACK_SPEED:-2}" \
	    --start-after 2 --prints 1000000 --gap 5 --quiet || {
		stack_err "the printer simulator did not start (see $STACK_DIR/log/printer.log)"
		return 1
	}
}

# --- start and stop -----------------------------------------------------------------------------------

# stack_ident PID: "PID START" (START: its start time in clock ticks), which a reused pid does not repeat.
stack_ident()
{
	_st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d ' ' -f 20)
	echo "$1 ${_st:-gone}"
}

# stack_running: true when pids/stack.pid names a process that still runs (the same one, not a reused pid).
stack_running()
{
	_id=$(cat "$STACK_DIR/pids/stack.pid" 2>/dev/null)
	[ -n "$_id" ] && [ "$(stack_ident "${_id%% *}")" = "$_id" ]
}

# stack_check_previous: refuses a stack that still runs from DIR; cleans up after one that crashed.
stack_check_previous()
{
	_f=$STACK_DIR/pids/stack.pid
	[ -f "$_f" ] || return 0
	_p=$(cut -d ' ' -f 1 "$_f" 2>/dev/null)
	if [ "$_p" = "$$" ]; then
		stack_cleanup
		return 0
	fi
	if stack_running; then
		stack_err "a stack already runs from $STACK_DIR (pid $_p): stop it first (make stop, or" \
		    "sh tests/harness/stack.sh stop $STACK_DIR)"
		return 1
	fi
	stack_say "the last run from $STACK_DIR did not stop cleanly (pid $_p is gone): cleaning up after it"
	stack_cleanup
}

# stack_start DIR [demo]: see the top of the file.  0, or 1 with a message after stopping what it started.
stack_start()
{
	STACK_DEMO=
	[ "${2:-}" != demo ] || STACK_DEMO=1
	STACK_PORT=${PORT:-8080}
	STACK_SETUP_TOKEN=
	STACK_SPOOLMAN_URL=
	export STACK_DEMO STACK_PORT STACK_SETUP_TOKEN
	stack_paths "${1:-$STACK_ROOT/var}" || return 1
	stack_check_previous || return 1
	stack_port_check "$STACK_PORT" || return 1
	for _b in spoolkeeper spoolkeeper-worker spoolkeeper-web; do
		[ -x "$(stack_bin "$_b")" ] || { stack_err "$(stack_bin "$_b") is not built (make)"; return 1; }
	done
	command -v python3 >/dev/null 2>&1 || { stack_err "python3 not found (make deps)"; return 1; }
	[ -z "$STACK_DEMO" ] || stack_demo_check || return 1
	stack_ident "$$" >"$STACK_DIR/pids/stack.pid"
	if ! stack_start_parts; then
		stack_stop
		return 1
	fi
	return 0
}

# stack_start_parts: the parts in order; 1 at the first that fails (stack_start then stops the others).
stack_start_parts()
{
	BIN=$(stack_bin spoolkeeper)
	STACK_OWN_ENV=
	if [ -n "${SPOOLKEEPER_DATABASE:-}" ]; then
		echo external >"$STACK_DIR/pids/database"
		stack_say "database: SPOOLKEEPER_DATABASE (an existing server; no embedded cluster)"
	else
		rm -f "$STACK_DIR/pids/database"
		STACK_OWN_ENV="SPOOLKEEPER_DATABASE STACK_DATABASE"
		stack_pg_start || return 1
	fi
	STACK_DATABASE=$SPOOLKEEPER_DATABASE
	export STACK_DATABASE
	[ -n "${SPOOLKEEPER_KEY_FILE:-}" ] || STACK_OWN_ENV="$STACK_OWN_ENV SPOOLKEEPER_KEY_FILE"
	SPOOLKEEPER_KEY_FILE=${SPOOLKEEPER_KEY_FILE:-$STACK_DIR/secret.key}
	export SPOOLKEEPER_KEY_FILE
	if [ ! -f "$SPOOLKEEPER_KEY_FILE" ]; then
		if ! _out=$("$BIN" key init --key-file "$SPOOLKEEPER_KEY_FILE" 2>&1); then
			stack_err "spoolkeeper key init failed: $_out"
			return 1
		fi
		stack_say "made the key file $SPOOLKEEPER_KEY_FILE (it encrypts the access codes: keep a copy)"
	fi
	if ! "$BIN" migrate >"$STACK_DIR/log/migrate.log" 2>&1; then
		stack_err "the database refused: $(grep -v '^$' "$STACK_DIR/log/migrate.log" | tail -n 1 |
		    sed 's/^spoolkeeper: //')"
		return 1
	fi
	stack_web_start || return 1
	if [ -n "$STACK_DEMO" ]; then
		stack_demo_servers || return 1
		stack_spoolman_start
		stack_demo_admin || return 1
		stack_demo_config || return 1
		_ca=$STACK_DIR/demo-data/ca.pem
	else
		_ca=$(stack_bambu_ca)
		[ -n "$_ca" ] || stack_err "warning: no Bambu CA bundle (SPOOLKEEPER_CA_FILE," \
		    "/etc/spoolkeeper/bambu-ca.pem): real printers' certificates cannot be checked"
	fi
	: >>"$STACK_DIR/log/worker.log"
	stack_launch worker "$STACK_DIR/log/worker.log" "$(stack_bin spoolkeeper-worker)" \
	    --cafile "${_ca:-/etc/spoolkeeper/bambu-ca.pem}" --cache-dir "$STACK_DIR/cache" ||
	    { stack_err "the worker did not start (see $STACK_DIR/log/worker.log)"; return 1; }
	if [ -n "$STACK_DEMO" ]; then
		stack_demo_play || return 1
		stack_api DELETE /api/v1/session
		rm -f "$STACK_DIR/demo-data/cookies" "$STACK_DIR/demo-data/csrf"
	fi
	# A setup token when no enabled admin exists yet (setup-token itself refuses otherwise).
	if [ "$(curl -sS --max-time 10 "$STACK_URL/api/v1/setup" | stack_json 'j["needed"]')" = True ]; then
		STACK_SETUP_TOKEN=$("$BIN" setup-token 2>>"$STACK_DIR/log/setup-token.log") || STACK_SETUP_TOKEN=
	fi
	export STACK_SETUP_TOKEN
	return 0
}

# stack_cleanup: stops every part recorded under DIR/pids (the order matters: producers first).  Idempotent.
stack_cleanup()
{
	stack_kill printer printer_sim
	stack_kill worker spoolkeeper-worker
	stack_web_stop
	stack_spoolman_save
	stack_kill spoolman spoolman_standin
	_d=$(cat "$STACK_DIR/pids/ftps.dir" 2>/dev/null)
	if [ -n "$_d" ]; then
		[ ! -f "$_d/vsftpd.log" ] || cp "$_d/vsftpd.log" "$STACK_DIR/log/vsftpd.log.last" 2>/dev/null
		# vsftpd runs in a process group of its own (ftps.sh); stopped here so that a zombie does not hold
		# harness_reap, then ftps_stop removes the directory.
		_p=$(cat "$_d/pid" 2>/dev/null)
		if stack_owned "$_p" vsftpd; then
			kill -s TERM -- "-$_p" 2>/dev/null
			stack_reap "$_p"
		fi
		rm -f "$_d/pid"
		ftps_stop "$_d"
		rm -f "$STACK_DIR/pids/ftps.dir" "$STACK_DIR/log/vsftpd.log"
	fi
	_d=$(cat "$STACK_DIR/pids/broker.dir" 2>/dev/null)
	if [ -n "$_d" ]; then
		[ ! -f "$_d/broker.log" ] || cp "$_d/broker.log" "$STACK_DIR/log/broker.log.last" 2>/dev/null
		_p=$(cat "$_d/pid" 2>/dev/null)
		if stack_owned "$_p" mosquitto; then
			kill -s TERM "$_p" 2>/dev/null
			stack_reap_pid "$_p"
			wait "$_p" 2>/dev/null
		fi
		rm -f "$_d/pid"
		broker_stop "$_d"
		rm -f "$STACK_DIR/pids/broker.dir" "$STACK_DIR/log/broker.log"
	fi
	[ "$(cat "$STACK_DIR/pids/database" 2>/dev/null)" = external ] || stack_pg_stop
	rm -f "$STACK_DIR/pids/database"
}

# stack_stop [DIR]: stops the stack (this shell's, or DIR's); waits until every process is gone.  Idempotent.
stack_stop()
{
	if [ $# -gt 0 ]; then
		STACK_DIR=$(cd "$1" 2>/dev/null && pwd) || return 0
	fi
	[ -n "$STACK_DIR" ] && [ -d "$STACK_DIR/pids" ] || return 0
	stack_cleanup
	rm -f "$STACK_DIR/pids/stack.pid"
	# What stack_start set for its own database and key is unset: a later stack_start starts afresh.
	for _v in ${STACK_OWN_ENV:-}; do
		unset "$_v"
	done
	STACK_OWN_ENV=
	return 0
}

# stack_stop_other DIR: `stack.sh stop`: asks the foreground stack of DIR to stop (SIGTERM) and waits for it;
# then stops whatever is left (a crashed run).  Says nothing when DIR holds no stack.
stack_stop_other()
{
	STACK_DIR=$(cd "$1" 2>/dev/null && pwd) || return 0
	[ -d "$STACK_DIR/pids" ] || return 0
	stack_stopped=1
	_p=$(cut -d ' ' -f 1 "$STACK_DIR/pids/stack.pid" 2>/dev/null)
	if stack_running; then
		stack_say "stopping the stack of $STACK_DIR (pid $_p)"
		kill -s TERM "$_p"
		_n=0
		while kill -0 "$_p" 2>/dev/null; do
			_n=$((_n + 1))
			[ "$_n" -lt 1200 ] || { stack_err "pid $_p did not stop within 120 s; cleaning up"; break; }
			sleep 0.1
		done
	elif [ -f "$STACK_DIR/pids/stack.pid" ]; then
		stack_say "cleaning up after the crashed stack of $STACK_DIR"
	else
		# Nothing runs; the pid files of processes that outlived a crash are still honoured below.
		[ -n "$(ls "$STACK_DIR/pids" 2>/dev/null)" ] || { stack_stopped=; return 0; }
	fi
	stack_stop
	stack_say "stopped the stack of $STACK_DIR"
}

# stack_banner: what runs, where, and how to get in.
stack_banner()
{
	echo
	echo "Spoolkeeper runs at $STACK_URL"
	if [ -n "$STACK_DEMO" ]; then
		echo "  log in as: $STACK_ADMIN_USER / $STACK_ADMIN_PASSWORD   (the demo admin)"
		echo "  simulated: the printer \"$STACK_PRINTER_NAME\" (tests/printer/printer_sim, playing"
		echo "             $(basename "$STACK_SAMPLE") in a loop, ${STACK_SPEED:-2} layers/s) and Spoolman"
		if [ -n "$STACK_SPOOLMAN_URL" ]; then
			echo "             (tests/spoolman/spoolman_standin.py at $STACK_SPOOLMAN_URL)"
		else
			echo "             (the stand-in did not start: Spoolman is unreachable; spends wait in the outbox)"
		fi
		echo "  real:      PostgreSQL, mosquitto (TLS + password) and vsftpd (implicit FTPS) as the printer's"
		echo "             servers, spoolkeeper-worker, spoolkeeper-web, nginx"
	elif [ -n "$STACK_SETUP_TOKEN" ]; then
		echo "  no admin yet: open the URL and create the first admin with this one-time setup token:"
		echo "  $STACK_SETUP_TOKEN"
	fi
	[ -n "$STACK_DEMO" ] || [ -n "$STACK_SPOOLMAN_URL" ] ||
	    echo "  Spoolman: its URL goes in the settings page (until Spoolman answers, spends wait in the outbox)"
	echo "  data: $STACK_DIR (kept between runs); logs: $STACK_DIR/log/"
	if [ "$STACK_DIR" != "$STACK_ROOT/var" ]; then
		echo "  the admin command on this stack, in another terminal:"
		echo "    export SPOOLKEEPER_DATABASE=\"$SPOOLKEEPER_DATABASE\" SPOOLKEEPER_KEY_FILE=$SPOOLKEEPER_KEY_FILE"
		echo "    $(stack_bin spoolkeeper) printer list"
	fi
	echo "  Ctrl-C stops everything (or: make stop, from another terminal)"
	echo
}

# stack_main_run DIR [demo]: the foreground run of `make run` / `make demo`.
stack_main_run()
{
	_dir=$1
	_mode=${2:-}
	trap 'stack_stop' EXIT
	trap 'echo; stack_say "stopping"; exit 130' INT
	trap 'stack_say "stopping"; exit 0' TERM HUP
	stack_start "$_dir" $_mode || { trap - EXIT; exit 1; }
	stack_banner
	_warned=
	while :; do
		# The parts are watched: one that dies is said once (its log says why).
		for _w in worker:spoolkeeper-worker printer:printer_sim; do
			_f=$(stack_pidfile "${_w%%:*}")
			[ -f "$_f" ] || continue
			if ! stack_owned "$(cat "$_f")" "${_w#*:}"; then
				case " $_warned " in *" ${_w%%:*} "*) continue ;; esac
				_warned="$_warned ${_w%%:*}"
				stack_err "warning: the ${_w%%:*} has exited; see $STACK_DIR/log/${_w%%:*}.log"
			fi
		done
		sleep 1
	done
}

case ${0##*/} in
stack.sh)
	# stack_abs DIR: DIR made absolute against the directory the command was started in.
	stack_abs()
	{
		case $1 in /*) echo "$1" ;; *) echo "$STACK_CWD/$1" ;; esac
	}
	case ${1:-} in
	run | demo)
		_mode=${DEMO:+demo}
		[ "$1" = run ] || _mode=demo
		_dir=$STACK_ROOT/var
		[ -z "$_mode" ] || _dir=$STACK_ROOT/var/demo
		[ -z "${2:-}" ] || _dir=$(stack_abs "$2")
		stack_main_run "$_dir" $_mode
		;;
	stop)
		shift
		[ $# -gt 0 ] || set -- "$STACK_ROOT/var" "$STACK_ROOT/var/demo"
		stack_stopped=
		_any=
		for _d in "$@"; do
			stack_stopped=
			stack_stop_other "$(stack_abs "$_d")" || exit 1
			[ -z "$stack_stopped" ] || _any=1
		done
		[ -n "$_any" ] || stack_say "no stack runs from $*"
		exit 0
		;;
	*)
		echo "usage: sh tests/harness/stack.sh run|demo|stop [DIR]   (DIR default ./var; PORT default 8080)" >&2
		exit 2
		;;
	esac
	;;
esac
