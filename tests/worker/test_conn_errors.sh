#!/bin/sh
# tests/worker/test_conn_errors.sh: connection problems in plain words: a printer that rejects the access code or is
# unreachable, and Spoolman unreachable, in printer_status / spoolman_health, the API and the worker's log.
#
#   BIN=build/bin/spoolkeeper sh tests/worker/test_conn_errors.sh      (inside a cluster of tests/harness/pg.sh)
#
# Real parts: PostgreSQL, mosquitto with TLS and the bblp password, vsftpd with implicit FTPS, the worker, and the
# web app behind nginx (tests/harness/web.sh).  Simulated: the printer (tests/printer/printer_sim) and Spoolman
# (tests/spoolman/spoolman_standin.py, whose /_control/down closes its API port for a while).  Cases: a wrong access
# code (kind auth, logged once, shown by GET /status and GET /printers/{id}/status), fixed through
# PATCH /printers/{id} (cleared, connected); a closed port (kind unreachable naming host:port and the reason,
# although the printer never answered); a certificate for another serial and a CA that did not sign it (kind tls);
# Spoolman down while a print charges (spoolman.ok false with its error and a
# backlog, the app still answering), then back (ok true, the backlog drained to 0).  Prints ok / not ok lines.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-build/bin/spoolkeeper}
S2=01S00A000000002	# the printer on a closed port
S4=01S00A000000004	# a serial the broker's certificate does not name
# SERIAL, CODE (12345678), WORKER, SIM: the defaults of tests/harness/worker_stack.sh.
. tests/harness/worker_stack.sh

ws_need_built "$BIN" "$WORKER" "$SIM"
ws_need_servers broker ftps web
ws_tmp key
SMPID=
WEB_UP=
cleanup()
{
	[ -z "$WEB_UP" ] || web_stop
	ws_kill -9 $WPIDS $SMPID
	ws_stop_servers
	ws_drop_dbs force $DBS
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TAP_TAIL=15
. tests/harness/tap.sh

# --- servers, database, web app -----------------------------------------------------------------------
ws_certs_broker "$SERIAL" "$S2"
ws_ftps "$SERIAL"
ws_standin sm 200 || { fail "stand-in starts" "$(cat "$T/sm.err")"; exit 1; }
CLOSED=$(harness_free_port)
ws_new_db sk_connerr_$$ || { fail "database"; exit 1; }
q "INSERT INTO settings (key, value) VALUES ('spoolman_url', '$SM')" >/dev/null || { fail "spoolman_url"; exit 1; }
SK_USER=admin
SK_PW='correct horse battery staple'
export SK_USER SK_PW
printf '%s\n' "$SK_PW" | "$BIN" user add "$SK_USER" --admin --password-stdin >/dev/null 2>&1 ||
    { fail "admin user"; exit 1; }
"$BIN" printer add --name p1 --host 127.0.0.1 --serial "$SERIAL" --access-code 87654321 \
    --mqtt-port "$BROKER_PORT" --ftps-port "$FTPS_PORT" >/dev/null || { fail "printer add p1"; exit 1; }
"$BIN" printer add --name closed --host 127.0.0.1 --serial "$S2" --access-code "$CODE" --mqtt-port "$CLOSED" \
    --ftps-port "$CLOSED" >/dev/null || { fail "printer add closed"; exit 1; }
"$BIN" printer add --name stranger --host 127.0.0.1 --serial "$S4" --access-code "$CODE" \
    --mqtt-port "$BROKER_PORT" --ftps-port "$FTPS_PORT" >/dev/null || { fail "printer add stranger"; exit 1; }
"$BIN" tray set p1 0 1 >/dev/null && "$BIN" tray set p1 3 2 >/dev/null || { fail "trays"; exit 1; }
P1=$(q "SELECT id FROM printers WHERE name = 'p1'")
P2=$(q "SELECT id FROM printers WHERE name = 'closed'")
P4=$(q "SELECT id FROM printers WHERE name = 'stranger'")
WEB_LOGIN_RATE=600r/s
export WEB_LOGIN_RATE
web_start "$T/web" >"$T/web-start.log" 2>&1 || { fail "the web stack starts" "$(cat "$T/web-start.log")"; exit 1; }
WEB_UP=1

# api METHOD PATH [JSON] > FILE: status on line 1, body on line 2 (tests/worker/conn_errors_api.py).
api()
{
	python3 tests/worker/conn_errors_api.py "$@"
}

# jcheck FILE PYTHON: true when the expression PYTHON holds for d, the JSON body of FILE (api's output).
jcheck()
{
	python3 -c '
import json, sys
lines = open(sys.argv[1]).read().split("\n", 1)
d = json.loads(lines[1])
assert lines[0] == "200", lines[0]
assert eval(sys.argv[2]), d
' "$1" "$2" 2>"$1.err"
}

# dash_printer N: the dashboard's printer N, for jcheck expressions.
DP='next(p for p in d["printers"] if p["id"] == %s)'

# --- a wrong access code ------------------------------------------------------------------------------
ws_worker w1
if wait_sql "SELECT connection_error->>'kind' FROM printer_status WHERE printer_id = $P1" auth 30 &&
    [ "$(q "SELECT connection_error->>'message' FROM printer_status WHERE printer_id = $P1")" = \
    "the printer rejects the access code (MQTT user bblp)" ] &&
    [ "$(q "SELECT (connection_error->>'since')::timestamptz <= now() AND NOT connected FROM printer_status
	WHERE printer_id = $P1")" = t ]; then
	pass "wrong access code: connection_error kind auth, in plain words, with since"
else
	fail "wrong access code: connection_error kind auth" "$(q "SELECT * FROM printer_status")
$(tail -n 10 "$T/w1.log")"
fi
if grep -q "printer=$P1: cannot connect (auth): the printer rejects the access code (MQTT user bblp); retrying" \
    "$T/w1.log"; then
	pass "wrong access code: the worker logs it with the printer id"
else
	fail "wrong access code: the worker logs it with the printer id" "$(tail -n 10 "$T/w1.log")"
fi

# --- a closed port: never answered, still shown -------------------------------------------------------
if wait_sql "SELECT connection_error->>'kind' FROM printer_status WHERE printer_id = $P2" unreachable 30 &&
    q "SELECT connection_error->>'message' FROM printer_status WHERE printer_id = $P2" |
    grep -q "^cannot reach 127.0.0.1:$CLOSED: Connection refused$"; then
	pass "closed port: connection_error kind unreachable naming host:port and the reason"
else
	fail "closed port: connection_error kind unreachable" "$(q "SELECT printer_id, connection_error FROM printer_status")"
fi

# --- a certificate that does not name the serial -------------------------------------------------------
if wait_sql "SELECT connection_error->>'kind' FROM printer_status WHERE printer_id = $P4" tls 30 &&
    [ "$(q "SELECT connection_error->>'message' FROM printer_status WHERE printer_id = $P4")" = \
    "the certificate of 127.0.0.1:$BROKER_PORT does not name the printer's serial $S4" ]; then
	pass "a certificate for another serial: kind tls, naming the serial"
else
	fail "a certificate for another serial: kind tls" "$(q "SELECT printer_id, connection_error FROM printer_status")"
fi
q "UPDATE printers SET enabled = false WHERE id = $P4" >/dev/null

api GET /api/v1/status >"$T/dash1" 2>&1
if jcheck "$T/dash1" "(lambda p: p['connected'] is False and p['connection_error']['kind'] == 'auth' and
    'access code' in p['connection_error']['message'] and p['connection_error']['since'])($(printf "$DP" "$P1"))" &&
    jcheck "$T/dash1" "(lambda p: p['connection_error']['kind'] == 'unreachable' and
    '127.0.0.1:$CLOSED' in p['connection_error']['message'])($(printf "$DP" "$P2"))"; then
	pass "GET /status: each printer's connection_error"
else
	fail "GET /status: each printer's connection_error" "$(cat "$T/dash1" "$T/dash1.err")"
fi
api GET "/api/v1/printers/$P1/status" >"$T/one1" 2>&1
if jcheck "$T/one1" "d['connection_error']['kind'] == 'auth' and d['connected'] is False"; then
	pass "GET /printers/{id}/status: connection_error"
else
	fail "GET /printers/{id}/status: connection_error" "$(cat "$T/one1" "$T/one1.err")"
fi

# --- the access code fixed through the API ------------------------------------------------------------
api PATCH "/api/v1/printers/$P1" "{\"access_code\": \"$CODE\"}" >"$T/patch" 2>&1
if head -n 1 "$T/patch" | grep -q '^200$' &&
    wait_sql "SELECT (connection_error IS NULL AND connected)::text FROM printer_status WHERE printer_id = $P1" \
    true 30; then
	pass "access code fixed (PATCH): the error cleared, connected"
else
	fail "access code fixed (PATCH): the error cleared, connected" "$(cat "$T/patch")
$(q "SELECT * FROM printer_status WHERE printer_id = $P1")
$(tail -n 10 "$T/w1.log")"
fi
# The cache of the dashboard is 1 s at most.
if ws_until ok 10 sh -c "python3 tests/worker/conn_errors_api.py GET /api/v1/status >'$T/dash2' &&
    python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read().split(\"\n\", 1)[1])
p = next(p for p in d[\"printers\"] if p[\"id\"] == $P1)
print(\"ok\" if p[\"connected\"] and p[\"connection_error\"] is None else \"no\")' '$T/dash2'"; then
	pass "GET /status: connected, connection_error null"
else
	fail "GET /status: connected, connection_error null" "$(cat "$T/dash2")"
fi
n=$(grep -c "printer=$P1: cannot connect (auth)" "$T/w1.log")
n2=$(grep -c "printer=$P2: cannot connect (unreachable)" "$T/w1.log")
if [ "$n" = 1 ] && [ "$n2" = 1 ] && grep -q "printer=$P1: connected: the problem before is over" "$T/w1.log"; then
	pass "the log says each problem once, and when it is over"
else
	fail "the log says each problem once, and when it is over" "auth lines $n, unreachable lines $n2
$(grep "cannot connect\|problem before" "$T/w1.log")"
fi

# --- Spoolman down while a print charges --------------------------------------------------------------
ws_play -b play.log 5
if wait_sql "SELECT (count(*) > 0)::text FROM spoolman_outbox WHERE state = 'done'" true 60 &&
    wait_sql "SELECT ok FROM spoolman_health" t 30; then
	pass "a print charges: Spoolman answers (spoolman_health ok)"
else
	fail "a print charges: Spoolman answers" "$(q "SELECT * FROM spoolman_health")"
fi
curl -s -f -X POST -d '{"seconds": 15}' "$SM/_control/down" >/dev/null || fail "the stand-in goes down"
if wait_sql "SELECT ok FROM spoolman_health" f 20 &&
    wait_sql "SELECT (count(*) > 0)::text FROM spoolman_outbox WHERE state = 'pending'" true 20; then
	pass "Spoolman down: spoolman_health ok false, uses waiting"
else
	fail "Spoolman down: spoolman_health ok false" "$(q "SELECT * FROM spoolman_health")"
fi
api GET /api/v1/status >"$T/dash3" 2>&1
if jcheck "$T/dash3" "(d['spoolman']['ok'] is False and d['spoolman']['backlog'] > 0 and
    bool(d['spoolman']['since']) and 'connect' in d['spoolman']['error'].lower())"; then
	pass "GET /status while Spoolman is down: spoolman ok false, its error, since, backlog > 0"
else
	fail "GET /status while Spoolman is down" "$(cat "$T/dash3" "$T/dash3.err" | cut -c 1-600)"
fi
if curl -s -f "$WEB_URL/api/v1/health" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["spoolman_ok"] is False and d["spoolman_since"] and d["outbox_pending"] > 0, d' 2>"$T/health.err"; then
	pass "GET /health while Spoolman is down: spoolman_ok false"
else
	fail "GET /health while Spoolman is down" "$(cat "$T/health.err")"
fi
if wait_sql "SELECT ok FROM spoolman_health" t 60 &&
    wait_sql "SELECT count(*) FROM spoolman_outbox WHERE state <> 'done'" 0 90; then
	pass "Spoolman back: ok true, the backlog drained"
else
	fail "Spoolman back: ok true, the backlog drained" "$(q "SELECT * FROM spoolman_health")
$(q "SELECT state, count(*) FROM spoolman_outbox GROUP BY 1")"
fi
wait "$SIMPID" 2>/dev/null
wait_sql "SELECT count(*) FROM spoolman_outbox WHERE state <> 'done'" 0 60
if ws_until ok 10 sh -c "python3 tests/worker/conn_errors_api.py GET /api/v1/status >'$T/dash4' &&
    python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read().split(\"\n\", 1)[1])
s = d[\"spoolman\"]
print(\"ok\" if s[\"ok\"] is True and s[\"error\"] is None and s[\"backlog\"] == 0 and s[\"last_ok_at\"] else \"no\")
' '$T/dash4'"; then
	pass "GET /status after Spoolman is back: spoolman ok true, error null, backlog 0"
else
	fail "GET /status after Spoolman is back" "$(cut -c 1-600 "$T/dash4")"
fi
ws_stop_workers

# --- a CA that did not sign the printer's certificate (the worker's CA file is wrong) --------------------------
certs_ca "$T/other" "Someone Else's CA" >"$T/other.log" 2>&1 || { fail "a second CA" "$(cat "$T/other.log")"; exit 1; }
SPOOLKEEPER_CA_FILE=$T/other/ca.crt "$WORKER" --worker-id w2 --cache-dir "$T" >>"$T/w2.log" 2>&1 &
WPID=$!
WPIDS="$WPIDS $WPID"
if wait_sql "SELECT connection_error->>'kind' FROM printer_status WHERE printer_id = $P1" tls 30 &&
    q "SELECT connection_error->>'message' FROM printer_status WHERE printer_id = $P1" |
    grep -q "^TLS with 127.0.0.1:$BROKER_PORT failed: .*certificate verify failed"; then
	pass "another CA: kind tls with OpenSSL's reason"
else
	fail "another CA: kind tls with OpenSSL's reason" "$(q "SELECT printer_id, connection_error FROM printer_status")
$(tail -n 10 "$T/w2.log")"
fi
ws_stop_workers
tap_done
