"""Where requests go: the embedded reference server (in-process) or a remote SCIM endpoint.

Checks, scenarios and the cleanup command get a `ScimClient` from a `Target` and never ask which
kind it is. The client adds the base URL and the credential, records every exchange (masked) into
the caller's `Recorder`, honours `429 Retry-After` within bounds, and turns transport failures into
a few exceptions that each render as one line a user can act on.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import json as jsonlib
import re
import secrets as secretslib
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

import httpx

from scimitar.exchange import Exchange, Masker, Recorder, is_sensitive_header
from scimitar.quirks import Quirk

if TYPE_CHECKING:
    from scimitar.server.config import ServerConfig

SCIM_JSON = "application/scim+json"

#: Origin used for the embedded server's URLs. It matches a local `scimitar serve`, so a curl line
#: recorded against the embedded server can be replayed against one started with the same flags.
EMBEDDED_ORIGIN = "http://127.0.0.1:8880"


class ConfigError(Exception):
    """Bad options or configuration: the CLI prints the message as one line and exits 2."""


class TargetError(Exception):
    """The target cannot be tested at all: the CLI prints the message as one line and exits 3."""


class TargetUnreachable(TargetError):
    """Connection refused, DNS failure, timeout, or no SCIM endpoint at the URL."""


class TargetTLSError(TargetError):
    """The TLS handshake failed (certificate, hostname, protocol)."""


class CredentialRejected(TargetError):
    """The target answered 401/403 to the first discovery request."""


@dataclass(frozen=True)
class TargetOptions:
    """Everything that says where and how to connect; `url=None` means the embedded server."""

    url: str | None = None
    token: str | None = None
    basic: tuple[str, str] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    ca_bundle: str | None = None
    insecure: bool = False
    timeout: float = 30.0
    profile: str = "rfc"
    quirks: frozenset[Quirk] = frozenset()
    base_path: str = "/scim/v2"
    name: str | None = None
    shape: str | None = None  # a named shape of the embedded server (scimitar/shapes.py); None: rfc

    @property
    def embedded(self) -> bool:
        return self.url is None


@dataclass(frozen=True)
class AuthOverride:
    """A credential to send instead of the target's own (e.g. a wrong token for a 401 check)."""

    token: str | None = None
    basic: tuple[str, str] | None = None
    authorization: str | None = None

    def header(self) -> str:
        if self.authorization is not None:
            return self.authorization
        if self.token is not None:
            return f"Bearer {self.token}"
        if self.basic is not None:
            return _basic_header(*self.basic)
        raise ValueError("AuthOverride needs token, basic or authorization")


AuthArg = Literal["default"] | AuthOverride | None


def _basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


class ScimResponse:
    """An httpx response plus the masked `Exchange` that recorded it.

    `json()` returns None for an empty or non-JSON body (instead of raising), so a check can
    state "expected a JSON object" as a normal failure.
    """

    def __init__(self, response: httpx.Response, exchange: Exchange) -> None:
        self.http = response
        self.exchange = exchange

    @property
    def status(self) -> int:
        return self.http.status_code

    status_code = status

    @property
    def headers(self) -> httpx.Headers:
        return self.http.headers

    @property
    def text(self) -> str:
        return self.http.text

    @property
    def content(self) -> bytes:
        return self.http.content

    @property
    def location(self) -> str | None:
        value: str | None = self.http.headers.get("location")
        return value

    @property
    def etag(self) -> str | None:
        value: str | None = self.http.headers.get("etag")
        return value

    @property
    def content_type(self) -> str:
        value: str = self.http.headers.get("content-type", "")
        return value.split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        if not self.http.content.strip():
            return None
        try:
            return jsonlib.loads(self.http.content)
        except ValueError:
            return None

    def __repr__(self) -> str:
        return f"<ScimResponse {self.exchange.method} {self.exchange.url} -> {self.status}>"


@dataclass
class ClientStats:
    """Counters shared by every client of one target, for the run report."""

    requests: int = 0
    throttled: int = 0
    retry_wait_s: float = 0.0


class CreationSink(Protocol):
    """Where a client reports the resources its POSTs created (the run's `Ledger`)."""

    def add(self, location_or_path: str) -> None: ...


_COLLECTION = re.compile(r"/?(Users|Groups)/?")


class ScimClient:
    """A thin wrapper over `httpx.Client`: base URL, credential, SCIM headers, recording, 429 retries.

    Paths are relative to the SCIM base URL (`/Users`); absolute URLs (a `Location`) are used as
    given. `auth="default"` sends the target's credential, `None` none, an `AuthOverride` another.
    With a `ledger`, every POST to `/Users` or `/Groups` that creates a resource is recorded there,
    including creations a check expected to be refused: nothing a run creates escapes cleanup.
    """

    max_retries = 3
    max_retry_wait_s = 10.0
    max_total_wait_s = 30.0

    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str,
        authorization: str | None,
        masker: Masker,
        recorder: Recorder,
        extra_headers: tuple[tuple[str, str], ...] = (),
        stats: ClientStats | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
        ledger: CreationSink | None = None,
    ) -> None:
        self.http = http
        self.ledger = ledger
        self.base_url = base_url.rstrip("/")
        self._authorization = authorization
        self.masker = masker
        self.recorder = recorder
        self.extra_headers = extra_headers
        self.stats = stats if stats is not None else ClientStats()
        self.throttled = 0
        self._sleep = sleep
        self.timeout = timeout

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + "/" + path.lstrip("/")

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str | None] | None = None,
        content: str | bytes | None = None,
        auth: AuthArg = "default",
    ) -> ScimResponse:
        """Send one request (retrying on 429), record every attempt, return the final response.

        A header given as None in `headers` removes the default (e.g. no `Content-Type`).
        """
        body: bytes | None = None
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False).encode("utf-8")
        elif content is not None:
            body = content.encode("utf-8") if isinstance(content, str) else content
        merged: dict[str, str | None] = {"Accept": SCIM_JSON}
        if body is not None:
            merged["Content-Type"] = SCIM_JSON
        for name, extra in self.extra_headers:
            _set_header(merged, name, extra)
        if auth == "default":
            if self._authorization is not None:
                _set_header(merged, "Authorization", self._authorization)
        elif isinstance(auth, AuthOverride):
            _set_header(merged, "Authorization", auth.header())
        for name, given in (headers or {}).items():
            _set_header(merged, name, given)
        final_headers = {k: v for k, v in merged.items() if v is not None}
        if isinstance(auth, AuthOverride):
            # A deliberately wrong credential is still a credential-shaped string: keep it out of reports.
            self.masker.add(auth.token, auth.authorization)
            if auth.basic:
                self.masker.add_basic(*auth.basic)

        waited = 0.0
        attempt = 0
        while True:
            response = self._send(method, self.url(path), final_headers, body, params)
            if response.status != 429 or attempt >= self.max_retries:
                if method.upper() == "POST":
                    self._note_created(path, response)
                return response
            remaining = self.max_total_wait_s - waited
            if remaining <= 0:
                return response
            wait = min(
                retry_after_seconds(response.headers.get("retry-after")), self.max_retry_wait_s, remaining
            )
            attempt += 1
            self.throttled += 1
            self.stats.throttled += 1
            self.stats.retry_wait_s += wait
            waited += wait
            self._sleep(wait)

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        params: Mapping[str, Any] | None,
    ) -> ScimResponse:
        request = self.http.build_request(method, url, headers=headers, content=body, params=params)
        started = time.perf_counter()
        self.stats.requests += 1
        try:
            response = self.http.send(request)
            response.read()
        except httpx.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            error = classify(exc, self.base_url, self.timeout)
            self.recorder.record(
                Exchange.record(request, None, masker=self.masker, elapsed_ms=elapsed, error=str(error))
            )
            raise error from exc
        elapsed = (time.perf_counter() - started) * 1000
        exchange = Exchange.record(request, response, masker=self.masker, elapsed_ms=elapsed)
        self.recorder.record(exchange)
        return ScimResponse(response, exchange)

    def _note_created(self, path: str, response: ScimResponse) -> None:
        collection = _COLLECTION.fullmatch(path)
        if self.ledger is None or collection is None or not 200 <= response.status < 300:
            return
        body = response.json()
        rid = body.get("id") if isinstance(body, dict) else None
        if isinstance(rid, str) and rid:
            self.ledger.add(f"/{collection.group(1)}/{rid}")

    def get(self, path: str, **kwargs: Any) -> ScimResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> ScimResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> ScimResponse:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> ScimResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> ScimResponse:
        return self.request("DELETE", path, **kwargs)

    def with_recorder(self, recorder: Recorder) -> ScimClient:
        """The same client (connection, credential, counters) recording into another recorder."""
        clone = ScimClient(
            self.http,
            base_url=self.base_url,
            authorization=self._authorization,
            masker=self.masker,
            recorder=recorder,
            extra_headers=self.extra_headers,
            stats=self.stats,
            sleep=self._sleep,
            timeout=self.timeout,
            ledger=self.ledger,
        )
        return clone


def _set_header(headers: dict[str, str | None], name: str, value: str | None) -> None:
    """Set a header replacing any spelling of the same name (None marks it removed)."""
    for existing in [k for k in headers if k.lower() == name.lower()]:
        del headers[existing]
    headers[name] = value


def retry_after_seconds(value: str | None, *, default: float = 1.0) -> float:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def classify(exc: httpx.HTTPError, base_url: str, timeout: float) -> TargetError:
    """Turn an httpx failure into one actionable line naming the URL and the cause."""
    if isinstance(exc, httpx.TimeoutException):
        return TargetUnreachable(f"cannot reach {base_url}: timed out after {timeout:g} s")
    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or cause.reason or str(cause)
            return TargetTLSError(
                f"TLS error talking to {base_url}: {reason} (use --ca-bundle or --insecure)"
            )
        if isinstance(cause, ssl.SSLError):
            reason = cause.reason or str(cause)
            if reason in ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE"):
                reason += " (the TLS handshake failed: does the server speak plain HTTP on this port?)"
            return TargetTLSError(f"TLS error talking to {base_url}: {reason}")
        if isinstance(cause, ConnectionRefusedError):
            return TargetUnreachable(f"cannot reach {base_url}: connection refused")
        if isinstance(cause, socket.gaierror):
            return TargetUnreachable(f"cannot reach {base_url}: host name does not resolve")
        cause = cause.__cause__ or cause.__context__
    text = str(exc).lower()
    if "certificate" in text or "ssl" in text or "tls" in text:
        return TargetTLSError(f"TLS error talking to {base_url}: {exc}")
    if "refused" in text:
        return TargetUnreachable(f"cannot reach {base_url}: connection refused")
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return TargetUnreachable(f"cannot reach {base_url}: host name does not resolve")
    first_line = (str(exc) or type(exc).__name__).splitlines()[0]
    return TargetUnreachable(f"cannot reach {base_url}: {first_line}")


@dataclass
class Target:
    """One target built from `TargetOptions`; the httpx client and the embedded app are made lazily."""

    options: TargetOptions
    _token: str | None = field(default=None, init=False, repr=False)
    _config: ServerConfig | None = field(default=None, init=False, repr=False)
    _http: httpx.Client | None = field(default=None, init=False, repr=False)
    stats: ClientStats = field(default_factory=ClientStats, init=False)

    def __post_init__(self) -> None:
        opts = self.options
        self._token = opts.token
        if opts.embedded and opts.token is None and opts.basic is None:
            self._token = "scimitar_" + secretslib.token_urlsafe(24)

    # -- description ---------------------------------------------------------------------------
    @property
    def embedded(self) -> bool:
        return self.options.embedded

    @property
    def base_url(self) -> str:
        if self.options.url is not None:
            return self.options.url.rstrip("/")
        return EMBEDDED_ORIGIN + self.options.base_path.rstrip("/")

    @property
    def auth_kind(self) -> str:
        if self._token is not None:
            return "bearer"
        if self.options.basic is not None:
            return "basic"
        if any(name.lower() == "authorization" for name, _ in self.options.headers):
            return "header"
        return "none"

    @property
    def description(self) -> str:
        """For reports: URL without secrets, and for the embedded server its profile and quirks."""
        if self.embedded:
            quirks = ", ".join(sorted(q.value for q in self.options.quirks)) or "none"
            return (
                f"embedded reference server {self.base_url} "
                f"(profile {self.options.profile}, "
                + (f"shape {self.options.shape}, " if self.options.shape else "")
                + f"quirks: {quirks})"
            )
        name = f"{self.options.name}: " if self.options.name else ""
        return f"{name}{self.base_url} ({self.auth_kind} auth)"

    def describe(self) -> dict[str, Any]:
        """Structured description for JSON results (no secrets)."""
        return {
            "description": self.description,
            "url": self.base_url,
            "embedded": self.embedded,
            "name": self.options.name,
            "profile": self.options.profile if self.embedded else None,
            "shape": (self.options.shape or "rfc") if self.embedded else None,
            "quirks": sorted(q.value for q in self.options.quirks),
            "auth": self.auth_kind,
        }

    @property
    def authorization(self) -> str | None:
        """The `Authorization` header value this target's clients send by default."""
        if self._token is not None:
            return f"Bearer {self._token}"
        if self.options.basic is not None:
            return _basic_header(*self.options.basic)
        return None

    # -- embedded server ------------------------------------------------------------------------
    @property
    def embedded_config(self) -> ServerConfig | None:
        """The reference server's config (its admin token and path included), or None when remote."""
        if not self.embedded:
            return None
        if self._config is None:
            from scimitar.server.config import ServerConfig
            from scimitar.shapes import named_shape

            self._config = ServerConfig(
                shape=named_shape(self.options.shape) if self.options.shape else None,
                profile=self.options.profile,
                quirks=self.options.quirks,
                tokens=[self._token] if self._token else [],
                basic=[self.options.basic] if self.options.basic else [],
                base_path=self.options.base_path,
            )
        return self._config

    def masker(self) -> Masker:
        """A masker knowing every secret of this target (credential, extra headers, admin token)."""
        masker = Masker()
        masker.add(self._token)
        if self.options.basic is not None:
            masker.add_basic(*self.options.basic)
        for name, value in self.options.headers:
            if is_sensitive_header(name):
                masker.add(value, value.split(" ", 1)[-1])
        config = self.embedded_config
        if config is not None:
            masker.add(config.admin_token)
        return masker

    def _client(self) -> httpx.Client:
        if self._http is not None:
            return self._http
        opts = self.options
        if opts.embedded:
            from scimitar.transport import InProcessTransport

            try:
                from scimitar.server.app import create_app
            except ImportError as exc:
                raise TargetUnreachable(f"cannot start the embedded reference server: {exc}") from exc
            config = self.embedded_config
            assert config is not None
            app = create_app(config)
            transport = InProcessTransport(app, raise_app_exceptions=False)
            self._http = httpx.Client(transport=transport, timeout=opts.timeout)
        else:
            verify: ssl.SSLContext | bool = True
            if opts.insecure:
                verify = False
            elif opts.ca_bundle:
                verify = ssl.create_default_context(cafile=opts.ca_bundle)
            self._http = httpx.Client(verify=verify, timeout=opts.timeout, follow_redirects=False)
        return self._http

    def client(self, masker: Masker, recorder: Recorder) -> ScimClient:
        """A client for this target recording into `recorder`; cheap (the connection is shared)."""
        return ScimClient(
            self._client(),
            base_url=self.base_url,
            authorization=self.authorization,
            masker=masker,
            recorder=recorder,
            extra_headers=self.options.headers,
            stats=self.stats,
            timeout=self.options.timeout,
        )

    def probe(self, masker: Masker | None = None, recorder: Recorder | None = None) -> ScimResponse:
        """One discovery request that proves the target is reachable and accepts the credential.

        GET /ServiceProviderConfig, falling back to GET /Users?count=1 when that is 404.
        """
        client = self.client(masker or self.masker(), recorder or Recorder())
        response = client.get("/ServiceProviderConfig")
        if response.status == 404:
            response = client.get("/Users", params={"count": 1})
            if response.status == 404:
                raise TargetUnreachable(
                    f"no SCIM endpoint at {self.base_url}: /ServiceProviderConfig and /Users answer 404 "
                    "(check the base path)"
                )
        if response.status in (401, 403):
            path = response.exchange.url.removeprefix(self.base_url)
            raise CredentialRejected(
                f"{self.base_url} rejected the credential ({response.status} on GET {path}); "
                f"check --token/--basic or SCIM_TOKEN/SCIM_USERNAME/SCIM_PASSWORD"
            )
        return response

    def close(self) -> None:
        if self._http is not None:
            with contextlib.suppress(Exception):
                self._http.close()
            self._http = None
