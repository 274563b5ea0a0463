#!/bin/sh
# tests/harness/pg.sh: starts and stops a throwaway PostgreSQL 15 cluster for the database tests.
#
# As a library (POSIX sh):
#
#   . tests/harness/pg.sh
#   pg_available || { echo "skipped: $pg_why"; exit 0; }
#   pg_start || exit 1          # exports PGHOST PGPORT PGUSER PGDATABASE PG_CONNINFO PG_DIR
#   trap pg_stop EXIT
#
# As a command:
#
#   sh tests/harness/pg.sh                 start, print the conninfo, wait for Ctrl-C, stop
#   sh tests/harness/pg.sh CMD [ARG...]    start, run CMD with the variables above, stop; CMD's exit status
#
# The cluster lives in a new directory under PG_TMPDIR (default /tmp): initdb -A trust --nosync, fsync off,
# listening on a free port of 127.0.0.1 and on a unix socket in that directory; the superuser is `postgres`.
# initdb and pg_ctl refuse to run as root, so as root they run as the user postgres (runuser), which owns the
# directory.  PG_CONF_EXTRA, when set, is added to postgresql.conf (bench/fleet.sh's PGSS=1).  The binaries come from PG_BIN (default /usr/lib/postgresql/15/bin; Debian package postgresql-15,
# installed by `make deps`).  pg_stop stops the server and removes the directory; it is safe to call twice.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_TMPDIR=${PG_TMPDIR:-/tmp}
PG_DIR=
pg_why=

if [ -f tests/harness/server.sh ]; then
	. tests/harness/server.sh
else
	. "$(dirname "$0")/server.sh"
fi

# pg_available: true when the binaries (and, as root, the postgres user) are there; else sets pg_why.
pg_available()
{
	for b in initdb pg_ctl postgres pg_isready psql; do
		if [ ! -x "$PG_BIN/$b" ]; then
			pg_why="$PG_BIN/$b not found: install PostgreSQL 15 (apt-get install postgresql, or make deps), or set PG_BIN"
			return 1
		fi
	done
	if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
		pg_why="running as root but there is no user postgres to run the server as (apt-get install postgresql)"
		return 1
	fi
	return 0
}

# pg_as CMD...: runs CMD as the owner of the cluster (postgres when we are root), from inside PG_DIR.
pg_as()
{
	if [ "$(id -u)" = 0 ]; then
		(cd "$PG_DIR" && runuser -u postgres -- "$@")
	else
		(cd "$PG_DIR" && "$@")
	fi
}

# pg_start: creates and starts the cluster; exports the connection variables.  Returns 0, or 1 with a message.
pg_start()
{
	pg_available || { echo "pg.sh: $pg_why" >&2; return 1; }
	PG_DIR=$(mktemp -d "$PG_TMPDIR/spoolkeeper-pg.XXXXXX") || return 1
	chmod 700 "$PG_DIR"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$PG_DIR" || { pg_stop; return 1; }
	fi
	if ! pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --nosync -E UTF8 --no-locale \
	    >"$PG_DIR/initdb.log" 2>&1; then
		echo "pg.sh: initdb failed:" >&2
		tail -n 20 "$PG_DIR/initdb.log" >&2
		pg_stop
		return 1
	fi
	cat >>"$PG_DIR/data/postgresql.conf" <<EOF
# tests/harness/pg.sh: a throwaway test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 60
shared_buffers = 32MB
log_min_messages = warning
autovacuum_naptime = 10s		# as production is advised (docs/operations.md): the fleet bench measures it
${PG_CONF_EXTRA:-}
EOF
	tries=0
	while :; do
		tries=$((tries + 1))
		PG_PORT=$(harness_free_port) || { pg_stop; return 1; }
		if pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
		    -o "-p $PG_PORT" start >"$PG_DIR/pg_ctl.log" 2>&1; then
			break
		fi
		# Another process may have taken the port between the probe and the start: try another one.
		if [ "$tries" -ge 5 ]; then
			echo "pg.sh: the server did not start (5 tries); its log ends with:" >&2
			tail -n 20 "$PG_DIR/server.log" >&2 2>/dev/null || cat "$PG_DIR/pg_ctl.log" >&2
			pg_stop
			return 1
		fi
	done
	# pg_ctl -w has waited for the server; check it answers on the socket too (up to 30 s, polling).
	n=0
	until "$PG_BIN/pg_isready" -q -h "$PG_DIR" -p "$PG_PORT" -t 1; do
		n=$((n + 1))
		if [ "$n" -ge 300 ]; then
			echo "pg.sh: pg_isready got no answer from $PG_DIR:$PG_PORT" >&2
			pg_stop
			return 1
		fi
		sleep 0.1
	done
	PGHOST=$PG_DIR
	PGPORT=$PG_PORT
	PGUSER=postgres
	PGDATABASE=postgres
	PG_CONNINFO="host=$PG_DIR port=$PG_PORT user=postgres"
	export PGHOST PGPORT PGUSER PGDATABASE PG_CONNINFO PG_DIR PG_PORT PG_BIN
	return 0
}

# pg_stop: stops the server (if running) and removes its directory.  Idempotent.
pg_stop()
{
	[ -n "$PG_DIR" ] && [ -d "$PG_DIR" ] || return 0
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1
	fi
	rm -rf "$PG_DIR"
	PG_DIR=
}

# Run as a command (not sourced): start, then run the arguments or wait for an interrupt.
pg_main()
{
	pg_start || exit 1
	trap 'pg_stop' EXIT
	trap 'exit 130' INT TERM
	if [ $# -gt 0 ]; then
		"$@"
		exit $?
	fi
	echo "PG_CONNINFO='$PG_CONNINFO'"
	echo "example: SPOOLKEEPER_DATABASE='$PG_CONNINFO dbname=postgres' build/bin/spoolkeeper migrate"
	echo "Ctrl-C stops and removes the cluster."
	while :; do sleep 3600; done
}

case ${0##*/} in
pg.sh) pg_main "$@" ;;
esac
