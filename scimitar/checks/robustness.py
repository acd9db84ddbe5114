"""Robustness: the target under generated bad input (RFC 7644 §3.12 and common sense).

Each check sends a bounded, seeded stream of malformed requests (see `scimitar.fuzz`) and reports
the smallest one that breaks its rule, with its curl line and the seed that replays it. Only the
check's own Users are written (one per lane, `scimitar.fuzz.explore.LANES`); creates carry the run prefix and are cleaned up with the run. The
budget per check is `SCIMITAR_FUZZ_MAX_REQUESTS` requests and `SCIMITAR_FUZZ_MAX_SECONDS`
seconds (`scimitar fuzz --max-requests`), within the run's `--max-duration`.
"""

from __future__ import annotations

from typing import Any

from scimitar import jsonschemas
from scimitar.checks.context import CheckContext
from scimitar.checks.crud import full_user, path_of, read
from scimitar.checks.registry import Level, check
from scimitar.fuzz.explore import LANES, Judge, explore_lanes
from scimitar.fuzz.strategies import FuzzRequest, Requests, declared_user_attributes
from scimitar.quirks import Quirk
from scimitar.target import ScimResponse


def _lanes(ctx: CheckContext) -> list[tuple[Requests, str]]:
    """Each lane's request generator and its own User (created first, side by side when allowed),
    so that lanes writing to "their" User never see each other's writes."""
    attributes = declared_user_attributes(ctx.discovery.schemas)
    salt = ctx.check.id if ctx.check is not None else ""
    out: list[tuple[Requests, str]] = []
    for lane, user in enumerate(ctx.create_users(LANES)):
        own = path_of("/Users", user)
        out.append((Requests(ctx.data.prefix, own, attributes, own_body=full_user(user), salt=f"{salt}-{lane}"), own))
    return out


def _explore_any_request(ctx: CheckContext, judge: Judge, *, what: str) -> None:
    """Every kind of generated request, in each lane, judged by `judge`; the check fails with `what`."""
    lanes = _lanes(ctx)

    def lane(index: int) -> tuple[Any, Judge]:
        return lanes[index][0].any_request(), judge

    _expect_probed(ctx, explore_lanes(ctx, lane, what=what))


def _expect_probed(ctx: CheckContext, sent: int) -> None:
    ctx.expect(sent > 0, "no generated request was sent (the budget was spent before the first one)")


@check(
    "rfc7644-3.12-fuzz-no-5xx",
    title="Generated malformed requests answer 4xx, never 5xx or no answer",
    section="RFC 7644 §3.12",
    level=Level.SHOULD,
    tags=("robustness", "errors"),
    needs=("users",),
    broken_by=(Quirk.BAD_JSON_500, Quirk.UNKNOWN_FILTER_ATTR_500),
)
def fuzz_no_5xx(ctx: CheckContext) -> None:
    """RFC 7644 §3.12: "Implementers SHOULD handle the identified HTTP status codes as described
    below." Table 8: "400 (Bad Request): Request is unparsable, syntactically incorrect, or
    violates schema." and "500 (Internal Server Error): An internal error." Invalid JSON, a wrong
    type for a declared attribute, a malformed filter or PATCH path, an oversized value or a bad
    Content-Type is the client's error; a 5xx, or no complete answer within the read deadline,
    is the server failing on it.
    """

    def judge(request: FuzzRequest, response: ScimResponse) -> str | None:
        return f"answered {response.status}" if response.status >= 500 else None

    _explore_any_request(ctx, judge, what="a malformed request got a 5xx")


@check(
    "rfc7644-3.12-fuzz-errors-are-scim-errors",
    title="Every error answer to generated malformed requests is a SCIM Error",
    section="RFC 7644 §3.12",
    level=Level.MUST,
    tags=("robustness", "errors"),
    needs=("users",),
    broken_by=(Quirk.ERROR_NO_SCHEMAS, Quirk.ERROR_STATUS_NUMBER),
)
def fuzz_errors_are_scim_errors(ctx: CheckContext) -> None:
    """RFC 7644 §3.12: "In addition to returning an HTTP response code, implementers MUST return
    the errors in the body of the response in a JSON format, using the attributes described
    below. Error responses are identified using the following "schema" URI:
    "urn:ietf:params:scim:api:messages:2.0:Error"." and "status: The HTTP status code (see Section
    6 of [RFC7231]) expressed as a JSON string. REQUIRED."
    """

    def judge(request: FuzzRequest, response: ScimResponse) -> str | None:
        if response.status < 400:
            return None
        body = response.json()
        problems = [f"{v.pointer or '/'}: {v.message}" for v in jsonschemas.validate_error(body)][:3]
        status = body.get("status") if isinstance(body, dict) else None
        if not problems and str(status).strip() != str(response.status):
            problems.append(f"status is {status!r}, the HTTP status is {response.status}")
        if problems:
            return f"the {response.status} answer is not a SCIM Error ({'; '.join(problems)})"
        return None

    _explore_any_request(ctx, judge, what="an error answer was not a SCIM Error")


@check(
    "rfc7644-3.5.2-fuzz-failed-write-changes-nothing",
    title="A generated malformed PUT or PATCH that fails leaves the User unchanged",
    section="RFC 7644 §3.5.2",
    level=Level.MUST,
    tags=("robustness", "patch", "put"),
    needs=("users",),
    broken_by=(Quirk.PATCH_NOT_ATOMIC,),
)
def fuzz_failed_write_changes_nothing(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2: "If a single operation encounters an error condition, the original SCIM
    resource MUST be restored, and a failure status SHALL be returned." A refused PUT replaces
    nothing either (§3.5.1: the values "SHALL replace the existing attribute values" only when
    the request succeeds). After every refused write the check re-reads its own User and compares
    it, `meta.version` included, with the last state it saw.
    """
    lanes = _lanes(ctx)

    def lane(index: int) -> tuple[Any, Judge]:
        requests, own = lanes[index]
        state: dict[str, Any] = {"user": read(ctx, own)}  # each lane writes only to its own User

        def judge(request: FuzzRequest, response: ScimResponse) -> str | None:
            if response.status < 300 or response.status >= 500:  # accepted, or the 5xx check's finding
                state["user"] = read(ctx, own)
                return None
            before, after = state["user"], read(ctx, own)
            if after == before:
                return None
            state["user"] = after  # judge the next request against what is stored now
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            return f"the refused {request.method} ({response.status}) changed the User: {', '.join(changed)}"

        return requests.writes_to_own(), judge

    _expect_probed(ctx, explore_lanes(ctx, lane, what="a refused write changed stored data"))
