#!/bin/sh
# tests/printer/test_printer_sim.sh: self-test of the printer simulator and its real servers; prints ok/not ok lines.
#
#   SIM=build/tests/printer_sim sh tests/printer/test_printer_sim.sh
#
# Starts a test CA (tests/harness/certs.sh), a real mosquitto with TLS and the bblp password
# (tests/harness/broker.sh) and a real vsftpd with implicit FTPS (tests/harness/ftps.sh), then plays a real
# two-colour sample with the simulator and checks, from a TLS subscriber (mosquitto_sub with the test CA):
# the full report answering pushall, the project_file echo with ams_mapping, layer_num rising to the last
# layer, mc_percent following the engine's marks, tray_now changes, FINISH; a FAILED print whose
# layer_num/mc_percent drop to 0 afterwards; a screen-started print without mapping; a disconnect that
# really stops and restarts the broker (--down-cmd/--up-cmd).  Over FTPS: the served 3MF, with spaces, ';'
# and unicode in its name, downloads byte for byte with the certificate checked against the serial.  A
# wrong access code is refused by both servers.  Skips (exit 0, "skipped: ...") only when mosquitto or
# vsftpd is missing or cannot be used here.  Needs python3 and ../shared/samples.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
SIM=${SIM:-build/tests/printer_sim}
SAMPLE=$ROOT/../shared/samples/gcode/estampo_reference_P1S_BS2.5_2color_T0T3.gcode.3mf
SERIAL=01S00A000000001
CODE=12345678
FTPNAME="Christmas Tree With Star; Size_ M.gcode.3mf"
UNINAME="Ünïcödé 星; plate.3mf"

if [ ! -x "$SIM" ]; then
	echo "not ok - $SIM is not an executable (make $SIM)"
	exit 1
fi
if [ ! -f "$SAMPLE" ]; then
	echo "not ok - sample $SAMPLE is missing"
	exit 1
fi

. tests/harness/certs.sh
. tests/harness/broker.sh
. tests/harness/ftps.sh

if ! broker_available; then
	echo "skipped: $broker_why"
	exit 0
fi
have_ftps=1
if ! ftps_available; then
	echo "skipped (FTPS part): $ftps_why"
	have_ftps=0
fi

T=$(mktemp -d) || exit 1
SIMPID=
SUBPID=
cleanup()
{
	[ -n "$SIMPID" ] && kill "$SIMPID" 2>/dev/null
	[ -n "$SUBPID" ] && kill "$SUBPID" 2>/dev/null
	exec 3>&- 2>/dev/null
	broker_stop
	ftps_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. tests/harness/tap.sh
check()
{
	_name=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then
		pass "$_name"
	else
		fail "$_name" "$(tail -n 5 "$T/check.out")"
	fi
}

# wait_for FILE PATTERN SECONDS: polls until grep -E finds PATTERN in FILE; false after SECONDS.
wait_for()
{
	_n=0
	_max=$(($3 * 20))
	while ! grep -q -E -- "$2" "$1" 2>/dev/null; do
		_n=$((_n + 1))
		[ "$_n" -lt "$_max" ] || return 1
		sleep 0.05
	done
	return 0
}

# mqtt_pub TOPIC MESSAGE [PASSWORD]: one TLS publish with the test CA.
mqtt_pub()
{
	timeout 10 mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" --cafile "$BROKER_CAFILE" --insecure \
	    -u bblp -P "${3:-$CODE}" -i "test-pub-$$" -t "$1" -m "$2"
}

# start_sub FILE: a TLS subscriber of every printer's reports, -v output into FILE; waits until it receives.
start_sub()
{
	timeout 120 mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" --cafile "$BROKER_CAFILE" --insecure \
	    -u bblp -P "$CODE" -i "test-sub-$$" -t 'device/+/report' -v >"$1" 2>"$1.err" &
	SUBPID=$!
	_i=0
	while :; do
		_i=$((_i + 1))
		mqtt_pub device/MARKER/report "marker $_i" >/dev/null 2>&1
		wait_for "$1" "^device/MARKER/report marker" 1 && return 0
		[ "$_i" -lt 20 ] || return 1
	done
}

stop_sub()
{
	[ -n "$SUBPID" ] && kill "$SUBPID" 2>/dev/null
	wait "$SUBPID" 2>/dev/null
	SUBPID=
}

# --- servers ----------------------------------------------------------------------------------------
certs_make "$T/certs" "$SERIAL" >"$T/certs.log" 2>&1 || {
	fail "certs.sh makes a CA and a certificate for $SERIAL" "$(cat "$T/certs.log")"
	exit 1
}
check "the certificate names the serial (CN and DNS SAN) and verifies against the test CA" \
    openssl verify -x509_strict -CAfile "$T/certs/ca.crt" -verify_hostname "$SERIAL" "$T/certs/server.crt"
if openssl verify -CAfile "$T/certs/ca.crt" -verify_ip 127.0.0.1 "$T/certs/server.crt" >/dev/null 2>&1; then
	fail "the certificate has no IP address (a host name check against 127.0.0.1 must fail)"
else
	pass "the certificate has no IP address (a host name check against 127.0.0.1 fails)"
fi

if ! BROKER_CERTS=$T/certs BROKER_ACCESS_CODE=$CODE broker_start "$SERIAL" 2>"$T/broker.err"; then
	if grep -q -i "not found" "$T/broker.err"; then
		echo "skipped: the broker cannot start: $(head -n 1 "$T/broker.err")"
		exit 0
	fi
	fail "broker.sh starts mosquitto with TLS" "$(cat "$T/broker.err")"
	exit 1
fi
pass "broker.sh starts mosquitto with TLS on port $BROKER_PORT"

s_client()
{
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername "$SERIAL" \
	    -verify_hostname "$SERIAL" -CAfile "$T/certs/ca.crt" -verify_return_error "$2" 2>&1
}
if s_client "$BROKER_PORT" -tls1_2 | grep -q "Verify return code: 0 (ok)"; then
	pass "broker: TLS 1.2, certificate verified with the serial as host name"
else
	fail "broker: TLS 1.2, certificate verified with the serial as host name" \
	    "$(s_client "$BROKER_PORT" -tls1_2 | tail -n 3)"
fi
if s_client "$BROKER_PORT" -tls1_3 | grep -q -E "Protocol *: TLSv1.3|New, TLSv1.3"; then
	fail "broker: TLS 1.3 refused (printers speak TLS 1.2)"
else
	pass "broker: TLS 1.3 refused (printers speak TLS 1.2)"
fi
if mqtt_pub test/x y wrongcode >"$T/wrong.out" 2>&1; then
	fail "broker refuses a wrong access code"
elif grep -q -i "not authori" "$T/wrong.out"; then
	pass "broker refuses a wrong access code (not authorised)"
else
	fail "broker refuses a wrong access code (not authorised)" "$(cat "$T/wrong.out")"
fi
if timeout 10 mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" --cafile "$BROKER_CAFILE" -u bblp -P "$CODE" \
    -t test/x -m y >/dev/null 2>&1; then
	fail "a client checking the host name 127.0.0.1 is refused (the name is the serial)"
else
	pass "a client checking the host name 127.0.0.1 is refused (the name is the serial)"
fi

# --- a full print -----------------------------------------------------------------------------------
start_sub "$T/sub1" || fail "mosquitto_sub receives over TLS" "$(cat "$T/sub1.err")"
mkfifo "$T/ctl"
"$SIM" --file "$SAMPLE" --name "$FTPNAME" --host 127.0.0.1 --port "$BROKER_PORT" \
    --cafile "$BROKER_CAFILE" --serial "$SERIAL" --access-code "$CODE" --speed 100 --wait \
    --exit-after 0.3 --tags <"$T/ctl" >"$T/sim1.out" 2>"$T/sim1.err" &
SIMPID=$!
exec 3>"$T/ctl"
if wait_for "$T/sim1.out" "^CONNECTED " 10; then
	pass "the simulator connects to the broker over TLS"
else
	fail "the simulator connects to the broker over TLS" "$(cat "$T/sim1.out" "$T/sim1.err")"
fi
mqtt_pub "device/$SERIAL/request" '{"pushing":{"sequence_id":"0","command":"pushall","version":1,"push_target":1}}'
wait_for "$T/sim1.out" "^PUSHALL " 10 || fail "the simulator answers pushall" "$(cat "$T/sim1.out")"
wait_for "$T/sub1" '"msg":0' 10
echo start >&3
if wait_for "$T/sim1.out" "^DONE " 30; then
	pass "the simulator plays the print to FINISH ($(grep -c '^LAYER ' "$T/sim1.out") LAYER lines)"
else
	fail "the simulator plays the print to FINISH" "$(tail -n 5 "$T/sim1.out"; cat "$T/sim1.err")"
fi
wait "$SIMPID"
st=$?
SIMPID=
exec 3>&-
if [ "$st" -eq 0 ]; then
	pass "the simulator exits 0 after --exit-after"
else
	fail "the simulator exits 0 (status $st)" "$(cat "$T/sim1.err")"
fi
wait_for "$T/sub1" '"print_type":"idle"' 5
stop_sub

"$SIM" --file "$SAMPLE" --dump >"$T/dump" 2>&1 || fail "printer_sim --dump" "$(cat "$T/dump")"

# The stream, checked with python3: every message shape the worker relies on.
cat >"$T/check1.py" <<'EOF'
import json, sys

serial, dump, sub = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []
def check(cond, name, detail=""):
    print(("ok - " if cond else "not ok - ") + name)
    if not cond:
        failures.append(name)
        if detail:
            print("#   " + str(detail)[:300])

marks = [int(l.split()[1]) for l in open(dump) if l.startswith("PERCENT ")]
layer_count = int(open(dump).readline().split("layer_count=")[1].split()[0])
msgs = []
for line in open(sub, encoding="utf-8"):
    topic, _, payload = line.rstrip("\n").partition(" ")
    if topic != "device/%s/report" % serial:
        continue
    msgs.append(json.loads(payload))
prints = [m["print"] for m in msgs if "print" in m]
full = [p for p in prints if p.get("msg") == 0]
check(len(full) >= 1 and full[0].get("command") == "push_status", "a full report (msg 0) answers pushall")
if full:
    f = full[0]
    trays = f.get("ams", {}).get("ams", [{}])[0].get("tray", [])
    check(f.get("gcode_state") == "IDLE" and "layer_num" in f and "mc_percent" in f and "wifi_signal" in f,
          "the full report has gcode_state, layer_num, mc_percent and the rest of the A1 template")
    check(len(trays) == 4 and all(t.get("tray_type") and t.get("tray_color") and "remain" in t for t in trays),
          "the full report has an AMS with 4 trays (tray_type, tray_color, remain)")
    check(all(len(t.get("tag_uid", "")) == 16 and t["tag_uid"] != "0" * 16 and len(t.get("tray_uuid", "")) == 32
              for t in trays), "--tags: trays carry RFID tag_uid and tray_uuid")
    check(trays and trays[3].get("tray_color") == "161616FF" and trays[0].get("tray_color") == "FFFFFFFF",
          "trays 0 and 3 carry the colours of slicer filaments T0 and T3")
    check(f.get("vt_tray", {}).get("id") == "254", "the full report has vt_tray 254")
echo = [p for p in prints if p.get("command") == "project_file"]
check(len(echo) == 1, "one project_file echo")
if echo:
    e = echo[0]
    shape = ["sequence_id", "command", "param", "project_id", "design_id", "model_id", "profile_id", "plate_idx",
             "task_id", "subtask_id", "subtask_name", "job_id", "md5", "timelapse", "bed_leveling", "flow_cali",
             "vibration_cali", "layer_inspect", "ams_mapping", "skip_objects", "timestamp", "dev_id", "job_type",
             "use_ams", "bed_temp", "auto_bed_leveling", "extrude_cali_flag", "nozzle_offset_cali", "ams_mapping2",
             "cfg", "extrude_cali_manual_mode", "url", "reason", "result"]
    check(list(e.keys()) == shape, "the echo has the keys of the real A1 capture, in its order", list(e.keys()))
    check(e.get("ams_mapping") == [0, -1, -1, 3, -1], "ams_mapping [0,-1,-1,3,-1] (T0 -> tray 0, T3 -> tray 3)",
          e.get("ams_mapping"))
    check(e.get("ams_mapping2", [None] * 4)[3] == {"ams_id": 0, "slot_id": 3} and
          e["ams_mapping2"][1] == {"ams_id": 255, "slot_id": 255}, "ams_mapping2 in {ams_id, slot_id} form")
    check(e.get("param") == "Metadata/plate_1.gcode" and e.get("plate_idx") == "1", "param Metadata/plate_1.gcode")
    check(e.get("url") == "ftp:///Christmas Tree With Star; Size_ M.gcode.3mf", "url ftp:///<name>", e.get("url"))
    check(len(e.get("md5", "")) == 32 and e["md5"].isupper(), "md5 of the gcode, upper case hex")
    task = e.get("task_id")
running = [p for p in prints if "layer_num" in p and p.get("msg") == 1]
layers = [p["layer_num"] for p in running]
check(layers and layers[0] == 0 and max(layers) == layer_count, "layer_num goes from 0 to %d" % layer_count,
      layers[:5])
seen = [l for i, l in enumerate(layers) if l > 0 and (i == 0 or l != layers[i - 1])]
check(seen == list(range(1, layer_count + 1)), "layer_num takes every value 1..%d in order" % layer_count)
pct = [p["mc_percent"] for p in prints if "mc_percent" in p and p.get("msg") == 1]
check(pct == sorted(pct) and pct[-1] == 100, "mc_percent never goes back and ends at 100")
check(sorted(set(pct)) == sorted(set(marks)), "mc_percent takes exactly the engine's M73 P marks",
      set(marks) ^ set(pct))
states = [p["gcode_state"] for p in prints if "gcode_state" in p and p.get("msg") == 1]
check(states == ["PREPARE", "RUNNING", "FINISH"], "gcode_state PREPARE -> RUNNING -> FINISH", states)
fin = [p for p in prints if p.get("gcode_state") == "FINISH"]
check(fin and fin[0].get("layer_num") == layer_count and fin[0].get("mc_percent") == 100,
      "FINISH reports layer_num %d and mc_percent 100" % layer_count)
now = [p["ams"]["tray_now"] for p in prints if "tray_now" in p.get("ams", {}) and p.get("msg") == 1]
check(now[:3] == ["0", "3", "0"] and now[-1] == "255" and len(now) == 53,
      "tray_now follows the 52 filament changes T0/T3 (trays 0/3), then 255", now[:6])
prep = [p for p in prints if p.get("gcode_state") == "PREPARE"]
check(prep and prep[0].get("task_id") == task and prep[0].get("print_type") == "local" and
      prep[0].get("gcode_file") == "Christmas Tree With Star; Size_ M.gcode.3mf",
      "PREPARE carries task_id, print_type local and gcode_file")
sys.exit(1 if failures else 0)
EOF
python3 "$T/check1.py" "$SERIAL" "$T/dump" "$T/sub1" >"$T/check1.out" 2>&1
cat "$T/check1.out"
npass=$((npass + $(grep -c '^ok - ' "$T/check1.out")))
nfail=$((nfail + $(grep -c '^not ok - ' "$T/check1.out")))
grep -q Traceback "$T/check1.out" && fail "the stream checker ran without an exception"

# --- faults: FAILED at a layer, a screen-started print, a disconnect that stops the broker -------------
start_sub "$T/sub2" || fail "mosquitto_sub receives over TLS (2)"
"$SIM" --file "$SAMPLE" --host 127.0.0.1 --port "$BROKER_PORT" --cafile "$BROKER_CAFILE" \
    --serial "$SERIAL" --access-code "$CODE" --speed 200 --start-after 0.2 --fail-at 30 --exit-after 0.5 \
    >"$T/sim2.out" 2>"$T/sim2.err" </dev/null
wait_for "$T/sub2" '"layer_num":0,"mc_percent":0' 5
stop_sub
failed=$(grep '^STATE FAILED ' "$T/sim2.out")
case $failed in
*"layer=30 "*) pass "--fail-at 30: STATE FAILED at layer 30 ($(echo "$failed" | cut -d' ' -f3-5))" ;;
*) fail "--fail-at 30: STATE FAILED at layer 30" "$(tail -n 5 "$T/sim2.out")" ;;
esac
fpct=$(echo "$failed" | sed -n 's/.* percent=\([0-9]*\).*/\1/p')
want="\"gcode_state\":\"FAILED\",\"print_error\":117473297,\"mc_print_stage\":\"1\","
want="$want\"layer_num\":30,\"mc_percent\":$fpct,"
if grep -q "$want" "$T/sub2"; then
	pass "FAILED report carries print_error, layer_num 30 and the last percent ($fpct)"
else
	fail "FAILED report carries print_error, layer_num 30 and the last percent" "$(grep FAILED "$T/sub2" | head -n 2)"
fi
if grep -A 20 '"gcode_state":"FAILED"' "$T/sub2" | grep -q '"layer_num":0,"mc_percent":0' &&
    ! grep -q '"layer_num":31' "$T/sub2"; then
	pass "after FAILED the firmware resets layer_num and mc_percent to 0, and no later layer is reported"
else
	fail "after FAILED the firmware resets layer_num and mc_percent to 0" "$(tail -n 5 "$T/sub2")"
fi

start_sub "$T/sub3" || fail "mosquitto_sub receives over TLS (3)"
"$SIM" --file "$SAMPLE" --name "$FTPNAME" --host 127.0.0.1 --port "$BROKER_PORT" --cafile "$BROKER_CAFILE" \
    --serial "$SERIAL" --access-code "$CODE" --speed 200 --start-after 0.2 --no-mapping --cancel-at 10 \
    --exit-after 0.2 >"$T/sim3.out" 2>"$T/sim3.err" </dev/null
wait_for "$T/sub3" '"print_type":"idle"' 5
stop_sub
if ! grep -q project_file "$T/sub3" &&
    grep -q "\"gcode_state\":\"PREPARE\".*\"task_id\":\"0\",\"subtask_id\":\"0\",$(
    )\"subtask_name\":\"$FTPNAME\".*\"print_type\":\"local\"" "$T/sub3"; then
	pass "--no-mapping: no project_file echo; task_id \"0\", print_type local, subtask_name = the file name"
else
	fail "--no-mapping: no project_file echo; task_id \"0\", print_type local" "$(grep PREPARE "$T/sub3")"
fi
if grep -q '"gcode_state":"FAILED","print_error":50348044' "$T/sub3"; then
	pass "--cancel-at: FAILED with print_error 50348044 (cancelled by the user)"
else
	fail "--cancel-at: FAILED with print_error 50348044" "$(grep FAILED "$T/sub3")"
fi

# A disconnect that takes this printer's broker down for 1.5 s, as a printer that leaves the network.
start_sub "$T/sub4" || fail "mosquitto_sub receives over TLS (4)"
"$SIM" --file "$SAMPLE" --host 127.0.0.1 --port "$BROKER_PORT" --cafile "$BROKER_CAFILE" \
    --serial "$SERIAL" --access-code "$CODE" --speed 40 --start-after 0.2 --disconnect-at 20 --for 1.5 \
    --down-cmd "sh tests/harness/broker.sh down $BROKER_DIR" --up-cmd "sh tests/harness/broker.sh up $BROKER_DIR" \
    --exit-after 0.3 >"$T/sim4.out" 2>"$T/sim4.err" </dev/null
stop_sub
if grep -q '^DISCONNECT for=1.5 layer=20 ' "$T/sim4.out" && grep -q '^LINK_UP' "$T/sim4.out" &&
    [ "$(grep -c '^CONNECTED ' "$T/sim4.out")" -eq 2 ] && grep -q '^STATE FINISH' "$T/sim4.out"; then
	pass "--disconnect-at 20 --for 1.5 with broker down/up hooks: reconnects and finishes"
else
	fail "--disconnect-at with broker hooks" "$(grep -v -E '^(PERCENT|TRAY|LAYER) ' "$T/sim4.out"; cat "$T/sim4.err")"
fi
# Layers 21..about 80 are printed while the broker is down: no subscriber can see them (the subscriber
# reconnects by itself and may see the last layers again).
if grep -q '"layer_num":20,' "$T/sub4" &&
    ! grep -q -E '"layer_num":(2[1-9]|[3-6][0-9]|70),' "$T/sub4"; then
	pass "with the broker down no subscriber sees layers 21..70: the printer left the network"
else
	fail "with the broker down no subscriber sees layers 21..70" \
	    "$(grep -o '"layer_num":[0-9]*' "$T/sub4" | tr '\n' ' ')"
fi
broker_ready "$BROKER_DIR" && pass "broker.sh up restarted the broker on the same port" ||
    fail "broker.sh up restarted the broker on the same port"

# --- FTPS ---------------------------------------------------------------------------------------------
if [ "$have_ftps" = 1 ]; then
	if FTPS_CERTS=$T/certs FTPS_ACCESS_CODE=$CODE ftps_start "$SERIAL" 2>"$T/ftps.err"; then
		pass "ftps.sh starts vsftpd with implicit FTPS on port $FTPS_PORT"
		ftps_put "$SAMPLE" "$FTPNAME"
		ftps_put "$SAMPLE" "cache/$UNINAME"
		enc()
		{
			python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"
		}
		curl_ftps()
		{
			timeout 30 curl -sS --ssl-reqd --cacert "$FTPS_CAFILE" \
			    --resolve "$SERIAL:$FTPS_PORT:127.0.0.1" --user "bblp:${CURL_CODE:-$CODE}" "$@"
		}
		if curl_ftps "ftps://$SERIAL:$FTPS_PORT/" >"$T/list" 2>"$T/list.err" &&
		    grep -q "$FTPNAME" "$T/list" && grep -q " cache$" "$T/list"; then
			pass "FTPS listing of / (certificate checked against the serial)"
		else
			fail "FTPS listing of /" "$(cat "$T/list" "$T/list.err")"
		fi
		if curl_ftps "ftps://$SERIAL:$FTPS_PORT/$(enc "$FTPNAME")" -o "$T/dl1" 2>"$T/dl1.err" &&
		    cmp -s "$T/dl1" "$SAMPLE"; then
			pass "FTPS download of \"$FTPNAME\" is byte for byte the original"
		else
			fail "FTPS download of \"$FTPNAME\"" "$(cat "$T/dl1.err")"
		fi
		if curl_ftps "ftps://$SERIAL:$FTPS_PORT/cache/$(enc "$UNINAME")" -o "$T/dl2" 2>"$T/dl2.err" &&
		    cmp -s "$T/dl2" "$SAMPLE"; then
			pass "FTPS download of /cache/\"$UNINAME\" (unicode) is byte for byte the original"
		else
			fail "FTPS download of a unicode name" "$(cat "$T/dl2.err")"
		fi
		if timeout 30 curl -sS -k --ssl-reqd --user "bblp:$CODE" "$(ftps_url "$FTPS_DIR")" >/dev/null 2>&1; then
			pass "curl -k --user bblp:CODE ftps://127.0.0.1:$FTPS_PORT/ works"
		else
			fail "curl -k --user bblp:CODE ftps://127.0.0.1:PORT/ works"
		fi
		CURL_CODE=wrongcode curl_ftps "ftps://$SERIAL:$FTPS_PORT/" >/dev/null 2>"$T/wrong.err"
		st=$?
		if [ "$st" -eq 67 ]; then
			pass "vsftpd refuses a wrong access code (curl 67, 530)"
		else
			fail "vsftpd refuses a wrong access code (curl exit $st, expected 67)" "$(cat "$T/wrong.err")"
		fi
		if grep -q "require_ssl_reuse=YES" "$FTPS_DIR/vsftpd.conf" &&
		    grep -q 'FTP response: .*"226 ' "$FTPS_DIR/vsftpd.log" &&
		    ! grep -q 'FTP response: .*"522 ' "$FTPS_DIR/vsftpd.log"; then
			pass "the data connections reused the TLS session (require_ssl_reuse=YES, no 522)"
		else
			fail "data connections reused the TLS session" \
			    "$(grep '"522 ' "$FTPS_DIR/vsftpd.log" | head -n 2)"
		fi
	else
		fail "ftps.sh starts vsftpd with implicit FTPS" "$(cat "$T/ftps.err")"
	fi
fi

tap_done
