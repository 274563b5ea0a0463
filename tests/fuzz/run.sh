#!/bin/sh
# tests/fuzz/run.sh: runs one libFuzzer binary for FUZZ_SECONDS on a corpus seeded from tests/fuzz/seeds and ../shared/samples.
#
#   FUZZ_SECONDS=20 sh tests/fuzz/run.sh build-fuzz/fuzz_gcode
#
# Run from the repository root. The corpus grows in build-fuzz/corpus/<name>/; seeds derived from
# ../shared/samples go to build-fuzz/seeds/<name>/ (both git-ignored: samples are never copied into the
# repository). Crash, leak and timeout inputs land in build-fuzz/artifacts/<name>/. Exits non-zero if the
# fuzzer found a crash (or could not run).

set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: FUZZ_SECONDS=N sh tests/fuzz/run.sh build-fuzz/fuzz_NAME" >&2
	exit 2
fi
BIN=$1
NAME=$(basename "$BIN")
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
SAMPLES=../shared/samples
OUT=build-fuzz
CORPUS=$OUT/corpus/$NAME
SEEDS=$OUT/seeds/$NAME
ARTIFACTS=$OUT/artifacts/$NAME
LOG=$OUT/log/$NAME.log

mkdir -p "$CORPUS" "$SEEDS" "$ARTIFACTS" "$OUT/log" || exit 1

# seed_gcode: the first 64 KiB (header, start gcode) and a 64 KiB slice from the middle (layers) of each sample .gcode.
seed_gcode()
{
	for f in "$SAMPLES"/gcode/*.gcode; do
		[ -f "$f" ] || continue
		b=$(basename "$f" .gcode)
		head -c 65536 "$f" >"$SEEDS/$b.head" || return 1
		mid=$(($(wc -c <"$f") / 2))
		tail -c +"$mid" "$f" | head -c 65536 >"$SEEDS/$b.mid" || return 1
	done
}

# seed_3mf: the sample .gcode.3mf files as they are.
seed_3mf()
{
	for f in "$SAMPLES"/gcode/*.3mf; do
		[ -f "$f" ] || continue
		cp "$f" "$SEEDS/" || return 1
	done
}

# seed_slicemeta: every Metadata/*.config member of the sample 3mf files.
seed_slicemeta()
{
	tmp=$OUT/extract/$NAME
	for f in "$SAMPLES"/gcode/*.3mf; do
		[ -f "$f" ] || continue
		b=$(basename "$f" .gcode.3mf)
		rm -rf "$tmp" && mkdir -p "$tmp" || return 1
		unzip -q -o -j "$f" 'Metadata/*.config' -d "$tmp" || return 1
		for c in "$tmp"/*.config; do
			[ -f "$c" ] && cp "$c" "$SEEDS/$b.$(basename "$c")"
		done
	done
	rm -rf "$tmp"
}

# seed_mqtt: the MQTT JSON captures, for payload fuzzers.
seed_mqtt()
{
	for f in "$SAMPLES"/mqtt/*.json; do
		[ -f "$f" ] && cp "$f" "$SEEDS/"
	done
}

if [ -d "$SAMPLES" ]; then
	case $NAME in
	fuzz_gcode)	seed_gcode ;;
	fuzz_3mf)	seed_3mf ;;
	fuzz_slicemeta)	seed_slicemeta ;;
	*mqtt*|*payload*) seed_mqtt ;;
	esac || { echo "$NAME: could not prepare seeds" >&2; exit 1; }
fi

# libFuzzer writes new inputs to the first directory and only reads the others.
set -- "$CORPUS" "$SEEDS"
[ -d "tests/fuzz/seeds/$NAME" ] && set -- "$@" "tests/fuzz/seeds/$NAME"

echo "$NAME: fuzzing for ${FUZZ_SECONDS}s (log $LOG)"
"$BIN" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
    -max_len=1048576 -print_final_stats=1 -artifact_prefix="$ARTIFACTS/" \
    "$@" >"$LOG" 2>&1
st=$?
if [ "$st" -ne 0 ]; then
	tail -n 60 "$LOG"
	echo "$NAME: FAILED (exit status $st); inputs in $ARTIFACTS/:"
	ls -l "$ARTIFACTS"
	exit 1
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -n 1)
cov=$(grep -a -o 'cov: [0-9]*' "$LOG" | tail -n 1)
echo "$NAME: ok, ${runs:-?} runs, ${cov:-cov: ?}, corpus $(ls "$CORPUS" | wc -l) files"
