"""A misbehaving HTTP server on loopback, for proving the harness bounded against hostile targets.

`HostileServer(behaviour)` serves on 127.0.0.1:<free port> from a daemon thread until `stop()` (or
the end of a `with` block). With `discovery=True` it answers `/ServiceProviderConfig`,
`/Schemas` and `/ResourceTypes` like a small SCIM service (so the probe passes and the checks run)
and misbehaves on everything else; with `discovery=False` it misbehaves everywhere. Every request
it receives is kept in `requests` (method, path, headers), so a test can prove that a second
server on another port was never sent a credential.

Behaviours (each bounded: nothing here runs longer than the server lives, and `stop()` ends it):
  scim          a tiny SCIM endpoint: POST /Users -> 201 with `location`, GET /Users[/id], Bulk
  big-body      200 with `Content-Length: body_bytes` (1 GiB by default), produced lazily
  drip          200, then one byte every `interval` seconds (`drip_headers=True`: the headers too)
  throttle      429 with `Retry-After: 3600`
  hang          accepts the request and never answers
  500 | html | bad-json   that answer, to everything
  redirect      302 to `location`
Used by tests/test_client_safety.py and bench/hostile.py.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GIB = 1 << 30
BASE_PATH = "/scim/v2"


def _supported(flag: bool) -> dict[str, Any]:
    return {"supported": flag}


SERVICE_PROVIDER_CONFIG = {
    "schemas": [SPC],
    "patch": _supported(False),
    "bulk": {"supported": True, "maxOperations": 10, "maxPayloadSize": 1048576},
    "filter": {"supported": False, "maxResults": 100},
    "changePassword": _supported(False),
    "sort": _supported(False),
    "etag": _supported(False),
    "authenticationSchemes": [],
}
RESOURCE_TYPES = {
    "schemas": [LIST],
    "totalResults": 2,
    "Resources": [
        {"id": "User", "name": "User", "endpoint": "/Users", "schema": USER},
        {"id": "Group", "name": "Group", "endpoint": "/Groups", "schema": "urn:ietf:params:scim:schemas:core:2.0:Group"},
    ],
}


class HostileServer:
    def __init__(
        self,
        behaviour: str,
        *,
        discovery: bool = True,
        body_bytes: int = GIB,
        interval: float = 2.0,
        drip_headers: bool = False,
        location: str | None = None,
    ) -> None:
        self.behaviour = behaviour
        self.discovery = discovery
        self.body_bytes = body_bytes
        self.interval = interval
        self.drip_headers = drip_headers
        self.location = location
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.sent_bytes = 0
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _any(self) -> None:
                try:
                    owner._handle(self)
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True

    # -- life --------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.origin + BASE_PATH

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answers -----------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        path = urlsplit(h.path).path
        with self._lock:
            self.requests.append((h.command, h.path, {k.lower(): v for k, v in h.headers.items()}))
        local = path.removeprefix(BASE_PATH)
        if self.discovery and h.command == "GET":
            if local == "/ServiceProviderConfig":
                return self._json(h, 200, SERVICE_PROVIDER_CONFIG)
            if local == "/ResourceTypes":
                return self._json(h, 200, RESOURCE_TYPES)
            if local == "/Schemas":
                return self._json(h, 200, {"schemas": [LIST], "totalResults": 0, "Resources": []})
        getattr(self, "_" + self.behaviour.replace("-", "_"))(h, h.command, local, body)

    def _json(self, h: BaseHTTPRequestHandler, status: int, doc: Any, **headers: str) -> None:
        data = json.dumps(doc).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/scim+json")
        h.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.end_headers()
        h.wfile.write(data)

    def _raw(self, h: BaseHTTPRequestHandler, status: int, content_type: str, data: bytes) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _scim(self, h: BaseHTTPRequestHandler, method: str, path: str, body: bytes) -> None:
        """Just enough SCIM for the Location checks; every reference points at `self.location`."""
        where = self.location or f"{self.url}/Users/u1"
        if method == "POST" and path == "/Users":
            doc = json.loads(body or b"{}")
            user = {**doc, "id": "u1", "meta": {"resourceType": "User", "location": where}}
            return self._json(h, 201, user, Location=where)
        if method == "POST" and path == "/Bulk":
            ops = json.loads(body or b"{}").get("Operations") or []
            out = [
                {"method": op.get("method"), "bulkId": op.get("bulkId"), "location": where, "status": "201"}
                for op in ops
            ]
            return self._json(h, 200, {"schemas": [BULK_RESPONSE], "Operations": out})
        if method == "GET" and path.startswith("/Users/"):
            return self._json(h, 200, {"schemas": [USER], "id": path.rsplit("/", 1)[-1], "userName": "x"})
        if method == "GET" and path == "/Users":
            return self._json(h, 200, {"schemas": [LIST], "totalResults": 0, "Resources": []})
        if method == "DELETE":
            h.send_response(204)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return None
        return self._json(h, 404, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404"})

    def _big_body(self, h: BaseHTTPRequestHandler, method: str, path: str, body: bytes) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/scim+json")
        h.send_header("Content-Length", str(self.body_bytes))
        h.end_headers()
        chunk = b'{"Resources": [' + b" " * (64 * 1024 - 15)
        left = self.body_bytes
        while left > 0 and not self._stopped.is_set():
            part = chunk[: min(len(chunk), left)]
            h.wfile.write(part)
            left -= len(part)
            self.sent_bytes += len(part)
            chunk = b" " * len(chunk)

    def _drip(self, h: BaseHTTPRequestHandler, method: str, path: str, body: bytes) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: 100000\r\n\r\n"
        if not self.drip_headers:
            h.wfile.write(head)
            h.wfile.flush()
            head = b""
        payload = head + b" " * 100000
        for byte in payload:
            if self._stopped.wait(self.interval):
                return
            h.wfile.write(bytes([byte]))
            h.wfile.flush()

    def _throttle(self, h: BaseHTTPRequestHandler, method: str, path: str, body: bytes) -> None:
        self._json(
            h,
            429,
            {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "429"},
            Retry_After="3600",
        )

    def _hang(self, h: BaseHTTPRequestHandler, method: str, path: str, body: bytes) -> None:
        self._stopped.wait(120)
        h.close_connection = True

    def _500(self, h: BaseHTTPRequestHandler, method: str, path: str, body: bytes) -> None:
        self._raw(h, 500, "text/plain", b"Internal Server Error")

    def _html(self, h: BaseHTTPRequestHandler, method: str, path: str, body: bytes) -> None:
        self._raw(h, 200, "text/html; charset=utf-8", b"<!doctype html><html><body>Welcome</body></html>")

    def _bad_json(self, h: BaseHTTPRequestHandler, method: str, path: str, body: bytes) -> None:
        self._raw(h, 200, "application/scim+json", b'{"schemas": [')

    def _redirect(self, h: BaseHTTPRequestHandler, method: str, path: str, body: bytes) -> None:
        h.send_response(302)
        h.send_header("Location", self.location or "http://127.0.0.1:9/elsewhere")
        h.send_header("Content-Length", "0")
        h.end_headers()


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    """Poll `predicate` for up to `timeout` seconds (for threads finishing their work)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())
