"""How the report groups results: by feature and by RFC section, the two views of one matrix.

A reader asks two questions: "does filtering work?" (feature) and "where in the RFC do we stand?"
(section). Checks carry tags and a section string, scenarios carry an IdP and a profile; this
module turns those into rows. A check with several tags counts in each of its features, so the
feature rows can add up to more than the number of checks (the report says so).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: Report features in display order, with the check tags that belong to each.
FEATURES: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("discovery", "Discovery", frozenset({"discovery", "schema"})),
    ("crud", "CRUD", frozenset({"crud", "put", "attributes", "uniqueness", "groups", "me", "content-type"})),
    ("filter", "Filter", frozenset({"filter", "search"})),
    ("pagination", "Pagination", frozenset({"pagination"})),
    ("sort", "Sort", frozenset({"sort"})),
    ("patch", "PATCH", frozenset({"patch"})),
    ("etag", "ETag", frozenset({"etag"})),
    ("bulk", "Bulk", frozenset({"bulk"})),
    ("auth", "Auth", frozenset({"auth"})),
    ("errors", "Errors", frozenset({"errors"})),
    ("okta", "Okta", frozenset()),
    ("entra", "Entra", frozenset()),
    ("clickhouse", "ClickHouse", frozenset()),
)
IDPS: tuple[str, ...] = ("okta", "entra", "clickhouse")

#: Short titles of the RFC sections the catalogue cites, so a matrix row says what it is about.
SECTION_TITLES: dict[str, str] = {
    "RFC 7643 §2": "attribute types and characteristics",
    "RFC 7643 §3": "common attributes, meta",
    "RFC 7643 §4": "User, Group, enterprise extension",
    "RFC 7643 §5": "ServiceProviderConfig schema",
    "RFC 7643 §6": "ResourceType schema",
    "RFC 7643 §7": "Schema definitions",
    "RFC 7643 §8": "JSON representation",
    "RFC 7644 §2": "authentication",
    "RFC 7644 §3.3": "creating resources (POST)",
    "RFC 7644 §3.4": "retrieving: filter, sort, paging",
    "RFC 7644 §3.5": "modifying: PUT and PATCH",
    "RFC 7644 §3.6": "deleting resources",
    "RFC 7644 §3.7": "bulk operations",
    "RFC 7644 §3.8": "data input/output formats",
    "RFC 7644 §3.9": "attributes / excludedAttributes",
    "RFC 7644 §3.10": "attribute notation",
    "RFC 7644 §3.11": "/Me",
    "RFC 7644 §3.12": "HTTP status and error responses",
    "RFC 7644 §3.13": "protocol versioning",
    "RFC 7644 §3.14": "versioning resources (ETag)",
    "RFC 7644 §4": "service provider configuration endpoints",
    "RFC 7232 §3": "conditional request preconditions",
    "RFC 7232 §4": "304 Not Modified",
    "RFC 7235 §3": "401 Unauthorized",
    # interop checks: what an IdP sends beyond the RFC, from its public documentation
    "Okta interop": "what Okta sends beyond the RFC (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20)",
    "Entra interop": "what Entra ID sends beyond the RFC (learn.microsoft.com/en-us/entra/identity/app-provisioning)",
}

_SECTION = re.compile(r"RFC\s*(\d{4})\s*§\s*(\d+)(?:\.(\d+))?")
_OUTCOMES = ("passed", "failed", "warning", "skipped", "error")


def section_group(section: str) -> str:
    """The matrix row of a section: its first RFC citation cut to two levels (`RFC 7644 §3.4`).

    RFC 7643 is grouped by top-level section only: its subsections are attribute-by-attribute.
    """
    match = _SECTION.search(section)
    if match is None:
        return section.strip() or "(no section)"
    rfc, major, minor = match.groups()
    if rfc == "7644" and major == "3" and minor is not None:
        return f"RFC {rfc} §{major}.{minor}"
    return f"RFC {rfc} §{major}"


def section_sort_key(group: str) -> tuple[Any, ...]:
    """SCIM's own RFCs (7643, 7644) first, then the HTTP RFCs they lean on, then anything else."""
    numbers = [int(n) for n in re.findall(r"\d+", group)]
    if not group.startswith("RFC") or not numbers:
        return (2, group)
    return (0 if numbers[0] in (7643, 7644) else 1, *numbers)


def check_features(check: dict[str, Any], tags: Iterable[str] = ()) -> list[str]:
    """Feature keys of a check: from its tags, plus the IdP its id or section names."""
    tagset = set(tags)
    found = [key for key, _, wanted in FEATURES if wanted & tagset]
    cid = str(check.get("id", ""))
    section = str(check.get("section", "")).lower()
    for idp in IDPS:
        if cid.startswith(f"{idp}-") or f"({idp}" in section:
            found.append(idp)
    return found


def scenario_idp(entry: dict[str, Any], profile: str | None = None) -> str:
    """The IdP a scenario belongs to in reports and `--idp`: ClickHouse scenarios replay Okta's calls
    against the ClickHouse profile, and are filed under ClickHouse."""
    sid = str(entry.get("id", ""))
    if profile == "clickhouse" or "/clickhouse/" in f"/{sid}":
        return "clickhouse"
    return str(entry.get("idp", "generic"))


@dataclass
class Row:
    """One matrix row: counts by outcome and the ids behind the failing ones."""

    key: str
    label: str
    note: str = ""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_OUTCOMES, 0))

    def add(self, outcome: str) -> None:
        if outcome in self.counts:
            self.counts[outcome] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def status(self) -> str:
        """The worst outcome present, for the row's colour."""
        for outcome in ("error", "failed", "warning", "passed", "skipped"):
            if self.counts[outcome]:
                return outcome
        return "empty"


def feature_rows(
    checks: list[dict[str, Any]],
    scenarios: list[dict[str, Any]],
    tags_of: dict[str, tuple[str, ...]],
    profiles: dict[str, str | None],
) -> list[Row]:
    """Rows for every feature, in `FEATURES` order; IdP rows count their checks and scenarios."""
    rows = {key: Row(key, label) for key, label, _ in FEATURES}
    for check in checks:
        for key in check_features(check, tags_of.get(str(check.get("id")), ())):
            rows[key].add(str(check.get("outcome")))
    for entry in scenarios:
        idp = scenario_idp(entry, profiles.get(str(entry.get("id"))))
        if idp in rows:
            rows[idp].add(str(entry.get("outcome")))
    return list(rows.values())


def section_rows(checks: list[dict[str, Any]]) -> list[Row]:
    rows: dict[str, Row] = {}
    for check in checks:
        group = section_group(str(check.get("section", "")))
        row = rows.setdefault(group, Row(group, group, SECTION_TITLES.get(group, "")))
        row.add(str(check.get("outcome")))
    return [rows[k] for k in sorted(rows, key=section_sort_key)]
