"""Sorting (RFC 7644 §3.4.2.3): `sortBy` and `sortOrder`, by attribute type and case rules.

Sorting is OPTIONAL (checks need "sort"); the checks page only their own users (a `userName sw`
filter, so they also need "filter") and create them out of the expected order, so an ignored
`sortBy` cannot pass by luck. A target that ignores the filter skips them (`q.own_set`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scimitar.checks import _query as q
from scimitar.checks.context import CheckContext
from scimitar.checks.registry import Level, check
from scimitar.quirks import Quirk

SECTION = "RFC 7644 §3.4.2.3"


def _sorted(ctx: CheckContext, tok: str, **params: Any) -> tuple[Any, dict[str, Any]]:
    response = ctx.client.get("/Users", params={"filter": f'userName sw "{tok}"', **params})
    if response.status == 400 and q.scim_type(response) == "invalidFilter":
        ctx.skip("the target declines the `sw` filter these checks use to list only their own users")
    body = q.list_body(ctx, response)
    q.only_own(ctx, tok, body)
    return response, body


def _expect_order(
    ctx: CheckContext,
    response: Any,
    body: dict[str, Any],
    expected: list[dict[str, Any]],
    what: str,
    known: Sequence[dict[str, Any]] = (),
) -> None:
    """Expected and actual both as userNames: the ids of every user the check made (`known`), and
    the userNames the response itself carries, so no id is ever compared with a userName."""
    label = {str(u["id"]): str(u.get("userName")) for u in [*known, *expected]}
    got = q.ids(body)
    for rid, name in zip(got, q.names(body), strict=False):
        label.setdefault(rid, name)
    ctx.expect(
        got == [str(u["id"]) for u in expected],
        f"{what}: the resources are not in the requested order",
        expected=[label[str(u["id"])] for u in expected],
        actual=[label.get(i, i) for i in got],
        response=response,
    )


@check(
    "rfc7644-3.4.2.3-sort-ascending",
    title="`sortBy=userName&sortOrder=ascending` orders by userName",
    section=SECTION,
    level=Level.MUST,
    tags=("sort",),
    needs=("sort", "filter"),
    broken_by=(Quirk.SORT_IGNORED,),
)
def sort_ascending(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.3: "The "sortBy" parameter specifies the attribute whose value SHALL be used
    to order the returned responses." with sortOrder "ascending".
    """
    tok = q.token(ctx, "sasc")
    q.own_set(ctx, tok)
    c, a, b = (q.make_user(ctx, tok, label) for label in ("charlie", "alpha", "bravo"))
    response, body = _sorted(ctx, tok, sortBy="userName", sortOrder="ascending")
    _expect_order(ctx, response, body, [a, b, c], "sortBy=userName ascending")


@check(
    "rfc7644-3.4.2.3-sort-descending",
    title="`sortOrder=descending` reverses the order",
    section=SECTION,
    level=Level.MUST,
    tags=("sort",),
    needs=("sort", "filter"),
    broken_by=(Quirk.SORT_IGNORED, Quirk.SORT_ORDER_IGNORED),
)
def sort_descending(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.3: "sortOrder: The order in which the "sortBy" parameter is applied. Allowed
    values are "ascending" and "descending"."
    Binding: "The "sortBy" parameter specifies the attribute whose value SHALL be used to order the
    returned responses."
    """
    tok = q.token(ctx, "sdesc")
    q.own_set(ctx, tok)
    a, c, b = (q.make_user(ctx, tok, label) for label in ("alpha", "charlie", "bravo"))
    response, body = _sorted(ctx, tok, sortBy="userName", sortOrder="descending")
    _expect_order(ctx, response, body, [c, b, a], "sortBy=userName descending")


@check(
    "rfc7644-3.4.2.3-sort-default-ascending",
    title="`sortBy` without `sortOrder` sorts ascending",
    section=SECTION,
    level=Level.MUST,
    tags=("sort",),
    needs=("sort", "filter"),
    broken_by=(Quirk.SORT_IGNORED,),
)
def sort_default_ascending(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.3: "If a value for "sortBy" is provided and no "sortOrder" is specified,
    "sortOrder" SHALL default to ascending."
    """
    tok = q.token(ctx, "sdef")
    q.own_set(ctx, tok)
    b, c, a = (q.make_user(ctx, tok, label) for label in ("bravo", "charlie", "alpha"))
    response, body = _sorted(ctx, tok, sortBy="userName")
    _expect_order(ctx, response, body, [a, b, c], "sortBy=userName (no sortOrder)")


@check(
    "rfc7644-3.4.2.3-sort-case-insensitive",
    title="A caseExact-false attribute (`name.familyName`) sorts case-insensitively",
    section=SECTION,
    level=Level.MUST,
    tags=("sort",),
    needs=("sort", "filter"),
    broken_by=(Quirk.SORT_CASE_SENSITIVE, Quirk.SORT_IGNORED),
)
def sort_case_insensitive(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.3: ""sortOrder" MUST sort according to the attribute type; i.e., for
    case-insensitive attributes, sort the result using case-insensitive Unicode alphabetic sort
    order with no specific locale implied". It is also a sort on a sub-attribute ("If the attribute
    is complex, the attribute name must be a path to a sub-attribute in standard attribute
    notation"). A case-sensitive sort would put "Gamma" before "beta".
    """
    tok = q.token(ctx, "scase")
    q.own_set(ctx, tok)
    g = q.make_user(ctx, tok, "u1", name={"givenName": "Pat", "familyName": "Gamma"})
    b = q.make_user(ctx, tok, "u2", name={"givenName": "Pat", "familyName": "beta"})
    a = q.make_user(ctx, tok, "u3", name={"givenName": "Pat", "familyName": "Alpha"})
    response, body = _sorted(ctx, tok, sortBy="name.familyName", sortOrder="ascending")
    _expect_order(ctx, response, body, [a, b, g], "sortBy=name.familyName (Alpha, beta, Gamma)")


@check(
    "rfc7644-3.4.2.3-sort-multivalued-primary",
    title="`sortBy=emails.value` sorts by the primary email",
    section=SECTION,
    level=Level.SHOULD,
    tags=("sort",),
    needs=("sort", "filter"),
    broken_by=(Quirk.SORT_FIRST_VALUE, Quirk.SORT_IGNORED),
)
def sort_multivalued_primary(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.3: "if it's a multi-valued attribute, resources are sorted by the value of the
    primary attribute (see Section 2.4 of [RFC7643]), if any, or else the first value in the list,
    if any." Each user here lists a non-primary email first, in the opposite order. The sentence
    carries no RFC 2119 keyword (the "SHALL" of "sortBy" only says the attribute's value is used),
    so a provider that picks another value is reported at SHOULD.
    """
    tok = q.token(ctx, "smv")
    q.own_set(ctx, tok)

    def emails(label: str, first: str) -> list[dict[str, Any]]:
        return [
            {"value": f"{tok}{first}@example.org", "type": "home"},
            {"value": q.user_name(tok, label), "type": "work", "primary": True},
        ]

    second = q.make_user(ctx, tok, "p2", emails=emails("p2", "a-home"))
    first = q.make_user(ctx, tok, "p1", emails=emails("p1", "z-home"))
    response, body = _sorted(ctx, tok, sortBy="emails.value", sortOrder="ascending")
    _expect_order(ctx, response, body, [first, second], "sortBy=emails.value (by primary email)")


@check(
    "rfc7644-3.4.2.3-sort-missing-values",
    title="Resources without the `sortBy` value come last ascending, first descending",
    section=SECTION,
    level=Level.SHOULD,
    tags=("sort",),
    needs=("sort", "filter"),
    broken_by=(Quirk.SORT_IGNORED,),
)
def sort_missing_values(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.3: "For all attribute types, if there is no data for the specified "sortBy"
    value, they are sorted via the "sortOrder" parameter, i.e., they are ordered last if ascending
    and first if descending." The sentence carries no RFC 2119 keyword: reported at SHOULD.
    """
    ref = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    tok = q.token(ctx, "smiss")
    q.own_set(ctx, tok)
    none = q.make_user(ctx, tok, "u1", **ref.overrides(None))
    b = q.make_user(ctx, tok, "u2", **ref.overrides("Bravo title"))
    a = q.make_user(ctx, tok, "u3", **ref.overrides("Alpha title"))
    response, body = _sorted(ctx, tok, sortBy=ref.path, sortOrder="ascending")
    _expect_order(ctx, response, body, [a, b, none], f"sortBy={ref.path} ascending (no value last)")
    response, body = _sorted(ctx, tok, sortBy=ref.path, sortOrder="descending")
    _expect_order(ctx, response, body, [none, b, a], f"sortBy={ref.path} descending (no value first)")


@check(
    "rfc7644-3.4.2.3-sort-paged",
    title="Sorted pages follow one another: no gaps, no repeats",
    section="RFC 7644 §3.4.2.3, §3.4.2.4",
    level=Level.MUST,
    tags=("sort", "pagination"),
    needs=("sort", "filter"),
    broken_by=(Quirk.SORT_IGNORED, Quirk.STARTINDEX_IGNORED),
)
def sort_paged(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.3: "sortBy [...] SHALL be used to order the returned responses" and §3.4.2.4:
    "startIndex: The 1-based index of the first query result". With a sort on a unique attribute,
    the page starting at startIndex=k holds results k, k+1, ... of that one order.
    """
    tok = q.token(ctx, "spage")
    q.own_set(ctx, tok)
    labels = ("u4", "u1", "u5", "u3", "u2")
    users = {label: q.make_user(ctx, tok, label) for label in labels}
    expected = [users[label] for label in sorted(labels)]
    seen: list[str] = []
    for start in (1, 3, 5):
        response, body = _sorted(ctx, tok, sortBy="userName", startIndex=start, count=2)
        ctx.expect(
            q.total(body) == len(expected),
            f"startIndex={start}: totalResults is not the number of matches",
            expected=len(expected),
            actual=q.total(body),
            response=response,
        )
        want = expected[start - 1 : start + 1]
        got = q.ids(body)
        if len(got) < len(want):
            ctx.skip(f"the target returned {len(got)} of the 2 results asked for (RFC: it MAY return fewer)")
        _expect_order(ctx, response, body, want, f"sortBy=userName, startIndex={start}, count=2", expected)
        seen.extend(got)
    name_of = {str(u["id"]): str(u.get("userName")) for u in expected}
    ctx.expect(
        len(seen) == len(set(seen)) == len(expected),
        "the pages overlap or leave gaps",
        expected=[str(u.get("userName")) for u in expected],
        actual=[name_of.get(i, i) for i in seen],
    )
