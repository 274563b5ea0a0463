#!/bin/sh
# tests/web/test_e2e.sh: the JSON API end to end through real nginx and spoolkeeper-web, against the Spoolman stand-in.
#
# Inside a cluster of tests/harness/pg.sh (PG_CONNINFO); BIN is the spoolkeeper CLI.  Makes a migrated database,
# a key file and a setup token, starts the Spoolman stand-in and the web stack (tests/harness/web.sh), and runs
# tests/web/e2e_api.py (TAP).  Drops the database at the end.

BIN=${BIN:-build/bin/spoolkeeper}
here=$(dirname "$0")
. "$here/../harness/check_db.sh"
. "$here/../harness/web.sh"
db_need_pg
web_available || { echo "not ok - web stack: $web_why"; exit 1; }

DB=sk_web_e2e_$$
work=$(mktemp -d /tmp/sk-web-e2e.XXXXXX)
sm_pid=
cleanup()
{
	web_stop
	[ -n "$sm_pid" ] && kill "$sm_pid" 2>/dev/null && wait "$sm_pid" 2>/dev/null
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

db_create_migrated "$DB"
SPOOLKEEPER_DATABASE="$PG_CONNINFO dbname=$DB"
SPOOLKEEPER_KEY_FILE=$work/secret.key
export SPOOLKEEPER_DATABASE SPOOLKEEPER_KEY_FILE
"$BIN" key init >/dev/null || { echo "not ok - spoolkeeper key init"; exit 1; }
SK_SETUP_TOKEN=$("$BIN" setup-token 2>/dev/null) || { echo "not ok - spoolkeeper setup-token"; exit 1; }
export SK_SETUP_TOKEN

# The Spoolman stand-in on a free port: wait for its LISTENING line, never a fixed time.
mkfifo "$work/sm.out"
python3 "$here/../spoolman/spoolman_standin.py" --port 0 >"$work/sm.out" 2>"$work/sm.log" &
sm_pid=$!
read -r word port <"$work/sm.out" || { echo "not ok - the Spoolman stand-in did not start"; exit 1; }
[ "$word" = LISTENING ] || { echo "not ok - the Spoolman stand-in said: $word $port"; exit 1; }
cat "$work/sm.out" >/dev/null &
SPOOLMAN_URL=http://127.0.0.1:$port
export SPOOLMAN_URL

WEB_PROCESSES=${WEB_PROCESSES:-2}
# The login limit of production (10/minute per address) would throttle this test's many logins from 127.0.0.1;
# tests/web/test_nginx.sh checks that limit itself.
WEB_LOGIN_RATE=${WEB_LOGIN_RATE:-600r/s}
export WEB_LOGIN_RATE
export WEB_PROCESSES
web_start "$work/web" || exit 1
# How e2e_api.py restarts the cluster (pg_as of tests/harness/pg.sh, with this cluster's values filled in now).
PG_RESTART="cd '$PG_DIR' && $( [ "$(id -u)" = 0 ] && echo 'runuser -u postgres --' ) '$PG_BIN/pg_ctl' \
    -D '$PG_DIR/data' -l '$PG_DIR/server.log' -w -t 60 -m fast -o '-p $PG_PORT' restart >/dev/null"
export PG_RESTART
PYTHONPATH=$here python3 "$here/e2e_api.py"
st=$?
[ $st -eq 0 ] || { echo "# web.log:"; tail -n 30 "$WEB_DIR/web.log" | sed 's/^/#   /'; }
exit $st
