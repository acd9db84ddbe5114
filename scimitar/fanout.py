"""Fan-out: one function over a few items in a small thread pool, with the sequential semantics.

A check's setup that creates eight Users, or a cleanup that deletes forty resources, is a chain of
independent requests; against a remote target each waits a full round trip for the previous one.
`fan_out` sends them side by side when the run allows it (`workers > 1`: the client's `fanout`,
i.e. `--concurrency`), and the shared pacer's in-flight slots (scimitar/pacing.py) bound how many
are really on the wire. It keeps what the sequential loop promised its caller:

* results in item order;
* the first failure *in item order* is the one raised (the items before it have all run: the pool
  starts items in order), items not started yet are cancelled, and the ones running are waited
  for, so no request outlives the call;
* a KeyboardInterrupt or other BaseException (in a worker or in the caller, Ctrl-C) wins over any
  ordinary exception and is raised at once; the queued items never start.

With `workers <= 1` (the embedded default, `--concurrency 1`) it is the plain loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Threads of one fan-out at most (the in-flight bound is the pacer's; this bounds the threads).
MAX_FANOUT = 8


def fan_out(
    fn: Callable[[T], R], items: Iterable[T], workers: int, *, name: str = "scimitar-fanout"
) -> list[R]:
    """`[fn(item) for item in items]`, on up to `min(workers, MAX_FANOUT)` threads."""
    todo = list(items)
    size = min(workers, MAX_FANOUT, len(todo))
    if size <= 1:
        return [fn(item) for item in todo]
    pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)
    futures: list[Future[R]] = []
    try:
        futures = [pool.submit(fn, item) for item in todo]
        wait(futures, return_when=FIRST_EXCEPTION)
    except BaseException:  # Ctrl-C while waiting: nothing queued starts; running requests end alone
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    failed = any(f.done() and not f.cancelled() and f.exception() is not None for f in futures)
    pool.shutdown(wait=True, cancel_futures=failed)
    if failed:
        errors = [e for f in futures if not f.cancelled() and (e := f.exception()) is not None]
        urgent = [e for e in errors if not isinstance(e, Exception)]
        raise (urgent or errors)[0]
    return [f.result() for f in futures]
