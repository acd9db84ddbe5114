"""What runs at once under `--concurrency`: checks and scenarios as units of one thread pool.

Against a remote target latency is what a run waits for, and most checks and scenarios are
independent (each names its resources with the run's prefix and deletes them when it ends), so
they run side by side in a pool of `workers` threads, and pytest then reports each result at its
own item, in collection order. A unit marked `serial` (a race check, a walk of the whole
collection, a scenario that reconfigures the product) is left out of the pool and runs at its
item, alone: the pool has finished by then.

Threads rather than pytest-xdist processes: the units share one session (target, credentials,
discovery, the run's ledger and its cleanup, the report), which xdist would have to split across
processes and merge back; the work is waiting on sockets, which threads do well.

Units start longest first (by `weight`, an estimate of their requests), so a long chain started
last does not become the run's tail.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

#: How often the waiting main thread wakes while the pool runs (see `run_pooled`).
SIGNAL_POLL_S = 0.05


@dataclass(frozen=True)
class Unit:
    """One check or scenario: `run()` gives its result (and must not raise for a failed verdict)."""

    key: str
    run: Callable[[], Any]
    serial: bool = False
    weight: float = 1.0


@dataclass(frozen=True)
class Done:
    """A pooled unit's result, or the exception it raised (re-raised at its item)."""

    result: Any = None
    error: BaseException | None = None

    def get(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


def run_pooled(
    units: Sequence[Unit],
    workers: int,
    store: dict[str, Done],
    on_interrupt: Callable[[], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    progress_every_s: float = 5.0,
) -> None:
    """Run the units not marked serial in `workers` threads, longest first, into `store`.

    Nothing runs when `workers` is 1 or fewer than two units could share the pool. On Ctrl-C the
    queued units never start, `on_interrupt` tells the running ones to send nothing more (the
    session ends the run's deadline, so each ends after its current request, which its read
    deadline bounds), and the interrupt propagates once they have; what finished stays in `store`.
    `on_progress(done, total)` is called every `progress_every_s` seconds while units run, so a long
    pool (a slow target) shows it is moving before the first item reports.
    """
    pending = sorted((u for u in units if not u.serial), key=lambda u: -u.weight)
    if workers <= 1 or len(pending) < 2:
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scimitar-unit")
    try:
        futures: dict[Future[Any], Unit] = {pool.submit(unit.run): unit for unit in pending}
        remaining = set(futures)
        next_report = time.monotonic() + progress_every_s
        while remaining:
            # A short wait: a SIGINT delivered to a worker thread only runs its (main-thread) handler
            # when this thread wakes, and presses that come before then are counted as one.
            finished, remaining = wait(remaining, timeout=SIGNAL_POLL_S, return_when=FIRST_COMPLETED)
            for future in finished:
                error = future.exception()
                store[futures[future].key] = Done(None, error) if error else Done(future.result())
            if on_progress is not None and remaining and time.monotonic() >= next_report:
                on_progress(len(futures) - len(remaining), len(futures))
                next_report = time.monotonic() + progress_every_s
    except BaseException:
        if on_interrupt is not None:
            on_interrupt()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
