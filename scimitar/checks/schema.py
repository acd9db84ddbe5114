"""Resources as RFC 7643 defines them: schemas, types, attribute characteristics, Error bodies."""

from __future__ import annotations

from typing import Any

from scimitar.checks.context import CheckContext
from scimitar.checks.crud import (
    XSD_DATETIME,
    attr,
    body_of,
    created_body,
    empty_create,
    path_of,
    post_user,
    read,
    same_text,
    unknown_id,
)
from scimitar.checks.registry import Level, check
from scimitar.factory import having
from scimitar.quirks import Quirk
from scimitar.schema import CORE_USER, ENTERPRISE_USER


def _has_urn(body: Any, urn: str) -> bool:
    schemas = attr(body, "schemas")
    return isinstance(schemas, list) and any(same_text(s, urn) for s in schemas)


@check(
    "rfc7643-8.7.1-user-response-valid",
    title="User responses (create and read) validate against the RFC User schema",
    section="RFC 7643 §4.1, §8.7.1",
    level=Level.MUST,
    tags=("schema",),
    broken_by=(Quirk.RESOURCE_NO_SCHEMAS,),
)
def user_response_valid(ctx: CheckContext) -> None:
    """RFC 7643 §3: "The "schemas" attribute is a REQUIRED attribute"; §3.1: "Each representation of the
    resource MUST include a non-empty "id" value"; §2.3: attribute values have the types their
    definitions give (RFC 7643 §8.7.1 for User).
    """
    response = post_user(ctx, ctx.data.user())
    ctx.expect_status(response, 201, 200)
    if empty_create(response):  # no representation in the create response (a SHOULD): judge the read
        body = created_body(ctx, response, "POST /Users")
    else:
        body = body_of(ctx, response, "POST /Users")
        ctx.validate_resource(body, "User", response=response)
    fetched = ctx.client.get(path_of("/Users", body))
    ctx.expect_status(fetched, 200)
    ctx.validate_resource(fetched.json(), "User", response=fetched)


@check(
    "rfc7643-8.7.1-group-response-valid",
    title="Group responses validate against the RFC Group schema",
    section="RFC 7643 §4.2, §8.7.1",
    level=Level.MUST,
    tags=("schema", "groups"),
    needs=("groups",),
    broken_by=(Quirk.RESOURCE_NO_SCHEMAS,),
)
def group_response_valid(ctx: CheckContext) -> None:
    """RFC 7643 §3: "The "schemas" attribute is a REQUIRED attribute"; §4.2: "displayName: A
    human-readable name for the Group. REQUIRED."; types per RFC 7643 §8.7.1.
    """
    user = ctx.create_user()
    group = ctx.create_group(members=[{"value": user["id"]}])
    fetched = ctx.client.get(path_of("/Groups", group))
    ctx.expect_status(fetched, 200)
    ctx.validate_resource(fetched.json(), "Group", response=fetched)


@check(
    "rfc7643-3-list-resources-carry-schemas",
    title="Resources in a ListResponse carry their schemas",
    section="RFC 7643 §3",
    level=Level.MUST,
    tags=("schema", "filter"),
    needs=("filter",),
    broken_by=(Quirk.RESOURCE_NO_SCHEMAS,),
)
def list_resources_carry_schemas(ctx: CheckContext) -> None:
    """RFC 7643 §3: "schemas: The "schemas" attribute is a REQUIRED attribute and is an array of
    Strings containing URIs that are used to indicate the namespaces of the SCIM schemas that define
    the attributes present in the current JSON structure."
    """
    user = ctx.create_user()
    response = ctx.client.get("/Users", params={"filter": f'userName eq "{user["userName"]}"'})
    ctx.expect_status(response, 200)
    ctx.validate_list(response.json(), "User", response=response)
    resources = attr(response.json(), "Resources") or []
    ctx.expect(resources, "the filter on the created User's userName found nothing", response=response)
    bad = [attr(r, "id") for r in resources if not _has_urn(r, CORE_USER)]
    ctx.expect(not bad, f"listed Users lack {CORE_USER} in schemas", actual=bad, response=response)


@check(
    "rfc7643-3-extension-urn-in-schemas",
    title="A User with enterprise data lists the extension URN in schemas",
    section="RFC 7643 §3",
    level=Level.MUST,
    tags=("schema",),
    needs=("enterprise",),
    broken_by=(Quirk.RESOURCE_NO_SCHEMAS,),
)
def extension_urn_in_schemas(ctx: CheckContext) -> None:
    """RFC 7643 §3: "schemas ... an array of Strings containing URIs that are used to indicate the
    namespaces of the SCIM schemas that define the attributes present in the current JSON
    structure." Enterprise attributes present means the enterprise URN is listed.
    The "schemas" attribute "is a REQUIRED attribute" (RFC 7643 §3).
    """
    user = ctx.create_user(enterprise=True)
    body = read(ctx, path_of("/Users", user))
    if not attr(body, ENTERPRISE_USER):
        ctx.skip("the target returned no enterprise extension data for the User")
    ctx.expect(
        _has_urn(body, ENTERPRISE_USER) and _has_urn(body, CORE_USER),
        "schemas does not list both the core and the enterprise extension URN",
        expected=[CORE_USER, ENTERPRISE_USER],
        actual=attr(body, "schemas"),
    )


@check(
    "rfc7643-3.1-id-never-bulkid",
    title='A resource id is non-empty and never uses the reserved "bulkId"',
    section="RFC 7643 §3.1",
    level=Level.MUST,
    tags=("schema",),
    broken_by=(Quirk.READONLY_WRITABLE,),
)
def id_never_bulkid(ctx: CheckContext) -> None:
    """RFC 7643 §3.1: "Each representation of the resource MUST include a non-empty "id" value."
    and "The string "bulkId" is a reserved keyword and MUST NOT be used within any unique identifier
    value." Even a client sending "bulkId" as the id must not get it.
    """
    response = post_user(ctx, ctx.data.user(id="bulkId"))
    if response.status == 400:
        response = post_user(ctx, ctx.data.user())
    ctx.expect_status(response, 201, 200)
    rid = attr(created_body(ctx, response, "POST /Users"), "id")
    ctx.expect(
        isinstance(rid, str) and rid.strip() and "bulkId" not in rid,
        "the created resource's id is empty or uses the reserved bulkId",
        actual=rid,
        response=response,
    )


@check(
    "rfc7643-2.3.5-meta-datetimes-xsd",
    title="meta.created and meta.lastModified are xsd:dateTime values",
    section="RFC 7643 §2.3.5",
    level=Level.MUST,
    tags=("schema",),
    broken_by=(Quirk.DATETIME_NOT_XSD,),
)
def meta_datetimes_xsd(ctx: CheckContext) -> None:
    """RFC 7643 §2.3.5: "dateTime: A DateTime value (e.g., 2008-01-23T04:56:22Z). The attribute value
    MUST be encoded as a valid xsd:dateTime as specified in Section 3.3.7 of [XML-Schema]"."""
    user = ctx.create_user()
    meta = attr(read(ctx, path_of("/Users", user)), "meta")
    if not isinstance(meta, dict):
        ctx.skip("the target returns no meta")
    bad = {
        k: attr(meta, k)
        for k in ("created", "lastModified")
        if attr(meta, k) is not None and not XSD_DATETIME.match(str(attr(meta, k)))
    }
    ctx.expect(
        not bad, "meta dateTime values are not xsd:dateTime", expected="e.g. 2008-01-23T04:56:22Z", actual=bad
    )


@check(
    "rfc7643-2.3.2-active-json-boolean",
    title="active is a JSON boolean",
    section="RFC 7643 §2.3.2",
    level=Level.MUST,
    tags=("schema",),
    broken_by=(Quirk.ACTIVE_AS_STRING,),
)
def active_json_boolean(ctx: CheckContext) -> None:
    """RFC 7643 §2.3.2: "Boolean: The literal "true" or "false"." and §4.1.1 defines `active` as a
    Boolean; a JSON string "true" is not the literal.
    """
    user = ctx.create_user(active=True)
    body = read(ctx, path_of("/Users", user))
    value = attr(body, "active")
    if value is None:
        ctx.not_exercised("the User read back carries no `active` to judge")
        return
    ctx.expect(
        isinstance(value, bool),
        "active is not a JSON boolean",
        expected="true",
        actual=repr(value),
    )


@check(
    "rfc7644-3.12-error-bodies-are-scim-errors",
    title="404 and 400 answers carry SCIM Error bodies",
    section="RFC 7644 §3.12",
    level=Level.MUST,
    tags=("schema", "errors"),
    broken_by=(Quirk.ERROR_NO_SCHEMAS, Quirk.ERROR_STATUS_NUMBER),
)
def error_bodies_are_scim_errors(ctx: CheckContext) -> None:
    """RFC 7644 §3.12: "In addition to returning an HTTP response code, implementers MUST return the
    errors in the body of the response in a JSON format, using the attributes described below.
    Error responses are identified using the following "schema" URI:
    "urn:ietf:params:scim:api:messages:2.0:Error"." and "status: The HTTP status code ... expressed
    as a JSON string. REQUIRED." Which status an unknown id gets is a SHOULD (Table 8); any error
    status is held to the body format here.
    """
    missing = ctx.client.get(f"/Users/{unknown_id()}")
    if missing.status < 400:  # the status is Table 8's SHOULD (rfc7644-3.12-error-404-unknown-id)
        ctx.not_exercised(f"GET of an unknown id answered {missing.status}, not an error")
    else:
        ctx.validate_error(missing.json(), response=missing)
        ctx.expect(
            attr(missing.json(), "status") == str(missing.status),
            "Error status is not the HTTP status code as a string",
            expected=str(missing.status),
            actual=attr(missing.json(), "status"),
            response=missing,
        )
    invalid = post_user(ctx, {"userName": ctx.data.user_name()})  # no "schemas": invalidSyntax / invalidValue
    if invalid.status == 400:
        ctx.validate_error(invalid.json(), response=invalid)


@check(
    "rfc7643-4.1.1-username-required",
    title="A User without a non-empty userName is refused, not created",
    section="RFC 7643 §4.1.1",
    level=Level.MUST,
    tags=("schema",),
    broken_by=(Quirk.REQUIRED_NOT_ENFORCED,),
)
def username_required(ctx: CheckContext) -> None:
    """RFC 7643 §4.1.1: "Each User MUST include a non-empty userName value. ... REQUIRED." A create
    that succeeds breaks the MUST. Which error answers it is only a SHOULD (RFC 7644 §3.12:
    "Implementers SHOULD handle the identified HTTP status codes as described below"; Table 9
    "invalidValue: A required value was missing"), checked by rfc7644-3.12-missing-required-400.
    """
    for overrides in ({"userName": None}, {"userName": ""}):
        response = post_user(ctx, ctx.data.user(**overrides))
        label = "without userName" if overrides["userName"] is None else 'with userName ""'
        ctx.expect(
            not 200 <= response.status < 300,
            f"POST of a User {label} answered {response.status}: the User was created",
            expected="an error (400 invalidValue)",
            actual=response.status,
            response=response,
        )


@check(
    "rfc7643-4.2-group-displayname-required",
    title="Creating a Group without displayName is refused (4xx), not created",
    section="RFC 7643 §4.2",
    level=Level.MUST,
    tags=("schema", "groups"),
    needs=("groups",),
    broken_by=(Quirk.REQUIRED_NOT_ENFORCED,),
)
def group_displayname_required(ctx: CheckContext) -> None:
    """RFC 7643 §4.2: "displayName: A human-readable name for the Group. REQUIRED." A create that
    succeeds breaks it. Which error answers is only a SHOULD (RFC 7644 §3.12: "Implementers SHOULD
    handle the identified HTTP status codes as described below"; Table 9 "invalidValue: A required
    value was missing", with 400), so any client error passes this MUST.
    """
    payload = ctx.data.group(displayName=None)
    response = ctx.client.post("/Groups", json=payload)
    ctx.expect(
        400 <= response.status < 500,
        f"POST of a Group without displayName answered {response.status}",
        expected="a client error (400 invalidValue)",
        actual=response.status,
        response=response,
    )


def _primaries(body: Any, name: str = "emails") -> list[Any]:
    """The `name` values of `body` that say `"primary": true` (names matched case-insensitively)."""
    emails = attr(body, name)
    if not isinstance(emails, list):
        return []
    return [attr(e, "value") for e in emails if isinstance(e, dict) and attr(e, "primary") is True]


@check(
    "rfc7643-2.4-primary-at-most-once",
    title="A User created with two primary emails is refused or keeps at most one primary",
    section="RFC 7643 §2.4",
    level=Level.MUST,
    tags=("schema",),
    broken_by=(Quirk.PRIMARY_DUPLICATES_KEPT,),
)
def primary_at_most_once(ctx: CheckContext) -> None:
    """RFC 7643 §2.4: "The primary attribute value "true" MUST appear no more than once." The RFC
    does not say how a server meets this for a create that sends two primary values: refusing it
    (any 4xx) passes, and so does storing it with at most one of them primary. What fails is a
    created User whose response or stored representation shows two primary emails. (The PATCH
    case is rfc7644-3.5.2-patch-primary-unique.)
    """
    multi = ctx.need(
        ctx.data.multi_complex_with("primary"), "writable multi-valued complex attribute with 'primary'"
    )
    value_attr = multi.attribute.sub("value")
    assert value_attr is not None
    values = [{"value": ctx.data.value_for(value_attr, multi.attribute.name), "primary": True} for _ in "ab"]
    payload = ctx.data.user(**having(multi.attribute.name, values))
    response = post_user(ctx, payload)
    if 400 <= response.status < 500:
        ctx.evaluated()  # refused: the MUST holds
        return
    ctx.expect_status(
        response,
        201,
        200,
        message=f"POST of a User with two primary emails answered {response.status}, not 4xx or 201",
    )
    body = body_of(ctx, response, "POST /Users")
    shown = _primaries(body, multi.attribute.name)
    ctx.expect(
        len(shown) <= 1,
        'the created User, as returned, has more than one email with "primary": true',
        expected="at most one primary email",
        actual=shown,
        response=response,
    )
    stored = _primaries(read(ctx, path_of("/Users", body)), multi.attribute.name)
    ctx.expect(
        len(stored) <= 1,
        'the created User, read back, has more than one email with "primary": true',
        expected="at most one primary email",
        actual=stored,
    )


def _declared_sub(ctx: CheckContext, schema_id: str, attribute: str, sub: str) -> dict[str, Any] | None:
    """The target's `/Schemas` definition of `attribute.sub` in `schema_id`; None if it does not say.
    Raises CheckSkipped when the target publishes the attribute without that sub-attribute."""
    for schema in ctx.discovery.schemas or []:
        if str(schema.get("id", "")).lower() != schema_id.lower():
            continue
        for a in schema.get("attributes") or []:
            if isinstance(a, dict) and str(a.get("name", "")).lower() == attribute.lower():
                for s in a.get("subAttributes") or []:
                    if isinstance(s, dict) and str(s.get("name", "")).lower() == sub.lower():
                        return s
                ctx.skip(f"the target's /Schemas declares {attribute} without a {sub} sub-attribute")
        ctx.skip(f"the target's /Schemas declares no {attribute} attribute for {schema_id}")
    return None


@check(
    "rfc7643-7-canonical-values-are-suggestions",
    title="An `emails` type outside the declared canonicalValues is accepted (kept or ignored), not refused",
    section="RFC 7643 §7, §2.4",
    level=Level.SHOULD,
    tags=("schema",),
    needs=("users",),
    broken_by=(Quirk.CANONICAL_VALUES_ENFORCED,),
)
def canonical_values_are_suggestions(ctx: CheckContext) -> None:
    """RFC 7643 §7: "canonicalValues: A collection of suggested canonical values that MAY be used
    (e.g., "work" and "home"). In some cases, service providers MAY choose to ignore unsupported
    values. OPTIONAL." and §2.4: "type: A label indicating the attribute's function, e.g., "work" or
    "home"." The values are suggestions, and the RFC's allowance for a value the provider does not
    support is to ignore it; refusing the whole User deviates. No keyword forbids the refusal, so
    it is reported at SHOULD. The label sent is one the target's `/Schemas` does not list.
    """
    declared = _declared_sub(ctx, CORE_USER, "emails", "type")
    listed = [str(v) for v in (declared or {}).get("canonicalValues") or []]
    label = "scimitarlabel"
    name = ctx.data.user_name()
    payload = ctx.data.user(
        userName=name,
        emails=[{"value": name, "type": "work", "primary": True}, {"value": f"x.{name}", "type": label}],
    )
    response = post_user(ctx, payload)
    ctx.expect(
        response.status in (200, 201),
        f"a User whose second email has the type {label!r} (not among the declared canonicalValues "
        f"{listed or 'of RFC 7643 §4.1.2'}) was refused with {response.status}",
        expected="201: the value kept, or ignored",
        actual=response.status,
        response=response,
    )
    created = body_of(ctx, response, "POST /Users")
    ctx.expect(
        isinstance(attr(created, "id"), str) and bool(attr(created, "id")),
        f"the create answered {response.status} without the created User",
        expected="the created User with its id",
        response=response,
    )
