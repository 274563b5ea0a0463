"""e2e_lib.py: the pieces of the end-to-end API tests: TAP counters, psql, and a cookie-and-CSRF client."""
import http.client
import json
import os
import subprocess
import sys
import urllib.parse

URL = urllib.parse.urlsplit(os.environ["WEB_URL"])
DB = os.environ["SPOOLKEEPER_DATABASE"]
count = 0
failed = 0


def ok(cond, name, extra=""):
    global count, failed
    count += 1
    if cond:
        print(f"ok {count} - {name}")
    else:
        failed += 1
        print(f"not ok {count} - {name}")
        if extra:
            for line in str(extra).splitlines()[:20]:
                print(f"#   {line}")
    return cond


def psql(sql):
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", DB, "-c", sql],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def json_list(self, key):
        """The list under key (or the answer itself when it is a list); [] when absent."""
        if isinstance(self.json, list):
            return self.json
        if isinstance(self.json, dict) and isinstance(self.json.get(key), list):
            return self.json[key]
        return []

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return f"{self.status} {self.body[:300]!r}"


class Client:
    """One browser: a cookie and the CSRF token from the last login or /me."""

    def __init__(self, name="anon"):
        self.name = name
        self.cookie = None
        self.csrf = None

    def call(self, method, path, body=None, headers=None, raw=None, csrf=True):
        h = {"Host": URL.netloc, "Sec-Fetch-Site": "same-origin", "User-Agent": "e2e"}
        if self.cookie:
            h["Cookie"] = self.cookie
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        data = None
        if raw is not None:
            data = raw
            h.setdefault("Content-Type", "application/json")
        elif body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
            h = {k: v for k, v in h.items() if v is not None}
        conn = http.client.HTTPConnection(URL.hostname, URL.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            r = Reply(resp.status, resp.getheaders(), resp.read().decode("utf-8", "replace"))
        finally:
            conn.close()
        for sc in r.header_all("Set-Cookie"):
            kv = sc.split(";", 1)[0]
            if "Max-Age=0" in sc:
                self.cookie = None
            else:
                self.cookie = kv
        if isinstance(r.json, dict) and isinstance(r.json.get("csrf_token"), str):
            self.csrf = r.json["csrf_token"]
        return r

    def login(self, user, pw):
        r = self.call("POST", "/api/v1/session", {"username": user, "password": pw})
        ok(r.status == 200, f"{self.name}: log in as {user}", r)
        return r


PW = "correct horse battery staple"


def summary():
    print(f"1..{count}")
    return 1 if failed else 0
