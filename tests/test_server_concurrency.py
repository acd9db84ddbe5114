"""The reference server under concurrent clients: uniqueness, no lost update, If-Match serialises.

Two set-ups: uvicorn on 127.0.0.1 (an ephemeral port) with clients in threads, which is how
`scimitar serve` runs; and the in-process transport with one transport per thread over the same
app, where requests really interleave between threads (each transport has its own event loop), so
the store's lock is what keeps the invariants.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from scimitar.server.app import create_app
from scimitar.server.config import ServerConfig
from scimitar.transport import InProcessTransport
from tests.server_client import ENTERPRISE, GROUP, TOKEN, patch_body, user_body
from tests.uvicorn_server import serving

HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


@pytest.fixture(scope="module")
def uvicorn_url() -> Iterator[str]:
    app = create_app(ServerConfig(tokens=[TOKEN]))
    with serving(app) as port:
        yield f"http://127.0.0.1:{port}/scim/v2"


def _uvicorn_clients(url: str) -> Callable[[], httpx.Client]:
    return lambda: httpx.Client(base_url=url, headers=HEADERS, timeout=30)


def _inprocess_clients() -> Callable[[], httpx.Client]:
    app = create_app(ServerConfig(tokens=[TOKEN]))
    return lambda: httpx.Client(
        transport=InProcessTransport(app, lifespan=False),
        base_url="http://scim.test/scim/v2",
        headers=HEADERS,
    )


@pytest.fixture(params=["uvicorn", "inprocess"])
def clients(request: pytest.FixtureRequest) -> Callable[[], httpx.Client]:
    if request.param == "uvicorn":
        return _uvicorn_clients(request.getfixturevalue("uvicorn_url"))
    return _inprocess_clients()


def _parallel(
    n: int, make: Callable[[], httpx.Client], work: Callable[[httpx.Client, int], Any]
) -> list[Any]:
    """Run `work(client, i)` for i in range(n) from 20 threads, each with its own client, all
    released at once."""
    local = threading.local()
    barrier = threading.Barrier(min(n, 20))

    def run(i: int) -> Any:
        if not hasattr(local, "client"):
            local.client = make()
            try:
                barrier.wait(10)
            except threading.BrokenBarrierError:
                pass
        return work(local.client, i)

    with ThreadPoolExecutor(max_workers=20) as pool:
        return list(pool.map(run, range(n)))


def test_user_name_uniqueness(clients: Callable[[], httpx.Client]) -> None:
    run = f"u{time.monotonic_ns()}"
    names = [f"{run}-{i % 50}@example.com" for i in range(200)]

    def post(c: httpx.Client, i: int) -> tuple[str, int]:
        # case variants collide too: userName is caseExact false (RFC 7643 §4.1.1)
        name = names[i] if i % 2 else names[i].upper()
        return names[i], c.post("/Users", json=user_body(name)).status_code

    results = _parallel(200, clients, post)
    assert {status for _, status in results} <= {201, 409}
    created = Counter(name for name, status in results if status == 201)
    assert created == Counter({name: 1 for name in set(names)})
    c = clients()
    for name in list(created)[:5]:
        found = c.get("/Users", params={"filter": f'userName eq "{name}"'}).json()
        assert found["totalResults"] == 1


def test_no_lost_member_add(clients: Callable[[], httpx.Client]) -> None:
    c = clients()
    run = f"m{time.monotonic_ns()}"
    uids = [c.post("/Users", json=user_body(f"{run}-{i}@example.com")).json()["id"] for i in range(20)]
    gid = c.post("/Groups", json={"schemas": [GROUP], "displayName": run}).json()["id"]

    def add(client: httpx.Client, i: int) -> int:
        op = {"op": "add", "path": "members", "value": [{"value": uids[i]}]}
        return client.patch(f"/Groups/{gid}", json=patch_body(op)).status_code

    assert _parallel(20, clients, add) == [200] * 20
    members = {m["value"] for m in c.get(f"/Groups/{gid}").json()["members"]}
    assert members == set(uids)
    # and the reverse index agrees: every user lists the group
    for uid in uids[:5]:
        assert [g["value"] for g in c.get(f"/Users/{uid}").json()["groups"]] == [gid]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_if_match_serialises_writers(clients: Callable[[], httpx.Client], method: str) -> None:
    c = clients()
    run = f"e{time.monotonic_ns()}"
    r = c.post("/Users", json=user_body(f"{run}@example.com"))
    uid, etag = r.json()["id"], r.headers["etag"]

    def write(client: httpx.Client, i: int) -> int:
        headers = {"If-Match": etag}
        if method == "PUT":
            body = user_body(f"{run}@example.com", displayName=f"writer {i}")
            return client.put(f"/Users/{uid}", json=body, headers=headers).status_code
        op = {"op": "replace", "path": "displayName", "value": f"writer {i}"}
        return client.patch(f"/Users/{uid}", json=patch_body(op), headers=headers).status_code

    statuses = Counter(_parallel(20, clients, write))
    assert statuses == Counter({200: 1, 412: 19})


def test_delete_user_while_adding_to_groups(clients: Callable[[], httpx.Client]) -> None:
    """Membership cleanup on delete races with member adds: no group may keep a deleted member."""
    c = clients()
    run = f"d{time.monotonic_ns()}"
    uids = [c.post("/Users", json=user_body(f"{run}-{i}@example.com")).json()["id"] for i in range(10)]
    gids = [
        c.post("/Groups", json={"schemas": [GROUP], "displayName": f"{run}-{i}"}).json()["id"]
        for i in range(10)
    ]

    def work(client: httpx.Client, i: int) -> int:
        if i % 2:
            return client.delete(f"/Users/{uids[i // 2 % 10]}").status_code
        op = {"op": "add", "path": "members", "value": [{"value": u} for u in uids]}
        return client.patch(f"/Groups/{gids[i // 2 % 10]}", json=patch_body(op)).status_code

    statuses = _parallel(40, clients, work)
    assert set(statuses) <= {200, 204, 400, 404}, statuses
    alive = {u for u in uids if c.get(f"/Users/{u}").status_code == 200}
    for gid in gids:
        members = {m["value"] for m in c.get(f"/Groups/{gid}").json().get("members", [])}
        assert members <= alive, "a group kept a deleted member"


def test_concurrent_bulk_cycles_and_reads(clients: Callable[[], httpx.Client]) -> None:
    run = f"b{time.monotonic_ns()}"

    def work(client: httpx.Client, i: int) -> Any:
        if i % 3 == 2:
            r = client.get("/Groups", params={"filter": f'displayName sw "{run}"', "count": "1000"})
            return r.status_code
        ops = [
            {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {
                "schemas": [GROUP], "displayName": f"{run}-{i}-a", "members": [{"value": "bulkId:b"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {
                "schemas": [GROUP], "displayName": f"{run}-{i}-b", "members": [{"value": "bulkId:a"}]}},
        ]  # fmt: skip
        r = client.post("/Bulk", json={"schemas": [BULK], "Operations": ops})
        return [o["status"] for o in r.json()["Operations"]]

    results = _parallel(30, clients, work)
    for i, res in enumerate(results):
        assert res == (200 if i % 3 == 2 else ["201", "201"]), res
    groups = clients().get("/Groups", params={"filter": f'displayName sw "{run}"', "count": "1000"}).json()
    assert groups["totalResults"] == 40
    assert all(len(g["members"]) == 1 for g in groups["Resources"])


def test_manager_and_enterprise_writes_do_not_interleave(clients: Callable[[], httpx.Client]) -> None:
    """PATCHes of different attributes of one user from many clients: none is lost."""
    c = clients()
    run = f"x{time.monotonic_ns()}"
    uid = c.post("/Users", json=user_body(f"{run}@example.com")).json()["id"]

    def write(client: httpx.Client, i: int) -> int:
        op = {"op": "add", "path": "emails", "value": [{"value": f"{run}-{i}@example.org", "type": "other"}]}
        if i % 4 == 0:
            op = {"op": "add", "path": f"{ENTERPRISE}:employeeNumber", "value": str(i)}
        return client.patch(f"/Users/{uid}", json=patch_body(op)).status_code

    assert set(_parallel(40, clients, write)) == {200}
    emails = {e["value"] for e in c.get(f"/Users/{uid}").json()["emails"]}
    assert {f"{run}-{i}@example.org" for i in range(40) if i % 4} <= emails
