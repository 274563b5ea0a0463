#!/bin/sh
# tests/harness/cli.sh: what the command-line test scripts of tests/db/ share: databases, runs of the CLI, checks (sourced).
#
#   ROOT=... BIN=... TIMEOUT=...
#   . "$ROOT/tests/harness/cli.sh"     needs PG_CONNINFO (tests/harness/pg.sh) and BIN; makes the directory $T,
#                                      removed at exit with every database newdb made
#   newdb NAME                         CREATE DATABASE sk_cli_<pid>_NAME; $db and SPOOLKEEPER_DATABASE name it
#   q SQL                              one value from $db (psql, unaligned, no header)
#   run ARGS...                        the CLI under timeout (TIMEOUT seconds, default 60), standard input from
#                                      the file $IN (default /dev/null); sets $st, output in $T/out and $T/err
#   check_ok NAME ARGS...              exit status 0 and nothing on stderr
#   check_error NAME WANT PATTERN ARGS...
#                                      exit status WANT, empty stdout, exactly one stderr line that starts
#                                      "spoolkeeper: " and contains PATTERN (a grep -E expression)
#   expect NAME GOT WANT               compares two strings
#
# A failed case shows the command's output.  The results are counted by tests/harness/tap.sh (tap_done).

TIMEOUT=${TIMEOUT:-60}

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

tap_on_fail()
{
	for f in out err; do
		if [ -s "$T/$f" ]; then
			echo "#   $f:"
			head -n 8 "$T/$f" | cut -c 1-200 | sed 's/^/#     /'
		fi
	done
}

newdb()
{
	db=sk_cli_$$_$1
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db" || exit 1
	DBS="$DBS $db"
	SPOOLKEEPER_DATABASE="$PG_CONNINFO dbname=$db"
	export SPOOLKEEPER_DATABASE
}

q()
{
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -c "$1"
}

run()
{
	timeout "$TIMEOUT" "$BIN" "$@" >"$T/out" 2>"$T/err" <"${IN:-/dev/null}"
	st=$?
}

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
