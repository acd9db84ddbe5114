"""One pace for every client of a target: a request-rate cap, a bound on requests in flight, and a
429 back-off shared by all workers.

With `--concurrency N` several checks (and the fan-out inside a check, and the cleanup) send
requests at once. `max_in_flight` bounds how many are in flight at once across all of them: a
request takes a slot before it is sent and gives it back when its body has been read or it failed
(`acquire` / `release`), so N means N requests on the wire, whatever the number of threads.
`--max-rps` caps how many requests start per second (each start reserves the next slot in time, so
workers are served in turn), and a `429 Retry-After` seen by one worker holds the starts of every
worker until it has passed: the target is asked to slow down once, not once per thread. No slot is
held while waiting for a start time or a Retry-After, so a throttled worker never blocks the others'
slots.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    """Thread-safe start gate; `max_rps=None` only holds after a 429, `max_in_flight=None` bounds
    nothing (the behaviour before the bound existed)."""

    def __init__(
        self,
        max_rps: float | None = None,
        *,
        max_in_flight: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_rps is not None and max_rps <= 0:
            raise ValueError("max_rps must be positive")
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.max_rps = max_rps
        self.max_in_flight = max_in_flight
        self._interval = 0.0 if max_rps is None else 1.0 / max_rps
        self._next = 0.0
        self._hold_until = 0.0
        self._lock = threading.Lock()
        self._slots = threading.Condition(threading.Lock())
        self._in_flight = 0
        self._clock = clock
        self._sleep = sleep
        self.waited_s = 0.0
        #: The most requests ever in flight at once (for tests and the bench).
        self.peak_in_flight = 0

    @property
    def fanout(self) -> int:
        """How many requests one caller may usefully have in flight at once (1: go sequentially)."""
        return self.max_in_flight or 1

    @property
    def in_flight(self) -> int:
        with self._slots:
            return self._in_flight

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

    def acquire(self, deadline: float | None = None) -> bool:
        """Wait for the start gate, then for a free in-flight slot; True when a slot is now held
        (the caller must `release` it), False without a bound or once `deadline` has passed.

        A 429 hold set by another worker while this one waited for a slot sends it back to the
        gate without the slot: nobody sleeps on a Retry-After while holding one.
        """
        while True:
            self.wait(deadline)
            if self.max_in_flight is None:
                return False
            with self._slots:
                while self._in_flight >= self.max_in_flight:
                    left = None if deadline is None else deadline - self._clock()
                    if left is not None and left <= 0:
                        return False
                    self._slots.wait(left)
                if self._held() and (deadline is None or self._clock() < deadline):
                    continue  # back to the gate, which sleeps out the hold
                self._in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
                return True

    def release(self) -> None:
        """Give back a slot `acquire` returned True for (the body was read, or the request failed)."""
        with self._slots:
            if self._in_flight <= 0:
                raise RuntimeError("Pacer.release without a held slot")
            self._in_flight -= 1
            self._slots.notify()

    def _held(self) -> bool:
        with self._lock:
            return self._hold_until > self._clock()

    def hold(self, seconds: float) -> None:
        """A worker got `429 Retry-After: seconds`: no worker starts a request before it has passed."""
        with self._lock:
            self._hold_until = max(self._hold_until, self._clock() + max(0.0, seconds))
