"""The in-memory form of a scenario file, and the request headers each identity provider sends.

The YAML format itself is described by `scenarios/scenario.schema.json` (a standalone JSON Schema
editors can use); `scimitar.scenario.loader` validates a file against it and builds these
objects, so the engine never sees a malformed scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any, Literal

from scimitar.scenario.assertions import MISSING, Assertion, Path

StepKind = Literal["request", "observe", "admin", "use_auth"]
STEP_KINDS: tuple[StepKind, ...] = ("request", "observe", "admin", "use_auth")

#: Headers on every request, per IdP (`/work/shared/idp-call-sequences.md`). Okta's are documented.
#: Entra's User-Agent is **unverified**: no public source was found for the exact string, so it is
#: the value the issue suggests; Entra's Accept header is not documented and is left to the client.
IDP_HEADERS: dict[str, dict[str, str]] = {
    "okta": {
        "User-Agent": "Okta SCIM Client 1.0.0",
        "Accept": "application/scim+json",
        "Accept-Charset": "utf-8",
        "Accept-Encoding": "gzip,deflate",
    },
    "entra": {
        "User-Agent": "Microsoft.Identity.Provisioning",  # unverified
    },
    "generic": {},
}
#: Content-Type each IdP sends on requests with a body.
IDP_BODY_CONTENT_TYPE: dict[str, str] = {
    "okta": "application/scim+json; charset=utf-8",
    "entra": "application/scim+json",
    "generic": "application/scim+json",
}


@dataclass(frozen=True)
class Requires:
    """What a scenario needs from the target; unmet needs skip it with a reason."""

    profile: str | None = None
    observer: bool = False
    admin: bool = False
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class Expect:
    """What must hold after a step. `json` is MISSING when not given (null is a valid subset)."""

    status: tuple[int, ...] = ()
    headers: dict[str, str | bool] = field(default_factory=dict)
    json: Any = MISSING
    asserts: tuple[Assertion, ...] = ()
    schema: str | None = None
    checks: tuple[str, ...] = ()  # names of `scimitar.checks.assertions.ASSERTIONS`
    max_ms: float | None = None


@dataclass(frozen=True)
class Step:
    """One step. `spec` is the raw (still templated) content of its kind's block."""

    index: int
    name: str
    line: int
    kind: StepKind
    spec: Any
    expect: Expect
    capture: dict[str, Path] = field(default_factory=dict)
    level: str = "MUST"
    eventually: tuple[float, float] | None = None  # (within, every) seconds
    note: str | None = None

    @property
    def label(self) -> str:
        return f"step {self.index + 1} ({self.name})"


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file; `id` is its path relative to the repository (`scenarios/okta/x.yaml`)."""

    id: str
    file: FilePath
    name: str
    description: str
    idp: str
    requires: Requires
    broken_by: tuple[str, ...]
    headers: dict[str, str | None]
    variables: dict[str, Any]
    steps: tuple[Step, ...]

    @property
    def default_headers(self) -> dict[str, str | None]:
        merged: dict[str, str | None] = dict(IDP_HEADERS[self.idp])
        merged.update(self.headers)
        return merged
