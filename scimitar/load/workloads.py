"""The named load workloads and Okta's exact requests, as plain data (no locust import here).

Both sides read this module: the locustfile (in locust's own process) to send the requests, and
the CLI to list workloads and to know which user classes and shape a workload runs. Request
bodies are Okta's, byte for byte in member order (Okta's SCIM 2.0 reference,
https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20), with
only the names, ids and password filled in.

The environment contract between `scimitar load` and the locustfile is the `ENV_*` names below;
credentials use the same variables as the rest of scimitar (`SCIM_TOKEN`, `SCIM_USERNAME` +
`SCIM_PASSWORD`), so a plain `locust -f scimitar/load/locustfile.py` needs nothing else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

#: Headers Okta sends on every call, and on calls with a body.
OKTA_HEADERS: dict[str, str] = {
    "User-Agent": "Okta SCIM Client 1.0.0",
    "Accept": "application/scim+json",
    "Accept-Charset": "utf-8",
    "Accept-Encoding": "gzip,deflate",
}
OKTA_BODY_HEADERS: dict[str, str] = {
    **OKTA_HEADERS,
    "Content-Type": "application/scim+json; charset=utf-8",
}

#: Okta gives up on a response after this many seconds.
OKTA_TIMEOUT_S = 60.0
#: Okta's 429 rule is "wait Retry-After, double on each retry, at most 10 tries"; a load run is
#: bounded, so scimitar waits at most this long per retry and this many retries per request.
MAX_RETRY_WAIT_S = 10.0
MAX_RETRIES = 4
#: Okta waits 5 minutes when Retry-After is missing or not an integer; scimitar waits this (bounded)
#: and counts it as `retry_after_missing`.
MISSING_RETRY_AFTER_WAIT_S = 5.0

# -- environment contract (CLI -> locust processes) ---------------------------------------------------
ENV_RUN_ID = "SCIMITAR_RUN_ID"
ENV_SEED = "SCIMITAR_SEED"
ENV_OUT_DIR = "SCIMITAR_LOAD_DIR"  # where each process writes records-*.jsonl and counters-*.json
ENV_MAX_REQUESTS = "SCIMITAR_LOAD_MAX_REQUESTS"  # total budget (checked on the master / local runner)
ENV_PROCESS_BUDGET = "SCIMITAR_LOAD_PROCESS_BUDGET"  # per generating process (each worker)
ENV_DURATION = "SCIMITAR_LOAD_DURATION"  # seconds, for the burst shape
ENV_USERS = "SCIMITAR_LOAD_USERS"
ENV_SPAWN_RATE = "SCIMITAR_LOAD_SPAWN_RATE"
ENV_SHAPE = "SCIMITAR_LOAD_SHAPE"  # "burst" switches the burst LoadTestShape on
ENV_HEADERS = "SCIMITAR_LOAD_HEADERS"  # JSON list of [name, value] (may hold secrets: env, not argv)
ENV_TIMEOUT = "SCIMITAR_LOAD_TIMEOUT"
ENV_READ_DEADLINE = "SCIMITAR_LOAD_READ_DEADLINE"  # seconds one response may take, request to last byte
ENV_MAX_BODY_BYTES = "SCIMITAR_LOAD_MAX_BODY_BYTES"  # bytes of one response body a user reads at most
ENV_INSECURE = "SCIMITAR_LOAD_INSECURE"
ENV_CA_BUNDLE = "SCIMITAR_LOAD_CA_BUNDLE"
ENV_BATCH = "SCIMITAR_LOAD_BATCH"  # users per membership PATCH in group pushes
ENV_GROUPS = "SCIMITAR_LOAD_GROUPS"  # shared groups a run pushes into
ENV_MAX_P95_MS = "SCIMITAR_MAX_P95_MS"
ENV_MAX_ERROR_RATE = "SCIMITAR_MAX_ERROR_RATE"
ENV_MIN_RPS = "SCIMITAR_MIN_RPS"
ENV_TOKEN = "SCIM_TOKEN"
ENV_USERNAME = "SCIM_USERNAME"
ENV_PASSWORD = "SCIM_PASSWORD"
ENV_TARGET_URL = "SCIM_TARGET_URL"


@dataclass(frozen=True)
class Workload:
    """A named workload: the locust user classes it runs, and optionally a load shape."""

    name: str
    description: str
    classes: tuple[str, ...]
    shape: str | None = None
    #: users and groups the embedded server is seeded with (an import needs something to page)
    seed_users: int = 0
    seed_groups: int = 0


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "okta-burst",
            "Okta assigning a large group at once: filter lookup + POST per user, pushed into shared "
            "groups in PATCH batches, in two waves (burst shape)",
            ("OktaProvisionUser", "OktaGroupPushUser"),
            shape="burst",
        ),
        Workload(
            "okta-import",
            "Okta's first import: GET /Users?startIndex=1&count=100, 101, ... then /Groups",
            ("OktaImportUser",),
            seed_users=500,
            seed_groups=20,
        ),
        Workload(
            "okta-push-groups",
            "a large group push: create users (filter + POST), then PATCH members add in batches",
            ("OktaGroupPushUser",),
        ),
        Workload(
            "okta-deactivate",
            "a deactivation wave: pathless PATCH {active: false} on every assigned user",
            ("OktaDeactivateUser",),
        ),
        Workload(
            "steady",
            "steady state: profile updates (GET + PUT/PATCH) with some creates, pushes, "
            "deactivations and imports",
            (
                "OktaProfileUser",
                "OktaProvisionUser",
                "OktaGroupPushUser",
                "OktaDeactivateUser",
                "OktaImportUser",
            ),
            seed_users=200,
            seed_groups=10,
        ),
    )
}


# -- Okta's requests ---------------------------------------------------------------------------------
def _dump(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _q(value: str) -> str:
    """A filter value as Okta writes it: `userName eq "a@b"` percent-encoded (%20, %22, %40)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return escaped


def user_filter_path(user_name: str) -> str:
    """Okta's create lookup: `GET /Users?filter=userName eq "..."&startIndex=1&count=100`."""
    expr = f'userName eq "{_q(user_name)}"'
    return f"/Users?filter={quote(expr, safe='')}&startIndex=1&count=100"


def group_filter_path(display_name: str) -> str:
    expr = f'displayName eq "{_q(display_name)}"'
    return f"/Groups?filter={quote(expr, safe='')}&startIndex=1&count=100"


def page_path(endpoint: str, start_index: int, count: int = 100) -> str:
    return f"{endpoint}?startIndex={start_index}&count={count}"


def okta_user_body(
    user_name: str, given: str, family: str, external_id: str, password: str, *, active: bool = True
) -> str:
    """Okta's `POST /Users` body (member order as Okta sends it)."""
    return _dump(
        {
            "schemas": [CORE_USER],
            "userName": user_name,
            "name": {"givenName": given, "familyName": family},
            "emails": [{"primary": True, "value": user_name, "type": "work"}],
            "displayName": f"{given} {family}",
            "locale": "en-US",
            "externalId": external_id,
            "groups": [],
            "password": password,
            "active": active,
        }
    )


def okta_group_body(display_name: str) -> str:
    return _dump({"schemas": [CORE_GROUP], "displayName": display_name, "members": []})


def okta_active_patch(active: bool) -> str:
    """Okta's deactivate (and reactivate): a pathless replace of `active`."""
    return _dump({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": active}}]})


def okta_rename_patch(group_id: str, display_name: str) -> str:
    """Sent by Okta before each membership update (a replace of id + displayName)."""
    return _dump(
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "value": {"id": group_id, "displayName": display_name}}],
        }
    )


def okta_members_add_patch(members: list[tuple[str, str]]) -> str:
    """`{"op":"add","path":"members","value":[{"value": id, "display": userName}, ...]}`."""
    return _dump(
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": uid, "display": name} for uid, name in members],
                }
            ],
        }
    )


def okta_profile_put(user: dict[str, Any], given: str) -> str:
    """Okta's profile update: the whole object as read (id, meta included), `active: true`, changed name."""
    body = dict(user)
    name = dict(body.get("name") or {})
    name["givenName"] = given
    body["name"] = name
    body["active"] = True
    family = name.get("familyName", "")
    body["displayName"] = f"{given} {family}".strip()
    body.pop("password", None)
    return _dump(body)


def okta_profile_patch(given: str, family: str) -> str:
    """An OIN app's update: PATCH replace of the changed attributes."""
    return _dump(
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "replace", "value": {"name.givenName": given, "displayName": f"{given} {family}"}}
            ],
        }
    )


# -- small parsers shared by the CLI -----------------------------------------------------------------
_DURATION = re.compile(r"^\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$")


def parse_duration(text: str) -> float:
    """`60s`, `90`, `2m`, `1m30s`, `1h` -> seconds; ValueError on anything else or zero."""
    match = _DURATION.match(text)
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"duration {text!r}: use e.g. 60s, 2m or 1m30s")
    hours, minutes, seconds = match.groups()
    total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    if total <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return total
