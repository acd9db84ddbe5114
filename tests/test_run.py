"""Seeded data, the prefix on every name, and a ledger that deletes only what the run created."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from scimitar.run import Ledger, Leftover, Run


def test_same_seed_same_data_different_seed_different_data() -> None:
    a, b, c = Run(seed=42, run_id="abc"), Run(seed=42, run_id="abc"), Run(seed=43, run_id="abc")
    batch_a = [a.data.user(), a.data.group(), a.data.user(enterprise=True)]
    batch_b = [b.data.user(), b.data.group(), b.data.user(enterprise=True)]
    batch_c = [c.data.user(), c.data.group(), c.data.user(enterprise=True)]
    assert batch_a == batch_b
    assert batch_a != batch_c


def test_every_name_carries_the_prefix_and_usernames_are_ascii_emails() -> None:
    run = Run(seed=1)
    assert run.prefix == f"scimitar-{run.run_id}-"
    users = [run.data.user() for _ in range(60)]
    for user in users:
        assert user["userName"].startswith(run.prefix)
        assert user["userName"].isascii() and user["userName"] == user["userName"].lower()
        assert user["userName"].endswith("@example.com")
        assert user["emails"] == [{"value": user["userName"], "type": "work", "primary": True}]
        assert user["externalId"].startswith(run.prefix)
        assert user["name"]["formatted"] == f"{user['name']['givenName']} {user['name']['familyName']}"
    assert len({u["userName"] for u in users}) == 60
    assert len({u["externalId"] for u in users}) == 60
    assert any(not u["name"]["givenName"].isascii() for u in users), "Unicode names are expected"
    groups = [run.data.group() for _ in range(20)]
    assert all(g["displayName"].startswith(run.prefix) for g in groups)
    assert len({g["displayName"] for g in groups}) == 20


def test_overrides_and_enterprise() -> None:
    run = Run(seed=0, run_id="x1")
    user = run.data.user(enterprise=True, active=False, emails=None)
    assert user["active"] is False and "emails" not in user
    assert "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" in user["schemas"]
    assert user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"]


@dataclass
class FakeResponse:
    status: int
    body: Any = None

    def json(self) -> Any:
        return self.body


class FakeServer:
    """A SCIM server in a dict; `ignore_filter` mimics the filter-ignored bug (returns everything)."""

    def __init__(self, ignore_filter: bool = False) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []
        self.ignore_filter = ignore_filter

    def get(self, path: str, **kwargs: Any) -> FakeResponse:
        endpoint = path.rstrip("/")
        params = kwargs.get("params") or {}
        items = [r for p, r in self.resources.items() if p.startswith(endpoint + "/")]
        flt = params.get("filter")
        if flt and not self.ignore_filter:
            attr, _, value = flt.split(" ", 2)
            items = [r for r in items if str(r.get(attr, "")).startswith(value.strip('"'))]
        start, count = int(params.get("startIndex", 1)), int(params.get("count", 100))
        page = items[start - 1 : start - 1 + count]
        return FakeResponse(200, {"schemas": [], "totalResults": len(items), "Resources": page})

    def delete(self, path: str, **kwargs: Any) -> FakeResponse:
        self.deleted.append(path)
        if path in self.resources:
            del self.resources[path]
            return FakeResponse(204)
        return FakeResponse(404)


def test_ledger_deletes_in_reverse_order_ignores_404_and_is_idempotent() -> None:
    server = FakeServer()
    for path in ("/Users/1", "/Users/2", "/Groups/g1", "/Users/foreign"):
        server.resources[path] = {"id": path.rsplit("/", 1)[1]}
    ledger = Ledger()
    for path in ("/Users/1", "/Users/2", "/Groups/g1", "/Users/gone"):
        ledger.add(path)
    report = ledger.cleanup(server)
    assert server.deleted == ["/Users/gone", "/Groups/g1", "/Users/2", "/Users/1"]
    assert sorted(report.deleted) == sorted(["/Users/gone", "/Groups/g1", "/Users/2", "/Users/1"])
    assert "/Users/foreign" in server.resources
    assert len(ledger) == 0
    ledger.cleanup(server)  # second call: nothing left to delete
    assert server.deleted == ["/Users/gone", "/Groups/g1", "/Users/2", "/Users/1"]


@pytest.mark.parametrize("ignore_filter", [False, True])
def test_leftovers_match_prefix_only_even_when_the_server_ignores_filters(ignore_filter: bool) -> None:
    server = FakeServer(ignore_filter=ignore_filter)
    server.resources.update(
        {
            "/Users/a": {"id": "a", "userName": "scimitar-r1-ann@example.com"},
            "/Users/b": {"id": "b", "userName": "bob@example.com"},
            "/Users/c": {"id": "c", "userName": "scimitar-r2-cy@example.com"},
            "/Groups/g": {"id": "g", "displayName": "scimitar-r1-team 1"},
            "/Groups/h": {"id": "h", "displayName": "Engineering"},
        }
    )
    found = Ledger.leftovers(server, "scimitar-r1-")
    assert found == [
        Leftover("/Users/a", "scimitar-r1-ann@example.com"),
        Leftover("/Groups/g", "scimitar-r1-team 1"),
    ]
    Ledger.purge(server, found)
    assert set(server.resources) == {"/Users/b", "/Users/c", "/Groups/h"}
    with pytest.raises(ValueError):
        Ledger.leftovers(server, "")
