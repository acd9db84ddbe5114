"""After the load: was anything lost or duplicated? Measured with httpx in the CLI process, no locust.

The locust processes append what the server confirmed to `records-*.jsonl` (users, groups, member
additions, deactivations) and what they attempted before sending. The audit compares that with the
server:

* every confirmed user is found exactly once by `userName eq "..."`, with the recorded id (lost /
  duplicated / id-mismatch are failures); an attempted create whose response never arrived but
  which exists is reported as info (a timeout or a user stopped mid-request), a duplicate of it fails;
* every recorded group exists once and holds every member the run added (a lost membership fails);
* a confirmed deactivation left `active: false`;
* a full paged listing of `userName sw "<prefix>"` has no id twice, agrees with its own
  `totalResults`, holds every confirmed user and nothing the run never tried to create.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from scimitar.exchange import Recorder


class Client(Protocol):
    """What the audit needs (a `ScimClient` fits)."""

    def get(self, path: str, **kwargs: Any) -> Any: ...


class NullRecorder(Recorder):
    """Keeps nothing: an audit sends thousands of lookups."""

    def record(self, exchange: Any) -> None:
        return None


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: Literal["fail", "info"]
    message: str
    subject: str | None = None


@dataclass
class Expected:
    """The state the run left, from the records."""

    users: dict[str, str] = field(default_factory=dict)  # userName -> id (confirmed)
    attempted: set[str] = field(default_factory=set)  # userNames a POST was sent for
    preexisting: list[str] = field(default_factory=list)
    groups: dict[str, set[str]] = field(default_factory=dict)  # displayName -> ids seen
    members: dict[str, set[str]] = field(default_factory=dict)  # group id -> confirmed user ids
    members_attempted: dict[str, set[str]] = field(default_factory=dict)
    active: dict[str, bool] = field(default_factory=dict)  # user id -> last confirmed value
    active_attempted: dict[str, bool] = field(default_factory=dict)

    @property
    def group_ids(self) -> set[str]:
        return {gid for ids in self.groups.values() for gid in ids}


def load_records(out_dir: Path) -> Expected:
    expected = Expected()
    for path in sorted(out_dir.glob("records-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line cut by a killed process
            kind = rec.get("kind")
            if kind == "attempt":
                expected.attempted.add(rec["userName"])
            elif kind == "user":
                expected.users[rec["userName"]] = rec["id"]
                expected.attempted.add(rec["userName"])
            elif kind == "preexisting":
                expected.preexisting.append(rec["userName"])
            elif kind == "group":
                expected.groups.setdefault(rec["displayName"], set()).add(rec["id"])
            elif kind == "members":
                expected.members.setdefault(rec["group"], set()).update(rec["users"])
            elif kind == "members-attempt":
                expected.members_attempted.setdefault(rec["group"], set()).update(rec["users"])
            elif kind == "active":
                expected.active[rec["id"]] = bool(rec["value"])
            elif kind == "active-attempt":
                expected.active_attempted[rec["id"]] = bool(rec["value"])
    return expected


@dataclass
class AuditResult:
    findings: list[Finding] = field(default_factory=list)
    users_expected: int = 0
    users_found: int = 0
    groups_checked: int = 0
    memberships_expected: int = 0
    listing_total: int | None = None
    listing_count: int = 0
    #: paths of everything of this run the audit saw on the server (for cleanup)
    seen_paths: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(f.severity == "fail" for f in self.findings)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings:
            out[f.kind] = out.get(f.kind, 0) + 1
        return out

    def to_json(self, limit: int = 200) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "users_expected": self.users_expected,
            "users_found": self.users_found,
            "groups_checked": self.groups_checked,
            "memberships_expected": self.memberships_expected,
            "listing_total_results": self.listing_total,
            "listing_count": self.listing_count,
            "finding_counts": self.counts(),
            "findings": [asdict(f) for f in self.findings[:limit]],
            "findings_truncated": max(0, len(self.findings) - limit),
        }


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _lookup(client: Client, user_name: str) -> tuple[int, list[dict[str, Any]]]:
    response = client.get(
        "/Users", params={"filter": f'userName eq "{_quote(user_name)}"', "startIndex": 1, "count": 100}
    )
    body = response.json() if response.status == 200 else None
    resources = body.get("Resources") if isinstance(body, dict) else None
    return response.status, [r for r in resources or [] if isinstance(r, dict)]


def _list_prefix(
    client: Client, prefix: str, page_size: int = 100
) -> tuple[int | None, list[dict[str, Any]]]:
    out: list[dict[str, Any]] = []
    total: int | None = None
    start = 1
    for _ in range(10_000):
        response = client.get(
            "/Users",
            params={"filter": f'userName sw "{_quote(prefix)}"', "startIndex": start, "count": page_size},
        )
        if response.status != 200:
            break
        body = response.json()
        if not isinstance(body, dict):
            break
        if total is None and isinstance(body.get("totalResults"), int):
            total = body["totalResults"]
        page = [r for r in body.get("Resources") or [] if isinstance(r, dict)]
        if not page:
            break
        out += page
        start += len(page)
        if total is not None and start > total:
            break
    return total, out


def audit(client: Client, prefix: str, expected: Expected, *, threads: int = 8) -> AuditResult:
    """Compare the server with the records; `client` must be thread-safe (a `ScimClient` is)."""
    result = AuditResult(users_expected=len(expected.users))
    add = result.findings.append
    for name in expected.preexisting:
        add(Finding("preexisting", "fail", "a never-created userName was found by Okta's lookup", name))

    # 1. every user the run created or tried to create, by userName filter
    names = sorted(expected.attempted | set(expected.users))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        lookups = dict(zip(names, pool.map(lambda n: _lookup(client, n), names), strict=True))
    resources_by_id: dict[str, dict[str, Any]] = {}
    for name in names:
        status, found = lookups[name]
        confirmed = expected.users.get(name)
        for r in found:
            if isinstance(r.get("id"), str):
                resources_by_id[r["id"]] = r
        if status != 200:
            add(Finding("lookup-error", "fail", f"userName filter answered {status}", name))
        elif len(found) > 1:
            ids = ", ".join(str(r.get("id")) for r in found)
            add(Finding("duplicate", "fail", f"found {len(found)} times by userName ({ids})", name))
        elif confirmed is None:
            if found:
                add(
                    Finding(
                        "unconfirmed-create",
                        "info",
                        "created although its POST got no answer (timeout or a stopped user)",
                        name,
                    )
                )
        elif not found:
            add(Finding("lost", "fail", f"created as {confirmed} but not found by userName filter", name))
        elif found[0].get("id") != confirmed:
            add(
                Finding(
                    "id-mismatch", "fail", f"found with id {found[0].get('id')}, created as {confirmed}", name
                )
            )
    result.users_found = sum(1 for n in expected.users if len(lookups[n][1]) == 1)

    # 2. deactivations
    for uid, value in expected.active.items():
        resource = resources_by_id.get(uid)
        if resource is None:
            continue  # a lost user is already reported
        if resource.get("active") is not value and expected.active_attempted.get(uid, value) == value:
            add(Finding("active-lost", "fail", f"active should be {value}, is {resource.get('active')}", uid))

    # 3. groups and memberships
    for display, group_ids in sorted(expected.groups.items()):
        if len(group_ids) > 1:
            add(
                Finding(
                    "duplicate-group",
                    "fail",
                    f"{len(group_ids)} groups with one displayName: {sorted(group_ids)}",
                    display,
                )
            )
    known_users = set(expected.users.values()) | set(resources_by_id)
    for gid in sorted(expected.group_ids):
        result.groups_checked += 1
        response = client.get(f"/Groups/{gid}")
        if response.status != 200 or not isinstance(response.json(), dict):
            add(Finding("group-lost", "fail", f"GET /Groups/{gid} answered {response.status}", gid))
            continue
        result.seen_paths.append(f"/Groups/{gid}")
        actual = {m.get("value") for m in response.json().get("members") or [] if isinstance(m, dict)}
        want = expected.members.get(gid, set())
        result.memberships_expected += len(want)
        missing = want - actual
        if missing:
            add(
                Finding(
                    "membership-lost",
                    "fail",
                    f"{len(missing)} of {len(want)} members the run added are missing",
                    gid,
                )
            )
        extra = (actual & known_users) - want - expected.members_attempted.get(gid, set())
        if extra:
            add(
                Finding(
                    "membership-extra", "fail", f"{len(extra)} run users are members though never added", gid
                )
            )

    # 4. the full listing of the run's users
    total, listed = _list_prefix(client, prefix)
    result.listing_total = total
    listed_ids = [r.get("id") for r in listed]
    unique = {i for i in listed_ids if isinstance(i, str)}
    result.listing_count = len(unique)
    if len(unique) != len(listed_ids):
        add(
            Finding(
                "paging-duplicate",
                "fail",
                f"{len(listed_ids) - len(unique)} resources listed twice across pages",
            )
        )
    if total is not None and total != len(unique):
        add(
            Finding(
                "total-mismatch",
                "fail",
                f"totalResults {total} but paging returned {len(unique)} distinct users",
                prefix,
            )
        )
    listed_names = {r.get("userName") for r in listed}
    missing_in_listing = [n for n in expected.users if n not in listed_names]
    if missing_in_listing:
        add(
            Finding(
                "missing-from-listing",
                "fail",
                f"{len(missing_in_listing)} created users are not in the userName sw listing",
                missing_in_listing[0],
            )
        )
    attempted_lower = {n.lower() for n in expected.attempted}
    unknown = [r for r in listed if str(r.get("userName", "")).lower() not in attempted_lower]
    for r in unknown[:50]:
        add(
            Finding(
                "unknown-user",
                "fail",
                "a user with the run's prefix the run never created",
                r.get("userName"),
            )
        )
    for rid in sorted(unique | set(resources_by_id)):
        result.seen_paths.append(f"/Users/{rid}")
    return result


def summarize_findings(findings: Iterable[Finding]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        if f.severity == "fail":
            counts[f.kind] = counts.get(f.kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "clean"
