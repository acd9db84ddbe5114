"""Media types (RFC 7644 §3.8, §8.1): what servers send and what they must accept.

RFC 7644 §3.8: "Service providers MUST support the "Accept" header "Accept: application/scim+json"
and SHOULD support the header "Accept: application/json", both of which specify JSON documents
conforming to [RFC7159]. The format defaults to "application/scim+json" if no format is
specified."
"""

from __future__ import annotations

import uuid
from typing import Any

from scimitar.checks.assertions import require
from scimitar.checks.context import CheckContext
from scimitar.checks.registry import Level, check
from scimitar.quirks import Quirk
from scimitar.target import SCIM_JSON, ScimResponse


def expect_scim_json(ctx: CheckContext, response: ScimResponse, what: str) -> None:
    require(ctx, "content-type-scim", response, what)


def created_id(ctx: CheckContext, response: ScimResponse) -> str | None:
    body: Any = response.json()
    rid = body.get("id") if isinstance(body, dict) else None
    if response.status in (200, 201) and isinstance(rid, str) and rid:
        return rid
    return None


@check(
    "rfc7644-3.8-response-scim-json",
    title="With Accept: application/scim+json, responses are application/scim+json",
    section="RFC 7644 §3.8",
    level=Level.MUST,
    tags=("content-type",),
    needs=("users",),
    broken_by=(Quirk.CONTENT_TYPE_JSON,),
)
def response_scim_json(ctx: CheckContext) -> None:
    """RFC 7644 §3.8: "Service providers MUST support the "Accept" header "Accept:
    application/scim+json"", the media type registered for SCIM messages in RFC 7644 §8.1.
    """
    user = ctx.create_user()
    response = ctx.client.get(f"/Users/{user['id']}", headers={"Accept": SCIM_JSON})
    ctx.expect_status(response, 200)
    expect_scim_json(ctx, response, "GET /Users/{id}")
    listing = ctx.client.get("/Users", params={"count": "1"}, headers={"Accept": SCIM_JSON})
    ctx.expect_status(listing, 200)
    expect_scim_json(ctx, listing, "GET /Users")


@check(
    "rfc7644-3.8-default-scim-json",
    title="Without an Accept header, responses default to application/scim+json",
    section="RFC 7644 §3.8",
    level=Level.SHOULD,
    tags=("content-type",),
    needs=("users",),
    broken_by=(Quirk.CONTENT_TYPE_JSON,),
)
def default_scim_json(ctx: CheckContext) -> None:
    """RFC 7644 §3.8: "The format defaults to "application/scim+json" if no format is
    specified." The sentence carries no RFC 2119 keyword (the MUST before it is about the "Accept:
    application/scim+json" header, held by rfc7644-3.8-response-scim-json), so this is a SHOULD.
    """
    user = ctx.create_user()
    response = ctx.client.get(f"/Users/{user['id']}", headers={"Accept": None})
    ctx.expect_status(response, 200)
    expect_scim_json(ctx, response, "GET /Users/{id} without Accept")


@check(
    "rfc7644-3.8-error-scim-json",
    title="Error responses are application/scim+json too",
    section="RFC 7644 §3.8",
    level=Level.MUST,
    tags=("content-type", "errors"),
    needs=("users",),
    broken_by=(Quirk.CONTENT_TYPE_JSON,),
)
def error_scim_json(ctx: CheckContext) -> None:
    """RFC 7644 §3.8: "Service providers MUST support the "Accept" header "Accept:
    application/scim+json""; RFC 7644 §3.12 error responses are SCIM messages
    ("urn:ietf:params:scim:api:messages:2.0:Error") and are sent in that format as well.
    """
    response = ctx.client.get(f"/Users/{uuid.uuid4()}", headers={"Accept": SCIM_JSON})
    if response.status < 400:  # which status an unknown id gets is Table 8's SHOULD, judged elsewhere
        ctx.not_exercised(f"GET of an unknown id answered {response.status}, not an error")
        return
    expect_scim_json(ctx, response, f"the {response.status} error")


@check(
    "rfc7644-3.8-accept-application-json",
    title="Accept: application/json is served with a JSON body",
    section="RFC 7644 §3.8",
    level=Level.SHOULD,
    tags=("content-type",),
    needs=("users",),
    broken_by=(Quirk.ACCEPT_JSON_406,),
)
def accept_json(ctx: CheckContext) -> None:
    """RFC 7644 §3.8: service providers "SHOULD support the header "Accept: application/json"".
    Either JSON media type in the response satisfies it.
    """
    user = ctx.create_user()
    response = ctx.client.get(f"/Users/{user['id']}", headers={"Accept": "application/json"})
    ctx.expect_status(response, 200, message=f"GET with Accept: application/json answered {response.status}")
    ctx.expect(
        response.content_type in ("application/json", SCIM_JSON) and isinstance(response.json(), dict),
        "the response to Accept: application/json is not a JSON object",
        actual=response.headers.get("content-type"),
        response=response,
    )


@check(
    "rfc7644-3.8-request-scim-json-accepted",
    title="A POST with Content-Type: application/scim+json is accepted",
    section="RFC 7644 §3.8",
    level=Level.MUST,
    tags=("content-type",),
    needs=("users",),
    broken_by=(Quirk.REJECT_SCIM_CONTENT_TYPE,),
)
def request_scim_json(ctx: CheckContext) -> None:
    """RFC 7644 §3.8: "Servers MUST accept requests and be able to return JSON-structured
    responses using UTF-8 encoding [RFC3629]"; application/scim+json is SCIM's own JSON media
    type (RFC 7644 §8.1), used by every request example of the RFC.
    """
    response = ctx.client.post(
        "/Users", json=ctx.data.user(), headers={"Content-Type": f"{SCIM_JSON}; charset=utf-8"}
    )
    created_id(ctx, response)
    ctx.expect_status(response, 201, message=f"POST with application/scim+json answered {response.status}")


@check(
    "rfc7644-3.8-request-json-accepted",
    title="A POST with Content-Type: application/json is accepted",
    section="RFC 7644 §3.8",
    level=Level.SHOULD,
    tags=("content-type",),
    needs=("users",),
    broken_by=(Quirk.REJECT_JSON_CONTENT_TYPE,),
)
def request_json(ctx: CheckContext) -> None:
    """RFC 7644 §3.8: "Servers MUST accept requests and be able to return JSON-structured
    responses" and SHOULD support "application/json" on the Accept side. The RFC does not name
    application/json as a required request type, so refusing it is a SHOULD-level finding; many
    IdPs send it.
    """
    response = ctx.client.post("/Users", json=ctx.data.user(), headers={"Content-Type": "application/json"})
    created_id(ctx, response)
    ctx.expect_status(response, 201, message=f"POST with application/json answered {response.status}")
