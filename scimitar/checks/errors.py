"""Error responses (RFC 7644 §3.12): the Error body, status codes and scimType keywords.

RFC 7644 §3.12: "In addition to returning an HTTP response code, implementers MUST return the
errors in the body of the response in a JSON format, using the attributes described below."
`status` is REQUIRED, `scimType` and `detail` are OPTIONAL; "Implementers SHOULD handle the
identified HTTP status codes as described below", so the mapping of a case to a status code or
keyword is a SHOULD unless another section makes it a MUST (e.g. §3.3 for uniqueness).
"""

from __future__ import annotations

import uuid

from scimitar.checks._query import get_ci as ci
from scimitar.checks.assertions import require
from scimitar.checks.context import CheckContext
from scimitar.checks.registry import Level, check
from scimitar.quirks import Quirk
from scimitar.schema import CORE_USER, ERROR, SCIM_TYPES, SEARCH_REQUEST
from scimitar.target import ScimResponse

#: Table 9 keywords that fit a missing or mistyped value: "invalidValue: A required value was
#: missing, or the value specified was not compatible with the operation or attribute type" and
#: "invalidSyntax: [...] did not conform to the request schema" overlap here.
INVALID_VALUE = ("invalidValue", "invalidSyntax")


def unknown_user(ctx: CheckContext) -> ScimResponse:
    return ctx.client.get(f"/Users/{uuid.uuid4()}")


def bad_json(ctx: CheckContext) -> ScimResponse:
    return ctx.client.post("/Users", content='{"schemas": ["' + CORE_USER + '"], "userName": ')


def bad_filter(ctx: CheckContext) -> ScimResponse:
    return ctx.client.get("/Users", params={"filter": 'userName xx "scimitar"'})


def expect_error(
    ctx: CheckContext,
    response: ScimResponse,
    status: int,
    scim_type: str | tuple[str, ...] | None,
    what: str,
    *,
    keyword_required: bool = False,
) -> None:
    """`status`, a SCIM Error body, and (when given) that scimType.

    scimType is "OPTIONAL" (RFC 7644 §3.12): an error without one is only failed where another
    sentence makes the keyword part of the answer (`keyword_required`, e.g. §3.3's 409
    "uniqueness"); one that is present must be the keyword Table 9 gives the case.
    """
    ctx.expect_status(response, status, message=f"{what} answered {response.status}, expected {status}")
    require(ctx, "scim-error-body", response, what)
    body = response.json()
    if scim_type is None:
        return
    wanted = (scim_type,) if isinstance(scim_type, str) else scim_type
    found = ci(body, "scimType")
    if found is None and not keyword_required:
        return
    ctx.expect(
        found in wanted,
        f"{what}: scimType is {found!r}",
        expected=" or ".join(wanted),
        actual=found,
        response=response,
    )


@check(
    "rfc7644-3.12-error-404-unknown-id",
    title="GET of an unknown id answers 404 with a SCIM Error",
    section="RFC 7644 §3.12",
    level=Level.SHOULD,
    tags=("errors",),
    needs=("users",),
    broken_by=(Quirk.NOT_FOUND_200,),
)
def not_found(ctx: CheckContext) -> None:
    """RFC 7644 §3.12, Table 8: "404 (Not Found): Specified resource (e.g., User) or endpoint does
    not exist." ("Implementers SHOULD handle the identified HTTP status codes as described
    below.")
    """
    expect_error(ctx, unknown_user(ctx), 404, None, "GET of an unknown id")


@check(
    "rfc7644-3.12-error-schemas-uri",
    title="Error bodies are JSON carrying the Error schema URI",
    section="RFC 7644 §3.12",
    level=Level.MUST,
    tags=("errors",),
    needs=("users",),
    broken_by=(Quirk.ERROR_NO_SCHEMAS,),
)
def error_schemas(ctx: CheckContext) -> None:
    """RFC 7644 §3.12: "implementers MUST return the errors in the body of the response in a JSON
    format, using the attributes described below. Error responses are identified using the
    following "schema" URI: "urn:ietf:params:scim:api:messages:2.0:Error"."
    """
    for what, response in (("GET of an unknown id", unknown_user(ctx)), ("a truncated JSON body", bad_json(ctx))):
        if response.status < 400:
            # other checks judge the status code; this one needs an error to look at
            ctx.not_exercised(f"{what} answered {response.status}, not an error")
            continue
        body = response.json()
        schemas = ci(body, "schemas")
        ctx.expect(
            isinstance(schemas, list)
            and any(isinstance(s, str) and s.lower() == ERROR.lower() for s in schemas),
            f"the {response.status} error body lacks the Error schema URI",
            expected=[ERROR],
            actual=schemas,
            response=response,
        )


@check(
    "rfc7644-3.12-error-status-string",
    title="Error `status` is a JSON string equal to the HTTP status code",
    section="RFC 7644 §3.12",
    level=Level.MUST,
    tags=("errors",),
    needs=("users",),
    broken_by=(Quirk.ERROR_STATUS_NUMBER,),
)
def status_string(ctx: CheckContext) -> None:
    """RFC 7644 §3.12: "status: The HTTP status code (see Section 6 of [RFC7231]) expressed as a
    JSON string. REQUIRED."
    """
    probes = (("GET of an unknown id", unknown_user(ctx)), ("a truncated JSON body", bad_json(ctx)),
              ("an invalid filter", bad_filter(ctx)))
    for what, response in probes:
        if response.status < 400:
            ctx.not_exercised(f"{what} answered {response.status}, not an error")
            continue
        status = ci(response.json(), "status")
        ctx.expect(
            isinstance(status, str) and status.strip() == str(response.status),
            f"the {response.status} error's status is {status!r}",
            expected=f'"{response.status}" (a JSON string)',
            actual=repr(status),
            response=response,
        )


@check(
    "rfc7644-3.12-scimtype-defined-keyword",
    title="scimType, when present, is one of the keywords of Table 9",
    section="RFC 7644 §3.12",
    level=Level.SHOULD,
    tags=("errors",),
    needs=("users",),
    broken_by=(Quirk.SCIMTYPE_UNKNOWN,),
)
def scim_type_defined(ctx: CheckContext) -> None:
    """RFC 7644 §3.12: "scimType: A SCIM detail error keyword. See Table 9. OPTIONAL." Table 9
    defines invalidFilter, tooMany, uniqueness, mutability, invalidSyntax, invalidPath, noTarget,
    invalidValue, invalidVers and sensitive.
    """
    responses = [
        ("a truncated JSON body", bad_json(ctx)),
        ("an invalid filter", bad_filter(ctx)),
        ("a User without userName", ctx.client.post("/Users", json=ctx.data.user(userName=None))),
    ]
    for what, response in responses:
        scim_type = ci(response.json(), "scimType")
        if response.status < 400:
            ctx.not_exercised(f"{what} answered {response.status}, not an error")
            continue
        if scim_type is None:
            ctx.not_exercised(f"the {response.status} error to {what} carries no scimType (it is OPTIONAL)")
            continue
        ctx.expect(
            scim_type in SCIM_TYPES,
            f"the {response.status} error uses the undefined scimType {scim_type!r}",
            expected=", ".join(SCIM_TYPES),
            actual=scim_type,
            response=response,
        )


@check(
    "rfc7644-3.12-scimtype-keyword-given",
    title="Errors for an unparsable body and a missing value carry a Table 9 scimType",
    section="RFC 7644 §3.12",
    level=Level.MAY,
    tags=("errors",),
    needs=("users",),
    broken_by=(Quirk.ERROR_NO_SCIMTYPE,),
)
def scim_type_given(ctx: CheckContext) -> None:
    """RFC 7644 §3.12: "scimType: A SCIM detail error keyword. See Table 9. OPTIONAL." Where no
    other sentence makes the keyword part of the answer, giving it is optional: a provider that
    leaves it out is reported as an optional (MAY) behaviour not present, never as a warning.
    """
    probes = [
        ("a truncated JSON body", bad_json(ctx)),
        ("a User without userName", ctx.client.post("/Users", json=ctx.data.user(userName=None))),
    ]
    for what, response in probes:
        if response.status < 400:
            ctx.not_exercised(f"{what} answered {response.status}, not an error")
            continue
        ctx.expect(
            isinstance(ci(response.json(), "scimType"), str),
            f"the {response.status} error to {what} carries no scimType",
            expected="a Table 9 keyword such as invalidSyntax or invalidValue",
            actual=ci(response.json(), "scimType"),
            response=response,
        )


@check(
    "rfc7644-3.12-invalid-json-400",
    title="A body that is not valid JSON answers 400 invalidSyntax",
    section="RFC 7644 §3.12",
    level=Level.SHOULD,
    tags=("errors",),
    needs=("users",),
    broken_by=(Quirk.BAD_JSON_500, Quirk.SCIMTYPE_UNKNOWN),
)
def invalid_json(ctx: CheckContext) -> None:
    """RFC 7644 §3.12, Table 8: "400 (Bad Request): Request is unparsable, syntactically
    incorrect, or violates schema." ("Implementers SHOULD handle the identified HTTP status codes
    as described below."); Table 9: "invalidSyntax: The request body message structure was invalid
    or did not conform to the request schema." scimType is "OPTIONAL": an error without one passes,
    one that names another keyword does not.
    """
    expect_error(ctx, bad_json(ctx), 400, "invalidSyntax", "POST with a truncated JSON body")


@check(
    "rfc7644-3.12-invalid-filter-400",
    title="An invalid filter answers 400 invalidFilter",
    section="RFC 7644 §3.12",
    level=Level.SHOULD,
    tags=("errors", "filter"),
    needs=("users", "filter"),
    broken_by=(Quirk.UNKNOWN_FILTER_ATTR_500, Quirk.SCIMTYPE_UNKNOWN),
)
def invalid_filter(ctx: CheckContext) -> None:
    """RFC 7644 §3.12, Table 8: "400 (Bad Request): Request is unparsable, syntactically
    incorrect, or violates schema." ("Implementers SHOULD handle the identified HTTP status codes
    as described below."); Table 9: "invalidFilter: The specified filter syntax was invalid (does
    not comply with Figure 1), or the specified attribute and filter comparison combination is not
    supported." A missing scimType is not judged here ("scimType [...] OPTIONAL"); the MUST of
    §3.4.2.2 for an unrecognised operator, keyword included, is rfc7644-3.4.2.2-filter-unknown-operator.
    """
    expect_error(ctx, bad_filter(ctx), 400, "invalidFilter", 'GET with the filter userName xx "scimitar"')


@check(
    "rfc7644-3.3-error-409-uniqueness",
    title="Creating a duplicate userName answers 409 uniqueness",
    section="RFC 7644 §3.3",
    level=Level.MUST,
    tags=("errors", "uniqueness"),
    needs=("users",),
    broken_by=(Quirk.DUPLICATE_USERNAME, Quirk.ERROR_NO_SCIMTYPE),
)
def conflict(ctx: CheckContext) -> None:
    """RFC 7644 §3.3: "If the service provider determines that the creation of the requested
    resource conflicts with existing resources (e.g., a "User" resource with a duplicate
    "userName"), the service provider MUST return HTTP status code 409 (Conflict) with a
    "scimType" error code of "uniqueness", as per Section 3.12."
    """
    user = ctx.create_user()
    response = ctx.client.post("/Users", json=ctx.data.user(userName=user["userName"]))
    expect_error(ctx, response, 409, "uniqueness", "POST of a duplicate userName", keyword_required=True)


@check(
    "rfc7644-3.12-missing-required-400",
    title="Creating a User without userName answers 400 invalidValue",
    section="RFC 7644 §3.12",
    level=Level.SHOULD,
    tags=("errors",),
    needs=("users",),
    broken_by=(Quirk.REQUIRED_NOT_ENFORCED, Quirk.SCIMTYPE_UNKNOWN),
)
def missing_required(ctx: CheckContext) -> None:
    """RFC 7644 §3.12, Table 9: "invalidValue: A required value was missing, or the value
    specified was not compatible with the operation or attribute type (see Section 2.2 of
    [RFC7643]), or resource schema (see Section 4 of [RFC7643])." `userName` is REQUIRED (RFC 7643
    §4.1.1). The status code is a SHOULD: "Implementers SHOULD handle the identified HTTP status
    codes as described below." scimType is "OPTIONAL": absent passes; present, it must be
    invalidValue (or invalidSyntax, "did not conform to the request schema", which overlaps).
    """
    response = ctx.client.post("/Users", json=ctx.data.user(userName=None))
    expect_error(ctx, response, 400, INVALID_VALUE, "POST of a User without userName")


@check(
    "rfc7644-3.12-wrong-type-400",
    title="A value of the wrong type (userName as a number) answers 400 invalidValue",
    section="RFC 7644 §3.12",
    level=Level.SHOULD,
    tags=("errors",),
    needs=("users",),
    broken_by=(Quirk.SCIMTYPE_UNKNOWN,),
)
def wrong_type(ctx: CheckContext) -> None:
    """RFC 7644 §3.12, Table 8: "400 (Bad Request): Request is unparsable, syntactically
    incorrect, or violates schema." ("Implementers SHOULD handle the identified HTTP status codes
    as described below."); Table 9: "invalidValue: A required value was missing, or the value
    specified was not compatible with the operation or attribute type (see Section 2.2 of
    [RFC7643])". `userName` is a string (RFC 7643 §4.1.1); 12345 is a JSON number. scimType is
    "OPTIONAL": absent passes; present, it must be invalidValue (or the overlapping invalidSyntax).
    """
    response = ctx.client.post("/Users", json=ctx.data.user(userName=12345))
    expect_error(ctx, response, 400, INVALID_VALUE, "POST with userName as a number")


@check(
    "rfc7644-3.12-malformed-input-not-5xx",
    title="Malformed input answers 4xx, never 5xx",
    section="RFC 7644 §3.12",
    level=Level.SHOULD,
    tags=("errors",),
    needs=("users",),
    broken_by=(Quirk.BAD_JSON_500, Quirk.UNKNOWN_FILTER_ATTR_500),
)
def malformed_not_5xx(ctx: CheckContext) -> None:
    """RFC 7644 §3.12, Table 8: "400 (Bad Request): Request is unparsable, syntactically
    incorrect, or violates schema." and "500 (Internal Server Error): An internal error." A bad
    body, a bad filter or an absurd startIndex is the client's error, not an internal one
    ("Implementers SHOULD handle the identified HTTP status codes as described below"). Filters
    are only sent when the target does not declare filtering unsupported: there Table 8's "501 (Not
    Implemented): Service provider does not support the request operation" is the right answer.
    """
    # (what, response, True when no server can accept it: it is unparsable or not a resource)
    probes: list[tuple[str, ScimResponse, bool]] = [
        ("a truncated JSON body", bad_json(ctx), True),
        ("a JSON array as the body", ctx.client.post("/Users", json=[1, 2, 3]), True),
    ]
    if ctx.features.filter is not False:
        probes += [
            ("an invalid filter", bad_filter(ctx), True),
            ("an unterminated filter string",
             ctx.client.get("/Users", params={"filter": 'userName eq "open'}), True),
        ]
    probes += [
        ("a huge startIndex", ctx.client.get("/Users", params={"startIndex": "9" * 30, "count": "1"}), False),
        ("a non-numeric count", ctx.client.get("/Users", params={"count": "many"}), False),
    ]
    unknown = ctx.data.user(scimitarUndefinedAttribute="x")
    created = ctx.client.post("/Users", json=unknown)
    probes.append(("an undefined attribute in a POST", created, False))
    for what, response, unparsable in probes:
        ok = 400 <= response.status < 500 if unparsable else response.status < 500
        ctx.expect(
            ok,
            f"{what} answered {response.status}",
            expected="a 4xx client error" + ("" if unparsable else " (or success where the input is acceptable)"),
            actual=response.status,
            response=response,
        )


@check(
    "rfc7644-3.12-not-found-bodies-are-scim-errors",
    title="404s for discovery ids, /.search and non-UUID resource ids are SCIM Errors, not HTML pages",
    section="RFC 7644 §3.12",
    level=Level.MUST,
    tags=("errors", "discovery"),
    needs=("users",),
    broken_by=(Quirk.HTML_404,),
)
def not_found_bodies(ctx: CheckContext) -> None:
    """RFC 7644 §3.12: "In addition to returning an HTTP response code, implementers MUST return the
    errors in the body of the response in a JSON format, using the attributes described below.
    Error responses are identified using the following "schema" URI:
    "urn:ietf:params:scim:api:messages:2.0:Error"." The errors a web framework tends to render
    itself, because no route matched, are the ones probed: an unknown schema URI under /Schemas, an
    unknown ResourceType, a root `/.search` (with an invalid filter, so a provider that serves it
    answers 400), and resource ids that are not UUIDs (ids are opaque, RFC 7643 §3.1, so a route
    that only matches UUIDs is no excuse). An answer below 400 is not an error and not judged here.
    """
    token = uuid.uuid4().hex[:8]
    search = {"schemas": [SEARCH_REQUEST], "filter": 'userName xx "scimitar"', "count": 1}
    probes = [
        ("GET /Schemas/{unknown URI}",
         ctx.client.get(f"/Schemas/urn:ietf:params:scim:schemas:scimitar:2.0:NoSuch{token}")),
        ("GET /ResourceTypes/{unknown}", ctx.client.get(f"/ResourceTypes/ScimitarNoSuch{token}")),
        ("POST /.search with an invalid filter", ctx.client.post("/.search", json=search)),
        ("GET /Users/{an id that is no UUID}", ctx.client.get(f"/Users/scimitar-no-such-{token}")),
    ]
    if ctx.features.groups is not False:
        probes.append(("GET /Groups/{an id that is no UUID}", ctx.client.get(f"/Groups/scimitar-no-such-{token}")))
    for what, response in probes:
        if response.status < 400:
            ctx.not_exercised(f"{what} answered {response.status}, not an error")
            continue
        require(ctx, "scim-error-body", response, f"{what} answered {response.status}")
