"""Helpers shared by the query checks (filter, pagination, sort, attributes, search).

Every query check works on resources it created itself, named under a per-check token
(`<run prefix><tag><random>-`), and scopes its queries to that token, so a remote target's
other data can never change what the check sees.

That scoping is only as good as the target's filter. A target that ignores it lists everything,
and a check judging sort or paging on that list would pass when it runs alone (the collection
holds little but its own users) and fail when other checks' users are there. So a check that
filters only to isolate its set calls `own_set` (a decoy User outside its token, then one unpaged
listing that must hold none of it) and `only_own` on each listing: a target that did not isolate
the set skips the check in every run, sequential or concurrent. The filter checks judge the filter.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scimitar.checks.context import CheckContext
from scimitar.schema import LIST_RESPONSE, SEARCH_REQUEST
from scimitar.schema import get_ci as get_ci  # re-exported: checks import it from here
from scimitar.target import ScimResponse

#: Answers that say "this endpoint is not offered" rather than "this request is wrong".
NOT_OFFERED = (404, 405, 501)


def token(ctx: CheckContext, tag: str) -> str:
    """A fresh lowercase name prefix for one check's resources, inside the run prefix."""
    return f"{ctx.data.prefix}{tag}{uuid.uuid4().hex[:8]}-"


def user_name(tok: str, label: str) -> str:
    """The userName (an email address, as some profiles require) of the user `label`."""
    return f"{tok}{label}@example.com"


def make_user(ctx: CheckContext, tok: str, label: str, **overrides: Any) -> dict[str, Any]:
    """Create a user named `label` under `tok`; its primary work email equals its userName
    (with `type` and `primary` where the target declares them)."""
    return ctx.create_user(**_user_fields(ctx, tok, label, overrides))


def make_users(
    ctx: CheckContext, tok: str, labels: Sequence[str], overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """`make_user` for each label (with `overrides[label]`), side by side when the run allows it
    (`ctx.create_users`); the Users in label order, the same data as the loop would draw."""
    extra = overrides or {}
    return ctx.create_users([_user_fields(ctx, tok, label, extra.get(label, {})) for label in labels])


def _user_fields(ctx: CheckContext, tok: str, label: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    name = user_name(tok, label)
    fields: dict[str, Any] = {"userName": name, "emails": ctx.data.emails(name)}
    fields.update(overrides)
    return fields


def user_path(user: dict[str, Any]) -> str:
    """Where a created User lives, relative to the base URL."""
    return f"/Users/{user['id']}"


def has_ci(obj: Any, key: str) -> bool:
    return isinstance(obj, dict) and any(isinstance(k, str) and k.lower() == key.lower() for k in obj)


def scim_type(response: ScimResponse) -> str | None:
    body = response.json()
    value = get_ci(body, "scimType")
    return value if isinstance(value, str) else None


def list_body(ctx: CheckContext, response: ScimResponse) -> dict[str, Any]:
    """Fail unless `response` is 200 with a ListResponse object; return the body."""
    ctx.expect_status(response, 200)
    body = response.json()
    ctx.expect(
        isinstance(body, dict),
        "the query did not answer a JSON object",
        expected="a ListResponse",
        actual=body if body is None else type(body).__name__,
        response=response,
    )
    schemas = get_ci(body, "schemas")
    ctx.expect(
        isinstance(schemas, list) and LIST_RESPONSE in schemas,
        "the query response is not identified as a ListResponse",
        expected=LIST_RESPONSE,
        actual=schemas,
        response=response,
    )
    resources = get_ci(body, "Resources")
    ctx.expect(
        resources is None or isinstance(resources, list),
        "`Resources` is not an array",
        actual=resources,
        response=response,
    )
    assert isinstance(body, dict)
    return body


def resources(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = get_ci(body, "Resources")
    return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []


def ids(body: dict[str, Any]) -> list[str]:
    return [str(get_ci(r, "id")) for r in resources(body)]


def total(body: dict[str, Any]) -> Any:
    return get_ci(body, "totalResults")


def names(body: dict[str, Any]) -> list[str]:
    """userName (or displayName) of each resource, for readable messages and order checks."""
    out = []
    for r in resources(body):
        value = get_ci(r, "userName") or get_ci(r, "displayName") or get_ci(r, "id")
        out.append(str(value))
    return out


def expect_ids(
    ctx: CheckContext,
    response: ScimResponse,
    body: dict[str, Any],
    expected: Iterable[dict[str, Any]],
    what: str,
    *,
    among: Iterable[dict[str, Any]] = (),
) -> None:
    """Fail unless the resources returned are exactly `expected` (by id, any order).

    `among` are the check's resources, used only to name them (by userName) in the message.
    """
    want = {str(r["id"]) for r in expected}
    got = ids(body)
    label = {str(r["id"]): str(r.get("userName") or r.get("displayName") or r["id"]) for r in among}
    label.update({str(r["id"]): str(r.get("userName") or r.get("displayName") or r["id"]) for r in expected})
    ctx.expect(
        set(got) == want and len(got) == len(set(got)),
        f"{what}: the query returned the wrong resources",
        expected=sorted(label.get(i, i) for i in want),
        actual=sorted(label.get(i, i) for i in got),
        response=response,
    )
    count = total(body)
    ctx.expect(
        count == len(want),
        f"{what}: totalResults does not count the matches",
        expected=len(want),
        actual=count,
        response=response,
    )


def decoy(ctx: CheckContext) -> dict[str, Any]:
    """One User under a token of its own (inside the run prefix, cleaned up with the check's), so a
    target that ignores the isolating filter has at least one user outside it to list."""
    return make_user(ctx, token(ctx, "decoy"), "decoy")


def own_set(ctx: CheckContext, tok: str, *, search: str | None = None) -> None:
    """Create the `decoy`, then list `userName sw "<tok>"` once, unpaged (GET /Users, or POST a
    SearchRequest to `search`), and skip via `only_own` if anything outside `tok` comes back.

    The unpaged listing sees the decoy wherever the check's own pages start, so the verdict does
    not depend on which other users happen to exist. An answer other than 200 is left to the
    check's own listing (which skips a declined filter or an absent endpoint itself)."""
    decoy(ctx)
    flt = f'userName sw "{tok}"'
    if search is None:
        response = ctx.client.get("/Users", params={"filter": flt})
    else:
        response = ctx.client.post(search, json={"schemas": [SEARCH_REQUEST], "filter": flt})
    body = response.json() if response.status == 200 else None
    if isinstance(body, dict):
        only_own(ctx, tok, body)


def only_own(
    ctx: CheckContext, tok: str, body: dict[str, Any], *, flt: str | None = None, mine: Iterable[str] = ()
) -> None:
    """Skip unless every listed resource is the check's own: its userName starts with `tok` (the
    comparison ignores case, as `sw` on userName does) or its id is one of `mine`.

    `flt` names the filter in the reason (default `userName sw "<tok>"`)."""
    known = set(mine)
    prefix = tok.lower()
    for resource in resources(body):
        name = get_ci(resource, "userName")
        if str(get_ci(resource, "id")) in known or (isinstance(name, str) and name.lower().startswith(prefix)):
            continue
        shown = flt or f'userName sw "{tok}"'
        ctx.skip(
            f"the target ignored the filter {shown}: it listed users outside it, so this check cannot "
            "look at its own users alone (the filter checks judge the filter)"
        )
