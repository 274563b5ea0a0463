#!/bin/sh
# tests/worker/test_rfid.sh: RFID trays and spool locations end to end: tags reported by simulated printers, matched in the stand-in.
#
#   BIN=build/bin/spoolkeeper sh tests/worker/test_rfid.sh      (inside a cluster of tests/harness/pg.sh)
#
# Runs <build>/tests/worker/check_rfid (the pure logic, Check) first.
# Real parts: PostgreSQL, mosquitto (TLS, bblp password; one broker for two printers), the worker.  Simulated:
# two printers in one tests/printer/printer_sim (stdin "tag T UID [UUID]" puts a tagged spool in a tray) and
# Spoolman (tests/spoolman/spoolman_standin.py).  Everything runs twice: against stand-in 0.26.1 (the
# extra.<field> filter, the built-in field "tag") and 0.22.1 (no filter: the worker's cached listing; the field
# "sk_rfid" does not exist and the worker creates it through the field API).  The web side (409 on a tag-assigned
# tray, link-tag, the tray JSON) is tests/web/check_rfid.c.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-build/bin/spoolkeeper}
# BINDIR, WORKER, SIM, SAMPLE, CODE: the defaults of tests/harness/worker_stack.sh.
. tests/harness/worker_stack.sh
TAG2=04AABBCCDDEEFF02
TAG3=04AABBCCDDEEFF03
UUID4=0123456789ABCDEF0123456789ABCDEF

ws_need_built "$BIN" "$WORKER" "$SIM"
ws_need_servers broker

ws_tmp key
PIDS=
cleanup()
{
	exec 3>&- 2>/dev/null
	ws_kill $PIDS
	ws_stop_servers
	ws_drop_dbs $DBS
	[ -z "${KEEP_LOG:-}" ] || cp -r "$T" /tmp/rfid-logs 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TAP_TAIL=20
. tests/harness/tap.sh

# The pure parts first (tests/worker/check_rfid.c: identity, the tag list of real captures, matching, densities).
CHECK_RFID=$BINDIR/../tests/worker/check_rfid
if [ -x "$CHECK_RFID" ] && "$CHECK_RFID" >"$T/check_rfid.log" 2>&1; then
	pass "check_rfid: $(tail -n 1 "$T/check_rfid.log")"
else
	fail "check_rfid (build it: make $CHECK_RFID)" "$(cat "$T/check_rfid.log" 2>/dev/null)"
fi

ws_certs_broker SKR001 SKR002

# --- helpers (q, wait_sql, sm: tests/harness/worker_stack.sh) -----------------------------------------

# spool_field ID KEY: the spool's KEY as JSON (null when absent).
spool_field()
{
	sm GET "/spool/$1" | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin).get(sys.argv[1])))' "$2"
}

# wait_location ID TEXT SECONDS: polls until spool ID's location in the stand-in is TEXT (null: cleared).
wait_location()
{
	ws_until "$2" "$3" spool_field "$1" location
}

# patches ID LOCATION: how many PATCH /spool/ID that set LOCATION the stand-in applied (status 200).
patches()
{
	curl -s "$CTL/_control/log" | python3 -c '
import json, sys
n = 0
for e in json.load(sys.stdin)["entries"]:
    b = e.get("body")
    if e["method"] == "PATCH" and e["path"].endswith("/spool/" + sys.argv[1]) and e.get("status") == 200 \
            and isinstance(b, dict) and b.get("location") == sys.argv[2]:
        n += 1
print(n)' "$1" "$2"
}

# only_location ID: every PATCH of spool ID that Spoolkeeper sent carried the location and nothing else.
only_location()
{
	curl -s "$CTL/_control/log" | python3 -c '
import json, sys
bad = [e["body"] for e in json.load(sys.stdin)["entries"] if e["method"] == "PATCH"
       and e["path"].endswith("/spool/" + sys.argv[1]) and "spoolkeeper" in e["headers"].get("user-agent", "")
       and (not isinstance(e["body"], dict) or sorted(e["body"]) != ["location"])]
print(len(bad), bad[:3])
sys.exit(1 if bad else 0)' "$1"
}

# tray_is PRINTER TRAY: "spool|assigned_by" of the open assignment, "" when empty.
tray_is()
{
	echo "SELECT coalesce((SELECT spool_id || '|' || assigned_by FROM tray_assignments a JOIN printers p
	    ON p.id = a.printer_id WHERE p.name = '$1' AND a.tray = $2 AND valid_to IS NULL), '')"
}

# tag_is PRINTER TRAY: "state|conflict" of the tray's tag.
tag_is()
{
	echo "SELECT t.state || '|' || coalesce(t.conflict, '') FROM tray_tags t JOIN printers p ON p.id = t.printer_id
	    WHERE p.name = '$1' AND t.tray = $2"
}

say_sim()
{
	echo "$*" >&3
}

dump()
{
	echo "--- tray_tags"; q "SELECT printer_id, tray, tag, state, conflict, spool_id, attempts, last_error FROM tray_tags"
	echo "--- assignments"; q "SELECT printer_id, tray, spool_id, assigned_by, valid_to IS NULL FROM tray_assignments"
	echo "--- patches"; q "SELECT id, spool_id, location, state, attempts, last_error FROM spool_patches"
	echo "--- worker"; tail -n 12 "$T/w.$V.log"
}

check()
{
	if [ "$1" = 0 ]; then pass "$V: $2"; else fail "$V: $2" "$(dump)"; fi
}

# --- one scenario per stand-in version ------------------------------------------------------------------
scenario()
{
	V=$1
	FIELD=$2
	DB=sk_rfid_$$_$(echo "$V" | tr -d .)
	DBS="$DBS $DB"
	ws_standin "sm.$V" 300 --control-port 0 --version "$V"
	_st=$?
	PIDS="$PIDS $SMPID"
	[ "$_st" = 0 ] || { fail "$V: stand-in starts" "$(cat "$T/sm.$V.err")"; return 1; }

	psql -X -q -d postgres -c "CREATE DATABASE $DB" || return 1
	export SPOOLKEEPER_DATABASE="$PG_CONNINFO dbname=$DB"
	"$BIN" migrate >/dev/null || { fail "$V: migrate"; return 1; }
	q "INSERT INTO settings (key, value) VALUES ('spoolman_url', '$SM'), ('storage_location', 'Shelf A')"
	[ "$FIELD" = tag ] || q "INSERT INTO settings (key, value) VALUES ('rfid_field', '$FIELD')"
	for i in 1 2; do
		"$BIN" printer add --name "p$i" --host 127.0.0.1 --serial "SKR00$i" --access-code "$CODE" \
		    --mqtt-port "$BROKER_PORT" >/dev/null || { fail "$V: printer add"; return 1; }
	done
	# A measured weight on spool 2: whatever happens, Spoolkeeper never writes it back.
	sm PATCH /spool/2 '{"used_weight": 123.5}' >/dev/null || { fail "$V: stand-in PATCH"; return 1; }

	SPOOLKEEPER_CA_FILE=$T/certs/ca.crt "$WORKER" --worker-id "w-$V" --cache-dir "$T" >"$T/w.$V.log" 2>&1 &
	WPID=$!
	PIDS="$PIDS $WPID"
	rm -f "$T/sim.in"
	mkfifo "$T/sim.in" || return 1
	"$SIM" --file "$SAMPLE" --name "x.gcode.3mf" --count 2 --serial SKR --port "$BROKER_PORT,$BROKER_PORT" \
	    --cafile "$T/certs/ca.crt" --access-code "$CODE" --wait --quiet <"$T/sim.in" >"$T/sim.$V.out" \
	    2>"$T/sim.$V.err" &
	SIMPID=$!
	PIDS="$PIDS $SIMPID"
	exec 3>"$T/sim.in"
	wait_sql "SELECT count(*) FROM printer_status WHERE connected" 2 30
	check $? "both printers report (untagged trays)"

	# An unknown tag: nothing matches; the field gets created when it is missing.
	say_sim "SKR001 tag 3 04FFFFFFFFFFFF99"
	wait_sql "$(tag_is p1 3)" "unknown|" 20
	check $? "an unknown tag stays unassigned (state unknown)"
	sm GET /field/spool | grep -q "\"key\":\"$FIELD\""
	check $? "the extra field $FIELD exists in Spoolman"
	if [ "$FIELD" != tag ]; then
		curl -s "$CTL/_control/log" | grep -q "\"path\": *\"/api/v1/field/spool/$FIELD\""
		check $? "the worker created the missing field through POST /field/spool/$FIELD"
	fi
	sm PATCH /spool/2 "{\"extra\": {\"$FIELD\": \"\\\"$TAG2\\\"\"}}" >/dev/null &&
	sm PATCH /spool/3 "{\"extra\": {\"$FIELD\": \"\\\"$TAG3\\\"\"}}" >/dev/null &&
	sm PATCH /spool/4 "{\"extra\": {\"$FIELD\": \"\\\"$UUID4\\\"\"}}" >/dev/null
	check $? "tags written on spools 2-4 in the stand-in"

	# 1. A tagged spool goes in: assigned by tag, location set, the measured weight untouched.
	say_sim "SKR001 tag 0 $TAG2"
	wait_sql "$(tray_is p1 0)" "2|tag" 20
	check $? "inserting spool 2's tag assigns it to p1 tray 0 by tag"
	wait_location 2 '"p1 / AMS 1 / Slot 1"' 20
	check $? "spool 2's location becomes \"p1 / AMS 1 / Slot 1\""
	if "$BIN" tray clear p1 0 >"$T/cli.out" 2>&1 || "$BIN" tray set p1 0 1 >>"$T/cli.out" 2>&1; then
		false
	else
		grep -q "assigned by its RFID tag" "$T/cli.out" && [ "$(q "$(tray_is p1 0)")" = "2|tag" ]
	fi
	check $? "the CLI cannot change a tray assigned by tag either ($(head -c 160 "$T/cli.out"))"

	# 2. It leaves: the tray is cleared, the storage location restored.
	say_sim "SKR001 tag 0 none"
	wait_sql "$(tray_is p1 0)" "" 20
	check $? "removing the tag clears the tray"
	wait_location 2 '"Shelf A"' 20
	check $? "spool 2 goes back to \"Shelf A\" (setting storage_location)"
	[ "$(spool_field 2 used_weight)" = 123.5 ] && only_location 2 >"$T/only.txt"
	check $? "spool 2's measured used_weight 123.5 untouched; only {\"location\"} was PATCHed ($(cat "$T/only.txt"))"

	# 3. The same tag in two trays (two printers): a conflict on both, nothing assigned; one leaves: assigned.
	say_sim "SKR001 tag 1 $TAG3"
	say_sim "SKR002 tag 2 $TAG3"
	wait_sql "$(tag_is p1 1); $(tag_is p2 2)" "conflict|duplicate_tag
conflict|duplicate_tag" 20 &&
	    wait_sql "SELECT count(*) FROM tray_assignments WHERE spool_id = 3 AND valid_to IS NULL" 0 10
	check $? "a tag in two trays: duplicate_tag on both, spool 3 in neither"
	say_sim "SKR002 tag 2 none"
	wait_sql "$(tray_is p1 1)" "3|tag" 20 && wait_location 3 '"p1 / AMS 1 / Slot 2"' 20
	check $? "the duplicate leaves: p1 tray 1 gets spool 3 by tag, location \"p1 / AMS 1 / Slot 2\""

	# 4. The spool is mapped by hand in another printer: a conflict until it is taken out there.
	"$BIN" tray set p2 0 4 >/dev/null && wait_location 4 '"p2 / AMS 1 / Slot 1"' 20
	check $? "a hand mapping sets the location too (\"p2 / AMS 1 / Slot 1\")"
	say_sim "SKR001 tag 2 04DEADBEEF000001 $UUID4"
	wait_sql "$(tag_is p1 2)" "conflict|spool_in_other_tray" 20 && [ "$(q "$(tray_is p2 0)")" = "4|hand" ]
	check $? "a tag (tray_uuid) naming a spool mapped in another printer: spool_in_other_tray, not moved"
	"$BIN" tray clear p2 0 >/dev/null
	wait_sql "$(tray_is p1 2)" "4|tag" 20 && wait_location 4 '"p1 / AMS 1 / Slot 3"' 20
	check $? "taken out there by hand: p1 tray 2 gets spool 4 by its tray_uuid, location follows"

	# 5. A hand mapping, and its removal, while Spoolman is down: retried, lands once.
	"$BIN" tray set p2 1 1 >/dev/null && wait_location 1 '"p2 / AMS 1 / Slot 2"' 20
	check $? "hand mapping: spool 1 at \"p2 / AMS 1 / Slot 2\""
	curl -s -f -X POST -d '{"seconds": 4}' "$CTL/_control/down" >/dev/null
	n=0
	until curl -s "$CTL/_control/state" | grep -q '"down": *true'; do
		n=$((n + 1))
		[ "$n" -lt 100 ] || break
		sleep 0.05
	done
	"$BIN" tray clear p2 1 >/dev/null
	wait_location 1 '"Shelf A"' 40 && wait_sql "SELECT state, attempts > 1 FROM spool_patches WHERE spool_id = 1
	    ORDER BY id DESC LIMIT 1" "done|t" 10
	check $? "Spoolman down: the location job waits, is retried, lands (attempts > 1)"
	[ "$(patches 1 "Shelf A")" = 1 ]
	check $? "... exactly once (one applied PATCH with \"Shelf A\")"

	# 6. Auto-create (setting rfid_autocreate): an unknown tag becomes a new spool, the vendor and filament reused.
	q "INSERT INTO settings (key, value) VALUES ('rfid_autocreate', 'true')"
	nv=$(sm GET /vendor | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
	say_sim "SKR002 tag 0 04C0FFEE00000001"
	wait_sql "SELECT assigned_by FROM tray_assignments WHERE printer_id = 2 AND tray = 0 AND valid_to IS NULL" \
	    tag 30
	s1=$(q "SELECT spool_id FROM tray_assignments WHERE printer_id = 2 AND tray = 0 AND valid_to IS NULL")
	tray0=$(q "SELECT e FROM printer_status s, jsonb_array_elements(s.status->'trays') e
	    WHERE s.printer_id = 2 AND e->>'tray' = '0'")
	sm GET "/spool/$s1" | python3 -c '
import json, sys
sp, tray, field, nv = json.load(sys.stdin), json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
f = sp["filament"]
ok = (sp["extra"].get(field) == json.dumps("04C0FFEE00000001") and f["vendor"]["name"] == "Bambu Lab"
      and f["vendor"]["id"] == 1 and f["material"].upper() == tray["type"].upper()
      and f["color_hex"].upper() == tray["color"][:6].upper() and sp["initial_weight"] == 1000 and nv == 2)
print(sp["id"], f["id"], f["material"], f["color_hex"], sp["extra"], sp.get("initial_weight"))
sys.exit(0 if ok else 1)' "$tray0" "$FIELD" "$nv" >"$T/create1.txt" 2>&1 &&
	    [ "$(sm GET /vendor | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" = "$nv" ] &&
	    [ "$s1" -gt 4 ]
	check $? "auto-create: spool $s1 made from the tag (vendor Bambu Lab reused, material/colour/weight of the tray, the tag in $FIELD): $(cat "$T/create1.txt")"
	nf=$(sm GET /filament | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
	say_sim "SKR002 tag 0 none"
	wait_sql "$(tray_is p2 0)" "" 20
	say_sim "SKR002 tag 0 04C0FFEE00000002"
	wait_sql "SELECT assigned_by FROM tray_assignments WHERE printer_id = 2 AND tray = 0 AND valid_to IS NULL" \
	    tag 30
	s2=$(q "SELECT spool_id FROM tray_assignments WHERE printer_id = 2 AND tray = 0 AND valid_to IS NULL")
	f1=$(sm GET "/spool/$s1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["filament"]["id"])')
	f2=$(sm GET "/spool/$s2" | python3 -c 'import json, sys; print(json.load(sys.stdin)["filament"]["id"])')
	[ "$s2" != "$s1" ] && [ "$f1" = "$f2" ] &&
	    [ "$(sm GET /filament | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" = "$nf" ]
	check $? "auto-create again: spool $s2 reuses filament $f1 (no duplicate filament: $nf)"
	say_sim "SKR002 tag 1 04C0FFEE00000003"
	wait_sql "SELECT assigned_by FROM tray_assignments WHERE printer_id = 2 AND tray = 1 AND valid_to IS NULL" \
	    tag 30
	s3=$(q "SELECT spool_id FROM tray_assignments WHERE printer_id = 2 AND tray = 1 AND valid_to IS NULL")
	tray1=$(q "SELECT e FROM printer_status s, jsonb_array_elements(s.status->'trays') e
	    WHERE s.printer_id = 2 AND e->>'tray' = '1'")
	sm GET "/spool/$s3" | python3 -c '
import json, sys
sp, tray = json.load(sys.stdin), json.loads(sys.argv[1])
f = sp["filament"]
print(f)
sys.exit(0 if f["vendor"]["id"] == 1 and f["material"] == tray["type"] and f["color_hex"].upper() ==
         tray["color"][:6].upper() and f["density"] == 1.24 and f["diameter"] == 1.75 and f["weight"] == 1000
         else 1)' "$tray1" >"$T/create3.txt" 2>&1 &&
	    [ "$(sm GET /filament | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" = $((nf + 1)) ]
	check $? "auto-create with a colour no filament has: one new filament of vendor 1 ($(cat "$T/create3.txt"))"

	# How the worker looked tags up: the filter on 0.26.1, the listing (GET /spool without it) on 0.22.1.
	lookups=$(curl -s "$CTL/_control/log" | python3 -c '
import json, sys
f = l = 0
for e in json.load(sys.stdin)["entries"]:
    if e["method"] == "GET" and e["path"] == "/api/v1/spool":
        if "extra." in json.dumps(e.get("query")):
            f += 1
        else:
            l += 1
print("%d filtered, %d listings" % (f, l))')
	case "$V:$lookups" in
	0.26.1:0\ *|0.22.1:[1-9]*) check 1 "lookups: $lookups" ;;
	*) check 0 "lookups as the version allows: $lookups" ;;
	esac

	exec 3>&-
	for p in $SIMPID $WPID; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
}

scenario 0.26.1 tag
scenario 0.22.1 sk_rfid
tap_done
