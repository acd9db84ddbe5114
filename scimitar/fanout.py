"""Fan-out: one function over a few items on a few threads, with the sequential loop's semantics.

A check's setup that creates eight Users, or a cleanup that deletes forty resources, is a chain of
independent requests; against a remote target each waits a full round trip for the previous one.
`fan_out` sends them side by side when the run allows it (`workers > 1`: the client's `fanout`,
i.e. `--concurrency`), and the shared pacer's in-flight slots (scimitar/pacing.py) bound how many
are really on the wire. It keeps what the sequential loop promised its caller:

* results in item order;
* the first failure *in item order* is the one raised: items start in order, so every item before
  it has run; once an item failed no new item starts, and the ones running are waited for, so no
  request of the call outlives it;
* a KeyboardInterrupt (or another BaseException) wins over any ordinary exception and is raised
  at once, whether a worker or the waiting caller (Ctrl-C) met it: no new item starts, and the
  items running finish alone on daemon threads, so a hung target cannot hold the process's exit
  (a Ctrl-C during a concurrent cleanup ends it as promptly as during the sequential one).

With `workers <= 1` (the embedded default, `--concurrency 1`) it is the plain loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Threads of one fan-out at most (the in-flight bound is the pacer's; this bounds the threads).
MAX_FANOUT = 8


class _Work(Generic[T, R]):
    """The shared state of one fan-out: the next item to start, results and errors by index."""

    def __init__(self, fn: Callable[[T], R], todo: list[T]) -> None:
        self.fn = fn
        self.todo = todo
        self.results: dict[int, R] = {}
        self.errors: dict[int, BaseException] = {}
        self.next = 0
        self.running = 0
        self.stopped = False
        self.cond = threading.Condition()

    def worker(self) -> None:
        while True:
            with self.cond:
                if self.stopped or self.next >= len(self.todo):
                    return
                index = self.next
                self.next += 1
                self.running += 1
            try:
                result = self.fn(self.todo[index])
            except BaseException as exc:  # handed to the caller, never lost
                with self.cond:
                    self.errors[index] = exc
                    self.stopped = True
                    self.running -= 1
                    self.cond.notify_all()
                continue
            with self.cond:
                self.results[index] = result
                self.running -= 1
                self.cond.notify_all()

    def urgent(self) -> list[BaseException]:
        return [self.errors[i] for i in sorted(self.errors) if not isinstance(self.errors[i], Exception)]

    def finished(self) -> bool:
        """(Under `cond`.) Nothing runs and nothing more will start, or a BaseException came."""
        if self.urgent():
            return True
        return self.running == 0 and (self.stopped or self.next >= len(self.todo))


def fan_out(
    fn: Callable[[T], R], items: Iterable[T], workers: int, *, name: str = "scimitar-fanout"
) -> list[R]:
    """`[fn(item) for item in items]`, on up to `min(workers, MAX_FANOUT)` threads."""
    todo = list(items)
    size = min(workers, MAX_FANOUT, len(todo))
    if size <= 1:
        return [fn(item) for item in todo]
    work: _Work[T, R] = _Work(fn, todo)
    for k in range(size):
        threading.Thread(target=work.worker, name=f"{name}-{k}", daemon=True).start()
    try:
        with work.cond:
            while not work.finished():
                work.cond.wait(0.1)  # bounded: a Ctrl-C is seen within 0.1 s wherever locks ignore it
    except BaseException:  # Ctrl-C while waiting: nothing more starts; running items end alone
        with work.cond:
            work.stopped = True
        raise
    with work.cond:
        errors = work.urgent() or [work.errors[i] for i in sorted(work.errors)]
        if errors:
            raise errors[0]
        return [work.results[i] for i in range(len(todo))]
