#!/bin/sh
# bench/web_dashboard.sh: wrk through nginx against the dashboard status call with 20 printers, logged in: requests/s, p99, errors.
#
#   BUILD=build sh bench/web_dashboard.sh            (bench/run.sh runs it; as root, from the repository root)
#
# Issue 4's target: "wrk through nginx on 127.0.0.1 with 50 connections, logged in, against the dashboard status
# call with 20 printers: at least 5,000 requests/s on the 2-core machine and p99 under 20 ms, with 0 errors."
# Real parts: a throwaway PostgreSQL (tests/harness/pg.sh), spoolkeeper-web behind nginx (tests/harness/web.sh).
# The 20 printers are added with `spoolkeeper printer add`; each gets a live status row shaped as the worker
# writes it (worker/status_json.c: 4 AMS units of 4 trays, temperatures, a running job) with every tray mapped to
# a spool whose Spoolman copy is in spool_cache, and one running print each.
#
# Environment: BUILD (build), PRINTERS (20), CONNS (50), THREADS (2), SECONDS_RUN (30), WEB_PROCESSES (4),
# DASH (the dashboard path, default /api/v1/status).  Prints PASS or MISS beside each target; a MISS does not fail
# the run, a setup failure does (exit 1).  Without wrk, nginx or PostgreSQL it says "skipped (why)" and exits 0.

set -u
BUILD=${BUILD:-build}
BIN=$BUILD/bin/spoolkeeper
PRINTERS=${PRINTERS:-20}
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
SECONDS_RUN=${SECONDS_RUN:-30}
WEB_PROCESSES=${WEB_PROCESSES:-4}
DASH=${DASH:-/api/v1/status}
export WEB_PROCESSES

. tests/harness/pg.sh
. tests/harness/web.sh
command -v wrk >/dev/null 2>&1 || { echo "bench: web: skipped (no wrk: apt-get install wrk)"; exit 0; }
pg_available || { echo "bench: web: skipped ($pg_why)"; exit 0; }

die()
{
	echo "bench: web: $*" >&2
	exit 1
}

work=$(mktemp -d /tmp/sk-bench-web.XXXXXX) || die "mktemp"
cleanup()
{
	web_stop
	pg_stop
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
pg_start || die "PostgreSQL did not start"
psql -X -q -d postgres -c "CREATE DATABASE sk_bench_web" || die "CREATE DATABASE"
SPOOLKEEPER_DATABASE="$PG_CONNINFO dbname=sk_bench_web"
SPOOLKEEPER_KEY_FILE=$work/secret.key
export SPOOLKEEPER_DATABASE SPOOLKEEPER_KEY_FILE
web_available || { echo "bench: web: skipped ($web_why)"; exit 0; }
"$BIN" migrate >/dev/null || die "migrate"
"$BIN" key init >/dev/null 2>&1 || die "key init"
echo "bench password 1234" | "$BIN" user add bench --admin --password-stdin >/dev/null || die "user add"
i=1
while [ "$i" -le "$PRINTERS" ]; do
	echo "12345678" | "$BIN" printer add --name "Farm $i" --host "10.0.0.$i" --serial "BENCH$i" \
	    --access-code - --model X1C >/dev/null || die "printer add $i"
	i=$((i + 1))
done
psql -X -q -v ON_ERROR_STOP=1 -d "$SPOOLKEEPER_DATABASE" <<'SQL' || die "status rows"
INSERT INTO spool_cache (spool_id, spool)
SELECT s, jsonb_build_object('id', s, 'remaining_weight', 1000 - s, 'used_weight', s, 'initial_weight', 1000,
       'location', 'Shelf', 'filament', jsonb_build_object('id', s % 7 + 1, 'name', 'PLA Basic ' || s,
       'material', 'PLA', 'color_hex', '161616', 'vendor', jsonb_build_object('id', 1, 'name', 'Bambu Lab')))
  FROM generate_series(1, 400) s;
INSERT INTO tray_assignments (printer_id, tray, spool_id)
SELECT p.id, t, (p.id - 1) * 16 + t + 1 FROM printers p, generate_series(0, 15) t;
INSERT INTO print_jobs (printer_id, job_key, subtask_name, state, layer_count, planned_at, checkpoint_layer,
       reported_layer)
SELECT id, 'local:bench@' || id, 'Benchy ' || id, 'running', 300, now(), 120, 121 FROM printers;
INSERT INTO printer_status (printer_id, connected, worker_id, last_message_at, status)
SELECT p.id, true, 'bench', now(), jsonb_build_object('state', 'RUNNING', 'layer', 121, 'total_layers', 300,
       'percent', 40, 'remaining_min', 83, 'nozzle_temp', 219.8, 'nozzle_target', 220, 'bed_temp', 55.1,
       'bed_target', 55, 'print_error', 0, 'subtask_name', 'Benchy ' || p.id, 'tray_now', 1,
       'job_id', (SELECT id FROM print_jobs j WHERE j.printer_id = p.id),
       'trays', (SELECT jsonb_agg(jsonb_build_object('tray', t, 'unit', t / 4, 'slot', t % 4, 'loaded', true,
           'type', 'PLA', 'color', 'FF6A13FF', 'remain', 80, 'info_idx', 'GFA00',
           'tag_uid', '0000000000000000', 'tray_uuid', '00000000000000000000000000000000') ORDER BY t)
           FROM generate_series(0, 15) t))
  FROM printers p;
ANALYZE;
SQL

web_start "$work/web" || die "web stack did not start"
hdr=$(curl -sS -D - -o "$work/login.json" -H 'Content-Type: application/json' \
    -d '{"username":"bench","password":"bench password 1234"}' "$WEB_URL/api/v1/session") || die "login"
cookie=$(printf '%s\n' "$hdr" | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\);.*/\1/p' | head -n 1)
[ -n "$cookie" ] || die "no session cookie from the login"
code=$(curl -sS -o "$work/dash.json" -w '%{http_code}' -H "Cookie: $cookie" "$WEB_URL$DASH") || die "GET $DASH"
[ "$code" = 200 ] || die "GET $DASH answered $code: $(head -c 300 "$work/dash.json")"
bytes=$(wc -c <"$work/dash.json")
echo "bench: web: $PRINTERS printers, $DASH answers $bytes bytes; wrk -t$THREADS -c$CONNS -d${SECONDS_RUN}s," \
    "$WEB_PROCESSES FastCGI processes, 2 nginx workers"
wrk -t"$THREADS" -c"$CONNS" -d"${SECONDS_RUN}s" --latency -H "Cookie: $cookie" "$WEB_URL$DASH" \
    >"$work/wrk.out" 2>&1 || die "wrk failed: $(cat "$work/wrk.out")"
sed 's/^/  /' "$work/wrk.out"
awk '
function ms(v) {
	if (v ~ /us$/) return v / 1000
	if (v ~ /ms$/) return v + 0
	if (v ~ /s$/) return v * 1000
	return v
}
/Requests\/sec/ { rps = $2 }
/^ +99%/ { p99 = ms($2) }
/Non-2xx or 3xx responses/ { errs += $NF }
/Socket errors/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) errs += $i + 0 }
END {
	printf "  %-34s %12s  %s\n", "requests/s >= 5000", sprintf("%.0f", rps), (rps >= 5000 ? "PASS" : "MISS")
	printf "  %-34s %12s  %s\n", "p99 < 20 ms", sprintf("%.2f ms", p99), (p99 < 20 ? "PASS" : "MISS")
	printf "  %-34s %12s  %s\n", "errors = 0", errs + 0, (errs == 0 ? "PASS" : "MISS")
}' "$work/wrk.out"
