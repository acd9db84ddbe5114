"""Bulk operations (RFC 7644 §3.7): BulkRequest/BulkResponse, bulkId references, errors, limits.

Bulk requests here stay small (a handful of operations); only the maxOperations check sends
maxOperations + 1 trivial DELETEs of ids that do not exist, and only when that limit is small.
"""

from __future__ import annotations

import uuid
from typing import Any

from scimitar.checks._query import get_ci as ci
from scimitar.checks.context import CheckContext
from scimitar.checks.registry import Level, check
from scimitar.quirks import Quirk
from scimitar.schema import BULK_REQUEST, BULK_RESPONSE, PATCH_OP
from scimitar.target import ScimResponse

#: The largest maxOperations for which the limit check sends maxOperations + 1 operations.
MAX_OPERATIONS_PROBED = 1000
#: The largest maxPayloadSize (bytes) for which the limit check sends a larger body.
MAX_PAYLOAD_PROBED = 2_000_000




def bulk(ctx: CheckContext, operations: list[dict[str, Any]], **extra: Any) -> ScimResponse:
    return ctx.client.post("/Bulk", json={"schemas": [BULK_REQUEST], "Operations": operations, **extra})


def results(ctx: CheckContext, response: ScimResponse) -> list[dict[str, Any]]:
    """The BulkResponse's Operations; every created location goes into the ledger."""
    ctx.expect_status(response, 200, message=f"POST /Bulk answered {response.status}, expected 200")
    body = response.json()
    schemas = ci(body, "schemas")
    ctx.expect(
        isinstance(schemas, list)
        and any(isinstance(s, str) and s.lower() == BULK_RESPONSE.lower() for s in schemas),
        "the bulk response is not a BulkResponse",
        expected=BULK_RESPONSE,
        actual=schemas,
        response=response,
    )
    ops = ci(body, "Operations")
    ctx.expect(isinstance(ops, list), "the BulkResponse has no Operations array", response=response)
    out = [op for op in ops if isinstance(op, dict)]
    for op in out:
        location = ci(op, "location")
        if isinstance(location, str) and str(ci(op, "method")).upper() == "POST" and status_of(op) == 201:
            # Resolved, held to the target's origin, and kept as a base-relative path: a location
            # elsewhere fails the check here instead of aiming a later cleanup DELETE at another host.
            ctx.ledger.add(ctx.client.scim_path(location, "Bulk location"))
    return out


def status_of(op: dict[str, Any]) -> int | None:
    """An operation's `status` as a number (the RFC's examples send it as a string: "201")."""
    value = ci(op, "status")
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def by_bulk_id(ops: list[dict[str, Any]], bulk_id: str) -> dict[str, Any] | None:
    return next((op for op in ops if ci(op, "bulkId") == bulk_id), None)


def user_data(ctx: CheckContext, **overrides: Any) -> dict[str, Any]:
    return ctx.data.user(**overrides)


@check(
    "rfc7644-3.7-bulk-post-response",
    title="A bulk POST answers 200 with a BulkResponse carrying method, bulkId, location, status",
    section="RFC 7644 §3.7",
    level=Level.MUST,
    tags=("bulk",),
    needs=("bulk", "users"),
    broken_by=(Quirk.BULK_NO_LOCATION,),
)
def post_response(ctx: CheckContext) -> None:
    """RFC 7644 §3.7: the response's operations carry "method [...] REQUIRED.", "bulkId [...]
    REQUIRED when "method" is "POST".", "location: The resource endpoint URL. REQUIRED in a
    response, except in the event of a POST failure." and "status: The HTTP response status code
    for the requested operation." The 200 of the BulkResponse itself is what the RFC's examples
    show (§3.7.3); the check accepts it as the success answer to the bulk POST.
    """
    ops = results(
        ctx, bulk(ctx, [{"method": "POST", "path": "/Users", "bulkId": "u1", "data": user_data(ctx)}])
    )
    op = by_bulk_id(ops, "u1")
    ctx.expect(op is not None, "no operation in the BulkResponse echoes bulkId u1", actual=ops)
    assert op is not None
    ctx.expect(str(ci(op, "method")).upper() == "POST", "the operation's method is not POST", actual=op)
    ctx.expect(
        status_of(op) == 201,
        "the POST operation's status is not 201",
        expected="201",
        actual=ci(op, "status"),
    )
    location = ci(op, "location")
    ctx.expect(isinstance(location, str) and location, "the POST operation has no location", actual=op)
    read = ctx.client.get(ctx.client.resolve(location, "Bulk location"))
    ctx.expect_status(read, 200, message=f"GET of the operation's location answered {read.status}")


@check(
    "rfc7644-3.7-bulk-methods",
    title="A bulk request runs POST, PUT, PATCH and DELETE operations with their statuses",
    section="RFC 7644 §3.7",
    level=Level.MUST,
    tags=("bulk",),
    needs=("bulk", "users", "patch"),
    broken_by=(Quirk.BULK_NO_LOCATION,),
)
def methods(ctx: CheckContext) -> None:
    """RFC 7644 §3.7: "method: The HTTP method of the current operation. Possible values are
    "POST", "PUT", "PATCH", or "DELETE". REQUIRED." Each runs as its plain request would:
    201 for POST, 200 (or 204) for PUT, 200 or 204 for PATCH, 204 for DELETE (§3.3, §3.5, §3.6), and
    each response operation carries its "location" ("REQUIRED in a response, except in the
    event of a POST failure").
    """
    put_payload = user_data(ctx)
    target = ctx.create("/Users", put_payload)
    doomed = ctx.create_user()
    changed = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    changed.set(put_payload, f"{ctx.data.prefix}bulk-put")
    patched = ctx.data.string_to_write(exclude=(changed.attribute.name,)) or changed
    nick = f"{ctx.data.prefix}bulk-patch"
    ops = results(
        ctx,
        bulk(
            ctx,
            [
                {"method": "POST", "path": "/Users", "bulkId": "new", "data": user_data(ctx)},
                {"method": "PUT", "path": f"/Users/{target['id']}", "data": put_payload},
                {
                    "method": "PATCH",
                    "path": f"/Users/{target['id']}",
                    "data": {
                        "schemas": [PATCH_OP],
                        "Operations": [{"op": "replace", "path": patched.path, "value": nick}],
                    },
                },
                {"method": "DELETE", "path": f"/Users/{doomed['id']}"},
            ],
        ),
    )
    # PUT's 200 is RFC 7644 §3.5.1's unkeyworded "a successful PUT operation returns a 200 OK"
    # (rfc7644-3.5.1-put-200-with-resource, a SHOULD): a 204 is a success here, not a MUST failure
    wanted = {"POST": (201,), "PUT": (200, 204), "PATCH": (200, 204), "DELETE": (204,)}
    for method, codes in wanted.items():
        op = next((o for o in ops if str(ci(o, "method")).upper() == method), None)
        ctx.expect(op is not None, f"the BulkResponse has no {method} operation", actual=ops)
        assert op is not None
        ctx.expect(
            status_of(op) in codes,
            f"the bulk {method} operation has status {ci(op, 'status')!r}",
            expected=" or ".join(str(c) for c in codes),
            actual=ci(op, "status"),
        )
        ctx.expect(bool(ci(op, "location")), f"the bulk {method} operation has no location", actual=op)
    after = ctx.client.get(f"/Users/{target['id']}").json()
    ctx.expect(
        (patched is changed or changed.get(after) == f"{ctx.data.prefix}bulk-put")
        and patched.get(after) == nick,
        "the bulk PUT and PATCH were not both applied",
        expected={changed.path: f"{ctx.data.prefix}bulk-put", patched.path: nick},
        actual={changed.path: changed.get(after), patched.path: patched.get(after)},
    )
    gone = ctx.client.get(f"/Users/{doomed['id']}")
    ctx.expect_status(gone, 404, message=f"the user deleted in bulk still answers {gone.status}")


def _group_members(ctx: CheckContext, ops: list[dict[str, Any]], user_op: str, group_op: str) -> None:
    user = by_bulk_id(ops, user_op)
    group = by_bulk_id(ops, group_op)
    ctx.expect(
        user is not None and group is not None and status_of(user) == 201 and status_of(group) == 201,
        "the user and the group were not both created",
        actual=ops,
    )
    assert user is not None and group is not None
    user_read = ctx.client.get(ctx.client.resolve(str(ci(user, "location")), "Bulk location")).json()
    group_read = ctx.client.get(ctx.client.resolve(str(ci(group, "location")), "Bulk location")).json()
    members = [str(ci(m, "value")) for m in ci(group_read, "members") or [] if isinstance(m, dict)]
    ctx.expect(
        members == [ci(user_read, "id")],
        "the group's member is not the user created in the same bulk request",
        expected=[ci(user_read, "id")],
        actual=members,
    )


@check(
    "rfc7644-3.7.2-bulk-id-reference",
    title="bulkId:<id> in a later operation resolves to the id created earlier",
    section="RFC 7644 §3.7.2",
    level=Level.MUST,
    tags=("bulk", "groups"),
    needs=("bulk", "users", "groups"),
    broken_by=(Quirk.BULK_ID_UNRESOLVED,),
)
def bulk_id_reference(ctx: CheckContext) -> None:
    """RFC 7644 §3.7.2: "The service provider MUST try to resolve circular cross-references
    between resources in a single bulk job"; a "bulkId" reference is "bulkId:" followed by the
    bulkId of the operation that created the resource, and the service provider replaces it with
    the new resource's id.
    """
    ops = results(
        ctx,
        bulk(
            ctx,
            [
                {"method": "POST", "path": "/Users", "bulkId": "member", "data": user_data(ctx)},
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "team",
                    "data": ctx.data.group(members=[{"type": "User", "value": "bulkId:member"}]),
                },
            ],
        ),
    )
    _group_members(ctx, ops, "member", "team")


@check(
    "rfc7644-3.7.2-bulk-id-forward-reference",
    title="bulkId:<id> referring to a later operation is resolved",
    section="RFC 7644 §3.7.2",
    level=Level.SHOULD,
    tags=("bulk", "groups"),
    needs=("bulk", "users", "groups"),
    broken_by=(Quirk.BULK_ID_UNRESOLVED,),
)
def bulk_id_forward(ctx: CheckContext) -> None:
    """RFC 7644 §3.7.2: "The service provider MUST try to resolve circular cross-references
    between resources in a single bulk job but MAY stop after a failed attempt and instead return
    HTTP status code 409 (Conflict)." A forward reference needs no cycle to be resolved, so it
    should be; the MAY makes this a SHOULD.
    """
    ops = results(
        ctx,
        bulk(
            ctx,
            [
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "team",
                    "data": ctx.data.group(members=[{"type": "User", "value": "bulkId:member"}]),
                },
                {"method": "POST", "path": "/Users", "bulkId": "member", "data": user_data(ctx)},
            ],
        ),
    )
    _group_members(ctx, ops, "member", "team")


@check(
    "rfc7644-3.7.3-bulk-fail-on-errors",
    title="failOnErrors=1 stops the bulk request after the first error",
    section="RFC 7644 §3.7, §3.7.3",
    level=Level.SHOULD,
    tags=("bulk",),
    needs=("bulk", "users"),
    broken_by=(Quirk.BULK_FAIL_ON_ERRORS_IGNORED,),
)
def fail_on_errors(ctx: CheckContext) -> None:
    """RFC 7644 §3.7: "failOnErrors: An integer specifying the number of errors that the service
    provider will accept before the operation is terminated and an error response is returned."
    and §3.7.3: "The "failOnErrors" attribute defines the number of errors that the service
    provider should accept before failing the remaining operations returning the response." The
    RFC describes the behaviour without an RFC 2119 keyword (its "should" is lowercase), so a
    provider that runs on is reported at SHOULD.
    """
    bad = user_data(ctx, userName=None)  # userName is REQUIRED: this operation fails
    ops = results(
        ctx,
        bulk(
            ctx,
            [
                {"method": "POST", "path": "/Users", "bulkId": "bad", "data": bad},
                {"method": "POST", "path": "/Users", "bulkId": "good", "data": user_data(ctx)},
            ],
            failOnErrors=1,
        ),
    )
    first = by_bulk_id(ops, "bad")
    ctx.expect(
        first is not None and (status_of(first) or 0) >= 400, "the invalid POST did not fail", actual=ops
    )
    second = by_bulk_id(ops, "good")
    ctx.expect(
        second is None or (status_of(second) or 0) >= 400,
        "the operation after the first error was performed although failOnErrors is 1",
        expected="no result, or a failure, for bulkId good",
        actual=second,
    )


@check(
    "rfc7644-3.7-bulk-error-response",
    title="A failed bulk operation carries its status and a SCIM Error response",
    section="RFC 7644 §3.7",
    level=Level.MUST,
    tags=("bulk", "errors"),
    needs=("bulk", "users"),
    broken_by=(Quirk.BULK_ERROR_NO_RESPONSE,),
)
def error_response(ctx: CheckContext) -> None:
    """RFC 7644 §3.7: "status: The HTTP response status code for the requested operation. When
    indicating an error, the "response" attribute MUST contain the detail error response as per
    Section 3.12."
    """
    missing = f"/Users/{uuid.uuid4()}"
    ops = results(ctx, bulk(ctx, [{"method": "DELETE", "path": missing}]))
    ctx.expect(len(ops) == 1, "the BulkResponse does not hold exactly one operation", actual=ops)
    op = ops[0]
    ctx.expect(
        status_of(op) == 404, "DELETE of an unknown id is not reported as 404", actual=ci(op, "status")
    )
    response = ci(op, "response")
    ctx.expect(isinstance(response, dict), "the failed operation has no `response` error body", actual=op)
    ctx.validate_error(response)
    ctx.expect(
        str(ci(response, "status")) == "404",
        "the error response's status differs from the operation's",
        expected="404",
        actual=ci(response, "status"),
    )


@check(
    "rfc7644-3.7.4-bulk-max-operations-413",
    title="More operations than maxOperations answers 413 naming the limit",
    section="RFC 7644 §3.7.4",
    level=Level.MUST,
    tags=("bulk",),
    needs=("bulk",),
    broken_by=(Quirk.BULK_LIMITS_IGNORED,),
)
def max_operations(ctx: CheckContext) -> None:
    """RFC 7644 §3.7.4: "If either limits are exceeded, the service provider MUST return HTTP
    response code 413 (Request Entity Too Large). The returned response MUST specify the limit
    exceeded in the body of the error response."
    """
    limit = ctx.features.max_operations
    if limit is None:
        ctx.skip("/ServiceProviderConfig advertises no bulk.maxOperations")
    if limit > MAX_OPERATIONS_PROBED:
        ctx.skip(f"bulk.maxOperations is {limit}; sending {limit + 1} operations is too heavy for a check")
    ops = [{"method": "DELETE", "path": f"/Users/{uuid.uuid4()}"} for _ in range(limit + 1)]
    response = bulk(ctx, ops)
    ctx.expect_status(
        response, 413, message=f"{limit + 1} operations (maxOperations {limit}) answered {response.status}"
    )
    ctx.validate_error(response.json(), response=response)
    text = response.text.lower()
    ctx.expect(
        str(limit) in text or "maxoperations" in text,
        "the 413 body does not say which limit was exceeded",
        expected=f"the limit {limit} or 'maxOperations' in the body",
        actual=response.text[:300],
        response=response,
    )


@check(
    "rfc7644-3.7.4-bulk-max-payload-413",
    title="A bulk body larger than maxPayloadSize answers 413",
    section="RFC 7644 §3.7.4",
    level=Level.MUST,
    tags=("bulk",),
    needs=("bulk",),
    broken_by=(Quirk.BULK_LIMITS_IGNORED,),
)
def max_payload(ctx: CheckContext) -> None:
    """RFC 7644 §3.7.4: "The service provider MUST define the maximum number of operations and
    maximum payload size a client may send in a single request. ... If either limits are
    exceeded, the service provider MUST return HTTP response code 413 (Request Entity Too
    Large)."
    """
    limit = ctx.features.max_payload_size
    if limit is None:
        ctx.skip("/ServiceProviderConfig advertises no bulk.maxPayloadSize")
    if limit > MAX_PAYLOAD_PROBED:
        ctx.skip(f"bulk.maxPayloadSize is {limit} bytes; a larger body is too heavy for a check")
    # One harmless operation (a DELETE of an id that does not exist) padded past the limit.
    op = {"method": "DELETE", "path": f"/Users/{uuid.uuid4()}", "scimitarPadding": "x" * (limit + 1)}
    response = bulk(ctx, [op])
    ctx.expect_status(
        response, 413, message=f"a body over maxPayloadSize ({limit} bytes) answered {response.status}"
    )
