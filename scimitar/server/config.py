"""Everything that shapes one reference server instance: base path, profile, quirks, credentials, limits."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from scimitar.quirks import Quirk
from scimitar.shapes import Shape

PROFILES = ("rfc", "clickhouse")


@dataclass
class ServerConfig:
    """Settings of one reference server.

    `tokens` are Bearer tokens; `basic` are (username, password) pairs. The `clickhouse` profile
    treats each basic pair as a `scim_` key and its secret, also accepted as `Bearer key:secret`.
    At most two credentials are live at once (rotation without downtime).
    """

    base_path: str = "/scim/v2"
    profile: str = "rfc"
    quirks: frozenset[Quirk] = frozenset()
    tokens: list[str] = field(default_factory=list)
    basic: list[tuple[str, str]] = field(default_factory=list)
    no_auth: bool = False
    admin_token: str = field(default_factory=lambda: "admin_" + secrets.token_urlsafe(24))
    admin_path: str = "/_admin"
    max_credentials: int = 2
    latency_ms: int = 200
    group_display_name_unique: bool = True
    # clickhouse profile
    strict_role_mapping: bool = False
    default_role: str = "Member"
    # limits advertised in /ServiceProviderConfig and enforced
    max_operations: int = 1000
    max_payload_size: int = 1_048_576
    max_results: int = 1000
    # seed data
    seed_users: int = 0
    seed_groups: int = 0
    seed: int = 0
    # what the server declares and enforces (schemas, resource types, SPC); None: the RFC schemas
    shape: Shape | None = None

    def __post_init__(self) -> None:
        if self.shape is not None and self.shape.profile:
            self.profile = self.shape.profile
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}; choose one of {', '.join(PROFILES)}")
        self.base_path = _clean_path(self.base_path, "base path")
        self.admin_path = _clean_path(self.admin_path, "admin path")
        if not self.admin_path:
            raise ValueError("the admin API needs a path of its own, not the root")
        base, admin = self.base_path.lower(), self.admin_path.lower()
        # The admin routes check their own token and skip the SCIM authentication: a SCIM base
        # path under (or over) the admin prefix would serve SCIM without any credential.
        if base and (base.startswith(admin) or admin.startswith(base + "/")):
            raise ValueError(
                f"--base-path {self.base_path} overlaps the admin API at {self.admin_path}; "
                "choose a base path outside it (e.g. /scim/v2)"
            )

    @property
    def clickhouse(self) -> bool:
        return self.profile == "clickhouse"


#: One path segment: RFC 3986 unreserved characters only, so a base path can neither hold a
#: Starlette route parameter (`{x}`), a percent-escape, a dot segment nor an empty segment.
_SEGMENT = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*\Z")


def _clean_path(path: str, what: str) -> str:
    """`/a/b` from `a/b/`, `/a/b` or `/a/b/`; "" for the root. Refuses what routes could misread."""
    stripped = path.strip("/")
    if not stripped:
        return ""
    for segment in stripped.split("/"):
        if not _SEGMENT.match(segment) or segment.endswith("."):
            raise ValueError(
                f"the {what} {path!r} may only hold letters, digits and - _ ~ . between single "
                "slashes (no empty, '.' or '..' segments, no segment ending in '.')"
            )
    return "/" + stripped
