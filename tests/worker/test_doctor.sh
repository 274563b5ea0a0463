#!/bin/sh
# tests/worker/test_doctor.sh: `spoolkeeper doctor` against real servers: each problem it must name, named plainly.
#
#   BIN=build/bin/spoolkeeper sh tests/worker/test_doctor.sh      (inside a cluster of tests/harness/pg.sh)
#
# Real parts: PostgreSQL, mosquitto with TLS and the bblp password (tests/harness/broker.sh), vsftpd with implicit
# FTPS (tests/harness/ftps.sh), certificates named after the serials (tests/harness/certs.sh); Spoolman is the
# stand-in (tests/spoolman/spoolman_standin.py).  Cases: no worker running (warn, exit 0); all good (exit 0, --json
# too); a wrong access code (MQTT
# and FTPS say the printer rejects it); a printer on a closed port (unreachable); a CA that did not sign the
# printer's certificate, and a serial the certificate does not name; the key file readable by others; Spoolman
# stopped; a pending migration (listed); the database unreachable.  Prints ok / not ok lines.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-build/bin/spoolkeeper}
S1=01S00A000000001	# the good printer
S2=01S00A000000002	# same servers, wrong access code
S3=01S00A000000003	# a closed port
S4=01S00A000000004	# not named in the servers' certificate
# CODE (the access code 12345678): the default of tests/harness/worker_stack.sh.

. tests/harness/worker_stack.sh
ws_need_built "$BIN"
ws_need_servers broker ftps
. tests/harness/tap.sh

ws_tmp
SMPID=
DB=sk_doctor_$$
cleanup()
{
	ws_kill $SMPID
	ws_stop_servers
	ws_drop_dbs "$DB"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# (q: tests/harness/worker_stack.sh)

# doctor NAME [ARGS...]: runs the doctor; stdout in $T/NAME.out, stderr in $T/NAME.err, exit status in st.
doctor()
{
	_n=$1
	shift
	SPOOLKEEPER_CA_FILE=$T/certs/ca.crt timeout 120 "$BIN" doctor --timeout 2 "$@" >"$T/$_n.out" 2>"$T/$_n.err"
	st=$?
}

# has NAME REGEX: true when a line of the output matches (grep -E).
has()
{
	grep -q -E "$2" "$T/$1.out"
}

# expect_line TEST NAME REGEX: one result line.
expect_line()
{
	if has "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "want a line matching: $3
$(cat "$T/$2.out" "$T/$2.err")"
	fi
}

# --- servers ------------------------------------------------------------------------------------------
ws_certs_broker "$S1" "$S2" "$S3"
ws_ftps "$S1" "$ROOT/tests/worker/test_doctor.sh" "hello.txt" "ftps serves a file"
certs_ca "$T/other" "Someone Else's CA" >"$T/other.log" 2>&1 || { fail "a second CA" "$(cat "$T/other.log")"; exit 1; }

ws_standin sm 200 || { fail "stand-in starts" "$(cat "$T/sm.err")"; exit 1; }
CLOSED=$(harness_free_port)

# --- the installation: database, key, one good printer ------------------------------------------------
key_init "$T" || exit 1
db_create_migrated "$DB"
export SPOOLKEEPER_DATABASE="$PG_CONNINFO dbname=$DB"
q "INSERT INTO settings (key, value) VALUES ('spoolman_url', '$SM')" >/dev/null
"$BIN" printer add --name good --host 127.0.0.1 --serial "$S1" --access-code "$CODE" --mqtt-port "$BROKER_PORT" \
    --ftps-port "$FTPS_PORT" >/dev/null || { fail "printer add good"; exit 1; }

doctor noworker
expect_line "no worker running: warn, with what to do" noworker '^warn +worker: no worker has written a heartbeat'
[ "$st" = 0 ] && pass "a warning alone: exit 0" || fail "a warning alone: exit 0" "exit $st $(cat "$T/noworker.out")"
# A worker's heartbeat (as spoolkeeper-worker writes it every few seconds).
q "INSERT INTO worker_heartbeats (worker_id, pid, seen_at) VALUES ('doctor-test-worker', 4242, now())" \
    >/dev/null
doctor good
if [ "$st" = 0 ] && ! has good '^(FAIL|warn)'; then
	pass "all good: exit 0, every line ok"
else
	fail "all good: exit 0, every line ok" "exit $st
$(cat "$T/good.out" "$T/good.err")"
fi
expect_line "all good: database reachable" good '^ok +database: reachable'
expect_line "all good: migrations all applied" good '^ok +migrations: all [0-9]+ applied'
expect_line "all good: key file mode 0600" good '^ok +key file: .*mode 0600'
expect_line "all good: the worker's heartbeat" good '^ok +worker: 1 running .*doctor-test-worker'
expect_line "all good: Spoolman reachable, its version shown" good '^ok +spoolman: reachable at .*: Spoolman [0-9]'
expect_line "all good: MQTT login accepted" good '^ok +printer good: mqtt login: the printer accepts'
expect_line "all good: TLS certificate of the serial, signed by the CA" good \
    "^ok +printer good: tls certificate: $S1, signed by the CA"
expect_line "all good: FTPS login and listing" good '^ok +printer good: ftps login: logged in as bblp and listed / \([1-9]'
expect_line "all good: a last line says so" good 'checks: all ok$'

doctor json --json
if [ "$st" = 0 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is True and d["failed"] == 0, d
assert all(c["status"] == "ok" for c in d["checks"]), d
assert {"database", "migrations", "key file", "spoolman", "mqtt port", "ftps port", "tls certificate",
        "mqtt login", "ftps login"} <= {c["check"] for c in d["checks"]}
assert all(c["printer"] == "good" for c in d["checks"] if c["check"].endswith("login"))
' "$T/json.out" 2>"$T/json.py"; then
	pass "--json: ok true, every check listed with its status"
else
	fail "--json: ok true, every check listed with its status" "exit $st $(cat "$T/json.py" "$T/json.out")"
fi

# --- one bad printer at a time (--printer) ----------------------------------------------------------
"$BIN" printer add --name wrongcode --host 127.0.0.1 --serial "$S2" --access-code 87654321 \
    --mqtt-port "$BROKER_PORT" --ftps-port "$FTPS_PORT" >/dev/null || fail "printer add wrongcode"
doctor wrong --printer wrongcode
[ "$st" = 1 ] && pass "wrong access code: exit 1" || fail "wrong access code: exit 1" "exit $st $(cat "$T/wrong.out")"
expect_line "wrong access code: MQTT says the printer rejects the access code" wrong \
    '^FAIL +printer wrongcode: mqtt login: the printer rejects the access code'
expect_line "wrong access code: FTPS says the printer rejects the access code" wrong \
    '^FAIL +printer wrongcode: ftps login: the printer rejects the access code'
expect_line "wrong access code: what to do" wrong '^ +-> read the access code on the printer'
has wrong 'printer good:' && fail "--printer wrongcode checks that printer only" "$(cat "$T/wrong.out")" ||
    pass "--printer wrongcode checks that printer only"

"$BIN" printer add --name closed --host 127.0.0.1 --serial "$S3" --access-code "$CODE" --mqtt-port "$CLOSED" \
    --ftps-port "$CLOSED" >/dev/null || fail "printer add closed"
doctor closed --printer closed
[ "$st" = 1 ] && pass "closed port: exit 1" || fail "closed port: exit 1" "exit $st $(cat "$T/closed.out")"
expect_line "closed port: MQTT unreachable" closed "^FAIL +printer closed: mqtt port: unreachable: 127.0.0.1:$CLOSED"
expect_line "closed port: FTPS unreachable" closed "^FAIL +printer closed: ftps port: unreachable"
expect_line "closed port: the login is not tried" closed '^warn +printer closed: mqtt login: not tried'

doctor ca --printer good --cafile "$T/other/ca.crt"
[ "$st" = 1 ] && pass "another CA: exit 1" || fail "another CA: exit 1" "exit $st $(cat "$T/ca.out")"
expect_line "another CA: certificate not signed by the Bambu CA" ca \
    '^FAIL +printer good: tls certificate: certificate not signed by the Bambu CA'

"$BIN" printer add --name stranger --host 127.0.0.1 --serial "$S4" --access-code "$CODE" \
    --mqtt-port "$BROKER_PORT" --ftps-port "$FTPS_PORT" >/dev/null || fail "printer add stranger"
doctor name --printer stranger
expect_line "a serial the certificate does not name: name mismatch" name \
    "^FAIL +printer stranger: tls certificate: name mismatch: the certificate is for $S1, not the serial $S4"
q "UPDATE printers SET enabled = false WHERE name IN ('wrongcode', 'closed', 'stranger')" >/dev/null

doctor byid --printer "$(q "SELECT id FROM printers WHERE name = 'good'")"
[ "$st" = 0 ] && has byid '^ok +printer good: mqtt login' && pass "--printer ID" ||
    fail "--printer ID" "exit $st $(cat "$T/byid.out")"
doctor nosuch --printer nosuch
[ "$st" = 1 ] && has nosuch '^FAIL +printers: no printer named or numbered "nosuch"' &&
    pass "--printer with an unknown name: FAIL, exit 1" || fail "--printer with an unknown name" "$(cat "$T/nosuch.out")"
"$BIN" doctor --no-such-option >/dev/null 2>&1
[ $? = 2 ] && pass "a usage error: exit 2" || fail "a usage error: exit 2"

# --- the installation going wrong -------------------------------------------------------------------
chmod 644 "$SPOOLKEEPER_KEY_FILE"
doctor keymode --printer good
expect_line "key file readable by others: FAIL with its mode" keymode '^FAIL +key file: .* has mode 0644'
chmod 600 "$SPOOLKEEPER_KEY_FILE"

mkdir "$T/sql" && cp sql/*.sql "$T/sql/" && printf '%s\n' 'SELECT 1;' >"$T/sql/9999_future_change.sql"
SPOOLKEEPER_SQL_DIR=$T/sql doctor pending --printer good
[ "$st" = 1 ] && pass "pending migration: exit 1" || fail "pending migration: exit 1" "exit $st"
expect_line "pending migration: listed by name" pending '^FAIL +migrations: 1 of [0-9]+ not applied .*: 9999_future_change.sql'
expect_line "pending migration: run spoolkeeper migrate" pending '^ +-> run `spoolkeeper migrate`'

kill "$SMPID" && wait "$SMPID" 2>/dev/null
SMPID=
doctor nosm --printer good
[ "$st" = 1 ] && pass "Spoolman stopped: exit 1" || fail "Spoolman stopped: exit 1" "exit $st"
expect_line "Spoolman stopped: Spoolman unreachable" nosm '^FAIL +spoolman: unreachable at http://127.0.0.1:[0-9]+'

SPOOLKEEPER_DATABASE="host=127.0.0.1 port=$CLOSED dbname=none connect_timeout=2" doctor nodb
[ "$st" = 1 ] && pass "database unreachable: exit 1" || fail "database unreachable: exit 1" "exit $st"
expect_line "database unreachable: the libpq message" nodb '^FAIL +database: unreachable: .*(refused|failed)'

tap_done
