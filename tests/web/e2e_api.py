#!/usr/bin/env python3
"""e2e_api.py: the JSON API end to end through real nginx and spoolkeeper-web on a real PostgreSQL (TAP output).

Run by tests/web/test_e2e.sh, which starts the stack and sets WEB_URL, SK_SETUP_TOKEN, SPOOLMAN_URL,
SPOOLKEEPER_DATABASE (for psql checks) and PG_RESTART (a shell command that restarts the cluster).
Covers: first setup, cookies, the authorization matrix (admin, operator, viewer, another member, anonymous over
every route and object), CSRF (missing, wrong, cross-site) on every state-changing route, GETs change nothing,
session fixation, logout replay, disabled user, oversized and malformed bodies, SQL-injection and XSS strings in
every field, and a database restart under the pool.
"""
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from e2e_lib import Client, PW, ok, psql, summary
from e2e_routes import build_world, run_csrf, run_db_restart, run_get_crawl, run_injection, run_matrix

def burst(client, n=40):
    """The statuses of n GET /me of client, 8 at a time, so that every process of the pool serves some."""
    with ThreadPoolExecutor(8) as ex:
        return list(ex.map(lambda _: client.call("GET", "/api/v1/me").status, range(n)))


def main():
    # --- First setup through the one-time token ---------------------------------------------------------
    admin = Client("admin")
    r = admin.call("GET", "/api/v1/setup")
    ok(r.status == 200 and r.json["needed"] is True, "setup needed on a fresh install", r)
    r = admin.call("POST", "/api/v1/setup", {"token": "f" * 64, "username": "root", "password": PW})
    ok(r.status == 403, "setup with a wrong token refused", r)
    r = admin.call("POST", "/api/v1/setup",
                   {"token": os.environ["SK_SETUP_TOKEN"], "username": "root", "password": PW})
    ok(r.status == 201 and r.json["role"] == "admin", "setup creates the first admin", r)
    sc = r.header_all("Set-Cookie")
    ok(len(sc) == 1 and "HttpOnly" in sc[0] and "SameSite=Strict" in sc[0] and "Path=/" in sc[0]
       and "Domain" not in sc[0], "session cookie is HttpOnly, SameSite=Strict, Path=/, no Domain", sc)
    r = Client().call("POST", "/api/v1/setup",
                      {"token": os.environ["SK_SETUP_TOKEN"], "username": "eve", "password": PW})
    ok(r.status == 403, "the setup token works once", r)
    ok(psql("SELECT count(*) FROM users") == "1", "one user after setup")

    # --- Security headers ---------------------------------------------------------------------------------
    r = admin.call("GET", "/api/v1/me")
    ok(r.status == 200, "GET /me", r)
    for hname in ("Content-Security-Policy", "X-Content-Type-Options", "Cache-Control"):
        ok(len(r.header_all(hname)) == 1, f"exactly one {hname} header on an API answer", r.headers)
    ok(r.header_all("Content-Type") == ["application/json; charset=utf-8"], "JSON content type with charset",
       r.headers)

    # --- Session lifecycle ----------------------------------------------------------------------------------
    fixed = Client("fixation")
    fixed.cookie = "sk_session=" + "a" * 64
    r = fixed.call("POST", "/api/v1/session", {"username": "root", "password": PW})
    ok(r.status == 200 and fixed.cookie != "sk_session=" + "a" * 64, "login sets a new token, not a pre-set one",
       r)
    old = fixed.cookie
    # Every process of the pool has now checked this session and keeps it for a second (session_cache.c); the
    # log out, served by one of them, must end it in all of them at once.
    ok(burst(fixed) == [200] * 40, "40 requests in one session, 8 at a time")
    r = fixed.call("DELETE", "/api/v1/session")
    ok(r.status == 204, "log out", r)
    replay = Client("replay")
    replay.cookie = old
    st = burst(replay)
    ok(st == [401] * 40, "the old cookie is refused after logout, by every process of the pool", st)

    # Users for the matrix.
    ids = {}
    for name, role in (("op", "member"), ("view", "member"), ("other", "member"), ("gone", "member")):
        r = admin.call("POST", "/api/v1/users", {"username": name, "role": role, "password": PW})
        ok(r.status == 201, f"create user {name}", r)
        ids[name] = r.json["id"]

    gone = Client("gone")
    gone.login("gone", PW)
    ok(burst(gone) == [200] * 40, "40 requests in one session, 8 at a time")
    r = admin.call("PATCH", f"/api/v1/users/{ids['gone']}", {"disabled": True})
    ok(r.status == 200 and r.json["disabled"] is True, "admin disables a user", r)
    st = burst(gone)
    ok(st == [401] * 40, "a disabled user's session ends at once, in every process of the pool", st)
    r = gone.call("POST", "/api/v1/session", {"username": "gone", "password": PW})
    ok(r.status == 403, "a disabled user cannot log in", r)

    # --- Bodies and limits ------------------------------------------------------------------------------------
    r = admin.call("POST", "/api/v1/users", raw=b'{"username": "' + b"x" * 70000 + b'"}')
    ok(r.status == 413, "a 70 KB body is refused with 413 (nginx)", r)
    r = admin.call("POST", "/api/v1/users", raw=b"[" * 10000 + b"]" * 10000)
    ok(r.status == 400, "10,000-deep JSON refused with 400", r)
    r = admin.call("POST", "/api/v1/users", raw=b'{"username": ')
    ok(r.status == 400 and r.json["error"] == "bad_json", "truncated JSON refused with 400", r)
    r = admin.call("POST", "/api/v1/users", raw=b'{"username": "a\x00b"}')
    ok(r.status == 400, "a raw NUL in JSON refused with 400", r)
    r = admin.call("POST", "/api/v1/users", raw=b'\xff\xfe{}')
    ok(r.status == 400, "invalid UTF-8 refused with 400", r)
    r = admin.call("POST", "/api/v1/users", raw=b'{"username":"q"}',
                   headers={"Content-Type": "text/plain"})
    ok(r.status == 415, "a text/plain body refused with 415", r)
    r = admin.call("POST", "/api/v1/users", {"username": 5})
    ok(r.status == 400, "a number where a string belongs refused with 400", r)
    r = admin.call("POST", "/api/v1/users", {"username": "zz", "bogus": 1})
    ok(r.status == 400, "an unknown field refused with 400", r)

    # --- Run the route matrix and the injection strings (tables below) ----------------------------------------
    world = build_world(admin, ids)
    run_matrix(admin, ids, world)
    run_csrf(admin, world)
    run_injection(admin, world)
    run_get_crawl(admin, world)
    run_db_restart(admin)

    return summary()

if __name__ == "__main__":
    sys.exit(main())
