#!/bin/sh
# tests/harness/tap.sh: ok/not ok result lines and their counts for the test scripts (sourced: . tests/harness/tap.sh).
#
# pass NAME / fail NAME [DETAIL] print one result line and count it in npass / nfail; a non-empty DETAIL
# follows as "#   " comment lines (only its last TAP_TAIL lines when TAP_TAIL is set).  A script may redefine
# tap_on_pass NAME / tap_on_fail NAME after sourcing to show more (its outputs, say).  tap_done prints the
# "# N passed, N failed" line and is true when nothing failed: the last command of a script.

npass=0
nfail=0

tap_on_pass()
{
	:
}

tap_on_fail()
{
	:
}

pass()
{
	npass=$((npass + 1))
	echo "ok - $1"
	tap_on_pass "$1"
}

fail()
{
	nfail=$((nfail + 1))
	echo "not ok - $1"
	if [ -n "${2:-}" ]; then
		if [ -n "${TAP_TAIL:-}" ]; then
			printf '%s\n' "$2" | tail -n "$TAP_TAIL" | sed 's/^/#   /'
		else
			printf '%s\n' "$2" | sed 's/^/#   /'
		fi
	fi
	tap_on_fail "$1"
}

tap_done()
{
	echo "# $npass passed, $nfail failed"
	[ "$nfail" -eq 0 ]
}
