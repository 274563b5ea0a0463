#!/bin/sh
# tests/worker/test_fetch.sh: fetch_model() against a real vsftpd with implicit FTPS and a local HTTPS server; prints ok/not ok lines.
#
#   BIN=build/bin/spoolkeeper sh tests/worker/test_fetch.sh
#
# Uses tests/harness/ftps.sh (vsftpd as a Bambu printer: implicit TLS, TLS 1.2, require_ssl_reuse, user bblp)
# with the certificate of tests/harness/certs.sh (CN = the serial, no IP address), tests/worker/https_server.py
# for https:// URLs, and the driver <build>/tests/worker/fetch_tool beside <build>/bin/spoolkeeper.  Every
# download is compared byte for byte (cmp) with the served file; every failure must leave neither the
# destination nor its .tmp behind.  Needs no database (tests/run.sh runs it with the other tests/worker/
# suites, in its PostgreSQL section).  Skipped (exit 0, saying why) when the FTPS harness cannot run here
# (not root, no vsftpd).  VERBOSE=1 shows every message of fetch_tool.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-build/bin/spoolkeeper}
TOOL=${FETCH_TOOL:-$(cd "$(dirname "$BIN")/.." && pwd)/tests/worker/fetch_tool}
SAMPLE=$ROOT/../shared/samples/gcode/estampo_reference_P1S_BS2.5_2color_T0T3.gcode.3mf
SERIAL=01S00A000000001
TIMEOUT=${TIMEOUT:-60}

cd "$ROOT" || exit 1
. tests/harness/ftps.sh
. tests/harness/certs.sh

if ! ftps_available; then
	echo "ok - skipped: $ftps_why"
	exit 0
fi
for f in "$TOOL" "$SAMPLE"; do
	if [ ! -e "$f" ]; then
		echo "not ok - $f is missing"
		exit 1
	fi
done

T=$(mktemp -d) || exit 1
HTTPS_PID=
cleanup()
{
	[ -n "$HTTPS_PID" ] && kill "$HTTPS_PID" 2>/dev/null
	ftps_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. tests/harness/tap.sh

# fetch NAME EXPECT [SOURCE] -- ARGS...: runs fetch_tool into $T/dl/out.  EXPECT "ok" needs exit 0 and the
# file equal (cmp) to SOURCE; "error KIND" needs exit 1, a first output line starting "error KIND:", and
# no file left in $T/dl.  Sets $out to the tool's output.
fetch()
{
	_name=$1
	_want=$2
	shift 2
	_src=
	if [ "$1" != "--" ]; then
		_src=$1
		shift
	fi
	shift
	rm -rf "$T/dl"
	mkdir "$T/dl"
	out=$(timeout "$TIMEOUT" "$TOOL" "$@" "$T/dl/out" 2>&1)
	_st=$?
	[ -n "${VERBOSE:-}" ] && printf '#   %s\n' "$out"
	case $_want in
	ok)
		if [ "$_st" -ne 0 ]; then
			fail "$_name" "exit $_st: $out"
		elif ! cmp -s "$_src" "$T/dl/out"; then
			fail "$_name" "downloaded file differs from $_src"
		elif [ -e "$T/dl/out.tmp" ]; then
			fail "$_name" "out.tmp left behind"
		else
			pass "$_name"
		fi
		;;
	*)
		_left=$(ls -A "$T/dl")
		case $out in
		"$_want:"*)
			if [ "$_st" -ne 1 ]; then
				fail "$_name" "exit $_st, want 1: $out"
			elif [ -n "$_left" ]; then
				fail "$_name" "files left behind: $_left"
			else
				pass "$_name"
			fi
			;;
		*)
			fail "$_name" "want '$_want: ...', got (exit $_st): $out"
			;;
		esac
		;;
	esac
}

# contains NAME TEXT: the last output ($out) must contain TEXT.
contains()
{
	case $out in
	*"$2"*) pass "$1" ;;
	*) fail "$1" "output lacks '$2': $out" ;;
	esac
}

# --- the printer: vsftpd with implicit FTPS ---
if ! certs_make "$T/certs" "$SERIAL" >"$T/certs.log" 2>&1 || ! certs_leaf "$T/certs" https localhost \
    >>"$T/certs.log" 2>&1; then
	fail "test certificates" "$(cat "$T/certs.log")"
	exit 1
fi
if ! FTPS_CERTS=$T/certs ftps_start "$SERIAL" >"$T/ftps.log" 2>&1; then
	fail "FTPS harness starts" "$(cat "$T/ftps.log")"
	exit 1
fi
N1="Christmas Tree With Star; Size_ M.gcode.3mf"
N2="Ünïcode 🐢 plate.3mf"
N3="Rear Dry Pod AMS 2 PRO .gcode.3mf"
head -c 3000000 /dev/urandom >"$T/random.bin"
ftps_put "$SAMPLE" "$N1"
ftps_put "$SAMPLE" "cache/$N2"
ftps_put "$SAMPLE" "model/$N3"
ftps_put "$T/random.bin" "cache/big one.gcode.3mf"
ftps_put "$SAMPLE" "plain.gcode.3mf"
PR="--host 127.0.0.1 --serial $SERIAL --code $FTPS_ACCESS_CODE --port $FTPS_PORT"
CA="--ca $FTPS_CAFILE"

# shellcheck disable=SC2086
{
fetch "ftp:///NAME with spaces and ;" ok "$SAMPLE" -- $PR $CA --url "ftp:///$N1"
fetch "ftp://NAME (two slashes)" ok "$SAMPLE" -- $PR $CA --url "ftp://$N1"
fetch "file:///sdcard/cache/ unicode name" ok "$SAMPLE" -- $PR $CA --url "file:///sdcard/cache/$N2"
fetch "file:///media/usb0/ maps to the FTPS root" ok "$SAMPLE" -- $PR $CA --url "file:///media/usb0/$N1"
fetch "percent-encoded url is decoded when the raw name is not found" ok "$SAMPLE" -- $PR $CA \
    --url "ftp:///Christmas%20Tree%20With%20Star%3B%20Size_%20M.gcode.3mf"
fetch "3 MB file, several reads, TLS session reuse on the data channel" ok "$T/random.bin" -- $PR $CA \
    --url "ftp:///cache/big one.gcode.3mf"
fetch "by name: subtask_name 'Size: M' is saved as 'Size_ M'" ok "$SAMPLE" -- $PR $CA \
    --subtask "Christmas Tree With Star; Size: M"
fetch "by name: gcode_file with .3mf in /cache" ok "$SAMPLE" -- $PR $CA --gcode-file "$N2"
fetch "by name: trailing space, in /model" ok "$SAMPLE" -- $PR $CA --subtask "Rear Dry Pod AMS 2 PRO "
fetch "by name after the url's file is missing (550)" ok "$SAMPLE" -- $PR $CA \
    --url "ftp:///cache/gone.3mf" --subtask "plain"
fetch "X1 RAM-disk gcode_file is ignored, subtask_name used" ok "$SAMPLE" -- $PR $CA \
    --gcode-file /data/Metadata/plate_1.gcode --subtask plain

fetch "missing file: 550, nothing left" "error not_found" -- $PR $CA --url "ftp:///nope; x.gcode.3mf"
contains "missing file: message says 550" "(550)"
mkdir -p "$T/dl" && echo stale >"$T/dl/out"
out=$(timeout "$TIMEOUT" "$TOOL" $PR $CA --url "ftp:///nope.3mf" "$T/dl/out" 2>&1)
if [ -e "$T/dl/out" ] || [ -e "$T/dl/out.tmp" ]; then
	fail "a failed fetch removes an old destination file" "$(ls -A "$T/dl")"
else
	pass "a failed fetch removes an old destination file"
fi
rm -rf "$T/dl" && mkdir "$T/dl" && echo precious >"$T/victim" && ln -s "$T/victim" "$T/dl/out.tmp"
out=$(timeout "$TIMEOUT" "$TOOL" $PR $CA --url "ftp:///$N1" "$T/dl/out" 2>&1)
if [ "$(cat "$T/victim")" = precious ] && cmp -s "$SAMPLE" "$T/dl/out" && [ ! -e "$T/dl/out.tmp" ]; then
	pass "a link planted at DEST.tmp is not followed"
else
	fail "a link planted at DEST.tmp is not followed" "$out; victim: $(cat "$T/victim" | head -c 40)"
fi
fetch "by name: nothing matches" "error not_found" -- $PR $CA --subtask "no such print"
contains "by name: message names what was looked for" "no such print"
fetch "wrong access code: 530" "error auth" -- --host 127.0.0.1 --serial $SERIAL --code wrong-code \
    --port $FTPS_PORT $CA --url "ftp:///$N1"
contains "wrong access code: message says 530" "530"
case $out in
*wrong-code*) fail "access code not in the message" "$out" ;;
*) pass "access code not in the message" ;;
esac
fetch "certificate for another serial is refused" "error tls" -- --host 127.0.0.1 \
    --serial 01S00A000000002 --code $FTPS_ACCESS_CODE --port $FTPS_PORT $CA --url "ftp:///$N1"
contains "wrong serial: message names the serial" "01S00A000000002"
fetch "wrong serial with insecure: accepted" ok "$SAMPLE" -- --host 127.0.0.1 --serial 01S00A000000002 \
    --code $FTPS_ACCESS_CODE --port $FTPS_PORT --insecure --url "ftp:///$N1"
certs_ca "$T/otherca" "Another CA" >/dev/null 2>&1
fetch "certificate from another CA is refused" "error tls" -- $PR --ca "$T/otherca/ca.crt" --url "ftp:///$N1"
fetch "no CA bundle and not insecure: refused" "error usage" -- $PR --url "ftp:///$N1"
fetch "file larger than the cap" "error too_large" -- $PR $CA --max 1000 --url "ftp:///$N1"
fetch "host is not a URL" "error usage" -- --host "ftp://x/" --serial $SERIAL --code c $CA --url "ftp:///$N1"
PORT_DOWN=$(harness_free_port)
fetch "unreachable printer" "error unreachable" -- --host 127.0.0.1 --serial $SERIAL \
    --code $FTPS_ACCESS_CODE --port "$PORT_DOWN" $CA --url "ftp:///$N1"

# The P2S case: a server that offers TLS 1.3 breaks session reuse; the cap at 1.2 keeps it working.
if FTPS_TLS_MAX=1.3 FTPS_CERTS=$T/certs ftps_start "$SERIAL" >"$T/ftps13.log" 2>&1; then
	ftps_put "$SAMPLE" "$N1"
	fetch "server offering TLS 1.3: fetch stays on 1.2 and works" ok "$SAMPLE" -- --host 127.0.0.1 \
	    --serial $SERIAL --code $FTPS_ACCESS_CODE --port $FTPS_PORT $CA --url "ftp:///$N1"
	ftps_stop "$FTPS_DIR"
else
	fail "TLS 1.3 FTPS server starts" "$(cat "$T/ftps13.log")"
fi
}

# --- the cloud: HTTPS ---
mkdir -p "$T/www"
cp "$SAMPLE" "$T/www/model.3mf"
cp "$T/random.bin" "$T/www/random.bin"
python3 tests/worker/https_server.py "$T/certs/https.crt" "$T/certs/https.key" "$T/www" "$T/https.port" \
    >"$T/https.log" 2>&1 &
HTTPS_PID=$!
n=0
while [ ! -s "$T/https.port" ] && [ "$n" -lt 100 ]; do
	n=$((n + 1))
	sleep 0.05
done
HP=$(cat "$T/https.port" 2>/dev/null)
H="https://localhost:$HP"
HCA="--https-ca $T/certs/ca.crt"
# shellcheck disable=SC2086
{
fetch "https: presigned-style URL" ok "$SAMPLE" -- $HCA --url "$H/files/model.3mf?X-Amz-Signature=SECRET1"
fetch "https: 3 MB without Content-Length" ok "$T/random.bin" -- $HCA --url "$H/stream/random.bin"
fetch "https: 5 redirects are followed" ok "$SAMPLE" -- $HCA --url "$H/redirect/5/model.3mf"
fetch "https: 6 redirects are refused" "error other" -- $HCA --url "$H/redirect/6/model.3mf"
fetch "https: redirect to http:// is refused" "error other" -- $HCA --url "$H/to-http/model.3mf"
fetch "https: over the cap (Content-Length)" "error too_large" -- $HCA --max 1000 --url "$H/files/model.3mf"
fetch "https: over the cap (streamed)" "error too_large" -- $HCA --max 1000 --url "$H/stream/random.bin"
fetch "https: 404" "error not_found" -- $HCA --url "$H/files/none.3mf"
fetch "https: 403 (expired link)" "error other" -- $HCA --url "$H/status/403?X-Amz-Signature=SECRET2"
contains "https: message says 403" "HTTP 403"
case $out in
*SECRET*|*status*) fail "https: the URL's path and query are not in the message" "$out" ;;
*) pass "https: the URL's path and query are not in the message" ;;
esac
fetch "https: 403, then found by name on the printer" ok "$SAMPLE" -- $HCA $PR $CA \
    --url "$H/status/403?X-Amz-Signature=S" --subtask "Christmas Tree With Star; Size: M"
fetch "https: server certificate not trusted" "error tls" -- --url "$H/files/model.3mf"
start=$(date +%s)
fetch "https: stalled transfer stops at the low-speed limit" "error slow" -- $HCA --low-speed-s 2 \
    --url "$H/slow/random.bin"
took=$(($(date +%s) - start))
if [ "$took" -le 10 ]; then
	pass "https: stall detected in ${took}s (limit 2 s)"
else
	fail "https: stall detected quickly" "took ${took}s"
fi
fetch "no url and no name" "error usage" -- $PR $CA
fetch "unknown url scheme, no name" "error usage" -- $PR $CA --url "brtc://x"
}

tap_done
