"""`--concurrency N` bounds requests in flight, and a check's setup and cleanup fan out under it.

The pacer's in-flight slots (scimitar/pacing.py) are taken in `ScimClient._send` and given back
when the body is read or the request failed, never held through a 429 wait; `fan_out` /
`CheckContext.map` keep the sequential loop's results and exceptions; `Ledger.cleanup` deletes in
waves (Groups before Users) and reports what the sequential cleanup reports. Every wait here is a
fake clock or a sleep of a few hundredths of a second; every thread is joined.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import httpx
import pytest

from scimitar.checks.context import CheckContext, Discovery
from scimitar.checks.registry import Check, CheckFailed, CheckSkipped, Level, all_checks, load_catalogue
from scimitar.exchange import Masker, Recorder
from scimitar.fanout import fan_out
from scimitar.options import RunOptions
from scimitar.pacing import Pacer
from scimitar.pytest_plugin import ScimSession
from scimitar.quirks import Quirk
from scimitar.results import Outcome
from scimitar.run import Ledger, Run
from scimitar.target import Limits, ScimClient, Target, TargetOptions, TargetUnreachable
from tests.test_concurrency import FakeClock
from tests.test_run import FakeResponse, FakeServer


class Gauge:
    """Counts calls in progress at once (thread-safe) and remembers the most seen."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.now -= 1


def _threads(n: int, target: Callable[[], None]) -> None:
    threads = [threading.Thread(target=target) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
        assert not thread.is_alive()


# -- the pacer's slots ------------------------------------------------------------------------------


def test_a_pacer_without_a_bound_takes_no_slot() -> None:
    pacer = Pacer(None)
    assert pacer.acquire() is False and pacer.in_flight == 0 and pacer.fanout == 1
    with pytest.raises(ValueError):
        Pacer(max_in_flight=0)


def test_at_most_max_in_flight_across_threads() -> None:
    pacer = Pacer(max_in_flight=3)
    gauge = Gauge()

    def worker() -> None:
        for _ in range(4):
            assert pacer.acquire() is True
            try:
                with gauge:
                    time.sleep(0.01)
            finally:
                pacer.release()

    _threads(8, worker)
    assert gauge.peak == 3 and pacer.peak_in_flight == 3 and pacer.in_flight == 0
    assert pacer.fanout == 3
    with pytest.raises(RuntimeError):
        pacer.release()  # nothing held: a bug in the caller, not a silent miscount


def test_no_slot_is_held_while_a_retry_after_is_waited_for() -> None:
    """A worker that waited for a slot while another one met a 429 sleeps out the hold without it."""
    clock = FakeClock()
    pacer_box: list[Pacer] = []
    seen_in_flight: list[int] = []

    def sleep(seconds: float) -> None:
        seen_in_flight.append(pacer_box[0].in_flight)
        clock.sleep(seconds)

    pacer = Pacer(max_in_flight=1, clock=clock.now, sleep=sleep)
    pacer_box.append(pacer)
    assert pacer.acquire()  # worker A holds the only slot
    got: list[bool] = []
    b = threading.Thread(target=lambda: got.append(pacer.acquire()))
    b.start()
    for _ in range(200):  # until B waits for the slot (bounded: 2 s; CPython's Condition._waiters)
        if pacer._slots._waiters:  # type: ignore[attr-defined]
            break
        time.sleep(0.01)
    pacer.hold(5.0)  # A's answer was 429 Retry-After: 5
    pacer.release()  # A gives its slot back before it sleeps
    b.join(5)
    assert got == [True] and clock.slept == [5.0]
    assert seen_in_flight == [0], "B slept out the Retry-After holding no slot"
    pacer.release()


def test_the_rate_cap_holds_with_slots() -> None:
    clock = FakeClock()
    pacer = Pacer(4.0, max_in_flight=2, clock=clock.now, sleep=clock.sleep)
    for _ in range(5):
        assert pacer.acquire()
        pacer.release()
    assert clock.slept == [0.25, 0.25, 0.25, 0.25]  # as `wait` alone: 4 starts a second


def test_acquire_gives_up_at_the_run_deadline() -> None:
    pacer = Pacer(max_in_flight=1)
    assert pacer.acquire()
    started = time.monotonic()
    assert pacer.acquire(deadline=time.monotonic() + 0.05) is False
    assert time.monotonic() - started < 1.0
    pacer.release()


# -- slots in ScimClient._send ------------------------------------------------------------------------


def _client(handler: Callable[[httpx.Request], httpx.Response], pacer: Pacer, **kwargs: Any) -> ScimClient:
    return ScimClient(
        httpx.Client(transport=httpx.MockTransport(handler)),
        base_url="http://scim.test/scim/v2",
        authorization=None,
        masker=Masker(),
        recorder=Recorder(),
        limits=Limits(pacer=pacer),
        **kwargs,
    )


def test_the_client_holds_a_slot_for_the_request_and_gives_it_back() -> None:
    pacer = Pacer(max_in_flight=2)
    during: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        during.append(pacer.in_flight)
        if request.url.path.endswith("/down"):
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={})

    client = _client(handler, pacer)
    assert client.get("/Users").status == 200 and pacer.in_flight == 0
    with pytest.raises(TargetUnreachable):
        client.get("/down")
    assert pacer.in_flight == 0, "a failed request gives its slot back"
    burst = client.with_recorder(Recorder())
    burst.burst = True
    burst.get("/Users")
    assert during == [1, 1, 0], "a race burst takes no slot"
    assert client.fanout == 2 and _client(handler, Pacer(None)).fanout == 1


def test_a_429_wait_holds_no_slot() -> None:
    pacer = Pacer(max_in_flight=1)
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200, json={})])
    slept_with: list[int] = []
    client = _client(lambda request: next(answers), pacer, sleep=lambda s: slept_with.append(pacer.in_flight))
    assert client.get("/Users").status == 200
    assert slept_with == [0] and pacer.in_flight == 0


def test_threads_of_one_run_never_exceed_the_bound() -> None:
    pacer = Pacer(max_in_flight=2)
    gauge = Gauge()

    def handler(request: httpx.Request) -> httpx.Response:
        with gauge:
            time.sleep(0.01)
        return httpx.Response(200, json={})

    client = _client(handler, pacer)

    def worker() -> None:
        for _ in range(3):
            assert client.get("/Users").status == 200

    _threads(6, worker)
    assert gauge.peak == 2 and pacer.in_flight == 0


# -- fan_out -------------------------------------------------------------------------------------------


def test_fan_out_keeps_the_order_and_really_overlaps() -> None:
    gauge = Gauge()

    def slow_square(x: int) -> int:
        with gauge:
            time.sleep(0.02)
        return x * x

    assert fan_out(slow_square, range(8), 4) == [x * x for x in range(8)]
    assert gauge.peak > 1
    gauge.peak = 0
    assert fan_out(slow_square, range(3), 1) == [0, 1, 4]
    assert gauge.peak == 1, "one worker: the plain loop"


def test_fan_out_raises_the_first_failure_in_item_order_and_starts_no_more() -> None:
    ran: list[int] = []

    def job(x: int) -> int:
        ran.append(x)
        if x == 1:
            time.sleep(0.05)
            raise CheckFailed("item 1")
        if x == 2:
            raise CheckSkipped("item 2")
        time.sleep(0.01)
        return x

    with pytest.raises(CheckFailed, match="item 1"):  # item 2 failed first, item 1 comes first
        fan_out(job, range(40), 3)
    assert len(ran) < 40, "items not started when the failure was seen never start"


def test_a_keyboard_interrupt_in_a_worker_is_not_swallowed() -> None:
    def job(x: int) -> int:
        if x == 0:
            time.sleep(0.02)
            raise CheckFailed("ordinary")
        if x == 3:
            raise KeyboardInterrupt
        return x

    with pytest.raises(KeyboardInterrupt):
        fan_out(job, range(6), 3)


def test_ctrl_c_while_waiting_returns_at_once_and_starts_nothing_more() -> None:
    """The caller's Ctrl-C does not wait for a slow item (a hung target): it is raised at once,
    and the items still queued never start (the running ones end alone, on daemon threads)."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("a SIGINT reaches the main thread only")
    ran: list[int] = []
    ended: list[int] = []

    def job(x: int) -> int:
        ran.append(x)
        if x == 0:
            time.sleep(0.05)  # the caller is waiting by now
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)  # Ctrl-C
        time.sleep(0.2)
        ended.append(x)
        return x

    with pytest.raises(KeyboardInterrupt):
        fan_out(job, range(10), 2)
    assert not ended, "raised before the slow items ended"
    time.sleep(0.25)  # the two running items end: nothing new starts after them
    assert sorted(ran) == [0, 1] and sorted(ended) == [0, 1]


# -- CheckContext.map and the setup helpers ------------------------------------------------------------


def _context(fanout: int | None, seed: int = 5) -> CheckContext:
    target = Target(TargetOptions())
    _OPEN.append(target)
    if fanout is not None:
        target.limits.pacer = Pacer(max_in_flight=fanout)
    client = target.client(target.masker(), Recorder())
    recorder = Recorder()
    run = Run(seed=seed, run_id="inflight")
    scoped = client.with_recorder(recorder)
    scoped.ledger = run.ledger
    return CheckContext(client=scoped, run=run, discovery=Discovery.fetch(client), recorder=recorder,
                        target=target)


def test_map_counts_expectations_at_the_callers_setup_depth() -> None:
    ctx = _context(4)
    assert ctx.fanout == 4
    names: list[str] = []

    def expect(x: int) -> int:
        names.append(threading.current_thread().name)
        ctx.expect(True, "fine")
        time.sleep(0.01)
        return x

    with ctx.setup():
        assert ctx.map(expect, range(6)) == list(range(6))
    assert ctx.expectations == 0, "inside setup() in the caller: setup in the workers too"
    assert ctx.map(expect, range(6)) == list(range(6))
    assert ctx.expectations == 6
    assert any(name.startswith("scimitar-map") for name in names), "the workers were threads"

    def setup_in_worker(x: int) -> None:
        with ctx.setup():
            ctx.expect(True, "setup")
        ctx.expect(True, "counted")

    ctx.map(setup_in_worker, range(6))
    assert ctx.expectations == 12


def test_create_users_draws_the_same_data_as_the_loop_and_records_every_one() -> None:
    concurrent, sequential = _context(8), _context(None)
    assert sequential.fanout == 1
    made = concurrent.create_users(6)
    looped = [sequential.create_user() for _ in range(6)]
    assert [u["userName"] for u in made] == [u["userName"] for u in looped]
    assert sorted(concurrent.created.paths) == sorted(f"/Users/{u['id']}" for u in made)
    groups = concurrent.create_groups([{"members": [{"value": made[0]["id"]}]}, {}])
    assert [m["value"] for m in groups[0]["members"]] == [made[0]["id"]] and len(groups) == 2
    assert len(concurrent.recorder) == 8
    report = concurrent.cleanup_created()
    assert report.complete and len(report.deleted) == 8


def test_a_failed_create_in_a_fan_out_fails_the_check_as_the_loop_does() -> None:
    ctx = _context(4)
    with pytest.raises(CheckFailed, match="setup failed: POST /Users"):
        ctx.create_users([{}, {"userName": None}, {}])  # no userName: the server refuses it
    assert ctx.expectations == 0, "a setup failure is not an expectation"
    ctx.cleanup_created()


# -- Ledger.cleanup in waves ----------------------------------------------------------------------------


class ConcurrentFake(FakeServer):
    """FakeServer answering from several threads, with a fan-out, a delay and a log of order."""

    def __init__(self, fanout: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fanout = fanout
        self.gauge = Gauge()
        self._lock = threading.Lock()
        self.flaky: dict[str, list[int]] = {}
        self.interrupt_on: str | None = None

    def delete(self, path: str, **kwargs: Any) -> FakeResponse:
        with self.gauge:
            time.sleep(0.005)
            if path == self.interrupt_on:
                raise KeyboardInterrupt
            with self._lock:
                queued = self.flaky.get(path)
                if queued:
                    self.deleted.append(path)
                    return FakeResponse(queued.pop(0))
                return super().delete(path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> FakeResponse:
        with self.gauge, self._lock:
            return super().get(path, **kwargs)


def _populated(server: FakeServer) -> Ledger:
    ledger = Ledger()
    for i in range(6):
        for kind in ("Users", "Groups"):
            path = f"/{kind}/{kind[0].lower()}{i}"
            server.resources[path] = {"id": path.rsplit("/", 1)[1], "active": True}
            ledger.add(path)
    ledger.add("/Users/never-existed")
    return ledger


def _server(fanout: int) -> ConcurrentFake:
    server = ConcurrentFake(fanout, soft_delete=True)
    server.flaky = {"/Users/u1": [503], "/Groups/g2": [401], "/Users/u3": [502, 502]}
    return server


def test_a_concurrent_cleanup_reports_what_the_sequential_one_does() -> None:
    sequential, concurrent = _server(1), _server(4)
    reports = [_populated(s).cleanup(s, sleep=lambda _: None) for s in (sequential, concurrent)]
    assert concurrent.gauge.peak > 1 and sequential.gauge.peak == 1
    a, b = reports
    assert sorted(a.deleted) == sorted(b.deleted) and sorted(a.still_present) == sorted(b.still_present)
    assert sorted(a.failed) == sorted(b.failed)
    assert ("/Groups/g2", "DELETE answered 401") in b.failed
    assert ("/Users/u3", "DELETE answered 502") in b.failed, "a 5xx is tried once more, not twice"
    assert "/Users/u1" not in dict(b.failed) and concurrent.deleted.count("/Users/u1") == 2
    assert {p for p, _ in b.still_present} == {f"/Users/u{i}" for i in (0, 1, 2, 4, 5)}  # soft deletes
    assert all(p.startswith("/Groups/") for p in concurrent.deleted[:6]), "every Group before any User"
    assert all(p.startswith("/Users/") for p in concurrent.deleted[6:])
    assert sequential.deleted[:3] == ["/Users/never-existed", "/Groups/g5", "/Users/u5"], "newest first"


def test_ctrl_c_in_a_concurrent_cleanup_is_not_swallowed() -> None:
    server = ConcurrentFake(4)
    ledger = _populated(server)
    server.interrupt_on = "/Groups/g3"
    with pytest.raises(KeyboardInterrupt):
        ledger.cleanup(server, sleep=lambda _: None)
    assert "/Groups/g3" in ledger.paths, "nothing unverified leaves the ledger"


# -- the fanned-out checks are as honest as the sequential ones ---------------------------------------

load_catalogue()
#: The checks whose setup now fans out (race, pagination, filter's three users, search paging).
FANNED = [c for c in all_checks() if c.func.__module__.rsplit(".", 1)[-1] in ("race", "pagination", "filter", "search")]


_OPEN: list[Target] = []


@pytest.fixture(scope="module", autouse=True)
def _close_targets() -> Iterator[None]:
    """Every embedded target these tests opened is closed (its event loop too) when they end."""
    yield
    for target in _OPEN:
        target.close()


@cache
def _session(quirks: frozenset[Quirk] = frozenset(), fanout: int | None = 8) -> ScimSession:
    """An embedded session like the honesty test's, whose client fans out `fanout` requests."""
    target = Target(TargetOptions(quirks=quirks))
    _OPEN.append(target)
    if fanout is not None:
        target.limits.pacer = Pacer(max_in_flight=fanout)
    s = ScimSession(target, Run(seed=1), RunOptions(seed=1))
    target.probe(s.masker, s.recorder)
    s.discovery = Discovery.fetch(s.client)
    s.adopt_schemas()
    return s


@pytest.mark.parametrize("check", FANNED, ids=[c.id for c in FANNED])
def test_fanned_out_checks_pass_strict_with_the_sequential_count(check: Check) -> None:
    fanned, looped = _session().run_check(check), _session(fanout=None).run_check(check)
    assert fanned.outcome == Outcome.PASSED == looped.outcome, fanned.message
    assert fanned.expectations == looped.expectations >= 1, "setup() counting holds in the workers"
    assert len(fanned.exchanges) == len(looped.exchanges), "no request more than the loop sent"


FANNED_PAIRS = [(c, q) for c in FANNED for q in c.broken_by]


@pytest.mark.parametrize(("check", "quirk"), FANNED_PAIRS, ids=[f"{c.id}--{q}" for c, q in FANNED_PAIRS])
def test_fanned_out_checks_fail_under_their_quirks(check: Check, quirk: str) -> None:
    result = _session(frozenset({Quirk(quirk)})).run_check(check)
    what = f"{check.id} under {quirk}: {result.outcome} {result.message}"
    if check.level is Level.MAY:  # as in test_honesty: an optional feature missing is a skip
        assert result.outcome == Outcome.SKIPPED and "optional" in result.message, what
    else:
        assert result.outcome == (Outcome.FAILED if check.level is Level.MUST else Outcome.WARNING), what
