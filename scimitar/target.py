"""Where requests go: the embedded reference server (in-process) or a remote SCIM endpoint.

Checks, scenarios and the cleanup command get a `ScimClient` from a `Target` and never ask which
kind it is. The client adds the base URL and the credential, records every exchange (masked) into
the caller's `Recorder`, honours `429 Retry-After` within bounds, and turns transport failures into
a few exceptions that each render as one line a user can act on.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import email.utils
import json as jsonlib
import math
import re
import secrets as secretslib
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urljoin

import httpcore
import httpx

from scimitar.exchange import (
    MAX_BODY_CHARS,
    PLAIN_HEADERS,
    Exchange,
    Masker,
    Recorder,
    is_sensitive_header,
    url_secrets,
)
from scimitar.pacing import Pacer
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


class NotScimEndpoint(TargetUnreachable):
    """The URL answers, but not as a SCIM service provider (HTML, invalid JSON, 5xx to everything)."""


class ResponseDeadlineExceeded(TargetUnreachable):
    """A response was not complete within the read deadline (a server dripping its answer)."""


class RunDeadlineReached(TargetError):
    """The run's `--max-duration` has passed: what is left is skipped, not failed."""


class TargetMisbehaved(TargetError):
    """The harness refused what the target sent; a finding of the check (or step) that met it.

    Raised by the client, so no check can forget the rule: the check that met it ends FAILED with
    the message, and outside a check (at the probe) it is one line and exit 3 like any TargetError.
    """


class CrossOriginReference(TargetMisbehaved):
    """A server-given reference (Location, meta.location, Bulk location, endpoint) names another
    origin; it is never requested, so the credential goes only to the target's origin."""


class BodyTooLarge(TargetMisbehaved):
    """A response body exceeded `--max-body-bytes`; reading stopped and the connection was closed."""


#: Default bound on one response body (`--max-body-bytes`).
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
#: Default bound on the Retry-After waits of one request (`--max-retry-wait`) and of a run (`--retry-budget`).
DEFAULT_MAX_RETRY_WAIT_S = 30.0
DEFAULT_RETRY_BUDGET_S = 60.0
#: How long the final cleanup may take after `--max-duration` ran out.
CLEANUP_AFTER_DEADLINE_S = 60.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


def format_bytes(size: int) -> str:
    """`8 MiB`, `512 KiB`, `100 bytes`: how limits read in messages."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{round(size / factor, 2):g} {unit}"
    return f"{size} bytes"


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an absolute URL, lower-cased, the port made explicit (RFC 6454 §4)."""
    parsed = httpx.URL(url)
    scheme = parsed.scheme.lower()
    port = parsed.port if parsed.port is not None else _DEFAULT_PORTS.get(scheme, 0)
    return scheme, parsed.host.lower(), port


def _origin_text(origin: tuple[str, str, int]) -> str:
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}"


@dataclass
class Limits:
    """Bounds shared by every client of one target, so a hostile target cannot hold the harness.

    `read_deadline` bounds one response from sending the request to its last byte (None: the
    timeout); `max_retry_wait` bounds the Retry-After waits of one request, `retry_budget` those of
    the whole run (after it a 429 is returned at once); `run_deadline` (a `time.monotonic()` value,
    from `--max-duration`) ends every request and retry wait, and the runner skips what is left.
    """

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    read_deadline: float | None = None
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT_S
    retry_budget: float = DEFAULT_RETRY_BUDGET_S
    run_deadline: float | None = None
    #: h9-race: the start gate shared by concurrent workers (`--max-rps`, 429 held for all); None: none.
    pacer: Pacer | None = None

    def run_left(self) -> float:
        """Seconds before the run deadline (infinity without one)."""
        if self.run_deadline is None:
            return math.inf
        return self.run_deadline - time.monotonic()

    @property
    def run_deadline_reached(self) -> bool:
        return self.run_left() <= 0


#: The deadline (`time.monotonic()`) of the response being read in this thread; the network
#: backend below clamps every socket timeout to it, so no phase of a response can outlive it.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("scimitar_deadline", default=None)


def _clamp(timeout: float | None) -> float | None:
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise httpcore.ReadTimeout("response deadline reached")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the current response deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with `_clamp` on connect, read and write (the per-read timeout
    alone lets a server that sends one byte every few seconds hold a response forever)."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(path, _clamp(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install_deadlines(http: httpx.Client) -> int:
    """Put `_DeadlineBackend` under every connection pool of an httpx client; returns how many.

    httpx does not expose the pool's network backend, so this reaches one private attribute of
    each transport (`_pool`) and pool (`_network_backend`); tests/test_client_safety.py proves the
    effect (a drip server ends at the deadline), so an httpx upgrade that moves them fails there.
    The body loop in `ScimClient` checks the deadline between chunks as a second line either way.
    """
    transports: list[Any] = [http._transport, *http._mounts.values()]
    installed = 0
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
            installed += 1
    return installed


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
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    read_deadline: float | None = None  # seconds per response; None: the timeout
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT_S
    retry_budget: float = DEFAULT_RETRY_BUDGET_S
    shape: str | None = None  # a named shape of the embedded server (scimitar/shapes.py); None: rfc

    @property
    def embedded(self) -> bool:
        return self.url is None

    def limits(self) -> Limits:
        return Limits(
            max_body_bytes=self.max_body_bytes,
            read_deadline=self.read_deadline,
            max_retry_wait=self.max_retry_wait,
            retry_budget=self.retry_budget,
        )


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


class _Slot:
    """One request's in-flight slot of the shared `Pacer` (none: `pacer=None`), given back once."""

    __slots__ = ("_pacer",)

    def __init__(self, pacer: Pacer | None) -> None:
        self._pacer = pacer

    def release(self) -> None:
        pacer, self._pacer = self._pacer, None
        if pacer is not None:
            pacer.release()


_COLLECTION = re.compile(r"/?(Users|Groups)/?")


class ScimClient:
    """A thin wrapper over `httpx.Client`: base URL, credential, SCIM headers, recording, bounds.

    Two kinds of address, kept apart on purpose:

    * `url(path)`: a SCIM path relative to the base URL, as callers write them (`/Users`, `Users/x`
      and `/Users/x` all mean `<base>/Users/x`).
    * `resolve(reference)`: a reference the *server* gave (`Location`, `meta.location`, a Bulk
      `location`, a `$ref`), resolved as RFC 3986 §5.2 says against the base URL with a trailing
      slash, as RFC 7643 §2.3.7 requires: `/scim/v2/Users/x` is origin-relative, `Users/x`
      base-relative, an absolute URL stays absolute.

    Either way the request goes out only when its scheme, host and port are the target's; anything
    else raises `CrossOriginReference` before a byte is sent, so the credential never leaves the
    target's origin. Redirects are never followed (the response is returned as it is).

    Every response is read as a stream within `Limits`: at most `max_body_bytes` (then
    `BodyTooLarge`), complete within the read deadline (then `ResponseDeadlineExceeded`), and 429
    `Retry-After` waits are capped per request and per run. `auth="default"` sends the target's
    credential, `None` none, an `AuthOverride` another. With a `ledger`, every POST to `/Users` or
    `/Groups` that creates a resource is recorded there, including creations a check expected to be
    refused: nothing a run creates escapes cleanup.
    """

    max_retries = 3
    #: Longest single wait for one Retry-After (the per-request and per-run caps are in `Limits`).
    max_retry_wait_s = 10.0

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
        limits: Limits | None = None,
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
        self.limits = limits if limits is not None else Limits()
        #: A race check's burst client (scimitar/checks/race.py): its requests neither wait at the
        #: pacer's gate (the burst took its turns at once, `Pacer.reserve_burst`) nor take an in-flight
        #: slot, so a burst of `RACE_N` is sent at once whatever `--concurrency` and `--max-rps` are
        #: (the race checks are serial: nothing else is in flight then).
        self.burst = False

    @property
    def fanout(self) -> int:
        """How many requests a caller of this client may have in flight at once: the shared
        pacer's in-flight bound (`--concurrency`), 1 without one (the embedded default). The
        bound holds in `_send` whatever the number of threads; this only says whether more
        threads would help."""
        pacer = self.limits.pacer
        return 1 if pacer is None else pacer.fanout

    # -- addresses ------------------------------------------------------------------------------
    @property
    def origin(self) -> tuple[str, str, int]:
        return origin_of(self.base_url)

    def url(self, path: str) -> str:
        """The absolute URL of a SCIM path relative to the base URL.

        An absolute URL (the output of `resolve`) is accepted when it has the target's origin.
        """
        if path.lower().startswith(("http://", "https://")):
            self._require_same_origin(path, "request URL")
            return path
        return self.base_url + "/" + path.lstrip("/")

    def resolve(self, reference: str, what: str = "reference") -> str:
        """A server-given reference resolved per RFC 3986 §5.2 against the base URL; same origin only.

        `what` names the reference in the error (`Location`, `meta.location`, `Bulk location`).
        """
        if not isinstance(reference, str) or not reference.strip():
            raise CrossOriginReference(f"the server's {what} is empty or not a string: {reference!r}")
        resolved = urljoin(self.base_url + "/", reference.strip())
        self._require_same_origin(resolved, what)
        return resolved

    def endpoint_url(self, endpoint: str) -> str:
        """A ResourceType `endpoint` (RFC 7643 §6: "relative to the Base URL", e.g. `/Users`) as an
        absolute URL; an absolute endpoint is resolved (and origin-checked) as a reference."""
        if endpoint.lower().startswith(("http://", "https://", "//")):
            return self.resolve(endpoint, "ResourceType endpoint")
        return self.url(endpoint)

    def scim_path(self, reference: str, what: str = "reference") -> str:
        """A server reference as a path relative to the base URL (`/Users/<id>`), for the ledger;
        the same-origin absolute URL when it lies outside the base path."""
        resolved = self.resolve(reference, what)
        prefix = self.base_url + "/"
        if resolved.startswith(prefix):
            return "/" + resolved[len(prefix) :].split("#", 1)[0]
        return resolved

    def _require_same_origin(self, url: str, what: str) -> None:
        expected = self.origin
        try:
            actual = origin_of(url)
        except (httpx.InvalidURL, ValueError) as exc:
            raise CrossOriginReference(
                f"the server's {what} {url!r} is not a valid URL ({exc}); not requested"
            ) from None
        if actual != expected:
            raise CrossOriginReference(
                f"the server's {what} points to another origin ({url}, not {_origin_text(expected)}); "
                "not requested with the credential"
            )

    # -- requests -------------------------------------------------------------------------------
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
        """Send one request (retrying on 429 within the caps), record every attempt, return the final
        response. `path` is a SCIM path or an absolute same-origin URL (see `url`, `resolve`).

        A header given as None in `headers` removes the default (e.g. no `Content-Type`).
        """
        url = self.url(path)
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
        # A header removed on purpose (None) must not come back as httpx's default (User-Agent,
        # Accept-Encoding): scenarios replay an IdP's exact headers.
        removed = frozenset(k.lower() for k, v in merged.items() if v is None)
        if isinstance(auth, AuthOverride):
            # A deliberately wrong credential is still a credential-shaped string: keep it out of reports.
            self.masker.add(auth.token, auth.authorization)
            if auth.basic:
                self.masker.add_basic(*auth.basic)

        limits = self.limits
        waited = 0.0
        attempt = 0
        while True:
            response = self._send(method, url, final_headers, body, params, removed)
            if response.status != 429 or attempt >= self.max_retries:
                break
            remaining = min(
                limits.max_retry_wait - waited,
                limits.retry_budget - self.stats.retry_wait_s,
                limits.run_left(),
            )
            if remaining <= 0:
                break
            wait = min(retry_after_seconds(response.headers.get("retry-after")), self.max_retry_wait_s, remaining)
            attempt += 1
            self.throttled += 1
            self.stats.throttled += 1
            waited += wait
            if limits.pacer is not None:  # the other workers wait for the Retry-After too; the
                # budget counts the run's time held (workers throttled together wait once)
                self.stats.retry_wait_s += limits.pacer.hold(wait)
            else:
                self.stats.retry_wait_s += wait
            self._sleep(wait)
        if method.upper() == "POST":
            self._note_created(path, response)
        return response

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        params: Mapping[str, Any] | None,
        removed: frozenset[str] = frozenset(),
    ) -> ScimResponse:
        request = self.http.build_request(method, url, headers=headers, content=body, params=params)
        for name in removed:
            request.headers.pop(name, None)
        self._require_same_origin(str(request.url), "request URL")
        limits = self.limits
        pacer = limits.pacer
        slot = _Slot(None)
        if pacer is not None:
            if self.burst:  # a race check's burst: its turns were taken at once (`reserve_burst`), no slot
                pass
            elif pacer.acquire(limits.run_deadline):
                slot = _Slot(pacer)
        try:
            return self._send_paced(method, url, request, slot)
        finally:
            slot.release()

    def _send_paced(self, method: str, url: str, request: httpx.Request, slot: _Slot) -> ScimResponse:
        """Send a built request (past the pacer's gate) and read its body within the limits. The
        in-flight `slot` is given back as soon as the body is read or the request failed, before
        the exchange is recorded (masking is local work)."""
        limits = self.limits
        run_left = limits.run_left()
        if run_left <= 0:
            raise RunDeadlineReached("run deadline reached (--max-duration); request not sent")
        read_deadline = limits.read_deadline if limits.read_deadline is not None else self.timeout
        budget = min(read_deadline, run_left)
        cut_by_run = run_left < read_deadline
        request.extensions["timeout"] = httpx.Timeout(min(self.timeout, budget)).as_dict()
        started = time.perf_counter()
        deadline = time.monotonic() + budget
        self.stats.requests += 1
        token = _DEADLINE.set(deadline)
        response: httpx.Response | None = None
        try:
            response = self.http.send(request, stream=True)
            try:
                self._read_body(request, response, deadline)
            finally:
                response.close()
        except BodyTooLarge as exc:
            elapsed = (time.perf_counter() - started) * 1000
            too_large = BodyTooLarge(f"{method} {self._display(url)}: {exc}")
            self.recorder.record(
                Exchange.record(request, response, masker=self.masker, elapsed_ms=elapsed, error=str(too_large))
            )
            raise too_large from None
        except httpx.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            error: TargetError
            if isinstance(exc, httpx.TimeoutException) and time.monotonic() >= deadline - 0.05:
                if cut_by_run:
                    error = RunDeadlineReached(
                        f"run deadline reached (--max-duration) during {method} {self._display(url)}"
                    )
                else:
                    error = ResponseDeadlineExceeded(
                        f"{method} {self.base_url}{self._display(url)}: the response was not complete "
                        f"after {budget:g} s (read deadline); stopped reading"
                    )
            else:
                error = classify(exc, self.base_url, self.timeout)
            self.recorder.record(
                Exchange.record(request, None, masker=self.masker, elapsed_ms=elapsed, error=str(error))
            )
            raise error from exc
        finally:
            _DEADLINE.reset(token)
            slot.release()
        elapsed = (time.perf_counter() - started) * 1000
        exchange = Exchange.record(request, response, masker=self.masker, elapsed_ms=elapsed)
        self.recorder.record(exchange)
        return ScimResponse(response, exchange)

    def _read_body(self, request: httpx.Request, response: httpx.Response, deadline: float) -> None:
        """Read the (decoded) body into the response, at most `max_body_bytes`, by `deadline`."""
        limit = self.limits.max_body_bytes
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > limit:
                kept = b"".join(chunks)[:MAX_BODY_CHARS]
                response._content = kept  # what the exchange shows of it: the first 64 KiB
                raise BodyTooLarge(f"response body exceeded {format_bytes(limit)}; stopped reading")
            chunks.append(chunk)
            if time.monotonic() >= deadline:
                raise httpx.ReadTimeout("response deadline reached", request=request)
        response._content = b"".join(chunks)

    def _display(self, url: str) -> str:
        """A URL as it reads in messages: the path under the base URL when it is one."""
        return url.removeprefix(self.base_url) or "/"

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
        """The same client (connection, credential, counters, limits) recording into another recorder."""
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
            limits=self.limits,
        )
        clone.burst = self.burst
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


def _json_object(response: ScimResponse) -> bool:
    """A 2xx answer whose body is a JSON object: what a SCIM endpoint answers to a discovery GET."""
    return 200 <= response.status < 300 and isinstance(response.json(), dict)


def _answer(response: ScimResponse) -> str:
    """How a non-SCIM answer reads in the probe's line: `200 text/html`, `500 ... with invalid JSON`."""
    kind = response.content_type or "without a Content-Type"
    text = f"{response.status} {kind}"
    if not response.content.strip():
        return text + " with an empty body"
    body = response.json()
    if "json" in kind and body is None:
        return text + " that is not valid JSON"
    if "json" in kind and not isinstance(body, dict):
        return text + " that is not a JSON object"
    return text


@dataclass
class Target:
    """One target built from `TargetOptions`; the httpx client and the embedded app are made lazily."""

    options: TargetOptions
    _token: str | None = field(default=None, init=False, repr=False)
    _config: ServerConfig | None = field(default=None, init=False, repr=False)
    _http: httpx.Client | None = field(default=None, init=False, repr=False)
    stats: ClientStats = field(default_factory=ClientStats, init=False)
    limits: Limits = field(default_factory=Limits, init=False)

    def __post_init__(self) -> None:
        opts = self.options
        self.limits = opts.limits()
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
        credential_headers = [name for name, _ in self.options.headers if name.lower() not in PLAIN_HEADERS]
        if credential_headers:
            return "header " + ", ".join(credential_headers)
        if url_secrets(self.options.url)[1]:
            return "URL query"
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
            if is_sensitive_header(name) or name.lower() not in PLAIN_HEADERS:
                # A `--header` value is a secret unless it is plain content negotiation.
                masker.add(value, value.split(" ", 1)[-1])
        masker.add_url(self.options.url)  # query values (and userinfo, if any reached us)
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
            transport = InProcessTransport(
                app, raise_app_exceptions=False, max_body_bytes=self.limits.max_body_bytes
            )
            self._http = httpx.Client(transport=transport, timeout=opts.timeout)
        else:
            verify: ssl.SSLContext | bool = True
            if opts.insecure:
                verify = False
            elif opts.ca_bundle:
                verify = ssl.create_default_context(cafile=opts.ca_bundle)
            self._http = httpx.Client(verify=verify, timeout=opts.timeout, follow_redirects=False)
            install_deadlines(self._http)
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
            limits=self.limits,
        )

    def start_run_deadline(self, seconds: float | None) -> None:
        """Bound the run: after `seconds` no request is sent and the runner skips what is left."""
        self.limits.run_deadline = None if seconds is None else time.monotonic() + seconds

    def begin_cleanup(self) -> None:
        """The final cleanup runs after the run deadline too: with one, it gets `CLEANUP_AFTER_DEADLINE_S`
        more (each request still bounded by the read deadline), so a run with `--max-duration` ends
        by duration + that whatever the target does; what is left is reported by the cleanup."""
        if self.limits.run_deadline is not None:
            self.limits.run_deadline = max(self.limits.run_deadline, time.monotonic()) + CLEANUP_AFTER_DEADLINE_S

    def probe(self, masker: Masker | None = None, recorder: Recorder | None = None) -> ScimResponse:
        """One discovery request that proves the target is a reachable SCIM endpoint accepting the
        credential; anything else raises one `TargetError` line (the CLI exits 3).

        GET /ServiceProviderConfig must answer a JSON object; when it does not (404, an error, HTML),
        GET /Users?count=1 must (a server without the discovery endpoint is still tested). A target
        answering 500, HTML or invalid JSON to both is not a SCIM endpoint: one line instead of
        hundreds of failures. Content types are not judged here (`application/json` is fine): the
        checks do that.
        """
        client = self.client(masker or self.masker(), recorder or Recorder())
        try:
            return self._probe(client)
        except TargetMisbehaved as exc:  # a body over the limit: name the target in the one line
            raise type(exc)(f"{self.base_url}: {exc}") from None

    def _probe(self, client: ScimClient) -> ScimResponse:
        spc = client.get("/ServiceProviderConfig")
        self._refused(spc, "/ServiceProviderConfig")
        if _json_object(spc):
            return spc
        if spc.status == 429:  # still throttled after the capped Retry-After waits
            raise TargetUnreachable(
                f"{self.base_url} kept answering 429 Too Many Requests to GET /ServiceProviderConfig "
                f"(waited {self.stats.retry_wait_s:g} s for Retry-After); try again later"
            )
        users = client.get("/Users", params={"count": 1})
        self._refused(users, "/Users")
        if _json_object(users):
            return users
        if spc.status == 404 and users.status == 404:
            raise TargetUnreachable(
                f"no SCIM endpoint at {self.base_url}: /ServiceProviderConfig and /Users answer 404 "
                "(check the base path)"
            )
        raise NotScimEndpoint(
            f"{self.base_url} is not a SCIM endpoint: GET /ServiceProviderConfig answered "
            f"{_answer(spc)} (expected a JSON ServiceProviderConfig), GET /Users answered {_answer(users)}"
        )

    def _refused(self, response: ScimResponse, path: str) -> None:
        if response.status in (401, 403):
            raise CredentialRejected(
                f"{self.base_url} rejected the credential ({response.status} on GET {path}); "
                f"check --token/--basic or SCIM_TOKEN/SCIM_USERNAME/SCIM_PASSWORD"
            )

    def close(self) -> None:
        if self._http is not None:
            with contextlib.suppress(Exception):
                self._http.close()
            self._http = None
