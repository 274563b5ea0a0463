#!/bin/sh
# tests/worker/test_e2e.sh: the whole worker against real servers: prints played by the simulator, charged to the stand-in.
#
#   BIN=build/bin/spoolkeeper sh tests/worker/test_e2e.sh      (inside a cluster of tests/harness/pg.sh)
#
# Real parts: PostgreSQL (tests/harness/pg.sh), mosquitto with TLS and the bblp password
# (tests/harness/broker.sh), vsftpd with implicit FTPS serving the 3MF (tests/harness/ftps.sh), the worker
# binary.  Simulated: the printer (tests/printer/printer_sim) and Spoolman (tests/spoolman/spoolman_standin.py).
# After every scenario: the ledger equals the engine's plan per filament (all layers for a finished print,
# whole layers plus the last progress mark for a failed one), and what the stand-in applied per spool equals
# the ledger's grams for that spool: nothing double, nothing missing.  Prints ok / not ok lines.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-build/bin/spoolkeeper}
# BINDIR, WORKER, SIM, SAMPLE, SERIAL, CODE, NAME: the defaults of tests/harness/worker_stack.sh.
. tests/harness/worker_stack.sh

ws_need_built "$BIN" "$WORKER" "$SIM"
ws_need_servers broker ftps

# `printer add` stores the access code encrypted under this key (exported: the workers read it too).
ws_tmp key
SMPID=
cleanup()
{
	ws_kill -9 $WPIDS $SMPID
	ws_stop_servers
	[ -z "${KEEP_LOG:-}" ] || cp "$T"/*.log /tmp/e2e-logs/ 2>/dev/null
	ws_drop_dbs $DBS
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TAP_TAIL=15
. tests/harness/tap.sh

# --- servers ------------------------------------------------------------------------------------------
ws_certs_broker "$SERIAL"
ws_ftps "$SERIAL"
ws_standin sm 200 || { fail "stand-in starts" "$(cat "$T/sm.err")"; exit 1; }

# --- helpers (q, wait_sql: tests/harness/worker_stack.sh) ---------------------------------------------

# spools N: maps trays 0..N-1 to spools 1..N (the stand-in's default set has 4).
spools()
{
	_i=0
	while [ "$_i" -lt "$1" ]; do
		"$BIN" tray set p1 "$_i" $((_i + 1)) --move >/dev/null || return 1
		_i=$((_i + 1))
	done
}

# new_db N: a migrated database with the printer, Spoolman's URL, spools 1 and 2 in trays 0 and 3.
new_db()
{
	ws_new_db sk_e2e_$$_$1 || return 1
	q "INSERT INTO settings (key, value) VALUES ('spoolman_url', '$SM')" || return 1
	ws_printer_add || return 1
	"$BIN" tray set p1 0 1 >/dev/null && "$BIN" tray set p1 3 2 >/dev/null || return 1
	curl -s -X POST "$SM/_control/reset" >/dev/null
}

# play LOG [ARGS]: plays the sample once, waits until the simulator exits.
play()
{
	_log=$1
	shift
	ws_play "$_log" 25 "$@"
}

# settle: every outbox row sent (done) within 60 s.
settle()
{
	wait_sql "SELECT count(*) FROM spoolman_outbox WHERE state <> 'done'" 0 60
}

# ledger_matches_plan STATE: the ledger per filament equals the plan (all of it when finished).
ledger_matches_plan()
{
	q "SELECT count(*) FROM (SELECT f.filament_index, f.mm,
	    (SELECT coalesce(sum(mm), 0) FROM usage_ledger l WHERE l.job_id = f.job_id
	        AND l.filament_index = f.filament_index) AS charged
	    FROM job_filaments f JOIN print_jobs j ON j.id = f.job_id WHERE j.state = '$1') s
	    WHERE abs(s.mm - s.charged) > 1e-6"
}

# spoolman_matches_ledger: what the stand-in applied per spool equals the ledger, to 1e-6 g.  Rows with grams
# (the file gave density and diameter) count as they are; length-only rows as Spoolman converts them, with the
# spool's own filament.
spoolman_matches_ledger()
{
	q "SELECT spool_id, coalesce(sum(grams), 0), coalesce(sum(mm) FILTER (WHERE grams IS NULL), 0)
	    FROM usage_ledger WHERE spool_id IS NOT NULL GROUP BY spool_id ORDER BY 1" | python3 -c '
import json, math, sys, urllib.request
base = sys.argv[1]
want = {}
for line in sys.stdin:
    if line.strip():
        sid, g, mm = line.strip().split("|")
        want[int(sid)] = (float(g), float(mm))
state = json.load(urllib.request.urlopen(base + "/_control/state"))
ok = True
for s in state["spools"]:
    g, mm = want.get(s["id"], (0.0, 0.0))
    if mm:
        f = json.load(urllib.request.urlopen("%s/api/v1/spool/%d" % (base, s["id"])))["filament"]
        g += f["density"] * (mm * math.pi * (f["diameter"] / 2) ** 2) / 1000
    if abs(s["used_weight"] - g) > 1e-6:
        print("spool %d: Spoolman %.9f g, ledger %.9f g" % (s["id"], s["used_weight"], g))
        ok = False
sys.exit(0 if ok else 1)' "$SM"
}

# verdict NAME STATE: the two ledger checks of a scenario.
verdict()
{
	if [ "$(ledger_matches_plan "$2")" = 0 ] && [ "$(q "SELECT count(*) FROM print_jobs WHERE state = '$2'")" = 1 ]
	then
		pass "$1: ledger equals the plan per filament"
	else
		fail "$1: ledger equals the plan per filament" "$(tail -n 8 "$T/${3:-w1}.log")
$(q "SELECT id, state, checkpoint_layer, reported_layer, layer_count, planned_at IS NOT NULL, error FROM print_jobs")"
	fi
	if settle && out=$(spoolman_matches_ledger 2>&1); then
		pass "$1: Spoolman got exactly the ledger's grams per spool"
	else
		fail "$1: Spoolman got exactly the ledger's grams per spool" "$out
$(q "SELECT id, spool_id, state, attempts, last_error FROM spoolman_outbox WHERE state <> 'done'")"
	fi
}

# want N: true when scenario N runs (all of them, or those listed in ONLY="1 3").
want()
{
	[ -z "${ONLY:-}" ] && return 0
	case " $ONLY " in *" $1 "*) return 0 ;; esac
	return 1
}

# --- scenarios ----------------------------------------------------------------------------------------

# 1. A whole two-colour print, mapped through the project_file echo, downloaded over FTPS.
if want 1; then
	new_db 1 || { fail "database 1"; exit 1; }
	# A second printer whose access code was encrypted under another key (a value that does not authenticate).
	q "INSERT INTO printers (name, host, serial, access_code_enc) VALUES ('badkey', '127.0.0.1', '01S00A000000009',
	    'v1:' || replace(encode(sha256('a'::bytea) || sha256('b'::bytea), 'base64'), E'\n', ''))" >/dev/null
	ws_worker w1
	play full.log
	if wait_sql "SELECT state FROM print_jobs" finished 30; then
		pass "full print: the job is finished"
	else
		fail "full print: the job is finished" "$(tail -n 20 "$T/w1.log")"
	fi
	verdict "full print" finished
	if [ "$(q "SELECT count(*) FROM job_filaments WHERE tray IS NULL")" = 0 ] &&
	    [ "$(q "SELECT string_agg(filament_index || ':' || tray, ',' ORDER BY 1) FROM job_filaments")" = "0:0,3:3" ]; then
		pass "full print: filaments 0 and 3 mapped to trays 0 and 3"
	else
		fail "full print: filaments mapped to trays" "$(q "SELECT * FROM job_filaments")"
	fi
	if [ "$(q "SELECT (access_code IS NULL AND access_code_enc LIKE 'v1:%')::text FROM printers WHERE name = 'p1'")" = true ] &&
	    ! grep -q "$CODE" "$T/w1.log"; then
		pass "encrypted access code: the worker decrypted it, and logged it nowhere"
	else
		fail "encrypted access code: the worker decrypted it, and logged it nowhere"
	fi
	if [ "$(grep -c "error printer=[0-9]*: printer badkey: cannot decrypt printers.access_code: wrong key file or tampered value; printer skipped" \
	    "$T/w1.log")" = 1 ] && [ "$(q "SELECT count(*) FROM worker_leases l JOIN printers p ON p.id = l.printer_id
	    WHERE p.name = 'badkey'")" = 0 ]; then
		pass "a code that does not decrypt: one log line, no lease, the other printer unharmed"
	else
		fail "a code that does not decrypt: one log line, no lease, the other printer unharmed" "$(grep badkey "$T/w1.log")"
	fi
	# The worker's counters reach worker_metrics with its heartbeat (GET /metrics adds them up).
	if wait_sql "SELECT (counters->>'mqtt_connects')::int >= 1 AND (counters->>'mqtt_refused')::int = 0
	    AND (counters->>'spoolman_requests')::int >= 1 AND (counters->>'spoolman_errors')::int = 0
	    FROM worker_metrics WHERE worker_id = 'w1'" t 15 &&
	    [ "$(q "SELECT count(*) FROM (SELECT DISTINCT layer FROM usage_ledger WHERE kind = 'layer') l")" = \
	    "$(q "SELECT layer_count + 1 FROM print_jobs")" ]; then
		pass "full print: worker counters published (MQTT connected, Spoolman answered), every layer in the ledger once"
	else
		fail "full print: worker counters published" "$(q "SELECT counters FROM worker_metrics")"
	fi
	ws_stop_workers
fi

# 2. FAILED at layer 40: whole layers 0..39, plus layer 40 up to the last progress mark reported.
if want 2; then
	new_db 2 || { fail "database 2"; exit 1; }
	ws_worker w1
	play fail.log --fail-at 40
	if wait_sql "SELECT state || ' ' || checkpoint_layer || ' ' || partial_charged FROM print_jobs" \
	    "failed 39 true" 30; then
		pass "failed print: layers 0-39 charged and the partial layer 40"
	else
		fail "failed print: layers 0-39 charged and the partial layer 40" "$(q "SELECT * FROM print_jobs")"
	fi
	if [ "$(q "SELECT count(*) FROM usage_ledger WHERE layer > 40 OR (layer = 40 AND kind = 'layer')")" = 0 ]; then
		pass "failed print: nothing charged past the failure"
	else
		fail "failed print: nothing charged past the failure"
	fi
	if settle && out=$(spoolman_matches_ledger 2>&1); then
		pass "failed print: Spoolman got exactly the ledger's grams"
	else
		fail "failed print: Spoolman got exactly the ledger's grams" "$out"
	fi
	ws_stop_workers
fi

# 3. kill -9 of the worker in the middle of the print, then a restart: resumes from the checkpoint.
if want 3; then
	new_db 3 || { fail "database 3"; exit 1; }
	ws_worker w1
	play kill.log --speed 10 &
	PLAY=$!
	wait_sql "SELECT (checkpoint_layer >= 30)::text FROM print_jobs" true 60
	kill -9 "$WPID"
	wait "$WPID" 2>/dev/null
	ws_worker w1
	wait "$PLAY"
	wait_sql "SELECT state FROM print_jobs" finished 30
	verdict "kill -9 and restart" finished
	ws_stop_workers
fi

# 4. Spoolman down for part of the print, then one use applied but its answer lost.
if want 4; then
	new_db 4 || { fail "database 4"; exit 1; }
	# The first use is applied but its answer lost; later Spoolman is down for 4 s.
	curl -s -X POST -d '{"mode": "apply_then_drop", "count": 1, "path_regex": "/use$"}' \
	    "$SM/_control/fault" >/dev/null
	ws_worker w1
	play down.log --speed 10 &
	PLAY=$!
	wait_sql "SELECT (checkpoint_layer >= 30)::text FROM print_jobs" true 60
	curl -s -X POST -d '{"seconds": 4}' "$SM/_control/down" >/dev/null
	wait "$PLAY"
	wait_sql "SELECT state FROM print_jobs" finished 30
	verdict "Spoolman down, then apply-then-drop" finished
	if [ "$(q "SELECT count(*) FROM spoolman_outbox WHERE resolution = 'readback'")" -ge 1 ]; then
		pass "apply-then-drop was settled by reading the spool back"
	else
		fail "apply-then-drop was settled by reading the spool back" \
		    "$(q "SELECT resolution, count(*) FROM spoolman_outbox GROUP BY 1")"
	fi
	ws_stop_workers
fi

# 5. Two workers; the one holding the printer is killed; the other takes over when the lease expires.
if want 5; then
	new_db 5 || { fail "database 5"; exit 1; }
	ws_worker w1 --lease-ttl 4
	W1=$WPID
	wait_sql "SELECT worker_id FROM worker_leases" w1 20
	ws_worker w2 --lease-ttl 4
	play twow.log --speed 8 --exit-after 20 &
	PLAY=$!
	wait_sql "SELECT (checkpoint_layer >= 20)::text FROM print_jobs" true 60
	kill -9 "$W1"
	if wait_sql "SELECT worker_id FROM worker_leases" w2 20; then
		pass "two workers: w2 took the printer over"
	else
		fail "two workers: w2 took the printer over" "$(tail -n 10 "$T/w2.log")"
	fi
	wait "$PLAY"
	wait_sql "SELECT state FROM print_jobs" finished 30
	verdict "two workers, one killed" finished w2
	ws_stop_workers
fi

# 6. A print started on the printer's screen: no project_file echo, no mapping; the tray comes from tray_now.
if want 6; then
	new_db 6 || { fail "database 6"; exit 1; }
	DECOY=$ROOT/../shared/samples/gcode/estampo_decoy_base_P1S_BS2.5_1color_T2.gcode.3mf
	ftps_put "$DECOY" "decoy.gcode.3mf"
	"$BIN" tray set p1 2 3 >/dev/null
	ws_worker w1
	play nomap.log --no-mapping --file "$DECOY" --name "decoy.gcode.3mf"
	wait_sql "SELECT state FROM print_jobs" finished 30
	verdict "screen-started print" finished
	if [ "$(q "SELECT (ams_mapping IS NULL)::text || ' ' || (SELECT string_agg(DISTINCT spool_id::text, ',')
	    FROM usage_ledger) FROM print_jobs")" = "true 3" ]; then
		pass "screen-started print: no mapping, every layer charged to the spool in tray_now"
	else
		fail "screen-started print: charged to the spool in tray_now" \
		    "$(q "SELECT ams_mapping, (SELECT string_agg(DISTINCT coalesce(spool_id::text, 'null'), ',') FROM usage_ledger) FROM print_jobs")"
	fi
	ws_stop_workers
fi

# 7. The broker (the printer's network) goes away mid-print and layers pass unreported: caught up exactly.
if want 7; then
	new_db 7 || { fail "database 7"; exit 1; }
	ws_worker w1
	play skip.log --speed 10 --disconnect-at 30 --for 4 --skip-layers 60-70 \
	    --down-cmd "sh tests/harness/broker.sh down $BROKER_DIR" \
	    --up-cmd "sh tests/harness/broker.sh up $BROKER_DIR"
	wait_sql "SELECT state FROM print_jobs" finished 40
	verdict "broker restart and skipped layers" finished
	if grep -q "disconnected" "$T/w1.log" && [ "$(grep -c -E "printer=1( job=[0-9]+)?: connected" "$T/w1.log")" -ge 2 ]; then
		pass "broker restart: the worker saw the disconnect and reconnected"
	else
		fail "broker restart: the worker saw the disconnect and reconnected" "$(tail -n 10 "$T/w1.log")"
	fi
	if wait_sql "SELECT (counters->>'mqtt_connects')::int >= 2 AND (counters->>'mqtt_reconnects')::int >= 1
	    AND (counters->>'mqtt_disconnects')::int >= 1 FROM worker_metrics WHERE worker_id = 'w1'" t 15; then
		pass "broker restart: the published counters show the disconnect and the reconnect"
	else
		fail "broker restart: the published counters show the disconnect and the reconnect" \
		    "$(q "SELECT counters FROM worker_metrics")"
	fi
	ws_stop_workers
fi

# 8. kill -9 of the worker at five points of one print, restarted each time.
if want 8; then
	new_db 8 || { fail "database 8"; exit 1; }
	ws_worker w1
	play kills.log --speed 5 &
	PLAY=$!
	for k in 5 25 45 65 85; do
		wait_sql "SELECT (checkpoint_layer >= $k)::text FROM print_jobs" true 60
		kill -9 "$WPID"
		wait "$WPID" 2>/dev/null
		ws_worker w1
	done
	wait "$PLAY"
	wait_sql "SELECT state FROM print_jobs" finished 30
	verdict "kill -9 at layers 5, 25, 45, 65 and 85" finished
	ws_stop_workers
fi

# 9. Every real sample, one print each, on one printer with spools 1-4 in trays 0-3.
if want 9; then
	new_db 9 || { fail "database 9"; exit 1; }
	spools 4 || { fail "trays 0-3"; exit 1; }
	ws_worker w1
	n=0
	for f in "$ROOT"/../shared/samples/gcode/*.gcode "$ROOT"/../shared/samples/gcode/*.gcode.3mf; do
		n=$((n + 1))
		b=$(basename "$f")
		ftps_put "$f" "$b"
		play "sample$n.log" --file "$f" --name "$b" --speed 100 --start-after 1 --exit-after 1
		if wait_sql "SELECT count(*) FROM print_jobs WHERE state = 'finished'" "$n" 40 &&
		    [ "$(ledger_matches_plan finished)" = 0 ]; then
			pass "sample $b: every layer charged as planned"
		else
			fail "sample $b: every layer charged as planned" \
			    "$(q "SELECT id, state, checkpoint_layer, layer_count, error FROM print_jobs ORDER BY id DESC LIMIT 1")"
		fi
	done
	if settle && out=$(spoolman_matches_ledger 2>&1); then
		pass "all samples: Spoolman got exactly the ledger per spool"
	else
		fail "all samples: Spoolman got exactly the ledger per spool" "$out"
	fi
	ws_stop_workers
fi

tap_done
