"""Call an ASGI app with a hand-made scope: bytes and path forms no HTTP client library would send.

httpx normalises `..` and `//`, refuses header values outside latin-1 and sets Content-Length
itself; a hostile client does none of that, so these tests build the request as uvicorn hands it
to the app (`path` percent-decoded, `raw_path` as sent).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson


def asgi_call(
    app: Any,
    method: str,
    raw_path: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
    *,
    query: bytes = b"",
) -> tuple[int, dict[str, Any] | None, bytes]:
    """(status, JSON body or None, raw body) of one request to `app`."""
    path = unquote_to_bytes(raw_path).decode("utf-8", "replace")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": raw_path,
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"scim.test"), *(headers or [])],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []
    chunks = [body]

    async def receive() -> dict[str, Any]:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(), "more_body": False}
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    raw = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    try:
        parsed = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        parsed = None
    return status, parsed if isinstance(parsed, dict) else None, raw
