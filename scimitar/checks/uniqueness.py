"""userName uniqueness (RFC 7643 §4.1.1: caseExact false, uniqueness server; RFC 7644 §3.3, §3.12)."""

from __future__ import annotations

from typing import Any

from scimitar.checks import _query as q
from scimitar.checks.context import CheckContext
from scimitar.checks.crud import attr, full_user, path_of, post_user, read, same_text
from scimitar.checks.registry import Level, check
from scimitar.quirks import Quirk
from scimitar.schema import PATCH_OP
from scimitar.target import ScimResponse


def _expect_conflict(
    ctx: CheckContext, response: ScimResponse, what: str, *, keyword_required: bool = True
) -> None:
    """409 with scimType "uniqueness"; where no MUST names the keyword (`keyword_required=False`)
    an error without scimType passes (RFC 7644 §3.12: "scimType [...] OPTIONAL")."""
    ctx.expect_status(response, 409, message=f"{what} answered {response.status}, expected 409 Conflict")
    scim_type = attr(response.json(), "scimType")
    if scim_type is None and not keyword_required:
        return
    ctx.expect(
        scim_type == "uniqueness",
        f'{what}: the 409 error does not carry scimType "uniqueness"',
        expected="uniqueness",
        actual=scim_type,
        response=response,
    )


def _expect_unchanged(ctx: CheckContext, user: dict[str, Any]) -> None:
    after = read(ctx, path_of("/Users", user))
    ctx.expect(
        attr(after, "userName") == user["userName"],
        "the refused rename changed the User anyway",
        expected=user["userName"],
        actual=attr(after, "userName"),
    )


@check(
    "rfc7644-3.3-duplicate-username-409",
    title="Creating a User with a taken userName answers 409 uniqueness",
    section="RFC 7644 §3.3",
    level=Level.MUST,
    tags=("uniqueness",),
    broken_by=(Quirk.DUPLICATE_USERNAME, Quirk.ERROR_NO_SCIMTYPE),
)
def duplicate_username_409(ctx: CheckContext) -> None:
    """RFC 7644 §3.3: "If the service provider determines that the creation of the requested
    resource conflicts with existing resources (e.g., a "User" resource with a duplicate
    "userName"), the service provider MUST return HTTP status code 409 (Conflict) with a "scimType"
    error code of "uniqueness", as per Section 3.12."
    """
    user = ctx.create_user()
    response = post_user(ctx, ctx.data.user(userName=user["userName"]))
    _expect_conflict(ctx, response, "POST of a duplicate userName")


@check(
    "rfc7643-4.1.1-username-case-variant-409",
    title="A userName differing only in case is a duplicate (409)",
    section="RFC 7643 §4.1.1",
    level=Level.MUST,
    tags=("uniqueness",),
    broken_by=(Quirk.USERNAME_CASE_SENSITIVE,),
)
def username_case_variant_409(ctx: CheckContext) -> None:
    """RFC 7643 §4.1.1: userName "MUST be unique across the service provider's entire set of Users",
    and its definition (§8.7.1) has "caseExact": false and "uniqueness": "server", so values that
    differ only in case are the same value. RFC 7644 §3.3: a duplicate "MUST return HTTP status code
    409 (Conflict) with a "scimType" error code of "uniqueness"".
    """
    user = ctx.create_user()
    response = post_user(ctx, ctx.data.user(userName=user["userName"].upper()))
    _expect_conflict(ctx, response, "POST of an upper-cased duplicate userName")


@check(
    "rfc7644-3.3-duplicate-leaves-original",
    title="A refused duplicate leaves exactly the original User",
    section="RFC 7644 §3.3",
    level=Level.MUST,
    tags=("uniqueness", "filter"),
    needs=("filter",),
    broken_by=(Quirk.DUPLICATE_USERNAME,),
)
def duplicate_leaves_original(ctx: CheckContext) -> None:
    """RFC 7643 §4.1.1: userName "MUST be unique across the service provider's entire set of
    Users." After a duplicate POST, a filter on that userName finds the original User only, with
    its own attributes.
    """
    changed = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    user = ctx.create_user()
    post_user(ctx, changed.set(ctx.data.user(userName=user["userName"]), "Impostor"))
    q.decoy(ctx)
    flt = f'userName eq "{user["userName"]}"'
    response = ctx.client.get("/Users", params={"filter": flt})
    ctx.expect_status(response, 200)
    listed = response.json()
    if isinstance(listed, dict):
        q.only_own(ctx, str(user["userName"]), listed, flt=flt, mine=[str(user["id"])])
    found = attr(response.json(), "Resources") or []
    ctx.expect(
        len(found) == 1 and attr(found[0], "id") == user["id"],
        "the userName is held by more than the original User after a duplicate create",
        expected=[user["id"]],
        actual=[attr(r, "id") for r in found],
        response=response,
    )
    ctx.expect(
        changed.get(found[0]) == changed.get(user),
        "the original User's attributes changed",
        expected=changed.get(user),
        actual=changed.get(found[0]),
        response=response,
    )


def _expect_refused(ctx: CheckContext, response: ScimResponse, what: str) -> None:
    ctx.expect(
        not 200 <= response.status < 300,
        f"{what} answered {response.status}: the duplicate userName was accepted",
        expected="an error (409 uniqueness)",
        actual=response.status,
        response=response,
    )


@check(
    "rfc7643-4.1.1-put-rename-to-taken-refused",
    title="PUT renaming a User to a taken userName is refused and changes nothing",
    section="RFC 7643 §4.1.1",
    level=Level.MUST,
    tags=("uniqueness", "put"),
    broken_by=(Quirk.DUPLICATE_USERNAME,),
)
def put_rename_to_taken_refused(ctx: CheckContext) -> None:
    """RFC 7643 §4.1.1: "This identifier MUST be unique across the service provider's entire set of
    Users." A PUT that gives a User another User's userName must fail. Which error answers it is a
    SHOULD (RFC 7644 §3.12), checked by rfc7644-3.5.1-put-rename-to-taken-409.
    """
    first = ctx.create_user()
    second = ctx.create_user()
    response = ctx.client.put(path_of("/Users", second), json=ctx.data.apply_profile("User", full_user(second, userName=first["userName"]), ("userName",)))
    _expect_refused(ctx, response, "PUT renaming into a taken userName")
    _expect_unchanged(ctx, second)


@check(
    "rfc7644-3.5.1-put-rename-to-taken-409",
    title="PUT renaming a User to a taken userName answers 409 uniqueness",
    section="RFC 7644 §3.12",
    level=Level.SHOULD,
    tags=("uniqueness", "put"),
    broken_by=(Quirk.DUPLICATE_USERNAME,),
)
def put_rename_to_taken(ctx: CheckContext) -> None:
    """RFC 7644 §3.12: "Implementers SHOULD handle the identified HTTP status codes as described
    below." Table 8, 409 Conflict: "The specified version number does not match the resource's
    latest version number, or a service provider refused to create a new, duplicate resource."
    Table 9: "uniqueness: One or more of the attribute values are already in use or are
    reserved." (applicability POST, PUT, PATCH). Unlike a create (§3.3), no MUST fixes the answer
    to a PUT, so this is a SHOULD; the refusal itself is rfc7643-4.1.1-put-rename-to-taken-refused.
    scimType is "OPTIONAL" (§3.12): a 409 without one passes, one naming another keyword does not.
    """
    first = ctx.create_user()
    second = ctx.create_user()
    response = ctx.client.put(path_of("/Users", second), json=ctx.data.apply_profile("User", full_user(second, userName=first["userName"]), ("userName",)))
    _expect_conflict(ctx, response, "PUT renaming into a taken userName", keyword_required=False)


@check(
    "rfc7643-4.1.1-put-rename-to-case-variant-refused",
    title="PUT renaming a User to a case variant of a taken userName is refused",
    section="RFC 7643 §4.1.1",
    level=Level.MUST,
    tags=("uniqueness", "put"),
    broken_by=(Quirk.USERNAME_CASE_SENSITIVE,),
)
def put_rename_to_case_variant(ctx: CheckContext) -> None:
    """RFC 7643 §4.1.1: userName "MUST be unique across the service provider's entire set of
    Users", compared with "caseExact": false (§8.7.1), so a case variant is the same value. The
    status of the refusal is a SHOULD (RFC 7644 §3.12) and is not judged here.
    """
    first = ctx.create_user()
    second = ctx.create_user()
    body = full_user(second, userName=first["userName"].upper())
    response = ctx.client.put(path_of("/Users", second), json=body)
    _expect_refused(ctx, response, "PUT renaming into a case variant of a taken userName")
    _expect_unchanged(ctx, second)


@check(
    "rfc7644-3.5.2-patch-rename-to-taken-refused",
    title="PATCH replacing userName with a taken one is refused and changes nothing",
    section="RFC 7644 §3.5.2",
    level=Level.MUST,
    tags=("uniqueness", "patch"),
    needs=("patch",),
    broken_by=(Quirk.DUPLICATE_USERNAME,),
)
def patch_rename_to_taken(ctx: CheckContext) -> None:
    """RFC 7643 §4.1.1: userName "MUST be unique across the service provider's entire set of
    Users"; RFC 7644 §3.5.2: "If a single operation encounters an error condition, the original
    SCIM resource MUST be restored, and a failure status SHALL be returned." The status itself
    (409 uniqueness, RFC 7644 §3.12 Table 9) is a SHOULD and is not judged here.
    """
    first = ctx.create_user()
    second = ctx.create_user()
    # the profile's own rules come along (clickhouse: the primary email follows userName), so only
    # uniqueness can be the reason for a refusal
    values = ctx.data.apply_profile("User", {"userName": first["userName"]}, ("userName",))
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": key, "value": value} for key, value in values.items()],
    }
    response = ctx.client.patch(path_of("/Users", second), json=patch)
    _expect_refused(ctx, response, "PATCH renaming into a taken userName")
    _expect_unchanged(ctx, second)


@check(
    "rfc7644-3.5.1-put-own-username-no-conflict",
    title="PUT keeping a User's own userName (or changing only its case) is not a conflict",
    section="RFC 7644 §3.5.1",
    level=Level.MUST,
    tags=("uniqueness", "put"),
    broken_by=(Quirk.UNIQUE_CHECK_INCLUDES_SELF,),
)
def put_own_username_no_conflict(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.1: "readWrite, writeOnly: Any values provided SHALL replace the existing
    attribute values." A User's userName conflicts with no *other* User (RFC 7643 §4.1.1), so a
    PUT that keeps it, or changes only its case, must succeed.
    """
    user = ctx.create_user()
    same = ctx.client.put(path_of("/Users", user), json=full_user(user))
    ctx.expect_status(same, 200, 204, message=f"PUT keeping the User's own userName answered {same.status}")
    recased = user["userName"][0].upper() + user["userName"][1:]
    response = ctx.client.put(path_of("/Users", user), json=full_user(user, userName=recased))
    ctx.expect_status(
        response,
        200,
        204,
        message=f"PUT changing only the case of its own userName answered {response.status}",
    )
    after = read(ctx, path_of("/Users", user))
    ctx.expect(
        same_text(attr(after, "userName"), recased), "the userName was lost", actual=attr(after, "userName")
    )


@check(
    "rfc7644-3.6-deleted-username-reusable",
    title="A deleted User's userName can be used again",
    section="RFC 7644 §3.6",
    level=Level.SHOULD,
    tags=("uniqueness", "crud"),
    broken_by=(Quirk.DELETED_STILL_READABLE, Quirk.SOFT_DELETE),
)
def deleted_username_reusable(ctx: CheckContext) -> None:
    """RFC 7644 §3.6: "the service provider SHOULD NOT consider the deleted resource in conflict
    calculation. For example, if a User resource is deleted, a CREATE request for a User resource
    with the same userName as the previously deleted resource SHOULD NOT fail with a 409 error due
    to userName conflict."
    """
    user = ctx.create_user()
    deleted = ctx.client.delete(path_of("/Users", user))
    with ctx.setup():
        ctx.expect_status(deleted, 204, 200, message=f"setup failed: DELETE answered {deleted.status}")
    response = post_user(ctx, ctx.data.user(userName=user["userName"]))
    ctx.expect_status(response, 201, 200)
