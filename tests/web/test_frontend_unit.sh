#!/bin/sh
# tests/web/test_frontend_unit.sh: the frontend's own checks (frontend/test/unit.test.mjs) on a fresh build.
#
# Builds the frontend with `make frontend` (npm ci only when node_modules is missing or stale), then runs the unit
# checks in node: formatting and tray naming, the API wrapper (CSRF header, error shape, 401) against a stub
# fetch, no HTML built from strings in frontend/src, and the build (index.html's files, no inline script, the
# JavaScript size budget, the service worker's shell list, the manifest and its icons).  Needs no database;
# it sits with the web tests because it checks what nginx serves.  Prints ok / not ok lines; exits 1 on failure.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
if ! command -v node >/dev/null 2>&1; then
	echo "not ok 1 - node is not installed (make deps installs nodejs and npm)"
	exit 1
fi
if ! out=$(make --no-print-directory frontend 2>&1); then
	echo "not ok 1 - make frontend"
	printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
	exit 1
fi
cd frontend && exec node test/unit.test.mjs
