"""The /Me authenticated subject alias (RFC 7644 §3.11)."""

from __future__ import annotations

from scimitar.checks.context import CheckContext
from scimitar.checks.registry import Level, check
from scimitar.quirks import Quirk
from scimitar.schema import ERROR
from scimitar.target import ScimResponse

#: What RFC 7644 §3.11 allows: the alias served (200), a redirect (308), or not supported (501).
_ALLOWED = (200, 308, 501)


def _get_me(ctx: CheckContext) -> ScimResponse:
    return ctx.client.get("/Me")


def _is_scim_error(response: ScimResponse) -> bool:
    body = response.json()
    schemas = body.get("schemas") if isinstance(body, dict) else None
    return isinstance(schemas, list) and ERROR in schemas


@check(
    "rfc7644-3.11-me-served-or-501",
    title="/Me is served, redirected (308), answers 501, or 404 (a SCIM Error: no resource for the subject)",
    section="RFC 7644 §3.11",
    level=Level.SHOULD,
    tags=("me",),
    broken_by=(Quirk.ME_404,),
)
def me_served_or_501(ctx: CheckContext) -> None:
    """RFC 7644 §3.11: "A service provider that does NOT support this feature SHOULD respond with HTTP
    status code 501 (Not Implemented)." The other two answers it allows: "redirect the client using
    HTTP status code 308 (Permanent Redirect)" or "process the SCIM request directly".

    A 404 carrying a SCIM Error is not read as "unsupported": the alias stands for "the User or
    other resource associated with the currently authenticated subject", and a provisioning
    credential often has none, which Table 8 (§3.12) answers with "404 (Not Found): Specified
    resource (e.g., User) or endpoint does not exist." What is flagged is a 404 that is no SCIM
    Error (a framework's page for a route that does not exist: the feature is unsupported and
    should say 501), any other status, and a 200 that carries no resource.
    """
    response = _get_me(ctx)
    if response.status == 404:
        ctx.expect(
            _is_scim_error(response),
            "GET /Me answered a 404 that is not a SCIM Error (the route does not exist); an "
            "unsupported /Me should answer 501",
            expected="501, or a 404 SCIM Error saying the subject has no resource",
            actual=f"404 {response.headers.get('content-type', '')}".strip(),
            response=response,
        )
        return
    ctx.expect_status(
        response,
        *_ALLOWED,
        message=f"GET /Me answered {response.status}; an unsupported /Me should answer 501",
    )
    if response.status == 200:
        ctx.expect(
            isinstance(response.json(), dict),
            "GET /Me answered 200 without a JSON resource",
            expected="the resource associated with the authenticated subject",
            actual=response.headers.get("content-type"),
            response=response,
        )


@check(
    "rfc7644-3.11-me-error-is-scim-error",
    title="An error answer from /Me is a SCIM Error",
    section="RFC 7644 §3.12",
    level=Level.MUST,
    tags=("me", "errors"),
    broken_by=(Quirk.ERROR_NO_SCHEMAS, Quirk.ME_404),
)
def me_error_is_scim_error(ctx: CheckContext) -> None:
    """RFC 7644 §3.12: "In addition to returning an HTTP response code, implementers MUST return the
    errors in the body of the response in a JSON format, using the attributes described below."
    """
    response = _get_me(ctx)
    if response.status < 400:
        ctx.skip(f"GET /Me answered {response.status}, not an error")
    ctx.validate_error(response.json(), response=response)


@check(
    "rfc7644-3.11-me-alias-location",
    title="A served /Me answers with the subject's Location (and a User for 200)",
    section="RFC 7644 §3.11",
    level=Level.MUST,
    tags=("me",),
    broken_by=(Quirk.ME_STUB_200,),
)
def me_alias_location(ctx: CheckContext) -> None:
    """RFC 7644 §3.11: "In any response, the HTTP "Location" header MUST be the permanent location of
    the aliased resource associated with the authenticated subject." A 501 has no aliased resource,
    so only 200 and 308 answers are held to it; a 200 carries that resource.
    """
    response = _get_me(ctx)
    if response.status not in (200, 308):
        # the alias is not served (501 or an error another check judges): nothing to hold here
        ctx.not_exercised(f"GET /Me answered {response.status}: the alias is not served")
        return
    ctx.expect(
        response.location,
        f"GET /Me answered {response.status} without a Location header",
        expected="the aliased resource's URI",
        response=response,
    )
    if response.status == 200:
        ctx.validate_resource(response.json(), "User", response=response)
