#!/usr/bin/env python3
"""roles_web.py: the web app's SQL paths through the real API while it connects as a spoolkeeper_web login role.

Run by tests/db/test_roles.sh, which starts the stack (tests/harness/web.sh) with SPOOLKEEPER_DATABASE naming the
web login role, then runs this with SPOOLKEEPER_DATABASE naming the owner (for psql set-up and checks) and
WEB_URL, SK_SETUP_TOKEN, SPOOLMAN_URL.  Every route below runs at least one statement of each kind the web app
uses (SELECT, INSERT, column UPDATE, DELETE, the SECURITY DEFINER outbox and location-update functions); a
missing grant shows as a 500 and "permission denied" in the app's log.  TAP output, prefixed "web: ".
"""
import os
import sys

from e2e_lib import Client, PW, ok, psql, summary


def expect(r, status, name):
    return ok(r.status == status, f"web: {name} ({status})", r)


def main():
    admin = Client("admin")
    r = admin.call("POST", "/api/v1/setup",
                   {"token": os.environ["SK_SETUP_TOKEN"], "username": "root", "password": PW})
    expect(r, 201, "first setup: setup_tokens, users, sessions, auth_events")
    expect(admin.call("DELETE", "/api/v1/session"), 204, "log out")
    admin.login("root", PW)
    expect(admin.call("GET", "/api/v1/me"), 200, "GET /me")
    r = admin.call("PUT", "/api/v1/settings", {"spoolman_url": os.environ["SPOOLMAN_URL"], "spoolman_user": "u",
                                                "spoolman_password": "p"})
    expect(r, 200, "PUT settings (insert, encrypted password)")
    r = admin.call("PUT", "/api/v1/settings", {"spoolman_user": None, "spoolman_password": None})
    ok(r.status == 200 and psql("SELECT count(*) FROM settings") == "1", "web: settings removed (delete)", r)

    r = admin.call("POST", "/api/v1/printers", {"name": "w1", "host": "127.0.0.1", "serial": "01S00A00000000A",
                                               "access_code": "12345678"})
    expect(r, 201, "add a printer (access code encrypted)")
    pid = r.json["id"] if r.json else 0
    r = admin.call("POST", "/api/v1/printers", {"name": "w2", "host": "127.0.0.2", "serial": "01S00A00000000B",
                                               "access_code": "87654321"})
    expect(r, 201, "add a second printer")
    pid2 = r.json["id"] if r.json else 0
    expect(admin.call("PATCH", f"/api/v1/printers/{pid}", {"model": "P1S", "access_code": "11112222"}), 200,
           "change a printer")
    r = admin.call("GET", "/api/v1/printers")
    ok(r.status == 200 and sorted(p["name"] for p in r.json_list("printers")) == ["p1", "w1", "w2"],
       "web: list printers", r)

    r = admin.call("PUT", f"/api/v1/printers/{pid}/trays/0", {"spool_id": 3})
    ok(r.status == 200 and r.json.get("spoolman") == "ok" and r.json.get("changed") is True,
       "web: map tray 0 to spool 3 (tray_assignments, spool_cache)", r)
    r = admin.call("PUT", f"/api/v1/printers/{pid}/trays/0", {"spool_id": 4})
    expect(r, 200, "map tray 0 to spool 4 (closes the open assignment)")
    expect(admin.call("GET", f"/api/v1/printers/{pid}/trays"), 200, "GET trays")
    ok(psql(f"SELECT count(*) FROM tray_assignments WHERE printer_id = {pid}") == "2",
       "web: the tray's history has two rows")
    expect(admin.call("GET", "/api/v1/spools?q=PLA"), 200, "search spools (spool_cache upsert)")

    r = admin.call("POST", "/api/v1/users", {"username": "bob", "password": PW})
    expect(r, 201, "add a user")
    uid = r.json["id"] if r.json else 0
    expect(admin.call("PUT", f"/api/v1/users/{uid}/printers/{pid}", {"access": "viewer"}), 200,
           "give bob access to p1")
    expect(admin.call("PUT", f"/api/v1/users/{uid}/printers/{pid}", {"access": "operator"}), 200,
           "change bob's access")
    expect(admin.call("PATCH", f"/api/v1/users/{uid}", {"display_name": "Bob"}), 200, "rename bob")
    bob = Client("bob")
    bob.login("bob", PW)
    expect(bob.call("GET", "/api/v1/printers"), 200, "bob lists his printers")
    expect(admin.call("DELETE", f"/api/v1/users/{uid}/printers/{pid}"), 204, "take bob's access away")
    expect(admin.call("PATCH", f"/api/v1/users/{uid}", {"disabled": True}), 200,
           "disable bob (ends his sessions)")

    # A print and two outbox rows, written as the worker would (here by the owner).
    job = psql(f"INSERT INTO print_jobs (printer_id, job_key, subtask_name, state, ended_at) VALUES "
               f"({pid}, 'roles-1', 'cube', 'finished', now()) RETURNING id")
    psql(f"INSERT INTO job_filaments (job_id, filament_index, tray, mm, grams) VALUES ({job}, 0, 0, 100, 0.3)")
    psql(f"INSERT INTO usage_ledger (job_id, layer, filament_index, tray, spool_id, mm, grams) VALUES "
         f"({job}, 1, 0, 0, 2, 100, 0.3)")
    o1 = psql("INSERT INTO spoolman_outbox (spool_id, use_mm, use_g, state, attempts, last_error) VALUES "
              "(2, 100, 0.3, 'needs_review', 9, 'test') RETURNING id")
    o2 = psql("INSERT INTO spoolman_outbox (spool_id, use_mm, use_g, state) VALUES "
              "(2, 50, 0.15, 'needs_review') RETURNING id")
    expect(admin.call("GET", "/api/v1/status"), 200, "GET status")
    expect(admin.call("GET", "/api/v1/prints"), 200, "list prints")
    expect(admin.call("GET", f"/api/v1/prints/{job}"), 200, "one print")
    expect(admin.call("PATCH", f"/api/v1/prints/{job}", {"user_id": uid}), 200, "say whose the print is")
    ok(psql(f"SELECT user_id FROM print_jobs WHERE id = {job}") == str(uid), "web: print_jobs.user_id changed")
    for g in ("day", "spool", "printer", "filament_type", "user"):
        expect(admin.call("GET", f"/api/v1/usage?group={g}"), 200, f"usage by {g}")
    expect(admin.call("GET", "/api/v1/outbox"), 200, "list the outbox")
    r = admin.call("POST", f"/api/v1/outbox/{o1}/retry", {})
    ok(r.status == 200 and psql(f"SELECT state || ' ' || attempts FROM spoolman_outbox WHERE id = {o1}")
       == "pending 0", "web: retry an outbox row (outbox_retry)", r)
    r = admin.call("POST", f"/api/v1/outbox/{o2}/discard", {"reason": "test"})
    ok(r.status == 200 and psql(f"SELECT state FROM spoolman_outbox WHERE id = {o2}") == "discarded",
       "web: discard an outbox row (outbox_discard)", r)
    # Two location updates Spoolman refused, written as the worker would.
    l1 = psql("INSERT INTO spool_patches (spool_id, location, reason, state, attempts, last_error) VALUES "
              "(31, 'Shelf', 'left', 'needs_review', 3, 'test') RETURNING id")
    l2 = psql("INSERT INTO spool_patches (spool_id, location, reason, state) VALUES "
              "(32, 'Shelf', 'left', 'needs_review') RETURNING id")
    expect(admin.call("GET", "/api/v1/location-updates"), 200, "list the location updates")
    r = admin.call("POST", f"/api/v1/location-updates/{l1}/retry", {})
    ok(r.status == 200 and psql(f"SELECT state || ' ' || attempts FROM spool_patches WHERE id = {l1}")
       == "pending 0", "web: retry a location update (spool_patch_retry)", r)
    r = admin.call("POST", f"/api/v1/location-updates/{l2}/discard", {"reason": "test"})
    ok(r.status == 200 and psql(f"SELECT state FROM spool_patches WHERE id = {l2}") == "discarded",
       "web: discard a location update (spool_patch_discard)", r)
    expect(admin.call("DELETE", f"/api/v1/printers/{pid}"), 409, "a printer with prints stays")
    expect(admin.call("DELETE", f"/api/v1/printers/{pid2}"), 204, "delete a printer without prints")
    expect(admin.call("GET", "/api/v1/health"), 200, "health")
    expect(admin.call("POST", "/api/v1/me/password", {"current_password": PW, "new_password": PW + "!"}), 200,
           "change my password")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
