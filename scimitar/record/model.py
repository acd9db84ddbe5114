"""One captured request and its response, as the proxy or a HAR file saw them, credentials removed.

`Captured` keeps the request's bytes (path, raw query, body) exactly, because the scenario must
replay what the IdP sent; the `Authorization` header is never kept, only whether one was sent:
its value goes to the recording's Masker so it cannot leak through a body or a URL either.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from scimitar.exchange import Masker, is_sensitive_header

#: Request headers that change what a SCIM server does or that identify the IdP; the rest
#: (Host, Content-Length, Connection, tracing headers) describe one connection only.
MATTERING_HEADERS = ("user-agent", "accept", "accept-charset", "accept-encoding", "accept-language",
                     "content-type", "if-match", "if-none-match", "prefer")
#: Responses over this many bytes are refused by the proxy and cut off in a HAR import.
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
#: A recording holds at most this many exchanges (an IdP left running cannot fill the disk).
MAX_EXCHANGES = 5000


@dataclass
class Captured:
    method: str
    path: str  # below the upstream's SCIM base, percent-encoding kept, e.g. /Users/abc
    query: str  # raw, without "?"
    headers: list[tuple[str, str]]  # the request headers that matter, credentials excluded
    body: bytes
    status: int
    response_headers: dict[str, str]  # lower-case names
    response_body: bytes
    authorized: bool = True  # whether the request carried credentials (Authorization, a key header)
    truncated: bool = False
    #: A salted digest of the credential sent (never the value): tells the IdP's usual credential
    #: from another one (a deliberately wrong token in a connection test) without keeping either.
    credential: str | None = None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class Capture:
    """Everything recorded from one upstream; `masker` holds the credentials seen on the way."""

    upstream_host: str
    exchanges: list[Captured] = field(default_factory=list)
    masker: Masker = field(default_factory=Masker)
    dropped: int = 0  # exchanges over MAX_EXCHANGES, not kept

    def add(self, exchange: Captured) -> None:
        if len(self.exchanges) >= MAX_EXCHANGES:
            self.dropped += 1
            return
        self.exchanges.append(exchange)


_SALT = os.urandom(16)


def credential_digest(items: list[tuple[str, str]]) -> str | None:
    """A per-process salted digest of the request's credential headers (None when there are none)."""
    sent = sorted((k.lower(), v) for k, v in items if is_sensitive_header(k))
    if not sent:
        return None
    return hashlib.sha256(_SALT + repr(sent).encode()).hexdigest()[:16]


def keep_headers(items: list[tuple[str, str]], masker: Masker) -> tuple[list[tuple[str, str]], bool]:
    """The request headers worth replaying, and whether credentials were sent. Every credential
    header's value is registered with `masker` (so it is masked wherever else it appears)."""
    kept: list[tuple[str, str]] = []
    authorized = False
    for name, value in items:
        lower = name.lower()
        if is_sensitive_header(lower):
            authorized = True
            masker.add(value, value.split(" ", 1)[-1] if " " in value else value)
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "basic" and token:
                import base64
                import binascii

                try:
                    pair = base64.b64decode(token, validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    pair = ""
                user, sep, password = pair.partition(":")
                if sep:
                    masker.add_basic(user, password)
            continue
        if lower in MATTERING_HEADERS:
            kept.append((name, value))
    return kept, authorized
