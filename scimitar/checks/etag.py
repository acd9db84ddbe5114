"""Versioning with ETags (RFC 7644 §3.14, RFC 7232): the header, meta.version, conditional requests.

All checks need `etag`: a target whose /ServiceProviderConfig says etag.supported=false skips them.
"""

from __future__ import annotations

from typing import Any

from scimitar.checks._query import get_ci as ci
from scimitar.checks._query import user_path
from scimitar.checks.assertions import require
from scimitar.checks.context import CheckContext
from scimitar.checks.crud import created_body
from scimitar.checks.registry import Level, check
from scimitar.factory import AttrRef
from scimitar.quirks import Quirk
from scimitar.schema import PATCH_OP
from scimitar.target import ScimResponse


def version_of(body: Any) -> Any:
    return ci(ci(body, "meta"), "version")


def opaque(tag: str) -> str:
    """The opaque-tag of an entity-tag, without the weakness indicator (RFC 7232 §2.3)."""
    return tag.strip().removeprefix("W/")


def current_etag(ctx: CheckContext, path: str) -> tuple[str, ScimResponse]:
    """The resource's current ETag header, failing the check if the GET carries none."""
    response = ctx.client.get(path)
    ctx.expect_status(response, 200)
    etag = response.etag
    ctx.expect(
        bool(etag),
        f"GET {path} carries no ETag header",
        expected="an ETag header (RFC 7644 §3.14)",
        actual=None,
        response=response,
    )
    assert etag is not None
    return etag, response


def writable(ctx: CheckContext) -> AttrRef:
    """The string attribute these checks change (the target declares it; skip if none)."""
    return ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")


def stale_etag(ctx: CheckContext, path: str) -> tuple[str, str]:
    """Read the resource's ETag, then change the resource: returns (stale, current)."""
    stale, _ = current_etag(ctx, path)
    changed = ctx.client.patch(
        path,
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": writable(ctx).path, "value": f"{ctx.data.prefix}changed"}],
        },
    )
    with ctx.setup():
        ctx.expect_status(changed, 200, 204, message=f"setup: PATCH {path} answered {changed.status}")
    current, _ = current_etag(ctx, path)
    if opaque(current) == opaque(stale):
        ctx.skip("the ETag did not change after an update, so no stale ETag is available")
    return stale, current



@check(
    "rfc7644-3.14-etag-header-on-get",
    title="GET of a resource carries an ETag header",
    section="RFC 7644 §3.14",
    level=Level.MUST,
    tags=("etag",),
    needs=("etag", "users"),
    broken_by=(Quirk.NO_ETAG,),
)
def etag_on_get(ctx: CheckContext) -> None:
    """RFC 7644 §3.14: "When supported, SCIM ETags MUST be specified as an HTTP header and SHOULD be
    specified within the "version" attribute contained in the resource's "meta" attribute."
    """
    user = ctx.create_user()
    current_etag(ctx, user_path(user))


@check(
    "rfc7644-3.14-etag-header-on-writes",
    title="POST, PUT and PATCH responses carrying the resource carry an ETag header",
    section="RFC 7644 §3.14",
    level=Level.MUST,
    tags=("etag",),
    needs=("etag", "users", "patch"),
    broken_by=(Quirk.NO_ETAG,),
)
def etag_on_writes(ctx: CheckContext) -> None:
    """RFC 7644 §3.14: "When supported, SCIM ETags MUST be specified as an HTTP header"; its
    example create response carries `ETag: W/"e180ee84f0671b1"` with the resource. A PUT or PATCH
    that answers 204 has no resource representation and is not judged.
    """
    payload = ctx.data.user()
    created = ctx.client.post("/Users", json=payload)
    ctx.expect_status(created, 201, 200)
    body = created_body(ctx, created, "POST /Users")
    ctx.expect(bool(body.get("id")), "the created User has no id", response=created)
    ctx.expect(bool(created.etag), "the POST response carries no ETag header", response=created)
    path = f"/Users/{body['id']}"
    writable(ctx).set(payload, f"{ctx.data.prefix}put")
    put = ctx.client.put(path, json=payload)
    ctx.expect_status(put, 200, 204)
    if put.status == 200:  # like a 204 PATCH, a 204 PUT carries no representation to tag
        ctx.expect(bool(put.etag), "the PUT response carries no ETag header", response=put)
    patched = ctx.client.patch(
        path,
        json={"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": writable(ctx).path, "value": "etag"}]},
    )
    ctx.expect_status(patched, 200, 204)
    if patched.status == 200:
        ctx.expect(bool(patched.etag), "the PATCH 200 response carries no ETag header", response=patched)


@check(
    "rfc7644-3.14-meta-version-equals-etag",
    title="meta.version is present and equals the ETag header",
    section="RFC 7644 §3.14",
    level=Level.SHOULD,
    tags=("etag",),
    needs=("etag", "users"),
    broken_by=(Quirk.META_MISSING,),
)
def version_equals_etag(ctx: CheckContext) -> None:
    """RFC 7644 §3.14: SCIM ETags "SHOULD be specified within the "version" attribute contained in
    the resource's "meta" attribute"; RFC 7643 §3.1: "version ... This value must be the same as
    the entity-tag (ETag) HTTP response header".
    """
    user = ctx.create_user()
    _, response = current_etag(ctx, user_path(user))
    require(ctx, "etag-matches-version", response, "GET of the user")


@check(
    "rfc7644-3.14-version-changes-on-update",
    title="The ETag changes when the resource is modified",
    section="RFC 7644 §3.14; RFC 7232 §2.1",
    level=Level.SHOULD,
    tags=("etag",),
    needs=("etag", "users"),
    broken_by=(Quirk.VERSION_UNCHANGED,),
)
def version_changes(ctx: CheckContext) -> None:
    """RFC 7644 §3.14: ETags are used "for performing conditional retrievals and ensuring that
    clients do not inadvertently overwrite each other's changes"; RFC 7232 §2.3: an entity-tag is
    "an opaque validator for differentiating between multiple representations of the same
    resource". An ETag that survives a modification cannot do either. The level is RFC 7232
    §2.1's for the weak tags SCIM uses (`W/"..."`, RFC 7644 §3.14's examples): "An origin server
    SHOULD change a weak entity-tag whenever it considers prior representations to be
    unacceptable as a substitute for the current representation."
    """
    payload = ctx.data.user()
    user = ctx.create("/Users", payload)
    before, _ = current_etag(ctx, user_path(user))
    writable(ctx).set(payload, f"{ctx.data.prefix}renamed")
    put = ctx.client.put(user_path(user), json=payload)
    ctx.expect_status(put, 200, 204)
    after, response = current_etag(ctx, user_path(user))
    ctx.expect(
        opaque(after) != opaque(before),
        "the ETag did not change after the resource was replaced",
        expected=f"anything but {before}",
        actual=after,
        response=response,
    )


@check(
    "rfc7644-3.14-if-none-match-304",
    title="GET with If-None-Match of the current ETag answers 304 Not Modified",
    section="RFC 7644 §3.14; RFC 7232 §3.2",
    level=Level.MUST,
    tags=("etag",),
    needs=("etag", "users"),
    broken_by=(Quirk.IF_NONE_MATCH_IGNORED,),
)
def if_none_match_304(ctx: CheckContext) -> None:
    """RFC 7232 §3.2: if the If-None-Match condition evaluates to false "the origin server MUST
    respond with either a) the 304 (Not Modified) status code if the request method is GET or
    HEAD or b) the 412 (Precondition Failed) status code for all other request methods"; RFC 7644
    §3.14 uses ETags "for performing conditional retrievals".
    """
    user = ctx.create_user()
    etag, _ = current_etag(ctx, user_path(user))
    response = ctx.client.get(user_path(user), headers={"If-None-Match": etag})
    ctx.expect_status(
        response, 304, message=f"If-None-Match with the current ETag answered {response.status}"
    )


@check(
    "rfc7232-3.2-if-none-match-weak-comparison",
    title="If-None-Match uses the weak comparison (W/ prefix ignored)",
    section="RFC 7232 §3.2",
    level=Level.MUST,
    tags=("etag",),
    needs=("etag", "users"),
    broken_by=(Quirk.IF_NONE_MATCH_IGNORED,),
)
def if_none_match_weak(ctx: CheckContext) -> None:
    """RFC 7232 §3.2: "A recipient MUST use the weak comparison function when comparing
    entity-tags for If-None-Match", and §2.3.2: two entity-tags are weakly equivalent "if their
    opaque-tags match character-by-character, regardless of either or both being tagged as
    "weak"". The check sends the other form (W/ added or removed) of the current ETag.
    """
    user = ctx.create_user()
    etag, _ = current_etag(ctx, user_path(user))
    other = opaque(etag) if etag.strip().startswith("W/") else f"W/{etag.strip()}"
    response = ctx.client.get(user_path(user), headers={"If-None-Match": other})
    ctx.expect_status(
        response, 304, message=f"If-None-Match {other} (current ETag {etag}) answered {response.status}"
    )


@check(
    "rfc7232-4.1-304-carries-etag",
    title="A 304 Not Modified response carries the ETag header",
    section="RFC 7232 §4.1",
    level=Level.MUST,
    tags=("etag",),
    needs=("etag", "users"),
    broken_by=(Quirk.NO_ETAG,),
)
def not_modified_etag(ctx: CheckContext) -> None:
    """RFC 7232 §4.1: "The server generating a 304 response MUST generate any of the following
    header fields that would have been sent in a 200 (OK) response to the same request:
    Cache-Control, Content-Location, Date, ETag, Expires, and Vary." The check uses meta.version
    as the validator so that it judges the 304 alone.
    """
    user = ctx.create_user()
    read = ctx.client.get(user_path(user))
    ctx.expect_status(read, 200)
    tag = version_of(read.json()) or read.etag
    if not isinstance(tag, str) or not tag:
        ctx.skip("the resource has neither meta.version nor an ETag to send in If-None-Match")
    response = ctx.client.get(user_path(user), headers={"If-None-Match": tag})
    if response.status != 304:
        ctx.skip(f"If-None-Match did not produce a 304 (answered {response.status}); judged elsewhere")
    ctx.expect(bool(response.etag), "the 304 response carries no ETag header", response=response)


def _stale_refused(ctx: CheckContext, response: ScimResponse, method: str) -> None:
    ctx.expect_status(
        response,
        412,
        message=f"{method} with a stale If-Match answered {response.status}, not 412 Precondition Failed",
    )


@check(
    "rfc7644-3.14-if-match-stale-put-412",
    title="PUT with a stale If-Match answers 412 and changes nothing",
    section="RFC 7644 §3.14; RFC 7232 §3.1",
    level=Level.MUST,
    tags=("etag", "put"),
    needs=("etag", "users", "patch"),
    broken_by=(Quirk.IF_MATCH_IGNORED,),
)
def stale_put(ctx: CheckContext) -> None:
    """RFC 7644 §3.14: the client "MAY supply an If-Match header [RFC7232] for PUT and PATCH
    operations to ensure that the requested operation succeeds only if the supplied ETag matches
    the latest service provider resource"; RFC 7232 §3.1: "An origin server MUST NOT perform the
    requested method if a received If-Match condition evaluates to false".
    """
    payload = ctx.data.user()
    user = ctx.create("/Users", payload)
    stale, _ = stale_etag(ctx, user_path(user))
    writable(ctx).set(payload, f"{ctx.data.prefix}lost-update")
    response = ctx.client.put(user_path(user), json=payload, headers={"If-Match": stale})
    _stale_refused(ctx, response, "PUT")
    after = ctx.client.get(user_path(user)).json()
    ctx.expect(
        writable(ctx).get(after) != f"{ctx.data.prefix}lost-update",
        "the PUT with a stale If-Match was applied anyway",
        actual=after,
    )


@check(
    "rfc7644-3.14-if-match-stale-patch-412",
    title="PATCH with a stale If-Match answers 412 and changes nothing",
    section="RFC 7644 §3.14; RFC 7232 §3.1",
    level=Level.MUST,
    tags=("etag", "patch"),
    needs=("etag", "users", "patch"),
    broken_by=(Quirk.IF_MATCH_IGNORED,),
)
def stale_patch(ctx: CheckContext) -> None:
    """RFC 7644 §3.14: the client "MAY supply an If-Match header [RFC7232] for PUT and PATCH
    operations to ensure that the requested operation succeeds only if the supplied ETag matches
    the latest service provider resource"; RFC 7232 §3.1: "An origin server MUST NOT perform the
    requested method if a received If-Match condition evaluates to false".
    """
    user = ctx.create_user()
    stale, _ = stale_etag(ctx, user_path(user))
    response = ctx.client.patch(
        user_path(user),
        json={"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": writable(ctx).path, "value": "lost"}]},
        headers={"If-Match": stale},
    )
    _stale_refused(ctx, response, "PATCH")
    after = ctx.client.get(user_path(user)).json()
    ctx.expect(
        writable(ctx).get(after) != "lost", "the PATCH with a stale If-Match was applied anyway", actual=after
    )


@check(
    "rfc7644-3.14-if-match-stale-delete-412",
    title="DELETE with a stale If-Match answers 412 and keeps the resource",
    section="RFC 7644 §3.14; RFC 7232 §3.1",
    level=Level.MUST,
    tags=("etag",),
    needs=("etag", "users", "patch"),
    broken_by=(Quirk.IF_MATCH_IGNORED,),
)
def stale_delete(ctx: CheckContext) -> None:
    """RFC 7232 §3.1: "An origin server MUST NOT perform the requested method if a received
    If-Match condition evaluates to false; instead, the origin server MUST respond with either:
    a) the 412 (Precondition Failed) status code or b) one of the 2xx (Successful) status codes if
    the origin server has verified that a state change is being requested and the final state is
    already reflected in the current state of the target resource".
    """
    user = ctx.create_user()
    stale, _ = stale_etag(ctx, user_path(user))
    response = ctx.client.delete(user_path(user), headers={"If-Match": stale})
    _stale_refused(ctx, response, "DELETE")
    after = ctx.client.get(user_path(user))
    ctx.expect_status(after, 200, message="the resource is gone after a DELETE with a stale If-Match")


@check(
    "rfc7644-3.14-if-match-current-succeeds",
    title="PUT and PATCH with If-Match of the current (weak) ETag succeed",
    section="RFC 7644 §3.14",
    level=Level.SHOULD,
    tags=("etag",),
    needs=("etag", "users", "patch"),
    broken_by=(Quirk.IF_MATCH_STRONG_ONLY,),
)
def current_succeeds(ctx: CheckContext) -> None:
    """RFC 7644 §3.14: the client "MAY supply an If-Match header [RFC7232] for PUT and PATCH
    operations to ensure that the requested operation succeeds only if the supplied ETag matches
    the latest service provider resource, e.g., If-Match: W/"e180ee84f0671b1"". The RFC's own
    example sends a weak ETag, so a matching weak ETag should let the operation succeed. It is
    not a MUST: RFC 7232 §3.1 says "An origin server MUST use the strong comparison function when
    comparing entity-tags for If-Match", under which a weak tag never matches, so a provider that
    follows HTTP to the letter and answers 412 is not in breach of a MUST.
    """
    payload = ctx.data.user()
    user = ctx.create("/Users", payload)
    etag, _ = current_etag(ctx, user_path(user))
    writable(ctx).set(payload, f"{ctx.data.prefix}put")
    put = ctx.client.put(user_path(user), json=payload, headers={"If-Match": etag})
    ctx.expect_status(
        put, 200, 204, message=f"PUT with the current ETag {etag} in If-Match answered {put.status}"
    )
    etag, _ = current_etag(ctx, user_path(user))
    patched = ctx.client.patch(
        user_path(user),
        json={"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": writable(ctx).path, "value": "ok"}]},
        headers={"If-Match": etag},
    )
    ctx.expect_status(
        patched, 200, 204, message=f"PATCH with the current ETag {etag} in If-Match answered {patched.status}"
    )


@check(
    "rfc7232-3.1-if-match-star",
    title="PATCH with `If-Match: *` on an existing resource succeeds",
    section="RFC 7644 §3.14; RFC 7232 §3.1",
    level=Level.MUST,
    tags=("etag",),
    needs=("etag", "users", "patch"),
    broken_by=(Quirk.IF_MATCH_STAR_REJECTED,),
)
def if_match_star(ctx: CheckContext) -> None:
    """RFC 7232 §3.1: "An origin server that receives an If-Match header field MUST evaluate the
    condition prior to performing the method" and "If the field-value is "*", the condition is false
    if the origin server does not have a current representation for the target resource": on a
    resource that exists, `*` is true and the request proceeds (RFC 7644 §3.14 uses If-Match "for
    PUT and PATCH operations").
    """
    user = ctx.create_user()
    patched = ctx.client.patch(
        user_path(user),
        json={"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": writable(ctx).path, "value": "star"}]},
        headers={"If-Match": "*"},
    )
    ctx.expect_status(patched, 200, 204, message=f"PATCH with If-Match: * answered {patched.status}")


@check(
    "rfc7232-3.2-if-none-match-star",
    title="GET with `If-None-Match: *` on an existing resource answers 304 Not Modified",
    section="RFC 7644 §3.14; RFC 7232 §3.2",
    level=Level.MUST,
    tags=("etag",),
    needs=("etag", "users"),
    broken_by=(Quirk.IF_NONE_MATCH_STAR_IGNORED, Quirk.IF_NONE_MATCH_IGNORED),
)
def if_none_match_star(ctx: CheckContext) -> None:
    """RFC 7232 §3.2: "If the field-value is "*", the condition is false if the origin server has a
    current representation for the target resource." and when it is false "the origin server MUST
    respond with either a) the 304 (Not Modified) status code if the request method is GET or HEAD
    or b) the 412 (Precondition Failed) status code for all other request methods".
    """
    user = ctx.create_user()
    response = ctx.client.get(user_path(user), headers={"If-None-Match": "*"})
    ctx.expect_status(response, 304, message=f"If-None-Match: * on an existing resource answered {response.status}")
