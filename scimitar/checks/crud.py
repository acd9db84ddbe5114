"""Create, read and delete (RFC 7644 §3.3, §3.4.1, §3.6) and the `meta` they return (RFC 7643 §3.1).

Also the small helpers the sibling modules (put, uniqueness, groups, schema) share: case-insensitive
attribute access (RFC 7643 §2.1), dateTime parsing, and resource paths built from ids.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime
from typing import Any

from scimitar.checks.assertions import require
from scimitar.checks.context import CheckContext
from scimitar.checks.registry import Level, check
from scimitar.quirks import Quirk
from scimitar.schema import CORE_GROUP, ENTERPRISE_USER, PATCH_OP
from scimitar.target import ScimResponse

# -- helpers shared by the resource modules -------------------------------------------------------


def attr(body: Any, *names: str) -> Any:
    """`body[names[0]][names[1]]...` with attribute names matched case-insensitively (RFC 7643 §2.1)."""
    value = body
    for name in names:
        if not isinstance(value, dict):
            return None
        lowered = name.lower()
        value = next((v for k, v in value.items() if isinstance(k, str) and k.lower() == lowered), None)
    return value


def same_text(a: Any, b: Any) -> bool:
    """Equality of `caseExact: false` strings."""
    return isinstance(a, str) and isinstance(b, str) and a.casefold() == b.casefold()


def values_of(body: Any, name: str) -> list[Any]:
    """The `value` sub-attributes of a multi-valued attribute (emails, members, groups)."""
    items = attr(body, name)
    if not isinstance(items, list):
        return []
    return [attr(item, "value") for item in items if isinstance(item, dict)]


#: xsd:dateTime (XML Schema 1.1 Part 2 §3.3.7): date `T` time, optional fraction and zone.
XSD_DATETIME = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def parse_datetime(value: Any) -> datetime | None:
    """An aware datetime from an xsd:dateTime string, or None if it is not one."""
    if not isinstance(value, str) or not XSD_DATETIME.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def path_of(endpoint: str, resource: dict[str, Any]) -> str:
    return f"{endpoint}/{resource['id']}"


def unknown_id() -> str:
    return str(uuid.uuid4())


def body_of(ctx: CheckContext, response: ScimResponse, what: str) -> dict[str, Any]:
    """The response's JSON object, or a failure naming what was expected."""
    body = response.json()
    ctx.expect(
        isinstance(body, dict),
        f"{what}: the response body is not a JSON object",
        actual=response.text[:200],
        response=response,
    )
    assert isinstance(body, dict)
    return body


def created_body(ctx: CheckContext, response: ScimResponse, what: str) -> dict[str, Any]:
    """The resource a successful create made: its response body, or, when a 2xx create carries
    none, what its Location answers (setup, not counted). RFC 7644 §3.3: the body only "SHOULD
    contain the service provider's "representation" of the newly created resource"
    (rfc7644-3.3-create-returns-representation judges that), so its absence fails no other check."""
    body = response.json()
    if 200 <= response.status < 300 and not body and response.location:
        return read(ctx, ctx.client.resolve(response.location, "Location"))
    return body_of(ctx, response, what)


def empty_create(response: ScimResponse) -> bool:
    """A 2xx create that carries no representation (allowed: RFC 7644 §3.3 says SHOULD)."""
    return 200 <= response.status < 300 and not response.json()


def read(ctx: CheckContext, path: str) -> dict[str, Any]:
    """GET a resource this check created; anything but 200 fails the check's setup. Reading back
    is setup: it does not count as exercising the check's requirement."""
    return judge_read(ctx, path, ctx.client.get(path))


def judge_read(ctx: CheckContext, path: str, response: ScimResponse) -> dict[str, Any]:
    """`read`'s verdict on a GET of `path` already sent (e.g. several sent side by side by
    `ctx.map`, then judged in order): anything but 200 with a body fails the check's setup."""
    with ctx.setup():
        ctx.expect_status(response, 200, message=f"setup failed: GET {path} answered {response.status}")
        return body_of(ctx, response, f"GET {path}")


def post_user(ctx: CheckContext, payload: dict[str, Any]) -> ScimResponse:
    """POST /Users (the client records whatever got created in the ledger)."""
    return ctx.client.post("/Users", json=payload)


def full_user(resource: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A PUT body: the resource without readOnly members (`id`, `meta`, `groups`), plus changes."""
    body = {k: v for k, v in resource.items() if k.lower() not in ("id", "meta", "groups")}
    body.update(changes)
    return body


# -- create ---------------------------------------------------------------------------------------


@check(
    "rfc7644-3.3-create-user-201",
    title="Creating a User answers 201 Created",
    section="RFC 7644 §3.3",
    level=Level.MUST,
    tags=("crud",),
    broken_by=(Quirk.CREATE_200,),
)
def create_user_201(ctx: CheckContext) -> None:
    """RFC 7644 §3.3: "When the service provider successfully creates the new resource, an HTTP
    response SHALL be returned with HTTP status code 201 (Created)."
    """
    response = post_user(ctx, ctx.data.user())
    ctx.expect_status(response, 201)


@check(
    "rfc7644-3.3-create-location-header",
    title="Create answers a Location header equal to meta.location",
    section="RFC 7644 §3.3",
    level=Level.MUST,
    tags=("crud",),
    broken_by=(Quirk.CREATE_NO_LOCATION,),
)
def create_location_header(ctx: CheckContext) -> None:
    """RFC 7644 §3.3: "The URI of the created resource SHALL include, in the HTTP "Location" header
    and the HTTP body, a JSON representation [RFC7159] with the attribute "meta.location"." Both
    name the one created resource, so they must be the same URI.
    """
    response = post_user(ctx, ctx.data.user())
    ctx.expect_status(response, 201, 200)
    require(ctx, "location-matches-meta", response, "the create response")


@check(
    "rfc7644-3.3-create-returns-representation",
    title="Create answers with the created resource in the body",
    section="RFC 7644 §3.3",
    level=Level.SHOULD,
    tags=("crud",),
    broken_by=(Quirk.CREATE_EMPTY_BODY,),
)
def create_returns_representation(ctx: CheckContext) -> None:
    """RFC 7644 §3.3: "The response body SHOULD contain the service provider's "representation" of
    the newly created resource."
    """
    payload = ctx.data.user()
    response = post_user(ctx, payload)
    ctx.expect_status(response, 201, 200)
    body = response.json()
    ctx.expect(isinstance(body, dict) and body, "the create response has no body", response=response)
    ctx.expect(
        isinstance(attr(body, "id"), str) and same_text(attr(body, "userName"), payload["userName"]),
        "the create response body is not the created User (id and userName)",
        expected={"userName": payload["userName"], "id": "<assigned>"},
        actual={"id": attr(body, "id"), "userName": attr(body, "userName")},
        response=response,
    )


@check(
    "rfc7643-3.1-create-meta",
    title="A created resource carries meta.resourceType, created, lastModified and location",
    section="RFC 7643 §3.1",
    level=Level.SHOULD,
    tags=("crud",),
    broken_by=(Quirk.META_MISSING,),
)
def create_meta(ctx: CheckContext) -> None:
    """RFC 7643 §3.1: "meta: A complex attribute containing resource metadata. All "meta"
    sub-attributes are assigned by the service provider (have a "mutability" of "readOnly"), and all
    of these sub-attributes have a "returned" characteristic of "default"." No keyword makes
    "resourceType", "created" or "lastModified" REQUIRED, so their absence is reported at SHOULD;
    the one MUST here, "meta.location" in the create response (RFC 7644 §3.3), is held by
    rfc7644-3.3-create-location-header.
    """
    response = post_user(ctx, ctx.data.user())
    ctx.expect_status(response, 201, 200)
    body = body_of(ctx, response, "POST /Users")
    meta = attr(body, "meta")
    ctx.expect(isinstance(meta, dict), "the created User has no meta", response=response)
    missing = [k for k in ("resourceType", "created", "lastModified", "location") if not attr(meta, k)]
    ctx.expect(not missing, f"meta lacks {', '.join(missing)}", actual=meta, response=response)
    name = (ctx.discovery.resource_type("User") or {}).get("name") or "User"
    ctx.expect(
        attr(meta, "resourceType") == name,
        "meta.resourceType is not the name of the User resource type",
        expected=name,
        actual=attr(meta, "resourceType"),
        response=response,
    )


@check(
    "rfc7643-3.1-new-lastmodified-equals-created",
    title="A never-modified resource has meta.lastModified equal to meta.created",
    section="RFC 7643 §3.1",
    level=Level.MUST,
    tags=("crud",),
    broken_by=(Quirk.META_LAST_MODIFIED_SKEW,),
)
def new_lastmodified_equals_created(ctx: CheckContext) -> None:
    """RFC 7643 §3.1, lastModified: "If this resource has never been modified since its initial
    creation, the value MUST be the same as the value of "created"." Compared as instants. A
    resource that carries neither value is not judged (rfc7643-3.1-create-meta reports that).
    """
    user = ctx.create_user()
    body = read(ctx, path_of("/Users", user))
    if attr(body, "meta", "created") is None or attr(body, "meta", "lastModified") is None:
        ctx.skip("the User carries no meta.created or meta.lastModified to compare")
    created = parse_datetime(attr(body, "meta", "created"))
    modified = parse_datetime(attr(body, "meta", "lastModified"))
    ctx.expect(
        created is not None and modified is not None,
        "meta.created or meta.lastModified is missing or not a dateTime",
        actual=attr(body, "meta"),
    )
    ctx.expect(
        created == modified,
        "meta.lastModified of a never-modified User differs from meta.created",
        expected=attr(body, "meta", "created"),
        actual=attr(body, "meta", "lastModified"),
    )


@check(
    "rfc7644-3.3-created-readable-at-location",
    title="The created resource is readable at its Location",
    section="RFC 7644 §3.3",
    level=Level.MUST,
    tags=("crud",),
    broken_by=(Quirk.LOCATION_NO_BASE_PATH,),
)
def created_readable_at_location(ctx: CheckContext) -> None:
    """RFC 7644 §3.3: "The URI of the created resource SHALL include, in the HTTP "Location" header
    and the HTTP body, a JSON representation [RFC7159] with the attribute "meta.location"." A GET of
    that URI must return the same resource (same "id").
    """
    response = post_user(ctx, ctx.data.user())
    ctx.expect_status(response, 201, 200)
    body = response.json() if empty_create(response) else body_of(ctx, response, "POST /Users")
    location = response.location or attr(body, "meta", "location")
    ctx.expect(isinstance(location, str) and location, "no Location and no meta.location", response=response)
    what = "Location" if response.location else "meta.location"
    fetched = ctx.client.get(ctx.client.resolve(str(location), what))  # RFC 3986 §5.2, same origin only
    ctx.expect_status(
        fetched, 200, message=f"GET of the created resource's Location answered {fetched.status}"
    )
    if not body:  # no representation to compare with: the Location must at least name a User
        ctx.expect(bool(attr(fetched.json(), "id")), "the resource at Location has no id", response=fetched)
        return
    ctx.expect(
        attr(fetched.json(), "id") == body.get("id"),
        "the resource at Location is not the one created",
        expected=body.get("id"),
        actual=attr(fetched.json(), "id"),
        response=fetched,
    )


@check(
    "rfc7643-3.1-client-id-ignored",
    title="An id sent by the client on create is not used",
    section="RFC 7643 §3.1",
    level=Level.MUST,
    tags=("crud",),
    broken_by=(Quirk.READONLY_WRITABLE,),
)
def client_id_ignored(ctx: CheckContext) -> None:
    """RFC 7643 §3.1: "The value of the "id" attribute is always issued by the service provider and
    MUST NOT be specified by the client." The server may refuse the request (a 4xx) or ignore the
    value; it must not adopt it. Binding on the server: `id` has "mutability" "readOnly" (RFC
    7643 §3.1), and RFC 7643 §7 defines it as "readOnly: The attribute SHALL NOT be modified."
    """
    wanted = f"{ctx.data.prefix}client-chosen-id"
    response = post_user(ctx, ctx.data.user(id=wanted))
    if 400 <= response.status < 500:
        ctx.evaluated()  # refused: the id was not adopted
        return
    ctx.expect_status(response, 201, 200)
    issued = attr(created_body(ctx, response, "POST /Users"), "id")
    ctx.expect(
        isinstance(issued, str) and bool(issued),
        f"the create answered {response.status} without a resource carrying an id",
        expected="the created User with its service-provider issued id",
        actual=response.json() if isinstance(response.json(), dict) else response.headers.get("content-type"),
        response=response,
    )
    ctx.expect(
        issued != wanted,
        "the server adopted the id the client sent",
        expected="a service-provider issued id",
        actual=wanted,
        response=response,
    )


# -- read and delete ------------------------------------------------------------------------------


@check(
    "rfc7644-3.6-delete-204",
    title="DELETE answers 204 No Content",
    section="RFC 7644 §3.6",
    level=Level.MUST,
    tags=("crud",),
    broken_by=(Quirk.DELETE_200,),
)
def delete_204(ctx: CheckContext) -> None:
    """RFC 7644 §3.6: "In response to a successful DELETE, the server SHALL return a successful HTTP
    status code 204 (No Content)."
    """
    user = ctx.create_user()
    response = ctx.client.delete(path_of("/Users", user))
    ctx.expect_status(response, 204)


@check(
    "rfc7644-3.6-deleted-get-404",
    title="A deleted resource answers 404 to GET",
    section="RFC 7644 §3.6",
    level=Level.MUST,
    tags=("crud",),
    broken_by=(Quirk.DELETED_STILL_READABLE, Quirk.SOFT_DELETE),
)
def deleted_get_404(ctx: CheckContext) -> None:
    """RFC 7644 §3.6: "Service providers MAY choose not to permanently delete the resource but MUST
    return a 404 (Not Found) error code for all operations associated with the previously deleted
    resource."
    """
    user = ctx.create_user()
    path = path_of("/Users", user)
    deleted = ctx.client.delete(path)
    with ctx.setup():
        ctx.expect_status(deleted, 204, 200, message=f"setup failed: DELETE answered {deleted.status}")
    ctx.expect_status(ctx.client.get(path), 404)


@check(
    "rfc7644-3.6-deleted-omitted-from-queries",
    title="A deleted resource is omitted from query results",
    section="RFC 7644 §3.6",
    level=Level.MUST,
    tags=("crud", "filter"),
    needs=("filter",),
    broken_by=(Quirk.DELETED_STILL_READABLE, Quirk.SOFT_DELETE),
)
def deleted_omitted_from_queries(ctx: CheckContext) -> None:
    """RFC 7644 §3.6: "Service providers MUST omit the resource from future query results.\""""
    user = ctx.create_user()
    deleted = ctx.client.delete(path_of("/Users", user))
    with ctx.setup():
        ctx.expect_status(deleted, 204, 200, message=f"setup failed: DELETE answered {deleted.status}")
    response = ctx.client.get("/Users", params={"filter": f'userName eq "{user["userName"]}"'})
    ctx.expect_status(response, 200)
    ids = [attr(r, "id") for r in attr(response.json(), "Resources") or []]
    ctx.expect(
        user["id"] not in ids,
        "a filter still returns the deleted User",
        actual=ids,
        response=response,
    )


@check(
    "rfc7644-3.6-delete-again-404",
    title="DELETE of an already deleted id answers 404",
    section="RFC 7644 §3.6",
    level=Level.MUST,
    tags=("crud",),
    broken_by=(Quirk.DELETE_IDEMPOTENT_204, Quirk.SOFT_DELETE),
)
def delete_again_404(ctx: CheckContext) -> None:
    """RFC 7644 §3.6: "Service providers MAY choose not to permanently delete the resource but MUST
    return a 404 (Not Found) error code for all operations associated with the previously deleted
    resource." A DELETE of an id that never existed is only Table 8's "Specified resource (e.g.,
    User) or endpoint does not exist." under "Implementers SHOULD handle the identified HTTP status
    codes as described below", so it is not judged at this MUST.
    """
    user = ctx.create_user()
    path = path_of("/Users", user)
    first = ctx.client.delete(path)
    with ctx.setup():
        ctx.expect_status(first, 204, 200, message=f"setup failed: DELETE answered {first.status}")
    ctx.expect_status(ctx.client.delete(path), 404, message="a second DELETE did not answer 404")


@check(
    "rfc7644-3.6-deleted-writes-404",
    title="PUT and PATCH of a deleted User answer 404 (a soft delete stays deleted)",
    section="RFC 7644 §3.6",
    level=Level.MUST,
    tags=("crud",),
    broken_by=(Quirk.SOFT_DELETE, Quirk.DELETED_STILL_READABLE),
)
def deleted_writes_404(ctx: CheckContext) -> None:
    """RFC 7644 §3.6: "Service providers MAY choose not to permanently delete the resource but MUST
    return a 404 (Not Found) error code for all operations associated with the previously deleted
    resource." Keeping a deleted User (a soft delete, often as `active: false`) is allowed; writing
    to it is not: a replace or a PATCH must answer 404 like the GET
    (`rfc7644-3.6-deleted-get-404`), so no client can bring a deleted User back by its old id.
    PATCH is left out where the ServiceProviderConfig says patch.supported=false.
    """
    user = ctx.create_user()
    path = path_of("/Users", user)
    deleted = ctx.client.delete(path)
    ctx.expect_status(deleted, 204, 200, message=f"setup failed: DELETE answered {deleted.status}")
    put = ctx.client.put(path, json=full_user(user))
    ctx.expect_status(put, 404, message=f"PUT of the deleted User answered {put.status}, expected 404")
    if ctx.features.patch is False:
        return
    patch = ctx.client.patch(
        path,
        json={
            "schemas": [PATCH_OP],
            # userName is required in every User schema: the only attribute surely declared
            "Operations": [{"op": "replace", "path": "userName", "value": user["userName"]}],
        },
    )
    ctx.expect_status(patch, 404, message=f"PATCH of the deleted User answered {patch.status}, expected 404")


# -- update metadata ------------------------------------------------------------------------------


@check(
    "rfc7643-3.1-lastmodified-advances",
    title="An update advances meta.lastModified",
    section="RFC 7643 §3.1",
    level=Level.SHOULD,
    tags=("crud", "put"),
    broken_by=(Quirk.VERSION_UNCHANGED,),
)
def lastmodified_advances(ctx: CheckContext) -> None:
    """RFC 7643 §3.1: "lastModified: The most recent DateTime that the details of this resource were
    updated at the service provider." A replaced resource was updated, so the value moves on (the
    RFC states the meaning without a keyword: reported as SHOULD).
    """
    user = ctx.create_user()
    before = attr(read(ctx, path_of("/Users", user)), "meta", "lastModified")
    time.sleep(0.02)
    changed = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    response = ctx.client.put(
        path_of("/Users", user), json=changed.set(full_user(user), f"{ctx.data.prefix}updated")
    )
    with ctx.setup():
        ctx.expect_status(response, 200, 204, message=f"setup failed: PUT answered {response.status}")
    after_body = read(ctx, path_of("/Users", user))
    after = attr(after_body, "meta", "lastModified")
    old, new = parse_datetime(before), parse_datetime(after)
    ctx.expect(old is not None and new is not None, "meta.lastModified is missing or not a dateTime")
    assert old is not None and new is not None
    if new == old and "." not in str(after) and attr(after_body, "meta", "version") is None:
        ctx.skip("lastModified has one-second precision and no meta.version: the change cannot be seen")
    ctx.expect(
        new > old, "meta.lastModified did not advance after an update", expected=f"> {before}", actual=after
    )


# -- groups and extensions ------------------------------------------------------------------------


@check(
    "rfc7644-3.3-group-lifecycle",
    title="A Group is created (201), read, deleted (204) and then gone (404)",
    section="RFC 7644 §3.3, §3.6",
    level=Level.MUST,
    tags=("crud", "groups"),
    needs=("groups",),
    broken_by=(Quirk.CREATE_200, Quirk.DELETED_STILL_READABLE),
)
def group_lifecycle(ctx: CheckContext) -> None:
    """RFC 7644 §3.3: "an HTTP response SHALL be returned with HTTP status code 201 (Created)";
    RFC 7644 §3.6: "the server SHALL return a successful HTTP status code 204 (No Content)" and
    "MUST return a 404 (Not Found) error code for all operations associated with the previously
    deleted resource."
    """
    payload = ctx.data.group()
    created = ctx.client.post("/Groups", json=payload)
    ctx.expect_status(created, 201)
    body = created_body(ctx, created, "POST /Groups")
    path = path_of("/Groups", body)
    group = read(ctx, path)
    ctx.expect(
        attr(group, "displayName") == payload["displayName"] and CORE_GROUP in (attr(group, "schemas") or []),
        "the Group read back is not the one created",
        expected=payload["displayName"],
        actual=attr(group, "displayName"),
    )
    ctx.expect_status(ctx.client.delete(path), 204)
    ctx.expect_status(ctx.client.get(path), 404)


@check(
    "rfc7643-3.3-enterprise-round-trip",
    title="Enterprise extension attributes sent on create are stored and returned",
    section="RFC 7643 §3.3, §4.3",
    level=Level.SHOULD,
    tags=("crud",),
    needs=("enterprise",),
    broken_by=(Quirk.EXTENSION_DROPPED,),
)
def enterprise_round_trip(ctx: CheckContext) -> None:
    """RFC 7643 §3.3: "Schema extensions ... the attributes of the extension are contained in a
    sub-object named by the extension's schema URI" and the target lists the enterprise extension
    for its User resource type, so the readWrite attributes it accepted are returned (RFC 7643 §2.4
    "returned: default"). RFC 7644 §3.3 lets a server alter POSTed content, hence SHOULD.
    """
    payload = ctx.data.user(enterprise=True)
    response = post_user(ctx, payload)
    with ctx.setup():
        ctx.expect_status(response, 201, 200, message=f"setup failed: POST /Users answered {response.status}")
    user = body_of(ctx, response, "POST /Users")
    body = read(ctx, path_of("/Users", user))
    sent = payload[ENTERPRISE_USER]
    got = attr(body, ENTERPRISE_USER)
    wrong = {k: attr(got, k) for k, v in sent.items() if attr(got, k) != v}
    ctx.expect(
        not wrong,
        "enterprise extension attributes were not returned as sent",
        expected=sent,
        actual=got,
    )
    ctx.expect(
        any(same_text(s, ENTERPRISE_USER) for s in attr(body, "schemas") or []),
        "schemas lacks the enterprise extension URN",
        actual=attr(body, "schemas"),
    )


# -- Group meta (issue 9.9: only User meta was checked) ---------------------------------------------


def _group_meta(ctx: CheckContext) -> tuple[ScimResponse, dict[str, Any], dict[str, Any]]:
    """Create a Group; return the create response, its body and the Group read back."""
    response = ctx.client.post("/Groups", json=ctx.data.group())
    ctx.expect_status(response, 201, 200)
    body = created_body(ctx, response, "POST /Groups")
    return response, body, read(ctx, path_of("/Groups", body))


@check(
    "rfc7643-3.1-group-meta",
    title="A created Group carries meta.resourceType, created, lastModified and location",
    section="RFC 7643 §3.1",
    level=Level.SHOULD,
    tags=("crud", "groups"),
    needs=("groups",),
    broken_by=(Quirk.GROUP_META_MISSING, Quirk.META_MISSING),
)
def group_meta(ctx: CheckContext) -> None:
    """RFC 7643 §3.1: "meta: A complex attribute containing resource metadata. All "meta"
    sub-attributes are assigned by the service provider (have a "mutability" of "readOnly"), and all
    of these sub-attributes have a "returned" characteristic of "default"." Held for Groups as
    rfc7643-3.1-create-meta holds it for Users, on the create response and on a read: no keyword
    makes the sub-attributes REQUIRED, so their absence is reported at SHOULD.
    """
    response, body, stored = _group_meta(ctx)
    name = (ctx.discovery.resource_type("Group") or {}).get("name") or "Group"
    for what, resource in (("the create response", body), ("the Group read back", stored)):
        meta = attr(resource, "meta")
        missing = [k for k in ("resourceType", "created", "lastModified", "location") if not attr(meta, k)]
        ctx.expect(not missing, f"{what}: meta lacks {', '.join(missing)}", actual=meta, response=response)
        ctx.expect(
            attr(meta, "resourceType") == name,
            f"{what}: meta.resourceType is not the name of the Group resource type",
            expected=name,
            actual=attr(meta, "resourceType"),
            response=response,
        )


@check(
    "rfc7643-3.1-group-meta-datetimes",
    title="A new Group's meta.created and meta.lastModified are the same xsd:dateTime",
    section="RFC 7643 §3.1",
    level=Level.MUST,
    tags=("crud", "groups"),
    needs=("groups",),
    broken_by=(Quirk.META_LAST_MODIFIED_SKEW, Quirk.DATETIME_NOT_XSD),
)
def group_meta_datetimes(ctx: CheckContext) -> None:
    """RFC 7643 §3.1: "created: The "DateTime" that the resource was added to the service provider.
    This attribute MUST be a DateTime." and "lastModified: [...] If this resource has never been
    modified since its initial creation, the value MUST be the same as the value of "created"."
    (RFC 7643 §2.3.5: a DateTime "MUST be encoded as a valid xsd:dateTime"). A Group that carries
    neither value is not judged here (rfc7643-3.1-group-meta reports that).
    """
    _, _, stored = _group_meta(ctx)
    meta = attr(stored, "meta")
    raw_created, raw_modified = attr(meta, "created"), attr(meta, "lastModified")
    if raw_created is None and raw_modified is None:
        ctx.skip("the Group carries no meta.created or meta.lastModified to judge")
    created, modified = parse_datetime(raw_created), parse_datetime(raw_modified)
    ctx.expect(
        created is not None and modified is not None,
        "the Group's meta.created or meta.lastModified is missing or not an xsd:dateTime",
        expected="e.g. 2008-01-23T04:56:22Z",
        actual={"created": raw_created, "lastModified": raw_modified},
    )
    ctx.expect(
        created == modified,
        "meta.lastModified of a never-modified Group differs from meta.created",
        expected=raw_created,
        actual=raw_modified,
    )
