"""The recording reverse proxy: forwards each request to the upstream SCIM server unchanged, records it.

A plain ASGI app (no framework routing, which would normalise paths) under uvicorn. Forwarded as
the IdP sent them: method, the raw path and query bytes below the listen address (appended to the
upstream's base URL), every end-to-end header (the credential included, since the upstream needs
it; only the recording drops it), the body bytes. Bounded: a request or response body over
`max_body_bytes` is refused with 413 / 502 and not recorded; a recording holds at most
`MAX_EXCHANGES`. Binds loopback unless the operator explicitly allows another address, because the
proxy forwards whatever it receives with whatever credential it carries.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from scimitar.record.model import Capture, Captured, credential_digest, keep_headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Hop-by-hop headers (RFC 9110 §7.6.1) and those the proxy recomputes.
_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
                  "host", "content-length"})


class ListenError(ValueError):
    """A listen address the proxy refuses (not loopback without --listen-any, or malformed)."""


def parse_listen(text: str, *, allow_any: bool = False) -> tuple[str, int]:
    """`HOST:PORT` -> (host, port); a non-loopback host needs `allow_any`."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not host:
        raise ListenError(f"--listen {text!r}: write HOST:PORT, e.g. 127.0.0.1:8089")
    host = host.strip("[]")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ListenError(f"--listen {text!r}: port out of range")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_any:
        raise ListenError(
            f"--listen {text!r} is not a loopback address: the proxy forwards every request with its "
            "credential, so it listens on 127.0.0.1 unless you pass --listen-any"
        )
    return host, port


class RecordingProxy:
    """ASGI app: forward to `upstream`, append each exchange to `capture`."""

    def __init__(self, upstream: str, capture: Capture, *, max_body_bytes: int, timeout: float = 30.0,
                 verify: bool = True) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"--upstream {upstream!r}: give the SCIM base URL, e.g. https://host/scim/v2")
        self.upstream = upstream.rstrip("/")
        self.capture = capture
        self.max_body_bytes = max_body_bytes
        self._client = httpx.AsyncClient(timeout=timeout, verify=verify, follow_redirects=False)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await _answer(send, 413, b"request body over --max-body-bytes: not forwarded, not recorded")
                return
            if not message.get("more_body"):
                break
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        url = self.upstream + raw_path + (f"?{query}" if query else "")
        items = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        forward = [(k, v) for k, v in items if k.lower() not in _HOP]
        try:
            request = self._client.build_request(scope["method"], httpx.URL(url), headers=forward,
                                                 content=bytes(body))
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            await _answer(send, 502, f"upstream unreachable: {type(exc).__name__}".encode())
            return
        try:
            content = bytearray()
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) > self.max_body_bytes:
                    await _answer(send, 502, b"upstream response over --max-body-bytes: not recorded")
                    return
        except httpx.HTTPError as exc:
            await _answer(send, 502, f"upstream failed mid-answer: {type(exc).__name__}".encode())
            return
        finally:
            await response.aclose()
        kept, authorized = keep_headers(items, self.capture.masker)
        out_headers = [(k, v) for k, v in response.headers.multi_items()
                       if k.lower() not in _HOP and k.lower() != "content-encoding"]
        self.capture.add(Captured(
            method=scope["method"], path=raw_path, query=query, headers=kept, body=bytes(body),
            status=response.status_code, response_headers={k.lower(): v for k, v in out_headers},
            response_body=bytes(content), authorized=authorized, credential=credential_digest(items),
        ))
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out_headers]
                    + [(b"content-length", str(len(content)).encode())]})
        await send({"type": "http.response.body", "body": bytes(content)})


async def _answer(send: Send, status: int, text: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(text)).encode())]})
    await send({"type": "http.response.body", "body": text})
