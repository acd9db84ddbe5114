"""What a check gets: a client, the run's data and ledger, discovery, and assertion helpers.

Checks should read like the RFC sentence they enforce; everything else (recording, cleanup,
turning a failed expectation into a failure that carries its exchange, schema validation) lives
here so that each check stays a dozen lines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from scimitar.checks.registry import Check, CheckFailed, CheckSkipped
from scimitar.exchange import Exchange, Recorder
from scimitar.factory import AttrRef, DataFactory
from scimitar.fanout import fan_out
from scimitar.run import CleanupReport, Ledger, LedgerScope, Run
from scimitar.schema import CORE_GROUP, CORE_USER, ENTERPRISE_USER, PATCH_OP
from scimitar.target import ScimClient, ScimResponse

if TYPE_CHECKING:
    from scimitar.jsonschemas import Violation
    from scimitar.target import Target

T = TypeVar("T")
R = TypeVar("R")

#: `needs` name -> (Features attribute, ServiceProviderConfig member that advertises it).
_SPC_NEEDS = {
    "patch": ("patch", "patch"),
    "bulk": ("bulk", "bulk"),
    "filter": ("filter", "filter"),
    "sort": ("sort", "sort"),
    "etag": ("etag", "etag"),
    "changePassword": ("change_password", "changePassword"),
}


@dataclass(frozen=True)
class Features:
    """What the target says it supports. None means unknown (the document was missing), and an
    unknown feature is tested rather than skipped: absence of discovery is not permission."""

    patch: bool | None = None
    bulk: bool | None = None
    max_operations: int | None = None
    max_payload_size: int | None = None
    filter: bool | None = None
    max_results: int | None = None
    sort: bool | None = None
    etag: bool | None = None
    change_password: bool | None = None
    users: bool | None = None
    groups: bool | None = None
    enterprise: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _resources(body: Any) -> list[dict[str, Any]] | None:
    """Resources of a discovery listing: a ListResponse, or (tolerated) a bare JSON array."""
    if isinstance(body, dict) and isinstance(body.get("Resources"), list):
        return [r for r in body["Resources"] if isinstance(r, dict)]
    if isinstance(body, list):
        return [r for r in body if isinstance(r, dict)]
    return None


def _supported(spc: dict[str, Any], member: str) -> bool | None:
    value = spc.get(member)
    if isinstance(value, dict) and isinstance(value.get("supported"), bool):
        return bool(value["supported"])
    return None


def _member_ids(group: Any) -> set[str]:
    members = group.get("members") if isinstance(group, dict) else None
    return {str(m.get("value")) for m in members or [] if isinstance(m, dict)}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class Discovery:
    """The target's `/ServiceProviderConfig`, `/Schemas` and `/ResourceTypes`, read once per run."""

    service_provider_config: dict[str, Any] | None = None
    schemas: list[dict[str, Any]] | None = None
    resource_types: list[dict[str, Any]] | None = None
    exchanges: list[Exchange] = field(default_factory=list)

    @classmethod
    def fetch(cls, client: ScimClient) -> Discovery:
        """Read the three discovery endpoints; a missing or broken one leaves its field None."""
        recorder = Recorder()
        scoped = client.with_recorder(recorder)
        spc_resp = scoped.get("/ServiceProviderConfig")
        spc = spc_resp.json() if spc_resp.status == 200 else None
        schemas_resp = scoped.get("/Schemas")
        rts_resp = scoped.get("/ResourceTypes")
        return cls(
            service_provider_config=spc if isinstance(spc, dict) else None,
            schemas=_resources(schemas_resp.json()) if schemas_resp.status == 200 else None,
            resource_types=_resources(rts_resp.json()) if rts_resp.status == 200 else None,
            exchanges=list(recorder.exchanges),
        )

    def resource_type(self, name: str) -> dict[str, Any] | None:
        """The ResourceType named `name` (`User`), matched by name, endpoint or core schema."""
        schema = {"User": CORE_USER, "Group": CORE_GROUP}.get(name)
        for rt in self.resource_types or []:
            if (
                rt.get("name") == name
                or rt.get("endpoint") in (f"/{name}s", f"{name}s")
                or (schema is not None and rt.get("schema") == schema)
            ):
                return rt
        return None

    @property
    def features(self) -> Features:
        spc = self.service_provider_config or {}
        bulk = spc.get("bulk") if isinstance(spc.get("bulk"), dict) else {}
        flt = spc.get("filter") if isinstance(spc.get("filter"), dict) else {}
        users = groups = enterprise = None
        if self.resource_types is not None:
            user_rt = self.resource_type("User")
            users = user_rt is not None
            groups = self.resource_type("Group") is not None
            extensions = (user_rt or {}).get("schemaExtensions") or []
            enterprise = any(isinstance(e, dict) and e.get("schema") == ENTERPRISE_USER for e in extensions)
        elif self.schemas is not None:
            ids = {s.get("id") for s in self.schemas}
            users, groups, enterprise = CORE_USER in ids, CORE_GROUP in ids, ENTERPRISE_USER in ids
        return Features(
            patch=_supported(spc, "patch"),
            bulk=_supported(spc, "bulk"),
            max_operations=_int((bulk or {}).get("maxOperations")),
            max_payload_size=_int((bulk or {}).get("maxPayloadSize")),
            filter=_supported(spc, "filter"),
            max_results=_int((flt or {}).get("maxResults")),
            sort=_supported(spc, "sort"),
            etag=_supported(spc, "etag"),
            change_password=_supported(spc, "changePassword"),
            users=users,
            groups=groups,
            enterprise=enterprise,
        )

    def unmet(self, needs: Iterable[str]) -> str | None:
        """Why a check needing `needs` must be skipped, or None. Only an explicit "no" skips."""
        features = self.features
        for need in needs:
            if need in _SPC_NEEDS:
                attr, member = _SPC_NEEDS[need]
                if getattr(features, attr) is False:
                    return f"ServiceProviderConfig says {member}.supported=false"
            elif need == "users" and features.users is False:
                return "ResourceTypes lists no User resource type"
            elif need == "groups" and features.groups is False:
                return "ResourceTypes lists no Group resource type"
            elif need == "enterprise" and features.enterprise is False:
                return f"the User resource type has no {ENTERPRISE_USER} extension"
        return None


@dataclass
class CheckContext:
    """Everything one check may use; `recorder` holds this check's exchanges only.

    `expectations` counts the expectations evaluated on the check's requirement (passed or
    failed): every `expect*`, `fail`, `validate_*` and `assertions.require`, except inside
    `setup()` (and `create`, which is setup). The runner turns a check that returns with none
    into SKIPPED "not exercised: ...", so a check whose precondition never happens cannot pass.
    """

    client: ScimClient
    run: Run
    discovery: Discovery
    recorder: Recorder
    check: Check | None = None
    target: Target | None = None
    expectations: int = field(default=0, init=False)
    not_exercised_reasons: list[str] = field(default_factory=list, init=False)
    #: `setup()` nesting, per thread: a `map` worker starts at its caller's depth, so an expectation
    #: it evaluates counts (or not) exactly as it would in the sequential loop.
    _depth: threading.local = field(default_factory=threading.local, init=False, repr=False, compare=False)
    _count_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    #: This check's part of the run's ledger: the client's create hook, `create` and the checks that
    #: record a Bulk or PUT creation all feed it, and `cleanup_created` deletes it when the check ends.
    created: LedgerScope = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.created = self.run.ledger.scope()
        scoped = self.client.with_recorder(self.client.recorder)
        scoped.ledger = self.created
        self.client = scoped

    @property
    def data(self) -> DataFactory:
        return self.run.data

    @property
    def ledger(self) -> Ledger:
        """Where a check records what it created (this check's scope of the run's ledger)."""
        return self.created

    def cleanup_created(self) -> CleanupReport:
        """Delete what this check created, newest first; the runner calls it when the check ends,
        whatever the outcome, so no check sees another's leftovers (a User a refused-looking POST
        created can no longer make a later uniqueness or required-attribute check pass or fail).

        Each deletion is verified by a re-read, without waiting: what is not verified gone (an
        error status, a lagging replica, a soft delete) stays in the run's ledger, and the run's
        final cleanup retries and reports it. Never raises but for Ctrl-C: a cleanup problem must
        not change the check's outcome.
        """
        if not len(self.created):
            return CleanupReport()
        try:
            return self.created.cleanup(self.client.with_recorder(Recorder()), settle_s=0)
        except Exception as exc:  # the run's final cleanup has every path still
            return CleanupReport(failed=[("*", f"{type(exc).__name__}: {exc}")])

    @property
    def features(self) -> Features:
        return self.discovery.features

    # -- counting -------------------------------------------------------------------------------
    @property
    def _setup_depth(self) -> int:
        depth: int = getattr(self._depth, "value", 0)
        return depth

    @_setup_depth.setter
    def _setup_depth(self, value: int) -> None:
        self._depth.value = value

    def evaluated(self) -> None:
        """Count one expectation on the requirement (outside `setup()`); helpers call this."""
        if self._setup_depth == 0:
            with self._count_lock:
                self.expectations += 1

    @contextmanager
    def setup(self) -> Iterator[None]:
        """Expectations inside this block prepare the check (create, read back) and do not count
        as exercising its requirement; a failure inside still fails the check."""
        self._setup_depth += 1
        try:
            yield
        finally:
            self._setup_depth -= 1

    # -- fan-out ----------------------------------------------------------------------------------
    @property
    def fanout(self) -> int:
        """How many of this check's independent requests may go at once: the run's in-flight bound
        (`--concurrency`), 1 for the embedded default or `--concurrency 1`."""
        return self.client.fanout

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`[fn(item) for item in items]`, side by side when the run allows it (`fanout`).

        For a check's independent requests (creating its set of Users, re-reading its Groups):
        against a remote target they no longer wait for each other's round trip. It behaves as the
        loop: results in item order, the first exception in item order is raised (a `CheckFailed`
        or a skip ends the check as before; items not started yet never start), and each worker
        records into this check's recorder and ledger scope and counts its expectations at the
        caller's `setup()` depth. `fn` must not depend on the side effects of an earlier item, and
        should not draw test data (`ctx.data`): draw it first, in order, so the seed gives the same
        data (`create_users` does).
        """
        todo = list(items)
        workers = self.fanout
        if workers <= 1 or len(todo) <= 1:
            return [fn(item) for item in todo]
        depth = self._setup_depth

        def call(item: T) -> R:
            self._setup_depth = depth
            try:
                return fn(item)
            finally:
                self._setup_depth = 0

        return fan_out(call, todo, workers, name="scimitar-map")

    def not_exercised(self, why: str) -> None:
        """Say why the requirement could not be put to the test here (the precondition did not
        happen). Does not stop the check; if it ends with no expectation evaluated, the runner
        reports SKIPPED "not exercised: <why>"."""
        if why not in self.not_exercised_reasons:
            self.not_exercised_reasons.append(why)

    # -- outcomes ---------------------------------------------------------------------------------
    def _evidence(self, response: ScimResponse | Exchange | None) -> list[Exchange]:
        if isinstance(response, ScimResponse):
            return [response.exchange]
        if isinstance(response, Exchange):
            return [response]
        last = self.recorder.last
        return [last] if last is not None else []

    def fail(
        self,
        message: str,
        *,
        expected: Any = None,
        actual: Any = None,
        response: ScimResponse | Exchange | None = None,
    ) -> NoReturn:
        """Fail the check; the evidence is `response`'s exchange, else the last one recorded."""
        self.evaluated()
        raise CheckFailed(message, expected=expected, actual=actual, exchanges=self._evidence(response))

    def skip(self, reason: str) -> NoReturn:
        raise CheckSkipped(reason)

    def expect(
        self,
        condition: object,
        message: str,
        *,
        expected: Any = None,
        actual: Any = None,
        response: ScimResponse | Exchange | None = None,
    ) -> None:
        if not condition:
            self.fail(message, expected=expected, actual=actual, response=response)
        self.evaluated()

    def expect_status(self, response: ScimResponse, *codes: int, message: str | None = None) -> None:
        if response.status in codes:
            self.evaluated()
        else:
            wanted = " or ".join(str(c) for c in codes)
            self.fail(
                message or f"{response.exchange.method} answered {response.status}, expected {wanted}",
                expected=wanted,
                actual=response.status,
                response=response,
            )

    # -- what the target declares ----------------------------------------------------------
    def need(self, found: AttrRef | None, what: str) -> AttrRef:
        """`found`, or skip: the target's `/Schemas` declare no attribute fit for this check."""
        if found is None:
            self.skip(f"the target's /Schemas declare no {what}")
        return found

    def need_attr(self, resource_type: str, *paths: str) -> None:
        """Skip unless the target declares every attribute path (`nickName`, `emails.type`)."""
        for path in paths:
            if not self.data.declares(resource_type, path):
                self.skip(f"the target's /Schemas declare no {resource_type} attribute '{path}'")

    def _need_declared(self, endpoint: str, payload: Any) -> None:
        resource_type = {"/users": "User", "/groups": "Group"}.get(endpoint.rstrip("/").lower())
        if resource_type is None:
            return
        missing = self.data.undeclared(resource_type, payload)
        if missing is not None:
            self.skip(f"the target's /Schemas declare no {resource_type} attribute '{missing}'")

    # -- setup helpers ----------------------------------------------------------------------------
    def create(self, endpoint: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a resource, record it in the ledger, and return the server's representation.

        Anything but 200/201 with an `id` is a failed *setup*, reported with the exchange; it does
        not count as an expectation on the check's requirement. A payload naming an attribute the
        target does not declare skips the check instead: the target would rightly refuse it, and
        the check cannot run there.
        """
        self._need_declared(endpoint, payload)
        response = self.client.post(endpoint, json=payload)
        body = response.json()
        rid = body.get("id") if isinstance(body, dict) else None
        if response.status in (200, 201) and not rid and response.location:
            # RFC 7644 §3.3: the body only "SHOULD contain the service provider's "representation""
            # (rfc7644-3.3-create-returns-representation judges that); the Location names it.
            read = self.client.get(self.client.resolve(response.location, "Location"))
            if read.status == 200 and isinstance(read.json(), dict):
                body = read.json()
                rid = body.get("id")
        if response.status not in (200, 201) or not isinstance(rid, str) or not rid:
            raise CheckFailed(  # a setup failure: not counted as an expectation
                f"setup failed: POST {endpoint} did not create the resource "
                f"(status {response.status}{', no id in the body' if response.status in (200, 201) else ''})",
                expected="201 with the created resource (including its id)",
                actual=response.status,
                exchanges=self._evidence(response),
            )
        self.ledger.add(f"{endpoint.rstrip('/')}/{rid}")  # also for clients without a ledger hook
        assert isinstance(body, dict)
        return body

    def create_user(self, *, enterprise: bool = False, **overrides: Any) -> dict[str, Any]:
        """Create a generated User (see `DataFactory.user`) and return the server's representation."""
        return self.create("/Users", self.data.user(enterprise=enterprise, **overrides))

    def create_group(self, **overrides: Any) -> dict[str, Any]:
        """Create a generated Group (see `DataFactory.group`) and return the server's representation."""
        group = self.create("/Groups", self.data.group(**overrides))
        return self._with_members(group, overrides.get("members"))

    def create_users(
        self, spec: int | Sequence[Mapping[str, Any]], *, enterprise: bool = False
    ) -> list[dict[str, Any]]:
        """Create several generated Users (`spec`: how many, or each one's overrides), side by side
        when the run allows it (`map`); the server's representations in order. The data is drawn
        first, in order, so the same seed gives the same Users as `create_user` in a loop."""
        overrides = [{}] * spec if isinstance(spec, int) else [dict(o) for o in spec]
        payloads = [self.data.user(enterprise=enterprise, **o) for o in overrides]
        return self.map(lambda payload: self.create("/Users", payload), payloads)

    def create_groups(self, spec: int | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Create several generated Groups (`spec`: how many, or each one's overrides) as
        `create_users` does; each as `create_group` (members kept or PATCHed in, else skip)."""
        overrides = [{}] * spec if isinstance(spec, int) else [dict(o) for o in spec]
        payloads = [(self.data.group(**o), o.get("members")) for o in overrides]
        return self.map(lambda p: self._with_members(self.create("/Groups", p[0]), p[1]), payloads)

    def _with_members(self, group: dict[str, Any], members: Any) -> dict[str, Any]:
        """Setup for checks that need a Group with members: a provider that keeps no `members` sent
        on create (rfc7643-4.2-group-members-returned judges that, at SHOULD) gets them added with
        a PATCH, as Entra and Okta do; if that fails too, the check is skipped, not failed."""
        wanted = {str(m.get("value")) for m in members or [] if isinstance(m, dict) and m.get("value")}
        if not wanted or wanted <= _member_ids(group):
            return group
        path = f"/Groups/{group.get('id')}"
        if self.features.patch is not False:
            self.client.patch(path, json={"schemas": [PATCH_OP], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": v} for v in sorted(wanted)]}]})
            read = self.client.get(path)
            body = read.json()
            if read.status == 200 and isinstance(body, dict) and wanted <= _member_ids(body):
                return body
        self.skip("setup: the target kept none of the members sent on create, and a PATCH add did not "
                  "add them (rfc7643-4.2-group-members-returned judges that)")

    # -- validation -------------------------------------------------------------------------------
    def _raise_violations(
        self, what: str, found: Sequence[Violation], response: ScimResponse | Exchange | None
    ) -> None:
        violations = [f"{v.pointer or '/'}: {v.message}" for v in found]
        if not violations:
            self.evaluated()
        else:
            self.fail(
                f"{what}: {len(violations)} violation(s): " + "; ".join(violations),
                actual="\n".join(violations),
                response=response,
            )

    def validate_resource(
        self, body: Any, resource_type: str, *, response: ScimResponse | Exchange | None = None
    ) -> None:
        """Fail unless `body` is a valid `resource_type` (User, Group, or a discovery resource:
        ServiceProviderConfig, ResourceType, Schema), listing every JSON pointer that is wrong.

        Resources are judged by the RFC's schema definitions, not the target's own `/Schemas`:
        a target must not pass by describing its bugs.
        """
        from scimitar import jsonschemas

        if resource_type in jsonschemas.DISCOVERY_URNS:
            violations = jsonschemas.validate_discovery(body, resource_type)
        else:
            violations = jsonschemas.validate_resource(body, resource_type)
        self._raise_violations(f"response is not a valid {resource_type}", violations, response)

    def validate_error(self, body: Any, *, response: ScimResponse | Exchange | None = None) -> None:
        """Fail unless `body` is a SCIM Error (RFC 7644 §3.12)."""
        from scimitar import jsonschemas

        self._raise_violations(
            "response is not a valid SCIM Error", jsonschemas.validate_error(body), response
        )

    def validate_list(
        self, body: Any, resource_type: str, *, response: ScimResponse | Exchange | None = None
    ) -> None:
        """Fail unless `body` is a ListResponse whose Resources are valid `resource_type`s."""
        from scimitar import jsonschemas

        violations = jsonschemas.validate_list_response(body, resource_type)
        self._raise_violations(
            f"response is not a valid ListResponse of {resource_type}", violations, response
        )
