"""One HTTP request and its response, recorded with every secret already masked.

Masking happens when an exchange is *recorded*, not when it is printed: failures, transcripts,
curl lines, JSON and JUnit reports are all rendered from `Exchange` objects, so once an exchange
exists nothing downstream can leak a credential (the idea of schemathesis's output sanitization,
applied one step earlier).
"""

from __future__ import annotations

import base64
import html
import json
import shlex
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit
from xml.sax.saxutils import escape as xml_escape

import httpx

MASK = "****"

#: Header names whose values are always masked (compared lowercased).
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "x-auth-token",
        "x-access-token",
        "x-csrf-token",
    }
)
#: Words that make any other header name sensitive (`X-Clickhouse-Key`, `X-Client-Secret`).
_SENSITIVE_HEADER_WORDS = ("token", "secret", "password", "api-key", "apikey", "-key", "session")

#: Extra request headers (`--header`) whose values are not treated as secrets: content negotiation
#: and client identification. Every other `--header` value is masked wherever it appears.
PLAIN_HEADERS = frozenset(
    {"accept", "accept-language", "accept-charset", "accept-encoding", "content-type", "user-agent", "cache-control"}
)

#: JSON member names whose values are always masked in bodies (compared lowercased).
SENSITIVE_FIELDS = frozenset(
    {
        "password",
        "secret",
        "token",
        "client_secret",
        "clientsecret",
        "access_token",
        "refresh_token",
        "api_key",
        "apikey",
        "bearer",
    }
)

#: Secrets shorter than this are masked in headers and JSON fields but not searched for in free
#: text: replacing every "ab" in a transcript would make it unreadable while hiding nothing.
MIN_TEXT_SECRET = 4

#: Response bodies longer than this are truncated in the stored text (the parsed JSON is kept).
MAX_BODY_CHARS = 64 * 1024

#: Headers curl adds itself or that only describe this one connection.
_CURL_SKIP_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent"})


def is_sensitive_header(name: str) -> bool:
    """Whether a header's value is a credential by its name alone."""
    lower = name.lower()
    return lower in SENSITIVE_HEADERS or any(word in lower for word in _SENSITIVE_HEADER_WORDS)


def _url_forms(text: str) -> set[str]:
    """Percent-encodings: httpx and `urlencode` leave `/` alone, `quote_plus` turns spaces into `+`."""
    return {quote(text, safe=""), quote(text, safe="/"), quote_plus(text), quote_plus(text, safe="/")}


def _json_forms(text: str) -> set[str]:
    """The inside of a JSON string: with and without `ensure_ascii` (`\\u00e9` or `é`)."""
    return {json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}


def _markup_forms(text: str) -> set[str]:
    """HTML text and attributes (`html.escape`), and XML text and attributes (JUnit's ElementTree)."""
    return {
        html.escape(text),
        html.escape(text, quote=False),
        xml_escape(text),
        xml_escape(text, {'"': "&quot;"}),
        xml_escape(text, {'"': "&quot;", "\n": "&#10;"}),
    }


def _base64_forms(text: str) -> set[str]:
    raw = text.encode("utf-8")
    forms: set[str] = set()
    for encoded in (base64.b64encode(raw).decode("ascii"), base64.urlsafe_b64encode(raw).decode("ascii")):
        forms |= {encoded, encoded.rstrip("=")}
    return forms


@lru_cache(maxsize=512)
def secret_encodings(secret: str) -> frozenset[str]:
    """Every form in which the harness can write `secret`: raw; base64 (standard and URL-safe, with
    and without padding); percent-encoded (`quote` with and without `/` safe, `quote_plus`); inside a
    JSON string (once, and twice: a transcript stored in results.json); HTML- and XML-escaped (the
    report page, JUnit), also of the JSON forms; and inside a single-quoted shell word (curl lines).

    Masking a superset costs nothing when a form is absent (one substring search each), while one
    missed form is a leaked credential in a CI artifact kept for months.
    """
    forms = {secret} | _url_forms(secret) | _base64_forms(secret)
    once = set().union(*(_json_forms(form) for form in forms))
    twice = set().union(*(_json_forms(form) for form in once))
    forms |= once | twice
    forms |= set().union(*(_markup_forms(form) for form in forms))
    forms |= {form.replace("'", "'\"'\"'") for form in list(forms) if "'" in form}
    return frozenset(forms)


def url_secrets(url: str | None) -> tuple[tuple[str, str] | None, list[str]]:
    """The credentials a URL carries: its userinfo `(user, password)` and its query values."""
    if not url:
        return None, []
    try:
        parts = urlsplit(url)
        userinfo = None
        if parts.username is not None or parts.password is not None:
            userinfo = (unquote(parts.username or ""), unquote(parts.password or ""))
        values = [value for _, value in parse_qsl(parts.query, keep_blank_values=False)]
    except ValueError:
        return None, []
    return userinfo, values


def redact_url(url: str) -> str:
    """`url` with its userinfo password and query values replaced by `****` (for messages)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = "&".join(
        f"{pair.split('=', 1)[0]}={MASK}" if "=" in pair else pair for pair in parts.query.split("&") if pair
    )
    return parts._replace(netloc=netloc, query=query).geturl()


class Masker:
    """The run's secrets, and the one place that hides them in text, headers and JSON bodies.

    Every form in which a secret can appear in an output is registered (`secret_encodings`): the
    value itself, its base64, URL, JSON, HTML/XML and shell encodings, and for basic credentials
    `user:pass` with its own. Thread-safe to add to.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._forms: set[str] = set()
        self._lock = threading.Lock()
        self._ordered: tuple[str, ...] = ()
        for secret in secrets:
            self.add(secret)

    def add(self, *secrets: str | None) -> None:
        """Register secrets (empty or None values are ignored) with every encoding of each."""
        with self._lock:
            for secret in secrets:
                if not secret or secret in self._secrets:
                    continue
                self._secrets.add(secret)
                if len(secret) >= MIN_TEXT_SECRET:
                    self._forms |= secret_encodings(secret)
                else:
                    self._forms.add(secret)
            # Longest first, so a secret containing another is replaced whole.
            self._ordered = tuple(sorted(self._forms, key=len, reverse=True))

    def add_basic(self, username: str, password: str) -> None:
        """Register a basic credential: the password, `user:pass` (and so its base64, the header form)."""
        self.add(password, f"{username}:{password}")

    def add_url(self, url: str | None) -> None:
        """Register what a target URL carries: the userinfo password (and pair), every query value."""
        userinfo, values = url_secrets(url)
        if userinfo is not None:
            user, password = userinfo
            if password:
                self.add_basic(user, password)
            else:
                self.add(user)
        self.add(*values)

    @property
    def secrets(self) -> frozenset[str]:
        """The registered secrets (each of their encodings is in `forms`)."""
        return frozenset(self._secrets)

    @property
    def forms(self) -> frozenset[str]:
        return frozenset(self._forms)

    def mask_text(self, text: str) -> str:
        """Replace every registered secret in free text with `****`."""
        for secret in self._ordered:
            if len(secret) >= MIN_TEXT_SECRET and secret in text:
                text = text.replace(secret, MASK)
        return text

    def mask_header(self, name: str, value: str) -> str:
        """Mask a header value; for `Authorization` keep the scheme (`Bearer ****`) for readers and curl."""
        if is_sensitive_header(name):
            lower = name.lower()
            if lower in ("authorization", "proxy-authorization") and " " in value.strip():
                scheme = value.strip().split(" ", 1)[0]
                return f"{scheme} {MASK}"
            return MASK
        return self.mask_text(value)

    def mask_headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(name, self.mask_header(name, value)) for name, value in headers]

    def mask_json(self, value: Any) -> Any:
        """A copy of a JSON value with sensitive members masked and secrets hidden in all strings."""
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                if isinstance(key, str) and key.lower() in SENSITIVE_FIELDS and item not in (None, ""):
                    out[key] = MASK
                else:
                    out[key] = self.mask_json(item)
            return out
        if isinstance(value, list):
            return [self.mask_json(item) for item in value]
        if isinstance(value, str):
            return self.mask_text(value)
        return value

    def mask_body(self, text: str) -> str:
        """Mask a body's text; a JSON body is re-serialised only when a sensitive member was masked."""
        parsed = _parse_json(text)
        if parsed is not _NOT_JSON:
            masked = self.mask_json(parsed)
            if masked != parsed:
                return self.mask_text(json.dumps(masked, ensure_ascii=False))
        return self.mask_text(text)


class _NotJson:
    """Sentinel type: the body was not JSON (distinct from a JSON `null`)."""


_NOT_JSON: Any = _NotJson()


def _parse_json(text: str) -> Any:
    stripped = text.strip()
    # Cheap rejection of HTML and plain text before paying for a parse attempt.
    if not stripped or stripped[0] not in '{["-0123456789tfn':
        return _NOT_JSON
    try:
        return json.loads(stripped)
    except ValueError:
        return _NOT_JSON


def _raw_items(headers: httpx.Headers) -> list[tuple[str, str]]:
    """Header pairs as sent, original spelling kept (httpx's `items()` lowercases names)."""
    encoding = headers.encoding
    return [(name.decode(encoding), value.decode(encoding)) for name, value in headers.raw]


def _decode(content: bytes) -> str:
    if not content:
        return ""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(content)} bytes of binary content>"


@dataclass
class Exchange:
    """One request and its response (or the transport error that replaced it), secrets masked.

    `status` is 0 when no response arrived; `error` then says why. `response_body` may be
    truncated for huge responses; `json()` still returns the whole parsed (masked) document.
    """

    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: str
    status: int
    response_headers: list[tuple[str, str]]
    response_body: str
    elapsed_ms: float
    error: str | None = None
    truncated: bool = False
    _json: Any = field(default=_NOT_JSON, repr=False, compare=False)

    @classmethod
    def record(
        cls,
        request: httpx.Request,
        response: httpx.Response | None,
        *,
        masker: Masker,
        elapsed_ms: float,
        error: str | None = None,
        max_body_chars: int = MAX_BODY_CHARS,
    ) -> Exchange:
        """Build an exchange from httpx objects, masking as it goes (the only constructor callers need)."""
        request_body = masker.mask_body(_decode(request.content))
        status = 0
        response_headers: list[tuple[str, str]] = []
        response_body = ""
        parsed: Any = _NOT_JSON
        truncated = False
        if response is not None:
            status = response.status_code
            response_headers = masker.mask_headers(_raw_items(response.headers))
            raw = _decode(response.content)
            parsed = _parse_json(raw)
            if parsed is not _NOT_JSON:
                parsed = masker.mask_json(parsed)
            response_body = masker.mask_body(raw)
            if len(response_body) > max_body_chars:
                dropped = len(response_body) - max_body_chars
                response_body = (
                    response_body[:max_body_chars] + f"\n... [{dropped} more characters truncated]"
                )
                truncated = True
        return cls(
            method=request.method,
            url=masker.mask_text(str(request.url)),
            request_headers=masker.mask_headers(_raw_items(request.headers)),
            request_body=request_body,
            status=status,
            response_headers=response_headers,
            response_body=response_body,
            elapsed_ms=round(elapsed_ms, 2),
            error=masker.mask_text(error) if error else None,
            truncated=truncated,
            _json=parsed,
        )

    def json(self) -> Any:
        """The parsed (masked) response body, or None when it was not JSON."""
        return None if self._json is _NOT_JSON else self._json

    def header(self, name: str) -> str | None:
        """First response header with this name (case-insensitive)."""
        lower = name.lower()
        return next((value for key, value in self.response_headers if key.lower() == lower), None)

    def curl(self) -> str:
        """A curl command reproducing this request, credentials taken from environment variables.

        `Authorization: Bearer` becomes `$SCIM_TOKEN`, `Basic` becomes `-u "$SCIM_USERNAME:$SCIM_PASSWORD"`,
        other credential headers `$SCIM_<HEADER_NAME>`: the line can be pasted into a shell where
        those are exported, and never contains the secret itself.
        """
        parts = ["curl", "-sS", "-i", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers:
            lower = name.lower()
            if lower in _CURL_SKIP_HEADERS:
                continue
            if lower == "authorization":
                scheme = value.split(" ", 1)[0].lower()
                if scheme == "bearer":
                    parts += ["-H", f'"{name}: Bearer $SCIM_TOKEN"']
                elif scheme == "basic":
                    parts += ["-u", '"$SCIM_USERNAME:$SCIM_PASSWORD"']
                else:
                    parts += ["-H", f'"{name}: $SCIM_AUTHORIZATION"']
            elif is_sensitive_header(name):
                env = "SCIM_" + "".join(c if c.isalnum() else "_" for c in name.upper())
                parts += ["-H", f'"{name}: ${env}"']
            else:
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.request_body:
            parts += ["--data-raw", shlex.quote(self.request_body)]
        return " ".join(parts)

    def transcript(self) -> str:
        """Request and response as readable text, JSON bodies pretty-printed."""
        lines = [f"> {self.method} {self.url}"]
        lines += [f"> {name}: {value}" for name, value in self.request_headers]
        if self.request_body:
            lines += [">", _pretty(self.request_body)]
        lines.append("")
        if self.status == 0:
            lines.append(f"< no response: {self.error or 'unknown error'}")
            return "\n".join(lines)
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = ""
        lines.append(f"< HTTP {self.status} {reason}".rstrip() + f"  ({self.elapsed_ms:.1f} ms)")
        lines += [f"< {name}: {value}" for name, value in self.response_headers]
        if self.response_body:
            lines += ["<", self.response_body if self.truncated else _pretty(self.response_body)]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The form stored in JSON results: summary fields, the transcript and the curl line."""
        return {
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "elapsed_ms": self.elapsed_ms,
            "error": self.error,
            "transcript": self.transcript(),
            "curl": self.curl(),
        }


def _pretty(text: str) -> str:
    parsed = _parse_json(text)
    if parsed is _NOT_JSON:
        return text
    return json.dumps(parsed, indent=2, ensure_ascii=False)


class Recorder:
    """The exchanges one check or scenario step owns, in order.

    `sink` (optional) also receives every exchange, e.g. a session-wide log or a load audit.
    """

    def __init__(self, sink: Recorder | None = None) -> None:
        self.exchanges: list[Exchange] = []
        self._sink = sink

    def record(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        if self._sink is not None:
            self._sink.record(exchange)

    @property
    def last(self) -> Exchange | None:
        return self.exchanges[-1] if self.exchanges else None

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self.exchanges)

    def __len__(self) -> int:
        return len(self.exchanges)


def header_items(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Normalise a mapping or pair list of headers into pairs."""
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)
