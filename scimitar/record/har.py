"""Read a HAR file (HTTP Archive 1.2, what browser dev tools, mitmproxy and API gateways export) into
the same `Capture` the proxy builds, so a customer can send a capture instead of running a proxy.

The format: http://www.softwareishard.com/blog/har-12-spec/ . Each entry's request URL is split at
the SCIM base: the part before the first SCIM endpoint (`/Users`, `/Groups`, `/Schemas`, ...), or
`base` when given. Entries for other hosts or outside the base are ignored (a browser capture holds
every page request). Bodies over `max_body_bytes` are cut off and the exchange marked truncated.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scimitar.record.model import Capture, Captured, credential_digest, keep_headers

_ENDPOINT = re.compile(r"/(Users|Groups|Schemas|ResourceTypes|ServiceProviderConfig|Bulk|Me|\.search)(/|$|\?)")


class HarError(ValueError):
    """A file that is not a readable HAR capture."""


def _text(content: Any, limit: int) -> tuple[bytes, bool]:
    if not isinstance(content, dict):
        return b"", False
    text = content.get("text")
    if not isinstance(text, str):
        return b"", False
    if content.get("encoding") == "base64":
        try:
            data = base64.b64decode(text)
        except (binascii.Error, ValueError):
            data = b""
    else:
        data = text.encode("utf-8")
    return data[:limit], len(data) > limit


def read_har(file: str | Path, *, base: str | None = None, max_body_bytes: int) -> Capture:
    path = Path(file)
    try:
        if path.stat().st_size > 20 * max_body_bytes:
            raise HarError(f"{file}: larger than {20 * max_body_bytes} bytes (raise --max-body-bytes)")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise HarError(f"{file}: not a readable HAR file ({exc})") from None
    entries = data.get("log", {}).get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise HarError(f"{file}: no log.entries (is it a HAR file?)")
    base_parts = urlsplit(base) if base else None
    capture: Capture | None = None
    for entry in entries:
        request = entry.get("request") if isinstance(entry, dict) else None
        response = entry.get("response") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or not isinstance(response, dict):
            continue
        url = urlsplit(str(request.get("url", "")))
        if base_parts is not None:
            if url.netloc != base_parts.netloc or not url.path.startswith(base_parts.path.rstrip("/")):
                continue
            prefix = base_parts.path.rstrip("/")
        else:
            found = _ENDPOINT.search(url.path)
            if found is None:
                continue
            prefix = url.path[: found.start()]
        if capture is None:
            capture = Capture(upstream_host=url.netloc)
        elif url.netloc != capture.upstream_host:
            continue
        headers = [(str(h.get("name")), str(h.get("value"))) for h in request.get("headers") or []
                   if isinstance(h, dict)]
        kept, authorized = keep_headers(headers, capture.masker)
        body, cut = _text(request.get("postData"), max_body_bytes)
        response_body, cut2 = _text(response.get("content"), max_body_bytes)
        response_headers = {str(h.get("name")).lower(): str(h.get("value"))
                            for h in response.get("headers") or [] if isinstance(h, dict)}
        if not any(k.lower() == "content-type" for k, _ in kept) and body:
            mime = (request.get("postData") or {}).get("mimeType")
            if isinstance(mime, str) and mime:
                kept.append(("Content-Type", mime))
        capture.add(Captured(
            method=str(request.get("method", "GET")).upper(), path=url.path[len(prefix):] or "/",
            query=url.query, headers=kept, body=body, status=int(response.get("status") or 0),
            response_headers=response_headers, response_body=response_body, authorized=authorized, credential=credential_digest(headers),
            truncated=cut or cut2,
        ))
    if capture is None or not capture.exchanges:
        raise HarError(f"{file}: no SCIM requests found (give --base URL if the endpoints are not under /Users, ...)")
    return capture
