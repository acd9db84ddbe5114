"""Modifying with PATCH (RFC 7644 §3.5.2): add, remove and replace, paths, errors, IdP forms.

Every check PATCHes a resource it created and judges the result by reading the resource again:
a PATCH may answer 200 with the resource or 204 with no body, so the re-read is the evidence.
Attribute names and schema URNs are compared case-insensitively (RFC 7643 §2.1).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from scimitar.checks._query import get_ci as ci
from scimitar.checks._query import user_path
from scimitar.checks._valuepath import value_path
from scimitar.checks.context import CheckContext
from scimitar.checks.registry import ENTRA_KNOWN_ISSUES, OKTA_SOURCE, Level, check
from scimitar.factory import AttrRef, having, merge_fragments
from scimitar.quirks import Quirk
from scimitar.schema import CORE_GROUP, ENTERPRISE_USER, PATCH_OP
from scimitar.target import ScimResponse

_SEQ = itertools.count(1)


def patch(ctx: CheckContext, path: str, *ops: dict[str, Any], **kwargs: Any) -> ScimResponse:
    return ctx.client.patch(path, json={"schemas": [PATCH_OP], "Operations": list(ops)}, **kwargs)


def succeeded(ctx: CheckContext, response: ScimResponse, what: str) -> None:
    """RFC 7644 §3.5.2: success is "200 OK ... and the entire resource" or "204 (No Content)"."""
    ctx.expect_status(
        response, 200, 204, message=f"{what}: PATCH answered {response.status}, expected 200 or 204"
    )


def reread(ctx: CheckContext, path: str) -> dict[str, Any]:
    """GET the resource back (setup: it does not count as exercising the requirement)."""
    response = ctx.client.get(path)
    body = response.json()
    with ctx.setup():
        ctx.expect_status(response, 200, message=f"re-reading {path} answered {response.status}")
        ctx.expect(isinstance(body, dict), f"GET {path} did not return a JSON object", response=response)
    assert isinstance(body, dict)
    return body


def failed_with(
    ctx: CheckContext,
    response: ScimResponse,
    status: int,
    scim_types: tuple[str, ...] | None,
    what: str,
    *,
    keyword_required: bool = True,
) -> None:
    """Expect an error `status` whose body is a SCIM Error with one of `scim_types` (None: any).

    With `keyword_required=False` an error without scimType passes (RFC 7644 §3.12: "scimType
    [...] OPTIONAL"), for cases where only Table 9, not a MUST/SHALL sentence, names the keyword.
    """
    ctx.expect_status(response, status, message=f"{what}: answered {response.status}, expected {status}")
    body = response.json()
    ctx.validate_error(body, response=response)
    if scim_types is not None and (keyword_required or ci(body, "scimType") is not None):
        ctx.expect(
            ci(body, "scimType") in scim_types,
            f"{what}: the error's scimType is {ci(body, 'scimType')!r}",
            expected=" or ".join(scim_types),
            actual=ci(body, "scimType"),
            response=response,
        )


def declared_mutability(ctx: CheckContext, schema_id: str, attr: str, sub: str) -> str | None:
    """The mutability the target's /Schemas declares for `attr.sub` of `schema_id`, if it says."""
    for schema in ctx.discovery.schemas or []:
        if str(schema.get("id", "")).lower() != schema_id.lower():
            continue
        for a in schema.get("attributes") or []:
            if isinstance(a, dict) and str(a.get("name", "")).lower() == attr.lower():
                for s in a.get("subAttributes") or []:
                    if isinstance(s, dict) and str(s.get("name", "")).lower() == sub.lower():
                        value = s.get("mutability")
                        return value if isinstance(value, str) else None
    return None



def group_path(group: dict[str, Any]) -> str:
    return f"/Groups/{group['id']}"


def member_ids(resource: dict[str, Any]) -> set[str]:
    return {
        str(ci(m, "value")) for m in ci(resource, "members") or [] if isinstance(m, dict) and ci(m, "value")
    }


def emails_of(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in ci(resource, "emails") or [] if isinstance(e, dict)]


def email_types(resource: dict[str, Any]) -> set[str]:
    return {str(ci(e, "type")).lower() for e in emails_of(resource) if ci(e, "type")}


def typed_attr(ctx: CheckContext, sub: str = "type") -> AttrRef:
    """A writable multi-valued complex attribute with `type` (and `sub`) sub-attributes (`emails`
    on the RFC schema), or skip. The value-filter checks use `value_path`, which selects by
    `value` where no `type` is declared."""
    found = ctx.data.multi_complex_with(sub)
    if found is not None and sub != "type" and found.attribute.sub("type") is None:
        found = None
    subs = "a 'type' sub-attribute" if sub == "type" else f"'type' and '{sub}' sub-attributes"
    return ctx.need(found, f"writable multi-valued complex attribute with {subs}")


def typed_value(ctx: CheckContext, ref: AttrRef, kind: str, **subs: Any) -> dict[str, Any]:
    """A fresh value of `ref` of type `kind` (a canonical value where the target lists them; no
    `type` where the attribute has none), with the extra sub-attributes `subs` the target declares."""
    attr = ref.attribute
    value_attr, type_attr = attr.sub("value"), attr.sub("type")
    assert value_attr is not None
    item: dict[str, Any] = {"value": ctx.data.value_for(value_attr, attr.name)}
    if type_attr is not None:
        item["type"] = ctx.data.canonical(type_attr, kind)
    item.update({k: v for k, v in subs.items() if attr.sub(k) is not None})
    return item


def values_of(resource: dict[str, Any], ref: AttrRef) -> list[dict[str, Any]]:
    return [e for e in ci(resource, ref.attribute.name) or [] if isinstance(e, dict)]


def same_text(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a == b


def marker(ctx: CheckContext, label: str) -> str:
    """A fresh, recognisable string value for this run."""
    return f"{ctx.data.prefix}{label}-{next(_SEQ)}"


# -- add / replace / remove on simple and sub-attribute paths ---------------------------------------


@check(
    "rfc7644-3.5.2.3-patch-replace-simple-path",
    title="PATCH replace with a simple path changes that attribute",
    section="RFC 7644 §3.5.2.3",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_IGNORED,),
)
def replace_simple_path(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.3: "The "replace" operation replaces the value at the target location
    specified by the "path"." and "If the target location is a single-value attribute, the
    attributes value is replaced."
    Binding: "If a single operation encounters an error condition, the original SCIM resource MUST
    be restored, and a failure status SHALL be returned" (RFC 7644 §3.5.2), so a success answer says
    the operation was applied as defined.
    """
    attr = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    user = ctx.create_user()
    new = marker(ctx, "display")
    response = patch(ctx, user_path(user), {"op": "replace", "path": attr.path, "value": new})
    succeeded(ctx, response, f"replace {attr.path}")
    after = reread(ctx, user_path(user))
    ctx.expect(
        same_text(attr.get(after), new),
        f"after a successful replace of {attr.path} the resource still has the old value",
        expected=new,
        actual=attr.get(after),
    )


@check(
    "rfc7644-3.5.2.1-patch-add-simple-path",
    title="PATCH add with a simple path sets an unassigned attribute",
    section="RFC 7644 §3.5.2.1",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_IGNORED,),
)
def add_simple_path(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.1: "If the target location specifies an attribute that does not exist
    (has no value), the attribute is added with the new value."
    Binding: "If a single operation encounters an error condition, the original SCIM resource MUST
    be restored, and a failure status SHALL be returned" (RFC 7644 §3.5.2), so a success answer says
    the operation was applied as defined.
    """
    attr = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    user = ctx.create("/Users", attr.unset(ctx.data.user()))
    nick = marker(ctx, "nick")
    response = patch(ctx, user_path(user), {"op": "add", "path": attr.path, "value": nick})
    succeeded(ctx, response, f"add {attr.path}")
    after = reread(ctx, user_path(user))
    ctx.expect(
        same_text(attr.get(after), nick),
        f"after a successful add of {attr.path} the attribute is not set",
        expected=nick,
        actual=attr.get(after),
    )


@check(
    "rfc7644-3.5.2.2-patch-remove-simple-path",
    title="PATCH remove with a simple path unassigns the attribute",
    section="RFC 7644 §3.5.2.2",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_REMOVE_IGNORED,),
)
def remove_simple_path(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.2: "If the target location is a single-value attribute, the attribute and
    its associated value is removed, and the attribute SHALL be considered unassigned."
    """
    attr = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    user = ctx.create("/Users", attr.set(ctx.data.user(), marker(ctx, "nick")))
    response = patch(ctx, user_path(user), {"op": "remove", "path": attr.path})
    succeeded(ctx, response, f"remove {attr.path}")
    after = reread(ctx, user_path(user))
    ctx.expect(
        attr.get(after) in (None, ""),
        f"after a successful remove of {attr.path} the attribute still has a value",
        expected=f"{attr.path} unassigned",
        actual=attr.get(after),
    )


@check(
    "rfc7644-3.5.2.3-patch-replace-sub-attribute",
    title="PATCH replace of name.givenName changes only that sub-attribute",
    section="RFC 7644 §3.5.2.3",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_IGNORED,),
)
def replace_sub_attribute(ctx: CheckContext) -> None:
    """RFC 7644 §3.10: a path may name a sub-attribute ("name.givenName"), and RFC 7644 §3.5.2.3:
    "The "replace" operation replaces the value at the target location specified by the "path"."
    Binding: "If a single operation encounters an error condition, the original SCIM resource MUST
    be restored, and a failure status SHALL be returned" (RFC 7644 §3.5.2), so a success answer says
    the operation was applied as defined.
    """
    user = ctx.create_user()
    family = ci(ci(user, "name"), "familyName")
    given = "Scimitar" + str(next(_SEQ))
    response = patch(ctx, user_path(user), {"op": "replace", "path": "name.givenName", "value": given})
    succeeded(ctx, response, "replace name.givenName")
    name = ci(reread(ctx, user_path(user)), "name")
    ctx.expect(
        same_text(ci(name, "givenName"), given),
        "name.givenName was not replaced",
        expected=given,
        actual=ci(name, "givenName"),
    )
    ctx.expect(
        ci(name, "familyName") == family,
        "replacing name.givenName changed name.familyName",
        expected=family,
        actual=ci(name, "familyName"),
    )


@check(
    "rfc7644-3.5.2.3-patch-replace-complex-keeps-others",
    title="PATCH replace of a complex attribute leaves unspecified sub-attributes unchanged",
    section="RFC 7644 §3.5.2.3",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_COMPLEX_REPLACE_DROPS,),
)
def replace_complex_keeps_others(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.3: "If the target location specifies a complex attribute, a set of
    sub-attributes SHALL be specified in the "value" parameter, which replaces any existing values
    or adds where an attribute did not previously exist. Sub-attributes that are not specified in
    the "value" parameter are left unchanged."
    """
    user = ctx.create_user()
    family = ci(ci(user, "name"), "familyName")
    given = "Scimitar" + str(next(_SEQ))
    response = patch(ctx, user_path(user), {"op": "replace", "path": "name", "value": {"givenName": given}})
    succeeded(ctx, response, "replace name with only givenName")
    name = ci(reread(ctx, user_path(user)), "name")
    ctx.expect(
        same_text(ci(name, "givenName"), given),
        "name.givenName was not replaced",
        expected=given,
        actual=ci(name, "givenName"),
    )
    ctx.expect(
        ci(name, "familyName") == family,
        "replacing `name` with only givenName dropped familyName, which was not specified",
        expected=family,
        actual=ci(name, "familyName"),
    )


@check(
    "rfc7644-3.5.2.2-patch-remove-sub-attribute",
    title="PATCH remove of name.givenName unassigns only that sub-attribute",
    section="RFC 7644 §3.5.2.2",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_REMOVE_IGNORED,),
)
def remove_sub_attribute(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.2: "If the target location is a single-value attribute, the attribute and
    its associated value is removed, and the attribute SHALL be considered unassigned."
    """
    user = ctx.create_user()
    family = ci(ci(user, "name"), "familyName")
    response = patch(ctx, user_path(user), {"op": "remove", "path": "name.givenName"})
    succeeded(ctx, response, "remove name.givenName")
    name = ci(reread(ctx, user_path(user)), "name")
    ctx.expect(
        ci(name, "givenName") in (None, ""),
        "name.givenName still has a value after it was removed",
        actual=ci(name, "givenName"),
    )
    ctx.expect(
        ci(name, "familyName") == family,
        "removing name.givenName changed name.familyName",
        expected=family,
        actual=ci(name, "familyName"),
    )


# -- extension attributes by URN-qualified path -------------------------------------------------


def ext_attr(resource: dict[str, Any], name: str) -> Any:
    return ci(ci(resource, ENTERPRISE_USER), name)


@check(
    "rfc7644-3.5.2.3-patch-replace-extension-path",
    title="PATCH replace with a URN-qualified extension path changes the extension attribute",
    section="RFC 7644 §3.5.2.3",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users", "enterprise"),
    broken_by=(Quirk.PATCH_IGNORED, Quirk.PATCH_URN_PATH_REJECTED),
)
def replace_extension_path(ctx: CheckContext) -> None:
    """RFC 7644 §3.10: attribute paths take the form `[URI ":"] ATTRNAME`, e.g.
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", and RFC 7644
    §3.5.2.3: "The "replace" operation replaces the value at the target location specified by the
    "path"."
    Binding: "If a single operation encounters an error condition, the original SCIM resource MUST
    be restored, and a failure status SHALL be returned" (RFC 7644 §3.5.2), so a success answer says
    the operation was applied as defined.
    """
    user = ctx.create_user(enterprise=True)
    department = marker(ctx, "dept")
    response = patch(
        ctx,
        user_path(user),
        {"op": "replace", "path": f"{ENTERPRISE_USER}:department", "value": department},
    )
    succeeded(ctx, response, "replace the enterprise department")
    after = reread(ctx, user_path(user))
    ctx.expect(
        same_text(ext_attr(after, "department"), department),
        "the enterprise extension's department was not replaced",
        expected=department,
        actual=ext_attr(after, "department"),
    )


@check(
    "rfc7644-3.5.2.1-patch-add-extension-path",
    title="PATCH add with a URN-qualified path adds an extension attribute to a user without it",
    section="RFC 7644 §3.5.2.1",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users", "enterprise"),
    broken_by=(Quirk.PATCH_IGNORED, Quirk.PATCH_URN_PATH_REJECTED),
)
def add_extension_path(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.1: "If the target location does not exist, the attribute and value are
    added." The path is URN-qualified as RFC 7644 §3.10 allows.
    Binding: "If a single operation encounters an error condition, the original SCIM resource MUST
    be restored, and a failure status SHALL be returned" (RFC 7644 §3.5.2), so a success answer says
    the operation was applied as defined.
    """
    user = ctx.create_user()
    cost = marker(ctx, "cc")
    response = patch(
        ctx, user_path(user), {"op": "add", "path": f"{ENTERPRISE_USER}:costCenter", "value": cost}
    )
    succeeded(ctx, response, "add the enterprise costCenter")
    after = reread(ctx, user_path(user))
    ctx.expect(
        same_text(ext_attr(after, "costCenter"), cost),
        "the enterprise extension's costCenter was not added",
        expected=cost,
        actual=ext_attr(after, "costCenter"),
    )


@check(
    "rfc7644-3.5.2.2-patch-remove-extension-path",
    title="PATCH remove with a URN-qualified path unassigns only that extension attribute",
    section="RFC 7644 §3.5.2.2",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users", "enterprise"),
    broken_by=(Quirk.PATCH_REMOVE_IGNORED, Quirk.PATCH_URN_PATH_REJECTED),
)
def remove_extension_path(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.2: "If the target location is a single-value attribute, the attribute and
    its associated value is removed, and the attribute SHALL be considered unassigned."
    """
    user = ctx.create_user(enterprise=True)
    number = ext_attr(user, "employeeNumber")
    response = patch(ctx, user_path(user), {"op": "remove", "path": f"{ENTERPRISE_USER}:department"})
    succeeded(ctx, response, "remove the enterprise department")
    after = reread(ctx, user_path(user))
    ctx.expect(
        ext_attr(after, "department") in (None, ""),
        "the enterprise department still has a value after it was removed",
        actual=ext_attr(after, "department"),
    )
    ctx.expect(
        ext_attr(after, "employeeNumber") == number,
        "removing the enterprise department changed employeeNumber",
        expected=number,
        actual=ext_attr(after, "employeeNumber"),
    )


# -- value-filter paths ---------------------------------------------------------------------------


@check(
    "rfc7644-3.5.2.3-patch-replace-value-filter",
    title='PATCH replace through a value filter (emails[type eq "work"].value or emails[value eq ...].value) '
    "changes only the matching value",
    section="RFC 7644 §3.5.2.3",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_NO_VALUE_FILTER,),
)
def replace_value_filter(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.3: "If the target location is a complex multi-valued attribute with a value
    selection filter ("valuePath") and a specific sub-attribute (e.g.,
    "addresses[type eq "work"].streetAddress"), the matching sub-attribute of all matching
    records is replaced."
    Binding: "If a single operation encounters an error condition, the original SCIM resource MUST
    be restored, and a failure status SHALL be returned" (RFC 7644 §3.5.2), so a success answer says
    the operation was applied as defined. The filter selects by `type` where the target declares
    it, else by `value` (any sub-attribute may be filtered on, RFC 7644 §3.4.2.2).
    """
    vp = value_path(ctx)
    chosen, other = vp.items(ctx, 2)
    user = ctx.create_user(**having(vp.name, [chosen, other]))
    address = vp.fresh_value(ctx)
    path = vp.path(chosen, "value")
    response = patch(ctx, user_path(user), {"op": "replace", "path": path, "value": address})
    succeeded(ctx, response, f"replace {path}")
    found = sorted(str(ci(e, "value")).lower() for e in vp.values(reread(ctx, user_path(user))))
    wanted = sorted([address.lower(), str(other["value"]).lower()])
    ctx.expect(
        found == wanted,
        f"after replace of {path} the {vp.name} values are not the matching one replaced and the other kept",
        expected=wanted,
        actual=found,
    )


@check(
    "rfc7644-3.5.2.2-patch-remove-value-filter",
    title='PATCH remove through a value filter (emails[type eq "home"] or emails[value eq ...]) '
    "removes only the matching value",
    section="RFC 7644 §3.5.2.2",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_NO_VALUE_FILTER, Quirk.PATCH_REMOVE_IGNORED),
)
def remove_value_filter(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.2: "If the target location is a complex multi-valued attribute and a
    complex filter is specified based on the attribute's sub-attributes, the matching records are
    removed."
    Binding: "If a single operation encounters an error condition, the original SCIM resource MUST
    be restored, and a failure status SHALL be returned" (RFC 7644 §3.5.2), so a success answer says
    the operation was applied as defined. The filter selects by `type` where the target declares
    it, else by `value`.
    """
    vp = value_path(ctx)
    kept, dropped = vp.items(ctx, 2)
    user = ctx.create_user(**having(vp.name, [kept, dropped]))
    path = vp.path(dropped)
    response = patch(ctx, user_path(user), {"op": "remove", "path": path})
    succeeded(ctx, response, f"remove {path}")
    keys = vp.keys(reread(ctx, user_path(user)))
    ctx.expect(vp.key(dropped) not in keys, f"the value {path} selects is still there after it was removed", actual=keys)
    ctx.expect(vp.key(kept) in keys, f"removing {path} also removed the other value", actual=keys)


@check(
    "rfc7644-3.5.2.2-patch-remove-member-by-filter",
    title='PATCH remove of members[value eq "<id>"] removes only that member',
    section="RFC 7644 §3.5.2.2",
    level=Level.MUST,
    tags=("patch", "groups"),
    needs=("patch", "users", "groups"),
    broken_by=(Quirk.PATCH_NO_VALUE_FILTER, Quirk.PATCH_REMOVE_IGNORED),
)
def remove_member_by_filter(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.2: "If the target location is a multi-valued attribute and a complex filter
    is specified comparing a "value", the values matched by the filter are removed."
    Binding: "If a single operation encounters an error condition, the original SCIM resource MUST
    be restored, and a failure status SHALL be returned" (RFC 7644 §3.5.2), so a success answer says
    the operation was applied as defined.
    """
    u1, u2 = ctx.create_user(), ctx.create_user()
    group = ctx.create_group(members=[{"value": u1["id"]}, {"value": u2["id"]}])
    response = patch(ctx, group_path(group), {"op": "remove", "path": f'members[value eq "{u1["id"]}"]'})
    succeeded(ctx, response, "remove one member by filter")
    members = member_ids(reread(ctx, group_path(group)))
    ctx.expect(
        members == {u2["id"]},
        "after removing one of two members the group does not hold exactly the other one",
        expected=[u2["id"]],
        actual=sorted(members),
    )


# -- pathless add / replace -------------------------------------------------------------------


@check(
    "rfc7644-3.5.2.3-patch-replace-pathless",
    title="PATCH replace without path sets the attributes in the value object",
    section="RFC 7644 §3.5.2.3",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_PATHLESS_REJECTED, Quirk.PATCH_IGNORED),
)
def replace_pathless(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.3: "If the "path" parameter is omitted, the target is assumed to be the
    resource itself. In this case, the "value" attribute SHALL contain a list of one or more
    attributes that are to be replaced."
    """
    attrs = ctx.data.writable_strings()[:2]
    ctx.need(attrs[0] if attrs else None, "writable string attribute other than userName")
    user = ctx.create_user()
    want = {a.path: marker(ctx, "display") for a in attrs}
    value = merge_fragments(*(a.fragment(want[a.path]) for a in attrs))
    response = patch(ctx, user_path(user), {"op": "replace", "value": value})
    succeeded(ctx, response, "pathless replace")
    after = reread(ctx, user_path(user))
    got = {a.path: a.get(after) for a in attrs}
    ctx.expect(
        got == want,
        "a pathless replace did not set the attributes of its value",
        expected=want,
        actual=got,
    )


@check(
    "rfc7644-3.5.2.1-patch-add-pathless",
    title="PATCH add without path adds the attributes in the value object",
    section="RFC 7644 §3.5.2.1",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_PATHLESS_REJECTED, Quirk.PATCH_IGNORED),
)
def add_pathless(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.1: "If "path" is omitted, the target location is assumed to be the resource
    itself. The "value" parameter contains a set of attributes to be added to the resource."
    Binding: "If a single operation encounters an error condition, the original SCIM resource MUST
    be restored, and a failure status SHALL be returned" (RFC 7644 §3.5.2), so a success answer says
    the operation was applied as defined.
    """
    attrs = ctx.data.writable_strings()[:2]
    ctx.need(attrs[0] if attrs else None, "writable string attribute other than userName")
    payload = ctx.data.user()
    for a in attrs:
        a.unset(payload)
    user = ctx.create("/Users", payload)
    want = {a.path: marker(ctx, "nick") for a in attrs}
    value = merge_fragments(*(a.fragment(want[a.path]) for a in attrs))
    response = patch(ctx, user_path(user), {"op": "add", "value": value})
    succeeded(ctx, response, "pathless add")
    after = reread(ctx, user_path(user))
    got = {a.path: a.get(after) for a in attrs}
    ctx.expect(
        got == want,
        "a pathless add did not add the attributes of its value",
        expected=want,
        actual=got,
    )


# -- multi-valued semantics ---------------------------------------------------------------------


@check(
    "rfc7644-3.5.2.1-patch-add-member-keeps-existing",
    title="PATCH add to members adds a value and keeps the existing ones",
    section="RFC 7644 §3.5.2.1",
    level=Level.MUST,
    tags=("patch", "groups"),
    needs=("patch", "users", "groups"),
    broken_by=(Quirk.PATCH_ADD_REPLACES_MEMBERS,),
)
def add_member_keeps_existing(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.1: "If the target location specifies a multi-valued attribute, a new value
    is added to the attribute."
    Binding: "If a single operation encounters an error condition, the original SCIM resource MUST
    be restored, and a failure status SHALL be returned" (RFC 7644 §3.5.2), so a success answer says
    the operation was applied as defined.
    """
    u1, u2 = ctx.create_user(), ctx.create_user()
    group = ctx.create_group(members=[{"value": u1["id"]}])
    response = patch(ctx, group_path(group), {"op": "add", "path": "members", "value": [{"value": u2["id"]}]})
    succeeded(ctx, response, "add a member")
    members = member_ids(reread(ctx, group_path(group)))
    ctx.expect(
        members == {u1["id"], u2["id"]},
        "adding a member did not leave the group with both the old and the new member",
        expected=sorted([u1["id"], u2["id"]]),
        actual=sorted(members),
    )


@check(
    "rfc7644-3.5.2-patch-primary-unique",
    title="PATCH setting primary=true on a new email clears primary on the others",
    section="RFC 7644 §3.5.2",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_PRIMARY_NOT_CLEARED,),
)
def primary_unique(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2: "For multi-valued attributes, a PATCH operation that sets a value's
    "primary" sub-attribute to "true" SHALL cause the server to automatically set "primary" to
    "false" for any other values in the array." (RFC 7643 §2.4: "The primary attribute value
    "true" MUST appear no more than once.")
    """
    ref = typed_attr(ctx, "primary")
    user = ctx.create_user(**having(ref.attribute.name, [typed_value(ctx, ref, "work", primary=True)]))
    added = typed_value(ctx, ref, "home", primary=True)
    home = added["value"]
    response = patch(ctx, user_path(user), {"op": "add", "path": ref.attribute.name, "value": [added]})
    succeeded(ctx, response, f"add a primary {ref.attribute.name} value")
    emails = values_of(reread(ctx, user_path(user)), ref)
    primaries = [ci(e, "value") for e in emails if ci(e, "primary") is True]
    ctx.expect(
        len(primaries) == 1 and str(primaries[0]).lower() == home.lower(),
        "after adding a primary email, it is not the one and only primary value",
        expected=[home],
        actual=primaries,
    )


@check(
    "rfc7644-3.5.2.1-patch-add-existing-keeps-timestamp",
    title="PATCH add of a value already present leaves meta.lastModified unchanged",
    section="RFC 7644 §3.5.2.1",
    level=Level.MUST,
    tags=("patch", "groups"),
    needs=("patch", "users", "groups"),
    broken_by=(Quirk.PATCH_NOOP_TOUCHES,),
)
def add_existing_keeps_timestamp(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.1: "If the target location already contains the value specified, no changes
    SHOULD be made to the resource, and a success response SHOULD be returned. Unless other
    operations change the resource, this operation SHALL NOT change the modify timestamp of the
    resource."
    """
    user = ctx.create_user()
    group = ctx.create_group(members=[{"value": user["id"]}])
    before = ci(ci(reread(ctx, group_path(group)), "meta"), "lastModified")
    if not isinstance(before, str):
        ctx.skip("the group has no meta.lastModified to compare")
    time.sleep(0.02)  # a touch must be able to show up in a millisecond timestamp
    response = patch(
        ctx, group_path(group), {"op": "add", "path": "members", "value": [{"value": user["id"]}]}
    )
    succeeded(ctx, response, "add a member that is already there")
    after = reread(ctx, group_path(group))
    ctx.expect(
        member_ids(after) == {user["id"]},
        "adding a member that was already there changed the members",
        actual=ci(after, "members"),
    )
    ctx.expect(
        ci(ci(after, "meta"), "lastModified") == before,
        "adding a value that was already present changed meta.lastModified",
        expected=before,
        actual=ci(ci(after, "meta"), "lastModified"),
    )


# -- the response --------------------------------------------------------------------------------


@check(
    "rfc7644-3.5.2-patch-response-reflects-change",
    title="PATCH answers 204, or 200 with the entire, updated resource",
    section="RFC 7644 §3.5.2",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_RESPONSE_STALE,),
)
def response_reflects_change(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2: "On successful completion, the server either MUST return a 200 OK response
    code and the entire resource within the response body, subject to the "attributes" query
    parameter (see Section 3.9), or MAY return HTTP status code 204 (No Content) and the
    appropriate response headers for a successful PATCH request."
    """
    attr = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    user = ctx.create_user()
    display = marker(ctx, "display")
    response = patch(ctx, user_path(user), {"op": "replace", "path": attr.path, "value": display})
    succeeded(ctx, response, f"replace {attr.path}")
    if response.status == 204:
        return
    body = response.json()
    ctx.validate_resource(body, "User", response=response)
    ctx.expect(
        ci(body, "id") == user["id"] and same_text(attr.get(body), display),
        "the 200 response is not the updated resource",
        expected={"id": user["id"], attr.path: display},
        actual={"id": ci(body, "id"), attr.path: attr.get(body)},
        response=response,
    )


@check(
    "rfc7644-3.5.2-patch-attributes-param-200",
    title="PATCH with the attributes parameter answers 200 with only those attributes",
    section="RFC 7644 §3.5.2",
    level=Level.MUST,
    tags=("patch", "attributes"),
    needs=("patch", "users"),
    broken_by=(Quirk.ATTRIBUTES_IGNORED,),
)
def attributes_param_200(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2: "The server MUST return a 200 OK if the "attributes" parameter is
    specified in the request", with "the entire resource within the response body, subject to
    the "attributes" query parameter". RFC 7644 §3.9: "attributes ... overrides the list of
    attributes that would be returned by default"; `id` is returned always.
    """
    attr = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    user = ctx.create_user()
    display = marker(ctx, "display")
    response = patch(
        ctx,
        user_path(user),
        {"op": "replace", "path": attr.path, "value": display},
        params={"attributes": "userName"},
    )
    ctx.expect_status(response, 200, message=f"PATCH with ?attributes= answered {response.status}, not 200")
    body = response.json()
    ctx.expect(isinstance(body, dict), "the 200 response has no JSON object body", response=response)
    ctx.expect(
        ci(body, "id") == user["id"] and ci(body, "userName") is not None,
        "the response lacks id or the requested userName",
        actual=body,
        response=response,
    )
    ctx.expect(
        ci(body, attr.attribute.name) is None,
        f"the response returns {attr.attribute.name}, which ?attributes=userName did not ask for",
        expected="only id, userName (and attributes returned always)",
        actual=sorted(k for k in body if isinstance(k, str)),
        response=response,
    )


# -- errors ----------------------------------------------------------------------------------------


@check(
    "rfc7644-3.5.2.2-patch-remove-without-path-notarget",
    title="PATCH remove without path fails with 400 noTarget",
    section="RFC 7644 §3.5.2.2",
    level=Level.MUST,
    tags=("patch", "errors"),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_REMOVE_IGNORED, Quirk.ERROR_NO_SCIMTYPE),
)
def remove_without_path(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.2: "If "path" is unspecified, the operation fails with HTTP status code 400
    and a "scimType" error code of "noTarget"."
    """
    user = ctx.create_user()
    response = patch(ctx, user_path(user), {"op": "remove"})
    failed_with(ctx, response, 400, ("noTarget",), "remove without path")


def filter_matching_nothing(ctx: CheckContext, op: str) -> None:
    """`op` ("replace" or "remove") through a value filter no value matches: 400 noTarget.

    The user holds one value; the filter selects by the `type` or `value` of a second one that
    was never stored."""
    vp = value_path(ctx)
    stored, absent = vp.items(ctx, 2)
    user = ctx.create_user(**having(vp.name, [stored]))
    operation: dict[str, Any] = {"op": op, "path": vp.path(absent, "value" if op == "replace" else None)}
    if op == "replace":
        operation["value"] = absent["value"]
    response = patch(ctx, user_path(user), operation)
    failed_with(ctx, response, 400, ("noTarget",), f"{op} {operation['path']} (a filter matching nothing)")


@check(
    "rfc7644-3.5.2.3-patch-replace-filter-no-match-notarget",
    title="PATCH replace whose value filter matches nothing fails with 400 noTarget",
    section="RFC 7644 §3.5.2.3",
    level=Level.MUST,
    tags=("patch", "errors"),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_REPLACE_NO_TARGET_ADDS, Quirk.ERROR_NO_SCIMTYPE),
)
def replace_filter_no_match(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.3: "If the target location is a multi-valued attribute for which a value
    selection filter ("valuePath") has been supplied and no record match was made, the service
    provider SHALL indicate failure by returning HTTP status code 400 and a "scimType" error code
    of "noTarget"."
    """
    filter_matching_nothing(ctx, "replace")


@check(
    "rfc7644-3.12-patch-remove-filter-no-match-notarget",
    title="PATCH remove whose value filter matches nothing fails with 400 noTarget",
    section="RFC 7644 §3.12",
    level=Level.MAY,
    tags=("patch", "errors"),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_NO_TARGET_IGNORED,),
)
def remove_filter_no_match(ctx: CheckContext) -> None:
    """RFC 7644 §3.12, Table 9: "noTarget: The specified "path" did not yield an attribute or
    attribute value that could be operated on. This occurs when the specified "path" value
    contains a filter that yields no match." For "remove", though, §3.5.2.2 defines noTarget only
    for a missing path ("If "path" is unspecified, the operation fails with HTTP status code 400
    and a "scimType" error code of "noTarget""), and removing nothing leaves the resource as asked:
    a provider that answers success is conformant. At most a MAY.
    """
    filter_matching_nothing(ctx, "remove")


@check(
    "rfc7644-3.12-patch-unknown-attribute-path",
    title="PATCH with a path naming an undefined attribute fails with 400",
    section="RFC 7644 §3.12",
    level=Level.SHOULD,
    tags=("patch", "errors"),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_UNKNOWN_PATH_IGNORED,),
)
def unknown_attribute_path(ctx: CheckContext) -> None:
    """RFC 7644 §3.12, Table 9: "invalidPath: The "path" attribute was invalid or malformed" and
    "noTarget: The specified "path" did not yield an attribute or attribute value that could be
    operated on." Either keyword is accepted for a path naming no attribute of the schema; as
    "scimType [...] OPTIONAL", an error without one passes. The 400 is Table 8's "violates schema"
    ("Implementers SHOULD handle the identified HTTP status codes as described below").
    """
    user = ctx.create_user()
    response = patch(ctx, user_path(user), {"op": "replace", "path": "scimitarNoSuchAttribute", "value": "x"})
    failed_with(
        ctx, response, 400, ("invalidPath", "noTarget"), "replace of an undefined attribute", keyword_required=False
    )


@check(
    "rfc7644-3.12-patch-malformed-path-invalidpath",
    title="PATCH with a syntactically malformed path fails with 400 invalidPath",
    section="RFC 7644 §3.12",
    level=Level.SHOULD,
    tags=("patch", "errors"),
    needs=("patch", "users"),
    broken_by=(Quirk.SCIMTYPE_UNKNOWN,),
)
def malformed_path(ctx: CheckContext) -> None:
    """RFC 7644 §3.12, Table 9: "invalidPath: The "path" attribute was invalid or malformed (see
    Figure 7)." `name..givenName` matches no rule of the PATH grammar (RFC 7644 §3.5.2, Figure 7).
    The 400 is Table 8's "Request is unparsable, syntactically incorrect" ("Implementers SHOULD
    handle the identified HTTP status codes as described below"); scimType is "OPTIONAL", so an
    error without one passes and one naming another keyword does not.
    """
    user = ctx.create_user()
    response = patch(ctx, user_path(user), {"op": "replace", "path": "name..givenName", "value": "x"})
    failed_with(
        ctx, response, 400, ("invalidPath",), "replace with the malformed path name..givenName", keyword_required=False
    )


@check(
    "rfc7644-3.5.2.2-patch-remove-required-mutability",
    title="PATCH remove of the required userName fails with 400 mutability",
    section="RFC 7644 §3.5.2.2",
    level=Level.MUST,
    tags=("patch", "errors"),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_REMOVE_IGNORED, Quirk.ERROR_NO_SCIMTYPE),
)
def remove_required(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.2: "If an attribute is removed or becomes unassigned and is defined as a
    required attribute or a read-only attribute, the server SHALL return an HTTP response status
    code and a JSON detail error response as defined in Section 3.12, with a "scimType" error code
    of "mutability"." (`userName` is REQUIRED, RFC 7643 §4.1.1.)
    """
    user = ctx.create_user()
    response = patch(ctx, user_path(user), {"op": "remove", "path": "userName"})
    ctx.expect(
        response.status >= 400,
        f"removing the required userName answered {response.status}",
        expected="an error with scimType mutability",
        actual=response.status,
        response=response,
    )
    failed_with(ctx, response, response.status, ("mutability",), "remove userName")
    after = reread(ctx, user_path(user))
    ctx.expect(
        ci(after, "userName") == user["userName"],
        "userName changed despite the error",
        actual=ci(after, "userName"),
    )


@check(
    "rfc7644-3.5.2-patch-readonly-attribute-rejected",
    title="PATCH of readOnly attributes (id, groups) fails with 400",
    section="RFC 7644 §3.5.2",
    level=Level.MUST,
    tags=("patch", "errors"),
    needs=("patch", "users", "groups"),
    broken_by=(Quirk.READONLY_WRITABLE,),
)
def readonly_rejected(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2: "a client MUST NOT modify an attribute that has mutability "readOnly" or
    "immutable". ... An operation that is not compatible with an attribute's mutability or schema
    SHALL return the appropriate HTTP response status code and a JSON detail error response as
    defined in Section 3.12." `id` and `groups` are readOnly (RFC 7643 §3.1, §4.1.2). The MUST is
    the refusal: 400 with a SCIM Error. Table 9's "mutability" is the fitting keyword, but scimType
    is "OPTIONAL" (§3.12) and this sentence names none, so another keyword (or none) still passes.
    """
    user = ctx.create_user()
    group = ctx.create_group()
    attempts: list[dict[str, Any]] = [{"op": "replace", "path": "id", "value": "scimitar-not-the-id"}]
    if ctx.data.declares("User", "groups"):  # a path the target does not declare is invalidPath instead
        attempts.append({"op": "add", "path": "groups", "value": [{"value": group["id"]}]})
    for op in attempts:
        response = patch(ctx, user_path(user), op)
        failed_with(ctx, response, 400, None, f"{op['op']} of the readOnly {op['path']}")
    ctx.expect(reread(ctx, user_path(user)).get("id") == user["id"], "the user's id changed")


@check(
    "rfc7644-3.5.2-patch-immutable-attribute-rejected",
    title="PATCH changing an immutable value (members.value) fails with 400 mutability",
    section="RFC 7644 §3.5.2",
    level=Level.MUST,
    tags=("patch", "errors", "groups"),
    needs=("patch", "users", "groups"),
    broken_by=(Quirk.IMMUTABLE_WRITABLE,),
)
def immutable_rejected(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2: "a client MUST NOT modify an attribute that has mutability "readOnly" or
    "immutable". However, a client MAY "add" a value to an "immutable" attribute if the attribute
    had no previous value. An operation that is not compatible with an attribute's mutability or
    schema SHALL return the appropriate HTTP response status code and a JSON detail error
    response". Group `members.value` is immutable (RFC 7643 §8.7.1). The MUST is the refusal
    (400 with a SCIM Error); scimType is "OPTIONAL" (§3.12) and this sentence names none, so a
    keyword other than "mutability" (or none) still passes.
    """
    declared = declared_mutability(ctx, CORE_GROUP, "members", "value")
    if declared not in (None, "immutable"):
        ctx.skip(f"the target's /Schemas declares Group members.value {declared}, not immutable")
    u1, u2 = ctx.create_user(), ctx.create_user()
    group = ctx.create_group(members=[{"value": u1["id"]}])
    response = patch(
        ctx,
        group_path(group),
        {"op": "replace", "path": f'members[value eq "{u1["id"]}"].value', "value": u2["id"]},
    )
    failed_with(ctx, response, 400, None, "replace of the immutable members.value")
    ctx.expect(
        member_ids(reread(ctx, group_path(group))) == {u1["id"]},
        "the immutable member value changed despite the error",
    )


@check(
    "rfc7644-3.5.2-patch-atomic",
    title="A PATCH whose second operation fails leaves the resource unchanged",
    section="RFC 7644 §3.5.2",
    level=Level.MUST,
    tags=("patch", "errors"),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_NOT_ATOMIC,),
)
def atomic(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2: "A PATCH request, regardless of the number of operations, SHALL be treated
    as atomic. If a single operation encounters an error condition, the original SCIM resource
    MUST be restored, and a failure status SHALL be returned."
    """
    attr = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    user = ctx.create_user()
    response = patch(
        ctx,
        user_path(user),
        {"op": "replace", "path": attr.path, "value": marker(ctx, "display")},
        {"op": "remove"},  # no path: fails with noTarget (§3.5.2.2)
    )
    ctx.expect(
        400 <= response.status < 500,
        f"a PATCH with a failing operation answered {response.status}",
        expected="a 4xx failure status",
        actual=response.status,
        response=response,
    )
    after = reread(ctx, user_path(user))
    ctx.expect(
        attr.get(after) == attr.get(user),
        "the failed PATCH still applied its first operation",
        expected=attr.get(user),
        actual=attr.get(after),
    )


# -- IdP forms: Okta ------------------------------------------------------------------------------


@check(
    "okta-patch-deactivate",
    title='Okta deactivate: pathless replace {"active": false} sets active false',
    section="Okta interop",
    source=OKTA_SOURCE,
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_ACTIVE_IGNORED, Quirk.PATCH_PATHLESS_REJECTED),
)
def okta_deactivate(ctx: CheckContext) -> None:
    """Okta deactivates with `{"op":"replace","value":{"active":false}}` (no path). RFC 7644
    §3.5.2.3: "If the "path" parameter is omitted, the target is assumed to be the resource itself.
    In this case, the "value" attribute SHALL contain a list of one or more attributes that are to
    be replaced."
    """
    user = ctx.create_user(active=True)
    response = patch(ctx, user_path(user), {"op": "replace", "value": {"active": False}})
    succeeded(ctx, response, "Okta deactivate")
    after = reread(ctx, user_path(user))
    ctx.expect(
        ci(after, "active") is False,
        "the user is not inactive after Okta's deactivate",
        actual=ci(after, "active"),
    )


@check(
    "okta-patch-group-rename-with-id",
    title="Okta group rename: pathless replace carrying the group's own id renames it",
    section="Okta interop",
    source=OKTA_SOURCE,
    level=Level.SHOULD,
    tags=("patch", "groups"),
    needs=("patch", "groups"),
    broken_by=(Quirk.PATCH_ECHOED_ID_REJECTED, Quirk.PATCH_PATHLESS_REJECTED),
)
def okta_group_rename(ctx: CheckContext) -> None:
    """Okta renames a group with `{"op":"replace","value":{"id":"<its id>","displayName":"..."}}`.
    RFC 7644 §3.5.2: "a client MUST NOT modify an attribute that has mutability "readOnly"";
    echoing the unchanged `id` modifies nothing, so the rename should succeed.
    """
    group = ctx.create_group()
    name = marker(ctx, "renamed")
    response = patch(
        ctx, group_path(group), {"op": "replace", "value": {"id": group["id"], "displayName": name}}
    )
    succeeded(ctx, response, "Okta group rename")
    after = reread(ctx, group_path(group))
    ctx.expect(
        same_text(ci(after, "displayName"), name),
        "the group was not renamed",
        expected=name,
        actual=ci(after, "displayName"),
    )


@check(
    "okta-patch-member-move",
    title="Okta membership change: remove members[value eq] then add in one PATCH",
    section="Okta interop",
    source=OKTA_SOURCE,
    level=Level.MUST,
    tags=("patch", "groups"),
    needs=("patch", "users", "groups"),
    broken_by=(Quirk.PATCH_NO_VALUE_FILTER, Quirk.PATCH_REMOVE_IGNORED),
)
def okta_member_move(ctx: CheckContext) -> None:
    """Okta sends `[{"op":"remove","path":"members[value eq \"<old>\"]"},
    {"op":"add","path":"members","value":[{"value":"<new>","display":"..."}]}]`. RFC 7644 §3.5.2:
    "Each operation in the sequence is applied to the target resource; the resulting resource
    becomes the target of the next operation."
    Binding: "If a single operation encounters an error condition, the original SCIM resource MUST
    be restored, and a failure status SHALL be returned" (RFC 7644 §3.5.2), so a success answer says
    the operation was applied as defined.
    """
    old, new = ctx.create_user(), ctx.create_user()
    group = ctx.create_group(members=[{"value": old["id"]}])
    response = patch(
        ctx,
        group_path(group),
        {"op": "remove", "path": f'members[value eq "{old["id"]}"]'},
        {"op": "add", "path": "members", "value": [{"value": new["id"], "display": new["userName"]}]},
    )
    succeeded(ctx, response, "Okta member move")
    members = member_ids(reread(ctx, group_path(group)))
    ctx.expect(
        members == {new["id"]},
        "the group does not hold exactly the new member",
        expected=[new["id"]],
        actual=sorted(members),
    )


# -- IdP forms: Microsoft Entra ID ----------------------------------------------------------------


@check(
    "entra-patch-op-case-insensitive",
    title="Entra's capitalised PATCH ops (Replace, ADD, Remove) are accepted",
    section="Entra interop",
    source=ENTRA_KNOWN_ISSUES,
    level=Level.SHOULD,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_OPS_LOWERCASE_ONLY,),
)
def entra_op_case(ctx: CheckContext) -> None:
    """Entra sends `"op": "Replace"`, `"Add"`, `"Remove"`. RFC 7644 §3.5.2 spells the values in
    lowercase ("MAY be one of "add", "remove", or "replace"") and says nothing of case, so this is
    an interoperability requirement of Microsoft Entra ID, not of the RFC.
    """
    attrs = ctx.data.writable_strings()[:3]
    ctx.need(attrs[1] if len(attrs) > 1 else None, "two writable string attributes other than userName")
    replaced, added = attrs[0], attrs[1]
    removed = attrs[2] if len(attrs) > 2 else None
    payload = added.unset(ctx.data.user())
    if removed is not None:
        removed.set(payload, marker(ctx, "title"))
    user = ctx.create("/Users", payload)
    display, nick = marker(ctx, "display"), marker(ctx, "nick")
    response = patch(
        ctx,
        user_path(user),
        {"op": "Replace", "path": replaced.path, "value": display},
        {"op": "ADD", "path": added.path, "value": nick},
        # with two attributes only, the one just added is removed again
        {"op": "Remove", "path": (removed or added).path},
    )
    succeeded(ctx, response, "PATCH with capitalised ops")
    after = reread(ctx, user_path(user))
    want = {replaced.path: display, added.path: nick if removed else None}
    if removed is not None:
        want[removed.path] = None
    got = {path: ref.get(after) for path, ref in ((r.path, r) for r in attrs)}
    ctx.expect(
        got == want,
        "the capitalised operations were not all applied",
        expected=want,
        actual=got,
    )


@check(
    "entra-patch-active-string-boolean",
    title='Entra\'s string boolean ("False") for active deactivates the user',
    section="Entra interop",
    source=ENTRA_KNOWN_ISSUES,
    level=Level.SHOULD,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_STRING_BOOL_REJECTED,),
)
def entra_string_boolean(ctx: CheckContext) -> None:
    """Entra disables a user with `{"op":"Replace","path":"active","value":"False"}`. RFC 7643
    §2.3.2 defines a boolean as JSON `true`/`false`, so the RFC does not require accepting the
    string; Microsoft Entra ID interoperability does.
    """
    user = ctx.create_user(active=True)
    response = patch(ctx, user_path(user), {"op": "Replace", "path": "active", "value": "False"})
    succeeded(ctx, response, 'replace active with "False"')
    after = reread(ctx, user_path(user))
    ctx.expect(
        ci(after, "active") is False,
        'active is not the boolean false after "False"',
        actual=ci(after, "active"),
    )


@check(
    "entra-patch-remove-members-value-list",
    title="Entra's remove of members with a value list removes only the listed members",
    section="Entra interop",
    source=ENTRA_KNOWN_ISSUES,
    level=Level.SHOULD,
    tags=("patch", "groups"),
    needs=("patch", "users", "groups"),
    broken_by=(Quirk.PATCH_REMOVE_VALUE_IGNORED, Quirk.PATCH_REMOVE_IGNORED),
)
def entra_remove_members_list(ctx: CheckContext) -> None:
    """Entra removes a member with `{"op":"Remove","path":"members","value":[{"value":"<id>"}]}`.
    RFC 7644 §3.5.2.2 has no such form (a remove of "members" without a filter removes "the
    attribute and all values"), so this is an interoperability requirement of Microsoft Entra ID.
    """
    u1, u2 = ctx.create_user(), ctx.create_user()
    group = ctx.create_group(members=[{"value": u1["id"]}, {"value": u2["id"]}])
    response = patch(
        ctx, group_path(group), {"op": "Remove", "path": "members", "value": [{"value": u1["id"]}]}
    )
    succeeded(ctx, response, "Entra member remove")
    members = member_ids(reread(ctx, group_path(group)))
    ctx.expect(
        members == {u2["id"]},
        "the group does not hold exactly the member not removed",
        expected=[u2["id"]],
        actual=sorted(members),
    )


@check(
    "rfc7644-3.5.2.3-patch-replace-multivalued-all",
    title="PATCH replace of a multi-valued attribute without filter replaces all its values",
    section="RFC 7644 §3.5.2.3",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_REPLACE_MULTI_MERGES,),
)
def replace_multivalued_all(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.3: "If the target location is a multi-valued attribute and no filter is
    specified, the attribute and all values are replaced."
    Binding: "If a single operation encounters an error condition, the original SCIM resource MUST
    be restored, and a failure status SHALL be returned" (RFC 7644 §3.5.2), so a success answer says
    the operation was applied as defined.
    """
    # any writable multi-valued complex attribute will do (`emails` with `value` alone included)
    ref = ctx.need(ctx.data.multi_complex_with("value"), "writable multi-valued complex attribute")
    name = ref.attribute.name
    user = ctx.create_user(**having(name, [typed_value(ctx, ref, "work", primary=True), typed_value(ctx, ref, "home")]))
    only = typed_value(ctx, ref, "other")
    address = only["value"]
    response = patch(ctx, user_path(user), {"op": "replace", "path": name, "value": [only]})
    succeeded(ctx, response, f"replace {name}")
    values = [str(ci(e, "value")).lower() for e in values_of(reread(ctx, user_path(user)), ref)]
    ctx.expect(
        values == [address.lower()],
        f"after replacing {name} with one value the resource still has other values",
        expected=[address],
        actual=values,
    )


@check(
    "rfc7644-3.5.2.2-patch-remove-filtered-sub-attribute",
    title='PATCH remove of a sub-attribute through a value filter (emails[type eq "work"].display or '
    "emails[value eq ...].display) removes that sub-attribute",
    section="RFC 7644 §3.5.2.2",
    level=Level.MUST,
    tags=("patch",),
    needs=("patch", "users"),
    broken_by=(Quirk.PATCH_REMOVE_FILTERED_SUB_IGNORED, Quirk.PATCH_REMOVE_IGNORED),
)
def remove_filtered_sub_attribute(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.2: "If the target location is a complex multi-valued attribute and a complex
    filter is specified based on the attribute's sub-attributes, the matching records are removed.
    Sub-attributes whose values have been removed SHALL be considered unassigned." The path
    grammar allows a sub-attribute after the filter ("PATH = attrPath / valuePath [subAttr]").
    The filter selects by `type` where declared, else by `value`; the sub-attribute removed is
    `display`. A target whose attribute has `value` alone is skipped: removing `value` itself
    leaves a value with no sub-attribute, which a provider may drop like the whole record, so the
    check could not tell this removal from the record removal `patch-remove-value-filter` tests.
    """
    vp = value_path(ctx, also=("display",))
    item = vp.items(ctx, 1, display="Work mail")[0]
    user = ctx.create_user(**having(vp.name, [item]))
    selected = vp.selected(reread(ctx, user_path(user)), item)
    if not selected or ci(selected[0], "display") is None:
        ctx.skip(f"the target did not store {vp.name}.display, so there is nothing to remove")
    path = vp.path(item, "display")
    response = patch(ctx, user_path(user), {"op": "remove", "path": path})
    succeeded(ctx, response, f"remove {path}")
    selected = vp.selected(reread(ctx, user_path(user)), item)
    ctx.expect(
        bool(selected) and all(ci(e, "display") is None for e in selected),
        f"the value {path} selects still has its display after it was removed (or the value itself is gone)",
        expected=f"the selected {vp.name} value without display",
        actual=selected,
    )
