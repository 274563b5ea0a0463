#!/bin/sh
# tests/db/test_cli.sh: end-to-end tests of `spoolkeeper migrate`, `printer` and `tray` against a real PostgreSQL; prints ok/not ok lines.
#
#   BIN=build/bin/spoolkeeper sh tests/db/test_cli.sh          (inside a cluster of tests/harness/pg.sh)
#
# Each group of cases makes its own database on the cluster (PG_CONNINFO) and checks the exit status, the one
# "spoolkeeper: " line on stderr of every failure, and the rows left behind (with psql).  Runs are limited to
# TIMEOUT seconds (default 60).  The databases are dropped at the end.

BIN=${BIN:-build/bin/spoolkeeper}
TIMEOUT=${TIMEOUT:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SQL=$ROOT/sql

. "$ROOT/tests/harness/check_db.sh"
db_need_pg
db_need_exec "$BIN"

T=$(mktemp -d) || exit 1
DBS=
cleanup()
{
	for d in $DBS; do
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$ROOT/tests/harness/tap.sh"

# tap_on_fail: a failed case (fail NAME DETAIL) shows the command's output.
tap_on_fail()
{
	for f in out err; do
		if [ -s "$T/$f" ]; then
			echo "#   $f:"
			head -n 8 "$T/$f" | cut -c 1-200 | sed 's/^/#     /'
		fi
	done
}

# newdb NAME: creates a database and points SPOOLKEEPER_DATABASE at it.
newdb()
{
	db=sk_cli_$$_$1
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db" || exit 1
	DBS="$DBS $db"
	SPOOLKEEPER_DATABASE="$PG_CONNINFO dbname=$db"
	export SPOOLKEEPER_DATABASE
}

# q SQL: one value from the current database (psql, unaligned, no header).
q()
{
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -c "$1"
}

# run ARGS...: runs the CLI under timeout; sets $st, output in $T/out and $T/err.
run()
{
	timeout "$TIMEOUT" "$BIN" "$@" >"$T/out" 2>"$T/err" </dev/null
	st=$?
}

# check_ok NAME ARGS...: exit status 0 and nothing on stderr.
check_ok()
{
	name=$1
	shift
	run "$@"
	if [ "$st" -ne 0 ]; then
		fail "$name" "exit status $st, want 0"
	elif [ -s "$T/err" ]; then
		fail "$name" "unexpected stderr"
	else
		pass "$name"
	fi
}

# check_error NAME WANT PATTERN ARGS...: exit status WANT, empty stdout, exactly one stderr line that starts
# "spoolkeeper: " and contains PATTERN (a grep -E expression).
check_error()
{
	name=$1
	want=$2
	pat=$3
	shift 3
	run "$@"
	if [ "$st" -ne "$want" ]; then
		fail "$name" "exit status $st, want $want"
	elif [ -s "$T/out" ]; then
		fail "$name" "unexpected stdout"
	elif [ "$(wc -l <"$T/err")" -ne 1 ] || ! grep -q '^spoolkeeper: ' "$T/err"; then
		fail "$name" "want exactly one line starting 'spoolkeeper: ' on stderr"
	elif ! grep -Eq -- "$pat" "$T/err"; then
		fail "$name" "stderr does not match /$pat/"
	else
		pass "$name"
	fi
}

# expect NAME GOT WANT: compares two strings.
expect()
{
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		: >"$T/out"
		: >"$T/err"
		fail "$1" "got '$2', want '$3'"
	fi
}

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

# --- printers ------------------------------------------------------------------------------------------

newdb printers
check_ok "printers: migrate" migrate
check_ok "printer add" printer add --name x1c --host 192.168.1.20 --serial 01S00C123456789 --access-code Acc355x1 --model X1C
expect "printer add: output" "$(cat "$T/out")" "printer add: added printer 1 (x1c)"
check_ok "printer add --insecure with ports" printer add --name p1s --host p1s.lan --serial 01P00A000000001 \
    --access-code 87654321 --insecure --mqtt-port 18883 --ftps-port 1990
expect "printer add: stored" \
    "$(q "SELECT string_agg(format('%s %s %s %s %s %s %s %s %s', id, name, host, serial, access_code, coalesce(model, '-'), mqtt_port, ftps_port, insecure_tls), ',' ORDER BY id) FROM printers")" \
    "1 x1c 192.168.1.20 01S00C123456789 Acc355x1 X1C 8883 990 f,2 p1s p1s.lan 01P00A000000001 87654321 - 18883 1990 t"
check_error "printer add --access-code - with no input" 1 "no line on standard input" printer add --name a1 --host 10.0.0.3 --serial A1SERIAL --access-code -
printf 'fromstdin\n' >"$T/code"
timeout "$TIMEOUT" "$BIN" printer add --name a1 --host 10.0.0.3 --serial A1SERIAL --access-code - <"$T/code" >"$T/out" 2>"$T/err"
expect "printer add --access-code - reads standard input" "$?:$(q "SELECT access_code FROM printers WHERE name = 'a1'")" "0:fromstdin"
check_error "printer add: duplicate serial" 1 "a printer with serial '01s00c123456789' already exists" \
    printer add --name other --host h --serial 01s00c123456789 --access-code c
check_error "printer add: duplicate name" 1 "a printer named 'X1C' already exists" \
    printer add --name X1C --host h --serial S9 --access-code c
check_error "printer add: bad serial" 1 "bad serial '01S 00': letters and digits only" \
    printer add --name n --host h --serial "01S 00" --access-code c
check_error "printer add: all-digit name" 1 "bad name '42'" printer add --name 42 --host h --serial S9 --access-code c
check_error "printer add: URL as host" 1 "bad host 'http://x'" printer add --name n --host http://x --serial S9 --access-code c
check_error "printer add: bad access code is not echoed" 1 "^spoolkeeper: printer add: bad access code: " \
    printer add --name n --host h --serial S9 --access-code "$(printf 'se\tcret')"
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

tap_done
