"""One pace for every client of a target: a request-rate cap and 429 back-off shared by all workers.

With `--concurrency N` several checks send requests at once; `--max-rps` caps how many requests
start per second across all of them (each start reserves the next slot, so workers are served in
turn), and a `429 Retry-After` seen by one worker holds the starts of every worker until it has
passed: the target is asked to slow down once, not once per thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    """Thread-safe start gate; `max_rps=None` only holds after a 429."""

    def __init__(
        self,
        max_rps: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_rps is not None and max_rps <= 0:
            raise ValueError("max_rps must be positive")
        self.max_rps = max_rps
        self._interval = 0.0 if max_rps is None else 1.0 / max_rps
        self._next = 0.0
        self._hold_until = 0.0
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self.waited_s = 0.0

    def wait(self, deadline: float | None = None) -> None:
        """Block until this request may start (never past `deadline`, a `clock()` value)."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next, self._hold_until)
            self._next = start + self._interval
        delay = start - now
        if deadline is not None:
            delay = min(delay, max(0.0, deadline - now))
        if delay > 0:
            self.waited_s += delay
            self._sleep(delay)

    def hold(self, seconds: float) -> None:
        """A worker got `429 Retry-After: seconds`: no worker starts a request before it has passed."""
        with self._lock:
            self._hold_until = max(self._hold_until, self._clock() + max(0.0, seconds))
