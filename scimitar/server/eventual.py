"""The `eventual-consistency` quirk: reads are served by a replica that sees writes ~300 ms late.

Many hosted SCIM endpoints answer a write from the primary and reads from a replica (or a search
index) that catches up later, so a GET right after a 201 can answer 404 or the old value. The
scenario format's `eventually:` exists for such targets; this quirk makes the reference server one.

How: the app is wrapped. SCIM `GET` requests (and `POST /.search`) go to a second, private
reference app, the *replica*, which shares the credentials of the primary. After every other
request to the SCIM base path, the primary's resources are copied; a copy is applied to the
replica by the first request that arrives `lag_s` or more after it was taken (so it works the same
under uvicorn and in the harness's in-process transport, where each request has its own event
loop). The admin API always sees the primary. Every write copies the whole store, so this quirk
is for demonstrations and scenario tests, not for load runs.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from scimitar.quirks import Quirk

LAG_S = 0.3
#: Quirks the primary's gate already applied (delays, throttling); the replica must not apply them twice.
_GATE_ONLY = frozenset({Quirk.EVENTUAL_CONSISTENCY, Quirk.SLOW, Quirk.THROTTLE_429, Quirk.FLAKY_503})


class LaggingReads(Starlette):
    """ASGI wrapper: writes to `primary`, reads from a replica updated `lag_s` after each write."""

    def __init__(self, primary: Starlette, create_app: Callable[[Any], Starlette], lag_s: float = LAG_S) -> None:
        super().__init__()
        self.primary = primary
        self.state = primary.state  # `app.state.server` is the primary, as for every other app
        server = primary.state.server
        config = dataclasses.replace(server.config, quirks=server.config.quirks - _GATE_ONLY,
                                     seed_users=0, seed_groups=0)
        self.replica = create_app(config)
        replica_server = self.replica.state.server
        replica_server.credentials = server.credentials  # one set of credentials (rotation included)
        self.lag_s = lag_s
        self.scim_prefix = server.config.base_path + "/"
        self._pending: deque[tuple[float, dict[str, list[dict[str, Any]]]]] = deque()
        self._pending_lock = threading.Lock()
        self._apply(self._snapshot())

    def _snapshot(self) -> dict[str, list[dict[str, Any]]]:
        store = self.primary.state.server.service.store
        with store.lock:
            return {rt: copy.deepcopy(list(table.values())) for rt, table in store.tables.items()}

    def _apply(self, snapshot: dict[str, list[dict[str, Any]]]) -> None:
        store = self.replica.state.server.service.store
        with store.lock:
            store.clear()
            for rt, resources in snapshot.items():
                for resource in resources:
                    store.put(rt, resource)

    def _catch_up(self) -> None:
        """Apply every copy taken `lag_s` or more ago, oldest first."""
        now = time.monotonic()
        with self._pending_lock:
            while self._pending and self._pending[0][0] <= now:
                self._apply(self._pending.popleft()[1])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.scim_prefix):
            await self.primary(scope, receive, send)
            return
        self._catch_up()
        path: str = scope["path"]
        if scope.get("method") in ("GET", "HEAD") or path.endswith("/.search"):
            await self.replica(scope, receive, send)
            return
        try:
            await self.primary(scope, receive, send)
        finally:
            snapshot = self._snapshot()
            with self._pending_lock:
                self._pending.append((time.monotonic() + self.lag_s, snapshot))
