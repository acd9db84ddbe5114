"""Discovery endpoints (RFC 7644 §4, RFC 7643 §5-7): what the service provider says about itself."""

from __future__ import annotations

from scimitar.checks.context import CheckContext
from scimitar.checks.registry import Level, check
from scimitar.schema import LIST_RESPONSE, SERVICE_PROVIDER_CONFIG
from scimitar.server.quirks import Quirk


@check(
    "rfc7644-4-spc-reachable",
    title="GET /ServiceProviderConfig returns the configuration",
    section="RFC 7644 §4",
    level=Level.MUST,
    tags=("discovery",),
    broken_by=(Quirk.SPC_NO_AUTH_SCHEMES,),
)
def spc_reachable(ctx: CheckContext) -> None:
    """RFC 7644 §4: "An HTTP GET to this endpoint will return a JSON structure that describes the
    SCIM specification features available on a service provider. This endpoint SHALL return
    responses with a JSON object using a "schemas" attribute of
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"."
    """
    response = ctx.client.get("/ServiceProviderConfig")
    ctx.expect_status(response, 200)
    body = response.json()
    ctx.validate_resource(body, "ServiceProviderConfig", response=response)
    ctx.expect(
        SERVICE_PROVIDER_CONFIG in body.get("schemas", []),
        "the ServiceProviderConfig's schemas lack its schema URI",
        expected=SERVICE_PROVIDER_CONFIG,
        actual=body.get("schemas"),
        response=response,
    )


@check(
    "rfc7643-5-spc-authentication-schemes",
    title="ServiceProviderConfig lists its authenticationSchemes",
    section="RFC 7643 §5",
    level=Level.MUST,
    tags=("discovery", "auth"),
    broken_by=(Quirk.SPC_NO_AUTH_SCHEMES,),
)
def spc_authentication_schemes(ctx: CheckContext) -> None:
    """RFC 7643 §5: "authenticationSchemes  A multi-valued complex type that specifies supported
    authentication scheme properties. [...] REQUIRED." Each scheme's "type", "name" and
    "description" are REQUIRED as well.
    """
    response = ctx.client.get("/ServiceProviderConfig")
    ctx.expect_status(response, 200)
    body = response.json()
    ctx.expect(
        isinstance(body, dict), "/ServiceProviderConfig did not return a JSON object", response=response
    )
    schemes = body.get("authenticationSchemes")
    ctx.expect(
        isinstance(schemes, list) and len(schemes) > 0,
        "authenticationSchemes is missing or empty",
        expected="a non-empty array of authentication schemes",
        actual=schemes,
        response=response,
    )
    for i, scheme in enumerate(schemes):
        missing = [
            k for k in ("type", "name", "description") if not (isinstance(scheme, dict) and scheme.get(k))
        ]
        ctx.expect(
            not missing,
            f"authenticationSchemes[{i}] lacks the REQUIRED {', '.join(missing)}",
            actual=scheme,
            response=response,
        )


@check(
    "rfc7644-4-resourcetypes-list",
    title="GET /ResourceTypes returns a ListResponse of resource types",
    section="RFC 7644 §4",
    level=Level.MUST,
    tags=("discovery",),
)
def resourcetypes_list(ctx: CheckContext) -> None:
    """RFC 7644 §4: "When returning multiple ResourceTypes or Schemas, the message form described by
    "urn:ietf:params:scim:api:messages:2.0:ListResponse" (ListResponse) form SHALL be used"; each
    resource type names its "endpoint" and "schema" (RFC 7643 §6, both REQUIRED).
    """
    response = ctx.client.get("/ResourceTypes")
    ctx.expect_status(response, 200)
    body = response.json()
    ctx.validate_list(body, "ResourceType", response=response)
    resources = body.get("Resources") or []
    ctx.expect(len(resources) > 0, "no resource types are listed", response=response)
    for i, rt in enumerate(resources):
        missing = [k for k in ("name", "endpoint", "schema") if not (isinstance(rt, dict) and rt.get(k))]
        ctx.expect(
            not missing,
            f"Resources[{i}] lacks the REQUIRED {', '.join(missing)}",
            actual=rt,
            response=response,
        )


@check(
    "rfc7644-4-schemas-list",
    title="GET /Schemas lists every schema the resource types use",
    section="RFC 7644 §4",
    level=Level.MUST,
    tags=("discovery", "schema"),
    broken_by=(Quirk.SCHEMAS_INCOMPLETE,),
)
def schemas_list(ctx: CheckContext) -> None:
    """RFC 7644 §4: "An HTTP GET to the endpoint "/Schemas" SHALL return all supported schemas in
    ListResponse format". A schema a resource type declares (its "schema" or a
    "schemaExtensions" entry) is supported, so it must be listed.
    """
    response = ctx.client.get("/Schemas")
    ctx.expect_status(response, 200)
    body = response.json()
    ctx.validate_list(body, "Schema", response=response)
    ctx.expect(LIST_RESPONSE in body.get("schemas", []), "not a ListResponse", response=response)
    listed = {s.get("id") for s in body.get("Resources") or [] if isinstance(s, dict)}
    declared: set[str] = set()
    for rt in ctx.discovery.resource_types or []:
        if isinstance(rt.get("schema"), str):
            declared.add(rt["schema"])
        for ext in rt.get("schemaExtensions") or []:
            if isinstance(ext, dict) and isinstance(ext.get("schema"), str):
                declared.add(ext["schema"])
    missing = sorted(declared - listed)
    ctx.expect(
        not missing,
        f"/Schemas omits schemas that /ResourceTypes declares: {', '.join(missing)}",
        expected=sorted(declared),
        actual=sorted(s for s in listed if isinstance(s, str)),
        response=response,
    )
