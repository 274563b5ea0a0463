"""e2e_routes.py: the route table of the end-to-end API tests and the runs over it: authorization matrix, CSRF on
every state change, injection and XSS strings in every field, a crawl of every GET, and a database restart."""
import os
import subprocess

from e2e_lib import Client, PW, ok, psql

# Strings that must be stored verbatim or refused with a 4xx, never a 5xx; returned as inert JSON text.
HOSTILE = [
    "x'; DROP TABLE users; --",
    "' OR '1'='1",
    "1; SELECT pg_sleep(5)",
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "$(reboot)",
    "%00%27",
    "evil\u0000nul",
    "名前🙂",
]


def build_world(admin, ids):
    """Two printers, the members' access, a print on each, returns the ids the routes need."""
    w = {"users": ids}
    for n in (1, 2):
        r = admin.call("POST", "/api/v1/printers", {"name": f"Printer {n}", "host": f"10.0.0.{n}",
                                                    "serial": f"SERIALE2E{n}", "access_code": "12345678",
                                                    "model": "X1C"})
        ok(r.status == 201, f"admin creates printer {n}", r)
        w[f"p{n}"] = r.json["id"] if r.json else 0
    for user, printer, level in (("op", "p1", "operator"), ("view", "p2", "viewer")):
        r = admin.call("PUT", f"/api/v1/users/{ids[user]}/printers/{w[printer]}", {"access": level})
        ok(r.status == 200, f"{user} gets {level} on {printer}", r)
    for n in (1, 2):
        w[f"j{n}"] = int(psql(f"INSERT INTO print_jobs (printer_id, job_key, subtask_name, state, ended_at) "
                              f"VALUES ({w[f'p{n}']}, 'e2e:{n}', 'cube {n}', 'finished', now()) RETURNING id"))
    w["clients"] = {}
    for name in ("op", "view", "other"):
        c = Client(name)
        c.login(name, PW)
        w["clients"][name] = c
    w["clients"]["admin"] = admin
    w["clients"]["anon"] = Client("anon")
    return w


# (method, path template, body, who may: {client: expected status}); "p1"/"p2"/"j1"/"j2"/"u" are filled in.
# A member sees only their printers: every other printer and its prints are 404, as if they did not exist.
def routes(w):
    p1, p2, j1, j2 = w["p1"], w["p2"], w["j1"], w["j2"]
    uop = w["users"]["op"]
    A, D, N, U = 200, 403, 404, 401
    return [
        ("GET", "/api/v1/me", None, dict(admin=A, op=A, view=A, other=A, anon=U)),
        ("GET", "/api/v1/users", None, dict(admin=A, op=D, view=D, other=D, anon=U)),
        ("GET", f"/api/v1/users/{uop}", None, dict(admin=A, op=D, view=D, other=D, anon=U)),
        ("PATCH", f"/api/v1/users/{uop}", {"display_name": "Op"}, dict(admin=A, op=D, view=D, other=D, anon=U)),
        ("GET", "/api/v1/printers", None, dict(admin=A, op=A, view=A, other=A, anon=U)),
        ("GET", f"/api/v1/printers/{p1}", None, dict(admin=A, op=A, view=N, other=N, anon=U)),
        ("GET", f"/api/v1/printers/{p2}", None, dict(admin=A, op=N, view=A, other=N, anon=U)),
        ("PATCH", f"/api/v1/printers/{p1}", {"model": "X1C"}, dict(admin=A, op=D, view=D, other=D, anon=U)),
        ("GET", f"/api/v1/printers/{p1}/status", None, dict(admin=A, op=A, view=N, other=N, anon=U)),
        ("GET", f"/api/v1/printers/{p2}/status", None, dict(admin=A, op=N, view=A, other=N, anon=U)),
        ("GET", f"/api/v1/printers/{p1}/trays", None, dict(admin=A, op=A, view=N, other=N, anon=U)),
        ("PUT", f"/api/v1/printers/{p1}/trays/0", {"spool_id": None}, dict(admin=A, op=A, view=N, other=N, anon=U)),
        ("PUT", f"/api/v1/printers/{p2}/trays/0", {"spool_id": None}, dict(admin=A, op=N, view=D, other=N, anon=U)),
        ("GET", "/api/v1/status", None, dict(admin=A, op=A, view=A, other=A, anon=U)),
        ("GET", "/api/v1/prints", None, dict(admin=A, op=A, view=A, other=A, anon=U)),
        ("GET", f"/api/v1/prints/{j1}", None, dict(admin=A, op=A, view=N, other=N, anon=U)),
        ("GET", f"/api/v1/prints/{j2}", None, dict(admin=A, op=N, view=A, other=N, anon=U)),
        ("PATCH", f"/api/v1/prints/{j1}", {"user_id": uop}, dict(admin=A, op=A, view=N, other=N, anon=U)),
        ("PATCH", f"/api/v1/prints/{j2}", {"user_id": uop}, dict(admin=A, op=N, view=D, other=N, anon=U)),
        ("GET", "/api/v1/usage?group=day", None, dict(admin=A, op=A, view=A, other=A, anon=U)),
        ("GET", "/api/v1/outbox", None, dict(admin=A, op=D, view=D, other=D, anon=U)),
        ("GET", "/api/v1/settings", None, dict(admin=A, op=D, view=D, other=D, anon=U)),
        ("GET", "/api/v1/spools?q=PLA", None, dict(admin=A, op=A, view=A, other=A, anon=U)),
        ("GET", "/api/v1/spools/1", None, dict(admin=A, op=A, view=A, other=A, anon=U)),
        ("GET", "/api/v1/spools/lookup?code=web%2Bspoolman%3As-1", None,
         dict(admin=A, op=A, view=A, other=A, anon=U)),
        ("PUT", f"/api/v1/printers/{p1}/trays/1", {"spool_id": 2}, dict(admin=A, op=A, view=N, other=N, anon=U)),
        ("GET", "/api/v1/usage?group=spool&format=csv", None, dict(admin=A, op=A, view=A, other=A, anon=U)),
        ("GET", "/api/v1/prints?format=csv", None, dict(admin=A, op=A, view=A, other=A, anon=U)),
        ("POST", "/api/v1/settings/check", None, dict(admin=A, op=D, view=D, other=D, anon=U)),
        ("POST", "/api/v1/outbox/999999/retry", None, dict(admin=N, op=D, view=D, other=D, anon=U)),
        ("POST", "/api/v1/outbox/999999/discard", {"reason": "test"}, dict(admin=N, op=D, view=D, other=D, anon=U)),
        ("GET", "/api/v1/location-updates", None, dict(admin=A, op=D, view=D, other=D, anon=U)),
        ("POST", "/api/v1/location-updates/999999/retry", None, dict(admin=N, op=D, view=D, other=D, anon=U)),
        ("POST", "/api/v1/location-updates/999999/discard", {"reason": "test"},
         dict(admin=N, op=D, view=D, other=D, anon=U)),
        ("PUT", f"/api/v1/users/{uop}/printers/{p1}", {"access": "operator"},
         dict(admin=A, op=D, view=D, other=D, anon=U)),
        ("GET", "/api/v1/health", None, dict(admin=A, op=A, view=A, other=A, anon=A)),
    ]


def run_matrix(admin, ids, w):
    # Spoolman for the spool routes.
    r = admin.call("PUT", "/api/v1/settings", {"spoolman_url": os.environ["SPOOLMAN_URL"]})
    ok(r.status == 200, "admin points the settings at the Spoolman stand-in", r)
    misses = []
    for method, path, body, expect in routes(w):
        for who, want in expect.items():
            r = w["clients"][who].call(method, path, body)
            if r.status != want:
                misses.append(f"{who} {method} {path}: {r.status}, expected {want}: {r.body[:120]}")
            if r.status >= 500:
                misses.append(f"{who} {method} {path}: a 5xx")
    ok(not misses, f"authorization matrix: {len(routes(w)) * 5} calls, 0 mismatches", "\n".join(misses))
    # Lists show only what each user may see.
    names = lambda c: sorted(p["name"] for p in c.call("GET", "/api/v1/printers").json_list("printers"))
    ok(names(w["clients"]["op"]) == ["Printer 1"], "operator's printer list: Printer 1 only")
    ok(names(w["clients"]["view"]) == ["Printer 2"], "viewer's printer list: Printer 2 only")
    ok(names(w["clients"]["other"]) == [], "another member's printer list: empty")
    r = w["clients"]["op"].call("GET", "/api/v1/prints")
    got = sorted(p["id"] for p in r.json_list("prints"))
    ok(got == [w["j1"]], "operator's print list: the print of Printer 1 only", r)


def run_csrf(admin, w):
    """Every state-changing route: no token, a wrong token, a cross-site request: 403 and no change."""
    changing = [(m, p, b) for m, p, b, e in routes(w) if m not in ("GET", "HEAD")]
    changing += [("POST", "/api/v1/users", {"username": "csrfvictim"}),
                 ("DELETE", "/api/v1/session", None),
                 ("DELETE", f"/api/v1/printers/{w['p2']}", None),
                 ("PUT", "/api/v1/settings", {"spoolman_url": "http://evil.example"})]
    before = checksum()
    misses = []
    for method, path, body in changing:
        for label, headers, csrf in (("no token", None, False),
                                     ("wrong token", {"X-CSRF-Token": "0" * 64}, False),
                                     ("cross-site", {"Sec-Fetch-Site": "cross-site"}, True),
                                     ("foreign Origin", {"Origin": "http://evil.example"}, True)):
            r = admin.call(method, path, body, headers=headers, csrf=csrf)
            if r.status != 403:
                misses.append(f"{label}: {method} {path}: {r.status} {r.body[:100]}")
    ok(not misses, f"CSRF: {len(changing) * 4} forged requests, all 403", "\n".join(misses))
    ok(checksum() == before, "forged requests changed nothing in the database")
    r = admin.call("GET", "/api/v1/me")
    ok(r.status == 200, "the admin's session survived the forged logout")


def checksum():
    """A digest of the tables a request could change (sessions' seen_at and the auth log aside)."""
    return psql("SELECT md5(string_agg(t, '|' ORDER BY t)) FROM ("
                "SELECT 'u' || u::text AS t FROM users u UNION ALL "
                "SELECT 'p' || (p.id, p.name, p.host, p.model, p.enabled, p.owner_id)::text FROM printers p UNION ALL "
                "SELECT 'a' || a::text FROM printer_access a UNION ALL "
                "SELECT 't' || (t.printer_id, t.tray, t.spool_id, t.valid_to)::text FROM tray_assignments t "
                "UNION ALL SELECT 'j' || (j.id, j.user_id, j.state)::text FROM print_jobs j UNION ALL "
                "SELECT 's' || s::text FROM settings s UNION ALL "
                "SELECT 'x' || count(*)::text FROM sessions) q")


def run_get_crawl(admin, w):
    """Every GET route, for every user: the database does not change."""
    before = checksum()
    for method, path, body, expect in routes(w):
        if method == "GET":
            for who in expect:
                w["clients"][who].call("GET", path)
    ok(checksum() == before, "crawling every GET as every user changed nothing")


def run_injection(admin, w):
    """Hostile strings in every text field of the writes: a 2xx or a 4xx, never a 5xx; stored text comes back
    identical, as a JSON string."""
    bad = []
    stored = 0
    for s in HOSTILE:
        for method, path, body in (
                ("POST", "/api/v1/printers", {"name": s, "host": "h", "serial": "S1", "access_code": "x"}),
                ("POST", "/api/v1/printers", {"name": "n", "host": s, "serial": "S2", "access_code": "x"}),
                ("POST", "/api/v1/printers", {"name": "n2", "host": "h", "serial": s, "access_code": "x"}),
                ("PATCH", f"/api/v1/printers/{w['p1']}", {"model": s}),
                ("POST", "/api/v1/users", {"username": s}),
                ("PATCH", f"/api/v1/users/{w['users']['op']}", {"display_name": s}),
                ("POST", "/api/v1/session", {"username": s, "password": s}),
                ("GET", "/api/v1/spools?q=" + urlquote(s), None),
                ("GET", "/api/v1/prints?state=" + urlquote(s), None),
                ("GET", "/api/v1/usage?group=" + urlquote(s), None),
                ("GET", "/api/v1/usage?group=day&from=" + urlquote(s), None)):
            c = admin if path != "/api/v1/session" else Client("inj")
            r = c.call(method, path, body)
            if r.status >= 500 or r.json is None:
                bad.append(f"{method} {path} {s!r}: {r.status} {r.body[:100]}")
            if r.status in (200, 201) and method == "PATCH" and "model" in (body or {}):
                stored += 1
                if r.json.get("model") != s:
                    bad.append(f"model {s!r} came back as {r.json.get('model')!r}")
    ok(not bad, f"hostile strings in every field: no 5xx, stored text returned verbatim ({stored} stored)",
       "\n".join(bad))
    ok(psql("SELECT count(*) FROM users WHERE username = 'root'") == "1", "the users table is intact")
    r = admin.call("PATCH", f"/api/v1/printers/{w['p1']}", {"model": "<script>alert(1)</script>"})
    ok(r.status == 200 and r.json.get("model") == "<script>alert(1)</script>" and "<" not in r.body,
       "a <script> model name comes back as the same JSON string, with < escaped as \\u003c", r)


def urlquote(s):
    from urllib.parse import quote
    return quote(s, safe="")


def run_db_restart(admin):
    """Restart PostgreSQL under the pool: at most one 503 per process, then every process answers again."""
    subprocess.run(["sh", "-c", os.environ["PG_RESTART"]], check=True)
    statuses = [admin.call("GET", "/api/v1/me").status for _ in range(12)]
    procs = int(os.environ.get("WEB_PROCESSES", "2"))
    ok(statuses.count(503) <= procs and statuses[-4:] == [200] * 4 and set(statuses) <= {200, 503},
       f"after a database restart: {statuses.count(503)} x 503 (pool of {procs}), then 200", statuses)
