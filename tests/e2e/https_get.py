#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""GET paths over HTTPS with Python's ssl module, writing its key log (the truth).

usage: https_get.py [--tls 1.2|1.3] [--implicit] [--resume] [--keep-alive] [--wait]
                    --keylog FILE HOST PORT PATH...
  --implicit    no explicit handshake: the first write drives it (SSL_write)
  --resume      a second connection per path resumes the first one's session
  --keep-alive  all paths on one connection (HTTP/1.1), else one connection each
  --wait        with libssl loaded, read a line from stdin before connecting (so that a test can
                wait until a recorder has hooked the library)
Prints "PATH STATUS" per response, and "resumed PATH" for each resumed connection.
"""
import argparse
import socket
import ssl
import sys


def read_response(tls):
    """One HTTP/1.1 response with a Content-Length (or up to the close); its status code."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(65536)
        if not chunk:
            raise SystemExit("connection closed before the headers")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    while length is not None and len(body) < length:
        chunk = tls.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0].split()[1]


def connect(args, ctx, session=None):
    raw = socket.create_connection((args.host, args.port), timeout=10)
    tls = ctx.wrap_socket(raw, server_hostname=args.host, session=session,
                          do_handshake_on_connect=not args.implicit)
    return tls


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tls", choices=["1.2", "1.3"])
    p.add_argument("--implicit", action="store_true")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--keep-alive", action="store_true")
    p.add_argument("--wait", action="store_true")
    p.add_argument("--keylog", required=True)
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("paths", nargs="+")
    args = p.parse_args()
    if args.wait:
        sys.stdin.readline()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.keylog_filename = args.keylog
    if args.tls:
        v = ssl.TLSVersion.TLSv1_2 if args.tls == "1.2" else ssl.TLSVersion.TLSv1_3
        ctx.minimum_version = ctx.maximum_version = v

    def get(tls, path, close):
        conn = "close" if close else "keep-alive"
        req = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n\r\n" % (path, args.host, conn)
        tls.sendall(req.encode())
        print(path, read_response(tls))

    if args.keep_alive:
        tls = connect(args, ctx)
        for i, path in enumerate(args.paths):
            get(tls, path, i == len(args.paths) - 1)
        tls.close()
        return
    for path in args.paths:
        tls = connect(args, ctx)
        get(tls, path, True)
        if args.resume:
            # TLS 1.3 tickets come after the handshake: read to the close so that they are in.
            try:
                while tls.recv(65536):
                    pass
            except ssl.SSLError:
                pass  # a close without close_notify
            session = tls.session
            tls.close()
            tls = connect(args, ctx, session)
            get(tls, path + "-resumed", True)
            if tls.session_reused:
                print("resumed", path)
        tls.close()


if __name__ == "__main__":
    sys.exit(main())
