"""`--concurrency N` and `--max-rps`: the same outcomes as a sequential run, a shared pace.

Checks run side by side in a thread pool of the plugin (`ScimSession.prefetch`), over one httpx
client; `serial` checks and scenarios run alone. The remote target is uvicorn on 127.0.0.1 (an
ephemeral port, in a thread), stopped by its fixture.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
from scimitar.schedule import Done, Unit, run_pooled
from scimitar.server.app import create_app
from scimitar.server.config import ServerConfig
from scimitar.target import ClientStats, Limits, ScimClient, Target, TargetOptions
from tests.test_cli import scimitar
from tests.uvicorn_server import serving

load_catalogue()
TOKEN = "concurrency-test-token-71ac"


class InFlight:
    """ASGI middleware counting the requests the server is answering at once (the peak)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.now = 0
        self.peak = 0
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.now -= 1


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[str]:
    for url, _ in _serve(request):
        yield url


def _serve(request: pytest.FixtureRequest) -> Iterator[tuple[str, InFlight]]:
    quirks = frozenset(Quirk(q) for q in getattr(request, "param", ()))
    latency = 20 if Quirk.SLOW in quirks else 0
    app = InFlight(create_app(ServerConfig(tokens=[TOKEN], quirks=quirks, latency_ms=latency)))
    with serving(app) as port:
        yield f"http://127.0.0.1:{port}/scim/v2", app


@pytest.fixture
def served_counted(request: pytest.FixtureRequest) -> Iterator[tuple[str, InFlight]]:
    yield from _serve(request)


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
        def hold(self, seconds: float) -> float:
            held.append(seconds)
            return super().hold(seconds)

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


def test_workers_throttled_together_charge_the_retry_budget_once() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock.now, sleep=clock.sleep)
    assert pacer.hold(2.0) == 2.0
    assert pacer.hold(2.0) == 0.0  # a second worker's 429 in the same moment: no extra wait
    assert pacer.hold(3.0) == 1.0  # a longer Retry-After extends the hold by the difference
    clock.t += 10
    assert pacer.hold(1.0) == 1.0  # a later 429 is a new wait

    stats = ClientStats()
    frozen = Pacer(clock=clock.now, sleep=lambda s: None)  # time stands still: the 429s are simultaneous
    limits = Limits(pacer=frozen, retry_budget=5.0)

    def throttled_once() -> ScimClient:
        answers = iter([httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json={})])
        http = httpx.Client(transport=httpx.MockTransport(lambda request: next(answers)))
        return ScimClient(http, base_url="http://scim.test/scim/v2", authorization=None, masker=Masker(),
                          recorder=Recorder(), sleep=lambda s: None, limits=limits, stats=stats)

    clients = [throttled_once() for _ in range(4)]  # four workers meet the same 429 at one instant
    assert all(c.get("/Users").status == 200 for c in clients)
    assert stats.throttled == 4 and stats.retry_wait_s == 2.0  # the run was held 2 s, not 8


def test_options_validate_concurrency_and_rate() -> None:
    import argparse

    ns = argparse.Namespace(concurrency=8, max_rps=20.0)
    assert (resolve_run_options(ns).concurrency, resolve_run_options(ns).max_rps) == (8, 20.0)
    assert resolve_run_options(argparse.Namespace()).concurrency is None  # auto: 8 remote, 1 embedded
    for bad in (argparse.Namespace(concurrency=0), argparse.Namespace(max_rps=0.0)):
        with pytest.raises(ConfigError):
            resolve_run_options(bad)


def _outcomes(url: str, workers: int, checks: list) -> dict[str, str]:  # type: ignore[type-arg]
    target = Target(TargetOptions(url=url, token=TOKEN))
    session = ScimSession(target, Run(seed=6), RunOptions(seed=6, concurrency=workers))
    target.probe(session.masker, session.recorder)
    session.discovery = Discovery.fetch(session.client)
    session.prefetch([session.check_unit(c) for c in checks], workers)
    out = {c.id: session.run_check(c).outcome.value for c in checks}
    session.finish()
    return out


SUBSET = [c for c in all_checks() if c.suite in ("crud", "filter", "patch", "etag", "groups", "race")]


@pytest.mark.parametrize(
    "served",
    [("slow",), ("patch-not-atomic",), ("filter-ignored",), ("race-lost-membership-update",)],
    indirect=True,
)
def test_concurrent_outcomes_equal_sequential(served: str, request: pytest.FixtureRequest) -> None:
    url = served
    sequential = _outcomes(url, 1, SUBSET)
    concurrent = _outcomes(url, 8, SUBSET)
    assert concurrent == sequential
    quirks = request.node.callspec.params["served"]
    if set(quirks) - {"slow"}:  # the comparison covers failures too, not only passes
        assert any(v != "passed" for v in sequential.values())


def test_pool_runs_units_at_once_longest_first_and_leaves_serial_ones() -> None:
    started: list[str] = []
    gate = threading.Barrier(2, timeout=5)  # two units must be running at the same moment

    def unit(key: str, weight: float, serial: bool = False) -> Unit:
        def run() -> str:
            started.append(key)
            gate.wait()
            return key.upper()

        return Unit(key, run, serial=serial, weight=weight)

    store: dict[str, Done] = {}
    units = [unit("a", 1), unit("b", 5), unit("c", 3), unit("d", 9), unit("race", 50, serial=True)]
    run_pooled(units, 2, store)
    assert set(started[:2]) == {"b", "d"}  # the heaviest two first
    assert sorted(store) == ["a", "b", "c", "d"]  # the serial one is left for its item
    assert store["d"].get() == "D"


def test_pool_keeps_a_units_exception_for_its_item() -> None:
    def boom() -> None:
        raise ValueError("unit broke")

    store: dict[str, Done] = {}
    run_pooled([Unit("x", boom), Unit("y", lambda: 1)], 2, store)
    assert store["y"].get() == 1
    with pytest.raises(ValueError, match="unit broke"):
        store["x"].get()
    run_pooled([Unit("z", lambda: 1), Unit("w", lambda: 2)], 1, store)  # one worker: nothing pooled
    assert "z" not in store


def test_pool_reports_progress_while_units_run() -> None:
    seen: list[tuple[int, int]] = []
    release = threading.Event()

    def slow() -> int:
        release.wait(5)
        return 1

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        release.set()  # the first report lets the slow unit finish

    store: dict[str, Done] = {}
    run_pooled([Unit("fast", lambda: 0), Unit("slow", slow)], 2, store, on_progress=progress, progress_every_s=0.05)
    assert seen and seen[0] == (1, 2)
    assert store["slow"].get() == 1


def _run_json(url: str, tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / f"run-{len(list(tmp_path.glob('run-*')))}.json"
    done = scimitar(
        "test", "--target-url", url, "--token", TOKEN, "--reports-dir", str(tmp_path / "reports"),
        "--json", str(out), "-q", *extra,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def _verdicts(data: dict[str, Any]) -> dict[str, str]:
    return {
        **{c["id"]: c["outcome"] for c in data["checks"]},
        **{s["id"]: s["outcome"] for s in data["scenarios"]},
    }


@pytest.mark.parametrize("served_counted", [("slow",), ("patch-active-ignored",)], indirect=True)
def test_scenarios_run_side_by_side_with_the_same_outcomes(
    served_counted: tuple[str, InFlight], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The Okta and Entra scenarios (and the checks named after them) under `scimitar test`: one at a
    time and in a pool of 8 end the same way, scenario by scenario, and each run deletes what it made."""
    url, server = served_counted
    sequential = _run_json(url, tmp_path, "--idp", "okta", "--idp", "entra", "--concurrency", "1")
    assert server.peak == 1
    concurrent = _run_json(url, tmp_path, "--idp", "okta", "--idp", "entra", "--concurrency", "8")
    assert server.peak > 1
    assert _verdicts(concurrent) == _verdicts(sequential)
    assert len(sequential["scenarios"]) >= 20
    for data in (sequential, concurrent):
        assert data["cleanup"]["complete"] and not data["cleanup"]["failed"]
    if request.node.callspec.params["served_counted"] != ("slow",):  # failures compared too
        assert any(s["outcome"] == "failed" for s in sequential["scenarios"])


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


def test_default_workers_remote_16_embedded_1(served: str) -> None:
    remote = ScimSession(Target(TargetOptions(url=served, token=TOKEN)), Run(), RunOptions())
    embedded = ScimSession(Target(TargetOptions()), Run(), RunOptions())
    chosen = ScimSession(Target(TargetOptions(url=served, token=TOKEN)), Run(), RunOptions(concurrency=1))
    assert (remote.workers, embedded.workers, chosen.workers) == (16, 1, 1)
    for s in (remote, embedded, chosen):
        s.target.close()
