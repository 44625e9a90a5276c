"""A small HTTP server on loopback for the tests that need a server the simulators are not: one that records
every request, echoes credentials, drip-feeds, redirects or answers with an HTML page.

Subclass `Handler` (or build one from a function with `replying`) and run it with `Server(handler)`, which
serves from a daemon thread until `close()` (also a context manager)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

METHODS = ("do_GET", "do_POST", "do_PUT", "do_PATCH", "do_DELETE")


class Handler(BaseHTTPRequestHandler):
    """Quiet, keep-alive, with helpers to read the request body and send a whole answer."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep the test output clean
        pass

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status: int, body: bytes = b"", ctype: str = "application/json", headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, value: Any, status: int = 200):
        self.send(status, json.dumps(value).encode())


def replying(reply: Callable[[Handler], tuple[int, str, str | bytes]]) -> type[Handler]:
    """A handler answering every method with `reply(handler) -> (status, content type, body)`; the request
    body is read first and left on `handler.body` (text)."""

    def answer(self):
        self.body = self.read_body().decode()
        status, ctype, body = reply(self)
        self.send(status, body.encode() if isinstance(body, str) else body, ctype)

    return type("Replying", (Handler,), dict.fromkeys(METHODS, answer))


class Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
