"""One pace for every client of a target: a request-rate cap, a bound on requests in flight, and a
429 back-off shared by all workers.

With `--concurrency N` several checks (and the fan-out inside a check, and the cleanup) send
requests at once. `max_in_flight` bounds how many are in flight at once across all of them: a
request takes a slot before it is sent and gives it back when its body has been read or it failed
(`acquire` / `release`), so N means N requests on the wire, whatever the number of threads.
`--max-rps` caps how many requests start per second (each start reserves the next slot in time, so
workers are served in turn), and a `429 Retry-After` seen by one worker holds the starts of every
worker until it has passed: the target is asked to slow down once, not once per thread. No slot is
held while a Retry-After is waited for, so a throttled worker never sits on a slot; the rate turn is
taken with the slot held, just before the request starts, so the rate cap holds however long the
slots were busy.
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
        self._take_turns(1, deadline)

    def reserve_burst(self, n: int, deadline: float | None = None) -> None:
        """A race check's burst of `n` requests: take `n` turns under `max_rps` at once and wait
        until the last of them is due (after any 429 hold), so the `n` requests then start together
        without a gate of their own. The rate over the burst is kept; spacing them out would let
        them miss the very race window they are sent to hit (a check passing without a race)."""
        self._take_turns(n, deadline)

    def _take_turns(self, n: int, deadline: float | None) -> None:
        """Reserve `n` consecutive starts under `max_rps` (after any 429 hold) and sleep until the
        last one is due, never past `deadline`."""

        def last_turn() -> float:  # under `_lock`
            first = max(self._clock(), self._next, self._hold_until)
            last = first + max(0, n - 1) * self._interval
            self._next = last + self._interval
            return last

        self._sleep_until(last_turn, deadline)

    def acquire(self, deadline: float | None = None) -> bool:
        """Wait for a free in-flight slot, then for this request's turn under `max_rps`; True when
        a slot is now held (the caller must `release` it), False without a bound (then it is
        `wait`) or once `deadline` (a `clock()` value) passed before a slot was free.

        A 429 hold is slept out without a slot, before taking one and again if another worker
        met a 429 while this one waited for its slot: nobody waits for a Retry-After holding a
        slot. The rate turn is taken with the slot held, so the starts keep to `max_rps` however
        long the slots were busy (a turn reserved before a long slot wait would start late, in a
        burst with the others).
        """
        if self.max_in_flight is None:
            self.wait(deadline)
            return False
        while True:
            self._sleep_until(lambda: self._hold_until, deadline)
            with self._slots:
                while self._in_flight >= self.max_in_flight:
                    left = None if deadline is None else deadline - self._clock()
                    if left is not None and left <= 0:
                        return False
                    self._slots.wait(left)
                self._in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            if self._held() and (deadline is None or self._clock() < deadline):
                self.release()  # a 429 came while this waited: sleep it out without the slot
                continue
            self._sleep_until(self._reserve, deadline)
            return True

    def _reserve(self) -> float:
        """(Under `_lock`.) This request's start under `max_rps`; the next one's is an interval on."""
        start = max(self._clock(), self._next)
        self._next = start + self._interval
        return start

    def _sleep_until(self, when: Callable[[], float], deadline: float | None) -> None:
        with self._lock:
            now = self._clock()
            start = when()
        delay = start - now
        if deadline is not None:
            delay = min(delay, max(0.0, deadline - now))
        if delay > 0:
            self.waited_s += delay
            self._sleep(delay)

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

    def hold(self, seconds: float) -> float:
        """A worker got `429 Retry-After: seconds`: no worker starts a request before it has passed.

        Returns how much later the run can go on because of it (0 when an earlier 429 already
        holds every worker that long): eight workers throttled together wait once, and the run's
        retry budget is charged once, not eight times."""
        with self._lock:
            now = self._clock()
            until = now + max(0.0, seconds)
            added = max(0.0, until - max(self._hold_until, now))
            self._hold_until = max(self._hold_until, until)
            return added
