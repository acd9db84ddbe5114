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

#: Headers on every request, per IdP. Okta's SCIM 2.0 reference
#: (https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20) shows `User-Agent: Okta SCIM
#: Client 1.0.0`; the Accept, Accept-Charset, Accept-Encoding and Content-Type values are those of
#: captured Okta traffic (**unverified** by a public Okta page). Entra's User-Agent is **unverified**:
#: no public source was found for the exact string; Entra's Accept header is not documented and is
#: left to the client.
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
    second_credential: bool = False  # rotation: a disposable credential besides the run's own


IDP_NAMES: dict[str, str] = {"okta": "Okta", "entra": "Entra ID", "generic": "the client", "clickhouse": "ClickHouse"}


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

    @property
    def count(self) -> int:
        """How many separate expectations this block holds (for the classification table)."""
        return (
            (1 if self.status else 0)
            + len(self.headers)
            + (0 if self.json is MISSING else 1)
            + len(self.asserts)
            + (1 if self.schema else 0)
            + len(self.checks)
            + (0 if self.max_ms is None else 1)
        )


@dataclass(frozen=True)
class RfcExpect:
    """An `rfc` expectation: a deviation from the RFC that the IdP tolerates. Not meeting it is a
    warning naming `check`, the catalogue check that covers the requirement; it never fails the flow."""

    check: str
    expect: Expect
    note: str | None = None
    when: str | None = None  # "enterprise": applies only if the target's /ResourceTypes declare it


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
    source: str | None = None  # the public URL that says the IdP needs `expect` (kind idp)
    rfc: tuple[RfcExpect, ...] = ()
    #: idp expectations about an optional attribute: checked only where the target declares it
    #: (`when`), since the IdP maps such an attribute only then. Each item's `check` is unused.
    optional: tuple[RfcExpect, ...] = ()
    when: str | None = None  # "enterprise": the IdP sends this step only where the extension exists

    @property
    def counts(self) -> dict[str, int]:
        """Expectations by kind: `idp` (the flow fails without them) and `rfc` (tolerated, warn)."""
        idp = self.expect.count + sum(o.expect.count for o in self.optional)
        return {"idp": idp, "rfc": sum(r.expect.count for r in self.rfc)}

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
    source: str | None = None  # default `source` of the steps' idp expectations
    tolerates: tuple[str, ...] = ()  # quirks under which the flow passes with warnings
    #: Why this scenario must not run beside others under `--concurrency` (it judges the whole
    #: collection, which other checks' writes change); None: it may run concurrently.
    serial: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Expectations by kind over every step."""
        return {kind: sum(s.counts[kind] for s in self.steps) for kind in ("idp", "rfc")}

    @property
    def default_headers(self) -> dict[str, str | None]:
        merged: dict[str, str | None] = dict(IDP_HEADERS[self.idp])
        merged.update(self.headers)
        return merged
