#!/usr/bin/env python3
"""https_server.py: a small HTTPS server standing in for the cloud's presigned download URLs (tests/worker/test_fetch.sh).

    python3 tests/worker/https_server.py CERT KEY ROOT PORTFILE

Serves the files of ROOT on 127.0.0.1 over TLS (CERT/KEY, e.g. from tests/harness/certs.sh with the name
localhost), on a free port that it writes to PORTFILE once it listens.  Routes (NAME is a file of ROOT; the
query string is ignored, as S3 checks it and we do not):

    /files/NAME              the file, with Content-Length
    /stream/NAME             the file without Content-Length (HTTP/1.0, ends at close)
    /redirect/N/NAME         302 to /redirect/N-1/NAME ... /files/NAME (N redirects)
    /to-http/NAME            302 to http://127.0.0.1:PORT/files/NAME (must be refused)
    /slow/NAME               the first 100 bytes, then nothing for 600 s
    /status/CODE             an empty answer with that status
"""
import http.server
import os
import ssl
import sys
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):  # quiet
        pass

    def send_file(self, name, length=True, limit=None):
        path = os.path.join(self.server.root, os.path.basename(name))
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if length:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if limit is not None:
            self.wfile.write(data[:limit])
            self.wfile.flush()
            time.sleep(600)
            return
        self.wfile.write(data)

    def redirect(self, where):
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        parts = path.split("/", 3)
        kind = parts[1] if len(parts) > 1 else ""
        if kind == "files" and len(parts) >= 3:
            self.send_file("/".join(parts[2:]))
        elif kind == "stream" and len(parts) >= 3:
            self.send_file("/".join(parts[2:]), length=False)
        elif kind == "slow" and len(parts) >= 3:
            self.send_file("/".join(parts[2:]), length=False, limit=100)
        elif kind == "redirect" and len(parts) == 4:
            n = int(parts[2])
            name = urllib.parse.quote(parts[3])
            self.redirect("/files/" + name if n <= 1 else "/redirect/%d/%s" % (n - 1, name))
        elif kind == "to-http" and len(parts) >= 3:
            self.redirect("http://127.0.0.1:%d/files/%s" % (self.server.server_port,
                                                            urllib.parse.quote(parts[2])))
        elif kind == "status" and len(parts) >= 3:
            self.send_response(int(parts[2]))
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(404)


def main():
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    cert, key, root, portfile = sys.argv[1:]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.root = root
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_port)
    os.rename(tmp, portfile)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
