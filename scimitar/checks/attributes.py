"""Which attributes a response carries (RFC 7644 §3.4.2.5, §3.9, §3.10; RFC 7643 §7 "returned").

`attributes` replaces the default set (the `returned: always` attributes stay); `excludedAttributes`
removes from it (never an `always` one); `returned: never` attributes such as `password` never
appear. Names compare case-insensitively. An attribute the target's own `/Schemas` marks
`returned: always` is tolerated where a check expects it absent: that is the target's right.
"""

from __future__ import annotations

from typing import Any

from scimitar.checks import _query as q
from scimitar.checks.context import CheckContext
from scimitar.checks.crud import created_body
from scimitar.checks.registry import ENTRA_SOURCE, Level, check
from scimitar.factory import AttrRef
from scimitar.quirks import Quirk
from scimitar.schema import CORE_GROUP, CORE_USER, ENTERPRISE_USER
from scimitar.target import ScimResponse

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#: Core User attributes the RFC marks `returned: default`, all of them set on the users created here.
USER_DEFAULTS = ("displayName", "name", "emails", "active", "externalId")


def _always(ctx: CheckContext, schema: str) -> set[str]:
    """Lowercased names the target's `/Schemas` declares `returned: always` for `schema`, plus id."""
    out = {"id"}
    for doc in ctx.discovery.schemas or []:
        if str(doc.get("id", "")).lower() != schema.lower():
            continue
        for attr in doc.get("attributes") or []:
            if isinstance(attr, dict) and str(attr.get("returned", "")).lower() == "always":
                out.add(str(attr.get("name", "")).lower())
    return out


def _body(ctx: CheckContext, response: ScimResponse, what: str) -> dict[str, Any]:
    ctx.expect_status(response, 200, 201)
    body = response.json()
    ctx.expect(isinstance(body, dict), f"{what}: the response is not a JSON object", response=response)
    assert isinstance(body, dict)
    return body


def _writable(ctx: CheckContext) -> AttrRef:
    return ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")


def _expect_present(
    ctx: CheckContext, response: ScimResponse, resource: dict[str, Any], names: tuple[str, ...], what: str
) -> None:
    # only what the target declares can be expected back (a User without displayName has none)
    kind = "Group" if CORE_GROUP in (q.get_ci(resource, "schemas") or ()) else "User"
    names = tuple(n for n in names if n == "id" or ctx.data.declares(kind, n))
    missing = [n for n in names if q.get_ci(resource, n) in (None, "", [], {})]
    ctx.expect(
        not missing,
        f"{what}: the response lacks {', '.join(missing)}",
        expected=list(names),
        actual=sorted(resource),
        response=response,
    )


def _expect_absent(
    ctx: CheckContext,
    response: ScimResponse,
    resource: dict[str, Any],
    names: tuple[str, ...],
    what: str,
    schema: str = CORE_USER,
) -> None:
    always = _always(ctx, schema)
    extra = [n for n in names if q.has_ci(resource, n) and n.lower() not in always]
    ctx.expect(
        not extra,
        f"{what}: the response still carries {', '.join(extra)}",
        expected=f"none of {', '.join(names)}",
        actual=sorted(resource),
        response=response,
    )


def _user(ctx: CheckContext, tag: str, **overrides: Any) -> dict[str, Any]:
    tok = q.token(ctx, tag)
    fields: dict[str, Any] = {"active": True}
    if ctx.data.declares("User", "title"):
        fields["title"] = "Analyst"
    fields.update(overrides)
    return q.make_user(ctx, tok, "alpha", **fields)


@check(
    "rfc7644-3.9-attributes-get-by-id",
    title="`attributes=userName` on GET /Users/{id} returns only userName and id",
    section="RFC 7644 §3.9",
    level=Level.MUST,
    tags=("attributes",),
    broken_by=(Quirk.ATTRIBUTES_IGNORED,),
)
def attributes_get_by_id(ctx: CheckContext) -> None:
    """RFC 7644 §3.9: "attributes: When specified, the default list of attributes SHALL be
    overridden, and each resource returned MUST contain the minimum set of resource attributes and
    any attributes or sub-attributes explicitly requested by the "attributes" parameter." The
    minimum set are the "returned" "always" attributes, such as `id` (RFC 7643 §7).
    """
    user = _user(ctx, "aget")
    response = ctx.client.get(f"/Users/{user['id']}", params={"attributes": "userName"})
    body = _body(ctx, response, "GET ?attributes=userName")
    _expect_present(ctx, response, body, ("id", "userName"), "attributes=userName")
    _expect_absent(ctx, response, body, USER_DEFAULTS, "attributes=userName")


@check(
    "rfc7644-3.9-attributes-list",
    title="`attributes=userName` applies to every resource of a list",
    section="RFC 7644 §3.9",
    level=Level.MUST,
    tags=("attributes",),
    needs=("filter",),
    broken_by=(Quirk.ATTRIBUTES_IGNORED,),
)
def attributes_list(ctx: CheckContext) -> None:
    """RFC 7644 §3.9: "each resource returned MUST contain the minimum set of resource attributes and
    any attributes or sub-attributes explicitly requested by the "attributes" parameter"; §3.4.2.5
    makes `attributes` a query parameter of list requests too.
    """
    user = _user(ctx, "alist")
    q.decoy(ctx)
    flt = f'userName eq "{user["userName"]}"'
    response = ctx.client.get("/Users", params={"filter": flt, "attributes": "userName"})
    body = q.list_body(ctx, response)
    q.only_own(ctx, str(user["userName"]), body, flt=flt, mine=[str(user["id"])])
    found = q.resources(body)
    ctx.expect(
        len(found) == 1, "the filter did not return the one user", actual=len(found), response=response
    )
    _expect_present(ctx, response, found[0], ("id", "userName"), "list with attributes=userName")
    _expect_absent(ctx, response, found[0], USER_DEFAULTS, "list with attributes=userName")


@check(
    "rfc7644-3.9-attributes-sub-attribute",
    title="`attributes=name.givenName` returns that sub-attribute alone",
    section="RFC 7644 §3.9",
    level=Level.MUST,
    tags=("attributes",),
    broken_by=(Quirk.ATTRIBUTES_IGNORED,),
)
def attributes_sub_attribute(ctx: CheckContext) -> None:
    """RFC 7644 §3.9: "each resource returned MUST contain the minimum set of resource attributes and
    any attributes or sub-attributes explicitly requested", named in "standard attribute notation
    (Section 3.10)": "Complex attributes' sub-attributes are referenced via nested dot ('.')
    notation".
    """
    user = _user(ctx, "asub", name={"givenName": "Ann", "familyName": "Example"})
    response = ctx.client.get(f"/Users/{user['id']}", params={"attributes": "name.givenName"})
    body = _body(ctx, response, "GET ?attributes=name.givenName")
    name = q.get_ci(body, "name")
    ctx.expect(
        q.get_ci(name, "givenName") == "Ann",
        "attributes=name.givenName did not return name.givenName",
        expected={"givenName": "Ann"},
        actual=name,
        response=response,
    )
    ctx.expect(
        not q.has_ci(name, "familyName"),
        "attributes=name.givenName also returned name.familyName",
        expected={"givenName": "Ann"},
        actual=name,
        response=response,
    )
    _expect_absent(ctx, response, body, ("emails", "displayName"), "attributes=name.givenName")


@check(
    "rfc7644-3.10-attributes-urn-and-case",
    title="`attributes` accepts URN-qualified and differently-cased names",
    section="RFC 7644 §3.10",
    level=Level.MUST,
    tags=("attributes",),
    broken_by=(Quirk.ATTRIBUTES_IGNORED,),
)
def attributes_urn_and_case(ctx: CheckContext) -> None:
    """RFC 7644 §3.10: "the core User resource attribute 'userName' is identified as
    "urn:ietf:params:scim:schemas:core:2.0:User:userName"" and "All facets (URN, attribute, and
    sub-attribute name) of the fully encoded attribute name are case insensitive."
    Binding: §3.9: "each resource returned MUST contain the minimum set of resource attributes and
    any attributes or sub-attributes explicitly requested by the "attributes" parameter".
    """
    user = _user(ctx, "aurn")
    for requested in (f"{CORE_USER}:userName", "USERNAME", f"{CORE_USER.upper()}:UserName"):
        response = ctx.client.get(f"/Users/{user['id']}", params={"attributes": requested})
        body = _body(ctx, response, f"GET ?attributes={requested}")
        _expect_present(ctx, response, body, ("id", "userName"), f"attributes={requested}")
        _expect_absent(ctx, response, body, USER_DEFAULTS, f"attributes={requested}")


@check(
    "rfc7644-3.10-attributes-extension",
    title="`attributes` names one extension attribute by its URN path",
    section="RFC 7644 §3.10",
    level=Level.MUST,
    tags=("attributes",),
    needs=("enterprise",),
    broken_by=(Quirk.ATTRIBUTES_IGNORED,),
)
def attributes_extension(ctx: CheckContext) -> None:
    """RFC 7644 §3.10: "Clients MAY omit core schema attribute URN prefixes but SHOULD fully qualify
    extended attributes with the associated schema extension URN"; §3.9: "each resource returned
    MUST contain the minimum set of resource attributes and any attributes or sub-attributes
    explicitly requested".
    """
    ext = {"employeeNumber": "4242", "department": "Research"}
    user = _user(ctx, "aext", schemas=[CORE_USER, ENTERPRISE_USER], **{ENTERPRISE_USER: ext})
    if q.get_ci(q.get_ci(user, ENTERPRISE_USER), "employeeNumber") != "4242":
        ctx.skip("the target did not keep the enterprise employeeNumber sent on create, so there is "
                 "none to select (rfc7643-3.3-enterprise-round-trip judges that)")
    requested = f"{ENTERPRISE_USER}:employeeNumber"
    response = ctx.client.get(f"/Users/{user['id']}", params={"attributes": requested})
    body = _body(ctx, response, f"GET ?attributes={requested}")
    got = q.get_ci(body, ENTERPRISE_USER)
    ctx.expect(
        q.get_ci(got, "employeeNumber") == "4242",
        "the requested extension attribute is missing",
        expected={"employeeNumber": "4242"},
        actual=got,
        response=response,
    )
    ctx.expect(
        not q.has_ci(got, "department"),
        "an extension attribute that was not requested (department) was returned",
        expected={"employeeNumber": "4242"},
        actual=got,
        response=response,
    )
    _expect_absent(ctx, response, body, USER_DEFAULTS, f"attributes={requested}")


@check(
    "rfc7644-3.9-excluded-attributes",
    title="`excludedAttributes=emails` removes emails and keeps the rest",
    section="RFC 7644 §3.9",
    level=Level.MUST,
    tags=("attributes",),
    broken_by=(Quirk.EXCLUDED_ATTRIBUTES_IGNORED,),
)
def excluded_attributes(ctx: CheckContext) -> None:
    """RFC 7644 §3.9: "excludedAttributes: When specified, each resource returned MUST contain the
    minimum set of resource attributes. Additionally, the default set of attributes minus those
    attributes listed in "excludedAttributes" is returned."
    """
    user = _user(ctx, "aexc")
    response = ctx.client.get(f"/Users/{user['id']}", params={"excludedAttributes": "emails"})
    body = _body(ctx, response, "GET ?excludedAttributes=emails")
    _expect_absent(ctx, response, body, ("emails",), "excludedAttributes=emails")
    _expect_present(
        ctx, response, body, ("id", "userName", "displayName", "name"), "excludedAttributes=emails"
    )


@check(
    "rfc7644-3.4.2.5-excluded-keeps-id",
    title="`excludedAttributes` cannot remove `id` (returned: always)",
    section="RFC 7644 §3.4.2.5",
    level=Level.MUST,
    tags=("attributes",),
    broken_by=(Quirk.EXCLUDED_DROPS_ALWAYS, Quirk.EXCLUDED_ATTRIBUTES_IGNORED),
)
def excluded_keeps_id(ctx: CheckContext) -> None:
    """RFC 7644 §3.4.2.5: "excludedAttributes: [...] This parameter SHALL have no effect on
    attributes whose schema "returned" setting is "always""; `id` is one (RFC 7643 §3.1).
    """
    user = _user(ctx, "aexid")
    response = ctx.client.get(f"/Users/{user['id']}", params={"excludedAttributes": "id,emails"})
    body = _body(ctx, response, "GET ?excludedAttributes=id,emails")
    ctx.expect(
        q.get_ci(body, "id") == user["id"],
        "excludedAttributes=id removed id, whose returned is always",
        expected=user["id"],
        actual=q.get_ci(body, "id"),
        response=response,
    )
    _expect_absent(ctx, response, body, ("emails",), "excludedAttributes=id,emails")


@check(
    "rfc7644-3.9-excluded-sub-attribute",
    title="`excludedAttributes=name.familyName` removes only that sub-attribute",
    section="RFC 7644 §3.9",
    level=Level.MUST,
    tags=("attributes",),
    broken_by=(Quirk.EXCLUDED_ATTRIBUTES_IGNORED,),
)
def excluded_sub_attribute(ctx: CheckContext) -> None:
    """RFC 7644 §3.9: "the default set of attributes minus those attributes listed in
    "excludedAttributes" is returned", names in standard attribute notation, where
    "sub-attributes are referenced via nested dot ('.') notation" (§3.10).
    Binding: §3.9: "excludedAttributes: When specified, each resource returned MUST contain the
    minimum set of resource attributes. Additionally, the default set of attributes minus those
    attributes listed in "excludedAttributes" is returned."
    """
    user = _user(ctx, "aexsub", name={"givenName": "Ann", "familyName": "Example"})
    response = ctx.client.get(f"/Users/{user['id']}", params={"excludedAttributes": "name.familyName"})
    body = _body(ctx, response, "GET ?excludedAttributes=name.familyName")
    name = q.get_ci(body, "name")
    ctx.expect(
        q.get_ci(name, "givenName") == "Ann" and not q.has_ci(name, "familyName"),
        "excludedAttributes=name.familyName did not leave name with givenName only",
        expected={"givenName": "Ann"},
        actual=name,
        response=response,
    )


@check(
    "rfc7643-2.2-password-not-returned-when-requested",
    title="`password` (returned: never) stays out even when `attributes` asks for it",
    section="RFC 7643 §4.1.1, §7",
    level=Level.MUST,
    tags=("attributes", "schema"),
    broken_by=(Quirk.PASSWORD_RETURNED,),
)
def password_not_returned_when_requested(ctx: CheckContext) -> None:
    """RFC 7643 §7 (returned): "never: The attribute is never returned." and §4.1.1 (password):
    "The cleartext value or the hashed value of a password SHALL NOT be returnable by a service
    provider." Asking for it by name (`attributes=password`) changes nothing.
    """
    ctx.need_attr("User", "password")
    secret = "Scimitar-Pw-7f3c9!"
    name = q.user_name(q.token(ctx, "apw"), "alpha")
    payload = ctx.data.user(userName=name, emails=ctx.data.emails(name))
    created = ctx.client.post("/Users", json={**payload, "password": secret})
    if created.status == 400:
        ctx.skip("the target refused a password on create, so there is none to withhold")
    ctx.expect_status(created, 200, 201)
    ctx.expect(secret not in created.text, "the create response returned the password", response=created)
    user = created_body(ctx, created, "POST /Users with a password")
    ctx.expect(isinstance(user.get("id"), str), "the created User has no id", response=created)
    params = {"attributes": "password,userName"}
    requests = [("GET /Users/{id}?attributes=password", f"/Users/{user['id']}", params)]
    if ctx.features.filter is not False:
        # userName eq, the lookup every IdP sends; a provider may decline a filter (400), and the
        # GET by id above already holds the requirement, so a declined listing is not a failure
        listed = {"filter": f'userName eq "{name}"', **params}
        requests.append(("GET /Users?filter=userName eq ...&attributes=password", "/Users", listed))
    for what, path, query in requests:
        resp = ctx.client.get(path, params=query)
        if path == "/Users" and resp.status == 400:
            continue
        ctx.expect_status(resp, 200)
        body = resp.json()
        shown = q.resources(body) if isinstance(body, dict) and q.has_ci(body, "Resources") else [body]
        leaked = any(q.has_ci(r, "password") for r in shown) or secret in resp.text
        ctx.expect(not leaked, f"{what} returned the password", expected="no password", response=resp)


def _post_user(ctx: CheckContext, tag: str, params: dict[str, str]) -> tuple[ScimResponse, dict[str, Any]]:
    tok = q.token(ctx, tag)
    name = q.user_name(tok, "alpha")
    payload = ctx.data.user(userName=name, emails=ctx.data.emails(name))
    response = ctx.client.post("/Users", json=payload, params=params)
    ctx.expect_status(response, 201)
    return response, payload


@check(
    "rfc7644-3.9-attributes-on-create",
    title="`attributes` shapes the POST response too",
    section="RFC 7644 §3.9",
    level=Level.MUST,
    tags=("attributes", "crud"),
    broken_by=(Quirk.ATTRIBUTES_WRITE_IGNORED, Quirk.ATTRIBUTES_IGNORED),
)
def attributes_on_create(ctx: CheckContext) -> None:
    """RFC 7644 §3.9: "Clients MAY request a partial resource representation on any operation that
    returns a resource within the response by specifying either of the mutually exclusive URL query
    parameters "attributes" or "excludedAttributes"" and "When specified, the default list of
    attributes SHALL be overridden".
    """
    response, _ = _post_user(ctx, "apost", {"attributes": "userName"})
    if not response.json():  # 201 without a representation (RFC 7644 §3.3: SHOULD): nothing to shape
        ctx.not_exercised("the create answered without a body (rfc7644-3.3-create-returns-representation judges that)")
        return
    body = _body(ctx, response, "POST ?attributes=userName")
    _expect_present(ctx, response, body, ("id", "userName"), "POST ?attributes=userName")
    _expect_absent(ctx, response, body, ("displayName", "name", "emails"), "POST ?attributes=userName")


@check(
    "rfc7644-3.9-attributes-on-replace",
    title="`attributes` shapes the PUT response too",
    section="RFC 7644 §3.9",
    level=Level.MUST,
    tags=("attributes", "put"),
    broken_by=(Quirk.ATTRIBUTES_WRITE_IGNORED, Quirk.ATTRIBUTES_IGNORED),
)
def attributes_on_replace(ctx: CheckContext) -> None:
    """RFC 7644 §3.9: "Clients MAY request a partial resource representation on any operation that
    returns a resource within the response" and "When specified, the default list of attributes
    SHALL be overridden"; a PUT answers 200 with the resource (§3.5.1).
    """
    user = _user(ctx, "aput")
    replacement = {
        "schemas": [CORE_USER],
        "userName": user["userName"],
        "displayName": "Replaced Name",
        "emails": ctx.data.emails(user["userName"]),
    }
    replacement = ctx.data.conform("User", replacement)
    response = ctx.client.put(f"/Users/{user['id']}", json=replacement, params={"attributes": "userName"})
    if response.status == 204:  # no resource in the response: nothing for `attributes` to shape
        ctx.not_exercised("the PUT answered 204 without a body (rfc7644-3.5.1-put-200-with-resource judges that)")
        return
    ctx.expect_status(response, 200)
    body = _body(ctx, response, "PUT ?attributes=userName")
    _expect_present(ctx, response, body, ("id", "userName"), "PUT ?attributes=userName")
    _expect_absent(ctx, response, body, ("displayName", "emails"), "PUT ?attributes=userName")


@check(
    "rfc7644-3.9-excluded-on-patch",
    title="`excludedAttributes` shapes a PATCH response that carries the resource",
    section="RFC 7644 §3.9",
    level=Level.MUST,
    tags=("attributes", "patch"),
    needs=("patch",),
    broken_by=(Quirk.ATTRIBUTES_WRITE_IGNORED, Quirk.EXCLUDED_ATTRIBUTES_IGNORED),
)
def excluded_on_patch(ctx: CheckContext) -> None:
    """RFC 7644 §3.9: "Clients MAY request a partial resource representation on any operation that
    returns a resource within the response" and "excludedAttributes: When specified, each resource
    returned MUST contain the minimum set of resource attributes. Additionally, the default set of
    attributes minus those attributes listed in "excludedAttributes" is returned." A PATCH may
    answer 204 without a body (§3.5.2), and then there is nothing to check.
    """
    user = _user(ctx, "apatch")
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": _writable(ctx).path, "value": "Patched"}],
    }
    response = ctx.client.patch(f"/Users/{user['id']}", json=patch, params={"excludedAttributes": "emails"})
    if response.status == 204:
        ctx.skip("PATCH answered 204 without a body (RFC 7644 §3.5.2 allows it): no representation to shape")
    ctx.expect_status(response, 200)
    body = _body(ctx, response, "PATCH ?excludedAttributes=emails")
    _expect_absent(ctx, response, body, ("emails",), "PATCH ?excludedAttributes=emails")
    _expect_present(
        ctx, response, body, ("id", "userName", "displayName"), "PATCH ?excludedAttributes=emails"
    )


@check(
    "entra-group-lookup-excluded-members",
    title="Entra's group lookup `?excludedAttributes=members&filter=displayName eq` omits members",
    section="Entra interop",
    source=ENTRA_SOURCE,
    level=Level.MUST,
    tags=("attributes", "groups"),
    needs=("groups", "filter"),
    broken_by=(Quirk.EXCLUDED_ATTRIBUTES_IGNORED, Quirk.FILTER_IGNORED),
)
def entra_group_lookup_excluded_members(ctx: CheckContext) -> None:
    """RFC 7644 §3.9: "excludedAttributes: When specified, each resource returned MUST contain the
    minimum set of resource attributes. Additionally, the default set of attributes minus those
    attributes listed in "excludedAttributes" is returned." Entra looks groups up exactly so, to
    avoid fetching large member lists.
    """
    tok = q.token(ctx, "aent")
    member = q.make_user(ctx, tok, "member")
    group = ctx.create_group(members=[{"value": member["id"]}])
    ctx.create_group()  # another group, so the filter must pick: the outcome never depends on what else exists
    response = ctx.client.get(
        "/Groups",
        params={"excludedAttributes": "members", "filter": f'displayName eq "{group["displayName"]}"'},
    )
    body = q.list_body(ctx, response)
    found = q.resources(body)
    ctx.expect(len(found) == 1, "the displayName filter did not return the one group", actual=len(found))
    _expect_present(ctx, response, found[0], ("id", "displayName"), "excludedAttributes=members")
    _expect_absent(ctx, response, found[0], ("members",), "excludedAttributes=members", schema=CORE_GROUP)


@check(
    "rfc7643-3-attributes-keeps-schemas",
    title="Resources returned with `attributes=` still carry `schemas`",
    section="RFC 7643 §3; RFC 7644 §3.9",
    level=Level.MUST,
    tags=("attributes",),
    broken_by=(Quirk.PROJECTION_DROPS_SCHEMAS, Quirk.RESOURCE_NO_SCHEMAS),
)
def attributes_keeps_schemas(ctx: CheckContext) -> None:
    """RFC 7643 §3: "schemas: The "schemas" attribute is a REQUIRED attribute and is an array of
    Strings containing URIs that are used to indicate the namespaces of the SCIM schemas that
    define the attributes present in the current JSON structure." `attributes` only overrides
    "the default list of attributes" (RFC 7644 §3.9); the representation stays a SCIM resource.
    """
    user = _user(ctx, "asch")
    response = ctx.client.get(f"/Users/{user['id']}", params={"attributes": "userName"})
    body = _body(ctx, response, "GET ?attributes=userName")
    schemas = q.get_ci(body, "schemas")
    ctx.expect(
        isinstance(schemas, list) and any(isinstance(s, str) and s.lower() == CORE_USER.lower() for s in schemas),
        "GET ?attributes=userName: the resource lacks `schemas` with the core User schema URI",
        expected=[CORE_USER],
        actual=schemas,
        response=response,
    )
