"""The client against hostile targets (issue 10 items 1-3 and 8, issue 9 item 2).

Each test starts its misbehaving server on loopback (`tests/hostile.py`) and holds the harness to
one rule: credentials only to the target's origin, references resolved per RFC 3986 §5.2, bounded
memory (a 1 GiB body), bounded time (a drip, 429 forever, a hang, the run deadline), and one line
for something that is not a SCIM endpoint. Limits are small, so each test takes a few seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from scimitar.checks.context import CheckContext, Discovery
from scimitar.checks.registry import Check, load_catalogue
from scimitar.checks.runner import run_check
from scimitar.exchange import Masker, Recorder
from scimitar.options import (
    ConfigError,
    parse_seconds,
    parse_size,
    resolve_run_options,
    resolve_target_options,
)
from scimitar.results import Outcome
from scimitar.run import Run
from scimitar.target import (
    BodyTooLarge,
    CrossOriginReference,
    NotScimEndpoint,
    ResponseDeadlineExceeded,
    RunDeadlineReached,
    ScimClient,
    Target,
    TargetOptions,
    TargetUnreachable,
    install_deadlines,
)
from scimitar.transport import InProcessTransport
from tests.hostile import HostileServer

TOKEN = "hostile-test-token-5f1c"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def evil() -> Iterator[HostileServer]:
    """A second origin: it must never receive a request (least of all the credential)."""
    with HostileServer("scim") as server:
        yield server


def _target(server: HostileServer, **options: Any) -> Target:
    return Target(TargetOptions(url=server.url, token=TOKEN, **options))


def _check(check_id: str) -> Check:
    return next(c for c in load_catalogue() if c.id == check_id)


def _context(target: Target) -> CheckContext:
    masker = target.masker()
    client = target.client(masker, Recorder())
    discovery = Discovery.fetch(client)
    recorder = Recorder()
    run = Run(seed=0, run_id="hostile")
    scoped = client.with_recorder(recorder)
    scoped.ledger = run.ledger
    return CheckContext(client=scoped, run=run, discovery=discovery, recorder=recorder, target=target)


# -- 1. references: resolved per RFC 3986 §5.2, same origin only ---------------------------------------


def _plain_client(base: str = "https://scim.example.com:8443/tenant/scim/v2") -> ScimClient:
    return ScimClient(httpx.Client(), base_url=base, authorization=None, masker=Masker(), recorder=Recorder())


def test_references_resolve_per_rfc3986() -> None:
    client = _plain_client()
    base = "https://scim.example.com:8443/tenant/scim/v2"
    # what callers write: SCIM paths relative to the base URL
    assert client.url("/Users") == client.url("Users") == f"{base}/Users"
    # what servers give: resolved against the base URL with a trailing slash (RFC 7643 §2.3.7)
    assert client.resolve("/tenant/scim/v2/Users/1") == f"{base}/Users/1"  # origin-relative
    assert client.resolve("Users/1") == f"{base}/Users/1"  # base-relative
    assert client.resolve("../v2/Groups/2") == f"{base}/Groups/2"
    assert client.resolve(f"{base}/Users/3") == f"{base}/Users/3"
    assert client.resolve("HTTPS://SCIM.example.com:8443/tenant/scim/v2/Users/4").endswith("/Users/4")
    # a ResourceType endpoint is relative to the base URL (RFC 7643 §6), or absolute
    assert client.endpoint_url("/Users") == f"{base}/Users"
    assert client.endpoint_url(f"{base}/Users") == f"{base}/Users"
    # the ledger gets base-relative paths
    assert client.scim_path("/tenant/scim/v2/Users/5") == "/Users/5"
    assert client.scim_path(f"{base}/Groups/6") == "/Groups/6"
    # the default port is the same origin, written or not
    assert _plain_client("https://h.example/scim").resolve("https://h.example:443/scim/Users/1")


@pytest.mark.parametrize(
    "reference",
    [
        "https://evil.example.com/tenant/scim/v2/Users/1",  # another host
        "http://scim.example.com:8443/tenant/scim/v2/Users/1",  # another scheme
        "https://scim.example.com/tenant/scim/v2/Users/1",  # another port (443)
        "//evil.example.com/Users/1",  # scheme-relative: another host
        "https://scim.example.com:8443@evil.example.com/Users/1",  # userinfo trick
    ],
)
def test_other_origins_are_refused(reference: str) -> None:
    client = _plain_client()
    with pytest.raises(CrossOriginReference, match="another origin"):
        client.resolve(reference, "Location")
    if reference.startswith("http"):
        with pytest.raises(CrossOriginReference):
            client.get(reference)  # an absolute URL given as a path is held to the rule too


def test_location_to_another_origin_fails_the_check_and_is_never_requested(evil: HostileServer) -> None:
    with HostileServer("scim", location=f"{evil.url}/Users/u1") as server:
        target = _target(server)
        try:
            target.probe()
            ctx = _context(target)
            result = run_check(_check("rfc7644-3.3-created-readable-at-location"), ctx)
            assert result.outcome is Outcome.FAILED
            assert "the server's Location points to another origin" in result.message
            assert "not requested with the credential" in result.message
            assert TOKEN not in result.message
            # the run's cleanup deletes only same-origin, base-relative paths
            assert all(p.startswith("/") and "://" not in p for p in ctx.ledger.paths)
            ctx.run.ledger.cleanup(ctx.client)
        finally:
            target.close()
    assert evil.requests == []


def test_bulk_location_elsewhere_fails_and_stays_out_of_the_ledger(evil: HostileServer) -> None:
    with HostileServer("scim", location=f"{evil.url}/Users/u1") as server:
        target = _target(server)
        try:
            target.probe()
            ctx = _context(target)
            result = run_check(_check("rfc7644-3.7-bulk-post-response"), ctx)
            assert result.outcome is Outcome.FAILED
            assert "Bulk location points to another origin" in result.message
            assert ctx.ledger.paths == []
            report = ctx.run.ledger.cleanup(ctx.client)
            assert report.failed == []
        finally:
            target.close()
    assert evil.requests == []


def test_relative_locations_resolve_against_the_origin() -> None:
    """Issue 9: `/scim/v2/Users/u1` is origin-relative, not glued onto the base URL."""
    with HostileServer("scim", location="/scim/v2/Users/u1") as server:
        target = _target(server)
        try:
            ctx = _context(target)
            result = run_check(_check("rfc7644-3.3-created-readable-at-location"), ctx)
        finally:
            target.close()
        assert result.outcome is Outcome.PASSED, result.message
        assert any(path == "/scim/v2/Users/u1" for _, path, _ in server.requests)
        assert not any("/scim/v2/scim/v2" in path for _, path, _ in server.requests)


def test_redirects_are_not_followed(evil: HostileServer) -> None:
    with HostileServer("redirect", location=f"{evil.url}/Users") as server:
        target = _target(server)
        try:
            response = target.client(target.masker(), Recorder()).get("/Users")
        finally:
            target.close()
    assert response.status == 302
    assert evil.requests == []


# -- 2. bounded memory -------------------------------------------------------------------------------


def test_a_1_gib_body_stops_at_the_limit() -> None:
    with HostileServer("big-body") as server:
        target = _target(server, max_body_bytes=1 << 20)
        started = time.monotonic()
        try:
            recorder = Recorder()
            client = target.client(target.masker(), recorder)
            with pytest.raises(BodyTooLarge, match="response body exceeded 1 MiB; stopped reading"):
                client.get("/Users")
            exchange = recorder.last
            assert exchange is not None and exchange.error and "exceeded 1 MiB" in exchange.error
            assert len(exchange.response_body) < 100_000
            # the connection was dropped, the next request works
            assert client.get("/ServiceProviderConfig").status == 200
        finally:
            target.close()
        assert time.monotonic() - started < 5
        assert server.sent_bytes < 64 << 20  # the server was stopped far short of 1 GiB


def test_body_limit_ends_the_check_with_one_message() -> None:
    with HostileServer("big-body") as server:
        target = _target(server, max_body_bytes=256 << 10)
        try:
            result = run_check(_check("rfc7644-3.3-created-readable-at-location"), _context(target))
        finally:
            target.close()
    assert result.outcome is Outcome.FAILED
    assert result.message == "POST /Users: response body exceeded 256 KiB; stopped reading"


def test_in_process_transport_respects_the_limit() -> None:
    produced = {"bytes": 0}

    async def huge(request: Request) -> Response:
        async def chunks() -> Any:
            for _ in range(16 * 1024):  # 1 GiB in 64 KiB chunks, made only as they are taken
                produced["bytes"] += 65536
                yield b" " * 65536

        return StreamingResponse(chunks(), media_type="application/json")

    app = Starlette(routes=[Route("/scim/v2/Users", huge)])
    transport = InProcessTransport(app, lifespan=False, max_body_bytes=1 << 20)
    with httpx.Client(transport=transport) as http:
        client = ScimClient(
            http, base_url="http://127.0.0.1/scim/v2", authorization=None, masker=Masker(), recorder=Recorder()
        )
        client.limits.max_body_bytes = 1 << 20
        with pytest.raises(BodyTooLarge, match="exceeded 1 MiB"):
            client.get("/Users")
    assert produced["bytes"] <= 2 << 20  # the app was stopped right after the limit


# -- 3. bounded time ---------------------------------------------------------------------------------


@pytest.mark.parametrize("drip_headers", [False, True], ids=["body", "headers"])
def test_a_drip_ends_at_the_read_deadline(drip_headers: bool) -> None:
    with HostileServer("drip", interval=0.3, drip_headers=drip_headers) as server:
        target = _target(server, timeout=10, read_deadline=1.5)
        started = time.monotonic()
        try:
            client = target.client(target.masker(), Recorder())
            with pytest.raises(ResponseDeadlineExceeded, match=r"not complete after 1\.5 s"):
                client.get("/Users")
        finally:
            target.close()
        assert 1.4 < time.monotonic() - started < 3.0


def test_the_deadline_backend_is_installed() -> None:
    """Against an httpx upgrade moving the private attributes `install_deadlines` reaches."""
    with httpx.Client() as http:
        assert install_deadlines(http) >= 1


def test_429_forever_is_capped_per_request_and_per_run() -> None:
    with HostileServer("throttle") as server:
        target = _target(server, max_retry_wait=30, retry_budget=45)
        sleeps: list[float] = []
        try:
            client = target.client(target.masker(), Recorder())
            client._sleep = sleeps.append
            assert client.get("/Users").status == 429
            assert sleeps == [10.0, 10.0, 10.0]  # Retry-After 3600, capped per wait and per request
            assert client.get("/Users").status == 429
            assert sum(sleeps) == 45  # the run's budget: 15 s left for the second request
            sleeps.clear()
            requests = len(server.requests)
            assert client.get("/Users").status == 429
            assert sleeps == [] and len(server.requests) == requests + 1  # after the budget: at once
        finally:
            target.close()


def test_probe_of_429_forever_is_one_line_in_bounded_time() -> None:
    with HostileServer("throttle", discovery=False) as server:
        target = _target(server, max_retry_wait=0.4, retry_budget=0.6)
        started = time.monotonic()
        try:
            with pytest.raises(TargetUnreachable, match="kept answering 429 Too Many Requests"):
                target.probe()
        finally:
            target.close()
        assert time.monotonic() - started < 3


def test_run_deadline_cuts_a_hanging_request_and_skips_the_rest() -> None:
    with HostileServer("hang") as server:
        target = _target(server, timeout=30)
        try:
            ctx = _context(target)
            target.start_run_deadline(1.0)
            started = time.monotonic()
            first = run_check(_check("rfc7644-3.3-created-readable-at-location"), ctx)
            assert 0.9 < time.monotonic() - started < 2.5
            assert first.outcome is Outcome.SKIPPED and "run deadline reached" in first.message
            with pytest.raises(RunDeadlineReached):
                ctx.client.get("/Users")
            target.begin_cleanup()  # the cleanup after the deadline is still allowed to run
            assert ctx.client.get("/ServiceProviderConfig").status == 200
        finally:
            target.close()


def test_scenario_after_the_run_deadline_is_skipped() -> None:
    from scimitar.scenario.engine import SKIPPED, Environment, ScenarioRunner
    from scimitar.scenario.loader import load_scenario

    target = Target(TargetOptions())
    try:
        target.start_run_deadline(0.001)
        time.sleep(0.01)
        env = Environment(target=target, run=Run(seed=0, run_id="deadln"))
        scenario = load_scenario(ROOT / "scenarios" / "okta" / "deactivate.yaml")
        result = ScenarioRunner(env).run(scenario)
    finally:
        target.close()
    assert result.outcome == SKIPPED and "run deadline reached" in result.reason


# -- 4. not a SCIM endpoint: one line ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "answer"),
    [
        ("500", "answered 500 text/plain (expected a JSON ServiceProviderConfig)"),
        ("html", "answered 200 text/html (expected a JSON ServiceProviderConfig)"),
        ("bad-json", "answered 200 application/scim+json that is not valid JSON (expected a JSON"),
    ],
)
def test_probe_recognises_what_is_not_a_scim_endpoint(behaviour: str, answer: str) -> None:
    with HostileServer(behaviour, discovery=False) as server:
        target = _target(server)
        try:
            with pytest.raises(NotScimEndpoint) as raised:
                target.probe()
        finally:
            target.close()
    message = str(raised.value)
    assert message.startswith(f"{server.url} is not a SCIM endpoint: GET /ServiceProviderConfig {answer}")
    assert "\n" not in message


def test_probe_accepts_legitimate_shapes() -> None:
    """A 404 discovery endpoint with a JSON ListResponse at /Users, and plain application/json."""

    async def users(request: Request) -> Response:
        return JSONResponse({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0})

    async def missing(request: Request) -> Response:
        return Response("not found", status_code=404, media_type="text/html")

    app = Starlette(routes=[Route("/scim/v2/Users", users), Route("/scim/v2/ServiceProviderConfig", missing)])
    target = Target(TargetOptions())
    target._http = httpx.Client(transport=InProcessTransport(app, lifespan=False))
    try:
        assert target.probe().status == 200  # 404 SPC, JSON (application/json) from /Users
    finally:
        target.close()


def test_cli_not_scim_is_one_line_exit_3(tmp_path: Path) -> None:
    with HostileServer("html", discovery=False) as server:
        done = subprocess.run(
            [sys.executable, "-m", "scimitar.cli", "test", "--target-url", server.url, "--reports-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "SCIM_TOKEN": TOKEN},
        )
    assert done.returncode == 3
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [
        f"scimitar: {server.url} is not a SCIM endpoint: GET /ServiceProviderConfig answered 200 text/html "
        "(expected a JSON ServiceProviderConfig), GET /Users answered 200 text/html"
    ]


# -- the run deadline end to end, and the options ------------------------------------------------


def test_max_duration_bounds_a_dripping_run(tmp_path: Path) -> None:
    with HostileServer("drip", interval=0.5) as server:
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable, "-m", "scimitar.cli", "test", "--target-url", server.url,
                "--no-scenarios", "--timeout", "2", "--max-duration", "4s", "--reports-dir", str(tmp_path),
                "-q",
            ],
            capture_output=True,
            text=True,
            timeout=90,
            env={**os.environ, "SCIM_TOKEN": TOKEN},
        )
        took = time.monotonic() - started
    results = json.loads(next(tmp_path.glob("*/results.json")).read_text(encoding="utf-8"))
    skipped = [c for c in results["checks"] if c["outcome"] == "skipped" and "run deadline" in c["message"]]
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert len(skipped) > 50
    assert took < 40  # 4 s of checks plus start-up and the cleanup, not 200 x 2 s


def test_limit_options_parse() -> None:
    import argparse

    assert parse_size("8MiB") == 8 << 20 and parse_size("512k") == 512 << 10 and parse_size("100") == 100
    assert parse_seconds("10m", "--max-duration") == 600 and parse_seconds("90", "--max-duration") == 90
    with pytest.raises(ConfigError):
        parse_size("lots")
    with pytest.raises(ConfigError):
        parse_seconds("0s", "--max-duration")
    ns = argparse.Namespace(max_body_bytes="2MiB", read_deadline=5.0, max_retry_wait=3.0, retry_budget=9.0)
    options = resolve_target_options(ns, environ={})
    assert (options.max_body_bytes, options.read_deadline, options.max_retry_wait, options.retry_budget) == (
        2 << 20,
        5.0,
        3.0,
        9.0,
    )
    assert resolve_run_options(argparse.Namespace(max_duration="2m")).max_duration == 120
    defaults = resolve_target_options(argparse.Namespace(), environ={})
    assert defaults.max_body_bytes == 8 << 20 and defaults.read_deadline is None


# -- scimitar load: bounded by --duration + --grace, and by --max-body-bytes ----------------------------


def _load_args(tmp_path: Path, *extra: str) -> Any:
    import argparse

    from scimitar.load import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(["--reports-dir", str(tmp_path), "--token", TOKEN, *extra])


def test_load_against_a_hanging_target_ends_by_duration_plus_grace(tmp_path: Path) -> None:
    from scimitar.load import cli

    with HostileServer("hang") as server:
        args = _load_args(
            tmp_path, "--target-url", server.url, "--workload", "steady", "--users", "2", "--duration", "2s",
            "--grace", "6",
        )
        started = time.monotonic()
        code = cli.run(args)
        took = time.monotonic() - started
    assert code == 1
    # 2 s + 6 s grace, then at most MIN_AFTER_S for the audit and cleanup; never the old 180 s
    assert took < 2 + 6 + cli.MIN_AFTER_S + 4, took


def test_load_reads_at_most_max_body_bytes(tmp_path: Path) -> None:
    from scimitar.load import cli

    with HostileServer("big-body") as server:
        args = _load_args(
            tmp_path, "--target-url", server.url, "--workload", "steady", "--users", "2", "--duration", "2s",
            "--grace", "10", "--max-body-bytes", "256KiB", "--max-requests", "40",
        )
        code = cli.run(args)
    assert code == 1
    stats = json.loads(next(tmp_path.glob("*/load/stats.json")).read_text(encoding="utf-8"))
    errors = " ".join(e["error"] for e in stats["errors"])
    assert "response body exceeded 262144 bytes; stopped reading" in errors
    assert server.sent_bytes < 200 << 20  # 40 requests x (256 KiB read + what sat in socket buffers)
