"""Races: what Okta and Entra do to a server when they provision in parallel.

IdPs send requests side by side, so a server that checks and then writes without holding one lock
(or one transaction) across both answers two concurrent creates of one userName with two 201s, or
the loser with a 500, and loses member adds when several PATCHes hit one group at once. Each check
here releases N requests together (a barrier, a small thread pool), bounded in count (`RACE_N`) and
by the client's per-request deadline, and touches only resources this run created.

Against the embedded reference server, each worker gets its own in-process transport over the same
app (one transport serialises its calls on one event loop), so the requests really interleave, as
they do against a remote server through the shared connection pool. The checks are `serial`: they
race on purpose and must not run beside other checks.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx

from scimitar.checks.context import CheckContext
from scimitar.checks.crud import attr, full_user, judge_read, path_of, read, values_of
from scimitar.checks.registry import Level, check
from scimitar.quirks import Quirk
from scimitar.schema import PATCH_OP
from scimitar.target import ScimClient, ScimResponse
from scimitar.transport import InProcessTransport

#: Requests released together by each check: enough to meet any race window, few enough for staging.
RACE_N = 8
#: How long a worker waits for the others at the start line before it goes anyway.
BARRIER_TIMEOUT_S = 10.0

Job = Callable[[ScimClient], ScimResponse]


@contextmanager
def _workers(ctx: CheckContext, n: int) -> Iterator[list[ScimClient]]:
    """`n` clients recording into the check's recorder (and the run's ledger) that can be used
    from `n` threads at once. A remote target's httpx client is thread-safe and shared; the
    in-process transport runs one request at a time, so each worker gets its own over the same app."""
    transport = getattr(ctx.client.http, "_transport", None)
    owned: list[httpx.Client] = []
    clients: list[ScimClient] = []
    for _ in range(n):
        worker = ctx.client.with_recorder(ctx.recorder)
        worker.burst = True  # the burst is bounded by `n`, not by the run's in-flight slots
        if isinstance(transport, InProcessTransport):
            http = httpx.Client(
                transport=InProcessTransport(
                    transport.app,
                    lifespan=False,
                    raise_app_exceptions=transport.raise_app_exceptions,
                    max_body_bytes=transport.max_body_bytes,
                ),
                timeout=ctx.client.http.timeout,
            )
            owned.append(http)
            worker.http = http
        clients.append(worker)
    try:
        yield clients
    finally:
        for http in owned:
            http.close()


def race(ctx: CheckContext, jobs: Sequence[Job]) -> list[ScimResponse]:
    """Run every job in its own thread, all released at once; responses in job order.

    A job that raises (the target unreachable, the run deadline) ends the check with that error,
    after the other jobs have finished: no request outlives the check.
    """
    barrier = threading.Barrier(len(jobs))
    pacer = ctx.client.limits.pacer
    if pacer is not None:  # `--max-rps`, a 429 hold: wait for the burst's turns, then send it at once
        pacer.reserve_burst(len(jobs), ctx.client.limits.run_deadline)

    def start(job: Job, client: ScimClient) -> ScimResponse:
        try:
            barrier.wait(BARRIER_TIMEOUT_S)
        except threading.BrokenBarrierError:
            pass  # a slow thread start: race anyway
        return job(client)

    with _workers(ctx, len(jobs)) as clients:
        with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="scimitar-race") as pool:
            futures = [pool.submit(start, job, client) for job, client in zip(jobs, clients, strict=True)]
        return [future.result() for future in futures]


def _statuses(responses: Sequence[ScimResponse]) -> list[int]:
    return [r.status for r in responses]


def _no_5xx(ctx: CheckContext, responses: Sequence[ScimResponse], what: str) -> None:
    for response in responses:
        ctx.expect(
            response.status < 500,
            f"{what}: a concurrent request answered {response.status} (a server error, not a refusal)",
            expected="no 5xx",
            actual=_statuses(responses),
            response=response,
        )


def case_variants(name: str, n: int) -> list[str]:
    """`n` distinct spellings of `name` differing only in letter case (the first is `name`),
    the same for every run (a seeded choice of letters to upper-case)."""
    out = [name]
    for k in range(1, 50 * n):
        if len(out) == n:
            break
        rng = random.Random(k)
        variant = "".join(c.upper() if rng.random() < 0.5 else c for c in name.lower())
        if variant not in out:
            out.append(variant)
    return out


def _send(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Job:
    """A job sending one request (bound now, so each job keeps its own body)."""
    return lambda c: c.request(method, path, json=body, headers=headers)


def _patch_members(op: str, user_ids: Sequence[str]) -> dict[str, Any]:
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": op, "path": "members", "value": [{"value": uid} for uid in user_ids]}],
    }


@check(
    "rfc7644-3.3-concurrent-create-one-username",
    title="Concurrent creates of one userName (in different cases): one 201, the rest 409 uniqueness",
    section="RFC 7644 §3.3, RFC 7643 §4.1.1",
    level=Level.MUST,
    tags=("race", "uniqueness"),
    broken_by=(Quirk.RACE_CHECK_THEN_INSERT, Quirk.RACE_UNIQUE_500),
    serial=True,
)
def concurrent_create_one_username(ctx: CheckContext) -> None:
    """RFC 7643 §4.1.1: userName "MUST be unique across the service provider's entire set of
    Users", with "caseExact": false and "uniqueness": "server" (§8.7.1). RFC 7644 §3.3: "If the
    service provider determines that the creation of the requested resource conflicts with
    existing resources (e.g., a "User" resource with a duplicate "userName"), the service provider
    MUST return HTTP status code 409 (Conflict) with a "scimType" error code of "uniqueness"".
    Sent at once, as an IdP retrying in parallel does: exactly one create wins, every other
    answers 409 uniqueness (never a 5xx), and one User holds the name afterwards.
    """
    name = ctx.data.user()["userName"]
    bodies = [ctx.data.user(userName=variant) for variant in case_variants(name, RACE_N)]
    jobs = [_send("POST", "/Users", body) for body in bodies]
    responses = race(ctx, jobs)
    _no_5xx(ctx, responses, f"{RACE_N} concurrent POST /Users of one userName")
    created = [r for r in responses if 200 <= r.status < 300]
    ctx.expect(
        len(created) == 1,
        f"{len(created)} of {RACE_N} concurrent creates of one userName (in different cases) succeeded",
        expected="exactly one 201, the rest 409",
        actual=_statuses(responses),
        response=created[1] if len(created) > 1 else responses[0],
    )
    for response in responses:
        if response is created[0]:
            continue
        ctx.expect(
            response.status == 409 and attr(response.json(), "scimType") == "uniqueness",
            f"a losing concurrent create answered {response.status} "
            f"(scimType {attr(response.json(), 'scimType')!r}), expected 409 uniqueness",
            expected='409 with scimType "uniqueness"',
            actual=_statuses(responses),
            response=response,
        )
    if ctx.features.filter is False:
        return  # the responses already showed one winner; the count needs a filter
    found = ctx.client.get("/Users", params={"filter": f'userName eq "{name}"'})
    ctx.expect_status(found, 200, message=f"GET /Users?filter=userName eq ... answered {found.status}")
    ids = [attr(r, "id") for r in attr(found.json(), "Resources") or [] if isinstance(r, dict)]
    ctx.expect(
        len(ids) == 1,
        f"{len(ids)} Users hold the userName after the concurrent creates",
        expected=1,
        actual=ids,
        response=found,
    )


@check(
    "rfc7644-3.5.2.1-concurrent-member-adds-kept",
    title="Concurrent PATCH member adds to one Group are all kept",
    section="RFC 7644 §3.5.2.1",
    level=Level.MUST,
    tags=("race", "groups", "patch"),
    needs=("patch", "groups"),
    broken_by=(Quirk.RACE_LOST_MEMBERSHIP_UPDATE,),
    serial=True,
)
def concurrent_member_adds_kept(ctx: CheckContext) -> None:
    """RFC 7644 §3.5.2.1 (add): "If the target location specifies a multi-valued attribute, a new
    value is added to the attribute." RFC 7644 §3.5.2: "On successful completion, the server
    either MUST return a 200 OK response code and the entire resource within the response body
    ... or MAY return HTTP status code 204 (No Content)". A success is the server's word that the
    member was added; N adds of distinct Users sent at once must leave all N members (a server
    that reads the group, then writes its copy back, loses all but one).
    """
    # The Users and the Group in one fan-out (data drawn in the order of the loop it replaces).
    bodies = [("/Users", ctx.data.user()) for _ in range(RACE_N)] + [("/Groups", ctx.data.group())]
    *users, group = ctx.map(lambda b: ctx.create(*b), bodies)
    path = path_of("/Groups", group)
    jobs = [_send("PATCH", path, _patch_members("add", [u["id"]])) for u in users]
    responses = race(ctx, jobs)
    _no_5xx(ctx, responses, f"{RACE_N} concurrent member adds")
    for response in responses:
        ctx.expect_status(
            response, 200, 204, message=f"a concurrent PATCH adding a member answered {response.status}"
        )
    members = set(values_of(read(ctx, path), "members"))
    lost = [u["id"] for u in users if u["id"] not in members]
    ctx.expect(
        not lost,
        f"{len(lost)} of {RACE_N} members added by concurrent PATCHes (each answered success) are missing",
        expected=sorted(u["id"] for u in users),
        actual=sorted(str(m) for m in members),
    )


def _expect_one_winner(ctx: CheckContext, responses: Sequence[ScimResponse], what: str) -> None:
    _no_5xx(ctx, responses, what)
    won = [r for r in responses if 200 <= r.status < 300]
    ctx.expect(
        len(won) == 1,
        f"{what}: {len(won)} of {len(responses)} writers holding the same ETag succeeded",
        expected="exactly one 2xx, the rest 412",
        actual=_statuses(responses),
        response=won[1] if len(won) > 1 else responses[0],
    )
    refused = [r for r in responses if r is not won[0] and r.status != 412]
    ctx.expect(
        not refused,
        f"{what}: a losing writer answered {refused[0].status if refused else ''}, expected 412",
        expected="412 Precondition Failed",
        actual=_statuses(responses),
        response=refused[0] if refused else None,
    )


def _etag_of(ctx: CheckContext, path: str) -> str:
    response = ctx.client.get(path)
    ctx.expect_status(response, 200, message=f"setup failed: GET {path} answered {response.status}")
    etag = response.etag or attr(response.json(), "meta", "version")
    if not isinstance(etag, str) or not etag:
        ctx.skip("the target advertises ETags but sent neither an ETag header nor meta.version")
    return etag


@check(
    "rfc7644-3.14-concurrent-patch-if-match",
    title="Concurrent PATCHes with the same If-Match: one succeeds, the rest 412",
    section="RFC 7644 §3.14",
    level=Level.MUST,
    tags=("race", "etag", "patch"),
    needs=("etag", "patch"),
    broken_by=(Quirk.RACE_IF_MATCH_UNCHECKED,),
    serial=True,
)
def concurrent_patch_if_match(ctx: CheckContext) -> None:
    """RFC 7644 §3.14: the client "MAY supply an If-Match header [RFC7232] for PUT and
    PATCH operations to ensure that the requested operation succeeds only if the supplied ETag
    matches the latest service provider resource". RFC 7232 §3.1: "An origin server MUST NOT
    perform the requested method if a received If-Match condition evaluates to false". N writers
    sent at once with the same current ETag: the first write changes the version, so exactly one
    succeeds and the rest answer 412 (Precondition Failed).
    """
    _if_match_race(ctx, "PATCH")


@check(
    "rfc7644-3.14-concurrent-put-if-match",
    title="Concurrent PUTs with the same If-Match: one succeeds, the rest 412",
    section="RFC 7644 §3.14",
    level=Level.MUST,
    tags=("race", "etag", "put"),
    needs=("etag",),
    broken_by=(Quirk.RACE_IF_MATCH_UNCHECKED,),
    serial=True,
)
def concurrent_put_if_match(ctx: CheckContext) -> None:
    """RFC 7644 §3.14: the client "MAY supply an If-Match header [RFC7232] for PUT and
    PATCH operations to ensure that the requested operation succeeds only if the supplied ETag
    matches the latest service provider resource". RFC 7232 §3.1: "An origin server MUST NOT
    perform the requested method if a received If-Match condition evaluates to false". N writers
    sent at once with the same current ETag: the first write changes the version, so exactly one
    succeeds and the rest answer 412 (Precondition Failed).
    """
    _if_match_race(ctx, "PUT")


def _if_match_race(ctx: CheckContext, method: str) -> None:
    """RACE_N writers of one declared string attribute (PUT: the whole User) sent at once, each
    holding the User's current ETag: exactly one may win."""
    attr = ctx.need(ctx.data.string_to_write(), "writable string attribute other than userName")
    user = ctx.create_user()
    path = path_of("/Users", user)
    etag = _etag_of(ctx, path)

    def job(i: int) -> Job:
        value = f"{ctx.data.prefix}writer {i}"
        body = (
            attr.set(full_user(user), value)
            if method == "PUT"
            else {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": attr.path, "value": value}]}
        )
        return _send(method, path, body, {"If-Match": etag})

    _expect_one_winner(ctx, race(ctx, [job(i) for i in range(RACE_N)]), f"concurrent {method} with one If-Match")


#: Rounds of the DELETE-versus-adds race (each sends RACE_N requests at once).
RACE_ROUNDS = 3


@check(
    "rfc7644-3.6-delete-racing-member-adds",
    title="A User deleted while it is added to Groups is left in none of them",
    section="RFC 7644 §3.6, RFC 7643 §4.2",
    level=Level.SHOULD,
    tags=("race", "groups", "crud"),
    needs=("patch", "groups"),
    broken_by=(Quirk.RACE_DELETE_ORPHANS_MEMBER,),
    serial=True,
)
def delete_racing_member_adds(ctx: CheckContext) -> None:
    """RFC 7644 §3.6: service providers "MUST return a 404 (Not Found) error code for all
    operations associated with the previously deleted resource" and "MUST omit the resource from
    future query results". RFC 7643 §4.2: a member's "value" is the "id" of a SCIM resource; a
    member pointing at a deleted User names nothing. A DELETE sent together with PATCHes adding
    the User to its Groups may order either way, but afterwards no Group may list it. The RFC does
    not spell out the clean-up (rfc7643-4.2-deleted-user-leaves-members), so this is a SHOULD.
    """
    # The Groups and the first round's User in one fan-out (data drawn in the loop's order).
    bodies = [("/Groups", ctx.data.group()) for _ in range(RACE_N - 1)] + [("/Users", ctx.data.user())]
    *groups, first_user = ctx.map(lambda b: ctx.create(*b), bodies)
    group_paths = [path_of("/Groups", g) for g in groups]
    # A race shows only when the adds land inside the server's window, which the order the threads
    # are scheduled in decides: a few bounded rounds, each with a new User, make a miss unlikely.
    for round_no in range(RACE_ROUNDS):
        user = first_user if round_no == 0 else ctx.create_user()
        user_path = path_of("/Users", user)
        add = _patch_members("add", [user["id"]])
        jobs = [_send("DELETE", user_path)] + [_send("PATCH", gpath, add) for gpath in group_paths]
        responses = race(ctx, jobs)
        _no_5xx(ctx, responses, "a DELETE racing member adds")
        ctx.expect_status(responses[0], 200, 204, message=f"the racing DELETE answered {responses[0].status}")
        ctx.ledger.forget(user_path)
        # The re-reads side by side, judged in the order the one-by-one loop judged them.
        gone, *reads = ctx.map(ctx.client.get, [user_path, *group_paths])
        ctx.expect_status(gone, 404, message=f"GET of the deleted User answered {gone.status}")
        for path, response in zip(group_paths, reads, strict=True):
            members = values_of(judge_read(ctx, path, response), "members")
            ctx.expect(
                user["id"] not in members,
                "a Group lists the User deleted while member adds raced the DELETE",
                expected=f"members without {user['id']}",
                actual=members,
                response=response,
            )
