#!/usr/bin/env python3
"""conn_errors_api.py: one API request as a logged-in admin, for tests/worker/test_conn_errors.sh.

    WEB_URL=... SPOOLKEEPER_DATABASE=... SK_USER=admin SK_PW=... python3 conn_errors_api.py METHOD PATH [JSON]

Logs in (POST /api/v1/session), sends the request with the session cookie and CSRF token, prints the HTTP status
on the first line and the answer's body on the second.  Exit 1 when the log-in fails.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "web"))
from e2e_lib import Client  # noqa: E402


def main():
    c = Client("admin")
    r = c.call("POST", "/api/v1/session", {"username": os.environ["SK_USER"], "password": os.environ["SK_PW"]})
    if r.status != 200:
        print(f"log-in failed: {r!r}", file=sys.stderr)
        return 1
    body = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    r = c.call(sys.argv[1], sys.argv[2], body)
    print(r.status)
    print(r.body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
