#!/bin/sh
# bench/fleet.sh: one worker, 100 simulated printers at one layer a second: worker CPU and RSS, and no layer lost.
#
#   BUILD=build sh bench/fleet.sh          (bench/run.sh runs it last; as root, from the repository root)
#
# Issue 3's target: "One worker with 100 simulated printers, each changing layer once a second: CPU under 50%
# of one core, RSS under 64 MB, no layer lost".  Everything is real but the printers and Spoolman, on loopback:
#
#   - a throwaway PostgreSQL (tests/harness/pg.sh), one migrated database;
#   - ONE mosquitto (tests/harness/broker.sh) shared by the COUNT printers, its certificate naming every
#     serial (BENCH001..BENCHnnn); ONE vsftpd with implicit FTPS (tests/harness/ftps.sh) serving the sample,
#     with the same certificate (certs_make gives one CA and one certificate naming every serial, used by both
#     through BROKER_CERTS and FTPS_CERTS: ftps_start itself only names one serial);
#   - the Spoolman stand-in with COUNT x (filaments of the sample) spools, one per tray (a spool sits in one
#     tray at a time), trays mapped with `spoolkeeper tray set`;
#   - ONE spoolkeeper-worker, and ONE build/tests/printer_sim --count COUNT --speed 1 playing the sample.  The
#     printers start one after another over a second (STAGGER=1, the default: a farm's prints do not change
#     layer in the same millisecond), or all at once (STAGGER=0: a burst of COUNT layer changes each second).
#
# Measured over WINDOW seconds (default 90) that begin once every job is running and planned, and end before
# the first printer can finish: the worker's CPU (utime + stime of /proc/PID/stat, whole process, all threads)
# as % of one core, average and the highest 5-second slice; its peak RSS (VmHWM, the whole run: planning
# included) and RSS at the end of the window; layer changes, ledger rows and Spoolman uses per second in the
# window; the CPU of mosquitto, the simulator, the stand-in and PostgreSQL beside it; the worker's CPU per
# thread (/proc/PID/task) and that of its PostgreSQL backends.  Then the prints run to their end (FINISH), the
# outbox settles, and "no layer lost" is checked: every job finished, checkpoint_layer = layer_count (for a job
# still running: reported_layer - 1), its ledger rows = its plan rows up to the checkpoint (same count, same
# mm in all and per filament), each discrepancy printed; the outbox rows by state; the stand-in's used weight
# per spool = the ledger's grams for that spool.  Latency layer committed -> spend confirmed
# (spoolman_outbox.done_at - usage_ledger.created_at) p50/p99 over the window's rows.
#
# Environment: BUILD (build), SAMPLE (a .gcode.3mf; default the 213-layer two-colour 4-cubes sample, two
# filaments on most layers), COUNT (100), WINDOW (90), STAGGER (1), PERF=1 (perf record -g the worker for 10 s
# inside the window and print where its time goes), PGSS=1 (pg_stat_statements in the cluster: the statements
# that took most of PostgreSQL's time in the window), KEEP=DIR (copy the logs, per-row latencies and perf.data
# there).  Bounded: every wait has a deadline; the whole run takes about 4 minutes with the defaults (about 2 with
# SAMPLE=../shared/samples/gcode/estampo_reference_P1S_BS2.5_2color_T0T3.gcode.3mf, 100 layers, whose window
# is shortened to end before the prints do); a trap stops and removes everything it started.  Figures beside
# the targets print PASS or MISS; a MISS does not fail the run (exit 0); a setup failure does (exit 1).  Without
# root, PostgreSQL, mosquitto or vsftpd it prints "skipped (why)" and exits 0.

set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
BIN=$BUILD/bin/spoolkeeper
WORKER=$BUILD/bin/spoolkeeper-worker
SIM=$BUILD/tests/printer_sim
SAMPLE=${SAMPLE:-../shared/samples/gcode/mfm_4-cubes_P1S_BS1.10_2color_noTower.gcode.3mf}
COUNT=${COUNT:-100}
WINDOW=${WINDOW:-90}
STAGGER=${STAGGER:-1}
PERF=${PERF:-0}
PGSS=${PGSS:-0}
[ "$PGSS" = 1 ] && export PG_CONF_EXTRA="shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track_planning = on"
PREFIX=BENCH
CODE=12345678
NAME="Fleet bench; $(basename "$SAMPLE")"
HZ=$(getconf CLK_TCK)

say()
{
	echo "bench: fleet: $*"
}
die()
{
	echo "bench: fleet: $*" >&2
	exit 1
}

for f in "$BIN" "$WORKER" "$SIM"; do
	[ -x "$f" ] || die "$f not built (run make)"
done
[ -f "$SAMPLE" ] || die "$SAMPLE missing"
case $COUNT in '' | *[!0-9]*) die "COUNT must be a number" ;; esac
[ "$COUNT" -ge 1 ] && [ "$COUNT" -le 999 ] || die "COUNT must be 1..999"

. tests/harness/pg.sh
. tests/harness/certs.sh
. tests/harness/broker.sh
. tests/harness/ftps.sh
. tests/harness/key.sh
if ! pg_available; then
	say "skipped ($pg_why)"
	exit 0
fi
if ! broker_available || ! ftps_available; then
	say "skipped (${broker_why:-}${ftps_why:-})"
	exit 0
fi

T=
WPID=
SMPID=
SIMPID=
PERFPID=
cleanup()
{
	for p in $PERFPID $SIMPID $WPID $SMPID; do
		kill "$p" 2>/dev/null
	done
	# The worker stops cleanly on SIGTERM (leases released); give it 5 s, then SIGKILL.
	for p in $PERFPID $SIMPID $WPID $SMPID; do
		n=0
		while kill -0 "$p" 2>/dev/null && [ "$n" -lt 50 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	exec 3>&-
	broker_stop
	ftps_stop
	pg_stop
	if [ -n "$T" ]; then
		if [ -n "${KEEP:-}" ]; then
			mkdir -p "$KEEP" && cp "$T"/*.log "$T"/*.out "$T"/*.txt "$KEEP"/ 2>/dev/null
			[ ! -f "$T/perf.data" ] || cp "$T/perf.data" "$KEEP"/
		fi
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

T=$(mktemp -d /tmp/sk-bench-fleet.XXXXXX) || die "mktemp failed"
# The printers' access codes are stored encrypted under this key; the worker reads it too.
key_init "$T" || die "key init failed"
START=$(date +%s)
# before SECONDS: true while less than SECONDS have passed since the start of the run.
before()
{
	[ $(($(date +%s) - START)) -lt "$1" ]
}

# --- servers ------------------------------------------------------------------------------------------
SERIALS=
i=1
while [ "$i" -le "$COUNT" ]; do
	SERIALS="$SERIALS $(printf '%s%03d' "$PREFIX" "$i")"
	i=$((i + 1))
done
# shellcheck disable=SC2086
{
	pg_start >"$T/pg.log" 2>&1 || die "PostgreSQL: $(cat "$T/pg.log")"
	certs_make "$T/certs" $SERIALS >"$T/certs.log" 2>&1 || die "certificates: $(cat "$T/certs.log")"
	BROKER_CERTS=$T/certs BROKER_ACCESS_CODE=$CODE broker_start $SERIALS >"$T/broker.log" 2>&1 ||
	    die "broker: $(tail -n 5 "$T/broker.log")"
}
FTPS_CERTS=$T/certs FTPS_ACCESS_CODE=$CODE ftps_start "${PREFIX}001" >"$T/ftps.log" 2>&1 ||
    die "ftps: $(tail -n 5 "$T/ftps.log")"
ftps_put "$SAMPLE" "$NAME" || die "ftps_put failed"
# Reference: one download of the sample by curl from this FTPS server (what a plan needs before the engine).
ENC=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$NAME")
t_curl=$(curl -s -o /dev/null -w '%{time_total}' --ssl-reqd --cacert "$T/certs/ca.crt" --tls-max 1.2 \
    --resolve "${PREFIX}001:$FTPS_PORT:127.0.0.1" --user "bblp:$CODE" "ftps://${PREFIX}001:$FTPS_PORT/$ENC") ||
    t_curl=-

python3 tests/spoolman/spoolman_standin.py --port 0 --log-max 1000 >"$T/sm.out" 2>"$T/sm.log" &
SMPID=$!
n=0
until grep -q '^LISTENING ' "$T/sm.out" 2>/dev/null; do
	kill -0 "$SMPID" 2>/dev/null && [ "$n" -lt 400 ] || die "Spoolman stand-in: $(tail -n 5 "$T/sm.log")"
	n=$((n + 1))
	sleep 0.05
done
SM=http://127.0.0.1:$(sed -n 's/^LISTENING //p' "$T/sm.out")

# The slicer filaments the sample extrudes (the simulator maps filament n to tray n).
"$BIN" analyze "$SAMPLE" --json >"$T/plan.json" || die "analyze $SAMPLE failed"
FILS=$(python3 -c '
import json, sys
print(" ".join(str(f["index"]) for f in json.load(open(sys.argv[1]))["filaments"]))' "$T/plan.json")
LAYERS=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["layer_count"])' "$T/plan.json")
NFIL=$(echo "$FILS" | wc -w)

# One new stand-in spool per printer and filament (PLA, 1.24 g/cm3, as spool 1).
python3 - "$SM" $((COUNT * NFIL)) >"$T/spools.out" 2>"$T/spools.log" <<'EOF' || die "creating spools: $(tail -n 3 "$T/spools.log")"
import json, sys, urllib.request
base, n = sys.argv[1], int(sys.argv[2])
for _ in range(n):
    req = urllib.request.Request(base + "/api/v1/spool", data=b'{"filament_id": 1}', method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        print(json.load(r)["id"])
EOF
[ "$(wc -l <"$T/spools.out")" -eq $((COUNT * NFIL)) ] || die "the stand-in made too few spools"

DB=sk_bench_fleet_$$
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" >"$T/psql.log" 2>&1 ||
    die "CREATE DATABASE: $(cat "$T/psql.log")"
export SPOOLKEEPER_DATABASE="$PG_CONNINFO dbname=$DB"
q()
{
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" -c "$1"
}
"$BIN" migrate >"$T/migrate.log" 2>&1 || die "migrate: $(cat "$T/migrate.log")"
q "INSERT INTO settings (key, value) VALUES ('spoolman_url', '$SM')" >/dev/null || die "settings"
if [ "$PGSS" = 1 ]; then
	q "CREATE EXTENSION pg_stat_statements" >/dev/null || die "CREATE EXTENSION pg_stat_statements failed"
fi

t_setup=$(date +%s.%N)
i=0
for s in $SERIALS; do
	"$BIN" printer add --name "p$s" --host 127.0.0.1 --serial "$s" --access-code "$CODE" \
	    --mqtt-port "$BROKER_PORT" --ftps-port "$FTPS_PORT" >>"$T/cli.log" 2>&1 || die "printer add $s failed"
	for fi_ in $FILS; do
		i=$((i + 1))
		spool=$(sed -n "${i}p" "$T/spools.out")
		"$BIN" tray set "p$s" "$fi_" "$spool" >>"$T/cli.log" 2>&1 || die "tray set p$s $fi_ $spool failed"
	done
done
say "$COUNT printers added, $i trays mapped ($(awk -v a="$t_setup" -v b="$(date +%s.%N)" \
    'BEGIN { printf "%.1f", b - a }') s)"

# --- the worker and the printers ----------------------------------------------------------------------
SPOOLKEEPER_CA_FILE=$T/certs/ca.crt "$WORKER" --worker-id bench-fleet --cache-dir "$T" >"$T/worker.log" 2>&1 &
WPID=$!
n=0
until [ "$(q "SELECT count(*) FROM worker_leases WHERE worker_id = 'bench-fleet'" 2>/dev/null)" = "$COUNT" ]; do
	kill -0 "$WPID" 2>/dev/null && [ "$n" -lt 300 ] || die "the worker took no $COUNT leases: $(tail -n 5 "$T/worker.log")"
	n=$((n + 1))
	sleep 0.1
done

mkfifo "$T/sim.in" || die "mkfifo failed"
WAIT=
[ "$STAGGER" = 1 ] && WAIT=--wait
# shellcheck disable=SC2086
"$SIM" --file "$SAMPLE" --name "$NAME" --count "$COUNT" --serial "$PREFIX" --port "$BROKER_PORT" \
    --cafile "$T/certs/ca.crt" --access-code "$CODE" --speed 1 --start-after 1 $WAIT --quiet \
    <"$T/sim.in" >"$T/sim.out" 2>"$T/sim.log" &
SIMPID=$!
exec 3>"$T/sim.in"
SIM_T0=$(date +%s.%N)
n=0
until [ "$(grep -c '^CONNECTED' "$T/sim.out")" -ge "$COUNT" ]; do
	kill -0 "$SIMPID" 2>/dev/null && [ "$n" -lt 300 ] || die "the simulator did not connect: $(tail -n 5 "$T/sim.log")"
	n=$((n + 1))
	sleep 0.1
done
if [ "$STAGGER" = 1 ]; then
	# One start per printer, spread over one second (one layer), so that the layer changes are too.
	python3 - "$COUNT" "$PREFIX" <<'EOF' >&3
import sys, time
n, prefix = int(sys.argv[1]), sys.argv[2]
t0 = time.monotonic()
for i in range(n):
    time.sleep(max(0.0, t0 + i / n - time.monotonic()))
    print("%s%03d start" % (prefix, i + 1), flush=True)
EOF
fi
t_start=$(date +%s.%N)

# Every job running and planned (each printer's file downloaded over FTPS and analysed by the planner).
n=0
while :; do
	got=$(q "SELECT count(*) FROM print_jobs WHERE state = 'running' AND planned_at IS NOT NULL")
	[ "$got" = "$COUNT" ] && break
	if [ "$n" -ge 1200 ] || ! kill -0 "$WPID" 2>/dev/null; then
		die "only $got of $COUNT jobs running and planned after 120 s: $(tail -n 5 "$T/worker.log")"
	fi
	n=$((n + 1))
	sleep 0.1
done
t_planned=$(date +%s.%N)
# The planner plans one job after another: the mean time per job, from the first plan to the last.
plan_each=$(q "SELECT round(1000 * extract(epoch FROM max(planned_at) - min(planned_at)) / greatest(count(*) - 1, 1))
    FROM print_jobs")
say "all $COUNT jobs running and planned $(awk -v a="$t_start" -v b="$t_planned" \
    'BEGIN { printf "%.1f", b - a }') s after the first start"

# --- the window ---------------------------------------------------------------------------------------
# cpu PID: utime + stime of the whole process, in clock ticks.
cpu()
{
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}
# cpu_tree PID...: the same summed over the processes and their children (PostgreSQL backends).
cpu_tree()
{
	for _p in "$@"; do
		echo "$_p"
		grep -l "^PPid:[[:space:]]*$_p\$" /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3
	done | sort -u | while read -r _c; do cpu "$_c"; done | awk '{ s += $1 } END { print s + 0 }'
}
status_kb()
{
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}
PGPID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
BRPID=$(broker_pid "$BROKER_DIR")
# counters: layers reported (sum over jobs), ledger rows, outbox rows done.
counters()
{
	q "SELECT (SELECT coalesce(sum(reported_layer), 0) FROM print_jobs),
	    (SELECT count(*) FROM usage_ledger), (SELECT count(*) FROM spoolman_outbox WHERE state = 'done')" |
	    tr '|' ' '
}
# sm_requests: requests the stand-in has answered so far.
sm_requests()
{
	curl -s "$SM/_control/state" | python3 -c 'import json, sys; print(json.load(sys.stdin)["requests"])'
}
# The window ends 3 layers before the most advanced printer could finish.
maxl=$(q "SELECT max(reported_layer) FROM print_jobs")
win=$WINDOW
room=$((LAYERS - maxl - 3))
[ "$room" -lt "$win" ] && win=$room
[ "$win" -ge 10 ] || die "the prints are too short to measure: $room layers left (use a longer SAMPLE)"

# backends: "pid cpu-ticks" of every backend connected to the bench database.
backends()
{
	q "SELECT pid FROM pg_stat_activity WHERE datname = '$DB' AND pid <> pg_backend_pid()" |
	    while read -r _b; do echo "$_b $(cpu "$_b")"; done
}
backends >"$T/be0.txt"
# threads PID: "tid ticks" of every thread, in creation order (main, then the outbox drain and the planner,
# which main.c starts before the first sync, then the MQTT sessions' libmosquitto threads).
threads()
{
	for _t in /proc/"$1"/task/[0-9]*; do
		echo "${_t##*/} $(sed 's/^.*) //' "$_t/stat" 2>/dev/null | awk '{ print $12 + $13 }')"
	done | sort -n
}
threads "$WPID" >"$T/th0.txt"
smc0=$(cpu "$SMPID")
w0=$(date +%s.%N)
c0=$(cpu "$WPID")
br0=$(cpu "$BRPID")
sim0=$(cpu "$SIMPID")
pg0=$(cpu_tree "$PGPID")
set -- $(counters)
r0=$1 l0=$2 d0=$3
sm0=$(sm_requests)
q "SELECT now()" >"$T/w0.txt"
[ "$PGSS" != 1 ] || q "SELECT pg_stat_statements_reset()" >/dev/null
maxslice=0
prev=$c0
tprev=$w0
wend=$(awk -v a="$w0" -v w="$win" 'BEGIN { printf "%.3f", a + w }')
while :; do
	left=$(awk -v e="$wend" -v n="$(date +%s.%N)" 'BEGIN { d = e - n; printf "%.3f", (d > 5 ? 5 : d) }')
	awk -v l="$left" 'BEGIN { exit !(l > 0.05) }' || break
	# PERF=1: 10 s of call graphs from the middle of the window (the worker's own CPU is measured with it).
	if [ "$PERF" = 1 ] && [ -z "$PERFPID" ] && command -v perf >/dev/null 2>&1 &&
	    awk -v e="$wend" -v n="$(date +%s.%N)" -v w="$win" 'BEGIN { exit !(e - n <= w / 2 + 5) }'; then
		perf record -q -g -o "$T/perf.data" -p "$WPID" -- sleep 10 >"$T/perf.log" 2>&1 &
		PERFPID=$!
	fi
	sleep "$left"
	c=$(cpu "$WPID")
	[ -n "$c" ] || die "the worker died in the window: $(tail -n 5 "$T/worker.log")"
	tnow=$(date +%s.%N)
	maxslice=$(awk -v a="$prev" -v b="$c" -v t0="$tprev" -v t1="$tnow" -v m="$maxslice" -v hz="$HZ" \
	    'BEGIN { v = t1 - t0 >= 2 ? (b - a) / hz / (t1 - t0) * 100 : 0; printf "%.1f", (v > m ? v : m) }')
	prev=$c
	tprev=$tnow
done
w1=$(date +%s.%N)
c1=$(cpu "$WPID")
smc1=$(cpu "$SMPID")
threads "$WPID" >"$T/th1.txt"
# The outbox table's updates and its pending-rows index, for the figures below.
obstat=$(q "SELECT t.n_tup_upd, t.n_tup_hot_upd, t.n_dead_tup, t.autovacuum_count, i.idx_scan, i.idx_tup_read,
    pg_relation_size(i.indexrelid) FROM pg_stat_user_tables t JOIN pg_stat_user_indexes i USING (relid)
    WHERE t.relname = 'spoolman_outbox' AND i.indexrelname = 'spoolman_outbox_due'" | tr '|' ' ')
backends >"$T/be1.txt"
# What each backend ran last (which connection of the worker it is), for the breakdown below.
q "SELECT pid, left(regexp_replace(query, '\s+', ' ', 'g'), 70) FROM pg_stat_activity
    WHERE datname = '$DB' AND pid <> pg_backend_pid()" >"$T/be_query.txt"
br1=$(cpu "$BRPID")
sim1=$(cpu "$SIMPID")
pg1=$(cpu_tree "$PGPID")
set -- $(counters)
r1=$1 l1=$2 d1=$3
sm1=$(sm_requests)
q "SELECT now()" >"$T/w1.txt"
if [ "$PGSS" = 1 ]; then
	q "SELECT round(total_plan_time)::text || ' ms', round(total_exec_time)::text || ' ms', calls,
	    round(((total_plan_time + total_exec_time) / greatest(calls, 1))::numeric, 3)::text || ' ms', rows,
	    shared_blks_hit + shared_blks_read, left(regexp_replace(query, '\s+', ' ', 'g'), 150)
	    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$DB')
	    ORDER BY total_plan_time + total_exec_time DESC LIMIT 15" >"$T/pgss.txt"
fi
hwm=$(status_kb "$WPID" VmHWM)
rss=$(status_kb "$WPID" VmRSS)
threads=$(status_kb "$WPID" Threads)
if [ -n "$PERFPID" ]; then
	wait "$PERFPID" 2>/dev/null
	PERFPID=
fi

# --- to the end of the prints, then the ledger checks -------------------------------------------------
# Deadlines from the first start: the print (3 layers of PREPARE, the layers, FINISH one layer later) plus 40 s;
# then 30 s more for the outbox.
fin_by=$(awk -v a="$t_start" -v s="$START" -v l="$LAYERS" 'BEGIN { printf "%d", a - s + l + 4 + 40 }')
until [ "$(q "SELECT count(*) FROM print_jobs WHERE state = 'finished'")" = "$COUNT" ]; do
	before "$fin_by" || break
	sleep 0.2
done
until [ "$(q "SELECT count(*) FROM spoolman_outbox WHERE state <> 'done'")" = 0 ]; do
	before $((fin_by + 30)) || break
	sleep 0.2
done
c_end=$(cpu "$WPID")
hwm_end=$(status_kb "$WPID" VmHWM)
t_end=$(date +%s.%N)

# Per job: ended state, checkpoint, ledger rows against plan rows and mm per filament.
q "WITH j AS (SELECT id, printer_id, state, checkpoint_layer, reported_layer, layer_count,
	CASE WHEN state = 'finished' THEN layer_count ELSE reported_layer - 1 END AS want FROM print_jobs),
    plan AS (SELECT j.id, count(l.*) AS n, coalesce(sum(l.mm), 0) AS mm FROM j
	LEFT JOIN job_plan_layers l ON l.job_id = j.id AND l.layer <= j.checkpoint_layer GROUP BY j.id),
    led AS (SELECT j.id, count(u.*) AS n, coalesce(sum(u.mm), 0) AS mm FROM j
	LEFT JOIN usage_ledger u ON u.job_id = j.id AND u.kind = 'layer' GROUP BY j.id),
    fil AS (SELECT f.job_id AS id, count(*) AS bad FROM job_filaments f
	JOIN j ON j.id = f.job_id AND j.state = 'finished'
	WHERE abs(f.mm - (SELECT coalesce(sum(mm), 0) FROM usage_ledger u
	    WHERE u.job_id = f.job_id AND u.filament_index = f.filament_index)) > 1e-6 GROUP BY f.job_id)
    SELECT 'job ' || j.id || ' (printer ' || j.printer_id || '): ' || j.state || ', checkpoint ' ||
	j.checkpoint_layer || ' want ' || j.want || ' (reported ' || j.reported_layer || ' of ' ||
	j.layer_count || '), ledger rows ' || led.n || ' plan rows ' || plan.n ||
	CASE WHEN fil.bad IS NOT NULL THEN ', ' || fil.bad || ' filament(s) whose ledger mm <> plan mm' ELSE '' END
    FROM j JOIN plan USING (id) JOIN led USING (id) LEFT JOIN fil USING (id)
    WHERE j.state <> 'finished' OR j.checkpoint_layer <> j.want OR led.n <> plan.n
	OR abs(led.mm - plan.mm) > 1e-6 OR fil.bad IS NOT NULL ORDER BY j.id" >"$T/lost.txt" 2>&1
nlost=$(grep -c . "$T/lost.txt")
njobs=$(q "SELECT count(*) FROM print_jobs")
nfin=$(q "SELECT count(*) FROM print_jobs WHERE state = 'finished'")
nled=$(q "SELECT count(*) FROM usage_ledger")
nplan=$(q "SELECT count(*) FROM job_plan_layers")
outbox=$(q "SELECT string_agg(state || ' ' || n, ', ' ORDER BY state) FROM
    (SELECT state, count(*) AS n FROM spoolman_outbox GROUP BY state) s")
nosp=$(q "SELECT count(*) FROM usage_ledger WHERE spool_id IS NULL")

# The stand-in's used weight per spool against the ledger's grams.
curl -s "$SM/_control/state" >"$T/state.json"
q "SELECT spool_id || ' ' || sum(grams) FROM usage_ledger WHERE spool_id IS NOT NULL GROUP BY spool_id" |
    python3 -c '
import json, sys
spools = {s["id"]: s for s in json.load(open(sys.argv[1]))["spools"]}
want = {}
for line in sys.stdin:
    if line.strip():
        sid, g = line.split()
        want[int(sid)] = float(g)
bad = 0
for sid in sorted(set(spools) | set(want)):
    got = spools.get(sid, {}).get("used_weight", 0.0)
    if abs(got - want.get(sid, 0.0)) > 1e-6:
        bad += 1
        if bad <= 5:
            print("spool %d: Spoolman %.9f g, ledger %.9f g" % (sid, got, want.get(sid, 0.0)))
print("SPOOLS_BAD %d" % bad)' "$T/state.json" >"$T/spools_check.txt" 2>&1
nspbad=$(sed -n 's/^SPOOLS_BAD //p' "$T/spools_check.txt")
[ -n "$nspbad" ] || nspbad=unknown

# Latency: layer committed to the ledger -> spend confirmed by the stand-in, for the window's rows.
lat=$(q "SELECT coalesce(round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY d))::text, '-') || ' ' ||
    coalesce(round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY d))::text, '-') || ' ' ||
    coalesce(round(1000 * max(d))::text, '-') || ' ' || count(*)
    FROM (SELECT extract(epoch FROM o.done_at - u.created_at) AS d FROM spoolman_outbox o
	JOIN usage_ledger u ON u.id = o.ledger_id
	WHERE u.created_at >= '$(cat "$T/w0.txt")' AND u.created_at < '$(cat "$T/w1.txt")'
	AND o.state = 'done') s")
set -- $lat
lat50=$1 lat99=$2 latmax=$3 latn=$4
lat_over=$(q "SELECT count(*) FROM spoolman_outbox o JOIN usage_ledger u ON u.id = o.ledger_id
    WHERE u.created_at >= '$(cat "$T/w0.txt")' AND u.created_at < '$(cat "$T/w1.txt")'
    AND o.state = 'done' AND o.done_at - u.created_at > interval '50 ms'")
# Every row of the window, for a look afterwards (KEEP=DIR): created, sent, done, spool, attempts, ms.
q "SELECT u.created_at, o.sent_at, o.done_at, o.spool_id, o.attempts, o.claim_token,
    round(1000 * extract(epoch FROM o.done_at - u.created_at)) FROM spoolman_outbox o
    JOIN usage_ledger u ON u.id = o.ledger_id WHERE u.created_at >= '$(cat "$T/w0.txt")'
    AND u.created_at < '$(cat "$T/w1.txt")' ORDER BY u.created_at" >"$T/latency.out"

werr=$(grep -c -i 'error\|fail\|dropped\|lost\|cannot' "$T/worker.log")
qdrop=$(grep -c 'queue.*full\|dropped' "$T/worker.log")

# --- figures ------------------------------------------------------------------------------------------
awk -v hz="$HZ" -v count="$COUNT" -v win="$win" -v w0="$w0" -v w1="$w1" \
    -v c0="$c0" -v c1="$c1" -v br0="$br0" -v br1="$br1" -v sim0="$sim0" -v sim1="$sim1" \
    -v pg0="$pg0" -v pg1="$pg1" -v smc0="$smc0" -v smc1="$smc1" -v maxslice="$maxslice" -v hwm="$hwm" -v hwm_end="$hwm_end" -v rss="$rss" \
    -v threads="$threads" -v r0="$r0" -v r1="$r1" -v l0="$l0" -v l1="$l1" -v d0="$d0" -v d1="$d1" -v sm0="$sm0" -v sm1="$sm1" \
    -v planeach="$plan_each" -v tcurl="$t_curl" -v tstart="$t_start" -v tplanned="$t_planned" -v tend="$t_end" -v cend="$c_end" -v layers="$LAYERS" \
    -v sample="$(basename "$SAMPLE")" -v stagger="$STAGGER" -v lat50="$lat50" -v lat99="$lat99" \
    -v latmax="$latmax" -v latn="$latn" -v latover="$lat_over" -v nlost="$nlost" -v njobs="$njobs" -v nfin="$nfin" \
    -v nled="$nled" -v nplan="$nplan" -v outbox="$outbox" -v nosp="$nosp" -v nspbad="$nspbad" \
    -v werr="$werr" -v qdrop="$qdrop" '
function verdict(ok) { return ok ? "PASS" : "MISS" }
BEGIN {
	secs = w1 - w0
	pct = (c1 - c0) / hz / secs * 100
	printf "bench: fleet: one worker, %d simulated printers at 1 layer/s (%s, %d layers, %s starts)\n",
	    count, sample, layers, stagger == 1 ? "staggered" : "simultaneous"
	printf "  planning: every job running and planned %.1f s after the first start (%s ms per job, one after " \
	    "another; one curl download of the file alone: %.0f ms)\n", tplanned - tstart, planeach, tcurl * 1000
	printf "  window: %.1f s; %.1f layer changes/s, %.1f ledger rows/s, %.1f outbox rows done/s, " \
	    "%.1f HTTP requests/s to Spoolman\n", secs, (r1 - r0) / secs, (l1 - l0) / secs, (d1 - d0) / secs,
	    (sm1 - sm0) / secs
	printf "  worker: CPU %.1f%% of one core (highest 5 s: %.1f%%), RSS %.1f MiB at the end of the window, " \
	    "peak %.1f MiB, %d threads\n", pct, maxslice, rss / 1024, hwm / 1024, threads
	printf "  beside it: mosquitto %.1f%%, simulator %.1f%%, Spoolman stand-in %.1f%%, PostgreSQL (all " \
	    "processes) %.1f%% of one core\n", (br1 - br0) / hz / secs * 100, (sim1 - sim0) / hz / secs * 100,
	    (smc1 - smc0) / hz / secs * 100, (pg1 - pg0) / hz / secs * 100
	printf "  whole run: worker CPU %.1f s in %.0f s from the first start (planning and finish included), " \
	    "peak RSS %.1f MiB\n", cend / hz, tend - tstart, hwm_end / 1024
	printf "  jobs: %d, finished %d; ledger rows %d, plan rows %d; ledger rows without a spool %d; outbox %s\n",
	    njobs, nfin, nled, nplan, nosp, outbox
	printf "  layer committed -> spend confirmed (window, %s rows): p50 %s ms, p99 %s ms, max %s ms; " \
	    "%d rows (%.1f%%) over 50 ms\n", latn, lat50, lat99, latmax, latover, latn ? latover * 100 / latn : 0
	printf "  worker log: %d error-looking lines, %d queue drops\n", werr, qdrop
	printf "targets\n"
	printf "  %-48s %12s  %s\n", "CPU < 50% of one core", sprintf("%.1f%%", pct), verdict(pct < 50)
	printf "  %-48s %12s  %s\n", "peak RSS < 64 MB", sprintf("%.1f MB", hwm_end * 1024 / 1e6),
	    verdict(hwm_end * 1024 / 1e6 < 64)
	printf "  %-48s %12s  %s\n", "no layer lost (jobs with a discrepancy)", nlost, verdict(nlost == 0 && nfin == count)
	printf "  %-48s %12s  %s\n", "Spoolman = ledger per spool (spools off)", nspbad, verdict(nspbad == "0")
	printf "  %-48s %12s  %s\n", "layer -> spend p99 < 50 ms (under this load)", lat99 " ms", verdict(lat99 != "-" && lat99 + 0 < 50)
}'
# The worker's CPU per thread: main (tracker), 2nd (outbox drain), 3rd (planner), the rest (MQTT sessions).
awk -v hz="$HZ" -v w0="$w0" -v w1="$w1" '
FILENAME == ARGV[1] { c0[$1] = $2; next }
{ d = $2 - ($1 in c0 ? c0[$1] : 0); n++; if (n <= 3) v[n] = d; else { rest += d; nrest++ } }
END {
	s = (w1 - w0) * hz / 100
	printf "  worker threads: main (tracker) %.1f%%, outbox drain %.1f%%, planner %.1f%%, %d MQTT threads %.1f%% " \
	    "in all\n", v[1] / s, v[2] / s, v[3] / s, nrest, rest / s
}' "$T/th0.txt" "$T/th1.txt"
# The PostgreSQL backends of the worker's connections, busiest first, with the last statement each ran.
awk -v hz="$HZ" -v w0="$w0" -v w1="$w1" '
FILENAME == ARGV[1] { c0[$1] = $2; next }
FILENAME == ARGV[2] { if ($1 in c0) d[$1] = $2 - c0[$1]; next }
{ i = index($0, "|"); qry[substr($0, 1, i - 1)] = substr($0, i + 1) }
END {
	for (p in d)
		printf "  backend %s: %5.1f%% of one core, last ran: %s\n", p, d[p] / hz / (w1 - w0) * 100, qry[p]
}' "$T/be0.txt" "$T/be1.txt" "$T/be_query.txt" | sort -t: -k2 -rn | head -n 4 >"$T/be.txt"
set -- $obstat
[ $# -eq 7 ] && awk -v upd="$1" -v hot="$2" -v dead="$3" -v av="$4" -v scans="$5" -v rd="$6" -v sz="$7" 'BEGIN {
	printf "  spoolman_outbox so far: %d updates (%d HOT), %d dead rows, %d autovacuums; its index " \
	    "spoolman_outbox_due: %d scans read %d entries (%.0f per scan), %.0f KiB\n", upd, hot, dead, av, scans,
	    rd, scans ? rd / scans : 0, sz / 1024 }'
if [ -s "$T/be.txt" ]; then
	echo "PostgreSQL backends of the worker in the window (busiest first):"
	sort -k3 -rn "$T/be.txt"
fi
if [ "$nlost" -gt 0 ]; then
	echo "discrepancies (first 20):"
	head -n 20 "$T/lost.txt" | sed 's/^/  /'
fi
if [ "$nspbad" != 0 ]; then
	grep -v '^SPOOLS_BAD' "$T/spools_check.txt" | sed 's/^/  /'
fi
if [ "$werr" -gt 0 ]; then
	echo "worker log, first error-looking lines:"
	grep -i 'error\|fail\|dropped\|lost\|cannot' "$T/worker.log" | head -n 10 | sed 's/^/  /'
fi
if [ -s "$T/pgss.txt" ]; then
	echo "pg_stat_statements in the window, most time first (planning, execution, calls, mean of both, rows," \
	    "buffers, statement):"
	sed 's/^/  /' "$T/pgss.txt"
fi
if [ -f "$T/perf.data" ]; then
	echo "perf: the worker over 10 s of the window, all threads; self time by library:"
	perf report -q -i "$T/perf.data" --no-children --sort dso -g none --stdio 2>/dev/null | grep '%' |
	    head -n 8 | sed 's/^ */  /'
	echo "perf: user-space functions with what they call (children), highest first:"
	perf report -q -i "$T/perf.data" --children --sort sym -g none --stdio 2>/dev/null | grep '\[\.\]' |
	    grep -v '\] 0x' | grep -v ' 0000000000000000$' | head -n 15 | sed 's/^ */  /'
fi
exit 0
