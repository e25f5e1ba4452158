#!/usr/bin/env python3
"""A Nextcloud look-alike on 127.0.0.1 that misbehaves on purpose, for `bmpack check` tests.

It serves status.php, PROPFIND, PUT, GET and DELETE under /remote.php/webdav/ and a trash bin
listing under /remote.php/dav/trashbin/alice/trash/, like Nextcloud, and logs every request as
one JSON line (method, path, TLS or not, whether a password came with it). --mode picks the
misbehaviour:

  healthy        answers everything properly
  never-answers  reads each request and never answers
  hang-put       answers status.php and PROPFIND, reads an upload whole and never answers it
  stop-reading   answers status.php and PROPFIND, stops reading an upload after its headers
  drip-put       answers status.php and PROPFIND, reads an upload and answers it one byte
                 every --drip seconds
  reset-put      answers status.php and PROPFIND, reads 64 KiB of an upload and resets the
                 connection
  lose-chunked   stores chunked uploads as 0 bytes (what PHP-FPM behind a broken front does)
  record         answers 204 to anything (a host that should never see the password)

With --tls CERT KEY it speaks TLS, and still answers a plain-HTTP request on the same port (so
that a request downgraded to http:// is seen and logged, not lost in a failed handshake).
The process runs until it is killed; the tests stop it when they end.
"""

import argparse
import json
import os
import socket
import socketserver
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler

FILES = {}
LOCK = threading.Lock()
TRASH = "/remote.php/dav/trashbin/alice/trash/"
DAV = "/remote.php/webdav/"


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--mode", default="healthy")
    p.add_argument("--server-header", default="Apache/2.4.62 (Debian)")
    p.add_argument("--status", default='{"installed":true,"maintenance":false,"needsDbUpgrade":false,'
                   '"version":"28.0.14.1","versionstring":"28.0.14","edition":"","productname":"Nextcloud"}')
    p.add_argument("--trash-hrefs", default="[]", help="JSON list of hrefs for the trash listing")
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--drip", type=float, default=1.0)
    p.add_argument("--propfind-location", help="answer PROPFIND of the folder with 301 to this Location")
    return p.parse_args()


ARGS = parse_args()


def log(entry):
    with LOCK, open(ARGS.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def sleep_forever():
    while True:
        time.sleep(3600)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def version_string(self):
        return ARGS.server_header

    def record(self):
        auth = self.headers.get("Authorization")
        log({
            "method": self.command,
            "path": self.path,
            "tls": isinstance(self.request, ssl.SSLSocket),
            "auth": auth is not None,
            "chunked": "chunked" in (self.headers.get("Transfer-Encoding") or "").lower(),
        })

    def answer(self, code, body=b"", content_type="application/xml; charset=utf-8"):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self, limit=None):
        """The request body, Content-Length or chunked; at most `limit` bytes when given."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
                if limit is not None and len(out) >= limit:
                    return bytes(out)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length if limit is None else min(length, limit))

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError):
            self.close_connection = True

    def dispatch(self):
        self.record()
        mode = ARGS.mode
        if mode == "never-answers":
            sleep_forever()
        if mode == "record":
            self.read_body()
            return self.answer(204)
        path = self.path.split("?")[0]
        if self.command == "GET" and path.endswith("/status.php"):
            return self.answer(200, ARGS.status.encode(), "application/json; charset=utf-8")
        if self.command == "PROPFIND" and path.startswith(TRASH):
            self.read_body()
            hrefs = json.loads(ARGS.trash_hrefs)
            responses = "".join(
                f"<d:response><d:href>{h}</d:href><d:propstat><d:prop><d:resourcetype/></d:prop>"
                f"<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
                for h in [TRASH] + hrefs
            )
            body = f'<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">{responses}</d:multistatus>'
            return self.answer(207, body.encode())
        if not path.startswith(DAV):
            self.read_body()
            return self.answer(404)
        name = path[len(DAV):]
        if self.command == "PROPFIND":
            self.read_body()
            if not name and ARGS.propfind_location:
                self.send_response(301)
                # As UTF-8 bytes (send_header would write Latin-1): C1 controls such as U+009B.
                self._headers_buffer.append(b"Location: " + ARGS.propfind_location.encode() + b"\r\n")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if name and name not in FILES:
                return self.answer(404)
            size = f"<d:getcontentlength>{len(FILES[name])}</d:getcontentlength>" if name else ""
            body = (f'<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response><d:href>{path}</d:href>'
                    f"<d:propstat><d:prop><d:resourcetype/>{size}</d:prop><d:status>HTTP/1.1 200 OK</d:status>"
                    "</d:propstat></d:response></d:multistatus>")
            return self.answer(207, body.encode())
        if self.command == "PUT":
            chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
            if mode == "stop-reading":
                sleep_forever()
            if mode == "reset-put":
                self.read_body(limit=64 << 10)
                self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.request.close()
                self.close_connection = True
                return None
            data = self.read_body()
            if mode == "hang-put":
                sleep_forever()
            FILES[name] = b"" if (mode == "lose-chunked" and chunked) else data
            if mode == "drip-put":
                response = b"HTTP/1.1 201 Created\r\nContent-Length: 40\r\n\r\n" + b"x" * 40
                for byte in response:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(ARGS.drip)
                return None
            return self.answer(201)
        if self.command == "GET":
            if name not in FILES:
                return self.answer(404)
            return self.answer(200, FILES[name], "application/octet-stream")
        if self.command == "DELETE":
            existed = FILES.pop(name, None) is not None
            return self.answer(204 if existed else 404)
        self.read_body()
        return self.answer(405)

    do_GET = do_PUT = do_DELETE = do_PROPFIND = do_POST = do_HEAD = dispatch


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        if ARGS.mode == "stop-reading":
            # A small window: the client's upload stalls as soon as the server stops reading.
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        super().server_bind()

    def get_request(self):
        sock, addr = self.socket.accept()
        if ARGS.tls:
            # TLS starts with a handshake record (0x16); anything else is plain HTTP.
            first = sock.recv(1, socket.MSG_PEEK)
            if first == b"\x16":
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(ARGS.tls[0], ARGS.tls[1])
                sock = context.wrap_socket(sock, server_side=True)
        return sock, addr

    def handle_error(self, request, client_address):
        pass


if __name__ == "__main__":
    open(ARGS.log, "a").close()
    with Server(("127.0.0.1", ARGS.port), Handler) as server:
        print("listening", flush=True)
        server.serve_forever()
