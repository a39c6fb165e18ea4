"""HTTP plumbing for the test servers: the fake Hub's request handler, and a plain file
server that can answer its first requests with an error (to test retries)."""

from __future__ import annotations

import functools
import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class HttpError(Exception):
    """An error answer: HTTP ``status``, message, the Hub's ``X-Error-Code`` and JSON extras."""

    def __init__(self, status: int, message: str, code: str | None = None, **extra):
        super().__init__(message)
        self.status, self.code, self.extra = status, code, extra


class HubHandler(BaseHTTPRequestHandler):
    """Requests to a ``FakeHub`` (hub_server.py): routed to its endpoint methods, answered as
    JSON or bytes, with its injected failures (``FakeHub.fail``)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls

    def __init__(self, hub, *args, **kwargs):
        self.hub = hub
        super().__init__(*args, **kwargs)

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self):
        self._handle("GET")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        body = self._body() if method in ("POST", "PUT") else b""
        with self.hub.lock:
            self.hub.requests.append((method, url.path))
        failure = self.hub.failure_for(method, url.path)
        if failure == "drop":
            self.close_connection = True
            return
        try:
            if failure is not None:
                raise HttpError(int(failure), "injected failure")
            name, params = self.hub.route(method, url.path)
            self.hub.check_auth(name, self.headers, params.get("repo"))
            status, payload = getattr(self.hub, name)(
                body=body, query=parse_qs(url.query), headers={k.lower(): v for k, v in
                                                               self.headers.items()}, **params)
        except HttpError as e:
            status, payload = e.status, {"error": str(e), **e.extra}
            self._send(status, json.dumps(payload).encode(), "application/json",
                       {"X-Error-Code": e.code, "X-Error-Message": str(e)}, method)
            return
        if isinstance(payload, tuple):
            self._send(status, payload[0], "application/octet-stream", payload[1], method)
        else:
            self._send(status, json.dumps(payload).encode(), "application/json", {}, method)

    def _send(self, status: int, data: bytes, ctype: str, headers: dict, method: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        for k, v in headers.items():
            if v is not None:
                self.send_header(k, v)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)


class _QuietFiles(SimpleHTTPRequestHandler):
    disable_nagle_algorithm = True

    def log_message(self, *args) -> None:
        pass


@contextmanager
def serve_directory(path, fail_first: int = 0, status: int = 503):
    """Serve ``path`` over plain HTTP on 127.0.0.1; yields (base URL, list of requested
    paths). The first ``fail_first`` GETs are answered with ``status`` instead."""
    seen: list[str] = []

    class Handler(_QuietFiles):
        def do_GET(self):
            seen.append(self.path)
            if len(seen) <= fail_first:
                self.send_error(status)
                return
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(path)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
