#!/bin/sh
# tests/frontend/test_browser.sh: the frontend in headless Chromium against the whole demo stack (tests/harness/stack.sh).
#
#   sh tests/frontend/test_browser.sh                 (from the repository root; make check runs it as its own suite)
#   SCREENSHOTS=1 sh tests/frontend/test_browser.sh   the same, and writes docs/screenshots/*.png (make screenshots)
#
# Needs: node and npm (for tests/frontend/node_modules: `npm ci` when package-lock.json is newer), Debian's
# chromium (CHROMIUM, default /usr/bin/chromium; never a downloaded browser), the built programs and frontend
# (make all frontend), and what stack.sh needs in demo mode (PostgreSQL 15, mosquitto, vsftpd, nginx, python3,
# ../shared/samples).  In a new temporary directory, each time on a free port: starts a fresh stack (no admin)
# and runs tests/frontend/setup.test.mjs (the first-run setup page with the stack's one-time token), stops it;
# starts the stack in demo mode and runs tests/frontend/browser.test.mjs; stops it.  TAP-like ok / not ok lines,
# numbered across both; exits non-zero when anything failed.  KEEP=1 keeps the directory (the stacks' logs in
# DIR/setup/log/ and DIR/stack/log/).  What is covered: docs/testing-browser.md.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
HERE=tests/frontend
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM

# need WHAT TEST HINT: "not ok" and exit 1 unless TEST passes.
need()
{
	if ! eval "$2" >/dev/null 2>&1; then
		echo "not ok 1 - $1: $3"
		exit 1
	fi
}
need "node" "command -v node" "install nodejs and npm (make deps)"
need "npm" "command -v npm" "install npm (make deps)"
need "chromium" "[ -x '$CHROMIUM' ]" "$CHROMIUM is missing: apt-get install chromium (make deps), or set CHROMIUM"
need "the demo stack" "[ -f tests/harness/stack.sh ]" "tests/harness/stack.sh is missing"

# npm ci when node_modules is missing or older than the lock file (never downloads a browser: playwright-core).
if [ ! -f "$HERE/node_modules/.package-lock.json" ] ||
    [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
	if ! out=$(cd "$HERE" && npm ci --no-audit --no-fund 2>&1); then
		echo "not ok 1 - npm ci in $HERE"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/#   /'
		exit 1
	fi
fi

# The frontend as served (frontend/dist/): built or brought up to date by its make target.
if ! out=$(make --no-print-directory frontend 2>&1); then
	echo "not ok 1 - make frontend"
	printf '%s\n' "$out" | tail -n 15 | sed 's/^/#   /'
	exit 1
fi

. tests/harness/stack.sh

T=$(mktemp -d /tmp/sk-browser.XXXXXX) || exit 1
chmod 755 "$T"
started=
cleanup()
{
	[ -z "$started" ] || stack_stop >/dev/null 2>&1
	if [ -n "${KEEP:-}" ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A throwaway cluster need not survive a crash (initdb --nosync, fsync off).
STACK_PG_FAST=1
# The stacks serve a copy of the build (BROWSER_FRONTEND, default frontend/dist), so a `make frontend` run
# meanwhile (it empties frontend/dist/ first) cannot pull the pages from under the test.
if ! cp -R "${BROWSER_FRONTEND:-frontend/dist}" "$T/frontend" 2>"$T/cp.err"; then
	echo "not ok - copy ${BROWSER_FRONTEND:-frontend/dist}: $(cat "$T/cp.err")"
	exit 1
fi
STACK_FRONTEND=$T/frontend
export STACK_PG_FAST STACK_FRONTEND

# start_stack NAME [demo]: the stack in $T/NAME on a new free port; "not ok" with its output and exit 1 if it fails.
start_stack()
{
	PORT=$(harness_free_port) || { echo "not ok - no free port"; exit 1; }
	export PORT
	if ! stack_start "$T/$1" ${2:-} >"$T/$1.out" 2>&1; then
		echo "not ok - the stack ($1${2:+, $2 mode}) starts (tests/harness/stack.sh)"
		tail -n 25 "$T/$1.out" | sed 's/^/#   /'
		exit 1
	fi
	started=1
}

# 1. A fresh install (no demo, no admin): the setup page with the stack's one-time token.
start_stack setup
(cd "$HERE" && BROWSER_URL=$STACK_URL BROWSER_SETUP_TOKEN=$STACK_SETUP_TOKEN node setup.test.mjs) >"$T/setup.tap" 2>&1
st_setup=$?
# Its lines, without its plan and count: the demo's script goes on numbering and counts them in its summary.
grep -v -e '^1\.\.[0-9]' -e '^# [0-9]* passed, [0-9]* failed$' "$T/setup.tap"
stack_stop >/dev/null 2>&1
started=
TAP_FIRST=$(($(grep -c '^\(not \)\{0,1\}ok ' "$T/setup.tap") + 1))
TAP_FAILED=$(grep -c '^not ok ' "$T/setup.tap")
export TAP_FIRST TAP_FAILED

# 2. The demo: everything else.
start_stack stack demo
echo "# demo stack at $STACK_URL (logs in $T/stack/log)"

BROWSER_URL=$STACK_URL
BROWSER_USER=$STACK_ADMIN_USER
BROWSER_PASSWORD=$STACK_ADMIN_PASSWORD
BROWSER_SPOOLMAN_URL=$STACK_SPOOLMAN_URL
BROWSER_TMP=$T
export BROWSER_URL BROWSER_USER BROWSER_PASSWORD BROWSER_SPOOLMAN_URL BROWSER_TMP
if [ -n "${SCREENSHOTS:-}" ]; then
	SCREENSHOTS_DIR=${SCREENSHOTS_DIR:-$ROOT/docs/screenshots}
	export SCREENSHOTS_DIR
fi
(cd "$HERE" && node browser.test.mjs)
st=$?
[ "$st_setup" -eq 0 ] || st=1
if [ "$st" -ne 0 ]; then
	# The logs that explain a page's failure (the others are in DIR/stack/log/ with KEEP=1).
	for f in "$T"/stack/log/web.log "$T"/stack/log/worker.log "$T"/stack/log/nginx-error.log \
	    "$T"/stack/log/printer.log; do
		[ -s "$f" ] || continue
		echo "# $f ends with:"
		tail -n 8 "$f" | cut -c 1-300 | sed 's/^/#   /'
	done
fi
exit "$st"
