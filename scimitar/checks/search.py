"""Queries by POST (RFC 7644 §3.4.3): `POST /Users/.search` and `POST /.search` with a SearchRequest.

RFC 7644 makes the POST form a client option ("Clients MAY execute queries without passing
parameters on the URL by using the HTTP POST verb combined with the "/.search" path extension")
and the ServiceProviderConfig has no flag for it, so offering it is a MAY: the MAY checks report
whether it is there. Once a target does answer a SearchRequest, its response must be the one
"specified in Section 3.4.2", so the other checks are MUSTs that skip when the endpoint is absent.
"""

from __future__ import annotations

from typing import Any

from scimitar.checks import _query as q
from scimitar.checks.context import CheckContext
from scimitar.checks.registry import Level, check
from scimitar.quirks import Quirk
from scimitar.schema import SEARCH_REQUEST
from scimitar.target import ScimResponse

SECTION = "RFC 7644 §3.4.3"


def _post(ctx: CheckContext, path: str, **params: Any) -> ScimResponse:
    return ctx.client.post(path, json={"schemas": [SEARCH_REQUEST], **params})


def _search(
    ctx: CheckContext, path: str = "/Users/.search", **params: Any
) -> tuple[ScimResponse, dict[str, Any]]:
    """POST a SearchRequest; skip if the endpoint is not offered (it is optional)."""
    response = _post(ctx, path, **params)
    if response.status == 400 and q.scim_type(response) == "invalidFilter":
        ctx.skip(f"the target declines the filter {params.get('filter')!r} with invalidFilter")
    if response.status in (*q.NOT_OFFERED, 400) and not q.has_ci(response.json(), "Resources"):
        ctx.skip(
            f"POST {path} answered {response.status}: the target does not offer queries by POST, which "
            "RFC 7644 §3.4.3 leaves optional (see rfc7644-3.4.3-search-post-supported)"
        )
    return response, q.list_body(ctx, response)


@check(
    "rfc7644-3.4.3-search-post-supported",
    title="`POST /Users/.search` answers a SearchRequest with a ListResponse",
    section=SECTION,
    level=Level.MAY,
    tags=("search",),
    needs=("filter",),
    broken_by=(Quirk.SEARCH_POST_UNSUPPORTED,),
)
def search_post_supported(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.3: "Clients MAY execute queries without passing parameters on the URL by using
    the HTTP POST verb combined with the "/.search" path extension. The inclusion of "/.search" on
    the end of a valid SCIM endpoint SHALL be used to indicate that the HTTP POST verb is intended to
    be a query operation." and "Query requests MUST be identified using the following URI:
    "urn:ietf:params:scim:api:messages:2.0:SearchRequest"".
    """
    tok = q.token(ctx, "rsup")
    a = q.make_user(ctx, tok, "alpha")
    response = _post(ctx, "/Users/.search", filter=f'userName eq "{a["userName"]}"')
    body = q.list_body(ctx, response)
    ctx.validate_list(body, "User", response=response)


@check(
    "rfc7644-3.4.3-search-filter",
    title="A SearchRequest's `filter` selects the resources",
    section=SECTION,
    level=Level.MUST,
    tags=("search", "filter"),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def search_filter(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.3: "The body of the POST request MAY include any of the parameters defined in
    Section 3.4.2." and §3.4.2.2: "When specified, only those resources matching the filter
    expression SHALL be returned."
    """
    tok = q.token(ctx, "rflt")
    a, b = q.make_user(ctx, tok, "alpha"), q.make_user(ctx, tok, "bravo")
    response, body = _search(ctx, filter=f'userName eq "{b["userName"]}"')
    q.expect_ids(ctx, response, body, [b], "SearchRequest filter userName eq <bravo>", among=[a, b])


@check(
    "rfc7644-3.4.3-search-no-match-200",
    title="A SearchRequest matching nothing answers 200 with totalResults 0",
    section=SECTION,
    level=Level.MUST,
    tags=("search",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_EMPTY_404,),
)
def search_no_match_200(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.3: "After receiving an HTTP POST request, a response is returned as specified in
    Section 3.4.2." and §3.4.2: "A query that does not return any matches SHALL return success (HTTP
    status 200) with "totalResults" set to a value of 0."
    """
    tok = q.token(ctx, "rnone")
    q.make_user(ctx, tok, "alpha")  # so that the endpoint itself exists on any target
    flt = f'userName eq "{tok}nobody@example.com"'
    response = _post(ctx, "/Users/.search", filter=flt)
    if response.status in q.NOT_OFFERED and not q.has_ci(response.json(), "Resources"):
        # tell "no such endpoint" from "no match": a hit on the same endpoint must then work
        probe = _post(ctx, "/Users/.search", filter=f'userName sw "{tok}"')
        if probe.status != 200:
            ctx.skip(f"POST /Users/.search answered {response.status}: queries by POST are not offered")
    body = q.list_body(ctx, response)
    ctx.expect(
        q.total(body) == 0, "totalResults is not 0", expected=0, actual=q.total(body), response=response
    )
    ctx.expect(not q.resources(body), "a search without matches returned resources", response=response)


@check(
    "rfc7644-3.4.3-search-attributes",
    title="A SearchRequest's `attributes` shapes the resources returned",
    section=SECTION,
    level=Level.MUST,
    tags=("search", "attributes"),
    needs=("filter",),
    broken_by=(Quirk.ATTRIBUTES_IGNORED,),
)
def search_attributes(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.3: "attributes: A multi-valued list of strings indicating the names of resource
    attributes to return in the response, overriding the set of attributes that would be returned by
    default." and §3.9: "each resource returned MUST contain the minimum set of resource attributes
    and any attributes or sub-attributes explicitly requested".
    """
    tok = q.token(ctx, "rattr")
    shown = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    a = q.make_user(ctx, tok, "alpha", **shown.overrides("Shown By Default"))
    q.decoy(ctx)
    flt = f'userName eq "{a["userName"]}"'
    response, body = _search(ctx, filter=flt, attributes=["userName"])
    q.only_own(ctx, tok, body, flt=flt, mine=[str(a["id"])])
    found = q.resources(body)
    ctx.expect(
        len(found) == 1, "the search did not return the one user", actual=len(found), response=response
    )
    ctx.expect(
        q.get_ci(found[0], "id") == a["id"] and q.has_ci(found[0], "userName"),
        'attributes ["userName"] lost id or userName',
        actual=sorted(found[0]),
        response=response,
    )
    extra = [n for n in (shown.attribute.name, "displayName", "emails", "name") if q.has_ci(found[0], n)]
    ctx.expect(
        not extra,
        f'attributes ["userName"] still returned {", ".join(extra)}',
        expected="id, userName (and schemas)",
        actual=sorted(found[0]),
        response=response,
    )


@check(
    "rfc7644-3.4.3-search-pagination",
    title="A SearchRequest's `startIndex` and `count` page the results",
    section=SECTION,
    level=Level.MUST,
    tags=("search", "pagination"),
    needs=("filter",),
    broken_by=(Quirk.STARTINDEX_IGNORED, Quirk.COUNT_IGNORED, Quirk.TOTAL_RESULTS_PAGE_LENGTH),
)
def search_pagination(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.3: "startIndex: An integer indicating the 1-based index of the first query
    result. [...] count: An integer indicating the desired maximum number of query results per
    page." with §3.4.2.4: "the service provider MUST NOT return more results than specified" and
    "totalResults [...] Specifies the total number of results matching the client query".
    """
    tok = q.token(ctx, "rpage")
    q.own_set(ctx, tok, search="/Users/.search")
    users = q.make_users(ctx, tok, ("alpha", "bravo", "charlie"))
    response, body = _search(ctx, filter=f'userName sw "{tok}"', startIndex=2, count=1)
    q.only_own(ctx, tok, body)
    ctx.expect(
        len(q.resources(body)) <= 1,
        "count 1 returned more than one resource",
        actual=len(q.resources(body)),
        response=response,
    )
    ctx.expect(
        q.total(body) == len(users),
        "totalResults is not the number of matches",
        expected=len(users),
        actual=q.total(body),
        response=response,
    )
    ctx.expect(
        q.get_ci(body, "startIndex") == 2,
        "startIndex 2 is not echoed",
        expected=2,
        actual=q.get_ci(body, "startIndex"),
        response=response,
    )


@check(
    "rfc7644-3.4.3-search-sort",
    title="A SearchRequest's `sortBy`/`sortOrder` order the results",
    section=SECTION,
    level=Level.MUST,
    tags=("search", "sort"),
    needs=("filter", "sort"),
    broken_by=(Quirk.SORT_IGNORED,),
)
def search_sort(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.3: "sortBy: A string indicating the attribute whose value SHALL be used to order
    the returned responses. [...] sortOrder: A string indicating the order in which the "sortBy"
    parameter is applied."
    """
    tok = q.token(ctx, "rsort")
    q.own_set(ctx, tok, search="/Users/.search")
    b, a, c = (q.make_user(ctx, tok, label) for label in ("bravo", "alpha", "charlie"))
    response, body = _search(ctx, filter=f'userName sw "{tok}"', sortBy="userName", sortOrder="descending")
    q.only_own(ctx, tok, body)
    ctx.expect(
        q.ids(body) == [c["id"], b["id"], a["id"]],
        "sortBy userName descending did not order the results",
        expected=[c["userName"], b["userName"], a["userName"]],
        actual=q.names(body),
        response=response,
    )


@check(
    "rfc7644-3.4.3-search-root",
    title="`POST /.search` at the root searches across resource types",
    section=SECTION,
    level=Level.MAY,
    tags=("search",),
    needs=("filter",),
    broken_by=(Quirk.SEARCH_POST_UNSUPPORTED,),
)
def search_root(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.3: "Clients MAY execute queries [...] using the HTTP POST verb combined with the
    "/.search" path extension", at a resource type endpoint or the root (§3.4.2.1: "A query against a
    server root indicates that all resources within the server SHALL be included, subject to
    filtering."). Groups have no `userName`: "For filtered attributes that are not part of a
    particular resource type, the service provider SHALL treat the attribute as if there is no
    attribute value", so the filter finds the one user and no error.
    """
    tok = q.token(ctx, "rroot")
    a = q.make_user(ctx, tok, "alpha")
    q.decoy(ctx)
    flt = f'userName eq "{a["userName"]}"'
    response = _post(ctx, "/.search", filter=flt)
    body = q.list_body(ctx, response)
    q.only_own(ctx, tok, body, flt=flt, mine=[str(a["id"])])
    q.expect_ids(ctx, response, body, [a], "POST /.search userName eq <alpha>")
