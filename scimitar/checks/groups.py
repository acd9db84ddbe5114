"""Group membership (RFC 7643 §4.2 `members`, §4.1.2 `User.groups`)."""

from __future__ import annotations

from typing import Any

from scimitar.checks.context import CheckContext
from scimitar.checks.crud import attr, created_body, path_of, post_user, read, values_of
from scimitar.checks.registry import Level, check
from scimitar.quirks import Quirk


def _member(user: dict[str, Any]) -> dict[str, Any]:
    return {"value": user["id"]}


def _entry(body: Any, name: str, value: str) -> dict[str, Any] | None:
    items = attr(body, name)
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and attr(item, "value") == value:
            return item
    return None


def _refers_to(ref: Any, endpoint: str, rid: str) -> bool:
    """Whether a `$ref` (absolute or relative URI) names `<endpoint>/<rid>`."""
    return isinstance(ref, str) and ref.rstrip("/").endswith(f"{endpoint}/{rid}")


def _group_put(group: dict[str, Any], members: list[dict[str, Any]]) -> dict[str, Any]:
    body = {k: v for k, v in group.items() if k.lower() not in ("id", "meta", "members")}
    body["members"] = members
    return body


@check(
    "rfc7643-4.2-group-members-returned",
    title="Members given when a Group is created are returned when it is read",
    section="RFC 7643 §4.2",
    level=Level.SHOULD,
    tags=("groups",),
    needs=("groups",),
    broken_by=(Quirk.GROUP_MEMBERS_DROPPED,),
)
def group_members_returned(ctx: CheckContext) -> None:
    """RFC 7643 §4.2: "members: A list of members of the Group. While values MAY be added or
    removed, sub-attributes of members are "immutable"." `members` is returned by default (RFC
    7643 §8.7.1). RFC 7644 §3.3 lets a server alter POSTed content, so this is a SHOULD.
    """
    user = ctx.create_user()
    # ctx.create, not ctx.create_group: the latter PATCHes dropped members in (setup elsewhere)
    group = ctx.create("/Groups", ctx.data.group(members=[_member(user)]))
    body = read(ctx, path_of("/Groups", group))
    ctx.expect(
        user["id"] in values_of(body, "members"),
        "the Group read back does not list the member it was created with",
        expected=[user["id"]],
        actual=values_of(body, "members"),
    )


@check(
    "rfc7643-4.2-member-value-and-ref",
    title="A Group member's value is the User's id and its $ref the User's URI",
    section="RFC 7643 §4.2",
    level=Level.SHOULD,
    tags=("groups",),
    needs=("groups",),
    broken_by=(Quirk.REF_WRONG_ENDPOINT,),
)
def member_value_and_ref(ctx: CheckContext) -> None:
    """RFC 7643 §4.2: "The "value" sub-attribute contains the value of an "id" attribute of a SCIM
    resource, and the "$ref" sub-attribute must be the URI of a SCIM resource such as a "User", or
    a "Group"." A `$ref` the server returns should therefore name the member's own URI. Neither
    sentence uses a capitalised keyword (RFC 7643 §1.1: "When these words are not capitalized,
    they are meant in their natural-language sense"), so this is reported at SHOULD.
    """
    user = ctx.create_user()
    group = ctx.create_group(members=[_member(user)])
    body = read(ctx, path_of("/Groups", group))
    entry = _entry(body, "members", user["id"])
    if entry is None:
        ctx.skip("the target did not return the member, so its sub-attributes cannot be checked")
    ref = attr(entry, "$ref")
    if ref is None:
        ctx.not_exercised("the member carries no $ref to judge")
        return
    ctx.expect(
        _refers_to(ref, "/Users", user["id"]),
        "the member's $ref is not the URI of the member User",
        expected=f".../Users/{user['id']}",
        actual=ref,
    )


@check(
    "rfc7643-4.1.2-user-groups-reflect-membership",
    title="User.groups lists a Group once the User is a member, and not after removal",
    section="RFC 7643 §4.1.2",
    level=Level.MAY,
    tags=("groups",),
    needs=("groups",),
    broken_by=(Quirk.USER_GROUPS_MISSING,),
)
def user_groups_reflect_membership(ctx: CheckContext) -> None:
    """RFC 7643 §4.1.2: "groups: A list of groups to which the user belongs, either through direct
    membership, through nested groups, or dynamically calculated." `groups` is an optional
    (`"required": false`), readOnly attribute, and no keyword requires a provider to compute it: a
    provider that does not is reported as an optional (MAY) behaviour not present, not a warning.
    """
    ctx.need_attr("User", "groups")
    user = ctx.create_user()
    group = ctx.create_group(members=[_member(user)])
    ctx.expect(
        group["id"] in values_of(read(ctx, path_of("/Users", user)), "groups"),
        "User.groups does not list the Group the User was made a member of",
        expected=[group["id"]],
        actual=values_of(read(ctx, path_of("/Users", user)), "groups"),
    )
    response = ctx.client.put(path_of("/Groups", group), json=_group_put(group, []))
    with ctx.setup():
        ctx.expect_status(response, 200, 204, message=f"setup failed: PUT /Groups answered {response.status}")
    after = values_of(read(ctx, path_of("/Users", user)), "groups")
    ctx.expect(
        group["id"] not in after, "User.groups still lists a Group the User was removed from", actual=after
    )


@check(
    "rfc7643-4.1.2-user-groups-value-and-ref",
    title="User.groups values are Group ids and their $ref the Groups' URIs",
    section="RFC 7643 §4.1.2",
    level=Level.SHOULD,
    tags=("groups",),
    needs=("groups",),
    broken_by=(Quirk.REF_WRONG_ENDPOINT,),
)
def user_groups_value_and_ref(ctx: CheckContext) -> None:
    """RFC 7643 §4.1.2: "If the SCIM service provider exposes a "Group" resource, the "value"
    sub-attribute MUST be the "id", and the "$ref" sub-attribute must be the URI of the
    corresponding "Group" resources to which the user belongs." The "value" part is a MUST, but the
    "$ref" part is a lowercase "must" (RFC 7643 §1.1: "When these words are not capitalized, they
    are meant in their natural-language sense"), and the check judges both at once, so it reports
    at SHOULD.
    """
    ctx.need_attr("User", "groups")
    user = ctx.create_user()
    group = ctx.create_group(members=[_member(user)])
    body = read(ctx, path_of("/Users", user))
    if not attr(body, "groups"):
        ctx.skip("the target does not return User.groups")
    entry = _entry(body, "groups", group["id"])
    ctx.expect(
        entry is not None,
        "User.groups has entries but none whose value is the Group's id",
        expected=group["id"],
        actual=attr(body, "groups"),
    )
    ref = attr(entry, "$ref")
    ctx.expect(
        ref is None or _refers_to(ref, "/Groups", group["id"]),
        "the User.groups $ref is not the Group's URI",
        expected=f".../Groups/{group['id']}",
        actual=ref,
    )


@check(
    "rfc7643-4.2-deleted-user-leaves-members",
    title="Deleting a User removes it from its Groups' members",
    section="RFC 7644 §3.6, RFC 7643 §4.2",
    level=Level.SHOULD,
    tags=("groups", "crud"),
    needs=("groups",),
    broken_by=(Quirk.DELETE_KEEPS_MEMBERSHIP,),
)
def deleted_user_leaves_members(ctx: CheckContext) -> None:
    """RFC 7644 §3.6: a deleted resource gets "a 404 (Not Found) error code for all operations
    associated with the previously deleted resource" and is omitted "from future query results".
    RFC 7643 §4.2 says a member's "value" is "the value of an "id" attribute of a SCIM resource";
    once the User is gone the member names nothing. The RFC does not spell out the clean-up: SHOULD.
    """
    user = ctx.create_user()
    group = ctx.create_group(members=[_member(user)])
    deleted = ctx.client.delete(path_of("/Users", user))
    with ctx.setup():
        ctx.expect_status(deleted, 204, 200, message=f"setup failed: DELETE answered {deleted.status}")
    members = values_of(read(ctx, path_of("/Groups", group)), "members")
    ctx.expect(
        user["id"] not in members, "the deleted User is still listed in the Group's members", actual=members
    )


@check(
    "rfc7643-4.2-deleted-group-leaves-user-groups",
    title="Deleting a Group removes it from its members' User.groups",
    section="RFC 7644 §3.6, RFC 7643 §4.1.2",
    level=Level.SHOULD,
    tags=("groups", "crud"),
    needs=("groups",),
    broken_by=(Quirk.DELETED_STILL_READABLE,),
)
def deleted_group_leaves_user_groups(ctx: CheckContext) -> None:
    """RFC 7644 §3.6: the provider "MUST return a 404 (Not Found) error code for all operations
    associated with the previously deleted resource"; RFC 7643 §4.1.2: "groups: A list of groups to
    which the user belongs". A deleted Group is no longer one the User belongs to (SHOULD: the RFC
    does not spell out the clean-up).
    """
    ctx.need_attr("User", "groups")  # nothing to observe where User.groups is not declared
    user = ctx.create_user()
    group = ctx.create_group(members=[_member(user)])
    deleted = ctx.client.delete(path_of("/Groups", group))
    with ctx.setup():
        ctx.expect_status(deleted, 204, 200, message=f"setup failed: DELETE answered {deleted.status}")
    groups = values_of(read(ctx, path_of("/Users", user)), "groups")
    ctx.expect(group["id"] not in groups, "User.groups still lists the deleted Group", actual=groups)


@check(
    "rfc7643-4.1.2-user-groups-readonly",
    title="User.groups written by the client does not change membership",
    section="RFC 7643 §4.1.2",
    level=Level.MUST,
    tags=("groups",),
    needs=("groups",),
    broken_by=(Quirk.READONLY_WRITABLE,),
)
def user_groups_readonly(ctx: CheckContext) -> None:
    """RFC 7643 §4.1.2: "Since this attribute has a mutability of "readOnly", group membership
    changes MUST be applied via the "Group" Resource (Section 4.2)." A `groups` value in a User POST
    is either refused (a 4xx, typically 400 `mutability`) or ignored (RFC 7644 §3.5.1: readOnly "values provided SHALL
    be ignored"); it must not show up as membership.
    """
    ctx.need_attr("User", "groups")  # an undeclared `groups` is refused as unknown, which proves nothing
    group = ctx.create_group()
    response = post_user(ctx, ctx.data.user(groups=[{"value": group["id"]}]))
    if 400 <= response.status < 500:
        ctx.evaluated()  # refused: the readOnly value did not become membership
        return
    ctx.expect_status(response, 201, 200)
    user = created_body(ctx, response, "POST /Users")
    listed = values_of(read(ctx, path_of("/Users", user)), "groups")
    members = values_of(read(ctx, path_of("/Groups", group)), "members")
    ctx.expect(
        group["id"] not in listed and user["id"] not in members,
        "a client-written User.groups value shows up as membership",
        expected="groups ignored",
        actual={"User.groups": listed, "Group.members": members},
    )


@check(
    "rfc7644-3.5.1-group-put-replaces-members",
    title="PUT of a Group replaces its members",
    section="RFC 7644 §3.5.1",
    level=Level.MUST,
    tags=("groups", "put"),
    needs=("groups",),
    broken_by=(Quirk.PUT_MERGES,),
)
def group_put_replaces_members(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.1: "readWrite, writeOnly: Any values provided SHALL replace the existing
    attribute values." A PUT with `members: [B]` leaves B as the only member.
    """
    first = ctx.create_user()
    second = ctx.create_user()
    group = ctx.create_group(members=[_member(first)])
    response = ctx.client.put(path_of("/Groups", group), json=_group_put(group, [_member(second)]))
    ctx.expect_status(response, 200, 204, message=f"PUT /Groups answered {response.status}")
    members = values_of(read(ctx, path_of("/Groups", group)), "members")
    ctx.expect(
        members == [second["id"]],
        "the Group's members were not replaced by the PUT's list",
        expected=[second["id"]],
        actual=members,
    )
