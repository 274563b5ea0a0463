#!/bin/sh
# tests/run.sh: runs every test suite (Check units, CLI scripts, fuzz smoke) for `make check`; ends with "N passed, N failed".
#
# Environment: BUILD (build or build-san; default build), SAN (non-empty under ASan+UBSan),
# FUZZ_SMOKE_SECONDS (seconds per fuzz target in the smoke run; default 20, 0 skips it), FUZZCC (default clang),
# PG_BIN (the PostgreSQL 15 binaries for tests/db/; default /usr/lib/postgresql/15/bin).
# Run from the repository root. Every suite runs even after a failure; the exit status is 1 if any failed.

BUILD=${BUILD:-build}
SAN=${SAN:-}
FUZZCC=${FUZZCC:-clang}
FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-20}

passed=0
failed=0
failures=

# suite NAME CMD...: runs one suite, counts it, and remembers its name if it failed.
suite()
{
	name=$1
	shift
	echo "== $name"
	"$@"
	st=$?
	if [ "$st" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures="$failures $name"
		echo "== FAILED: $name (exit status $st)"
	fi
}

# run_script FILE: runs a CLI test script through its own interpreter if executable, else through sh.
run_script()
{
	if [ -x "$1" ]; then
		BIN=$BUILD/bin/spoolkeeper "$1"
	else
		BIN=$BUILD/bin/spoolkeeper sh "$1"
	fi
}

# have_libfuzzer: true if $FUZZCC links a trivial libFuzzer target.
have_libfuzzer()
{
	command -v "$FUZZCC" >/dev/null 2>&1 || return 1
	mkdir -p build-fuzz || return 1
	printf '%s\n' '#include <stddef.h>' \
	    'int LLVMFuzzerTestOneInput(const unsigned char *d, size_t n);' \
	    'int LLVMFuzzerTestOneInput(const unsigned char *d, size_t n) { (void)d; (void)n; return 0; }' \
	    >build-fuzz/.probe.c || return 1
	"$FUZZCC" -fsanitize=fuzzer,address,undefined -o build-fuzz/.probe \
	    build-fuzz/.probe.c >/dev/null 2>&1
}

# fuzz_one SRC: builds one fuzz target with make and runs it for FUZZ_SMOKE_SECONDS.
fuzz_one()
{
	bin=build-fuzz/$(basename "$1" .c)
	make --no-print-directory "$bin" || return 1
	FUZZ_SECONDS=$FUZZ_SMOKE_SECONDS sh tests/fuzz/run.sh "$bin"
}

# 1. Unit tests: one Check binary per module (Check prints its own summary line).
for t in "$BUILD"/tests/check_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	suite "unit $(basename "$t")" "$t"
done

# 2. End-to-end tests of the CLI.
for t in tests/cli/test_*.sh; do
	[ -f "$t" ] || continue
	suite "cli $(basename "$t")" run_script "$t"
done

# 3. Fuzz smoke run: plain builds only (the fuzzers carry their own sanitizers).
if [ -n "$SAN" ]; then
	echo "== fuzz smoke: skipped (SAN build)"
elif [ "$FUZZ_SMOKE_SECONDS" = 0 ]; then
	echo "== fuzz smoke: skipped (FUZZ_SMOKE_SECONDS=0)"
elif ! ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
	echo "== fuzz smoke: no tests/fuzz/fuzz_*.c"
elif ! have_libfuzzer; then
	echo "== fuzz smoke: skipped ($FUZZCC with libFuzzer not available)"
else
	for f in tests/fuzz/fuzz_*.c; do
		[ -f "$f" ] || continue
		suite "fuzz $(basename "$f" .c)" fuzz_one "$f"
	done
fi

# 4. Test harness self-tests.
suite "spoolman stand-in" python3 tests/spoolman/test_standin.py
suite "printer simulator" env SIM="$BUILD/tests/printer_sim" sh tests/printer/test_printer_sim.sh

# 5. Database tests (tests/db/): one throwaway PostgreSQL cluster from tests/harness/pg.sh for all of them; skipped
# (saying why) only when the PostgreSQL 15 binaries are missing.
. tests/harness/pg.sh
if ! pg_available; then
	echo "== db: skipped ($pg_why)"
elif ! pg_start; then
	suite "db cluster (tests/harness/pg.sh)" false
else
	trap 'pg_stop' EXIT
	trap 'exit 130' INT TERM
	# tests/worker/: the worker's modules on a database (test_fetch.sh needs none but runs here with its siblings).
	# tests/web/: the web app's handlers, and the app behind a real nginx (tests/harness/web.sh).
	for t in tests/db/test_*.sh tests/worker/test_*.sh tests/web/test_*.sh; do
		[ -f "$t" ] || continue
		suite "$(basename "$(dirname "$t")") $(basename "$t")" run_script "$t"
	done
	pg_stop
	trap - EXIT INT TERM
fi

# 6. The frontend in headless Chromium against the whole demo stack (tests/harness/stack.sh brings its own
# cluster, so it runs outside the shared one).
suite "frontend test_browser.sh" env BUILD="$BUILD" sh tests/frontend/test_browser.sh

# 7. The local run (make run / make demo / make stop): tests/harness/stack.sh with its own cluster in a temp dir.
suite "stack test_stack.sh" env BUILD="$BUILD" sh tests/stack/test_stack.sh

# 8. The Ansible deployment (ansible/): syntax, ansible-lint, and a real run on this machine against a cluster of
# its own (so outside the shared one); twice, the second changing nothing.
suite "ansible test_ansible.sh" env BIN="$BUILD/bin/spoolkeeper" sh tests/ansible/test_ansible.sh

[ -z "$failures" ] || echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
