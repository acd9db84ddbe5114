"""Bulk (RFC 7644 §3.7) in the reference server: bulkId references, cycles, malformed operations."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from tests.server_client import ENTERPRISE, GROUP, USER, make_client, user_body

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture()
def c() -> httpx.Client:
    return make_client()


def bulk(c: httpx.Client, *ops: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    r = c.post("/Bulk", json={"schemas": [BULK], "Operations": list(ops), **extra})
    assert r.status_code == 200, r.text
    return list(r.json()["Operations"])


def snapshot(c: httpx.Client) -> Any:
    store = c.app.state.server.service.store  # type: ignore[attr-defined]
    return copy.deepcopy((store.tables, store._idx, store.groups_of))


def group_op(bulk_id: str, name: str, *refs: str) -> dict[str, Any]:
    data: dict[str, Any] = {"schemas": [GROUP], "displayName": name}
    if refs:
        data["members"] = [{"type": "Group", "value": f"bulkId:{r}"} for r in refs]
    return {"method": "POST", "path": "/Groups", "bulkId": bulk_id, "data": data}


def test_rfc_circular_groups_are_resolved(c: httpx.Client) -> None:
    """RFC 7644 §3.7.1's example: Group A and Group B, each a member of the other."""
    ops = bulk(c, group_op("qwerty", "Group A", "ytrewq"), group_op("ytrewq", "Group B", "qwerty"))
    assert [o["status"] for o in ops] == ["201", "201"], ops
    a_id, b_id = (o["location"].rsplit("/", 1)[1] for o in ops)
    a = c.get(f"/Groups/{a_id}")
    b = c.get(f"/Groups/{b_id}")
    assert [m["value"] for m in a.json()["members"]] == [b_id]
    assert [m["value"] for m in b.json()["members"]] == [a_id]
    # each operation reports the version the resource has after the job
    assert ops[0]["version"] == a.headers["etag"] and ops[1]["version"] == b.headers["etag"]
    assert "bulkId:" not in a.text + b.text


def test_three_way_cycle_and_kept_members(c: httpx.Client) -> None:
    uid = c.post("/Users", json=user_body()).json()["id"]
    first = group_op("a", "A", "b")
    first["data"]["members"].append({"value": uid})  # a resolved member stays in the create
    ops = bulk(c, first, group_op("b", "B", "c"), group_op("c", "C", "a"))
    assert [o["status"] for o in ops] == ["201"] * 3, ops
    ids = [o["location"].rsplit("/", 1)[1] for o in ops]
    members = {i: sorted(m["value"] for m in c.get(f"/Groups/{i}").json()["members"]) for i in ids}
    assert members == {ids[0]: sorted([uid, ids[1]]), ids[1]: [ids[2]], ids[2]: [ids[0]]}


def test_circular_managers_are_resolved(c: httpx.Client) -> None:
    def user(bulk_id: str, name: str, manager: str) -> dict[str, Any]:
        body = user_body(name)
        body["schemas"] = [USER, ENTERPRISE]
        body[ENTERPRISE] = {"employeeNumber": bulk_id, "manager": {"value": f"bulkId:{manager}"}}
        return {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": body}

    ops = bulk(c, user("u1", "one@example.com", "u2"), user("u2", "two@example.com", "u1"))
    assert [o["status"] for o in ops] == ["201", "201"], ops
    one, two = (c.get(o["location"]).json() for o in ops)
    assert one[ENTERPRISE] == {"employeeNumber": "u1", "manager": {"value": two["id"]}}
    assert two[ENTERPRISE]["manager"]["value"] == one["id"]


def test_cycle_through_a_failure_is_409_and_leaves_nothing(c: httpx.Client) -> None:
    """The MAY of §3.7.1: after one failed attempt the operations answer 409, and the resource
    created to break the cycle is removed again (a failed operation changes nothing)."""
    before = snapshot(c)
    bad = group_op("ytrewq", "Group B", "qwerty")
    bad["data"]["displayName"] = 42  # B fails on its own
    ops = bulk(c, group_op("qwerty", "Group A", "ytrewq"), bad)
    assert [o["status"] for o in ops] == ["409", "400"], ops
    err = ops[0]["response"]
    assert err["schemas"] == [ERROR] and err["status"] == "409" and "ytrewq" in err["detail"]
    assert "scimType" not in err  # Table 9 has no keyword for this 409
    assert snapshot(c) == before
    assert c.get("/Groups").json()["totalResults"] == 0


def test_cycle_broken_create_failing_is_409(c: httpx.Client) -> None:
    c.post("/Groups", json={"schemas": [GROUP], "displayName": "Taken"})
    before = snapshot(c)
    ops = bulk(c, group_op("a", "Taken", "b"), group_op("b", "B", "a"))
    assert [o["status"] for o in ops] == ["409", "409"], ops
    assert "a" in ops[1]["response"]["detail"]
    assert snapshot(c) == before


def test_unknown_bulk_id_reference_is_409(c: httpx.Client) -> None:
    ops = bulk(c, group_op("a", "A", "nowhere"))
    assert ops[0]["status"] == "409" and ops[0]["response"]["status"] == "409"
    assert c.get("/Groups").json()["totalResults"] == 0


def test_reference_to_a_later_patch_target(c: httpx.Client) -> None:
    ops = bulk(
        c,
        {"method": "PATCH", "path": "/Groups/bulkId:g", "data": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "Renamed"}]}},
        group_op("g", "Original"),
    )  # fmt: skip
    assert [o["status"] for o in ops] == ["200", "201"], ops
    assert c.get(ops[1]["location"]).json()["displayName"] == "Renamed"


@pytest.mark.parametrize(
    "op",
    [
        {"method": None, "path": "/Users"},
        {"method": ["POST"], "path": "/Users", "bulkId": "x"},
        {"method": "POST", "path": "/Users", "bulkId": ["x"], "data": {}},
        {"method": "POST", "path": "/Users", "bulkId": 5, "data": {}},
        {"method": "DELETE", "path": "/Users/x", "version": 3},
        {"method": "PUT", "path": 7},
        {"method": "GET", "path": "/Users"},
        "not an object",
        None,
    ],
)
def test_malformed_operations_fail_alone(c: httpx.Client, op: Any) -> None:
    before = snapshot(c)
    ops = bulk(c, op, {"method": "POST", "path": "/Users", "bulkId": "ok", "data": user_body()})
    assert ops[0]["status"] == "400", ops
    assert ops[0]["response"]["schemas"] == [ERROR] and ops[0]["response"]["status"] == "400"
    assert ops[1]["status"] == "201"
    assert snapshot(c) != before


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": 5, "Operations": []},
        {"schemas": BULK, "Operations": [{}]},
        {"schemas": [BULK], "Operations": {"method": "POST"}},
        {"schemas": [BULK], "Operations": [{}], "failOnErrors": "1"},
        {"schemas": [BULK], "Operations": [{"bulkId": "a"}, {"bulkId": "a"}]},
    ],
)
def test_malformed_bulk_requests_are_400(c: httpx.Client, body: Any) -> None:
    r = c.post("/Bulk", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["status"] == "400"


def test_long_reference_chain_is_linear(c: httpx.Client) -> None:
    """1000 groups, each a member of the next and the last of the first (one cycle through all):
    resolved in well under a second, not one pass over the request per operation."""
    import time

    ops = [group_op(f"b{i}", f"g{i}", f"b{(i + 1) % 1000}") for i in range(1000)]
    started = time.perf_counter()
    out = bulk(c, *ops)
    assert time.perf_counter() - started < 5
    assert {o["status"] for o in out} == {"201"}
    ids = [o["location"].rsplit("/", 1)[1] for o in out]
    for i in (0, 1, 998, 999):
        members = c.get(f"/Groups/{ids[i]}").json()["members"]
        assert [m["value"] for m in members] == [ids[(i + 1) % 1000]]


def test_fail_on_errors_stops_and_releases_nothing_more(c: httpx.Client) -> None:
    bad = group_op("a", "A")
    bad["data"]["displayName"] = 1
    ops = bulk(c, bad, group_op("b", "B", "a"), group_op("c", "C"), failOnErrors=1)
    assert [o["status"] for o in ops] == ["400"]
    assert c.get("/Groups").json()["totalResults"] == 0
