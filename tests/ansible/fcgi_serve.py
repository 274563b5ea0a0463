#!/usr/bin/env python3
"""fcgi_serve.py: systemd's socket activation and a FastCGI GET, for tests/ansible/test_ansible.sh.

  fcgi_serve.py listen SOCKET CMD...   binds and listens on the unix socket SOCKET, makes it fd 0 (as
                                       StandardInput=socket does) and execs CMD (which inherits it)
  fcgi_serve.py get SOCKET PATH        one FastCGI request GET PATH (as nginx sends it); prints the answer
                                       (CGI headers and body); exit status 1 when there is none
"""
import os
import socket
import struct
import sys


def listen(path, cmd):
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o600)
    s.listen(128)
    os.dup2(s.fileno(), 0)
    os.set_inheritable(0, True)
    os.execvp(cmd[0], cmd)


def record(rtype, content):
    return struct.pack("!BBHHBx", 1, rtype, 1, len(content), 0) + content


def pair(k, v):
    k, v = k.encode(), v.encode()
    size = lambda n: bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
    return size(len(k)) + size(len(v)) + k + v


def get(path, uri):
    params = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": uri, "SCRIPT_NAME": uri, "REQUEST_URI": uri,
              "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
              "HTTP_HOST": "localhost", "GATEWAY_INTERFACE": "CGI/1.1"}
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    body = b"".join(pair(k, v) for k, v in params.items())
    s.sendall(record(1, struct.pack("!HB5x", 1, 0)) + record(4, body) + record(4, b"") + record(5, b""))
    buf, out = b"", b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 8:
            _, rtype, _, clen, plen = struct.unpack("!BBHHBx", buf[:8])
            if len(buf) < 8 + clen + plen:
                break
            if rtype == 6:
                out += buf[8:8 + clen]
            if rtype == 3:
                sys.stdout.write(out.decode("utf-8", "replace"))
                return 0 if out else 1
            buf = buf[8 + clen + plen:]
    sys.stdout.write(out.decode("utf-8", "replace"))
    return 1


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "listen":
        listen(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 4 and sys.argv[1] == "get":
        sys.exit(get(sys.argv[2], sys.argv[3]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
