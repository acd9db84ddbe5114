"""Filtering (RFC 7644 §3.4.2.2): the operators, logic, attribute paths and typed comparisons.

Every query is scoped to resources the check created (a unique `userName` prefix, or an `eq` on a
unique value), so a remote target's other data cannot change the answer. Filtering itself is
OPTIONAL (checks need "filter"), and RFC 7644 lets a provider decline an operator it does not
support with 400 `invalidFilter`: such a decline skips the check instead of failing it, except for
what the RFC makes mandatory (complex attribute filters, the 400 answers themselves).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from scimitar.checks import _query as q
from scimitar.checks._valuepath import value_path
from scimitar.checks.context import CheckContext
from scimitar.checks.registry import Level, check
from scimitar.factory import AttrRef, having
from scimitar.quirks import Quirk
from scimitar.schema import CORE_USER, ENTERPRISE_USER
from scimitar.target import ScimResponse

SECTION = "RFC 7644 §3.4.2.2"


def _filtered(
    ctx: CheckContext, flt: str, endpoint: str = "/Users", *, declinable: bool = True
) -> tuple[ScimResponse, dict[str, Any]]:
    """GET `endpoint?filter=flt` and return the ListResponse; a declined operator skips."""
    response = ctx.client.get(endpoint, params={"filter": flt})
    if declinable and response.status == 400 and q.scim_type(response) == "invalidFilter":
        ctx.skip(
            f"the target declines the filter {flt!r} with 400 invalidFilter; RFC 7644 §3.4.2.2 lets a "
            "provider decline an operation it does not support"
        )
    return response, q.list_body(ctx, response)


def _scoped(tok: str, expr: str) -> str:
    return f'userName sw "{tok}" and ({expr})'


def _expect_invalid_filter(ctx: CheckContext, flt: str, why: str, *, keyword_required: bool = True) -> None:
    """400, a SCIM Error and scimType invalidFilter; without `keyword_required` a missing scimType
    passes (RFC 7644 §3.12: "scimType [...] OPTIONAL") and only a wrong one fails."""
    response = ctx.client.get("/Users", params={"filter": flt})
    ctx.expect_status(response, 400, message=f"the filter {flt!r} ({why}) did not answer 400")
    ctx.validate_error(response.json(), response=response)
    if not keyword_required and q.scim_type(response) is None:
        return
    ctx.expect(
        q.scim_type(response) == "invalidFilter",
        f'the 400 for the filter {flt!r} ({why}) lacks scimType "invalidFilter"',
        expected="invalidFilter",
        actual=q.scim_type(response),
        response=response,
    )


# -- attribute operators ---------------------------------------------------------------------------


@check(
    "rfc7644-3.4.2.2-filter-eq",
    title="`eq` returns exactly the resource whose value is equal",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_eq(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "When specified, only those resources matching the filter expression
    SHALL be returned." and "eq: equal. The attribute and operator values must be identical for a
    match."
    """
    tok = q.token(ctx, "feq")
    a = q.make_user(ctx, tok, "alpha")
    b = q.make_user(ctx, tok, "bravo")
    response, body = _filtered(ctx, f'userName eq "{a["userName"]}"')
    q.expect_ids(ctx, response, body, [a], "userName eq", among=[a, b])


@check(
    "rfc7644-3.4.2.2-filter-eq-username-case-insensitive",
    title="`userName` (caseExact false) matches `eq` regardless of case",
    section=SECTION,
    level=Level.MUST,
    tags=("filter", "uniqueness"),
    needs=("filter",),
    broken_by=(Quirk.FILTER_CASE_SENSITIVE, Quirk.USERNAME_CASE_SENSITIVE, Quirk.FILTER_IGNORED),
)
def filter_eq_username_case_insensitive(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "When comparing attributes of type String, the case sensitivity for String
    type attributes SHALL be determined by the attribute's "caseExact" characteristic"; RFC 7643
    §4.1.1 defines `userName` with "caseExact" false ("This attribute ... is case insensitive").
    Okta's spec test looks a user up by its upper-cased email this way.
    """
    tok = q.token(ctx, "fci")
    a = q.make_user(ctx, tok, "mixed")
    # Each check runs on a server holding only its own resources: a decoy that must not match keeps
    # a server that ignores the filter from passing.
    decoy = q.make_user(ctx, tok, "decoy")
    response, body = _filtered(ctx, f'userName eq "{a["userName"].upper()}"')
    q.expect_ids(ctx, response, body, [a], "userName eq <upper-cased userName>", among=[a, decoy])


@check(
    "rfc7644-3.4.2.2-filter-externalid-case-exact",
    title="`externalId` (caseExact true) matches `eq` only with the exact case",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORES_CASE_EXACT, Quirk.FILTER_IGNORED),
)
def filter_externalid_case_exact(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "the case sensitivity for String type attributes SHALL be determined by
    the attribute's "caseExact" characteristic"; RFC 7643 §3.1 gives `externalId` "caseExact" as
    "true", so a value differing only in case is a different value.
    """
    tok = q.token(ctx, "fxe")
    ext = f"{tok}ExtId-MiXeD"
    a = q.make_user(ctx, tok, "alpha", externalId=ext)
    response, body = _filtered(ctx, f'externalId eq "{ext}"')
    q.expect_ids(ctx, response, body, [a], "externalId eq <exact value>")
    response, body = _filtered(ctx, f'externalId eq "{ext.swapcase()}"')
    q.expect_ids(ctx, response, body, [], "externalId eq <value in another case>", among=[a])


@check(
    "rfc7644-3.4.2.2-filter-id-case-exact",
    title="`id` (caseExact true) does not match `eq` with another case",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORES_CASE_EXACT,),
)
def filter_id_case_exact(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "the case sensitivity for String type attributes SHALL be determined by
    the attribute's "caseExact" characteristic"; RFC 7643 §3.1 says of `id`: "The attribute
    characteristics are "caseExact" as "true"".
    """
    tok = q.token(ctx, "fid")
    a = q.make_user(ctx, tok, "alpha")
    rid = str(a["id"])
    if rid.swapcase() == rid:
        ctx.skip(f"the id {rid!r} has no letters, so no other case of it exists")
    response, body = _filtered(ctx, f'id eq "{rid}"')
    q.expect_ids(ctx, response, body, [a], "id eq <id>")
    response, body = _filtered(ctx, f'id eq "{rid.swapcase()}"')
    q.expect_ids(ctx, response, body, [], "id eq <id in another case>", among=[a])


def _text(ctx: CheckContext, *, case_exact: bool | None = None) -> AttrRef:
    """The string attribute a check filters on (`displayName` on the RFC schema), or skip."""
    what = "writable string attribute" + ("" if case_exact is None else f" with caseExact {str(case_exact).lower()}")
    return ctx.need(ctx.data.string_to_write(case_exact=case_exact), what)


def _three(ctx: CheckContext, tag: str, **extra: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Three users alpha, bravo, charlie under a fresh token (`extra[label]` overrides fields)."""
    tok = q.token(ctx, tag)
    users = q.make_users(ctx, tok, ("alpha", "bravo", "charlie"), extra)
    return tok, users


@check(
    "rfc7644-3.4.2.2-filter-ne",
    title="`ne` returns the resources whose value differs",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_ne(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "ne: not equal. The attribute and operator values are not identical."
    and "only those resources matching the filter expression SHALL be returned".
    """
    tok, (a, b, c) = _three(ctx, "fne")
    response, body = _filtered(ctx, _scoped(tok, f'userName ne "{a["userName"]}"'))
    q.expect_ids(ctx, response, body, [b, c], "userName ne <alpha>", among=[a, b, c])


@check(
    "rfc7644-3.4.2.2-filter-co",
    title="`co` returns the resources whose value contains the substring",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_co(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "co: contains. The entire operator value must be a substring of the
    attribute value for a match."
    Binding: "When specified, only those resources matching the filter expression SHALL be returned"
    (RFC 7644 §3.4.2.2).
    """
    tok, (a, b, c) = _three(ctx, "fco")
    response, body = _filtered(ctx, _scoped(tok, 'userName co "rav"'))
    q.expect_ids(ctx, response, body, [b], 'userName co "rav"', among=[a, b, c])


@check(
    "rfc7644-3.4.2.2-filter-co-case-insensitive",
    title="`co` on a caseExact-false attribute ignores case",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_CASE_SENSITIVE,),
)
def filter_co_case_insensitive(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "When comparing attributes of type String, the case sensitivity for String
    type attributes SHALL be determined by the attribute's "caseExact" characteristic";
    `displayName` has "caseExact" false (RFC 7643 §8.7.1).
    """
    ref = _text(ctx, case_exact=False)
    tok, (a, b, c) = _three(
        ctx, "fcc", alpha=ref.overrides("Mixed Case Person"), bravo=ref.overrides("Other Person")
    )
    response, body = _filtered(ctx, _scoped(tok, f'{ref.path} co "mIXED cASE"'))
    q.expect_ids(ctx, response, body, [a], f'{ref.path} co "mIXED cASE"', among=[a, b, c])


@check(
    "rfc7644-3.4.2.2-filter-sw",
    title="`sw` returns the resources whose value starts with the prefix",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_sw(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "sw: starts with. The entire operator value must be a substring of the
    attribute value, starting at the beginning of the attribute value."
    Binding: "When specified, only those resources matching the filter expression SHALL be returned"
    (RFC 7644 §3.4.2.2).
    """
    tok, (a, b, c) = _three(ctx, "fsw")
    response, body = _filtered(ctx, f'userName sw "{tok}br"')
    q.expect_ids(ctx, response, body, [b], "userName sw <prefix of bravo>", among=[a, b, c])


@check(
    "rfc7644-3.4.2.2-filter-ew",
    title="`ew` returns the resources whose value ends with the suffix",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_ew(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "ew: ends with. The entire operator value must be a substring of the
    attribute value, matching at the end of the attribute value."
    Binding: "When specified, only those resources matching the filter expression SHALL be returned"
    (RFC 7644 §3.4.2.2).
    """
    tok, (a, b, c) = _three(ctx, "few")
    response, body = _filtered(ctx, _scoped(tok, 'userName ew "lie@example.com"'))
    q.expect_ids(ctx, response, body, [c], 'userName ew "lie@example.com"', among=[a, b, c])


@check(
    "rfc7644-3.4.2.2-filter-pr",
    title="`pr` returns the resources that have a value",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_pr(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "pr: present (has value). If the attribute has a non-empty value, or if it
    contains a non-empty node for complex attributes, there is a match."
    Binding: "When specified, only those resources matching the filter expression SHALL be returned"
    (RFC 7644 §3.4.2.2).
    """
    ref = _text(ctx)
    tok, (a, b, c) = _three(
        ctx, "fpr", alpha=ref.overrides("Engineer"), bravo=ref.overrides(None), charlie=ref.overrides(None)
    )
    response, body = _filtered(ctx, _scoped(tok, f"{ref.path} pr"))
    q.expect_ids(ctx, response, body, [a], f"{ref.path} pr", among=[a, b, c])


@check(
    "rfc7644-3.4.2.2-filter-ordering-string",
    title="`gt`, `ge`, `lt`, `le` compare strings lexicographically",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_ordering_string(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "gt: greater than. If the attribute value is greater than the operator
    value, there is a match. The actual comparison is dependent on the attribute type. For string
    attribute types, this is a lexicographical comparison"; ge, lt and le likewise.
    Binding: "When specified, only those resources matching the filter expression SHALL be returned"
    (RFC 7644 §3.4.2.2).
    """
    tok, (a, b, c) = _three(ctx, "fgt")
    pivot = b["userName"]
    for op, expected in (("gt", [c]), ("ge", [b, c]), ("lt", [a]), ("le", [a, b])):
        response, body = _filtered(ctx, _scoped(tok, f'userName {op} "{pivot}"'))
        q.expect_ids(ctx, response, body, expected, f"userName {op} <bravo>", among=[a, b, c])


# -- logical operators and grouping ----------------------------------------------------------------


@check(
    "rfc7644-3.4.2.2-filter-or",
    title="`or` matches when either expression matches",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_or(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2 (Table 4): "or: Logical "or". The filter is a match if either expression
    evaluates to true."
    Binding: "When specified, only those resources matching the filter expression SHALL be returned"
    (RFC 7644 §3.4.2.2).
    """
    _, (a, b, c) = _three(ctx, "for")
    flt = f'userName eq "{a["userName"]}" or userName eq "{c["userName"]}"'
    response, body = _filtered(ctx, flt)
    q.expect_ids(ctx, response, body, [a, c], "userName eq <alpha> or userName eq <charlie>", among=[a, b, c])


@check(
    "rfc7644-3.4.2.2-filter-not",
    title="`not (...)` matches when the expression does not",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_not(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2 (Table 4): "not: "Not" function. The filter is a match if the expression
    evaluates to false."
    Binding: "When specified, only those resources matching the filter expression SHALL be returned"
    (RFC 7644 §3.4.2.2).
    """
    tok, (a, b, c) = _three(ctx, "fnot")
    response, body = _filtered(ctx, _scoped(tok, f'not (userName eq "{a["userName"]}")'))
    q.expect_ids(ctx, response, body, [b, c], "not (userName eq <alpha>)", among=[a, b, c])


@check(
    "rfc7644-3.4.2.2-filter-precedence",
    title="`and` binds tighter than `or`, and parentheses group",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_precedence(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "Filters MUST be evaluated using the following order of operations, in
    order of precedence: 1. Grouping operators 2. Logical operators - where "not" takes precedence
    over "and", which takes precedence over "or" 3. Attribute operators".
    """
    ref = _text(ctx)
    _, (a, b, c) = _three(ctx, "fprec", alpha=ref.overrides("Upper"), bravo=ref.overrides("Target"))
    ua, ub = a["userName"], b["userName"]
    # a or (b and false) is {a}; read left to right, (a or b) and false would be nothing
    flt = f'userName eq "{ua}" or userName eq "{ub}" and {ref.path} eq "no-such-title"'
    response, body = _filtered(ctx, flt)
    q.expect_ids(ctx, response, body, [a], "A or B and <false> (and before or)", among=[a, b, c])
    # (a or b) and attr=Target is {b}; without the grouping, a or (b and Target) would be {a, b}
    flt = f'(userName eq "{ua}" or userName eq "{ub}") and {ref.path} eq "Target"'
    response, body = _filtered(ctx, flt)
    q.expect_ids(ctx, response, body, [b], f"(A or B) and <{ref.path} of B> (grouping)", among=[a, b, c])


# -- attribute paths -------------------------------------------------------------------------------


@check(
    "rfc7644-3.4.2.2-filter-complex-value-path",
    title='Complex attribute filters (`emails[type eq "home" and ...]` or `emails[value sw ... and ...]`) '
    "apply to one value",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_NO_COMPLEX, Quirk.FILTER_IGNORED),
)
def filter_complex_value_path(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2 (Table 5): "[ ] Complex attribute filter grouping. Service providers MUST
    support complex filters where expressions MUST be applied to the same value of a parent
    attribute specified immediately before the left square bracket ("[")."
    Each user has two values; alpha's meet one expression each, bravo's second meets both. The
    first expression is on `type` where the target declares it (`type eq "home"`), else on
    `value` (`value sw "<token>home-"`): any sub-attribute may stand in a value filter.
    """
    vp = value_path(ctx)
    tok = q.token(ctx, "fcx")

    def values(label: str, domain: str) -> list[dict[str, Any]]:
        first, second = vp.items(ctx, 2)
        return [{**first, "value": q.user_name(tok, label)}, {**second, "value": f"{tok}home-{label}@{domain}"}]

    values_a, values_b = values("alpha", "example.org"), values("bravo", "example.com")
    a = q.make_user(ctx, tok, "alpha", **having(vp.name, values_a))
    b = q.make_user(ctx, tok, "bravo", **having(vp.name, values_b))
    first = f'type eq "{values_b[1]["type"]}"' if vp.by == "type" else f'value sw "{tok}home-"'
    expr = f'{vp.name}[{first} and value ew "@example.com"]'
    response, body = _filtered(ctx, _scoped(tok, expr), declinable=False)
    q.expect_ids(ctx, response, body, [b], expr, among=[a, b])


@check(
    "rfc7644-3.4.2.2-filter-sub-attribute",
    title="A sub-attribute path (`name.familyName`) filters on the sub-attribute",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_sub_attribute(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "For complex attributes, a fully qualified sub-attribute MUST be specified
    using standard attribute notation (Section 3.10). [...] To filter by first given name, the
    parameter value is "name.givenName"."
    """
    tok = q.token(ctx, "fsub")
    family = f"Fam{tok.replace('-', '')}"
    a = q.make_user(ctx, tok, "alpha", name={"givenName": "Ann", "familyName": family})
    b = q.make_user(ctx, tok, "bravo", name={"givenName": "Ann", "familyName": f"{family}x"})
    response, body = _filtered(ctx, f'name.familyName eq "{family}"')
    q.expect_ids(ctx, response, body, [a], "name.familyName eq <alpha's>", among=[a, b])


@check(
    "rfc7644-3.4.2.2-filter-multivalued-any",
    title="A filter on a multi-valued attribute matches when any value matches",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_multivalued_any(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "If the specified attribute in a filter expression is a multi-valued
    attribute, the filter matches if any of the values of the specified attribute match the
    specified criterion; e.g., if a User has multiple "emails" values, only one has to match for
    the entire User to match."
    Binding: "When specified, only those resources matching the filter expression SHALL be returned"
    (RFC 7644 §3.4.2.2).
    """
    tok = q.token(ctx, "fmv")
    second = f"{tok}second@example.net"
    emails: list[dict[str, Any]] = [
        {"value": q.user_name(tok, "alpha"), "type": "work", "primary": True},
        {"value": second, "type": "other"},
    ]
    a = q.make_user(ctx, tok, "alpha", emails=ctx.data.values("User", "emails", emails))
    b = q.make_user(ctx, tok, "bravo")
    response, body = _filtered(ctx, f'emails.value eq "{second}"')
    q.expect_ids(ctx, response, body, [a], "emails.value eq <alpha's second email>", among=[a, b])


@check(
    "rfc7644-3.4.2.2-filter-urn-qualified",
    title="A URN-qualified attribute path filters like the short name",
    section="RFC 7644 §3.10",
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_urn_qualified(ctx: CheckContext) -> None:
    """RFC 7644 §3.10: "attributes are uniquely identified by prefixing the attribute name with its
    schema URN separated by a colon (":") character; e.g., the core User resource attribute
    'userName' is identified as "urn:ietf:params:scim:schemas:core:2.0:User:userName"", and a
    filter names attributes in this notation (§3.4.2.2: "attrPath = [URI ":"] ATTRNAME *1subAttr").
    Binding: "When specified, only those resources matching the filter expression SHALL be returned"
    (RFC 7644 §3.4.2.2).
    """
    tok = q.token(ctx, "furn")
    a = q.make_user(ctx, tok, "alpha")
    b = q.make_user(ctx, tok, "bravo")
    flt = f'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "{a["userName"]}"'
    response, body = _filtered(ctx, flt)
    q.expect_ids(ctx, response, body, [a], "urn:...:core:2.0:User:userName eq <alpha>", among=[a, b])


@check(
    "rfc7644-3.4.2.2-filter-enterprise-urn",
    title="An extension attribute filters by its URN-qualified path",
    section="RFC 7644 §3.10",
    level=Level.MUST,
    tags=("filter",),
    needs=("filter", "enterprise"),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_enterprise_urn(ctx: CheckContext) -> None:
    """RFC 7644 §3.10: "the attribute 'age' defined in "urn:ietf:params:scim:schemas:exampleCo:2.0:hr"
    is uniquely identified as "urn:ietf:params:scim:schemas:exampleCo:2.0:hr:age""; so
    `urn:...:enterprise:2.0:User:employeeNumber` names the enterprise employee number in a filter.
    Binding: "When specified, only those resources matching the filter expression SHALL be returned"
    (RFC 7644 §3.4.2.2).
    """
    tok = q.token(ctx, "fent")
    number = f"{tok}E1"
    extension = {ENTERPRISE_USER: {"employeeNumber": number}}
    a = q.make_user(ctx, tok, "alpha", schemas=[CORE_USER, ENTERPRISE_USER], **extension)
    if q.get_ci(q.get_ci(a, ENTERPRISE_USER), "employeeNumber") != number:
        ctx.skip("the target did not keep the enterprise employeeNumber sent on create, so there is "
                 "none to filter on (rfc7643-3.3-enterprise-round-trip judges that)")
    b = q.make_user(ctx, tok, "bravo")
    response, body = _filtered(ctx, f'{ENTERPRISE_USER}:employeeNumber eq "{number}"')
    q.expect_ids(ctx, response, body, [a], "enterprise employeeNumber eq <alpha's>", among=[a, b])


@check(
    "rfc7644-3.4.2.2-filter-case-insensitive-names",
    title="Attribute names and operators in a filter are case-insensitive",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_case_insensitive_names(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "Attribute names and attribute operators used in filters are case
    insensitive. For example, the following two expressions will evaluate to the same logical
    value: filter=userName Eq "john" filter=Username eq "john""
    Binding: "When specified, only those resources matching the filter expression SHALL be returned"
    (RFC 7644 §3.4.2.2).
    """
    tok = q.token(ctx, "fnam")
    a = q.make_user(ctx, tok, "alpha")
    b = q.make_user(ctx, tok, "bravo")
    for flt in (f'USERNAME EQ "{a["userName"]}"', f'userName Eq "{a["userName"]}"'):
        response, body = _filtered(ctx, flt, declinable=False)
        q.expect_ids(ctx, response, body, [a], flt.split('"')[0].strip(), among=[a, b])


# -- typed comparisons -----------------------------------------------------------------------------


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _render(instant: datetime, hours: int) -> str:
    """`instant` written at the offset +hours (no fraction): same instant, other text."""
    return instant.astimezone(timezone(timedelta(hours=hours))).replace(microsecond=0).isoformat()


@check(
    "rfc7644-3.4.2.2-filter-datetime-chronological",
    title="dateTime filters (`meta.created`, `meta.lastModified`) compare instants, not strings",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_STRING_DATES,),
)
def filter_datetime_chronological(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2 (gt): "The actual comparison is dependent on the attribute type. [...] for
    DateTime types, it is a chronological comparison." Timestamps written with another offset
    (`+01:00`, `-01:00`) denote the same instants, so a text comparison gives the wrong answer.
    Binding: "When specified, only those resources matching the filter expression SHALL be returned"
    (RFC 7644 §3.4.2.2).
    """
    tok = q.token(ctx, "fdt")
    a = q.make_user(ctx, tok, "alpha")
    meta = q.get_ci(a, "meta")
    created = _instant(q.get_ci(meta, "created"))
    modified = _instant(q.get_ci(meta, "lastModified"))
    if created is None or modified is None:
        ctx.skip("the created user carries no parsable meta.created / meta.lastModified to compare with")
    rid = a["id"]
    cases = (
        # (filter, matches?) -- each literal is written so that a string comparison disagrees
        (f'meta.created gt "{_render(created - timedelta(seconds=2), 1)}"', True),
        (f'meta.created gt "{_render(created + timedelta(seconds=2), -1)}"', False),
        (f'meta.lastModified lt "{_render(modified + timedelta(seconds=2), -1)}"', True),
        (f'meta.lastModified lt "{_render(modified - timedelta(seconds=2), 1)}"', False),
    )
    for expr, matches in cases:
        response, body = _filtered(ctx, f'id eq "{rid}" and {expr}')
        q.expect_ids(ctx, response, body, [a] if matches else [], expr, among=[a])


@check(
    "rfc7644-3.4.2.2-filter-boolean-eq",
    title="`active eq true` / `active eq false` select by the boolean",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_boolean_eq(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "eq: equal. The attribute and operator values must be identical for a
    match", with boolean literals `true` / `false` (Figure 1: "compValue = false / null / true /
    number / string").
    Binding: "When specified, only those resources matching the filter expression SHALL be returned"
    (RFC 7644 §3.4.2.2).
    """
    tok, (a, b, c) = _three(ctx, "fbool", bravo={"active": False})
    response, body = _filtered(ctx, _scoped(tok, "active eq false"))
    q.expect_ids(ctx, response, body, [b], "active eq false", among=[a, b, c])
    response, body = _filtered(ctx, _scoped(tok, "active eq true"))
    q.expect_ids(ctx, response, body, [a, c], "active eq true", among=[a, b, c])


@check(
    "rfc7644-3.4.2.2-filter-gt-boolean-invalid",
    title='`gt` on a boolean answers 400 "invalidFilter"',
    section=SECTION,
    level=Level.MUST,
    tags=("filter", "errors"),
    needs=("filter",),
    broken_by=(Quirk.UNKNOWN_FILTER_ATTR_500, Quirk.ERROR_NO_SCIMTYPE, Quirk.SCIMTYPE_UNKNOWN),
)
def filter_gt_boolean_invalid(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2 (gt, ge, lt, le): "Boolean and Binary attributes SHALL cause a failed
    response (HTTP status code 400) with "scimType" of "invalidFilter"."
    """
    _expect_invalid_filter(ctx, "active gt true", "gt on the boolean `active`")


# -- errors ----------------------------------------------------------------------------------------


@check(
    "rfc7644-3.4.2.2-filter-invalid-syntax",
    title='A malformed filter answers 400 "invalidFilter"',
    section="RFC 7644 §3.12",
    level=Level.SHOULD,
    tags=("filter", "errors"),
    needs=("filter",),
    broken_by=(Quirk.UNKNOWN_FILTER_ATTR_500, Quirk.SCIMTYPE_UNKNOWN),
)
def filter_invalid_syntax(ctx: CheckContext) -> None:
    """RFC 7644 §3.12 (Table 9): "invalidFilter: The specified filter syntax was invalid (does not
    comply with Figure 1) [...]" for GET queries, and "Implementers SHOULD handle the identified
    HTTP status codes as described below." The MUST of §3.4.2.2 ("Providers MUST decline to filter
    results if the specified filter operation is not recognized") covers unknown operators
    (rfc7644-3.4.2.2-filter-unknown-operator), not a filter that fails to parse, so this is a SHOULD,
    and as "scimType [...] OPTIONAL" (§3.12) a 400 Error without a keyword passes; a wrong one does not.
    """
    for flt, why in (
        ("userName eq", "a comparison without a value"),
        ('userName eq "x" and', "a dangling 'and'"),
        ('(userName eq "x"', "an unclosed parenthesis"),
    ):
        _expect_invalid_filter(ctx, flt, why, keyword_required=False)


@check(
    "rfc7644-3.4.2.2-filter-unknown-operator",
    title='An unrecognised operator answers 400 "invalidFilter"',
    section=SECTION,
    level=Level.MUST,
    tags=("filter", "errors"),
    needs=("filter",),
    broken_by=(Quirk.UNKNOWN_FILTER_ATTR_500, Quirk.ERROR_NO_SCIMTYPE, Quirk.SCIMTYPE_UNKNOWN),
)
def filter_unknown_operator(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "Providers MUST decline to filter results if the specified filter
    operation is not recognized and return an HTTP 400 error with a "scimType" error of
    "invalidFilter" [...] For example, if a client specified an unsupported operator named 'regex',
    the service provider should specify an error response description identifying the client error".
    """
    _expect_invalid_filter(ctx, 'userName regex "x"', "the unknown operator 'regex'")


@check(
    "rfc7644-3.4.2.2-filter-unknown-attribute",
    title="A filter on an undefined attribute matches nothing or answers 400",
    section="RFC 7644 §3.4.2.1",
    level=Level.MUST,
    tags=("filter", "errors"),
    needs=("filter",),
    broken_by=(Quirk.UNKNOWN_FILTER_ATTR_500, Quirk.FILTER_IGNORED),
)
def filter_unknown_attribute(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.1: "For filtered attributes that are not part of a particular resource type,
    the service provider SHALL treat the attribute as if there is no attribute value. For example, a
    presence or equality filter for an undefined attribute evaluates to false." Table 9 (§3.12) also
    allows 400 "invalidFilter" when "the specified attribute and filter comparison combination is
    not supported". Either answer conforms; a 5xx, or a match, does not. The scimType of a 400 is
    not judged here (Table 9 carries no keyword; rfc7644-3.12-invalid-filter-400 holds it).
    """
    tok = q.token(ctx, "funk")
    a = q.make_user(ctx, tok, "alpha")
    flt = _scoped(tok, 'scimitarNoSuchAttribute eq "x" or scimitarNoSuchAttribute pr')
    response = ctx.client.get("/Users", params={"filter": flt})
    if response.status == 400:
        ctx.validate_error(response.json(), response=response)
        return
    ctx.expect(
        response.status == 200,
        "a filter on an undefined attribute answered neither 200 (no match) nor 400",
        expected="200 with no match, or 400 (invalidFilter)",
        actual=response.status,
        response=response,
    )
    body = q.list_body(ctx, response)
    q.expect_ids(ctx, response, body, [], "eq / pr on an undefined attribute", among=[a])


@check(
    "rfc7644-3.4.2-filter-no-match-200",
    title="A filter matching nothing answers 200 with totalResults 0",
    section="RFC 7644 §3.4.2",
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_EMPTY_404, Quirk.FILTER_IGNORED),
)
def filter_no_match_200(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2: "A query that does not return any matches SHALL return success (HTTP status
    200) with "totalResults" set to a value of 0." Okta and Entra look users up this way before
    creating them.
    """
    tok = q.token(ctx, "fnone")
    q.make_user(ctx, tok, "decoy")  # a user the query must not return (the server may hold no other)
    response = ctx.client.get("/Users", params={"filter": f'userName eq "{tok}nobody@example.com"'})
    body = q.list_body(ctx, response)
    ctx.expect(
        q.total(body) == 0,
        "totalResults is not 0 for a query without matches",
        expected=0,
        actual=q.total(body),
        response=response,
    )
    ctx.expect(not q.resources(body), "a query without matches returned resources", response=response)


# -- groups ----------------------------------------------------------------------------------------


@check(
    "rfc7644-3.4.2.2-filter-group-displayname",
    title="Groups filter by `displayName eq`",
    section=SECTION,
    level=Level.MUST,
    tags=("filter", "groups"),
    needs=("filter", "groups"),
    broken_by=(Quirk.FILTER_IGNORED,),
)
def filter_group_displayname(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "When specified, only those resources matching the filter expression SHALL
    be returned." Okta and Entra find a pushed group with `displayName eq "..."`.
    """
    g1 = ctx.create_group()
    g2 = ctx.create_group()
    response, body = _filtered(ctx, f'displayName eq "{g1["displayName"]}"', "/Groups")
    q.expect_ids(ctx, response, body, [g1], "Groups displayName eq", among=[g1, g2])


@check(
    "rfc7644-3.4.2.2-filter-group-members-value",
    title="Groups filter by member (`members.value eq`, `members[value eq]`)",
    section=SECTION,
    level=Level.MUST,
    tags=("filter", "groups"),
    needs=("filter", "groups"),
    broken_by=(Quirk.FILTER_IGNORED, Quirk.FILTER_NO_COMPLEX),
)
def filter_group_members_value(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "If the specified attribute in a filter expression is a multi-valued
    attribute, the filter matches if any of the values of the specified attribute match the
    specified criterion" and "Service providers MUST support complex filters" (Table 5).
    """
    tok = q.token(ctx, "fmem")
    u = q.make_user(ctx, tok, "member")
    g1 = ctx.create_group(members=[{"value": u["id"]}])
    g2 = ctx.create_group()
    response, body = _filtered(ctx, f'members.value eq "{u["id"]}"', "/Groups")
    q.expect_ids(ctx, response, body, [g1], "members.value eq <user id>", among=[g1, g2])
    response, body = _filtered(ctx, f'members[value eq "{u["id"]}"]', "/Groups", declinable=False)
    q.expect_ids(ctx, response, body, [g1], "members[value eq <user id>]", among=[g1, g2])


# -- found by mutation sampling of the reference server ------------------------------------------------


@check(
    "rfc7644-3.4.2.2-filter-ne-case-insensitive",
    title="`ne` on a caseExact-false attribute ignores case",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_CASE_SENSITIVE,),
)
def filter_ne_case_insensitive(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "When comparing attributes of type String, the case sensitivity for String
    type attributes SHALL be determined by the attribute's "caseExact" characteristic";
    `displayName` has "caseExact" false (RFC 7643 §8.7.1), so `ne` with the stored value in another
    case excludes it.
    """
    ref = _text(ctx, case_exact=False)
    tok, (a, b, c) = _three(
        ctx,
        "fnci",
        alpha=ref.overrides("Mixed Case Person"),
        bravo=ref.overrides("Other Person"),
        charlie=ref.overrides("Third Person"),  # every value assigned: `ne` on unassigned is debatable
    )
    response, body = _filtered(ctx, _scoped(tok, f'{ref.path} ne "mIXED cASE pERSON"'))
    q.expect_ids(ctx, response, body, [b, c], f'{ref.path} ne "mIXED cASE pERSON"', among=[a, b, c])


@check(
    "rfc7644-3.4.2.2-filter-ew-case-insensitive",
    title="`ew` on a caseExact-false attribute ignores case",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_CASE_SENSITIVE,),
)
def filter_ew_case_insensitive(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "When comparing attributes of type String, the case sensitivity for String
    type attributes SHALL be determined by the attribute's "caseExact" characteristic";
    `displayName` has "caseExact" false (RFC 7643 §8.7.1).
    """
    ref = _text(ctx, case_exact=False)
    tok, (a, b, c) = _three(
        ctx, "feci", alpha=ref.overrides("Mixed Case Person"), bravo=ref.overrides("Mixed Case People")
    )
    response, body = _filtered(ctx, _scoped(tok, f'{ref.path} ew "cASE pERSON"'))
    q.expect_ids(ctx, response, body, [a], f'{ref.path} ew "cASE pERSON"', among=[a, b, c])


@check(
    "rfc7644-3.4.2.2-filter-sw-case-exact",
    title="`sw` on `externalId` (caseExact true) respects case",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_IGNORES_CASE_EXACT,),
)
def filter_sw_case_exact(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "the case sensitivity for String type attributes SHALL be determined by
    the attribute's "caseExact" characteristic"; RFC 7643 §3.1 gives `externalId` "caseExact" as
    "true". Unlike `eq`, `sw` cannot be answered from an exact-match index, so the comparison itself
    must respect case.
    """
    tok = q.token(ctx, "fsx")
    stem = f"{tok}MiXeD"
    a = q.make_user(ctx, tok, "alpha", externalId=f"{stem}-1")
    b = q.make_user(ctx, tok, "bravo", externalId=f"{stem.lower()}-2")
    response, body = _filtered(ctx, _scoped(tok, f'externalId sw "{stem}"'))
    q.expect_ids(ctx, response, body, [a], "externalId sw <exact-case prefix>", among=[a, b])


@check(
    "rfc7644-3.4.2.2-filter-boolean-ne",
    title="`ne` on a boolean (`active ne true`) returns the resources whose value differs",
    section=SECTION,
    level=Level.MUST,
    tags=("filter",),
    needs=("filter",),
    broken_by=(Quirk.FILTER_BOOLEAN_NE_AS_EQ,),
)
def filter_boolean_ne(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "ne: not equal. The attribute and operator values are not identical." and
    "When specified, only those resources matching the filter expression SHALL be returned."
    """
    tok = q.token(ctx, "fbne")
    a = q.make_user(ctx, tok, "alpha", active=True)
    b = q.make_user(ctx, tok, "bravo", active=False)
    response, body = _filtered(ctx, _scoped(tok, "active ne true"))
    q.expect_ids(ctx, response, body, [b], "active ne true", among=[a, b])


@check(
    "rfc7644-3.4.2.2-filter-user-groups-value",
    title="Users filter by group (`groups.value eq`) finds the group's members",
    section=SECTION,
    level=Level.MUST,
    tags=("filter", "groups"),
    needs=("filter", "groups"),
    broken_by=(Quirk.FILTER_GROUPS_NOT_COMPUTED,),
)
def filter_user_groups_value(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.2: "If the specified attribute in a filter expression is a multi-valued
    attribute, the filter matches if any of the values of the specified attribute match the
    specified criterion" and "only those resources matching the filter expression SHALL be
    returned". `User.groups` is readOnly and derived from Group `members` (RFC 7643 §4.1.2), but it
    is still an attribute of the User: a provider may decline the filter (400 invalidFilter, which
    skips), not answer it wrongly. Maintaining `User.groups` at all is optional (it is not
    "required", and no keyword makes a provider compute it: rfc7643-4.1.2-user-groups-reflect-membership
    is a MAY), so where the member's own representation lists no groups the check skips: a filter
    over values the provider does not keep says nothing.
    """
    ctx.need_attr("User", "groups")
    tok = q.token(ctx, "fugv")
    a = q.make_user(ctx, tok, "alpha")
    b = q.make_user(ctx, tok, "bravo")
    group = ctx.create_group(members=[{"value": a["id"]}])
    with ctx.setup():
        read = ctx.client.get(q.user_path(a))
        ctx.expect_status(read, 200, message=f"setup failed: GET of the member answered {read.status}")
    listed = q.get_ci(read.json(), "groups")
    values = [q.get_ci(g, "value") for g in listed] if isinstance(listed, list) else []
    if group["id"] not in values:
        ctx.skip(
            "the target does not maintain User.groups (the member's representation does not list the "
            "group), which RFC 7643 §4.1.2 leaves optional: a groups.value filter cannot be judged"
        )
    response, body = _filtered(ctx, _scoped(tok, f'groups.value eq "{group["id"]}"'))
    q.expect_ids(ctx, response, body, [a], "groups.value eq <group id>", among=[a, b])
