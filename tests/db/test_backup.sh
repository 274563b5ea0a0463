#!/bin/sh
# tests/db/test_backup.sh: the backup and restore of docs/operations.md, done for real: pg_dump, pg_restore, migrate, doctor.
#
#   BIN=build/bin/spoolkeeper sh tests/db/test_backup.sh       (inside a cluster of tests/harness/pg.sh)
#
# A database with users, an encrypted access code, a tray mapping, settings and a usage history is dumped with
# `pg_dump -Fc` and restored into a new database with `pg_restore`, as the operations guide says.  Then: every
# table has the same rows, `spoolkeeper migrate` finds nothing to do, the restored access code decrypts with
# the saved key file (`spoolkeeper doctor --json`), and does not with another key (the key file is part of the
# backup), and the group roles keep their grants.  The uses still pending or in flight in the dump are held for
# review with `spoolkeeper outbox hold` (refused while a worker beats, unless --force) and a worker sends none.

BIN=${BIN:-build/bin/spoolkeeper}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

. "$ROOT/tests/harness/cli.sh"

SPOOLKEEPER_KEY_FILE=$T/secret.key
export SPOOLKEEPER_KEY_FILE

# --- A database worth saving --------------------------------------------------------------------------------
newdb src
src=$db
check_ok "migrate" migrate
check_ok "key init" key init
IN=$T/pw
echo "correct horse battery staple" >"$IN"
check_ok "user add" user add ada --admin --password-stdin
echo "Acc355x1" >"$IN"
check_ok "printer add" printer add --name x1c --host 192.168.1.20 --serial 01S00C123456789 --access-code -
IN=
check_ok "tray set" tray set x1c 2 17
q "INSERT INTO settings (key, value) VALUES ('spoolman_url', 'http://127.0.0.1:9/') ON CONFLICT (key) DO
   UPDATE SET value = EXCLUDED.value" >/dev/null
# A history: a finished job, straight in SQL (the worker's own table).
q "INSERT INTO print_jobs (printer_id, job_key, subtask_name, state, layer_count, planned_at, checkpoint_layer,
   reported_layer, ended_at) SELECT id, 'local:backup@1', 'Backup cube', 'finished', 2, now(), 2, 2, now()
   FROM printers" >/dev/null
# Its outbox when the dump is taken: one use sent, one pending, one in flight (claimed by a worker).
q "INSERT INTO spoolman_outbox (spool_id, use_mm, use_g, state, done_at, resolution) VALUES
   (17, 100, 0.3, 'done', now(), 'response'), (17, 50, 0.15, 'pending', NULL, NULL)" >/dev/null
q "INSERT INTO spoolman_outbox (spool_id, use_mm, use_g, state, claim_token, claimed_by, lease_until, last_error)
   VALUES (17, 25, 0.075, 'inflight', nextval('spoolman_claim_seq'), 'w1', now() + interval '1 minute',
   'HTTP 502')" >/dev/null
expect "the source has its rows" "$(q "SELECT (SELECT count(*) FROM users) || ' ' ||
    (SELECT count(*) FROM printers WHERE access_code_enc IS NOT NULL) || ' ' ||
    (SELECT count(*) FROM tray_assignments) || ' ' || (SELECT count(*) FROM print_jobs) || ' ' ||
    (SELECT count(*) FROM spoolman_outbox)")" "1 1 1 1 3"

# rows_of DB: one line per table of the public schema with its row count, sorted.
rows_of()
{
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "SELECT string_agg(t, ' ' ORDER BY t) FROM (
	    SELECT format('%s=%s', table_name,
	        (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I', table_name),
	            false, true, '')))[1]::text) AS t
	      FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE') x"
}

# --- Back up: the database and the key file ---------------------------------------------------------------
pg_dump -Fc -f "$T/spoolkeeper.dump" -d "$src" 2>"$T/err"
expect "pg_dump -Fc" "$?:$(cat "$T/err")" "0:"
cp -p "$SPOOLKEEPER_KEY_FILE" "$T/secret.key.saved"

# --- Restore into a new database ----------------------------------------------------------------------------
newdb dst
pg_restore --exit-on-error -d "$db" "$T/spoolkeeper.dump" 2>"$T/err"
expect "pg_restore --exit-on-error" "$?:$(cat "$T/err")" "0:"
expect "every table has the same rows" "$(rows_of "$db")" "$(rows_of "$src")"
check_ok "migrate after the restore" migrate
expect "migrate after the restore: nothing to do" "$(sed 's/ (version [0-9]*)//' "$T/out")" \
    "migrate: the database is up to date"
expect "the group roles keep their grants" \
    "$(q "SELECT has_table_privilege('spoolkeeper_worker', 'spoolman_outbox', 'UPDATE') || ' ' ||
          has_table_privilege('spoolkeeper_web', 'spoolman_outbox', 'UPDATE') || ' ' ||
          has_table_privilege('spoolkeeper_worker', 'sessions', 'SELECT')")" "true false false"

# doctor_codes: the status of doctor's "access codes" check on the restored database.
doctor_codes()
{
	"$BIN" doctor --json --timeout 1 >"$T/doctor.json" 2>"$T/err"
	python3 -c 'import json, sys
for c in json.load(open(sys.argv[1]))["checks"]:
    if c["check"] == "access codes":
        print(c["status"])' "$T/doctor.json"
}
SPOOLKEEPER_KEY_FILE=$T/secret.key.saved
expect "the restored access code decrypts with the saved key file" "$(doctor_codes)" "ok"
rm -f "$T/other.key"
SPOOLKEEPER_KEY_FILE=$T/other.key
check_ok "key init (a new key, as on a host whose key was lost)" key init
expect "with another key it does not: the key file belongs in the backup" "$(doctor_codes)" "FAIL"
SPOOLKEEPER_KEY_FILE=$T/secret.key.saved

# --- The uses the dump had not sent: held for a person, never sent twice ------------------------------------
q "INSERT INTO worker_heartbeats (worker_id, seen_at) VALUES ('w-alive', now())" >/dev/null
check_error "outbox hold while a worker beats: refused" 1 "1 worker beat in the last minute.*--force" \
    outbox hold
expect "refused: nothing changed" "$(q "SELECT string_agg(state, ',' ORDER BY id) FROM spoolman_outbox")" \
    "done,pending,inflight"
q "DELETE FROM worker_heartbeats" >/dev/null
check_error "outbox hold with a bad argument" 2 "usage: spoolkeeper outbox hold" outbox hold --now
check_ok "outbox hold" outbox hold
expect "outbox hold says what it held" "$(cat "$T/out")" "outbox hold: 2 uses (1 pending, 1 in flight) now \
wait for review: the admin page's Outbox, \"Needs review\": Retry sends one, Discard drops one Spoolman has already"
expect "the pending and inflight uses wait for review, without a claim, saying why" \
    "$(q "SELECT string_agg(state || ' ' || (claim_token IS NULL) || ' ' || coalesce(last_error, '-'), ';'
          ORDER BY id) FROM spoolman_outbox")" \
    "done true -;needs_review true held by spoolkeeper outbox hold: restored from a backup;needs_review true \
held by spoolkeeper outbox hold: restored from a backup (last error: HTTP 502)"
check_ok "outbox hold again" outbox hold
expect "outbox hold again: nothing to hold" "$(cat "$T/out")" \
    "outbox hold: no use was pending or in flight; nothing to hold"
expect "a drain finds nothing to send (it claims pending rows only)" \
    "$(q "SELECT count(*) FROM spoolman_outbox WHERE state IN ('pending', 'inflight')")" "0"

tap_done
