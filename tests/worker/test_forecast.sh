#!/bin/sh
# tests/worker/test_forecast.sh: preflight, runout forecast and webhooks with the whole worker against real servers.
#
#   BIN=build/bin/spoolkeeper sh tests/worker/test_forecast.sh      (inside a cluster of tests/harness/pg.sh)
#
# Real parts: PostgreSQL, mosquitto (TLS, password), vsftpd (implicit FTPS), the worker, and, when it can run,
# spoolkeeper-web behind nginx (tests/harness/web.sh) for GET /api/v1/printers/{id}/status.  Simulated: the
# printer (tests/printer/printer_sim) and Spoolman (tests/spoolman/spoolman_standin.py).  The webhook receiver is a
# small python3 http.server in this script that records every body and checks its HMAC-SHA256 signature.
# The expected runout layer is computed here from `spoolkeeper analyze --json` of the same sample and the weight
# given to the spool, never written down.  Runs the Check unit tests of check_forecast first.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-build/bin/spoolkeeper}
# BINDIR, WORKER, SIM, SAMPLE, SERIAL, CODE, NAME: the defaults of tests/harness/worker_stack.sh.
. tests/harness/worker_stack.sh
CHECK=$BINDIR/../tests/worker/check_forecast
SECRET="hook-s3cret"

ws_need_built "$BIN" "$WORKER" "$SIM" "$CHECK"
ws_need_servers broker ftps

ws_tmp key
SMPID=
RPID=
WEB_UP=
# Scenario 1 runs the worker and the web app as login roles of the least-privilege groups (sql/0006, sql/0009).
RWEB=sk_fc_web_$$
RWORKER=sk_fc_worker_$$
cleanup()
{
	ws_kill -9 $WPIDS $SMPID $RPID
	[ -z "$WEB_UP" ] || web_stop >/dev/null 2>&1
	ws_stop_servers
	[ -z "${KEEP_LOG:-}" ] || { mkdir -p /tmp/forecast-logs; cp "$T"/*.log "$T"/*.jsonl /tmp/forecast-logs/ 2>/dev/null; }
	ws_drop_dbs force $DBS
	ws_drop_roles "$RWEB" "$RWORKER"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TAP_TAIL=20
. tests/harness/tap.sh

# --- unit tests of the arithmetic ----------------------------------------------------------------------
if out=$("$CHECK" 2>&1); then
	pass "check_forecast: runout arithmetic, clock estimate, HMAC, backoff"
else
	fail "check_forecast: runout arithmetic, clock estimate, HMAC, backoff" "$out"
fi

# --- servers ------------------------------------------------------------------------------------------
ws_certs_broker "$SERIAL"
ws_ftps "$SERIAL"
ws_standin sm 200 || { fail "stand-in starts" "$(cat "$T/sm.err")"; exit 1; }

# The webhook receiver: appends {"sig_ok", "event", "delivery", "body"} per POST to $T/hooks.jsonl and answers 200;
# a POST to /moved only gets a redirect to /hook (a worker that followed it would be recorded there).
cat >"$T/recv.py" <<'EOF'
import hashlib, hmac, json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, out, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode()

class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path.startswith("/moved"):
            self.send_response(307)
            self.send_header("Location", "/hook")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        rec = {"sig_ok": hmac.compare_digest(self.headers.get("X-Spoolkeeper-Signature", ""), want),
               "event": self.headers.get("X-Spoolkeeper-Event"),
               "delivery": self.headers.get("X-Spoolkeeper-Delivery"),
               "type": self.headers.get("Content-Type"), "body": json.loads(body)}
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass

ThreadingHTTPServer.allow_reuse_address = True
srv = ThreadingHTTPServer(("127.0.0.1", port), H)
print("LISTENING", srv.server_address[1], flush=True)
srv.serve_forever()
EOF
# recv_start PORT: starts the receiver (0: a free port); sets RPORT.
recv_start()
{
	: >"$T/recv.out"
	python3 "$T/recv.py" "$1" "$T/hooks.jsonl" "$SECRET" >"$T/recv.out" 2>>"$T/recv.log" &
	RPID=$!
	RPORT=$(wait_line "$T/recv.out" LISTENING)
}
recv_stop()
{
	kill "$RPID" 2>/dev/null
	wait "$RPID" 2>/dev/null
	RPID=
}
recv_start 0 || { fail "webhook receiver starts" "$(cat "$T/recv.log")"; exit 1; }
: >"$T/hooks.jsonl"

# --- helpers (q, wait_sql, wait_line: tests/harness/worker_stack.sh) ----------------------------------

# new_db N TRAY0 TRAY3: a migrated database with the printer, Spoolman, the webhook, and spools in trays 0 and 3
# ("-" leaves the tray empty); the stand-in reset to its 4 full spools.
new_db()
{
	ws_new_db sk_fc_$$_$1 || return 1
	q "INSERT INTO settings (key, value) VALUES ('spoolman_url', '$SM'),
	    ('webhook_url', 'http://127.0.0.1:$RPORT/hook'), ('webhook_secret', '$SECRET')" || return 1
	ws_printer_add || return 1
	[ "$2" = - ] || "$BIN" tray set p1 0 "$2" >/dev/null || return 1
	[ "$3" = - ] || "$BIN" tray set p1 3 "$3" >/dev/null || return 1
	curl -s -X POST "$SM/_control/reset" >/dev/null
}

# The workers' webhook retries come quickly here (only the worker reads this variable).
SPOOLKEEPER_WEBHOOK_BACKOFF_S=0.3
export SPOOLKEEPER_WEBHOOK_BACKOFF_S
# start_worker ID [CONNINFO]: a worker in the background (on CONNINFO, by default $SPOOLKEEPER_DATABASE).
start_worker()
{
	WS_WORKER_DB=${2:-}
	ws_worker "$1"
}

# sample_forecast FILE: while the simulator runs, appends the job's forecast (one JSON line) every 0.3 s.
sample_forecast()
{
	while kill -0 "$SIMPID" 2>/dev/null; do
		q "SELECT forecast FROM job_forecasts ORDER BY job_id DESC LIMIT 1" >>"$1" 2>/dev/null
		sleep 0.3
	done
	wait "$SIMPID" 2>/dev/null
}

# hooks EVENT: the number of deliveries of EVENT the receiver got.
hooks()
{
	grep -c "\"event\": \"$1\"" "$T/hooks.jsonl" 2>/dev/null
}

# --- the expected runout, from the engine ---------------------------------------------------------------
# Spool 1 (tray 0) gets the weight halfway between the cumulative need of two layers around half the print, so
# that it runs out at that later layer; grams per layer as the ledger computes them (density, diameter of the file).
"$BIN" analyze "$SAMPLE" --json --flow-cali 1 >"$T/plan.json" || { fail "analyze the sample"; exit 1; }
# expect INDEXES: "GRAMS LAYER TOTAL" for the slicer filaments INDEXES (comma-separated: one spool feeds them all).
expect()
{
	python3 - "$T/plan.json" "$1" <<'EOF'
import json, math, sys
d = json.load(open(sys.argv[1]))
need = [0.0] * (max(l["layer"] for l in d["layers"]) + 1)
for idx in sys.argv[2].split(","):
    f = next(x for x in d["filaments"] if x["index"] == int(idx))
    gpm = f["density"] * math.pi * (f["diameter"] / 2) ** 2 / 1000
    for l in d["layers"]:
        need[l["layer"]] += l["mm"].get(idx, 0.0) * gpm
total = sum(need)
cum = 0.0
for k, g in enumerate(need):
    if cum + g > total / 2 and g > 0:
        print("%.6f %d %.6f" % (cum + g / 2, k, total))
        break
    cum += g
EOF
}
set -- $(expect 0)
GIVE=$1
LSTAR=$2
NEED1=$3
if [ -n "$LSTAR" ] && [ "$LSTAR" -gt 5 ]; then
	pass "expected runout computed from analyze --json: spool 1 gets $GIVE g of $NEED1 g, out at layer $LSTAR"
else
	fail "expected runout computed from analyze --json" "$(head -c 300 "$T/plan.json")"
	exit 1
fi

# --- web stack (GET /api/v1/printers/{id}/status), when it can run here ----------------------------------
. tests/harness/web.sh
web_ok=
if [ -x "$BINDIR/spoolkeeper-web" ] && web_available >/dev/null 2>&1; then
	web_ok=1
fi

# api_status: the printer's status JSON through nginx and the web app (logged in as admin ada).
api_status()
{
	curl -s -b "$T/jar" "$WEB_URL/api/v1/printers/1/status"
}

# put_settings BODY: PUT /api/v1/settings as ada; prints the HTTP status, the answer in $T/settings.json.
put_settings()
{
	curl -s -o "$T/settings.json" -w '%{http_code}' -X PUT -b "$T/jar" -H 'Content-Type: application/json' \
	    -H "X-CSRF-Token: $CSRF" -d "$1" "$WEB_URL/api/v1/settings"
}

# web_settings: the webhook settings through the API (the secret stored encrypted, the worker decrypts it), and
# bad values refused.
web_settings()
{
	_bad=
	for _b in '{"webhook_url": "ftp://x/y"}' '{"webhook_url": "http:// x"}' '{"webhook_events": ["nope"]}' \
	    '{"webhook_events": ["print_failed", "print_failed"]}' '{"webhook_events": "print_failed"}'; do
		[ "$(put_settings "$_b")" = 400 ] || _bad="$_bad $_b"
	done
	[ -z "$_bad" ] && pass "settings: bad webhook values answer 400" ||
		fail "settings: bad webhook values answer 400" "$_bad $(cat "$T/settings.json")"
	_st=$(put_settings "{\"webhook_url\": \"http://127.0.0.1:$RPORT/hook\", \"webhook_secret\": \"$SECRET\",
	    \"webhook_events\": [\"spool_runout_forecast\", \"print_failed\", \"outbox_needs_review\"]}")
	if [ "$_st" = 200 ] && python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["webhook_secret_set"] is True and "webhook_secret" not in j and len(j["webhook_events"]) == 3, j
assert j["webhook_url"].endswith("/hook"), j' "$T/settings.json" 2>"$T/settings.err" &&
	    [ "$(q "SELECT value LIKE 'v1:%' FROM settings WHERE key = 'webhook_secret'")" = t ]; then
		pass "settings: webhook URL, secret (stored encrypted, never shown) and events through the API"
	else
		fail "settings: webhook through the API" "$_st $(cat "$T/settings.json" "$T/settings.err")"
	fi
}

# --- 1. a spool that will run out; the other has enough ---------------------------------------------------
new_db 1 1 2 || { fail "database 1"; exit 1; }
psql -X -q -d postgres -c "CREATE ROLE $RWEB LOGIN IN ROLE spoolkeeper_web" \
    -c "CREATE ROLE $RWORKER LOGIN IN ROLE spoolkeeper_worker" >/dev/null || { fail "login roles"; exit 1; }
AS_WEB="host=$PG_DIR port=$PGPORT user=$RWEB dbname=$DB"
AS_WORKER="host=$PG_DIR port=$PGPORT user=$RWORKER dbname=$DB"
curl -s -X PATCH -H 'Content-Type: application/json' -d "{\"remaining_weight\": $GIVE}" "$SM/api/v1/spool/1" \
    >"$T/patch.out"
if [ -n "$web_ok" ]; then
	printf '%s\n' "correct horse battery staple" | "$BIN" user add ada --admin --password-stdin >/dev/null 2>&1
	_owner=$SPOOLKEEPER_DATABASE
	SPOOLKEEPER_DATABASE=$AS_WEB
	web_start "$T/web" >"$T/web_start.log" 2>&1
	_st=$?
	SPOOLKEEPER_DATABASE=$_owner
	if [ "$_st" = 0 ]; then
		WEB_UP=1
		CSRF=$(curl -s -c "$T/jar" -H 'Content-Type: application/json' \
		    -d '{"username": "ada", "password": "correct horse battery staple"}' \
		    "$WEB_URL/api/v1/session" | python3 -c 'import json, sys; print(json.load(sys.stdin)["csrf_token"])')
		web_settings
	else
		web_ok=
		echo "# web stack did not start: $(tail -n 3 "$T/web_start.log")"
	fi
fi
start_worker w1 "$AS_WORKER"
ws_play -b p1.log 5 --prepare 8
: >"$T/fc1.jsonl"
(
	while kill -0 "$SIMPID" 2>/dev/null; do
		[ -z "$web_ok" ] || api_status >>"$T/api1.jsonl"
		echo >>"$T/api1.jsonl"
		sleep 1
	done
) &
APID=$!
sample_forecast "$T/fc1.jsonl"
wait "$APID" 2>/dev/null
JOB=$(q "SELECT max(id) FROM print_jobs")
wait_sql "SELECT state FROM print_jobs WHERE id = $JOB" finished 30

if out=$(python3 - "$T/fc1.jsonl" "$LSTAR" "$GIVE" 2>&1 <<'EOF'
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
lstar, give = int(sys.argv[2]), float(sys.argv[3])
if not rows:
    sys.exit("no forecast was stored while printing")
bad = []
for r in rows:
    s1 = [s for s in r["spools"] if s["spool_id"] == 1]
    s2 = [s for s in r["spools"] if s["spool_id"] == 2]
    if len(s1) != 1 or len(s2) != 1:
        bad.append("spools 1 and 2 once each: %s" % r); continue
    s1, s2 = s1[0], s2[0]
    if r["ok"] is not False or r["status"] != "runs_out":
        bad.append("ok false / runs_out: %s" % r)
    if s1["status"] != "runs_out" or s1["runs_out_at_layer"] != lstar or s1["tray"] != 0:
        bad.append("spool 1 runs out at layer %d in tray 0: %s" % (lstar, s1))
    if s1["runs_out_at"] is not None and not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
            s1["runs_out_at"]):
        bad.append("spool 1's runs_out_at is an ISO time: %s" % s1)
    if s1["remaining_source"] != "spoolman" or s1["shortfall_g"] is None or s1["shortfall_g"] <= 0:
        bad.append("spool 1 from Spoolman, with a shortfall: %s" % s1)
    if s2["status"] != "ok" or s2["runs_out_at_layer"] is not None or s2["need_g"] > s2["remaining_g"]:
        bad.append("spool 2 ok: %s" % s2)
# The printer's progress comes with its status (throttled): before the first one, there is no clock to go by.
if not [r for r in rows if r["layer"] < lstar and r["spools"][0]["runs_out_at"] is not None]:
    bad.append("no runs_out_at before layer %d" % lstar)
if bad:
    sys.exit("\n".join(bad[:5]))
first = rows[0]["spools"][0]
if rows[0]["layer"] == 0 and abs(first["remaining_g"] - give) > 1e-3:
    sys.exit("preflight before layer 0: remaining %s, given %s" % (first["remaining_g"], give))
print(len(rows), "samples")
EOF
); then
	pass "runout forecast: spool 1 runs out at layer $LSTAR (ISO time, shortfall), spool 2 ok, overall not ok ($out)"
else
	fail "runout forecast: spool 1 runs out at layer $LSTAR, spool 2 ok" "$out
$(tail -n 5 "$T/w1.log")"
fi

if out=$(python3 - "$T/fc1.jsonl" 2>&1 <<'EOF'
import json, sys
seen = {}
for l in open(sys.argv[1]):
    if l.strip():
        r = json.loads(l)
        s1 = [s for s in r["spools"] if s["spool_id"] == 1][0]
        seen[r["layer"]] = (s1["need_g"], s1["remaining_g"])
layers = sorted(seen)
if len(layers) < 3:
    sys.exit("the forecast moved through only %d layers: %s" % (len(layers), layers))
for a, b in zip(layers, layers[1:]):
    # need falls while some is needed, remaining while some is left (it stops at 0: the spool is out)
    if not (seen[b][0] < seen[a][0] or seen[a][0] == 0) or not (seen[b][1] < seen[a][1] or seen[a][1] == 0) \
            or seen[b][0] > seen[a][0] or seen[b][1] > seen[a][1]:
        sys.exit("need and remaining must fall from layer %d to %d: %s %s" % (a, b, seen[a], seen[b]))
if seen[layers[-1]][1] != 0:
    sys.exit("spool 1 must end empty: %s" % (seen[layers[-1]],))
print("%d layers, need %.2f g -> %.2f g" % (len(layers), seen[layers[0]][0], seen[layers[-1]][0]))
EOF
); then
	pass "the forecast follows the charged layers: $out"
else
	fail "the forecast follows the charged layers" "$out"
fi

if [ -n "$web_ok" ]; then
	if out=$(python3 - "$T/api1.jsonl" "$LSTAR" 2>&1 <<'EOF'
import json, sys
n = 0
for l in open(sys.argv[1]):
    if not l.strip():
        continue
    j = json.loads(l)
    f = j.get("forecast")
    if f and [s for s in f["spools"] if s["spool_id"] == 1 and s["runs_out_at_layer"] == int(sys.argv[2])]:
        n += 1
if n == 0:
    sys.exit("no status answer carried the forecast")
print(n)
EOF
	); then
		pass "GET /api/v1/printers/1/status carries the forecast ($out answers)"
	else
		fail "GET /api/v1/printers/1/status carries the forecast" "$out $(tail -n 2 "$T/api1.jsonl")"
	fi
	web_stop >/dev/null 2>&1
	WEB_UP=
else
	echo "# GET /api/v1/printers/{id}/status not checked: the web stack cannot run here"
fi

wait_sql "SELECT count(*) FROM webhook_events WHERE state <> 'delivered'" 0 20
if [ "$(hooks spool_runout_forecast)" = 1 ] && out=$(python3 - "$T/hooks.jsonl" "$JOB" 2>&1 <<'EOF'
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["event"] != "spool_runout_forecast":
        continue
    b = r["body"]
    ok = (r["sig_ok"] and r["type"] == "application/json" and b["event"] == r["event"]
          and str(b["id"]) == r["delivery"] and b["job"]["id"] == int(sys.argv[2])
          and b["printer"]["name"] == "p1" and b["spool"]["spool_id"] == 1 and b["spool"]["status"] == "runs_out")
    if not ok:
        sys.exit("bad delivery: %s" % r)
EOF
); then
	pass "webhook: spool_runout_forecast delivered once for the job and spool, signed"
else
	fail "webhook: spool_runout_forecast delivered once for the job and spool, signed" "$out
$(cat "$T/hooks.jsonl")
$(q "SELECT id, event, state, attempts, last_error FROM webhook_events")"
fi
ws_stop_workers

# --- 2. unknown weight, a refused spend and a failed print, with the receiver down meanwhile ----------------
# Tray 3 holds spool 99, which Spoolman does not know: its weight is unknown and its /use gets 404.
new_db 2 3 99 || { fail "database 2"; exit 1; }
: >"$T/hooks.jsonl"
recv_stop
start_worker w2
ws_play -b p2.log 10 --fail-at 60
: >"$T/fc2.jsonl"
sample_forecast "$T/fc2.jsonl"
wait_sql "SELECT state FROM print_jobs" failed 30
if out=$(python3 - "$T/fc2.jsonl" 2>&1 <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if not rows:
    sys.exit("no forecast")
for r in rows:
    s = {x["spool_id"]: x for x in r["spools"]}
    if r["ok"] is not None or r["status"] != "unknown":
        sys.exit("overall unknown: %s" % r)
    if s[3]["status"] != "ok" or s[99]["status"] != "unknown" or s[99]["remaining_g"] is not None \
            or s[99]["runs_out_at_layer"] is not None or "weight is unknown" not in s[99]["reason"]:
        sys.exit("spool 3 ok, spool 99 unknown: %s" % r)
print(len(rows))
EOF
); then
	pass "unknown weight: spool 99 (not in Spoolman, not cached) says unknown, no guess; overall ok null"
else
	fail "unknown weight says unknown" "$out"
fi

wait_sql "SELECT count(*) > 0 FROM spoolman_outbox WHERE state = 'needs_review'" t 30
if wait_sql "SELECT count(*) FROM webhook_events WHERE event = 'print_failed' AND attempts > 0 AND state = 'pending'" \
    1 20; then
	pass "receiver down: print_failed queued and retried, not lost"
else
	fail "receiver down: print_failed queued and retried" "$(q "SELECT id, event, state, attempts, last_error FROM webhook_events")"
fi
recv_start "$RPORT" || fail "webhook receiver restarts on its port" "$(cat "$T/recv.log")"
wait_sql "SELECT count(*) FROM webhook_events WHERE state <> 'delivered'" 0 30
sleep 2	# would a second copy arrive?  (the rows are delivered; nothing may come again)
if [ "$(hooks print_failed)" = 1 ] && [ "$(hooks outbox_needs_review)" -ge 1 ] && out=$(python3 - "$T/hooks.jsonl" 2>&1 <<'EOF'
import json, sys
ids = []
for l in open(sys.argv[1]):
    r = json.loads(l)
    ids.append(r["delivery"])
    b = r["body"]
    if not r["sig_ok"]:
        sys.exit("bad signature: %s" % r)
    if r["event"] == "print_failed" and (b["job"]["state"] != "failed" or b["printer"]["serial"] != "01S00A000000001"):
        sys.exit("print_failed body: %s" % b)
    if r["event"] == "outbox_needs_review" and (b["outbox"]["spool_id"] != 99 or not b["outbox"]["ids"]
            or "404" not in (b["outbox"]["last_error"] or "")):
        sys.exit("outbox_needs_review body: %s" % b)
if len(ids) != len(set(ids)):
    sys.exit("a delivery arrived twice: %s" % ids)
EOF
); then
	pass "receiver back: print_failed once and outbox_needs_review (spool 99, HTTP 404) arrive, each once, signed"
else
	fail "receiver back: events arrive once" "$out
$(cat "$T/hooks.jsonl")
$(q "SELECT id, event, state, attempts, last_error FROM webhook_events")"
fi
ws_stop_workers

# --- 3. enough filament everywhere; then a tray without a spool ---------------------------------------------
new_db 3 3 4 || { fail "database 3"; exit 1; }
: >"$T/hooks.jsonl"
start_worker w3
ws_play -b p3.log 20
: >"$T/fc3.jsonl"
sample_forecast "$T/fc3.jsonl"
if out=$(python3 - "$T/fc3.jsonl" 2>&1 <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if not rows:
    sys.exit("no forecast")
for r in rows:
    if r["ok"] is not True or r["status"] != "ok" or sorted(s["spool_id"] for s in r["spools"]) != [3, 4] \
            or any(s["status"] != "ok" or s["runs_out_at"] is not None for s in r["spools"]):
        sys.exit("all ok: %s" % r)
EOF
); then
	pass "enough filament: the forecast says ok"
else
	fail "enough filament: the forecast says ok" "$out"
fi
ws_stop_workers
[ "$(hooks spool_runout_forecast)" = 0 ] && pass "no runout event for a print that has enough" ||
	fail "no runout event for a print that has enough" "$(cat "$T/hooks.jsonl")"

new_db 4 3 - || { fail "database 4"; exit 1; }
SPOOLKEEPER_WEBHOOK_MAX_ATTEMPTS=3 start_worker w4
ws_play -b p4.log 20
: >"$T/fc4.jsonl"
sample_forecast "$T/fc4.jsonl"
if out=$(python3 - "$T/fc4.jsonl" 2>&1 <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if not rows:
    sys.exit("no forecast")
for r in rows:
    t3 = [s for s in r["spools"] if s["tray"] == 3]
    if r["ok"] is not None or len(t3) != 1 or t3[0]["spool_id"] is not None or t3[0]["status"] != "unknown" \
            or "no spool" not in t3[0]["reason"]:
        sys.exit("tray 3 unknown: %s" % r)
EOF
); then
	pass "unmapped tray: its filament says unknown (no spool assigned)"
else
	fail "unmapped tray says unknown" "$out"
fi

# A receiver that only redirects: never followed; the event is given up after the maximum of attempts, logged.
: >"$T/hooks.jsonl"
q "UPDATE settings SET value = 'http://127.0.0.1:$RPORT/moved' WHERE key = 'webhook_url'" >/dev/null
q "SELECT webhook_enqueue('print_failed', 'test:give-up', webhook_job_json((SELECT max(id) FROM print_jobs)))" \
    >/dev/null
if wait_sql "SELECT state || ' ' || attempts || ' ' || last_status FROM webhook_events
    WHERE dedupe_key = 'test:give-up'" "failed 3 307" 30 && [ ! -s "$T/hooks.jsonl" ] &&
    grep -q "webhook: event [0-9]* (print_failed) given up after 3 attempts: .*HTTP 307 (a redirect: not followed)" \
    "$T/w4.log"; then
	pass "webhook: a redirect is never followed; given up after the maximum of attempts, logged"
else
	fail "webhook: a redirect is never followed; given up after the maximum of attempts" "$(q "SELECT id, event, state, attempts, last_error
	    FROM webhook_events") $(grep webhook "$T/w4.log")"
fi
ws_stop_workers

# --- 5. Spoolman cannot tell a spool's weight: the cached copy is used ------------------------------------
new_db 5 3 4 || { fail "database 5"; exit 1; }
set -- $(expect 3)
GIVE4=$1
L4=$2
# Spoolman's spool 4 holds GIVE4 g, and so does the cached copy, which the outbox keeps current after each use;
# reading spool 4 from Spoolman fails (HTTP 500), so the preflight has only the cache.
curl -s -X PATCH -H 'Content-Type: application/json' -d "{\"remaining_weight\": $GIVE4}" "$SM/api/v1/spool/4" \
    >/dev/null
q "INSERT INTO spool_cache (spool_id, spool) VALUES (4, jsonb_build_object('id', 4, 'initial_weight', 1000,
    'used_weight', 1000 - $GIVE4, 'remaining_weight', $GIVE4))" >/dev/null
curl -s -X POST -d '{"mode": "500", "path_regex": "/spool/4$", "method": "GET"}' "$SM/_control/fault" >/dev/null
start_worker w5
ws_play -b p5.log 10 --prepare 8
: >"$T/fc5.jsonl"
sample_forecast "$T/fc5.jsonl"
if out=$(python3 - "$T/fc5.jsonl" "$L4" 2>&1 <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if not rows:
    sys.exit("no forecast")
for r in rows:
    s = {x["spool_id"]: x for x in r["spools"]}
    if s[4]["remaining_source"] != "cache" or s[4]["runs_out_at_layer"] != int(sys.argv[2]) \
            or s[3]["remaining_source"] != "spoolman" or s[3]["status"] != "ok" or r["ok"] is not False:
        sys.exit("spool 4 from the cache, out at layer %s; spool 3 from Spoolman, ok: %s" % (sys.argv[2], r))
EOF
); then
	pass "Spoolman fails GET /spool/4: its cached weight is used (source cache), out at layer $L4 as computed"
else
	fail "Spoolman fails: the cached weight is used" "$out"
fi
ws_stop_workers

# --- 6. two slicer filaments fed by one spool: their needs add up ------------------------------------------
new_db 6 1 - || { fail "database 6"; exit 1; }
set -- $(expect 0,3)
GIVE6=$1
L6=$2
curl -s -X PATCH -H 'Content-Type: application/json' -d "{\"remaining_weight\": $GIVE6}" "$SM/api/v1/spool/1" \
    >/dev/null
start_worker w6
ws_play -b p6.log 10 --prepare 8 --mapping 0,-1,-1,0
: >"$T/fc6.jsonl"
sample_forecast "$T/fc6.jsonl"
if out=$(python3 - "$T/fc6.jsonl" "$L6" 2>&1 <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if not rows:
    sys.exit("no forecast")
for r in rows:
    if len(r["spools"]) != 1 or r["spools"][0]["filaments"] != [0, 3] \
            or r["spools"][0]["runs_out_at_layer"] != int(sys.argv[2]):
        sys.exit("one entry, filaments 0 and 3, out at layer %s: %s" % (sys.argv[2], r))
EOF
); then
	pass "two filaments in one tray: one spool, their needs added, out at layer $L6 as computed"
else
	fail "two filaments in one tray: their needs add up" "$out"
fi
ws_stop_workers

tap_done
