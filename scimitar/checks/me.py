"""The /Me authenticated subject alias (RFC 7644 §3.11)."""

from __future__ import annotations

from scimitar.checks.context import CheckContext
from scimitar.checks.registry import Level, check
from scimitar.quirks import Quirk
from scimitar.target import ScimResponse

#: What RFC 7644 §3.11 allows: the alias served (200), a redirect (308), or not supported (501).
_ALLOWED = (200, 308, 501)


def _get_me(ctx: CheckContext) -> ScimResponse:
    return ctx.client.get("/Me")


@check(
    "rfc7644-3.11-me-served-or-501",
    title="/Me is served, redirected (308), or answers 501 Not Implemented",
    section="RFC 7644 §3.11",
    level=Level.SHOULD,
    tags=("me",),
    broken_by=(Quirk.ME_404,),
)
def me_served_or_501(ctx: CheckContext) -> None:
    """RFC 7644 §3.11: "A service provider that does NOT support this feature SHOULD respond with HTTP
    status code 501 (Not Implemented)." The other two answers it allows: "redirect the client using
    HTTP status code 308 (Permanent Redirect)" or "process the SCIM request directly".
    """
    response = _get_me(ctx)
    ctx.expect_status(
        response,
        *_ALLOWED,
        message=f"GET /Me answered {response.status}; an unsupported /Me should answer 501",
    )


@check(
    "rfc7644-3.11-me-error-is-scim-error",
    title="An error answer from /Me is a SCIM Error",
    section="RFC 7644 §3.12",
    level=Level.MUST,
    tags=("me", "errors"),
    broken_by=(Quirk.ERROR_NO_SCHEMAS,),
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
        return  # the alias is not served (501 or an error another check judges): nothing to hold here
    ctx.expect(
        response.location,
        f"GET /Me answered {response.status} without a Location header",
        expected="the aliased resource's URI",
        response=response,
    )
    if response.status == 200:
        ctx.validate_resource(response.json(), "User", response=response)
