#!/bin/sh
# tests/db/test_roles.sh: the least-privilege roles of sql/0006_roles.sql, checked on the catalog and for real.
#
#   BIN=build/bin/spoolkeeper sh tests/db/test_roles.sh      (inside a cluster of tests/harness/pg.sh)
#
# Makes one migrated database (as the owner, the cluster's superuser) and two login roles, members of
# spoolkeeper_web and spoolkeeper_worker.  Then:
#   1. the catalog: what each role must be able to do and what it must not (has_*_privilege), per table, column,
#      sequence, function and schema;
#   2. statements run as each login role: forbidden ones fail with SQLSTATE 42501 (permission denied);
#   3. the worker, connected as the worker login role, tracks a whole print played by the printer simulator
#      (real mosquitto and vsftpd), charges every layer and drains the outbox to the Spoolman stand-in;
#   4. the web app, connected as the web login role behind real nginx, serves setup, log-in, printers, trays,
#      users, prints, usage, settings and the outbox actions (tests/db/roles_web.py).
# The login roles are dropped at the end.  Prints ok / not ok lines.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-build/bin/spoolkeeper}
# BINDIR, WORKER, SIM, SAMPLE, SERIAL, CODE, NAME: the defaults of tests/harness/worker_stack.sh.
. tests/harness/worker_stack.sh

db_need_pg
db_need_exec "$BIN" "$WORKER" "$SIM"
ws_need_servers broker ftps web

DB=sk_roles_$$
RWEB=sk_roles_web_$$
RWORKER=sk_roles_worker_$$
ws_tmp
chmod 755 "$T"
WPID=
SMPID=
cleanup()
{
	ws_kill $WPID $SMPID
	web_stop
	ws_stop_servers
	ws_drop_dbs force "$DB"
	ws_drop_roles "$RWEB" "$RWORKER"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TAP_TAIL=15
. tests/harness/tap.sh

OWNER="$PG_CONNINFO dbname=$DB"
AS_WEB="host=$PG_DIR port=$PG_PORT user=$RWEB dbname=$DB"
AS_WORKER="host=$PG_DIR port=$PG_PORT user=$RWORKER dbname=$DB"

# q SQL (tests/harness/worker_stack.sh): one value, as the owner.  qas CONNINFO SQL: the same as another role;
# stderr kept in $T/qas.err.
Q_DB=$OWNER
qas()
{
	psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$1" -c "$2" \
	    2>"$T/qas.err"
}

# --- the database and the login roles ---------------------------------------------------------------------
db_create_migrated "$DB"
export SPOOLKEEPER_DATABASE="$OWNER"
key_init "$T" || { fail "key init"; exit 1; }
if psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE $RWEB LOGIN IN ROLE spoolkeeper_web" \
    -c "CREATE ROLE $RWORKER LOGIN IN ROLE spoolkeeper_worker" >"$T/roles.log" 2>&1; then
	pass "login roles made as members of spoolkeeper_web and spoolkeeper_worker"
else
	fail "login roles made" "$(cat "$T/roles.log")"
	exit 1
fi

# --- 1. the catalog -----------------------------------------------------------------------------------------
# Each line: ROLE KIND OBJECT PRIVILEGE WANT (t or f); KIND table, column (OBJECT = table.column), sequence,
# function (OBJECT = a signature), schema or database.
cat >"$T/privs" <<'EOF'
web table users SELECT t
web table users INSERT t
web table users DELETE f
web column users.username UPDATE f
web column users.password_hash UPDATE t
web table sessions DELETE t
web table setup_tokens INSERT f
web table auth_events INSERT t
web table auth_events UPDATE f
web table auth_events DELETE f
web table printers INSERT t
web table printers DELETE t
web column printers.access_code_enc UPDATE t
web column printers.id UPDATE f
web table tray_assignments INSERT t
web column tray_assignments.valid_to UPDATE t
web column tray_assignments.spool_id UPDATE f
web table tray_assignments DELETE f
web table settings DELETE t
web table spool_cache INSERT t
web table print_jobs SELECT t
web table print_jobs INSERT f
web table print_jobs DELETE f
web column print_jobs.user_id UPDATE t
web column print_jobs.checkpoint_layer UPDATE f
web column print_jobs.reported_layer UPDATE f
web column print_jobs.state UPDATE f
web table spoolman_outbox SELECT t
web table spoolman_outbox INSERT f
web table spoolman_outbox UPDATE f
web table spoolman_outbox DELETE f
web table usage_ledger SELECT t
web table usage_ledger INSERT f
web table usage_ledger UPDATE f
web table usage_ledger DELETE f
web table job_filaments UPDATE f
web table job_plan_layers SELECT f
web table job_plan_marks SELECT f
web table worker_leases SELECT t
web table worker_leases UPDATE f
web table worker_heartbeats INSERT f
web table printer_status UPDATE f
web table printer_status SELECT t
web sequence spoolman_claim_seq USAGE f
web sequence worker_lease_token_seq USAGE f
web function outbox_retry(bigint) EXECUTE t
web function outbox_discard(bigint,text) EXECUTE t
web table spool_patches SELECT t
web table spool_patches UPDATE f
web table spool_patches DELETE f
web function spool_patch_retry(bigint) EXECUTE t
web function spool_patch_discard(bigint,text) EXECUTE t
web function lease_acquire(bigint,text,interval) EXECUTE f
web function lease_assert(bigint,bigint) EXECUTE f
web function visible_printers(bigint) EXECUTE t
web schema public CREATE f
web schema public USAGE t
worker table users SELECT f
worker table sessions SELECT f
worker table setup_tokens SELECT f
worker table auth_events SELECT f
worker table printer_access SELECT f
worker table users INSERT f
worker table printers SELECT t
worker table printers INSERT f
worker table printers UPDATE f
worker table printers DELETE f
worker table tray_assignments SELECT t
worker table tray_assignments INSERT f
worker table settings SELECT t
worker table settings UPDATE f
worker table print_jobs INSERT t
worker column print_jobs.checkpoint_layer UPDATE t
worker column print_jobs.user_id UPDATE f
worker table print_jobs DELETE f
worker table job_plan_layers INSERT t
worker table job_plan_marks INSERT t
worker table usage_ledger INSERT t
worker table usage_ledger UPDATE f
worker table usage_ledger DELETE f
worker table spoolman_outbox UPDATE t
worker table spoolman_outbox DELETE f
worker table worker_leases UPDATE t
worker table worker_heartbeats INSERT t
worker table printer_status INSERT t
worker table spool_cache SELECT t
worker table spool_cache INSERT f
worker sequence spoolman_claim_seq USAGE t
worker sequence worker_lease_token_seq USAGE t
worker function lease_acquire(bigint,text,interval) EXECUTE t
worker function lease_assert(bigint,bigint) EXECUTE t
worker function outbox_retry(bigint) EXECUTE f
worker function outbox_discard(bigint,text) EXECUTE f
worker function spool_patch_retry(bigint) EXECUTE f
worker function spool_patch_discard(bigint,text) EXECUTE f
worker function user_printer_level(bigint,bigint) EXECUTE f
worker schema public CREATE f
worker database CURRENT TEMPORARY f
EOF
bad=
n=0
while read -r who kind obj priv want; do
	eval "role=\$R$(echo "$who" | tr a-z A-Z)"
	case $kind in
	table) sql="has_table_privilege('$role', '$obj', '$priv')" ;;
	column) sql="has_column_privilege('$role', '${obj%%.*}', '${obj#*.}', '$priv')" ;;
	sequence) sql="has_sequence_privilege('$role', '$obj', '$priv')" ;;
	function) sql="has_function_privilege('$role', '$obj', '$priv')" ;;
	schema) sql="has_schema_privilege('$role', '$obj', '$priv')" ;;
	database) sql="has_database_privilege('$role', current_database(), '$priv')" ;;
	esac
	got=$(q "SELECT $sql")
	n=$((n + 1))
	[ "$got" = "$want" ] || bad="$bad
$who $kind $obj $priv: got $got, want $want"
done <"$T/privs"
if [ -z "$bad" ] && [ "$n" -ge 90 ]; then
	pass "catalog: $n privileges as intended (web may not change the outbox, worker may not read accounts)"
else
	fail "catalog: privileges as intended ($n checked)" "$bad"
fi
# A SECURITY DEFINER function runs with the owner's rights: PUBLIC (so both programs) may not call one; each is
# granted to the role that needs it.  Trigger functions are exempt (a trigger runs them whoever may execute them).
got=$(q "SELECT string_agg(p.oid::regprocedure::text, ', ' ORDER BY 1) FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace AND p.prosecdef AND p.prorettype <> 'trigger'::regtype
    AND has_function_privilege('public', p.oid, 'EXECUTE')")
if [ -z "$got" ]; then
	pass "no SECURITY DEFINER function is executable by PUBLIC"
else
	fail "no SECURITY DEFINER function is executable by PUBLIC" "executable by every role: $got
fix: REVOKE EXECUTE ON FUNCTION ... FROM PUBLIC in the migration that creates it, then GRANT it to its role"
fi
# Another role of the cluster (not a member) may not even connect.
if psql -X -q -d postgres -c "CREATE ROLE sk_roles_other_$$ LOGIN" >/dev/null 2>&1 &&
    ! psql -X -q -d "host=$PG_DIR port=$PG_PORT user=sk_roles_other_$$ dbname=$DB" -c "SELECT 1" \
    >/dev/null 2>"$T/other.err" && grep -q "permission denied for database" "$T/other.err"; then
	pass "a role of the cluster that is in neither group cannot connect"
else
	fail "a role of the cluster that is in neither group cannot connect" "$(cat "$T/other.err")"
fi
psql -X -q -d postgres -c "DROP ROLE IF EXISTS sk_roles_other_$$" >/dev/null 2>&1

# --- 2. forbidden statements, for real -----------------------------------------------------------------------
# denied NAME CONNINFO SQL: the statement fails with SQLSTATE 42501.
denied()
{
	if qas "$2" "$3" >/dev/null; then
		fail "$1: succeeded, should be denied"
	elif grep -q "42501" "$T/qas.err"; then
		pass "$1: permission denied"
	else
		fail "$1: want permission denied (42501)" "$(cat "$T/qas.err")"
	fi
}
"$BIN" printer add --name p1 --host 127.0.0.1 --serial "$SERIAL" --access-code "$CODE" >/dev/null ||
    { fail "printer add"; exit 1; }
denied "web: UPDATE spoolman_outbox" "$AS_WEB" "UPDATE spoolman_outbox SET state = 'pending'"
denied "web: DELETE FROM spoolman_outbox" "$AS_WEB" "DELETE FROM spoolman_outbox"
denied "web: INSERT INTO usage_ledger" "$AS_WEB" \
    "INSERT INTO usage_ledger (job_id, layer, filament_index, mm) VALUES (1, 1, 0, 1)"
denied "web: UPDATE print_jobs progress" "$AS_WEB" "UPDATE print_jobs SET checkpoint_layer = 5"
denied "web: lease_acquire()" "$AS_WEB" "SELECT lease_acquire(1, 'web', interval '1 minute')"
denied "web: CREATE TABLE" "$AS_WEB" "CREATE TABLE x (i int)"
denied "worker: SELECT FROM users" "$AS_WORKER" "SELECT count(*) FROM users"
denied "worker: SELECT FROM sessions" "$AS_WORKER" "SELECT count(*) FROM sessions"
denied "worker: SELECT FROM setup_tokens" "$AS_WORKER" "SELECT count(*) FROM setup_tokens"
denied "worker: SELECT FROM auth_events" "$AS_WORKER" "SELECT count(*) FROM auth_events"
denied "worker: outbox_retry()" "$AS_WORKER" "SELECT outbox_retry(1)"
denied "worker: UPDATE print_jobs SET user_id" "$AS_WORKER" "UPDATE print_jobs SET user_id = NULL"
denied "worker: UPDATE printers" "$AS_WORKER" "UPDATE printers SET enabled = false"
denied "worker: CREATE TABLE" "$AS_WORKER" "CREATE TEMP TABLE x (i int)"
# What the worker does read, and the trigger that reads printers for it (print_jobs_owner).
if [ "$(qas "$AS_WORKER" "SELECT count(*) FROM printers WHERE access_code_enc LIKE 'v1:%'")" = 1 ] &&
    qas "$AS_WORKER" "SELECT lease_acquire(1, 'probe', interval '1 second')" >/dev/null &&
    qas "$AS_WORKER" "SELECT lease_release(1, fencing_token) FROM worker_leases" >/dev/null; then
	pass "worker: reads printers with access_code_enc and takes a lease"
else
	fail "worker: reads printers with access_code_enc and takes a lease" "$(cat "$T/qas.err")"
fi

# --- 3. the worker, connected as the worker login role -----------------------------------------------------
ws_certs_broker "$SERIAL"
ws_ftps "$SERIAL"
ws_standin sm 200 || { fail "stand-in starts" "$(cat "$T/sm.err")"; exit 1; }
# wait_sql QUERY EXPECTED SECONDS (tests/harness/worker_stack.sh) polls as the owner (Q_DB).

q "UPDATE printers SET mqtt_port = $BROKER_PORT, ftps_port = $FTPS_PORT WHERE name = 'p1'" >/dev/null &&
    q "INSERT INTO settings (key, value) VALUES ('spoolman_url', '$SM')" >/dev/null &&
    "$BIN" tray set p1 0 1 >/dev/null && "$BIN" tray set p1 3 2 >/dev/null || { fail "worker set-up"; exit 1; }
printf '%s\n' 'correct horse battery staple' >"$T/pw"
"$BIN" user add owner --password-stdin <"$T/pw" >/dev/null 2>&1 &&
    q "UPDATE printers SET owner_id = (SELECT id FROM users WHERE username = 'owner') WHERE name = 'p1'" >/dev/null ||
    { fail "a printer owner"; exit 1; }
SPOOLKEEPER_DATABASE=$AS_WORKER SPOOLKEEPER_CA_FILE=$T/certs/ca.crt "$WORKER" --worker-id roles1 --cache-dir "$T" \
    >"$T/worker.log" 2>&1 &
WPID=$!
ws_play sim.log 25
if wait_sql "SELECT state FROM print_jobs" finished 30 &&
    [ "$(q "SELECT count(*) FROM (SELECT f.filament_index, f.mm, (SELECT coalesce(sum(mm), 0) FROM usage_ledger l
	WHERE l.job_id = f.job_id AND l.filament_index = f.filament_index) AS charged FROM job_filaments f) s
	WHERE abs(s.mm - s.charged) > 1e-6")" = 0 ] &&
    [ "$(q "SELECT count(*) FROM job_filaments")" = 2 ]; then
	pass "worker as $RWORKER: the print is tracked, planned and every layer charged"
else
	fail "worker as $RWORKER: the print is tracked, planned and every layer charged" "$(tail -n 15 "$T/worker.log")"
fi
if wait_sql "SELECT count(*) FROM spoolman_outbox WHERE state <> 'done'" 0 60 &&
    [ "$(q "SELECT count(*) FROM spoolman_outbox")" -gt 0 ]; then
	pass "worker as $RWORKER: the outbox is drained to Spoolman"
else
	fail "worker as $RWORKER: the outbox is drained to Spoolman" \
	    "$(q "SELECT state, count(*), max(last_error) FROM spoolman_outbox GROUP BY 1")"
fi
if [ "$(q "SELECT (j.user_id = p.owner_id)::text FROM print_jobs j JOIN printers p ON p.id = j.printer_id")" = true ] &&
    [ "$(q "SELECT count(*) FROM worker_heartbeats WHERE worker_id = 'roles1'")" = 1 ] &&
    [ "$(q "SELECT count(*) FROM printer_status")" = 1 ] &&
    [ "$(q "SELECT count(*) FROM spool_cache")" -ge 0 ]; then
	pass "worker as $RWORKER: owner trigger, heartbeat and live status written"
else
	fail "worker as $RWORKER: owner trigger, heartbeat and live status written" "$(q "SELECT * FROM print_jobs")"
fi
if grep -q -i "permission denied" "$T/worker.log"; then
	fail "worker as $RWORKER: no permission denied in its log" "$(grep -i "permission denied" "$T/worker.log")"
else
	pass "worker as $RWORKER: no permission denied in its log"
fi
kill "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
WPID=

# --- 4. the web app, connected as the web login role ---------------------------------------------------------
q "DELETE FROM settings" >/dev/null
SK_SETUP_TOKEN=$("$BIN" setup-token 2>/dev/null) ||
    { fail "setup-token"; exit 1; }
export SK_SETUP_TOKEN
SPOOLMAN_URL=$SM
export SPOOLMAN_URL
WEB_LOGIN_RATE=600r/s
export WEB_LOGIN_RATE
if SPOOLKEEPER_DATABASE=$AS_WEB web_start "$T/web"; then
	SPOOLKEEPER_DATABASE=$OWNER PYTHONPATH=tests/web python3 tests/db/roles_web.py >"$T/web.tap" 2>&1
	st=$?
	grep -v '^1\.\.' "$T/web.tap" | sed 's/^\(not \)\{0,1\}ok [0-9]* - /\1ok - /'
	npass=$((npass + $(grep -c '^ok ' "$T/web.tap")))
	nfail=$((nfail + $(grep -c '^not ok ' "$T/web.tap")))
	if [ "$st" -ne 0 ] && ! grep -q '^not ok ' "$T/web.tap"; then
		fail "web: roles_web.py ran to the end" "$(tail -n 15 "$T/web.tap")"
	fi
	if grep -q -i "permission denied" "$WEB_DIR/web.log"; then
		fail "web as $RWEB: no permission denied in its log" "$(grep -i "permission denied" "$WEB_DIR/web.log")"
	else
		pass "web as $RWEB: no permission denied in its log"
	fi
	web_stop
else
	fail "the web app starts as $RWEB"
fi

tap_done
