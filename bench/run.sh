#!/bin/sh
# bench/run.sh: times `spoolkeeper analyze` on a large gcode and .gcode.3mf beside wc -l and unzip -p, then the outbox latency, the web dashboard under wrk and the 100-printer fleet; prints figures and targets.
#
#   BUILD=build sh bench/run.sh        (what `make bench` runs, from the repository root)
#
# Inputs are built once by ../shared/tools/mkbig.py into build/bench/ (rebuilt when mkbig.py is newer).
# The commands take turns for RUNS rounds (default 9: a shared 2-core machine has bursts of noise) on a warm
# page cache, and the best time of each counts. MB = 10^6 bytes; RSS is in MiB from /usr/bin/time -f %M. A missed
# target prints MISS but does not fail the run; a command that fails does (exit 1).

set -u

BUILD=${BUILD:-build}
BIN=$BUILD/bin/spoolkeeper
MKBIG=../shared/tools/mkbig.py
SRC=../shared/samples/gcode/mfm_4-cubes_P1S_BS1.10_2color_noTower.gcode.3mf
REPS=40
RUNS=${RUNS:-9}
DIR=build/bench
PLAIN=$DIR/big.gcode
ZIP=$DIR/big.gcode.3mf

die()
{
	echo "bench: $*" >&2
	exit 1
}

[ -x "$BIN" ] || die "$BIN not built (run make)"
[ -f "$MKBIG" ] && [ -f "$SRC" ] || die "$MKBIG or $SRC missing"
mkdir -p "$DIR" || die "cannot create $DIR"

# build OUT [--3mf]: runs mkbig.py into OUT unless OUT is newer than mkbig.py.
build()
{
	[ -f "$1" ] && [ -n "$(find "$1" -prune -newer "$MKBIG")" ] && return 0
	echo "bench: building $1"
	python3 "$MKBIG" "$SRC" "$REPS" "$1.tmp" "$@" || die "mkbig.py failed"
	mv "$1.tmp" "$1" || die "cannot rename $1.tmp"
}
build "$PLAIN"
build "$ZIP" --3mf

MEMBER=$(unzip -Z1 "$ZIP" | grep '^Metadata/plate_[0-9]*\.gcode$' | head -n 1)
[ -n "$MEMBER" ] || die "no plate gcode in $ZIP"
PLAIN_B=$(wc -c <"$PLAIN")
ZIP_B=$(wc -c <"$ZIP")
GCODE_B=$(unzip -Zl "$ZIP" "$MEMBER" | awk 'NR == 1 { print $4 }')

# elapsed CMD...: runs CMD once with stdout discarded; prints its wall time in seconds.
elapsed()
{
	t0=$(date +%s.%N)
	"$@" >/dev/null || die "command failed: $*"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'
}

# least A B: the smaller of two times (B when A is empty).
least()
{
	awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'
}

# rss CMD...: runs CMD once with stdout discarded; prints its peak RSS in KiB.
rss()
{
	/usr/bin/time -f %M -o "$DIR/rss.txt" "$@" >/dev/null || die "command failed: $*"
	tail -n 1 "$DIR/rss.txt"
}

# Warm the page cache and the binaries.
cat "$PLAIN" "$ZIP" >/dev/null
wc -l "$PLAIN" >/dev/null
unzip -p "$ZIP" "$MEMBER" >/dev/null || die "unzip -p failed"
"$BIN" analyze "$PLAIN" --json >/dev/null || die "analyze $PLAIN failed"
"$BIN" analyze "$ZIP" --json >/dev/null || die "analyze $ZIP failed"

# The four commands take turns for RUNS rounds, so that a burst of noise on the machine hits them alike, and the
# best time of each counts.  (die inside $(...) only ends the subshell, hence the "|| exit 1".)
t_wc=
t_plain=
t_unzip=
t_zip=
i=0
while [ "$i" -lt "$RUNS" ]; do
	t=$(elapsed wc -l "$PLAIN") || exit 1
	t_wc=$(least "$t_wc" "$t")
	t=$(elapsed "$BIN" analyze "$PLAIN" --json) || exit 1
	t_plain=$(least "$t_plain" "$t")
	t=$(elapsed unzip -p "$ZIP" "$MEMBER") || exit 1
	t_unzip=$(least "$t_unzip" "$t")
	t=$(elapsed "$BIN" analyze "$ZIP" --json) || exit 1
	t_zip=$(least "$t_zip" "$t")
	i=$((i + 1))
done
r_plain=$(rss "$BIN" analyze "$PLAIN" --json) || exit 1
r_zip=$(rss "$BIN" analyze "$ZIP" --json) || exit 1

awk -v pb="$PLAIN_B" -v zb="$ZIP_B" -v gb="$GCODE_B" \
    -v twc="$t_wc" -v tp="$t_plain" -v tu="$t_unzip" -v tz="$t_zip" \
    -v rp="$r_plain" -v rz="$r_zip" -v reps="$REPS" -v runs="$RUNS" '
function row(what, fb, t, ratio, rss) {
	printf "%-38s %8.1f %9.1f %9.3f %8.1f %7s %8s\n", what, fb / 1e6, gb / 1e6, t,
	    gb / 1e6 / t, ratio, rss
}
function verdict(ok) { return ok ? "PASS" : "MISS" }
BEGIN {
	printf "bench: spoolkeeper analyze, mkbig.py 4-cubes x%d; best of %d, warm page cache\n", reps, runs
	printf "%-38s %8s %9s %9s %8s %7s %8s\n", "command", "file MB", "gcode MB", "seconds",
	    "MB/s", "ratio", "RSS MiB"
	mbs = gb / 1e6 / tp; xwc = tp / twc; xunzip = tz / tu
	row("wc -l big.gcode (reference)", pb, twc, "-", "-")
	row("spoolkeeper analyze big.gcode --json", pb, tp, sprintf("%.2fx", xwc),
	    sprintf("%.1f", rp / 1024))
	row("unzip -p big.gcode.3mf (reference)", zb, tu, "-", "-")
	row("spoolkeeper analyze big.gcode.3mf", zb, tz, sprintf("%.2fx", xunzip),
	    sprintf("%.1f", rz / 1024))
	printf "(MB/s is gcode MB per second; ratio is time over the reference above; the four commands take\n"
	printf "turns, so that a burst of noise on the machine hits them alike)\n"
	printf "targets\n"
	printf "  %-34s %12s  %s\n", "plain: >= 800 MB/s", sprintf("%.1f MB/s", mbs),
	    verdict(mbs >= 800)
	printf "  %-34s %12s  %s\n", "plain: within 5x of wc -l", sprintf("%.2fx", xwc),
	    verdict(xwc <= 5)
	printf "  %-34s %12s  %s\n", "plain: peak RSS < 16 MiB", sprintf("%.1f MiB", rp / 1024),
	    verdict(rp / 1024 < 16)
	printf "  %-34s %12s  %s\n", "3mf: within 1.3x of unzip -p", sprintf("%.2fx", xunzip),
	    verdict(xunzip <= 1.3)
	printf "  %-34s %12s  %s\n", "3mf: peak RSS < 16 MiB", sprintf("%.1f MiB", rz / 1024),
	    verdict(rz / 1024 < 16)
}'

# Outbox latency (bench/outbox_latency.sh): ledger commit -> spend confirmed by the Spoolman stand-in, through the
# worker's drain thread, on a throwaway PostgreSQL cluster; skipped (saying why) without the PostgreSQL binaries.
. tests/harness/pg.sh
if pg_available; then
	BUILD=$BUILD sh tests/harness/pg.sh sh bench/outbox_latency.sh || die "outbox latency bench failed"
else
	echo "bench: outbox latency: skipped ($pg_why)"
fi

# The web app's dashboard call under wrk through nginx (bench/web_dashboard.sh): requests/s, p99, errors.
BUILD=$BUILD sh bench/web_dashboard.sh || die "web bench failed"

# One worker with 100 simulated printers at one layer a second (bench/fleet.sh): its CPU and RSS, and no layer
# lost; about 4 minutes; skipped (saying why) without root, PostgreSQL, mosquitto or vsftpd.
BUILD=$BUILD sh bench/fleet.sh || die "fleet bench failed"
