"""Seeded data, the prefix on every name, and a ledger that deletes only what the run created."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from scimitar.run import CleanupError, Ledger, Leftover, Run, RunMatch, valid_run_id


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
    """A SCIM server in a dict; `ignore_filter` mimics the filter-ignored bug (returns everything),
    `soft_delete` a server whose DELETE only deactivates, `refuse` maps a method to a status it
    answers to everything (401 for a revoked credential)."""

    def __init__(self, ignore_filter: bool = False, soft_delete: bool = False) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []
        self.ignore_filter = ignore_filter
        self.soft_delete = soft_delete
        self.refuse: dict[str, int] = {}
        #: path -> how many more GETs still see it after its DELETE (a lagging replica)
        self.lag: dict[str, int] = {}
        #: paths a DELETE hides from GET but not from listings (RFC 7644 §3.6: "MUST omit")
        self.ghosts: set[str] = set()
        self.hide_on_delete = False

    def get(self, path: str, **kwargs: Any) -> FakeResponse:
        if "GET" in self.refuse:
            return FakeResponse(self.refuse["GET"])
        endpoint = path.rstrip("/")
        if endpoint.count("/") == 2 and endpoint in self.ghosts:
            return FakeResponse(404)  # gone for GET, still listed by queries
        if endpoint.count("/") == 2:  # /Users/<id>: one resource
            if self.lag.get(endpoint, 0) > 0:
                self.lag[endpoint] -= 1
                return FakeResponse(200, {"id": endpoint.rsplit("/", 1)[1]})
            found = self.resources.get(endpoint)
            return FakeResponse(200, found) if found is not None else FakeResponse(404)
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
        if "DELETE" in self.refuse:
            return FakeResponse(self.refuse["DELETE"])
        if path in self.ghosts:
            return FakeResponse(404)
        if path in self.resources:
            if self.hide_on_delete and path.startswith("/Users/"):
                self.ghosts.add(path)
                return FakeResponse(204)
            if self.soft_delete and path.startswith("/Users/"):
                self.resources[path] = {**self.resources[path], "active": False}
            else:
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
    assert report.complete and not report.still_present and not report.failed
    assert "/Users/foreign" in server.resources
    assert len(ledger) == 0
    ledger.cleanup(server)  # second call: nothing left to delete
    assert server.deleted == ["/Users/gone", "/Groups/g1", "/Users/2", "/Users/1"]


LOOK_ALIKES = {
    "/Users/ours": {"id": "ours", "userName": "scimitar-abc123-ann@example.com"},
    "/Groups/ours": {"id": "ours", "displayName": "scimitar-abc123-team 1"},
    "/Users/foo": {"id": "foo", "userName": "scimitar-foo@example.com"},
    "/Groups/team": {"id": "team", "displayName": "scimitar-team"},
    "/Users/other": {"id": "other", "userName": "scimitar-def456-bo@example.com"},
    "/Users/longer": {"id": "longer", "userName": "scimitar-abc1234-cy@example.com"},
    "/Users/inside": {"id": "inside", "userName": "x-scimitar-abc123-dee@example.com"},
    "/Users/upper": {"id": "upper", "userName": "Scimitar-ABC123-eve@example.com"},
    "/Users/root": {"id": "root", "userName": "scimitar-"},
    "/Users/toolong": {"id": "toolong", "userName": "scimitar-abcdefghijklmnopq-fay@example.com"},
}


@pytest.mark.parametrize("ignore_filter", [False, True])
def test_leftovers_match_the_exact_run_prefix_only(ignore_filter: bool) -> None:
    """`scimitar-foo@example.com` and `scimitar-team` were deleted by the old `scimitar-` default."""
    server = FakeServer(ignore_filter=ignore_filter)
    server.resources.update(LOOK_ALIKES)
    found = Ledger.leftovers(server, RunMatch("abc123"))
    assert found == [
        Leftover("/Users/ours", "scimitar-abc123-ann@example.com"),
        Leftover("/Groups/ours", "scimitar-abc123-team 1"),
    ]
    assert Ledger.leftovers(server, "scimitar-abc123-") == found
    every_run = {item.path for item in Ledger.leftovers(server, RunMatch(None))}
    assert every_run == {"/Users/ours", "/Groups/ours", "/Users/other", "/Users/longer"}
    report = Ledger.purge(server, found)
    assert report.complete and sorted(report.deleted) == ["/Groups/ours", "/Users/ours"]
    assert set(server.resources) == set(LOOK_ALIKES) - {"/Users/ours", "/Groups/ours"}


@pytest.mark.parametrize("prefix", ["", "scimitar-", "scimitar-foo", "scimitar-ABC-", "x-scimitar-a-", "sc"])
def test_anything_but_an_exact_run_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError):
        Ledger.leftovers(FakeServer(), prefix)


@pytest.mark.parametrize("run_id", ["", "ABC", "a-b", "a" * 17, "é1"])
def test_run_ids_are_1_to_16_lowercase_letters_or_digits(run_id: str) -> None:
    assert not valid_run_id(run_id)
    with pytest.raises(ValueError):
        RunMatch(run_id)
    with pytest.raises(ValueError):
        Run(run_id=run_id)
    assert valid_run_id(Run().run_id) and valid_run_id("a" * 16)


def test_soft_deleted_resources_are_still_present_not_deleted() -> None:
    """The old ledger counted a 204 as deleted: a server that only deactivates left users behind."""
    server = FakeServer(soft_delete=True)
    server.resources.update({"/Users/u": {"id": "u", "active": True}, "/Groups/g": {"id": "g"}})
    ledger = Ledger()
    ledger.add("/Users/u")
    ledger.add("/Groups/g")
    slept: list[float] = []
    report = ledger.cleanup(server, sleep=slept.append)
    assert report.deleted == ["/Groups/g"]
    assert report.still_present == [
        ("/Users/u", "still readable after DELETE, with active=false (deactivated, not deleted)")
    ]
    assert not report.complete and not report.failed
    assert ledger.paths == ["/Users/u"], "a survivor stays in the ledger for a later attempt"
    assert 0 < sum(slept) <= 1.0, "re-read for a bounded time before calling it still present"


def test_a_lagging_read_is_waited_for() -> None:
    server = FakeServer()
    server.resources["/Users/u"] = {"id": "u"}
    server.lag["/Users/u"] = 2
    ledger = Ledger()
    ledger.add("/Users/u")
    slept: list[float] = []
    report = ledger.cleanup(server, sleep=slept.append)
    assert report.deleted == ["/Users/u"] and report.complete
    assert len(slept) == 2


@pytest.mark.parametrize("method", ["DELETE", "GET"])
def test_a_refused_delete_or_reread_is_a_failure_with_its_status(method: str) -> None:
    server = FakeServer()
    server.resources["/Users/u"] = {"id": "u"}
    ledger = Ledger()
    ledger.add("/Users/u")
    server.refuse[method] = 401
    report = ledger.cleanup(server)
    assert not report.deleted and len(report.failed) == 1
    path, why = report.failed[0]
    assert path == "/Users/u" and "401" in why
    assert ledger.paths == ["/Users/u"]
    assert report.to_json()["failed"] == [{"path": "/Users/u", "reason": why}]


def test_a_refused_listing_is_an_error_not_an_empty_result() -> None:
    """The old sweep read a 401 listing as "no leftovers"."""
    server = FakeServer()
    server.resources.update(LOOK_ALIKES)
    server.refuse["GET"] = 401
    with pytest.raises(CleanupError, match="401"):
        Ledger.leftovers(server, RunMatch("abc123"))
    run = Run(run_id="abc123")
    report = run.cleanup(server)
    assert report.failed and report.failed[0][0] == "*" and "401" in report.failed[0][1]


def test_run_cleanup_sweeps_this_run_only_and_counts_what_the_checks_deleted() -> None:
    server = FakeServer()
    server.resources.update(LOOK_ALIKES)
    server.resources["/Users/mine"] = {"id": "mine", "userName": "scimitar-abc123-mine@example.com"}
    run = Run(run_id="abc123")
    scope = run.ledger.scope()
    scope.add("/Users/mine")
    assert run.ledger.paths == ["/Users/mine"], "a check's creations reach the run's ledger too"
    assert scope.cleanup(server, settle_s=0).deleted == ["/Users/mine"]
    assert len(run.ledger) == 0 and run.ledger.gone == ["/Users/mine"]
    report = run.cleanup(server)  # the ledger is empty: the sweep finds the unrecorded ones
    assert sorted(report.deleted) == ["/Groups/ours", "/Users/mine", "/Users/ours"]
    assert report.complete
    assert set(server.resources) == set(LOOK_ALIKES) - {"/Users/ours", "/Groups/ours"}


def test_a_scope_that_cannot_delete_leaves_the_path_to_the_runs_cleanup() -> None:
    server = FakeServer()
    server.resources["/Users/u"] = {"id": "u", "userName": "scimitar-abc123-u@example.com"}
    run = Run(run_id="abc123")
    scope = run.ledger.scope()
    scope.add("/Users/u")
    server.refuse["DELETE"] = 503
    assert scope.cleanup(server, settle_s=0).failed
    assert run.ledger.paths == ["/Users/u"]
    del server.refuse["DELETE"]
    report = run.cleanup(server)
    assert report.deleted == ["/Users/u"] and report.complete


def test_soft_deleted_leftovers_are_reported_once_by_the_run() -> None:
    server = FakeServer(soft_delete=True)
    server.resources["/Users/u"] = {"id": "u", "userName": "scimitar-abc123-u@example.com"}
    run = Run(run_id="abc123")
    run.ledger.add("/Users/u")
    report = run.cleanup(server, sleep=lambda _: None)
    assert [path for path, _ in report.still_present] == ["/Users/u"]
    assert not report.deleted and not report.failed
    assert server.deleted.count("/Users/u") == 1, "the sweep does not delete a known survivor again"


def test_a_resource_still_listed_after_a_verified_delete_is_still_present() -> None:
    server = FakeServer()
    server.hide_on_delete = True
    server.resources["/Users/u"] = {"id": "u", "userName": "scimitar-abc123-u@example.com"}
    run = Run(run_id="abc123")
    run.ledger.add("/Users/u")
    slept: list[float] = []
    report = run.cleanup(server, sleep=slept.append)
    assert report.still_present == [("/Users/u", "still listed after DELETE (a re-read answered 404)")]
    assert not report.deleted and not report.failed
    assert slept == [1.0], "listed once more after a pause before calling it still listed"


def test_an_id_cannot_aim_a_sweep_delete_at_another_path() -> None:
    """The sweep builds paths from the ids a listing returns: an id is one path segment, encoded."""
    server = FakeServer(ignore_filter=True)
    server.resources["/Users/x"] = {"id": "../Groups/g", "userName": "scimitar-abc123-x@example.com"}
    server.resources["/Groups/g"] = {"id": "g", "displayName": "Engineering"}
    found = Ledger.leftovers(server, RunMatch("abc123"))
    assert found == [Leftover("/Users/..%2FGroups%2Fg", "scimitar-abc123-x@example.com")]
    Ledger.purge(server, found, settle_s=0)
    assert "/Groups/g" in server.resources and "/Groups/g" not in server.deleted


def test_a_transient_5xx_is_tried_once_more_a_401_is_not() -> None:
    class Flaky(FakeServer):
        def __init__(self) -> None:
            super().__init__()
            self.answers = {"/Users/a": [503], "/Users/b": [401]}

        def delete(self, path: str, **kwargs: Any) -> FakeResponse:
            queued = self.answers.get(path)
            if queued:
                self.deleted.append(path)
                return FakeResponse(queued.pop(0))
            return super().delete(path, **kwargs)

    server = Flaky()
    server.resources.update({"/Users/a": {"id": "a"}, "/Users/b": {"id": "b"}})
    ledger = Ledger()
    ledger.add("/Users/a")
    ledger.add("/Users/b")
    report = ledger.cleanup(server)
    assert report.deleted == ["/Users/a"]
    assert report.failed == [("/Users/b", "DELETE answered 401")]
    assert server.deleted == ["/Users/b", "/Users/a", "/Users/a"]
