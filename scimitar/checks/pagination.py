"""Pagination (RFC 7644 §3.4.2.4): `startIndex`, `count`, and the ListResponse fields that echo them.

Most checks create their own set of users under a unique prefix and page through
`filter=userName sw "<prefix>"`, so the set being paged is known exactly even on a shared remote
target. The `collection-*` checks page the whole `/Users` collection without a filter, so paging is
still tested where filtering is not offered or `sw` is declined. Order is not assumed (no
`sortBy`), except where the check says so.
"""

from __future__ import annotations

from typing import Any

from scimitar.checks import _query as q
from scimitar.checks.assertions import require
from scimitar.checks.context import CheckContext
from scimitar.checks.registry import ENTRA_SOURCE, OKTA_SOURCE, Level, check
from scimitar.quirks import Quirk
from scimitar.target import ScimResponse

SECTION = "RFC 7644 §3.4.2.4"
SET_SIZE = 7


def _set(ctx: CheckContext, tag: str, n: int = SET_SIZE) -> tuple[str, list[dict[str, Any]]]:
    """`n` users under a fresh token, created out of name order, after `q.own_set` made sure the
    target's filter lists that token's users alone."""
    tok = q.token(ctx, tag)
    q.own_set(ctx, tok)
    order = sorted(range(1, n + 1), key=lambda i: (i * 3) % n)
    return tok, q.make_users(ctx, tok, [f"u{i}" for i in order])


def _page(ctx: CheckContext, tok: str, **params: Any) -> tuple[ScimResponse, dict[str, Any]]:
    """GET /Users filtered to `tok`'s users with the paging `params`; 200 ListResponse expected."""
    response = ctx.client.get("/Users", params={"filter": f'userName sw "{tok}"', **params})
    if response.status == 400 and q.scim_type(response) == "invalidFilter":
        ctx.skip("the target declines the `sw` filter these checks use to page only their own users")
    body = q.list_body(ctx, response)
    q.only_own(ctx, tok, body)
    return response, body


def _expect_at_most(ctx: CheckContext, response: ScimResponse, body: dict[str, Any], n: int, message: str) -> None:
    """The page holds at most `n` resources (count: "MUST NOT return more results than specified")."""
    got = len(q.resources(body))
    ctx.expect(got <= n, message, expected=f"at most {n}", actual=got, response=response)


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
    _expect_at_most(ctx, response, body, 3, "count=3 returned more than 3 resources")
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
    §3.4.2 makes it "REQUIRED".
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
    Binding: "When specified, the service provider MUST NOT return more results than specified".
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
        _expect_at_most(ctx, response, body, 2, f"startIndex={start} (read as 1) returned more than count=2 resources")
        _expect_total(ctx, response, body, len(users), f"startIndex={start}")


# -- what identity providers send -------------------------------------------------------------------


@check(
    "okta-connector-test-list-users",
    title="Okta's connector test `GET /Users?startIndex=1&count=2` gets a full ListResponse",
    section="Okta interop",
    source=OKTA_SOURCE,
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
    q.make_users(ctx, tok, [f"u{i}" for i in range(3)])
    response = ctx.client.get("/Users", params={"startIndex": 1, "count": 2})
    body = q.list_body(ctx, response)
    require(ctx, "list-response-paging", response, "GET /Users?startIndex=1&count=2")
    ctx.expect(q.total(body) >= 3, "totalResults counts fewer users than exist", response=response)
    ctx.expect(q.get_ci(body, "startIndex") == 1, "startIndex is not 1", actual=q.get_ci(body, "startIndex"))
    _expect_at_most(ctx, response, body, 2, "count=2 returned more than 2 users")


@check(
    "okta-import-paging",
    title="Okta's import loop (startIndex += count) sees every user once",
    section="Okta interop",
    source=OKTA_SOURCE,
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
    section="Entra interop",
    source=ENTRA_SOURCE,
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
    q.make_users(ctx, tok, [f"u{i}" for i in range(3)])
    response = ctx.client.get("/Users", params={"startIndex": 2, "count": 5})
    body = q.list_body(ctx, response)
    ctx.expect(
        q.get_ci(body, "startIndex") == 2,
        "startIndex=2: the response's startIndex is not 2",
        expected=2,
        actual=q.get_ci(body, "startIndex"),
        response=response,
    )


# -- the whole collection, no filter ----------------------------------------------------------------
# Paging is tested above through `userName sw`, which a provider may decline or not offer at all
# (`filter.supported: false`). These checks page `/Users` itself. The collection may hold users
# the run did not create (a shared tenant), so they never assume exact totals: they create a few
# users first, then judge with ">=" and by the membership of their own ids.

#: Users each collection check creates, so that count=2 spans at least 3 pages.
COLLECTION_USERS = 5
#: The consistency walk never sends more page requests than this.
MAX_WALK_PAGES = 40
#: ...nor asks for bigger pages than this; a larger collection is not walked (the check skips).
MAX_WALK_COUNT = 200


def _collection(ctx: CheckContext, tag: str, n: int = COLLECTION_USERS) -> list[dict[str, Any]]:
    tok = q.token(ctx, tag)
    return q.make_users(ctx, tok, [f"u{i}" for i in range(n)])


def _cpage(ctx: CheckContext, start: int, count: int) -> tuple[ScimResponse, dict[str, Any]]:
    """GET /Users?startIndex=start&count=count (no filter); 200 ListResponse expected.

    RFC 7644 §3.4.2.2 lets a provider refuse a query that would return too many results: "the
    server SHALL reject the request by returning an HTTP response with HTTP status code 400 and a
    "scimType" of "tooMany"", so that answer skips rather than fails."""
    response = ctx.client.get("/Users", params={"startIndex": start, "count": count})
    if response.status == 400 and q.scim_type(response) == "tooMany":
        ctx.skip("the target refuses to list /Users without a filter (400 tooMany, RFC 7644 §3.4.2.2)")
    return response, q.list_body(ctx, response)


@check(
    "rfc7644-3.4.2.4-collection-count-caps-page",
    title="Unfiltered `GET /Users?count=2` pages hold at most 2 resources",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    needs=("users",),
    broken_by=(Quirk.COUNT_IGNORED,),
)
def collection_count_caps_page(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.4 (count): "When specified, the service provider MUST NOT return more results
    than specified, although it MAY return fewer results." Held on the first three pages of the
    whole collection (no filter), after the check created five users of its own.
    """
    _collection(ctx, "ccap")
    for start in (1, 3, 5):
        response, body = _cpage(ctx, start, 2)
        _expect_at_most(ctx, response, body, 2, f"startIndex={start}&count=2 returned {len(q.resources(body))} resources")


@check(
    "rfc7644-3.4.2.4-collection-items-per-page",
    title="Unfiltered pages report `itemsPerPage` = the resources on the page, the last one too",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    needs=("users",),
    broken_by=(Quirk.ITEMS_PER_PAGE_COUNT,),
    serial=True,  # its last page holds one resource only while no other check adds users meanwhile
)
def collection_items_per_page(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2: "itemsPerPage: The number of resources returned in a list response page.
    REQUIRED when partial results are returned due to pagination." Judged on the first page of
    `GET /Users?count=2` and on the page that starts at the last result (startIndex=totalResults),
    which holds one resource whatever count said.
    """
    _collection(ctx, "cipp")
    response, body = _cpage(ctx, 1, 2)
    pages = [(1, response, body)]
    total = q.total(body)
    if _int(total) and total >= 1:
        last_response, last_body = _cpage(ctx, total, 2)
        pages.append((total, last_response, last_body))
    for start, resp, page in pages:
        shown = q.get_ci(page, "itemsPerPage")
        ctx.expect(
            _int(shown) and shown == len(q.resources(page)),
            f"startIndex={start}&count=2: itemsPerPage is not the number of resources returned",
            expected=len(q.resources(page)),
            actual=shown,
            response=resp,
        )


@check(
    "rfc7644-3.4.2.4-collection-start-index-echoed",
    title="Unfiltered pages echo the requested `startIndex`",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    needs=("users",),
    broken_by=(Quirk.STARTINDEX_IGNORED,),
)
def collection_start_index_echoed(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2: "startIndex: The 1-based index of the first result in the current set of
    list results. REQUIRED when partial results are returned due to pagination." Pages 1, 2 and 3 of
    `GET /Users?count=2` (startIndex 1, 3, 5) each carry the startIndex they were asked for.
    """
    _collection(ctx, "cstart")
    for start in (1, 3, 5):
        response, body = _cpage(ctx, start, 2)
        ctx.expect(
            q.get_ci(body, "startIndex") == start,
            f"startIndex={start}&count=2: the response's startIndex is not {start}",
            expected=start,
            actual=q.get_ci(body, "startIndex"),
            response=response,
        )


@check(
    "rfc7644-3.4.2.4-collection-total-results",
    title="Unfiltered pages count the whole collection in `totalResults`, not the page",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    needs=("users",),
    broken_by=(Quirk.TOTAL_RESULTS_PAGE_LENGTH,),
)
def collection_total_results(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2: "totalResults: The total number of results returned by the list or query
    operation. The value may be larger than the number of resources returned, such as when
    returning a single page of results where multiple pages are available. REQUIRED." The
    collection holds at least the check's own five users and at least what one page shows. (Not
    "startIndex - 1 + what the page shows": a server ignoring startIndex would fail that for a
    bug the startIndex checks judge, and only when the collection is small.)
    """
    users = _collection(ctx, "ctot")
    for start in (1, 3, 5):
        response, body = _cpage(ctx, start, 2)
        total = q.total(body)
        floor = max(len(users), len(q.resources(body)))
        ctx.expect(
            _int(total) and total >= floor,
            f"startIndex={start}&count=2: totalResults is {total!r}, but the collection holds at least {floor}",
            expected=f">= {floor}",
            actual=total,
            response=response,
        )


@check(
    "rfc7644-3.4.2.4-collection-pages-consistent",
    title="Paging the whole `/Users` collection: pages disjoint, union complete, totalResults stable",
    section=SECTION,
    level=Level.SHOULD,
    tags=("pagination",),
    needs=("users",),
    broken_by=(Quirk.STARTINDEX_IGNORED,),
    serial=True,  # other checks' creates and deletes would shift the pages it walks
)
def collection_pages_consistent(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.4: "startIndex: The 1-based index of the first query result" and "to continue
    paging, set "startIndex" to 11 and re-fetch, i.e., /Users?startIndex=11&count=10". Walking the
    collection page by page (advancing by the resources each page returned, since a provider "MAY
    return fewer results") sees no resource twice, sees every user the check created, and reads
    the same totalResults on every page. The RFC also says "Because pagination is not stateful,
    clients MUST be prepared to handle inconsistent results" (the collection may change between
    requests), so a stable walk is not a MUST and is reported at SHOULD. The walk is bounded: at most
    MAX_WALK_PAGES requests of at most MAX_WALK_COUNT resources; a larger collection skips. It is
    `serial`: under `--concurrency` the run's other checks would change the collection mid-walk.
    """
    users = _collection(ctx, "cwalk")
    first, body = _cpage(ctx, 1, 2)
    total = q.total(body)
    if not _int(total):
        ctx.skip(f"the first page carries no integer totalResults ({total!r}) to walk by")
    count = max(2, -(-total // MAX_WALK_PAGES))
    if count > MAX_WALK_COUNT:
        ctx.skip(f"the collection holds {total} resources: walking it would take more than "
                 f"{MAX_WALK_PAGES} pages of {MAX_WALK_COUNT}")
    seen: list[str] = []
    totals: set[Any] = set()
    start = 1
    for _ in range(2 * MAX_WALK_PAGES):
        _, page = _cpage(ctx, start, count)
        totals.add(q.total(page))
        got = q.ids(page)
        seen.extend(got)
        if not got or start + len(got) > total:
            break
        start += len(got)
    else:
        ctx.skip(f"the provider returned pages smaller than count={count}: the walk stopped after "
                 f"{2 * MAX_WALK_PAGES} requests, before the end of the collection")
    dupes = sorted({i for i in seen if seen.count(i) > 1})
    ctx.expect(not dupes, "paging the collection returned some resources on two pages", actual=dupes[:10],
               response=first)
    mine = {str(u["id"]) for u in users}
    missing = sorted(mine - set(seen))
    ctx.expect(
        not missing,
        f"paging the collection never returned {len(missing)} of the check's own {len(mine)} users",
        expected=f"all {len(mine)} of them among the {len(set(seen))} resources seen",
        actual=missing,
        response=first,
    )
    ctx.expect(
        len(totals) == 1,
        "totalResults changed from page to page while the check walked the collection",
        expected=total,
        actual=sorted(str(t) for t in totals),
        response=first,
    )


@check(
    "rfc7644-3.4.2.4-collection-start-index-zero",
    title="Unfiltered `startIndex=0` is read as 1, not refused",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    needs=("users",),
    broken_by=(Quirk.PAGING_NOT_CLAMPED,),
)
def collection_start_index_zero(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.4 (Table 6), startIndex: "The 1-based index of the first query result. A
    value less than 1 SHALL be interpreted as 1." So `GET /Users?startIndex=0&count=2` is a 200
    ListResponse of at most 2 resources, whose startIndex (when given) is 1; a 400 breaks it.
    """
    _collection(ctx, "czero", 3)
    response, body = _cpage(ctx, 0, 2)
    echoed = q.get_ci(body, "startIndex")
    ctx.expect(echoed in (None, 1), "startIndex=0 was not read as 1", expected=1, actual=echoed,
               response=response)
    _expect_at_most(ctx, response, body, 2, "startIndex=0&count=2 returned more than 2 resources")


@check(
    "rfc7644-3.4.2.4-collection-count-negative",
    title="Unfiltered `count=-1` is read as 0 (the total, no resources), not refused",
    section=SECTION,
    level=Level.MUST,
    tags=("pagination",),
    needs=("users",),
    broken_by=(Quirk.PAGING_NOT_CLAMPED, Quirk.COUNT_ZERO_IGNORED),
)
def collection_count_negative(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.4 (Table 6), count: "Non-negative integer. Specifies the desired maximum
    number of query results per page, e.g., 10. A negative value SHALL be interpreted as "0". A
    value of "0" indicates that no resource results are to be returned except for "totalResults"."
    So `GET /Users?count=-1` is a 200 ListResponse with no resources and a totalResults that counts
    at least the check's own users; a 400 breaks it.
    """
    users = _collection(ctx, "cneg", 3)
    response = ctx.client.get("/Users", params={"count": -1})
    if response.status == 400 and q.scim_type(response) == "tooMany":
        ctx.skip("the target refuses to list /Users without a filter (400 tooMany, RFC 7644 §3.4.2.2)")
    body = q.list_body(ctx, response)
    ctx.expect(not q.resources(body), "count=-1 (read as 0) returned resources", expected="no Resources",
               actual=len(q.resources(body)), response=response)
    total = q.total(body)
    ctx.expect(
        _int(total) and total >= len(users),
        f"count=-1: totalResults is {total!r}, but the collection holds at least {len(users)}",
        expected=f">= {len(users)}",
        actual=total,
        response=response,
    )
