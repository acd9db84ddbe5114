"""Send generated requests within a budget; report the smallest one that breaks a rule.

hypothesis drives generation and shrinking (seeded with the run's seed, no example database, so a
run writes nothing and the same seed sends the same requests to the same server). Each distinct
request is sent at most once: its verdict is kept, so shrinking and hypothesis's final replay never
resend it, and once the budget (`Budget.max_requests`, `Budget.max_seconds`, the run's
`--max-duration`) is spent, the exploration stops at the next example (nothing more is generated
or sent). The failure that remains is the smallest hypothesis found within the budget.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st

from scimitar.checks.context import CheckContext
from scimitar.exchange import Exchange
from scimitar.fuzz.strategies import FuzzRequest
from scimitar.target import RunDeadlineReached, ScimResponse, TargetError


def _keep_hypothesis_out_of_the_working_directory() -> None:
    """hypothesis caches what it computes once (the characters a codec can encode, the constants it
    finds in source files) under `.hypothesis/` in the working directory: a `scimitar test` would
    leave that folder wherever it was started, and recompute it (seconds of CPU) in every new one.
    It goes to the user's cache instead (`$XDG_CACHE_HOME/scimitar/hypothesis`, else
    `~/.cache/scimitar/hypothesis`), unless HYPOTHESIS_STORAGE_DIRECTORY says where."""
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return
    from hypothesis.configuration import set_hypothesis_home_dir

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    set_hypothesis_home_dir(os.path.join(base, "scimitar", "hypothesis"))


_keep_hypothesis_out_of_the_working_directory()

_HYPOTHESIS_GC_TIMER = "hypothesis.internal.conjecture.junkdrawer"


def _drop_hypothesis_gc_timer() -> None:
    """hypothesis times garbage collection with a callback it adds to `gc.callbacks` once and keeps
    for the process. A Ctrl-C that lands while that callback runs (any collection in the main
    thread, e.g. during the run's cleanup) is printed as an "Exception ignored" traceback and lost,
    so the second Ctrl-C would not abort the cleanup. The timing only serves hypothesis's deadlines
    and health checks, which these runs switch off, so the callback goes once a run is over."""
    gc.callbacks[:] = [cb for cb in gc.callbacks if getattr(cb, "__module__", "") != _HYPOTHESIS_GC_TIMER]

#: Environment variables `scimitar fuzz` sets from `--max-requests` (and that a user may set for
#: `scimitar test --tag robustness`): the requests and seconds each robustness check may spend.
ENV_MAX_REQUESTS = "SCIMITAR_FUZZ_MAX_REQUESTS"
ENV_MAX_SECONDS = "SCIMITAR_FUZZ_MAX_SECONDS"


@dataclass(frozen=True)
class Budget:
    """What one robustness check may spend; examples are generated up to `max_examples`."""

    max_requests: int = 60
    max_seconds: float = 30.0
    max_examples: int = 60

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Budget:
        env = dict(os.environ) if environ is None else environ
        default = cls()
        requests = int(env.get(ENV_MAX_REQUESTS) or default.max_requests)
        seconds = float(env.get(ENV_MAX_SECONDS) or default.max_seconds)
        if requests < 1 or seconds <= 0:
            raise ValueError(f"{ENV_MAX_REQUESTS} and {ENV_MAX_SECONDS} must be positive")
        return cls(max_requests=requests, max_seconds=seconds, max_examples=max(requests, 10))


#: A judge looks at one request's answer and says what rule it broke (None: nothing).
Judge = Callable[[FuzzRequest, ScimResponse], "str | None"]


@dataclass
class Finding:
    request: FuzzRequest
    problem: str
    exchange: Exchange | None


class _Stop(BaseException):
    """The budget is spent: end hypothesis's run now (a BaseException, which hypothesis does not
    treat as a failing example) rather than let it generate the remaining examples for nothing."""


class _Found(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.problem)
        self.finding = finding


def send(ctx: CheckContext, request: FuzzRequest) -> ScimResponse:
    # None removes the client's default Content-Type (no body, or the "no Content-Type" case)
    headers: dict[str, str | None] = {"Content-Type": request.content_type if request.body is not None else None}
    return ctx.client.request(
        request.method,
        request.path,
        content=request.body,
        headers=headers,
        params=dict(request.params) or None,
    )


#: A check's budget is spent in this many independent lanes (each its own seed, and its own User
#: where the check writes). Fixed, so a sequential and a concurrent run send the same requests; the
#: lanes run side by side when the run allows it (`CheckContext.map`), which halves the longest
#: chain of dependent requests a robustness check adds to a run against a distant target.
LANES = 2


def lane_seed(run_seed: int, lane: int) -> int:
    """Lane 0 uses the run's seed; the others a value derived from it (stable across runs)."""
    return run_seed if lane == 0 else (run_seed * 1_000_003 + lane) % (2**32)


def explore_lanes(
    ctx: CheckContext,
    lane: Callable[[int], tuple[st.SearchStrategy[FuzzRequest], Judge]],
    *,
    what: str,
    budget: Budget | None = None,
    lanes: int = LANES,
) -> int:
    """`explore` over `lanes` lanes sharing the budget: `lane(i)` gives lane i's strategy and judge
    (build per-lane state such as its own User there, with data drawn beforehand). The first lane,
    in order, that finds something fails the check, as a sequential run would; returns the requests
    sent in all lanes."""
    budget = budget or Budget.from_env()
    count = max(1, min(lanes, budget.max_requests))
    share = Budget(
        max_requests=-(-budget.max_requests // count),
        max_seconds=budget.max_seconds,
        max_examples=max(-(-budget.max_examples // count), 10),
    )
    started = time.monotonic()  # one clock: the lanes together stay within max_seconds

    def run(index: int) -> int:
        strategy, judge = lane(index)
        return explore(ctx, strategy, judge, what=what, budget=share, seed_value=lane_seed(ctx.run.seed, index),
                       started=started)

    return sum(ctx.map(run, range(count)))


def explore(
    ctx: CheckContext,
    strategy: st.SearchStrategy[FuzzRequest],
    judge: Judge,
    *,
    what: str,
    budget: Budget | None = None,
    seed_value: int | None = None,
    started: float | None = None,
) -> int:
    """Send requests drawn from `strategy`, fail the check with the smallest one `judge` objects
    to; returns how many requests were sent (so a check can tell it really probed)."""
    budget = budget or Budget.from_env()
    verdicts: dict[tuple[Any, ...], Finding | None] = {}
    started = time.monotonic() if started is None else started
    replay_seed = ctx.run.seed if seed_value is None else seed_value
    sent = 0
    smallest: Finding | None = None

    def spent() -> bool:
        return (
            sent >= budget.max_requests
            or time.monotonic() - started >= budget.max_seconds
            or ctx.client.limits.run_deadline_reached
        )

    @settings(
        max_examples=budget.max_examples,
        deadline=None,
        database=None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
    )
    @seed(replay_seed)
    @given(strategy)
    def probe(request: FuzzRequest) -> None:
        nonlocal sent, smallest
        if spent():  # also for a request seen before: hypothesis would go on generating for nothing
            raise _Stop
        key = request.key()
        if key not in verdicts:
            sent += 1
            try:
                response = send(ctx, request)
            except RunDeadlineReached:
                raise _Stop from None
            except TargetError as exc:  # no answer within the deadline, a dropped connection
                verdicts[key] = Finding(request, f"no usable answer: {exc}", ctx.recorder.last)
            else:
                problem = judge(request, response)
                verdicts[key] = None if problem is None else Finding(request, problem, response.exchange)
        finding = verdicts[key]
        if finding is not None:
            smallest = finding  # hypothesis shrinks: each failing example is smaller than the last
            raise _Found(finding)

    try:
        probe()
    except _Stop:  # spent while shrinking: the smallest failure found so far stands
        finding = smallest
    except _Found as found:
        finding = found.finding
    else:
        finding = None
    finally:
        _drop_hypothesis_gc_timer()
    if finding is not None:
        curl = finding.exchange.curl() if finding.exchange is not None else "(not recorded)"
        ctx.fail(
            f"{what}: {finding.problem}. Smallest request found ({finding.request.describe()}), "
            f"after {sent} request(s); replay with --seed {ctx.run.seed}; curl: {curl}",
            expected=what,
            actual=finding.problem,
            response=finding.exchange,
        )
    return sent
