"""Authentication (RFC 7644 §2, §3.12; RFC 7235 §3.1): requests without a valid credential.

Checks send no credential (`auth=None`) or a freshly generated wrong one (`AuthOverride`, masked
in every report); the target's real credential is never printed. A target whose
/ServiceProviderConfig lists no authenticationSchemes says it needs none: those checks skip.
"""

from __future__ import annotations

import secrets
from typing import Any

from scimitar.checks.context import CheckContext
from scimitar.checks.registry import Level, check
from scimitar.quirks import Quirk
from scimitar.target import AuthOverride, ScimResponse


def require_auth(ctx: CheckContext) -> None:
    spc: Any = ctx.discovery.service_provider_config
    schemes = spc.get("authenticationSchemes") if isinstance(spc, dict) else None
    if isinstance(schemes, list) and not schemes:
        ctx.skip("/ServiceProviderConfig lists no authenticationSchemes: the target needs no credential")


def wrong_credential() -> AuthOverride:
    return AuthOverride(token="scimitar-wrong-" + secrets.token_urlsafe(18))


def anonymous(ctx: CheckContext, user: dict[str, Any]) -> list[tuple[str, ScimResponse]]:
    """The user read, listed and filtered for without any credential."""
    name = str(user["userName"]).replace('"', '\\"')
    return [
        ("GET /Users/{id}", ctx.client.get(f"/Users/{user['id']}", auth=None)),
        ("GET /Users", ctx.client.get("/Users", auth=None)),
        (
            "GET /Users?filter",
            ctx.client.get("/Users", params={"filter": f'userName eq "{name}"'}, auth=None),
        ),
    ]


@check(
    "rfc7644-3.12-auth-missing-credential-401",
    title="A request without credentials answers 401",
    section="RFC 7644 §3.12",
    level=Level.SHOULD,
    tags=("auth",),
    needs=("users",),
    broken_by=(Quirk.AUTH_NOT_ENFORCED,),
)
def missing_credential(ctx: CheckContext) -> None:
    """RFC 7644 §3.12, Table 8: "401 (Unauthorized): Authorization failure. The authorization
    header is invalid or missing." ("Implementers SHOULD handle the identified HTTP status codes
    as described below.")
    """
    require_auth(ctx)
    for path in ("/Users", "/Groups"):
        response = ctx.client.get(path, auth=None)
        ctx.expect_status(response, 401, message=f"GET {path} without credentials answered {response.status}")


@check(
    "rfc7644-3.12-auth-wrong-credential-401",
    title="A request with a wrong bearer token answers 401",
    section="RFC 7644 §3.12",
    level=Level.SHOULD,
    tags=("auth",),
    needs=("users",),
    broken_by=(Quirk.AUTH_ANY_TOKEN,),
)
def wrong_token(ctx: CheckContext) -> None:
    """RFC 7644 §3.12, Table 8: "401 (Unauthorized): Authorization failure. The authorization
    header is invalid or missing."
    ("Implementers SHOULD handle the identified HTTP status codes as described below.")
    """
    require_auth(ctx)
    response = ctx.client.get("/Users", auth=wrong_credential())
    ctx.expect_status(response, 401, message=f"GET /Users with a wrong token answered {response.status}")


@check(
    "rfc7235-3.1-401-www-authenticate",
    title="A 401 response carries a WWW-Authenticate challenge",
    section="RFC 7235 §3.1; RFC 7644 §2",
    level=Level.MUST,
    tags=("auth",),
    needs=("users",),
    broken_by=(Quirk.NO_WWW_AUTHENTICATE,),
)
def www_authenticate(ctx: CheckContext) -> None:
    """RFC 7235 §3.1: "The server generating a 401 response MUST send a WWW-Authenticate header
    field containing at least one challenge applicable to the target resource." RFC 7644 §2:
    "As per Section 4.1 of [RFC7235], a SCIM service provider SHALL indicate supported HTTP
    authentication schemes via the "WWW-Authenticate" header."
    """
    require_auth(ctx)
    for label, auth in (("no credential", None), ("a wrong token", wrong_credential())):
        response = ctx.client.get("/Users", auth=auth)
        if response.status != 401:
            # the status code is judged by the 401 checks; this one needs a 401 to look at
            ctx.not_exercised(f"GET /Users with {label} answered {response.status}, not 401")
            continue
        challenge = response.headers.get("www-authenticate", "")
        ctx.expect(
            bool(challenge.strip()),
            f"the 401 to {label} carries no WWW-Authenticate header",
            expected='a challenge such as WWW-Authenticate: Bearer realm="..."',
            actual=challenge or None,
            response=response,
        )


@check(
    "rfc7644-3.12-auth-401-scim-error",
    title="The 401 body is a SCIM Error",
    section="RFC 7644 §3.12",
    level=Level.MUST,
    tags=("auth", "errors"),
    needs=("users",),
    broken_by=(Quirk.ERROR_NO_SCHEMAS, Quirk.ERROR_STATUS_NUMBER),
)
def unauthorized_body(ctx: CheckContext) -> None:
    """RFC 7644 §3.12: "In addition to returning an HTTP response code, implementers MUST return
    the errors in the body of the response in a JSON format, using the attributes described
    below", with "status ... expressed as a JSON string. REQUIRED."
    """
    require_auth(ctx)
    response = ctx.client.get("/Users", auth=None)
    if response.status != 401:
        ctx.skip(f"a request without credentials answered {response.status}, not 401")
    ctx.validate_error(response.json(), response=response)
    status = response.json().get("status")
    ctx.expect(
        status == "401",
        'the 401 error\'s status is not the string "401"',
        actual=repr(status),
        response=response,
    )


@check(
    "rfc7644-3.12-auth-no-data-without-credential",
    title="Without credentials no resource data is returned",
    section="RFC 7644 §3.12; RFC 7235 §3.1",
    level=Level.SHOULD,
    tags=("auth",),
    needs=("users",),
    broken_by=(Quirk.AUTH_NOT_ENFORCED,),
)
def no_leak(ctx: CheckContext) -> None:
    """RFC 7235 §3.1: "The 401 (Unauthorized) status code indicates that the request has not been
    applied because it lacks valid authentication credentials for the target resource."; RFC 7644
    §3.12, Table 8: "401 (Unauthorized): Authorization failure. The authorization header is
    invalid or missing." A user's id and userName must not appear in any answer to a request
    without credentials.
    The level is Table 8's: "Implementers SHOULD handle the identified HTTP status codes as
    described below."
    """
    require_auth(ctx)
    user = ctx.create_user()
    for what, response in anonymous(ctx, user):
        text = response.text
        leaked = [v for v in (user["id"], user["userName"]) if v in text]
        ctx.expect(
            not leaked and response.status >= 400,
            f"{what} without credentials answered {response.status}"
            + (
                f" and returned the user's {', '.join('id' if v == user['id'] else 'userName' for v in leaked)}"
                if leaked
                else ""
            ),
            expected="an error that carries no resource data",
            actual=response.status,
            response=response,
        )


@check(
    "rfc7644-3.12-auth-write-without-credential-refused",
    title="A write without credentials is refused and changes nothing",
    section="RFC 7644 §3.12; RFC 7235 §3.1",
    level=Level.SHOULD,
    tags=("auth",),
    needs=("users",),
    broken_by=(Quirk.AUTH_NOT_ENFORCED, Quirk.AUTH_ANY_TOKEN),
)
def write_refused(ctx: CheckContext) -> None:
    """RFC 7235 §3.1: a 401 means "the request has not been applied because it lacks valid
    authentication credentials for the target resource"; RFC 7644 §3.12 Table 8: "401
    (Unauthorized): Authorization failure. The authorization header is invalid or missing."
    The check deletes one of its own users with a wrong token and reads it back.
    The level is Table 8's: "Implementers SHOULD handle the identified HTTP status codes as
    described below."
    """
    require_auth(ctx)
    user = ctx.create_user()
    response = ctx.client.delete(f"/Users/{user['id']}", auth=wrong_credential())
    ctx.expect_status(response, 401, message=f"DELETE with a wrong token answered {response.status}")
    after = ctx.client.get(f"/Users/{user['id']}")
    ctx.expect_status(after, 200, message="the user is gone after a DELETE with a wrong token")
