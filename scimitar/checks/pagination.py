"""Pagination (RFC 7644 §3.4.2.4): `startIndex`, `count`, and the ListResponse fields that echo them.

Each check creates its own set of users under a unique prefix and pages through
`filter=userName sw "<prefix>"`, so the set being paged is known exactly even on a shared remote
target. Order is not assumed (no `sortBy`), except where the check says so.
"""

from __future__ import annotations

from typing import Any

from scimitar.checks import _query as q
from scimitar.checks.assertions import require
from scimitar.checks.context import CheckContext
from scimitar.checks.registry import Level, check
from scimitar.quirks import Quirk
from scimitar.target import ScimResponse

SECTION = "RFC 7644 §3.4.2.4"
SET_SIZE = 7


def _set(ctx: CheckContext, tag: str, n: int = SET_SIZE) -> tuple[str, list[dict[str, Any]]]:
    """`n` users under a fresh token, created out of name order."""
    tok = q.token(ctx, tag)
    order = sorted(range(1, n + 1), key=lambda i: (i * 3) % n)
    return tok, [q.make_user(ctx, tok, f"u{i}") for i in order]


def _page(ctx: CheckContext, tok: str, **params: Any) -> tuple[ScimResponse, dict[str, Any]]:
    """GET /Users filtered to `tok`'s users with the paging `params`; 200 ListResponse expected."""
    response = ctx.client.get("/Users", params={"filter": f'userName sw "{tok}"', **params})
    if response.status == 400 and q.scim_type(response) == "invalidFilter":
        ctx.skip("the target declines the `sw` filter these checks use to page only their own users")
    return response, q.list_body(ctx, response)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _expect_total(ctx: CheckContext, response: ScimResponse, body: dict[str, Any], n: int, what: str) -> None:
    ctx.expect(
        q.total(body) == n,
        f"{what}: totalResults is not the number of matching resources",
        expected=n,
        actual=q.total(body),
        response=response,
    )


def _expect_mine(
    ctx: CheckContext, response: ScimResponse, body: dict[str, Any], users: list[dict[str, Any]], what: str
) -> None:
    mine = {str(u["id"]) for u in users}
    stray = [i for i in q.ids(body) if i not in mine]
    ctx.expect(
        not stray, f"{what}: the page holds resources the filter excludes", actual=stray, response=response
    )


@check(
    "rfc7644-3.4.2.4-count-limits-page",
    title="`count` caps the number of resources on a page",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    needs=("filter",),
    broken_by=(Quirk.COUNT_IGNORED,),
)
def count_limits_page(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.4 (count): "When specified, the service provider MUST NOT return more results
    than specified, although it MAY return fewer results."
    """
    tok, users = _set(ctx, "pcnt")
    response, body = _page(ctx, tok, count=3)
    got = q.resources(body)
    ctx.expect(
        len(got) <= 3,
        "count=3 returned more than 3 resources",
        expected="at most 3",
        actual=len(got),
        response=response,
    )
    _expect_mine(ctx, response, body, users, "count=3")


@check(
    "rfc7644-3.4.2.4-total-results-counts-matches",
    title="`totalResults` counts every match, not the page",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    needs=("filter",),
    broken_by=(Quirk.TOTAL_RESULTS_PAGE_LENGTH,),
)
def total_results_counts_matches(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.4 (Table 7): "totalResults: Non-negative integer. Specifies the total number of
    results matching the client query, e.g., 1000." and §3.4.2: "The value may be larger than the
    number of resources returned, such as when returning a single page".
    """
    tok, users = _set(ctx, "ptot")
    response, body = _page(ctx, tok, count=2)
    _expect_total(ctx, response, body, len(users), "count=2")


@check(
    "rfc7644-3.4.2.4-items-per-page",
    title="`itemsPerPage` is the number of resources on the page",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    needs=("filter",),
    broken_by=(Quirk.ITEMS_PER_PAGE_COUNT,),
)
def items_per_page(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2 "itemsPerPage: The number of resources returned in a list response page.
    REQUIRED when partial results are returned due to pagination." (Table 7: "Specifies the number
    of query results returned in a query response page"). The last page of 7 with count=5 from
    startIndex=6 holds 2, whatever count said.
    """
    tok, _ = _set(ctx, "pipp")
    for start, count in ((1, 2), (6, 5)):
        response, body = _page(ctx, tok, startIndex=start, count=count)
        shown = q.get_ci(body, "itemsPerPage")
        ctx.expect(
            _int(shown) and shown == len(q.resources(body)),
            f"startIndex={start}&count={count}: itemsPerPage is not the number of resources returned",
            expected=len(q.resources(body)),
            actual=shown,
            response=response,
        )


@check(
    "rfc7644-3.4.2.4-start-index-echoed",
    title="`startIndex` in the response is the requested start",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    needs=("filter",),
    broken_by=(Quirk.STARTINDEX_IGNORED,),
)
def start_index_echoed(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2: "startIndex: The 1-based index of the first result in the current set of
    list results. REQUIRED when partial results are returned due to pagination." A page requested
    with startIndex=3 starts at result 3.
    """
    tok, users = _set(ctx, "pstart")
    response, body = _page(ctx, tok, startIndex=3, count=2)
    ctx.expect(
        q.get_ci(body, "startIndex") == 3,
        "startIndex=3: the response's startIndex is not 3",
        expected=3,
        actual=q.get_ci(body, "startIndex"),
        response=response,
    )
    _expect_total(ctx, response, body, len(users), "startIndex=3&count=2")


@check(
    "rfc7644-3.4.2.4-start-index-past-end",
    title="A `startIndex` past the last result gives an empty page and the true total",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    needs=("filter",),
    broken_by=(Quirk.STARTINDEX_IGNORED,),
)
def start_index_past_end(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.4 (Table 6): "startIndex: The 1-based index of the first query result." With
    fewer results than startIndex, the page has none; "totalResults" still "Specifies the total
    number of results matching the client query" and the answer is 200 (§3.4.2: "A query that does
    not return any matches SHALL return success").
    """
    tok, users = _set(ctx, "ppast")
    response, body = _page(ctx, tok, startIndex=len(users) + 10, count=5)
    ctx.expect(
        not q.resources(body),
        f"startIndex={len(users) + 10} past the {len(users)} results still returned resources",
        expected="no Resources",
        actual=q.names(body),
        response=response,
    )
    _expect_total(ctx, response, body, len(users), "startIndex past the end")


@check(
    "rfc7644-3.4.2.4-count-zero",
    title="`count=0` returns no resources but the total",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    needs=("filter",),
    broken_by=(Quirk.COUNT_ZERO_IGNORED,),
)
def count_zero(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.4 (count): "A value of "0" indicates that no resource results are to be
    returned except for "totalResults"."
    """
    tok, users = _set(ctx, "pzero", 3)
    response, body = _page(ctx, tok, count=0)
    ctx.expect(
        not q.resources(body),
        "count=0 returned resources",
        expected="no Resources",
        actual=q.names(body),
        response=response,
    )
    _expect_total(ctx, response, body, len(users), "count=0")


@check(
    "rfc7644-3.4.2.4-count-negative-is-zero",
    title="A negative `count` is read as 0",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    needs=("filter",),
    broken_by=(Quirk.PAGING_NOT_CLAMPED, Quirk.COUNT_ZERO_IGNORED),
)
def count_negative_is_zero(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.4 (count): "Non-negative integer. [...] A negative value SHALL be interpreted
    as "0". A value of "0" indicates that no resource results are to be returned except for
    "totalResults"."
    """
    tok, users = _set(ctx, "pneg", 3)
    response, body = _page(ctx, tok, count=-1)
    ctx.expect(
        not q.resources(body),
        "count=-1 (read as 0) returned resources",
        expected="no Resources",
        actual=q.names(body),
        response=response,
    )
    _expect_total(ctx, response, body, len(users), "count=-1")


@check(
    "rfc7644-3.4.2.4-start-index-below-one",
    title="A `startIndex` below 1 is read as 1",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    needs=("filter",),
    broken_by=(Quirk.PAGING_NOT_CLAMPED,),
)
def start_index_below_one(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.4 (startIndex): "The 1-based index of the first query result. A value less
    than 1 SHALL be interpreted as 1."
    """
    tok, users = _set(ctx, "plow", 3)
    for start in (0, -3):
        response, body = _page(ctx, tok, startIndex=start, count=2)
        echoed = q.get_ci(body, "startIndex")
        ctx.expect(
            echoed in (None, 1),
            f"startIndex={start} was not read as 1",
            expected=1,
            actual=echoed,
            response=response,
        )
        ctx.expect(
            len(q.resources(body)) <= 2,
            f"startIndex={start} (read as 1) returned more than count=2 resources",
            expected="at most 2 resources",
            actual=len(q.resources(body)),
            response=response,
        )
        _expect_total(ctx, response, body, len(users), f"startIndex={start}")


# -- what identity providers send -------------------------------------------------------------------


@check(
    "okta-connector-test-list-users",
    title="Okta's connector test `GET /Users?startIndex=1&count=2` gets a full ListResponse",
    section="RFC 7644 §3.4.2",
    level=Level.MUST,
    tags=("pagination",),
    broken_by=(Quirk.COUNT_IGNORED,),
)
def okta_connector_test_list_users(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2: "totalResults [...] REQUIRED", "startIndex [...] REQUIRED when partial
    results are returned due to pagination", "itemsPerPage [...] REQUIRED when partial results are
    returned due to pagination", and §3.4.2.4 "the service provider MUST NOT return more results
    than specified". Okta's connector test sends exactly this request and needs integer paging
    fields in a ListResponse.
    """
    tok = q.token(ctx, "pokta")
    for i in range(3):
        q.make_user(ctx, tok, f"u{i}")
    response = ctx.client.get("/Users", params={"startIndex": 1, "count": 2})
    body = q.list_body(ctx, response)
    require(ctx, "list-response-paging", response, "GET /Users?startIndex=1&count=2")
    ctx.expect(q.total(body) >= 3, "totalResults counts fewer users than exist", response=response)
    ctx.expect(q.get_ci(body, "startIndex") == 1, "startIndex is not 1", actual=q.get_ci(body, "startIndex"))
    ctx.expect(
        len(q.resources(body)) <= 2,
        "count=2 returned more than 2 users",
        expected="at most 2",
        actual=len(q.resources(body)),
        response=response,
    )


@check(
    "okta-import-paging",
    title="Okta's import loop (startIndex += count) sees every user once",
    section=SECTION,
    level=Level.SHOULD,
    tags=("pagination",),
    needs=("filter",),
    broken_by=(Quirk.STARTINDEX_IGNORED, Quirk.COUNT_IGNORED),
)
def okta_import_paging(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.4: "to continue paging, set "startIndex" to 11 and re-fetch, i.e.,
    /Users?startIndex=11&count=10". Okta imports this way (startIndex += count while startIndex <=
    totalResults) without `sortBy`, so it needs pages that do not overlap. The RFC warns that
    "clients MUST be prepared to handle inconsistent results", so a stable order is not a MUST:
    this is a SHOULD (scoped here to the check's own users by a filter).
    """
    tok, users = _set(ctx, "pimp")
    seen: list[str] = []
    start, count = 1, 2
    for _ in range(len(users) + 2):
        response, body = _page(ctx, tok, startIndex=start, count=count)
        _expect_mine(ctx, response, body, users, f"startIndex={start}")
        seen.extend(q.ids(body))
        total = q.total(body)
        start += count
        if not _int(total) or start > total:
            break
    want = {str(u["id"]) for u in users}
    dupes = sorted({i for i in seen if seen.count(i) > 1})
    ctx.expect(not dupes, "paging by startIndex += count returned some users twice", actual=dupes)
    ctx.expect(
        set(seen) == want,
        "paging by startIndex += count did not return every user",
        expected=len(want),
        actual=len(set(seen) & want),
    )


@check(
    "entra-start-index-echo",
    title="Entra's gallery check `GET /Users?startIndex=N&count=5` gets startIndex N back",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    broken_by=(Quirk.STARTINDEX_IGNORED,),
)
def entra_start_index_echo(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2: "startIndex: The 1-based index of the first result in the current set of
    list results. REQUIRED when partial results are returned due to pagination." Microsoft's gallery
    validation pages with startIndex=N&count=5 and compares the echoed startIndex.
    """
    tok = q.token(ctx, "pentra")
    for i in range(3):
        q.make_user(ctx, tok, f"u{i}")
    response = ctx.client.get("/Users", params={"startIndex": 2, "count": 5})
    body = q.list_body(ctx, response)
    ctx.expect(
        q.get_ci(body, "startIndex") == 2,
        "startIndex=2: the response's startIndex is not 2",
        expected=2,
        actual=q.get_ci(body, "startIndex"),
        response=response,
    )
