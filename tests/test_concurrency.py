"""`--concurrency N` and `--max-rps`: the same outcomes as a sequential run, a shared pace.

Checks run side by side in a thread pool of the plugin (`ScimSession.prefetch`), over one httpx
client; `serial` checks and scenarios run alone. The remote target is uvicorn on 127.0.0.1 (an
ephemeral port, in a thread), stopped by its fixture.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scimitar.checks.context import Discovery
from scimitar.checks.registry import all_checks, load_catalogue
from scimitar.exchange import Masker, Recorder
from scimitar.options import ConfigError, RunOptions, resolve_run_options
from scimitar.pacing import Pacer
from scimitar.pytest_plugin import ScimSession
from scimitar.quirks import Quirk
from scimitar.run import Run
from scimitar.server.app import create_app
from scimitar.server.config import ServerConfig
from scimitar.target import Limits, ScimClient, Target, TargetOptions
from tests.test_cli import scimitar
from tests.uvicorn_server import serving

load_catalogue()
TOKEN = "concurrency-test-token-71ac"


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[str]:
    quirks = frozenset(Quirk(q) for q in getattr(request, "param", ()))
    app = create_app(ServerConfig(tokens=[TOKEN], quirks=quirks, latency_ms=20))
    with serving(app) as port:
        yield f"http://127.0.0.1:{port}/scim/v2"


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.t += seconds


def test_pacer_spaces_request_starts() -> None:
    clock = FakeClock()
    pacer = Pacer(4.0, clock=clock.now, sleep=clock.sleep)
    for _ in range(5):
        pacer.wait()
    assert clock.slept == [0.25, 0.25, 0.25, 0.25]  # the first starts at once, then 4 per second


def test_pacer_hold_stops_every_worker_until_retry_after() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock.now, sleep=clock.sleep)
    pacer.wait()
    pacer.hold(3.0)  # one worker saw 429 Retry-After: 3
    pacer.wait()  # any worker's next start
    assert clock.slept == [3.0]
    pacer.wait()
    assert clock.slept == [3.0]  # held once, not per request
    pacer.hold(5.0)
    pacer.wait(deadline=clock.t + 1.0)  # never past the run deadline
    assert clock.slept[-1] == 1.0


def test_a_429_holds_the_shared_pacer() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json={})])
    http = httpx.Client(transport=httpx.MockTransport(lambda request: next(answers)))
    held: list[float] = []

    class Spy(Pacer):
        def hold(self, seconds: float) -> None:
            held.append(seconds)
            super().hold(seconds)

    client = ScimClient(
        http,
        base_url="http://scim.test/scim/v2",
        authorization=None,
        masker=Masker(),
        recorder=Recorder(),
        sleep=lambda s: None,
        limits=Limits(pacer=Spy()),
    )
    assert client.get("/Users").status == 200
    assert held == [2.0]


def test_options_validate_concurrency_and_rate() -> None:
    import argparse

    ns = argparse.Namespace(concurrency=8, max_rps=20.0)
    assert (resolve_run_options(ns).concurrency, resolve_run_options(ns).max_rps) == (8, 20.0)
    assert resolve_run_options(argparse.Namespace()).concurrency is None  # auto: 8 remote, 1 embedded
    for bad in (argparse.Namespace(concurrency=0), argparse.Namespace(max_rps=0.0)):
        with pytest.raises(ConfigError):
            resolve_run_options(bad)


def _outcomes(url: str, workers: int, checks: list) -> tuple[dict[str, str], float]:  # type: ignore[type-arg]
    target = Target(TargetOptions(url=url, token=TOKEN))
    session = ScimSession(target, Run(seed=6), RunOptions(seed=6, concurrency=workers))
    target.probe(session.masker, session.recorder)
    session.discovery = Discovery.fetch(session.client)
    started = time.perf_counter()
    session.prefetch(checks, workers)
    out = {c.id: session.run_check(c).outcome.value for c in checks}
    elapsed = time.perf_counter() - started
    session.finish()
    return out, elapsed


SUBSET = [c for c in all_checks() if c.suite in ("crud", "filter", "patch", "etag", "groups", "race")]


@pytest.mark.parametrize(
    "served",
    [("slow",), ("patch-not-atomic",), ("filter-ignored",), ("race-lost-membership-update",)],
    indirect=True,
)
def test_concurrent_outcomes_equal_sequential(served: str, request: pytest.FixtureRequest) -> None:
    sequential, seq_s = _outcomes(served, 1, SUBSET)
    concurrent, con_s = _outcomes(served, 8, SUBSET)
    assert concurrent == sequential
    quirks = request.node.callspec.params["served"]
    if set(quirks) - {"slow"}:  # the comparison covers failures too, not only passes
        assert any(v != "passed" for v in sequential.values())
    if "slow" in quirks:
        assert con_s < seq_s  # 20 ms a request: side by side is faster


def test_scimitar_test_concurrency_flag(served: str, tmp_path: Path) -> None:
    def run(*extra: str) -> dict[str, str]:
        out = tmp_path / f"{len(extra)}.json"
        done = scimitar(
            "test", "--target-url", served, "--token", TOKEN, "--no-scenarios", "--tag", "crud", "--tag", "race",
            "--reports-dir", str(tmp_path / "reports"), "--json", str(out), *extra,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return {c["id"]: c["outcome"] for c in json.loads(out.read_text())["checks"]}

    assert run("--concurrency", "6", "--max-rps", "200") == run()


def test_default_workers_remote_8_embedded_1(served: str) -> None:
    remote = ScimSession(Target(TargetOptions(url=served, token=TOKEN)), Run(), RunOptions())
    embedded = ScimSession(Target(TargetOptions()), Run(), RunOptions())
    chosen = ScimSession(Target(TargetOptions(url=served, token=TOKEN)), Run(), RunOptions(concurrency=1))
    assert (remote.workers, embedded.workers, chosen.workers) == (8, 1, 1)
    for s in (remote, embedded, chosen):
        s.target.close()
