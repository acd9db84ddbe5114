"""The in-process transport and the ScimClient on top of it (headers, auth, 429 retries)."""

from __future__ import annotations

import time
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

with warnings.catch_warnings():  # Starlette 1.10 warns that TestClient moves to httpx2; measured anyway
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from scimitar.exchange import Masker, Recorder
from scimitar.target import AuthOverride, ScimClient, retry_after_seconds

STARTED: list[str] = []


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "raw_query": request.scope["query_string"].decode(),
            "headers": dict(request.headers),
            "body": body.decode("utf-8"),
            "client": list(request.client or ()),
        },
        status_code=201 if request.method == "POST" else 200,
        headers={"X-Echo": "yes"},
    )


async def boom(request: Request) -> Response:
    raise RuntimeError("kaboom")


async def stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for part in ("ein ", "zwei ", "drei"):
            yield part.encode()

    return StreamingResponse(chunks(), media_type="text/plain")


COUNT = {"n": 0}


async def throttled(request: Request) -> Response:
    COUNT["n"] += 1
    if COUNT["n"] <= 2:
        return PlainTextResponse("slow down", status_code=429, headers={"Retry-After": "7"})
    return JSONResponse({"ok": True})


async def always_429(request: Request) -> Response:
    return PlainTextResponse("no", status_code=429, headers={"Retry-After": "60"})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    STARTED.append("up")
    yield
    STARTED.append("down")


def make_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            Route("/boom", boom),
            Route("/stream", stream),
            Route("/throttled", throttled),
            Route("/always429", always_429),
        ],
        lifespan=lifespan,
    )


def _http(**kwargs: Any) -> httpx.Client:
    from scimitar.transport import InProcessTransport

    return httpx.Client(transport=InProcessTransport(make_app(), **kwargs), base_url="http://testserver")


def test_status_headers_body_query_and_unicode() -> None:
    with _http() as http:
        r = http.post("/echo/Users/Zoë?filter=userName%20eq%20%22j%C3%B6rg%22&count=2", content="日本語 body")
        assert r.status_code == 201
        assert r.headers["x-echo"] == "yes"
        data = r.json()
    assert data["method"] == "POST"
    assert data["path"] == "/echo/Users/Zoë"
    assert data["query"] == {"filter": 'userName eq "jörg"', "count": "2"}
    assert data["raw_query"].startswith("filter=userName%20eq")
    assert data["body"] == "日本語 body"
    assert data["client"] == ["127.0.0.1", 50000]
    assert data["headers"]["host"] == "testserver"


def test_streaming_lifespan_and_app_exceptions() -> None:
    STARTED.clear()
    http = _http()
    assert http.get("/stream").text == "ein zwei drei"
    assert STARTED == ["up"]
    http.close()
    assert STARTED == ["up", "down"]
    with _http() as raising, pytest.raises(RuntimeError, match="kaboom"):
        raising.get("/boom")
    with _http(raise_app_exceptions=False) as quiet:
        assert quiet.get("/boom").status_code == 500


def test_overhead_against_testclient() -> None:
    """Measures only (prints); no timing assertion so slow CI machines do not flake."""
    n = 300
    with _http() as http:
        http.get("/echo/x")
        t0 = time.perf_counter()
        for _ in range(n):
            http.get("/echo/x")
        ours = (time.perf_counter() - t0) / n * 1e6
    with TestClient(make_app()) as client:
        client.get("/echo/x")
        t0 = time.perf_counter()
        for _ in range(n):
            client.get("/echo/x")
        theirs = (time.perf_counter() - t0) / n * 1e6
    print(
        f"\nper request: InProcessTransport {ours:.0f} us, TestClient {theirs:.0f} us ({theirs / ours:.1f}x)"
    )


def _client(http: httpx.Client, recorder: Recorder, sleeps: list[float]) -> ScimClient:
    return ScimClient(
        http,
        base_url="http://testserver/echo/scim/v2",
        authorization="Bearer right-token-123",
        masker=Masker(["right-token-123"]),
        recorder=recorder,
        extra_headers=(("X-Tenant", "acme"),),
        sleep=sleeps.append,
    )


def test_client_headers_auth_and_recording() -> None:
    recorder = Recorder()
    with _http() as http:
        client = _client(http, recorder, [])
        r = client.post("/Users", json={"userName": "zoë"})
        sent = r.json()["headers"]
        assert sent["content-type"] == "application/scim+json"
        assert sent["accept"] == "application/scim+json"
        assert sent["authorization"] == "Bearer right-token-123"
        assert sent["x-tenant"] == "acme"
        assert r.status == 201 and r.exchange is recorder.last
        assert "right-token-123" not in r.exchange.transcript()

        none = client.get("/Users", auth=None).json()["headers"]
        assert "authorization" not in none and "content-type" not in none
        wrong = client.get("/Users", auth=AuthOverride(token="wrong-token-456")).json()["headers"]
        assert wrong["authorization"] == "Bearer wrong-token-456"
        assert recorder.last is not None and "wrong-token-456" not in recorder.last.transcript()
        custom = client.post("/Users", content="{}", headers={"Content-Type": "application/json"}).json()
        assert custom["headers"]["content-type"] == "application/json"
        gone = client.post("/Users", content="{}", headers={"Content-Type": None}).json()["headers"]
        assert "content-type" not in gone
    assert len(recorder) == 5


def test_429_retry_after_is_honoured_and_bounded() -> None:
    COUNT["n"] = 0
    recorder = Recorder()
    sleeps: list[float] = []
    with _http() as http:
        client = _client(http, recorder, sleeps)
        client.base_url = "http://testserver"
        r = client.get("/throttled")
        assert r.status == 200
        assert sleeps == [7.0, 7.0] and client.throttled == 2
        assert [e.status for e in recorder] == [429, 429, 200]
        sleeps.clear()
        r = client.get("/always429")
        assert r.status == 429
        assert len(sleeps) == 3 and all(s <= 10 for s in sleeps) and sum(sleeps) <= 30


def test_retry_after_http_date() -> None:
    assert retry_after_seconds("3") == 3
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert retry_after_seconds(None) == 1
    assert retry_after_seconds("garbage") == 1
