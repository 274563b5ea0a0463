#!/bin/sh
# tests/cli/test_analyze.sh: end-to-end tests of `spoolkeeper analyze` on broken and real inputs; prints ok/not ok lines.
#
#   BIN=build/bin/spoolkeeper sh tests/cli/test_analyze.sh
#
# Every broken input is generated at test time in a temporary directory. Each must give exit status 1
# (2 for usage errors), exactly one line on stderr starting "spoolkeeper: ", nothing on stdout, and no
# crash or hang (each run is limited to TIMEOUT seconds, default 60). Needs python3 and ../shared/samples.
# VERBOSE=1 also shows the first stderr line of the passing cases.

BIN=${BIN:-build/bin/spoolkeeper}
TIMEOUT=${TIMEOUT:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SAMPLES=$ROOT/../shared/samples/gcode
REF=$SAMPLES/estampo_reference_P1S_BS2.5_2color_T0T3.gcode.3mf
PLAIN=$SAMPLES/gridfinity_A1_Orca2.3.1_1color_noM73L.gcode

if [ ! -x "$BIN" ]; then
	echo "not ok - $BIN is not an executable"
	exit 1
fi
for f in "$REF" "$PLAIN"; do
	if [ ! -f "$f" ]; then
		echo "not ok - sample $f is missing"
		exit 1
	fi
done

T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

. "$ROOT/tests/harness/tap.sh"

# pass NAME / fail NAME DETAIL (tests/harness/tap.sh) also show the first lines of the run's stderr.
tap_on_pass()
{
	if [ -n "${VERBOSE:-}" ] && [ -s "$T/err" ]; then
		head -n 1 "$T/err" | cut -c 1-200 | sed 's/^/#   /'
	fi
}

tap_on_fail()
{
	if [ -s "$T/err" ]; then
		echo "#   stderr:"
		head -n 5 "$T/err" | cut -c 1-200 | sed 's/^/#     /'
	fi
}

# run ARGS...: runs the CLI under timeout; sets $st, output in $T/out and $T/err.
run()
{
	timeout "$TIMEOUT" "$BIN" "$@" >"$T/out" 2>"$T/err" </dev/null
	st=$?
}

# check_error NAME WANT ARGS...: the CLI must fail with status WANT, one "spoolkeeper: " line on
# stderr and an empty stdout.
check_error()
{
	name=$1
	want=$2
	shift 2
	run "$@"
	nl=$(wc -l <"$T/err")
	nr=$(awk 'END { print NR }' "$T/err")
	if [ "$st" -eq 124 ]; then
		fail "$name" "timed out after ${TIMEOUT}s"
	elif [ "$st" -ge 128 ]; then
		fail "$name" "killed by signal $((st - 128)) (exit status $st)"
	elif [ "$st" -ne "$want" ]; then
		fail "$name" "exit status $st, want $want"
	elif [ -s "$T/out" ]; then
		fail "$name" "stdout not empty ($(wc -c <"$T/out") bytes)"
	elif [ "$nl" -ne 1 ] || [ "$nr" -ne 1 ]; then
		fail "$name" "stderr has $nr lines ($nl newlines), want exactly one line"
	elif ! head -n 1 "$T/err" | grep -q '^spoolkeeper: '; then
		fail "$name" "stderr does not start with 'spoolkeeper: '"
	else
		pass "$name"
	fi
}

# check_json NAME PYEXPR ARGS...: the CLI must exit 0 with valid JSON on stdout for which the python3
# expression PYEXPR (over the parsed document d) is true.
check_json()
{
	name=$1
	expr=$2
	shift 2
	run "$@"
	if [ "$st" -ne 0 ]; then
		fail "$name" "exit status $st, want 0"
		return
	fi
	if why=$(python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except ValueError as e:
    sys.exit("invalid JSON: %s" % e)
try:
    ok = eval(sys.argv[2])
except Exception as e:
    sys.exit("%s: %r" % (sys.argv[2], e))
if not ok:
    sys.exit("false: %s (layer_count %r, filament indices %r)" % (sys.argv[2],
        d.get("layer_count"), [f.get("index") for f in d.get("filaments", [])]))
' "$T/out" "$expr" 2>&1); then
		pass "$name"
	else
		fail "$name" "$why"
	fi
}

# mkgcode NAME TEXT: writes a small gcode file (TEXT with \n escapes) into the temporary directory.
mkgcode()
{
	printf '%b' "$2" >"$T/$1"
}

# --- inputs that are not a usable file ---------------------------------------------------------

check_error "missing file" 1 analyze "$T/does-not-exist.gcode.3mf"
mkdir "$T/dir.gcode.3mf"
check_error "directory" 1 analyze "$T/dir.gcode.3mf"
: >"$T/empty.gcode.3mf"
check_error "empty .gcode.3mf" 1 analyze "$T/empty.gcode.3mf"
: >"$T/empty.gcode"
check_error "empty .gcode" 1 analyze "$T/empty.gcode"
head -c 100000 /dev/urandom >"$T/garbage.gcode.3mf"
check_error "binary garbage, not a zip" 1 analyze "$T/garbage.gcode.3mf"

# --- broken 3mf ------------------------------------------------------------------------------

python3 - "$T/nogcode.gcode.3mf" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>\n')
    z.writestr("3D/3dmodel.model", '<?xml version="1.0"?><model/>\n')
    z.writestr("Metadata/slice_info.config", '<?xml version="1.0"?><config><plate>'
               '<metadata key="index" value="1"/></plate></config>\n')
EOF
check_error "zip without a gcode member" 1 analyze "$T/nogcode.gcode.3mf"

size=$(wc -c <"$REF")
head -c $((size / 2)) "$REF" >"$T/truncated.gcode.3mf"
check_error "truncated 3mf (first half)" 1 analyze "$T/truncated.gcode.3mf"

# overwrite 512 bytes in the middle of the gcode member's deflate data: 0xff makes inflate fail
# ("invalid block type"); seeded random bytes still inflate, to the wrong length and CRC.
python3 - "$REF" "$T/corrupt_ff.gcode.3mf" "$T/corrupt_rnd.gcode.3mf" <<'EOF'
import random, struct, sys, zipfile
src = sys.argv[1]
data = open(src, "rb").read()
info = zipfile.ZipFile(src).getinfo("Metadata/plate_1.gcode")
# the member's data starts after its local header (30 bytes + name + extra)
n, m = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
mid = info.header_offset + 30 + n + m + info.compress_size // 2
rnd = random.Random(1)
for dst, junk in ((sys.argv[2], b"\xff" * 512),
                  (sys.argv[3], bytes(rnd.randrange(256) for _ in range(512)))):
    open(dst, "wb").write(data[:mid] + junk + data[mid + 512:])
EOF
check_error "corrupt 3mf (deflate data overwritten: inflate error)" 1 analyze "$T/corrupt_ff.gcode.3mf"
check_error "corrupt 3mf (deflate data overwritten: bad CRC)" 1 analyze "$T/corrupt_rnd.gcode.3mf"

python3 - "$T/bomb0.gcode.3mf" "$T/bombg1.gcode.3mf" <<'EOF'
import sys, zipfile
def bomb(path, chunk, count):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("Metadata/slice_info.config", '<?xml version="1.0"?><config/>\n')
        with z.open("Metadata/plate_1.gcode", "w") as f:
            for _ in range(count):
                f.write(chunk)
bomb(sys.argv[1], bytes(1 << 20), 500)             # 500 MiB of zeros, ratio ~1000
bomb(sys.argv[2], b"G1 E1\n" * (1 << 18), 200)     # 300 MiB of 'G1 E1', ratio ~700
EOF
check_error "zip bomb (500 MiB of zeros)" 1 analyze "$T/bomb0.gcode.3mf"
check_error "zip bomb (300 MiB of 'G1 E1')" 1 analyze "$T/bombg1.gcode.3mf"

# headers that lie about intact data: a wrong CRC-32, and a bomb whose declared size is 50x its
# compressed size (under the ratio limit) while it really inflates to ~340 MB
python3 - "$REF" "$T/badcrc.gcode.3mf" "$T/liar.gcode.3mf" <<'EOF'
import struct, sys, zipfile
def patch(path, member, crc=None, usize=None):
    data = bytearray(open(path, "rb").read())
    zf = zipfile.ZipFile(path)
    lh = zf.getinfo(member).header_offset
    cd = zf.start_dir
    while data[cd:cd + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack("<HHH", data[cd + 28:cd + 34])
        if data[cd + 46:cd + 46 + n] == member.encode():
            break
        cd += 46 + n + m + k
    else:
        sys.exit("no central directory entry for " + member)
    if crc is not None:
        struct.pack_into("<I", data, lh + 14, crc)
        struct.pack_into("<I", data, cd + 16, crc)
    if usize is not None:
        struct.pack_into("<I", data, lh + 22, usize)
        struct.pack_into("<I", data, cd + 24, usize)
    open(path, "wb").write(data)
ref, badcrc, liar = sys.argv[1:4]
member = "Metadata/plate_1.gcode"
open(badcrc, "wb").write(open(ref, "rb").read())
patch(badcrc, member, crc=zipfile.ZipFile(ref).getinfo(member).CRC ^ 1)
with zipfile.ZipFile(liar, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    with z.open(member, "w") as f:
        for _ in range(300):
            f.write(b"G1 X1 E1\n" * (1 << 17))
patch(liar, member, usize=50 * zipfile.ZipFile(liar).getinfo(member).compress_size)
EOF
check_error "3mf with a wrong CRC-32 (data intact)" 1 analyze "$T/badcrc.gcode.3mf"
check_error "zip bomb declaring 50x its compressed size" 1 analyze "$T/liar.gcode.3mf"

# --- hostile plain gcode ---------------------------------------------------------------------

mkgcode e1e308.gcode 'M83\nM73 L1\nG1 X1 E1e308\n'
check_error "gcode G1 X1 E1e308" 1 analyze "$T/e1e308.gcode"
mkgcode enan_space.gcode 'M83\nM73 L1\nG1 X1 E nan\n'
check_error "gcode G1 X1 E nan" 1 analyze "$T/enan_space.gcode"
mkgcode enan.gcode 'M83\nM73 L1\nG1 X1 ENaN\n'
check_error "gcode G1 X1 ENaN" 1 analyze "$T/enan.gcode"
mkgcode m73huge.gcode 'M83\nM73 L1\nG1 X1 E1\nM73 L99999999999\nG1 X2 E1\n'
check_error "gcode M73 L99999999999" 1 analyze "$T/m73huge.gcode"
{
	printf 'M83\nM73 L1\n'
	yes 'G1 X1 E1' | head -n 233017 | tr '\n' ' '
} >"$T/longline.gcode"
check_error "gcode line of 2 MB without newline" 1 analyze "$T/longline.gcode"

# --- options ---------------------------------------------------------------------------------

check_error "--plate 9 on a one-plate file" 1 analyze --plate 9 "$REF"
check_error "--member not in the zip" 1 analyze --member Metadata/plate_9.gcode "$REF"
check_error "usage: bad option" 2 analyze --bogus "$REF"
check_error "usage: no FILE" 2 analyze
check_error "usage: --plate without a value" 2 analyze "$REF" --plate
check_error "usage: --plate abc" 2 analyze --plate abc "$REF"
check_error "usage: two FILEs" 2 analyze "$REF" "$REF"
# bare `spoolkeeper` may print its usage text, so several lines on stderr are allowed here
run
if [ "$st" -eq 2 ] && [ ! -s "$T/out" ] && [ -s "$T/err" ]; then
	pass "usage: no command"
else
	fail "usage: no command" "exit status $st (want 2), $(wc -c <"$T/out") bytes on stdout (want 0)"
fi
check_error "usage: unknown command" 2 frobnicate "$REF"

# --- the front: spoolkeeper runs analyze itself and execs spoolkeeper-cli for the rest ---------

if ldd "$BIN" | grep -Eq 'libpq|libcurl|libgnutls'; then
	fail "analyze runs without the admin commands' libraries" "$(ldd "$BIN" | grep -E 'libpq|libcurl|libgnutls')"
else
	pass "analyze runs without the admin commands' libraries"
fi
mkdir "$T/alone" && cp "$BIN" "$T/alone/spoolkeeper" && ln -s "$(cd "$(dirname "$BIN")" && pwd)/spoolkeeper" "$T/link"
BIN_SAVED=$BIN
BIN=$T/link
run help
if [ "$st" -eq 0 ] && grep -q 'spoolkeeper migrate' "$T/out"; then
	pass "through a symbolic link, the admin commands are found beside the real program"
else
	fail "through a symbolic link, the admin commands are found beside the real program" "exit status $st"
fi
BIN=$T/alone/spoolkeeper
check_error "without spoolkeeper-cli beside it: one line and status 127" 127 migrate
if grep -q "cannot run $T/alone/spoolkeeper-cli" "$T/err"; then
	pass "... naming the program it looked for"
else
	fail "... naming the program it looked for"
fi
check_json "without spoolkeeper-cli beside it, analyze still works" 'd["layer_count"] == 224' analyze --json "$PLAIN"
BIN=$BIN_SAVED

# --- real samples ----------------------------------------------------------------------------

check_json "--json on the reference 3mf: 100 layers, filaments [0,3]" \
    'd["layer_count"] == 100 and [f["index"] for f in d["filaments"]] == [0, 3]' \
    analyze "$REF" --json
check_json "--json --plate 1 --member Metadata/plate_1.gcode on the reference 3mf" \
    'd["layer_count"] == 100' \
    analyze --plate 1 --member Metadata/plate_1.gcode --json "$REF"
check_json "--json on plain gridfinity gcode: 224 layers" \
    'd["layer_count"] == 224' \
    analyze --json "$PLAIN"
run analyze "$REF"
if [ "$st" -eq 0 ] && [ -s "$T/out" ]; then
	pass "text output on the reference 3mf"
else
	fail "text output on the reference 3mf" "exit status $st, $(wc -c <"$T/out") bytes on stdout"
fi

tap_done
