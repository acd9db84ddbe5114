"""Discovery endpoints (RFC 7644 §4, RFC 7643 §5-7): what the service provider says about itself."""

from __future__ import annotations

from typing import Any

from scimitar.checks.context import CheckContext
from scimitar.checks.registry import Level, check
from scimitar.quirks import Quirk
from scimitar.schema import CORE_USER, LIST_RESPONSE, SERVICE_PROVIDER_CONFIG
from scimitar.target import ScimResponse


@check(
    "rfc7644-4-spc-reachable",
    title="GET /ServiceProviderConfig returns the configuration",
    section="RFC 7644 §4",
    level=Level.MUST,
    tags=("discovery",),
    broken_by=(Quirk.SPC_NO_AUTH_SCHEMES, Quirk.SPC_NO_SCHEMAS),
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
    broken_by=(Quirk.RESOURCETYPES_NOT_LIST,),
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


# -- ServiceProviderConfig completeness (RFC 7643 §5) ---------------------------------------------

#: The feature members of RFC 7643 §5, each "REQUIRED" with a REQUIRED boolean "supported".
SPC_FEATURES = ("patch", "bulk", "filter", "changePassword", "sort", "etag")


def _spc(ctx: CheckContext) -> tuple[dict[str, Any], ScimResponse]:
    response = ctx.client.get("/ServiceProviderConfig")
    ctx.expect_status(response, 200)
    body = response.json()
    ctx.expect(isinstance(body, dict), "/ServiceProviderConfig is not a JSON object", response=response)
    lowered = {k.lower(): v for k, v in body.items() if isinstance(k, str)}
    return lowered, response


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _lower_keys(value: Any) -> dict[str, Any]:
    return {k.lower(): v for k, v in value.items() if isinstance(k, str)} if isinstance(value, dict) else {}


@check(
    "rfc7643-5-spc-feature-members",
    title="ServiceProviderConfig has patch, bulk, filter, changePassword, sort and etag with supported",
    section="RFC 7643 §5",
    level=Level.MUST,
    tags=("discovery",),
    broken_by=(Quirk.SPC_INCOMPLETE,),
)
def spc_feature_members(ctx: CheckContext) -> None:
    """RFC 7643 §5: "patch: A complex type that specifies PATCH configuration options. REQUIRED."
    (likewise "bulk", "filter", "changePassword", "sort", "etag"), each with "supported: A Boolean
    value specifying whether or not the operation is supported. REQUIRED."
    """
    spc, response = _spc(ctx)
    problems = []
    for member in SPC_FEATURES:
        value = _lower_keys(spc.get(member.lower()))
        if not value:
            problems.append(f"{member} is missing")
        elif not isinstance(value.get("supported"), bool):
            problems.append(f"{member}.supported is not a boolean ({value.get('supported')!r})")
    ctx.expect(
        not problems,
        "; ".join(problems),
        actual={m: spc.get(m.lower()) for m in SPC_FEATURES},
        response=response,
    )


@check(
    "rfc7643-5-spc-bulk-limits",
    title="ServiceProviderConfig bulk has integer maxOperations and maxPayloadSize",
    section="RFC 7643 §5",
    level=Level.MUST,
    tags=("discovery", "bulk"),
    broken_by=(Quirk.SPC_INCOMPLETE,),
)
def spc_bulk_limits(ctx: CheckContext) -> None:
    """RFC 7643 §5, bulk: "maxOperations: An integer value specifying the maximum number of
    operations. REQUIRED." and "maxPayloadSize: An integer value specifying the maximum payload size
    in bytes. REQUIRED."
    """
    spc, response = _spc(ctx)
    bulk = _lower_keys(spc.get("bulk"))
    bad = [k for k in ("maxOperations", "maxPayloadSize") if not _is_int(bulk.get(k.lower()))]
    ctx.expect(not bad, f"bulk lacks integer {', '.join(bad)}", actual=spc.get("bulk"), response=response)


@check(
    "rfc7643-5-spc-filter-max-results",
    title="ServiceProviderConfig filter has an integer maxResults",
    section="RFC 7643 §5",
    level=Level.MUST,
    tags=("discovery", "filter"),
    broken_by=(Quirk.SPC_INCOMPLETE,),
)
def spc_filter_max_results(ctx: CheckContext) -> None:
    """RFC 7643 §5, filter: "maxResults: An integer value specifying the maximum number of resources
    returned in a response. REQUIRED."
    """
    spc, response = _spc(ctx)
    flt = _lower_keys(spc.get("filter"))
    ctx.expect(
        _is_int(flt.get("maxresults")),
        "filter lacks an integer maxResults",
        actual=spc.get("filter"),
        response=response,
    )


# -- query parameters on discovery endpoints (RFC 7644 §4) ----------------------------------------

DISCOVERY_ENDPOINTS = ("/ServiceProviderConfig", "/Schemas", "/ResourceTypes")


@check(
    "rfc7644-4-discovery-filter-403",
    title="A filter on a discovery endpoint answers 403 Forbidden",
    section="RFC 7644 §4",
    level=Level.SHOULD,
    tags=("discovery",),
    broken_by=(Quirk.DISCOVERY_FILTER_IGNORED,),
)
def discovery_filter_403(ctx: CheckContext) -> None:
    """RFC 7644 §4: "If a "filter" is provided, the service provider SHOULD respond with HTTP status
    code 403 (Forbidden) to ensure that clients cannot incorrectly assume that any matching
    conditions specified in a filter are true."
    """
    for endpoint in DISCOVERY_ENDPOINTS:
        response = ctx.client.get(endpoint, params={"filter": 'name eq "User"'})
        ctx.expect_status(
            response, 403, message=f"GET {endpoint}?filter=... answered {response.status}, not 403"
        )


def _listed_ids(ctx: CheckContext, endpoint: str, params: dict[str, str] | None = None) -> list[str]:
    response = ctx.client.get(endpoint, params=params)
    ctx.expect_status(response, 200)
    body = response.json()
    resources = body.get("Resources") if isinstance(body, dict) else body
    ctx.expect(isinstance(resources, list), f"{endpoint} returned no Resources", response=response)
    assert isinstance(resources, list)
    return sorted(str(r.get("id") or r.get("name")) for r in resources if isinstance(r, dict))


@check(
    "rfc7644-4-discovery-ignores-pagination",
    title="/Schemas and /ResourceTypes ignore startIndex, count and sortBy",
    section="RFC 7644 §4",
    level=Level.MUST,
    tags=("discovery", "pagination"),
    broken_by=(Quirk.DISCOVERY_PAGINATED,),
)
def discovery_ignores_pagination(ctx: CheckContext) -> None:
    """RFC 7644 §4: "Query parameters described in Section 3.4.2, such as filtering, sorting, and
    pagination, SHALL be ignored." The listing with `startIndex=2&count=1` is the whole listing.
    """
    for endpoint in ("/Schemas", "/ResourceTypes"):
        everything = _listed_ids(ctx, endpoint)
        paged = _listed_ids(ctx, endpoint, {"startIndex": "2", "count": "1", "sortBy": "id"})
        ctx.expect(
            paged == everything,
            f"{endpoint} applied pagination parameters it must ignore",
            expected=everything,
            actual=paged,
        )


# -- single discovery resources -------------------------------------------------------------------


@check(
    "rfc7644-4-schema-by-id",
    title="GET /Schemas/{id} returns that schema",
    section="RFC 7644 §4",
    level=Level.MAY,
    tags=("discovery", "schema"),
    broken_by=(Quirk.DISCOVERY_NO_SINGLE,),
)
def schema_by_id(ctx: CheckContext) -> None:
    """RFC 7644 §4: "Individual schema definitions can be returned by appending the schema URI to the
    /Schemas endpoint." and "In cases where a request is for a specific "ResourceType" or "Schema",
    the single JSON object is returned in the same way that a single User or Group is retrieved".
    "can": optional.
    """
    response = ctx.client.get(f"/Schemas/{CORE_USER}")
    ctx.expect_status(response, 200)
    ctx.validate_resource(response.json(), "Schema", response=response)
    ctx.expect(
        str((response.json() or {}).get("id", "")).lower() == CORE_USER.lower(),
        "GET /Schemas/{id} returned another schema",
        expected=CORE_USER,
        actual=(response.json() or {}).get("id"),
        response=response,
    )


@check(
    "rfc7644-4-resourcetype-by-name",
    title="GET /ResourceTypes/{name} returns that resource type",
    section="RFC 7644 §4",
    level=Level.MAY,
    tags=("discovery",),
    broken_by=(Quirk.DISCOVERY_NO_SINGLE,),
)
def resourcetype_by_name(ctx: CheckContext) -> None:
    """RFC 7644 §4: "In cases where a request is for a specific "ResourceType" or "Schema", the single
    JSON object is returned in the same way that a single User or Group is retrieved, as per Section
    3.4.1." The RFC names no URL form for a single resource type: optional.
    """
    rt = ctx.discovery.resource_type("User")
    name = (rt or {}).get("id") or (rt or {}).get("name") or "User"
    response = ctx.client.get(f"/ResourceTypes/{name}")
    ctx.expect_status(response, 200)
    ctx.validate_resource(response.json(), "ResourceType", response=response)
    ctx.expect(
        (response.json() or {}).get("schema") == CORE_USER,
        "GET /ResourceTypes/{name} did not return the User resource type",
        actual=response.json(),
        response=response,
    )


# -- schema and resource type contents (RFC 7643 §6, §7) ------------------------------------------

_TYPES = {"string", "boolean", "decimal", "integer", "datetime", "binary", "reference", "complex"}
_CHOICES = {
    "mutability": {"readonly", "readwrite", "immutable", "writeonly"},
    "returned": {"always", "never", "default", "request"},
    "uniqueness": {"none", "server", "global"},
}


def _attribute_problems(where: str, attribute: Any) -> list[str]:
    if not isinstance(attribute, dict):
        return [f"{where} is not an object"]
    a = _lower_keys(attribute)
    name = a.get("name")
    here = f"{where} ({name})" if isinstance(name, str) else where
    problems = []
    if not isinstance(name, str) or not name:
        problems.append(f"{here} has no name")
    if not isinstance(a.get("type"), str) or a["type"].lower() not in _TYPES:
        problems.append(f"{here} has no valid type ({a.get('type')!r})")
    if not isinstance(a.get("multivalued"), bool):
        problems.append(f"{here} has no boolean multiValued")
    for key, allowed in _CHOICES.items():
        if key in a and (not isinstance(a[key], str) or a[key].lower() not in allowed):
            problems.append(f"{here} has {key}={a[key]!r}")
    for key in ("required", "caseexact"):
        if key in a and not isinstance(a[key], bool):
            problems.append(f"{here} has a non-boolean {key}")
    for i, sub in enumerate(a.get("subattributes") or []):
        problems.extend(_attribute_problems(f"{here}.subAttributes[{i}]", sub))
    return problems


@check(
    "rfc7643-7-schema-attribute-characteristics",
    title="Every schema attribute has name, type and multiValued, and valid characteristics",
    section="RFC 7643 §7",
    level=Level.MUST,
    tags=("discovery", "schema"),
    broken_by=(Quirk.SCHEMA_ATTRS_INCOMPLETE,),
)
def schema_attribute_characteristics(ctx: CheckContext) -> None:
    """RFC 7643 §7: "name: The attribute's name.", "type: The attribute's data type. Valid values are
    "string", "boolean", "decimal", "integer", "dateTime", "reference", and "complex"" (and "binary",
    §2.3.6), "multiValued: A Boolean value indicating the attribute's plurality." (all three
    "required": true in the §8.7.2 definition of the Schema resource); "mutability", "returned" and
    "uniqueness" take only the values §7 lists. Sub-attributes are held to the same.
    """
    response = ctx.client.get("/Schemas")
    ctx.expect_status(response, 200)
    body = response.json()
    schemas = body.get("Resources") if isinstance(body, dict) else body
    ctx.expect(isinstance(schemas, list) and schemas, "/Schemas lists no schemas", response=response)
    assert isinstance(schemas, list)
    problems: list[str] = []
    for schema in schemas:
        sid = schema.get("id") if isinstance(schema, dict) else None
        for i, attribute in enumerate((schema.get("attributes") if isinstance(schema, dict) else None) or []):
            problems.extend(_attribute_problems(f"{sid} attributes[{i}]", attribute))
    ctx.expect(
        not problems,
        f"{len(problems)} attribute definition problem(s): " + "; ".join(problems[:8]),
        actual="\n".join(problems),
        response=response,
    )


@check(
    "rfc7643-6-resourcetype-endpoints-served",
    title="Every resource type's endpoint answers GET with a ListResponse",
    section="RFC 7643 §6",
    level=Level.MUST,
    tags=("discovery",),
    broken_by=(Quirk.RESOURCETYPE_WRONG_ENDPOINT,),
)
def resourcetype_endpoints_served(ctx: CheckContext) -> None:
    """RFC 7643 §6: "endpoint: The resource type's HTTP-addressable endpoint relative to the Base URL
    of the service provider, e.g., "/Users". REQUIRED." What /ResourceTypes declares must be served:
    a GET of the endpoint is a query (RFC 7644 §3.4.2) answered with a ListResponse.
    """
    types = ctx.discovery.resource_types
    ctx.expect(
        types,
        "/ResourceTypes lists no resource types",
        response=ctx.discovery.exchanges[-1] if ctx.discovery.exchanges else None,
    )
    for rt in types or []:
        endpoint = rt.get("endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            ctx.fail(f"resource type {rt.get('name')!r} has no endpoint", actual=rt)
        # "relative to the Base URL" (RFC 7643 §6); an absolute endpoint is resolved, same origin only
        response = ctx.client.get(ctx.client.endpoint_url(endpoint), params={"count": "1"})
        ctx.expect_status(
            response, 200, message=f"the {rt.get('name')} endpoint {endpoint} answered {response.status}"
        )
        body = response.json()
        ctx.expect(
            isinstance(body, dict) and LIST_RESPONSE in (body.get("schemas") or []),
            f"GET {endpoint} is not a ListResponse",
            response=response,
        )
