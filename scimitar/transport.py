"""Run an ASGI app synchronously, in-process, as an httpx transport: no sockets, no threads.

`httpx.ASGITransport` is async-only and Starlette's `TestClient` hops to a worker thread through an
anyio portal for every request. The harness is synchronous (pytest checks, a CLI), so this
transport keeps one private event loop and drives the app with `run_until_complete`: the
request never leaves the calling thread, which makes the embedded reference server about as cheap
to call as a function (see tests/test_transport.py for the measured overhead).

Bounded: with `max_body_bytes`, the transport keeps at most that many bytes of a response body plus
one (so the client sees that the limit was passed) and stops the app, as a client closing the
connection would; a huge answer never sits in memory.

Threading: an instance is meant for one thread. Calls from several threads are serialised by a
lock (never interleaved on the loop), and it cannot be called from inside a running event loop
(asyncio forbids nesting `run_until_complete`); use `httpx.ASGITransport` there.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class _BodyLimitReached(Exception):
    """Raised into the app's `send` once the body passed the limit: the app stops producing it."""


class InProcessTransport(httpx.BaseTransport):
    """An httpx transport that calls an ASGI 3 app on a private event loop.

    The app's lifespan (`startup`/`shutdown`) runs on first use and on `close()` when the app
    supports it. With `raise_app_exceptions=False`, an exception the app lets escape becomes a
    500 answer, as a real server behind a proxy would give, instead of propagating to the caller.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        client: tuple[str, int] = ("127.0.0.1", 50000),
        root_path: str = "",
        raise_app_exceptions: bool = True,
        lifespan: bool = True,
        max_body_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.client = client
        self.root_path = root_path
        self.raise_app_exceptions = raise_app_exceptions
        self._use_lifespan = lifespan
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._lifespan_task: asyncio.Task[None] | None = None
        self._lifespan_queue: asyncio.Queue[Message] | None = None
        self._lifespan_events: asyncio.Queue[Message] | None = None

    # -- httpx.BaseTransport ------------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        with self._lock:
            loop = self._ensure_loop()
            status, headers, content = loop.run_until_complete(self._call(request, body))
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        with self._lock:
            loop = self._loop
            if loop is None or loop.is_closed():
                return
            try:
                if self._lifespan_task is not None:
                    loop.run_until_complete(self._lifespan_shutdown())
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()
                self._loop = None

    def __del__(self) -> None:
        # Best effort for callers that forget close(): end the lifespan task instead of letting
        # asyncio log "Task was destroyed but it is pending" when the loop is collected.
        loop = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed() and not loop.is_running():
            with contextlib.suppress(Exception):
                self.close()

    # -- internals ----------------------------------------------------------------------------
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
            if self._use_lifespan:
                self._loop.run_until_complete(self._lifespan_startup())
        return self._loop

    async def _lifespan_startup(self) -> None:
        """Start the app's lifespan task; tolerate apps that do not speak the lifespan protocol."""
        queue: asyncio.Queue[Message] = asyncio.Queue()
        events: asyncio.Queue[Message] = asyncio.Queue()

        async def receive() -> Message:
            return await queue.get()

        async def send(message: Message) -> None:
            await events.put(message)

        async def runner() -> None:
            try:
                await self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
            except Exception as exc:  # an app without lifespan support raises on the scope
                await events.put({"type": "lifespan.unsupported", "message": str(exc)})

        self._lifespan_queue, self._lifespan_events = queue, events
        self._lifespan_task = asyncio.get_running_loop().create_task(runner())
        await queue.put({"type": "lifespan.startup"})
        message = await events.get()
        if message["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"ASGI app failed to start: {message.get('message', '')}")
        if message["type"] != "lifespan.startup.complete":
            self._lifespan_task = None

    async def _lifespan_shutdown(self) -> None:
        if self._lifespan_task is None or self._lifespan_queue is None or self._lifespan_events is None:
            return
        await self._lifespan_queue.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self._lifespan_events.get(), timeout=5)
            await asyncio.wait_for(self._lifespan_task, timeout=5)
        except (TimeoutError, asyncio.CancelledError):
            self._lifespan_task.cancel()
        self._lifespan_task = None

    def _scope(self, request: httpx.Request) -> Scope:
        url = request.url
        raw_path = url.raw_path.split(b"?", 1)[0]
        port = url.port or _DEFAULT_PORTS.get(url.scheme, 80)
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme or "http",
            "path": url.path,
            "raw_path": raw_path,
            "root_path": self.root_path,
            "query_string": url.query,
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            "client": self.client,
            "server": (url.host, port),
            "state": {},
        }

    async def _call(
        self, request: httpx.Request, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        scope = self._scope(request)
        request_sent = False
        response_done = asyncio.Event()
        status: int | None = None
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        size = 0
        limit = self.max_body_bytes
        limited = False

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            # After the body, a real server would report the disconnect once the response is done.
            await response_done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, headers, size, limited
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                chunk = bytes(message.get("body", b""))
                if limit is not None and size + len(chunk) > limit:
                    chunks.append(chunk[: limit + 1 - size])
                    limited = True
                    response_done.set()
                    raise _BodyLimitReached()
                size += len(chunk)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    response_done.set()

        try:
            await self.app(scope, receive, send)
        except Exception:
            if limited:
                pass  # the app saw its client go away mid-body; what it sent so far is the answer
            elif self.raise_app_exceptions:
                raise
            if status is None:
                return 500, [(b"content-type", b"text/plain; charset=utf-8")], b"Internal Server Error"
        finally:
            response_done.set()
        if status is None:
            raise RuntimeError("ASGI app returned without starting a response")
        return status, headers, b"".join(chunks)
