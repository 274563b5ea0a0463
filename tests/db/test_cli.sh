#!/bin/sh
# tests/db/test_cli.sh: end-to-end tests of `spoolkeeper migrate`, `key`, `printer` and `tray` against a real PostgreSQL; prints ok/not ok lines.
#
#   BIN=build/bin/spoolkeeper sh tests/db/test_cli.sh          (inside a cluster of tests/harness/pg.sh)
#
# Each group of cases makes its own database on the cluster (PG_CONNINFO) and checks the exit status, the one
# "spoolkeeper: " line on stderr of every failure, and the rows left behind (with psql), with the helpers of
# tests/harness/cli.sh.  Runs are limited to TIMEOUT seconds (default 60).  The databases are dropped at the end.

BIN=${BIN:-build/bin/spoolkeeper}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SQL=$ROOT/sql

. "$ROOT/tests/harness/cli.sh"

# The key file of the secrets (docs/security.md): none yet, in a directory that does not exist yet.
KEY=$T/keys/secret.key
SPOOLKEEPER_KEY_FILE=$KEY
export SPOOLKEEPER_KEY_FILE

# --- migrate -------------------------------------------------------------------------------------------

newdb migrate
check_ok "migrate from zero" migrate
# What sql/ holds decides the expected output: every file applied in order, the last one's version.
FILES=$(cd "$SQL" && ls [0-9][0-9][0-9][0-9]_*.sql)
NFILES=$(echo "$FILES" | wc -l)
LAST=$(echo "$FILES" | tail -n 1 | cut -c1-4)
expect "migrate from zero: output" "$(cat "$T/out")" "$(echo "$FILES" | sed 's/^/migrate: applied /')
migrate: the database is at version $LAST ($NFILES applied now)"
expect "migrate from zero: recorded with sha256 checksums" \
    "$(q "SELECT string_agg(version || ' ' || name || ' ' || checksum, ',' ORDER BY version) FROM schema_migrations")" \
    "$(cd "$SQL" && sha256sum $FILES | awk '{ printf "%s%d %s %s", (NR > 1 ? "," : ""), substr($2, 1, 4), $2, $1 }')"
before=$(q "SELECT string_agg(applied_at::text, ',' ORDER BY version) FROM schema_migrations")
check_ok "migrate twice" migrate
expect "migrate twice: says up to date" "$(cat "$T/out")" "migrate: the database is up to date (version $LAST)"
expect "migrate twice: nothing re-applied" \
    "$(q "SELECT string_agg(applied_at::text, ',' ORDER BY version) FROM schema_migrations")" "$before"
expect "migrate: the schema is there" \
    "$(q "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('printers', 'tray_assignments', 'print_jobs', 'job_filaments', 'job_plan_layers', 'job_plan_marks', 'usage_ledger', 'spoolman_outbox', 'worker_leases', 'worker_heartbeats', 'settings', 'printer_status', 'schema_migrations')") $(q "SELECT count(*) FROM pg_views WHERE schemaname = 'public' AND viewname LIKE 'usage_by_%'")" \
    "13 5"

# An edited, a renamed, a missing and an out-of-order migration are refused; nothing changes.
mkdir -p "$T/sql"
cp "$SQL"/*.sql "$T/sql/"
printf '%s\n' '-- an innocent-looking edit' >>"$T/sql/0001_init.sql"
SPOOLKEEPER_SQL_DIR=$T/sql
export SPOOLKEEPER_SQL_DIR
check_error "migrate refuses an edited applied migration" 1 "0001_init.sql was edited after it was applied" migrate
cp "$SQL/0001_init.sql" "$T/sql/"
mv "$T/sql/0002_views.sql" "$T/sql/0002_other.sql"
check_error "migrate refuses a renamed applied migration" 1 "0002_views.sql but is now 0002_other.sql" migrate
rm "$T/sql/0002_other.sql"
check_error "migrate refuses a database newer than its files" 1 "the database has migration 0002_views.sql" migrate
cp "$SQL/0002_views.sql" "$T/sql/"
printf 'CREATE TABLE t3 (x int);\n' >"$T/sql/9904_later.sql"
check_ok "migrate applies a new migration" migrate
printf 'CREATE TABLE t3b (x int);\n' >"$T/sql/9903_gap.sql"
check_error "migrate refuses a migration numbered before an applied one" 1 "9903_gap.sql is not applied but the later migration 9904" migrate
rm "$T/sql/9903_gap.sql"
printf 'CREATE TABLE t5 (x int);\nSELECT 1 +;\n' >"$T/sql/9905_broken.sql"
check_error "migrate reports a broken migration with its line" 1 "9905_broken.sql line 2: syntax error" migrate
expect "migrate: a broken migration leaves nothing behind" \
    "$(q "SELECT count(*) FROM schema_migrations")/$(q "SELECT to_regclass('t5') IS NULL")" "$((NFILES + 1))/t"
rm "$T/sql/9905_broken.sql"
printf 'SELECT 1;\n' >"$T/sql/9906-dash.sql"
check_error "migrate refuses a misnamed .sql file" 1 "9906-dash.sql: a migration is named NNNN_<what>.sql" migrate
rm "$T/sql/9906-dash.sql"
SPOOLKEEPER_SQL_DIR=$T/none
check_error "migrate: missing directory" 1 "none: No such file or directory" migrate
unset SPOOLKEEPER_SQL_DIR
check_error "migrate: extra argument is a usage error" 2 "unexpected argument" migrate now

# Concurrent runs on an empty database: all succeed, each migration is applied once.
newdb concurrent
for i in 1 2 3 4 5 6; do
	(timeout "$TIMEOUT" "$BIN" migrate >"$T/c$i.out" 2>"$T/c$i.err"; echo $? >"$T/c$i.st") &
done
wait
sts=$(cat "$T"/c*.st | tr -d '\n')
napplied=$(cat "$T"/c*.out | grep -c '^migrate: applied ')
: >"$T/out"
cat "$T"/c*.err >"$T/err"
expect "migrate: 6 concurrent runs all succeed" "$sts" "000000"
expect "migrate: 6 concurrent runs apply each migration once" \
    "$napplied $(q "SELECT count(*) FROM schema_migrations")" "$NFILES $NFILES"

# No server: one line, status 1.
saved=$SPOOLKEEPER_DATABASE
SPOOLKEEPER_DATABASE="host=$T/nowhere port=1 dbname=x"
check_error "migrate: no database server" 1 "cannot connect to the database.*from SPOOLKEEPER_DATABASE" migrate
SPOOLKEEPER_DATABASE=$saved

# --- the key file and encrypted access codes ----------------------------------------------------------

newdb printers
check_ok "printers: migrate" migrate
check_error "printer add without a key file" 1 "printer add: no key file at $KEY: run \`spoolkeeper key init\`" \
    printer add --name x1c --host 192.168.1.20 --serial 01S00C123456789 --access-code Acc355x1
expect "printer add without a key file: nothing stored" "$(q "SELECT count(*) FROM printers")" "0"
check_ok "key init" key init
expect "key init: output" "$(cat "$T/out")" "key init: created the key file $KEY (mode 0600); keep a copy of it: \
without it the stored access codes and passwords cannot be read"
expect "key init: mode 0600, 64 hex digits and a newline, directory 0700" \
    "$(stat -c %a "$KEY") $(grep -cxE '[0-9a-f]{64}' "$KEY") $(wc -c <"$KEY") $(stat -c %a "$T/keys")" "600 1 65 700"
cp "$KEY" "$T/key.before"
check_ok "key init again" key init
expect "key init again: the key is kept" "$(cat "$T/out")|$(cmp -s "$KEY" "$T/key.before" && echo same)" \
    "key init: the key file $KEY exists already; left as it is|same"
check_ok "key init --key-file" key init --key-file "$T/other.key"
expect "key init --key-file: a new key, mode 0600" \
    "$(stat -c %a "$T/other.key") $(cmp -s "$KEY" "$T/other.key" || echo different)" "600 different"
chmod 644 "$T/other.key"
check_error "key init: an existing key that others may read" 1 "may be read or changed by others \(mode 0644\): run chmod 600" \
    key init --key-file "$T/other.key"
check_error "key init: bad argument" 2 "usage: spoolkeeper key init" key init --force
check_error "key: unknown subcommand" 2 "unknown subcommand" key rotate
SPOOLKEEPER_KEY_FILE=$T/other.key
check_error "printer add: a key file that others may read" 1 "printer add: the key file .*other.key may be read or changed by others" \
    printer add --name x1c --host 192.168.1.20 --serial 01S00C123456789 --access-code Acc355x1
SPOOLKEEPER_KEY_FILE=$KEY

# --- printers ------------------------------------------------------------------------------------------

check_ok "printer add" printer add --name x1c --host 192.168.1.20 --serial 01S00C123456789 --access-code Acc355x1 --model X1C
expect "printer add: output" "$(cat "$T/out")" "printer add: added printer 1 (x1c)"
check_ok "printer add --insecure with ports" printer add --name p1s --host p1s.lan --serial 01P00A000000001 \
    --access-code 87654321 --insecure --mqtt-port 18883 --ftps-port 1990
expect "printer add: stored" \
    "$(q "SELECT string_agg(format('%s %s %s %s %s %s %s %s %s', id, name, host, serial, coalesce(access_code, '-'), coalesce(model, '-'), mqtt_port, ftps_port, insecure_tls), ',' ORDER BY id) FROM printers")" \
    "1 x1c 192.168.1.20 01S00C123456789 - X1C 8883 990 f,2 p1s p1s.lan 01P00A000000001 - - 18883 1990 t"
# "v1:" and base64 of a 24-byte nonce, the 8 bytes of the code and a 16-byte tag: 3 + 64 characters.
expect "printer add: the access codes are stored encrypted" \
    "$(q "SELECT string_agg((access_code_enc ~ '^v1:[A-Za-z0-9+/]{64}$')::text, ',' ORDER BY id) FROM printers")" "true,true"
if psql -X -q -A -t -d "$db" -c "SELECT * FROM printers" | grep -q -e Acc355x1 -e 87654321 -e "$(printf Acc355x1 | base64)"; then
	fail "printer add: the codes appear nowhere in the table"
else
	pass "printer add: the codes appear nowhere in the table"
fi
check_error "printer add --access-code - with no input" 1 "no line on standard input" printer add --name a1 --host 10.0.0.3 --serial A1SERIAL --access-code -
printf 'fromstdin\n' >"$T/code"
IN=$T/code
run printer add --name a1 --host 10.0.0.3 --serial A1SERIAL --access-code -
IN=
# 9 bytes of code: 3 + 68 characters ("=" padded); the code itself only the worker sees (tests/worker/test_e2e.sh).
expect "printer add --access-code - reads standard input" \
    "$st:$(q "SELECT length(access_code_enc) || ' ' || (access_code IS NULL) FROM printers WHERE name = 'a1'")" "0:71 true"
check_error "printer add: duplicate serial" 1 "a printer with serial '01s00c123456789' already exists" \
    printer add --name other --host h --serial 01s00c123456789 --access-code c
check_error "printer add: duplicate name" 1 "a printer named 'X1C' already exists" \
    printer add --name X1C --host h --serial S9 --access-code c
check_error "printer add: bad serial" 1 "bad serial '01S 00': letters and digits only" \
    printer add --name n --host h --serial "01S 00" --access-code c
check_error "printer add: all-digit name" 1 "bad name '42'" printer add --name 42 --host h --serial S9 --access-code c
check_error "printer add: URL as host" 1 "bad host 'http://x'" printer add --name n --host http://x --serial S9 --access-code c
check_error "printer add: bad access code is not echoed" 1 "^spoolkeeper: printer add: bad access code: 1 to 256 bytes" \
    printer add --name n --host h --serial S9 --access-code "$(printf 'se\tcret')"
check_error "printer add: empty access code" 1 "bad access code" printer add --name n --host h --serial S9 --access-code ""
check_error "printer add: access code too long" 1 "bad access code" \
    printer add --name n --host h --serial S9 --access-code "$(head -c 257 /dev/zero | tr '\0' 7)"
check_error "printer add: missing --host" 2 "--host is required" printer add --name n --serial S9 --access-code c
check_error "printer add: bad port" 2 "--mqtt-port '0' is not a port number" \
    printer add --name n --host h --serial S9 --access-code c --mqtt-port 0
check_error "printer add: option twice" 2 "twice" printer add --name n --name m --host h --serial S9 --access-code c
check_error "printer add: unknown option" 2 "bad argument '--colour'" printer add --colour red
check_error "printer: unknown subcommand" 2 "unknown subcommand" printer remove x1c
expect "printer add: refused adds left nothing" "$(q "SELECT count(*) FROM printers")" "3"
check_ok "printer list" printer list
expect "printer list: output" "$(cat "$T/out")" \
"id  name  serial           host          model  mqtt   ftps  tls       enabled
1   x1c   01S00C123456789  192.168.1.20  X1C    8883   990   verified  yes
2   p1s   01P00A000000001  p1s.lan       -      18883  1990  insecure  yes
3   a1    A1SERIAL         10.0.0.3      -      8883   990   verified  yes"
if grep -q Acc355x1 "$T/out"; then
	fail "printer list never shows the access code" "found it"
else
	pass "printer list never shows the access code"
fi

# --- trays ---------------------------------------------------------------------------------------------

# hist PRINTER TRAY: the tray's history as "spool:open|closed" in order.
hist()
{
	q "SELECT coalesce(string_agg(a.spool_id || ':' || CASE WHEN a.valid_to IS NULL THEN 'open' ELSE 'closed' END, ' ' ORDER BY a.valid_from, a.id), '') FROM tray_assignments a JOIN printers p ON p.id = a.printer_id WHERE p.name = '$1' AND a.tray = $2"
}

check_ok "tray set" tray set x1c 0 12
expect "tray set: output" "$(cat "$T/out")" "tray set: printer x1c tray 0: spool 12 (was empty)"
check_ok "tray set replaces the spool" tray set x1c 0 13
expect "tray set replaces: output" "$(cat "$T/out")" "tray set: printer x1c tray 0: spool 13 (was spool 12)"
expect "tray set: history keeps the old assignment" "$(hist x1c 0)" "12:closed 13:open"
expect "tray set: periods are contiguous" \
    "$(q "SELECT count(*) FROM tray_assignments a JOIN tray_assignments b ON a.valid_to = b.valid_from WHERE a.spool_id = 12 AND b.spool_id = 13")" "1"
check_error "tray set: spool already in another tray" 1 "spool 13 is in printer x1c tray 0 \\(AMS 1 slot 1\\); use --move" \
    tray set p1s 5 13
expect "tray set: refused set changed nothing" "$(hist x1c 0)|$(hist p1s 5)" "12:closed 13:open|"
check_ok "tray set --move" tray set 2 5 13 --move
expect "tray set --move: output" "$(cat "$T/out")" \
    "tray set: printer p1s tray 5: spool 13 (was empty; moved from printer x1c tray 0)"
expect "tray set --move: old tray closed, new tray open" "$(hist x1c 0)|$(hist p1s 5)" "12:closed 13:closed|13:open"
check_ok "tray set: the same spool again" tray set p1s 5 13
expect "tray set: the same spool again is a no-op" "$(cat "$T/out")|$(hist p1s 5)" \
    "tray set: spool 13 is already in printer p1s tray 5|13:open"
check_ok "tray set: external and AMS HT trays" tray set x1c 254 20
check_ok "tray set: AMS HT" tray set x1c 128 21
check_ok "tray list" tray list x1c
expect "tray list: output" "$(cut -c 1-31 "$T/out")" "printer  tray  label         sp
x1c      128   AMS HT 1      21
x1c      254   external 254  20"
check_ok "tray clear" tray clear p1s 5
expect "tray clear: output" "$(cat "$T/out")" "tray clear: printer p1s tray 5: empty (was spool 13)"
expect "tray clear: closed" "$(hist p1s 5)" "13:closed"
check_ok "tray clear: already empty" tray clear p1s 5
expect "tray clear: already empty: output" "$(cat "$T/out")" "tray clear: printer p1s tray 5 was already empty"
check_ok "tray set: a cleared spool can go elsewhere" tray set x1c 3 13
expect "tray: one open assignment per spool" \
    "$(q "SELECT count(*) FROM tray_assignments WHERE spool_id = 13 AND valid_to IS NULL")" "1"
check_ok "tray list --history" tray list --history
expect "tray list --history: every row" "$(($(wc -l <"$T/out") - 1))" "$(q "SELECT count(*) FROM tray_assignments")"
check_error "tray set: unknown printer" 1 "no printer named 'nope'" tray set nope 0 1
check_error "tray set: unknown printer id" 1 "no printer with id '99'" tray set 99 0 1
check_error "tray set: bad tray" 2 "bad tray '200'" tray set x1c 200 1
check_error "tray set: tray not a number" 2 "bad tray 'A1'" tray set x1c A1 1
check_error "tray set: bad spool id" 2 "bad spool id '0'" tray set x1c 1 0
check_error "tray set: missing spool" 2 "PRINTER TRAY SPOOL_ID" tray set x1c 1
check_error "tray set: bad flag" 2 "PRINTER TRAY SPOOL_ID" tray set x1c 1 5 --force
check_error "tray clear: bad tray" 2 "bad tray '-1'" tray clear x1c -1
check_error "tray: unknown subcommand" 2 "unknown subcommand" tray move x1c 1 2

# Many concurrent sets of one spool into different trays: the lock and the constraints keep one open row.
for i in 0 1 2 3 4 5 6 7; do
	(timeout "$TIMEOUT" "$BIN" tray set a1 "$i" 77 --move >/dev/null 2>"$T/t$i.err"; echo $? >"$T/t$i.st") &
done
wait
: >"$T/out"
cat "$T"/t*.err >"$T/err"
expect "tray set --move: 8 concurrent moves all succeed" "$(cat "$T"/t*.st | tr -d '\n')" "00000000"
expect "tray set --move: 8 concurrent moves leave one open assignment" \
    "$(q "SELECT count(*) FILTER (WHERE valid_to IS NULL) || ' ' || count(*) FROM tray_assignments WHERE spool_id = 77")" "1 8"

# --- migrate encrypts what older versions stored in plain text ------------------------------------------

newdb legacy
mkdir -p "$T/sql4"
cp "$SQL"/000[1-4]_*.sql "$T/sql4/"
SPOOLKEEPER_SQL_DIR=$T/sql4
export SPOOLKEEPER_SQL_DIR
check_ok "legacy: migrate to 0004" migrate
unset SPOOLKEEPER_SQL_DIR
q "INSERT INTO printers (name, host, serial, access_code) VALUES ('old1', 'h1', 'OLD1', 'plain001'), ('old2', 'h2', 'OLD2', 'plain002');
   INSERT INTO settings (key, value) VALUES ('spoolman_user', 'u'), ('spoolman_password', 'sm-secret')" >/dev/null
SPOOLKEEPER_KEY_FILE=$T/nokey/secret.key
run migrate
expect "migrate without a key file: applies the migrations, warns, succeeds" "$st|$(cat "$T/out")|$(cat "$T/err")" \
    "0|$(echo "$FILES" | sed -n '5,$s/^/migrate: applied /p')
migrate: the database is at version $LAST ($((NFILES - 4)) applied now)|spoolkeeper: migrate: warning: 2 printer access codes and \
the Spoolman password are stored in plain text: there is no key file at $T/nokey/secret.key; run \`spoolkeeper key \
init\`, then \`spoolkeeper migrate\` again to encrypt them"
expect "migrate without a key file: the plain values stay" \
    "$(q "SELECT string_agg(coalesce(access_code, '-') || ' ' || coalesce(access_code_enc, '-'), ',' ORDER BY id) FROM printers")" \
    "plain001 -,plain002 -"
SPOOLKEEPER_KEY_FILE=$T/other.key
run migrate
expect "migrate: a key file that others may read: exit status 1, says why" \
    "$st $(grep -c '^spoolkeeper: migrate: the secrets stored in plain text were not encrypted: the key file .*other.key may be read or changed by others' "$T/err")" "1 1"
SPOOLKEEPER_KEY_FILE=$KEY
check_ok "migrate with the key file" migrate
expect "migrate with the key file: output" "$(cat "$T/out")" "migrate: the database is up to date (version $LAST)
migrate: encrypted the access codes of 2 printers
migrate: encrypted the Spoolman password"
expect "migrate with the key file: everything encrypted" \
    "$(q "SELECT string_agg((access_code IS NULL AND access_code_enc LIKE 'v1:%')::text, ',' ORDER BY id) FROM printers") $(q "SELECT value LIKE 'v1:%' FROM settings WHERE key = 'spoolman_password'") $(q "SELECT value FROM settings WHERE key = 'spoolman_user'")" \
    "true,true t u"
if psql -X -q -A -t -d "$db" -c "SELECT * FROM printers; SELECT * FROM settings" | grep -q -e plain00 -e sm-secret; then
	fail "migrate: the plain values are gone"
else
	pass "migrate: the plain values are gone"
fi
check_ok "migrate again: nothing more to encrypt" migrate
expect "migrate again: output" "$(cat "$T/out")" "migrate: the database is up to date (version $LAST)"
q "INSERT INTO settings (key, value) VALUES ('spoolman_password', 'second') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value" >/dev/null
check_ok "migrate: a plain Spoolman password set later" migrate
expect "migrate: a plain Spoolman password set later: output" "$(sed -n 2p "$T/out")|$(q "SELECT value LIKE 'v1:%' FROM settings WHERE key = 'spoolman_password'")" \
    "migrate: encrypted the Spoolman password|t"

tap_done
