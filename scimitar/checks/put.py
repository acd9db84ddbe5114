"""Replacing a resource with PUT (RFC 7644 §3.5.1), including Okta's whole-profile push."""

from __future__ import annotations

from scimitar.checks.context import CheckContext
from scimitar.checks.crud import (
    attr,
    full_user,
    parse_datetime,
    path_of,
    read,
    unknown_id,
)
from scimitar.checks.registry import OKTA_SOURCE, Level, check
from scimitar.factory import having
from scimitar.quirks import Quirk


@check(
    "rfc7644-3.5.1-put-replaces-values",
    title="PUT replaces the values it provides, multi-valued ones included",
    section="RFC 7644 §3.5.1",
    level=Level.MUST,
    tags=("put",),
    broken_by=(Quirk.PUT_MERGES,),
)
def put_replaces_values(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.1: "readWrite, writeOnly: Any values provided SHALL replace the existing
    attribute values." A new `emails` list replaces the old one; it is not merged into it.
    """
    single = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    multi = ctx.need(
        ctx.data.multi_complex_with("value"), "writable multi-valued complex attribute with a 'value'"
    )
    name = multi.attribute.name
    value_attr = multi.attribute.sub("value")
    assert value_attr is not None
    old = {"value": ctx.data.value_for(value_attr, name)}
    new = {"value": ctx.data.value_for(value_attr, name)}
    if multi.attribute.sub("type") is not None:
        old["type"] = ctx.data.canonical(multi.attribute.sub("type"), "work")  # type: ignore[arg-type]
        new["type"] = ctx.data.canonical(multi.attribute.sub("type"), "home")  # type: ignore[arg-type]
    user = ctx.create_user(**having(name, [old]))
    body = single.set(full_user(user, **{name: [new]}), "Replaced Name")
    response = ctx.client.put(path_of("/Users", user), json=body)
    ctx.expect_status(response, 200, 204, message=f"PUT answered {response.status}")
    after = read(ctx, path_of("/Users", user))
    values = [str(attr(v, "value")).lower() for v in attr(after, name) or [] if isinstance(v, dict)]
    ctx.expect(
        single.get(after) == "Replaced Name",
        f"{single.path} was not replaced",
        expected="Replaced Name",
        actual=single.get(after),
    )
    ctx.expect(
        values == [str(new["value"]).lower()],
        f"{name} were not replaced by the PUT's list",
        expected=[new],
        actual=attr(after, name),
    )


@check(
    "rfc7644-3.5.1-put-null-clears",
    title="PUT with null or [] clears an attribute",
    section="RFC 7644 §3.5.1",
    level=Level.MUST,
    tags=("put",),
    broken_by=(Quirk.PUT_MERGES,),
)
def put_null_clears(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.1: "Clients that want to override a server's defaults MAY specify "null" for a
    single-valued attribute, or an empty array "[]" for a multi-valued attribute, to clear all
    values." With "Any values provided SHALL replace the existing attribute values" and RFC 7643
    §2.5 (null, [] and unassigned "SHALL be considered to be equivalent in "state""), the values go.
    """
    single = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    multi = ctx.need(
        ctx.data.multi_complex_with("value"), "writable multi-valued complex attribute with a 'value'"
    )
    value_attr = multi.attribute.sub("value")
    assert value_attr is not None
    payload = single.set(ctx.data.user(), "Engineer")
    payload[multi.attribute.name] = [{"value": ctx.data.value_for(value_attr, multi.attribute.name)}]
    user = ctx.create("/Users", payload)
    body = single.set(full_user(user, **having(multi.attribute.name, [])), None)
    response = ctx.client.put(path_of("/Users", user), json=body)
    ctx.expect_status(response, 200, 204, message=f"PUT answered {response.status}")
    after = read(ctx, path_of("/Users", user))
    found = {single.path: single.get(after), multi.attribute.name: attr(after, multi.attribute.name)}
    kept = {k: v for k, v in found.items() if v not in (None, [])}
    ctx.expect(not kept, "attributes PUT as null / [] were not cleared", actual=kept)


@check(
    "rfc7644-3.5.1-put-omitted-cleared",
    title="PUT clears readWrite attributes the body omits",
    section="RFC 7644 §3.5.1",
    level=Level.MAY,
    tags=("put",),
    broken_by=(Quirk.PUT_MERGES,),
)
def put_omitted_cleared(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.1: "Attributes whose mutability is "readWrite" that are omitted from the request
    body MAY be assumed to be not asserted by the client. The service provider MAY assume that any
    existing values are to be cleared, or the service provider MAY assign a default value to the
    final resource representation." Optional: a server that keeps them is conformant.
    """
    single = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    user = ctx.create("/Users", single.set(ctx.data.user(), "Engineer"))
    body = single.unset(full_user(user))
    response = ctx.client.put(path_of("/Users", user), json=body)
    ctx.expect_status(response, 200, 204, message=f"PUT answered {response.status}")
    after = read(ctx, path_of("/Users", user))
    ctx.expect(single.get(after) is None, f"the omitted {single.path} was kept", actual=single.get(after))


@check(
    "rfc7644-3.5.1-put-readonly-ignored",
    title="PUT ignores readOnly values (id, meta) in the body",
    section="RFC 7644 §3.5.1",
    level=Level.MUST,
    tags=("put",),
    broken_by=(Quirk.READONLY_WRITABLE, Quirk.PUT_REJECTS_READONLY),
)
def put_readonly_ignored(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.1: "As the operation's intent is to replace all attributes, SCIM clients MAY
    send all attributes, regardless of each attribute's mutability" and "readOnly: Any values
    provided SHALL be ignored." So the PUT succeeds and `meta.created` is not the client's.
    """
    user = ctx.create_user()
    before = read(ctx, path_of("/Users", user))
    body = full_user(user)
    body["id"] = user["id"]
    body["meta"] = {"resourceType": "User", "created": "2001-01-01T00:00:00Z"}
    response = ctx.client.put(path_of("/Users", user), json=body)
    ctx.expect_status(
        response, 200, 204, message=f"a PUT carrying readOnly id/meta answered {response.status}, not success"
    )
    after = read(ctx, path_of("/Users", user))
    ctx.expect(
        parse_datetime(attr(after, "meta", "created")) == parse_datetime(attr(before, "meta", "created")),
        "meta.created took the value the client sent",
        expected=attr(before, "meta", "created"),
        actual=attr(after, "meta", "created"),
    )


@check(
    "rfc7644-3.5.1-put-unknown-id-404",
    title="PUT to an unknown id fails (404 expected) and creates nothing",
    section="RFC 7644 §3.5.1",
    level=Level.MUST,
    tags=("put",),
    broken_by=(Quirk.PUT_CREATES,),
)
def put_unknown_404(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.1: "Because SCIM resource identifiers are assigned by the service provider, HTTP
    PUT MUST NOT be used to create new resources." So the PUT must fail. Which status it fails with
    is RFC 7644 §3.12 Table 8 ("404 (Not Found): Specified resource (e.g., User) or endpoint does
    not exist."), a SHOULD ("Implementers SHOULD handle the identified HTTP status codes as
    described below"): any 4xx passes this MUST.
    """
    path = f"/Users/{unknown_id()}"
    response = ctx.client.put(path, json=ctx.data.user())
    if 200 <= response.status < 300:
        ctx.ledger.add(path)
    ctx.expect(
        400 <= response.status < 500,
        f"PUT to an unknown id answered {response.status} instead of failing",
        expected="a 4xx error (404 Not Found)",
        actual=response.status,
        response=response,
    )


@check(
    "rfc7644-3.5.1-put-200-with-resource",
    title="A successful PUT answers 200 with the updated resource",
    section="RFC 7644 §3.5.1",
    level=Level.SHOULD,
    tags=("put",),
    broken_by=(Quirk.PUT_204,),
)
def put_200_with_resource(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.1: "Unless otherwise specified, a successful PUT operation returns a 200 OK
    response code and the entire resource within the response body, enabling the client to
    correlate the client's and the provider's views of the updated resource." (No RFC 2119 keyword:
    reported as SHOULD.)
    """
    user = ctx.create_user()
    single = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    response = ctx.client.put(path_of("/Users", user), json=single.set(full_user(user), "Put Answer"))
    ctx.expect_status(response, 200)
    body = response.json()
    ctx.expect(
        attr(body, "id") == user["id"] and single.get(body) == "Put Answer",
        "the PUT response is not the updated resource",
        expected={"id": user["id"], single.path: "Put Answer"},
        actual={"id": attr(body, "id"), single.path: single.get(body)},
        response=response,
    )


@check(
    "rfc7644-3.5.1-put-missing-required-400",
    title="PUT without the required userName answers 400",
    section="RFC 7644 §3.5.1",
    level=Level.SHOULD,
    tags=("put",),
    broken_by=(Quirk.REQUIRED_NOT_ENFORCED,),
)
def put_missing_required(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.1: "If an attribute is "required", clients MUST specify the attribute in the PUT
    request." RFC 7644 §3.12: "invalidValue: A required value was missing". The RFC puts the duty on
    the client, so refusing the request is reported as SHOULD.
    """
    user = ctx.create_user()
    body = {k: v for k, v in full_user(user).items() if k.lower() != "username"}
    response = ctx.client.put(path_of("/Users", user), json=body)
    ctx.expect_status(response, 400)


@check(
    "okta-put-profile-update",
    title="Okta profile push: GET, change givenName, PUT the whole object back",
    section="Okta interop",
    source=OKTA_SOURCE,
    level=Level.MUST,
    tags=("put",),
    broken_by=(Quirk.PUT_REJECTS_READONLY,),
)
def okta_put_profile_update(ctx: CheckContext) -> None:
    """Okta updates a profile by sending back the whole User it read, `id`, `meta` and `schemas`
    included, with the changed values. RFC 7644 §3.5.1: "clients that have previously retrieved the
    entire resource in advance and revised it MAY replace the resource using an HTTP PUT" and
    "SCIM clients MAY send all attributes, regardless of each attribute's mutability."
    """
    user = ctx.create_user()
    current = read(ctx, path_of("/Users", user))
    name = dict(attr(current, "name") or {})
    name["givenName"] = "Oktaupdated"
    current["name"] = name
    response = ctx.client.put(path_of("/Users", user), json=current)
    ctx.expect_status(
        response, 200, 204, message=f"Okta's PUT of the read-back User answered {response.status}"
    )
    after = read(ctx, path_of("/Users", user))
    ctx.expect(
        attr(after, "name", "givenName") == "Oktaupdated",
        "the changed givenName was not stored",
        expected="Oktaupdated",
        actual=attr(after, "name", "givenName"),
    )
