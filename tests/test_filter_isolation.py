"""Checks that filter only to isolate their own users give one verdict whatever else the target holds.

Under `filter-ignored` such a check used to pass when run alone (the collection held little but its
own users) and fail or warn when other checks' users were listed too, so a concurrent run ended
differently from a sequential one (issue 13, `bench/concurrency.py --quirks filter-ignored`). Now
each one creates a decoy outside its token and skips when the target lists anything outside it
(`scimitar/checks/_query.py`: `own_set`, `only_own`); the filter checks still fail, as they judge
the filter itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scimitar.checks import _query as q
from scimitar.checks.context import Discovery
from scimitar.checks.registry import CheckSkipped, all_checks, load_catalogue
from scimitar.options import RunOptions
from scimitar.pytest_plugin import ScimSession
from scimitar.quirks import Quirk
from scimitar.results import Outcome
from scimitar.run import Run
from scimitar.target import Target, TargetOptions

load_catalogue()
BY_ID = {c.id: c for c in all_checks()}

#: The checks whose filter only isolates their set (found with the filter-ignored sweep).
ISOLATING = (
    "okta-import-paging",
    "rfc7644-3.3-duplicate-leaves-original",
    "rfc7644-3.4.2.3-sort-ascending",
    "rfc7644-3.4.2.3-sort-case-insensitive",
    "rfc7644-3.4.2.3-sort-default-ascending",
    "rfc7644-3.4.2.3-sort-descending",
    "rfc7644-3.4.2.3-sort-missing-values",
    "rfc7644-3.4.2.3-sort-multivalued-primary",
    "rfc7644-3.4.2.3-sort-paged",
    "rfc7644-3.4.2.4-count-limits-page",
    "rfc7644-3.4.2.4-count-negative-is-zero",
    "rfc7644-3.4.2.4-count-zero",
    "rfc7644-3.4.2.4-items-per-page",
    "rfc7644-3.4.2.4-start-index-below-one",
    "rfc7644-3.4.2.4-start-index-echoed",
    "rfc7644-3.4.2.4-start-index-past-end",
    "rfc7644-3.4.2.4-total-results-counts-matches",
    "rfc7644-3.4.3-search-attributes",
    "rfc7644-3.4.3-search-pagination",
    "rfc7644-3.4.3-search-root",
    "rfc7644-3.4.3-search-sort",
    "rfc7644-3.9-attributes-list",
)

#: Filter checks: they judge the filter, so an ignored filter must fail them, never skip them.
FILTER_CHECKS = ("rfc7644-3.4.2.2-filter-eq", "rfc7644-3.4.3-search-filter")


_OPEN: list[Target] = []


@pytest.fixture(autouse=True)
def _close_targets() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _session(quirks: frozenset[Quirk] = frozenset(), crowd: int = 0) -> ScimSession:
    """A fresh embedded server with `quirks`, holding `crowd` users of no check (as when other
    checks run at the same time)."""
    target = Target(TargetOptions(quirks=quirks))
    _OPEN.append(target)
    s = ScimSession(target, Run(seed=1), RunOptions(seed=1))
    target.probe(s.masker, s.recorder)
    s.discovery = Discovery.fetch(s.client)
    s.adopt_schemas()
    if crowd:
        s.context().create_users(crowd)
    return s


def test_the_listed_checks_exist() -> None:
    assert [i for i in (*ISOLATING, *FILTER_CHECKS) if i not in BY_ID] == []


@pytest.mark.parametrize("crowd", [0, 6], ids=["alone", "crowded"])
def test_ignored_filter_skips_the_isolating_checks_alone_or_crowded(crowd: int) -> None:
    """Alone (an empty collection) and crowded (other users present) end the same: skipped, with
    the reason naming the ignored filter. Before, alone passed and crowded failed or warned."""
    s = _session(frozenset({Quirk.FILTER_IGNORED}), crowd)
    wrong = {}
    for cid in ISOLATING:
        result = s.run_check(BY_ID[cid])
        if result.outcome != Outcome.SKIPPED or "ignored the filter" not in result.message:
            wrong[cid] = f"{result.outcome}: {result.message}"
    assert wrong == {}


def test_strict_server_passes_them_among_other_users() -> None:
    """The decoy and the extra listing cost the strict server nothing: a crowded collection still
    passes every isolating check (the filter isolates the set)."""
    s = _session(crowd=6)
    wrong = {}
    for cid in ISOLATING:
        result = s.run_check(BY_ID[cid])
        if result.outcome != Outcome.PASSED:
            wrong[cid] = f"{result.outcome}: {result.message}"
    assert wrong == {}


@pytest.mark.parametrize("crowd", [0, 6], ids=["alone", "crowded"])
def test_filter_checks_still_fail_when_the_filter_is_ignored(crowd: int) -> None:
    s = _session(frozenset({Quirk.FILTER_IGNORED}), crowd)
    outcomes = {cid: s.run_check(BY_ID[cid]).outcome for cid in FILTER_CHECKS}
    assert outcomes == dict.fromkeys(FILTER_CHECKS, Outcome.FAILED)


def _listing(*users: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "Resources": list(users)}


def test_only_own_keeps_the_checks_users_and_skips_on_any_other() -> None:
    ctx = _session().context()
    tok = "scimitar-abc-sasc1234-"
    q.only_own(ctx, tok, _listing({"id": "1", "userName": f"{tok}a@example.com"}))
    q.only_own(ctx, tok, _listing({"id": "2", "userName": f"{tok.upper()}B@example.com"}))  # sw ignores case
    q.only_own(ctx, tok, _listing({"id": "3"}), mine=["3"])  # known by id, no userName shown
    q.only_own(ctx, tok, _listing())
    with pytest.raises(CheckSkipped, match='ignored the filter userName sw "scimitar-abc-sasc1234-"'):
        q.only_own(ctx, tok, _listing({"id": "1", "userName": f"{tok}a"}, {"id": "4", "userName": "other"}))
    with pytest.raises(CheckSkipped, match='ignored the filter userName eq "x"'):
        q.only_own(ctx, tok, _listing({"id": "5", "displayName": "a group"}), flt='userName eq "x"')


def test_own_set_creates_one_decoy_outside_the_token() -> None:
    s = _session()
    ctx = s.context()
    tok = q.token(ctx, "iso")
    q.own_set(ctx, tok)  # strict server: the listing holds none of the decoy, no skip
    listed = ctx.client.get("/Users", params={"filter": f'userName sw "{ctx.data.prefix}decoy"'}).json()
    decoys = q.resources(listed)
    assert len(decoys) == 1 and not str(decoys[0]["userName"]).startswith(tok)
    assert str(decoys[0]["userName"]).startswith(ctx.data.prefix)
