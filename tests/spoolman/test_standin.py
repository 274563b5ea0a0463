#!/usr/bin/env python3
# Self-test of the Spoolman stand-in: starts it on free ports and checks its API, maths, auth and every fault mode.
"""Prints "ok - ..." / "not ok - ..." lines and exits 1 if any check failed. Python 3 stdlib; uses curl if present.

Run from anywhere: python3 tests/spoolman/test_standin.py
"""

import http.client
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "spoolman_standin.py")
SNAPSHOT = os.path.join(HERE, "..", "..", "..", "shared", "samples", "spoolman",
                        "openspoolman_live_snapshot_spoolman_spools.json")
CURL = shutil.which("curl")

failures = 0
count = 0


def check(name, cond, detail=""):
    global failures, count
    count += 1
    if cond:
        print("ok - %s" % name)
    else:
        failures += 1
        print("not ok - %s%s" % (name, (" # " + detail) if detail else ""))
    sys.stdout.flush()
    return cond


def skip(name, why):
    global count
    count += 1
    print("ok - %s # SKIP %s" % (name, why))


class Standin:
    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, STANDIN, "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.port = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], deadline - time.monotonic())
            if not ready:
                break
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("LISTENING "):
                self.port = int(line.split()[1])
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("stand-in did not print LISTENING: %s" % self.proc.stderr.read())
        self.base = "http://127.0.0.1:%d" % self.port

    def req(self, method, path, body=None, headers=None, raw=None, timeout=5):
        """One request on a fresh connection. Returns (status, headers dict, parsed JSON or text)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        payload = r.read()
        conn.close()
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = payload.decode("utf-8", "replace")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, parsed

    def api(self, method, path, body=None, **kw):
        return self.req(method, "/api/v1" + path, body, **kw)

    def ctl(self, method, path, body=None):
        return self.req(method, "/_control/" + path, body)[2]

    def used(self, sid):
        return next(s["used_weight"] for s in self.ctl("GET", "state")["spools"] if s["id"] == sid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()


def observe(port, method, path, body, max_time):
    """What a client sees: (rc, http_code, body) with curl's exit codes (0, 7, 28, 52, 56).

    Uses curl when installed, else a socket client that maps outcomes onto the same codes."""
    if CURL:
        cmd = [CURL, "-s", "-S", "--max-time", str(max_time), "-X", method, "-o", "-", "-w", "\n%{http_code}",
               "http://127.0.0.1:%d%s" % (port, path)]
        if body is not None:
            cmd[1:1] = ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=max_time + 10)
        out, _, code = p.stdout.rpartition("\n")
        return p.returncode, int(code or 0), out
    data = json.dumps(body).encode() if body is not None else b""
    msg = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
           "Connection: close\r\n\r\n" % (method, path, port, len(data))).encode() + data
    deadline = time.monotonic() + max_time
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=max_time)
    except ConnectionRefusedError:
        return 7, 0, ""
    except socket.timeout:
        return 28, 0, ""
    chunks = []
    try:
        s.sendall(msg)
        while True:
            s.settimeout(max(deadline - time.monotonic(), 0.001))
            c = s.recv(65536)
            if not c:
                break
            chunks.append(c)
    except socket.timeout:
        return 28, 0, ""
    except ConnectionResetError:
        return 56, 0, ""
    finally:
        s.close()
    raw = b"".join(chunks)
    if not raw:
        return 52, 0, ""
    head, _, payload = raw.partition(b"\r\n\r\n")
    return 0, int(head.split()[1]), payload.decode("utf-8", "replace")


def main():
    t0 = time.monotonic()
    sm = Standin()
    check("starts on a free port and prints LISTENING <port>", sm.port > 0)

    st, _, body = sm.api("GET", "/info")
    check("GET /info says 0.26.1 with external_db_name", st == 200 and body.get("version") == "0.26.1"
          and body.get("external_db_name") == "SpoolmanDB", str(body))
    check("GET /health", sm.api("GET", "/health")[2] == {"status": "healthy"})

    # -- /use maths --
    st, _, s = sm.api("PUT", "/spool/2/use", {"use_weight": 2.5})
    check("use_weight 2.5 g: used 2.5, remaining 997.5, first/last_used set",
          st == 200 and s["used_weight"] == 2.5 and s["remaining_weight"] == 997.5
          and "first_used" in s and "last_used" in s, str(s)[:200])
    st, _, s = sm.api("PUT", "/spool/1/use", {"use_length": 1000})
    check("use_length 1000 mm of 1.75 mm PLA at 1.24 gives exactly 2.9825495255018097 g",
          st == 200 and s["used_weight"] == 2.9825495255018097, repr(s.get("used_weight")))
    check("derived fields as the real server: remaining 997.0174504744982, used_length 1000.0, "
          "remaining_length 334283.61941676436",
          s["remaining_weight"] == 997.0174504744982 and s["used_length"] == 1000.0
          and s["remaining_length"] == 334283.61941676436, str(s)[:300])
    check("spool response has nested filament with vendor and an extra dict",
          s["filament"]["vendor"]["name"] == "Bambu Lab" and isinstance(s["extra"], dict)
          and s["filament"]["density"] == 1.24 and s["filament"]["diameter"] == 1.75)
    st, _, s = sm.api("PUT", "/spool/1/use", {"use_weight": -5000})
    check("negative use clamps used_weight at 0", st == 200 and s["used_weight"] == 0.0, str(s.get("used_weight")))
    st, _, s = sm.api("PUT", "/spool/3/use", {"use_weight": 1500})
    check("over-consumption allowed: used 1500, remaining_weight 0",
          st == 200 and s["used_weight"] == 1500.0 and s["remaining_weight"] == 0.0)
    st, _, b = sm.api("PUT", "/spool/1/use", {"use_weight": 1, "use_length": 1})
    check("both use_weight and use_length: 400 with the documented message",
          st == 400 and b == {"message": "Only specify either use_weight or use_length."}, str(b))
    st, _, b = sm.api("PUT", "/spool/1/use", {})
    check("neither: 400 with the documented message",
          st == 400 and b == {"message": "Either use_weight or use_length must be specified."}, str(b))
    st, _, s = sm.api("PUT", "/spool/4/measure", {"weight": 1040})
    check("measure 1040 g gross (1000 net + 140 tare) uses 100 g", st == 200 and s["used_weight"] == 100.0,
          str(s.get("used_weight")))
    st, _, s = sm.api("PUT", "/spool/4/measure", {"weight": 1240})
    check("measure above the full gross weight resets initial_weight to 1100 and used to 0",
          st == 200 and s["initial_weight"] == 1100.0 and s["used_weight"] == 0.0, str(s.get("initial_weight")))

    # -- 404 / 405 / 422 shapes --
    st, _, b = sm.api("GET", "/spool/999")
    check("missing spool: 404 {\"message\":\"No spool with ID 999 found.\"}",
          st == 404 and b == {"message": "No spool with ID 999 found."}, str(b))
    st, _, b = sm.api("PUT", "/spool/999/use", {"use_length": 5})
    check("use_length on a missing spool: 404 Filament not found for spool.",
          st == 404 and b == {"message": "Filament not found for spool."}, str(b))
    st, _, b = sm.api("GET", "/nope")
    check("unknown route: 404 {\"detail\":\"Not Found\"}", st == 404 and b == {"detail": "Not Found"}, str(b))
    st, h, b = sm.api("POST", "/spool/1/use", {"use_weight": 1})
    check("wrong method: 405 with allow: PUT", st == 405 and b == {"detail": "Method Not Allowed"}
          and h.get("allow") == "PUT", "%s %s" % (st, h.get("allow")))
    st, _, b = sm.api("PUT", "/spool/1/use", {"use_weight": "abc"})
    check("string for a number: 422 float_parsing (pydantic v2 shape)", st == 422 and b == {"detail": [{
        "type": "float_parsing", "loc": ["body", "use_weight"],
        "msg": "Input should be a valid number, unable to parse string as a number", "input": "abc"}]}, str(b))
    st, _, b = sm.api("PUT", "/spool/1/use", raw=b'{"use_weight":', headers={"Content-Type": "application/json"})
    check("malformed JSON: 422 json_invalid at loc [body, 14]", st == 422 and b == {"detail": [{
        "type": "json_invalid", "loc": ["body", 14], "msg": "JSON decode error", "input": {},
        "ctx": {"error": "Expecting value"}}]}, str(b))
    st, _, b = sm.api("PUT", "/spool/1/use", raw=b"use_weight=1",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    check("form-encoded body: 422 model_attributes_type",
          st == 422 and b["detail"][0]["type"] == "model_attributes_type", str(b))
    st, _, b = sm.api("GET", "/spool/abc")
    check("non-integer id: 422 int_parsing at loc [path, spool_id]",
          st == 422 and b["detail"][0]["type"] == "int_parsing" and b["detail"][0]["loc"] == ["path", "spool_id"])
    st, _, b = sm.api("PATCH", "/spool/1", {"used_weight": -1})
    check("PATCH used_weight -1: 422 greater_than_equal", st == 422 and b["detail"][0]["type"] == "greater_than_equal")

    # -- extra fields --
    st, _, b = sm.api("POST", "/field/spool/tag", {"name": "RFID tag", "field_type": "text"})
    check("POST /field/spool/tag is an idempotent upsert returning the field list",
          st == 200 and [f["key"] for f in b] == ["tag"] and b[0]["entity_type"] == "spool", str(b))
    st, h, _ = sm.api("GET", "/field/spool/tag")
    check("GET /field/spool/{key} is 405 (allow: POST), as in the real routing", st == 405 and h.get("allow") == "POST")
    check("GET /field/spool lists definitions", sm.api("GET", "/field/spool")[2][0]["key"] == "tag")
    st, _, b = sm.api("PATCH", "/spool/2", {"extra": {"tag": "abc"}})
    check("extra value not JSON-encoded: 400 Invalid extra field for key tag: Value is not valid JSON.",
          st == 400 and b == {"message": "Invalid extra field for key tag: Value is not valid JSON."}, str(b))
    st, _, b = sm.api("PATCH", "/spool/2", {"extra": {"nope": "1"}})
    check("unknown extra key: 400 Unknown extra field nope.", st == 400 and b == {"message": "Unknown extra field nope."})
    st, _, s = sm.api("PATCH", "/spool/2", {"extra": {"tag": json.dumps("TAG-2")}})
    check("PATCH extra stores the JSON-encoded string", st == 200 and s["extra"] == {"tag": "\"TAG-2\""}, str(s.get("extra")))

    # -- find --
    st, h, b = sm.api("GET", "/spool?extra.tag=%22TAG-2%22")
    check("0.26.1: extra.tag=\"TAG-2\" filter finds exactly spool 2",
          st == 200 and [x["id"] for x in b] == [2] and h.get("x-total-count") == "1", str([x["id"] for x in b]))
    st, h, b = sm.api("GET", "/spool?filament.material=petg")
    check("filament.material filter (case-insensitive)", [x["id"] for x in b] == [3, 4])
    st, h, b = sm.api("GET", "/spool?filament.name=white,%22PETG%20HF%20Blue%22")
    check("filament.name filter: partial OR exact-in-quotes", [x["id"] for x in b] == [2, 3], str([x["id"] for x in b]))
    st, h, b = sm.api("GET", "/spool?limit=2&offset=1&sort=id:desc")
    check("limit=2&offset=1&sort=id:desc gives [3,2] with x-total-count 4",
          [x["id"] for x in b] == [3, 2] and h.get("x-total-count") == "4")
    st, _, b = sm.api("GET", "/spool?sort=id")
    check("bad sort: 400 with a message", st == 400 and "message" in b, str(b))
    st, _, new = sm.api("POST", "/spool", {"filament_id": 1, "archived": True, "location": "Shelf B"})
    check("POST /spool creates with filament defaults (initial 1000, tare 250)",
          st == 200 and new["initial_weight"] == 1000.0 and new["spool_weight"] == 250.0 and new["id"] == 5)
    ids = [x["id"] for x in sm.api("GET", "/spool")[2]]
    ids_all = [x["id"] for x in sm.api("GET", "/spool?allow_archived=true")[2]]
    check("archived spools hidden unless allow_archived=true", 5 not in ids and 5 in ids_all)
    check("location filter", [x["id"] for x in sm.api("GET", "/spool?location=shelf&allow_archived=1")[2]] == [5])

    # -- odd numbers, as the real server --
    sm.api("PUT", "/spool/2/use", raw=b'{"use_weight": NaN}', headers={"Content-Type": "application/json"})
    check("quirk kept: use_weight NaN resets used_weight to 0", sm.used(2) == 0.0)
    sm.api("PUT", "/spool/2/use", raw=b'{"use_weight": Infinity}', headers={"Content-Type": "application/json"})
    st, h, b = sm.api("GET", "/spool")
    check("quirk kept: after Infinity, GET /spool is a plain-text 500",
          st == 500 and b == "Internal Server Error" and h.get("content-type", "").startswith("text/plain"))
    sm.api("PATCH", "/spool/2", {"used_weight": 0})
    check("PATCH used_weight repairs it", sm.api("GET", "/spool")[0] == 200)

    # -- request log --
    log = sm.ctl("GET", "log")["entries"]
    first = next(e for e in log if e["path"] == "/api/v1/spool/2/use")
    check("request log records method, path, body, time, status and outcome",
          first["method"] == "PUT" and first["body"] == {"use_weight": 2.5} and isinstance(first["time"], float)
          and first["status"] == 200 and first["outcome"] == "applied" and first["delivery"] == "sent", str(first))
    bad = next(e for e in log if e["path"] == "/api/v1/spool/1/use" and e["status"] == 400)
    check("a refused /use is logged not_applied", bad["outcome"] == "not_applied")

    # -- faults --
    sm.ctl("POST", "reset")
    check("reset restores the seed and clears the log", sm.used(1) == 0.0 and sm.ctl("GET", "log")["entries"] == [])
    use = {"use_weight": 2.0}

    sm.ctl("POST", "fault", {"mode": "refuse", "count": 1, "path_regex": "/use$"})
    rc, code, _ = observe(sm.port, "PUT", "/api/v1/spool/1/use", use, 3)
    check("refuse: client sees a connection reset (rc 56), nothing applied", rc == 56 and sm.used(1) == 0.0,
          "rc=%s used=%s" % (rc, sm.used(1)))
    last = sm.ctl("GET", "log")["entries"][-1]
    check("refuse: logged with fault=refuse, not_applied, delivery=reset",
          last["fault"] == "refuse" and last["outcome"] == "not_applied" and last["delivery"] == "reset", str(last))
    rc, code, _ = observe(sm.port, "PUT", "/api/v1/spool/1/use", use, 3)
    check("count=1: the next request goes through", rc == 0 and code == 200 and sm.used(1) == 2.0)

    sm.ctl("POST", "fault", {"mode": "500", "count": 1, "path_regex": "/use$"})
    rc, code, out = observe(sm.port, "PUT", "/api/v1/spool/1/use", use, 3)
    check("500: answered 500 Internal Server Error, not applied",
          rc == 0 and code == 500 and out == "Internal Server Error" and sm.used(1) == 2.0, "%s %s %r" % (rc, code, out))

    sm.ctl("POST", "fault", {"mode": "apply_then_drop", "count": 1, "path_regex": "/use$"})
    rc, code, _ = observe(sm.port, "PUT", "/api/v1/spool/1/use", use, 3)
    check("apply_then_drop: client gets an empty reply (rc 52)", rc == 52, "rc=%s" % rc)
    check("apply_then_drop: the use really was applied (state shows 4.0)", sm.used(1) == 4.0, str(sm.used(1)))
    last = sm.ctl("GET", "log")["entries"][-1]
    check("apply_then_drop: logged applied, delivery=dropped, with before/after weights",
          last["outcome"] == "applied" and last["delivery"] == "dropped"
          and last["used_weight_before"] == 2.0 and last["used_weight_after"] == 4.0, str(last))

    sm.ctl("POST", "fault", {"mode": "delay", "delay_s": 1.5, "count": 1, "path_regex": "/use$"})
    t = time.monotonic()
    rc, code, _ = observe(sm.port, "PUT", "/api/v1/spool/1/use", use, 0.5)
    check("delay past the client timeout: client times out (rc 28)", rc == 28 and time.monotonic() - t < 1.4,
          "rc=%s" % rc)
    check("delay (after_apply): applied although the client gave up", sm.used(1) == 6.0, str(sm.used(1)))

    sm.ctl("POST", "fault", {"mode": "delay", "delay_s": 0.8, "when": "before_apply", "count": 1,
                             "path_regex": "/use$"})
    rc, code, _ = observe(sm.port, "PUT", "/api/v1/spool/1/use", use, 0.3)
    before = sm.used(1)
    time.sleep(0.8)
    check("delay before_apply: client times out, the use lands later",
          rc == 28 and before == 6.0 and sm.used(1) == 8.0, "rc=%s %s %s" % (rc, before, sm.used(1)))

    sm.ctl("POST", "fault", {"mode": "404", "count": 1, "path_regex": "/use$"})
    rc, code, out = observe(sm.port, "PUT", "/api/v1/spool/1/use", use, 3)
    check("404: answered as if the spool were deleted, not applied",
          code == 404 and json.loads(out) == {"message": "No spool with ID 1 found."} and sm.used(1) == 8.0, out)
    sm.ctl("POST", "fault", {"mode": "not_json", "count": 1, "path_regex": "/spool/1$"})
    rc, code, out = observe(sm.port, "GET", "/api/v1/spool/1", None, 3)
    check("not_json: 200 with the web client's index.html, not JSON",
          code == 200 and out.startswith("<!doctype html>"), out[:80])
    sm.ctl("POST", "fault", {"mode": "not_json", "style": "truncated", "count": 1, "path_regex": "/spool/1$"})
    rc, code, out = observe(sm.port, "GET", "/api/v1/spool/1", None, 3)
    check("not_json truncated: 200 with JSON cut short",
          code == 200 and out.startswith("[{") and not out.endswith("]"), out[:80])
    sm.ctl("POST", "fault", {"mode": "500", "path_regex": "/use$"})
    faults = sm.ctl("POST", "fault", {"mode": "none"})["faults"]
    rc, code, _ = observe(sm.port, "PUT", "/api/v1/spool/1/use", use, 3)
    check("mode none clears all faults", faults == [] and code == 200 and sm.used(1) == 10.0)
    sm.ctl("POST", "fault", {"mode": "500", "path_regex": "/use$"})
    st, _, s = sm.api("GET", "/spool/1")
    check("path_regex confines a fault: read-back GET still answers", st == 200 and s["used_weight"] == 10.0)
    sm.ctl("POST", "fault", {"mode": "none"})

    # The libcurl trap (reliability.md E4): a PUT on a reused connection that dies after the apply.
    if CURL:
        sm.ctl("POST", "fault", {"mode": "apply_then_drop", "count": 1, "path_regex": "/use$"})
        seq0 = sm.ctl("GET", "log")["last_seq"]
        p = subprocess.run([CURL, "-s", "-o", "/dev/null", sm.base + "/api/v1/health", "--next", "-s", "-o",
                            "/dev/null", "-X", "PUT", "-H", "Content-Type: application/json", "--data",
                            '{"use_weight":1}', sm.base + "/api/v1/spool/4/use"], capture_output=True, timeout=20)
        puts = [e for e in sm.ctl("GET", "log?since=%d" % seq0)["entries"] if e["method"] == "PUT"]
        applied = sum(1 for e in puts if e["outcome"] == "applied")
        check("reused connection: every PUT attempt is visible in the log and applied in the state",
              puts and puts[0]["conn_req"] == 2 and puts[0]["delivery"] == "dropped"
              and sm.used(4) == float(applied), str(puts))
        print("# curl %s re-sent the PUT on a fresh connection (rc %d, applied %d time(s))"
              % ("silently" if len(puts) == 2 and p.returncode == 0 else "did not", p.returncode, applied))
        sm.ctl("POST", "fault", {"mode": "none"})
    else:
        skip("reused connection (libcurl re-send)", "curl not installed")

    sm.ctl("POST", "down", {"seconds": 1.0})
    time.sleep(0.3)
    rc, _, _ = observe(sm.port, "GET", "/api/v1/health", None, 2)
    check("down: connections refused (rc 7)", rc == 7, "rc=%s" % rc)
    time.sleep(1.2)
    st, _, _ = sm.api("GET", "/health")
    check("down: back on the same port after the period, state kept", st == 200 and sm.used(1) == 10.0)

    rc = sm.stop()
    check("SIGTERM exits cleanly with status 0", rc == 0, "rc=%s" % rc)

    # -- 0.22.1 mode --
    old = Standin("--version", "0.22.1")
    b = old.api("GET", "/info")[2]
    check("0.22.1: /info version 0.22.1 without external_db_name",
          b.get("version") == "0.22.1" and "external_db_name" not in b, str(b))
    st, h, b = old.api("GET", "/spool?extra.tag=%22NOPE%22")
    check("0.22.1: extra.tag filter ignored like any unknown query parameter",
          st == 200 and h.get("x-total-count") == "4" and len(b) == 4)
    st, _, b = old.api("PATCH", "/spool/1", {"extra": {"tag": None}})
    check("0.22.1: a null extra value is a 422 (0.26 deletes the key)", st == 422 and b["detail"][0]["type"] == "string_type")
    listing = old.api("GET", "/spool?allow_archived=true")[2]
    old.stop()

    # -- seeds: the plain list form, and the real snapshot's wrapper --
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(listing, fh)
        seed_path = fh.name
    try:
        seeded = Standin("--seed", seed_path)
        again = seeded.api("GET", "/spool?allow_archived=true")[2]
        seeded.stop()
        check("--seed with a GET /spool list reproduces that list exactly", again == listing)
    finally:
        os.unlink(seed_path)
    if os.path.exists(SNAPSHOT):
        with open(SNAPSHOT, encoding="utf-8") as fh:
            real = json.load(fh)["spools"]
        snap = Standin("--seed", SNAPSHOT, "--version", "0.22.1")
        got = {s["id"]: s for s in snap.api("GET", "/spool?allow_archived=true")[2]}
        snap.stop()
        same = all({k: v for k, v in s.items() if k != "cost_per_gram"} == got.get(s["id"]) for s in real)
        check("--seed with the real snapshot: all %d spools served as the real server did" % len(real),
              same and len(got) == len(real))
    else:
        skip("--seed with the real snapshot", "snapshot not found")

    # -- basic auth --
    au = Standin("--user", "spool", "--password", "s3cret")
    st, h, _ = au.api("GET", "/health")
    check("basic auth: no credentials gives 401 with WWW-Authenticate",
          st == 401 and h.get("www-authenticate", "").startswith("Basic"))
    import base64
    wrong = {"Authorization": "Basic " + base64.b64encode(b"spool:nope").decode()}
    right = {"Authorization": "Basic " + base64.b64encode(b"spool:s3cret").decode()}
    check("basic auth: wrong password gives 401", au.api("GET", "/health", headers=wrong)[0] == 401)
    check("basic auth: right password gives 200", au.api("GET", "/health", headers=right)[0] == 200)
    au.stop()

    took = time.monotonic() - t0
    check("self-test finished in well under a minute (%.1f s)" % took, took < 30)
    print("# %d checks, %d failed" % (count, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
