"""A least-recently-used cache bounded by entries AND by a cost (about the bytes it holds).

The reference server caches parsed and compiled filters because IdPs repeat the same few filter
texts. A cache bounded only by entries lets a client fill it with large distinct filters: 40
distinct 0.83 MB filters once held 1.4 GB. Here every entry has a cost (the length of the text it
was made from, which the compiled form's size follows), an item dearer than `max_item_cost` is
never stored, and the least recently used entries leave until both bounds hold again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """LRU over `max_entries` entries whose costs sum to at most `max_cost`; thread-safe."""

    def __init__(self, *, max_entries: int, max_cost: int, max_item_cost: int) -> None:
        self.max_entries = max_entries
        self.max_cost = max_cost
        self.max_item_cost = min(max_item_cost, max_cost)
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._cost = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V, cost: int) -> None:
        """Store `value` unless it costs more than one item may; evict the oldest to make room."""
        if cost > self.max_item_cost:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._cost -= old[1]
            self._items[key] = (value, cost)
            self._cost += cost
            while self._items and (len(self._items) > self.max_entries or self._cost > self.max_cost):
                _, (_, dropped) = self._items.popitem(last=False)
                self._cost -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._cost = 0

    @property
    def cost(self) -> int:
        return self._cost

    def __len__(self) -> int:
        return len(self._items)
