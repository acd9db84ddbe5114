"""Filter limits of the reference server: time of the costliest filter at 1,000 users, and memory
held by the compiled-filter caches after many distinct large filters (issue 10, item 11).

    python bench/filters.py            # about 60 s (tracemalloc slows it)

Prints, for each shape (timed against 1,000 users; memory against a 10-user store): the HTTP status, the wall time of one request, and the memory (traced by
tracemalloc, after a collection) the server still holds once the requests are done. Before the
limits, one 0.83 MB filter took 15.5 s at 1,000 users on the 2-core bench machine and each distinct
one kept about 45 MB (40 of them: 1.4 GB, as the issue reports).
"""

from __future__ import annotations

import gc
import logging
import os
import resource
import sys
import time
import tracemalloc

import httpx

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from scimitar.server.filters import MAX_FILTER_LENGTH, MAX_FILTER_TERMS
from tests.server_client import make_client

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def chain(k: int, size: int) -> str:
    """`(userName eq "..." or emails[value co "..."]) or ...` up to `size` characters."""
    parts: list[str] = []
    n = i = 0
    while n < size:
        term = f'(userName eq "k{k}-u{i}" or emails[value co "k{k}x{i}"])'
        parts.append(term)
        n += len(term) + 4
        i += 1
    return " or ".join(parts)


def widest(k: int) -> str:
    """The costliest accepted shape: the most terms, each a value filter with a long needle,
    padded to just under the length limit."""
    pairs = MAX_FILTER_TERMS // 2
    pad = max(1, (MAX_FILTER_LENGTH - 60 * pairs) // pairs)
    needle = f"k{k}" + "x" * pad
    terms = [f'emails[value co "{needle}{i}" and type ne "w"]' for i in range(pairs)]
    return " or ".join(terms)[:MAX_FILTER_LENGTH]


def main() -> int:
    logging.disable(logging.CRITICAL)
    c = make_client(seed_users=1000, seed_groups=10, max_payload_size=4 << 20)

    def search(text: str, client: httpx.Client = c) -> tuple[int, float]:
        t = time.perf_counter()
        r = client.post("/Users/.search", json={"schemas": [SEARCH], "filter": text, "count": 1})
        return r.status_code, time.perf_counter() - t

    print(f"limits: {MAX_FILTER_LENGTH} characters, {MAX_FILTER_TERMS} terms; 1,000 users")
    for name, text in (
        ("0.83 MB chain", chain(0, 830_000)),
        ("64 KiB chain", chain(0, MAX_FILTER_LENGTH - 100)),
        ("widest accepted", widest(0)),
    ):
        status, took = search(text)
        print(f"  one {name} ({len(text)} chars): {status} in {took:.2f} s")

    # memory: a small store, so the time goes to parsing and compiling, which is what is cached
    small = make_client(seed_users=10, max_payload_size=4 << 20)
    for name, make, n in (
        ("0.83 MB chain", lambda k: chain(k, 830_000), 40),
        ("widest accepted", widest, 40),
        ("4 KiB chain", lambda k: chain(k, 4000), 200),
    ):
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        t = time.perf_counter()
        statuses = {search(make(k), small)[0] for k in range(1, n + 1)}
        took = time.perf_counter() - t
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        print(f"  {n} distinct {name}: statuses {sorted(statuses)}, {took:.1f} s, held afterwards {held / 1e6:.1f} MB")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
