"""The one list of conformance checks, and the two exceptions a check ends with.

A check is a function taking a `CheckContext`, registered with `@check(...)` under an id such as
`rfc7644-3.4.2.2-filter-eq`. Suites, the honesty test and `scimitar checks` all read `REGISTRY`;
there is no second list to keep in step (the lesson of schemathesis's registry and of
scim2-tester's hand-written run order). What checks and scenario steps (`expect: checks: [...]`)
both assert about one response lives in `scimitar.checks.assertions`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from scimitar.quirks import Quirk

if TYPE_CHECKING:
    from scimitar.checks.context import CheckContext
    from scimitar.exchange import Exchange


class Level(StrEnum):
    """RFC 2119 requirement level of what a check enforces."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


#: Feature tags; each has a suite (`suites/test_<tag>.py`), so every check needs at least one.
SUITE_TAGS: tuple[str, ...] = (
    "discovery",
    "crud",
    "filter",
    "pagination",
    "sort",
    "attributes",
    "patch",
    "put",
    "etag",
    "bulk",
    "search",
    "me",
    "uniqueness",
    "errors",
    "content-type",
    "auth",
    "groups",
    "schema",
    # h9-race: concurrent requests, and the target under generated bad input
    "race",
    "robustness",
)
#: What a check may need: ServiceProviderConfig features and resource types.
NEEDS: tuple[str, ...] = (
    "patch",
    "bulk",
    "filter",
    "sort",
    "etag",
    "changePassword",
    "users",
    "groups",
    "enterprise",
)
#: Allowed id prefixes: the RFC a check enforces, or the IdP / profile whose behaviour it encodes.
ID_PREFIXES: tuple[str, ...] = (
    "rfc7643-",
    "rfc7644-",
    "rfc7235-",
    "rfc7232-",
    "rfc6585-",
    "rfc9110-",
    "okta-",
    "entra-",
    "clickhouse-",
)
#: Checks that encode what an identity provider sends beyond the RFC are labelled as interop, not
#: as RFC findings: their section is this label and they name the IdP's public documentation.
INTEROP_LABELS: dict[str, str] = {"okta-": "Okta interop", "entra-": "Entra interop"}
#: Okta's public description of the SCIM 2.0 requests it sends (connector test, import paging,
#: deactivation, group push).
OKTA_SOURCE = "https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20"
#: Microsoft's public description of the SCIM requests Entra ID sends.
ENTRA_SOURCE = "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"
#: Microsoft's list of Entra ID's deviations from RFC 7644 (PATCH op case, "False" strings, ...).
ENTRA_KNOWN_ISSUES = (
    "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/"
    "application-provisioning-config-problem-scim-compatibility"
)
_ID = re.compile(r"^[a-z0-9][a-z0-9.\-]*[a-z0-9]$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9\-]*$")

CheckFunc = Callable[["CheckContext"], None]


@dataclass(frozen=True)
class Check:
    """A registered check: what it enforces, where the RFC says so, and what breaks it."""

    id: str
    title: str
    section: str
    level: Level
    tags: tuple[str, ...]
    needs: tuple[str, ...]
    broken_by: tuple[str, ...]
    func: CheckFunc
    doc: str
    #: Public documentation of an interop check's IdP behaviour (empty for RFC checks).
    source: str = ""

    @property
    def interop(self) -> bool:
        """True for checks of what an IdP sends beyond the RFC (`okta-*`, `entra-*`)."""
        return self.id.startswith(tuple(INTEROP_LABELS))

    #: Races on purpose (or asserts totals): a concurrent runner must run it alone, never beside others.
    serial: bool = False

    @property
    def requirement(self) -> str:
        return self.level.value

    @property
    def suite(self) -> str:
        """The one suite that runs this check: its first suite tag (other tags only select it)."""
        return next(tag for tag in self.tags if tag in SUITE_TAGS)

    def __call__(self, ctx: CheckContext) -> None:
        self.func(ctx)


class Registry:
    """Checks by id, in registration order; refuses duplicates."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}

    def register(self, item: Check) -> Check:
        if item.id in self._checks:
            func = self._checks[item.id].func
            where = f"{func.__module__}.{func.__qualname__}"
            raise ValueError(f"duplicate check id {item.id!r} (already registered by {where})")
        self._checks[item.id] = item
        return item

    def get(self, check_id: str) -> Check:
        try:
            return self._checks[check_id]
        except KeyError:
            raise KeyError(f"no check {check_id!r} is registered") from None

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._checks

    def __iter__(self) -> Iterator[Check]:
        return iter(list(self._checks.values()))

    def __len__(self) -> int:
        return len(self._checks)

    def unregister(self, check_id: str) -> None:
        """For tests that register throw-away checks."""
        self._checks.pop(check_id, None)


REGISTRY = Registry()


def _validate(
    check_id: str,
    level: Level | str,
    tags: Sequence[str],
    needs: Sequence[str],
    broken_by: Sequence[str],
    section: str = "",
    source: str = "",
) -> Level:
    if not _ID.match(check_id) or not check_id.startswith(ID_PREFIXES):
        prefixes = ", ".join(ID_PREFIXES)
        raise ValueError(f"check id {check_id!r} must be lowercase [a-z0-9.-] and start with: {prefixes}")
    for prefix, label in INTEROP_LABELS.items():
        if check_id.startswith(prefix):
            if section != label:
                raise ValueError(f"check {check_id}: an interop check's section is {label!r}, not {section!r}")
            if not source.startswith("https://"):
                raise ValueError(f"check {check_id}: an interop check names its public source (an https URL)")
    try:
        lvl = Level(level)
    except ValueError:
        raise ValueError(f"check {check_id}: level must be MUST, SHOULD or MAY, not {level!r}") from None
    if not any(tag in SUITE_TAGS for tag in tags):
        raise ValueError(f"check {check_id}: needs at least one suite tag of {', '.join(SUITE_TAGS)}")
    for tag in tags:
        if not _TAG.match(tag):
            raise ValueError(f"check {check_id}: bad tag {tag!r}")
    for need in needs:
        if need not in NEEDS:
            raise ValueError(f"check {check_id}: unknown need {need!r}; known: {', '.join(NEEDS)}")
    known = {q.value for q in Quirk}
    for name in broken_by:
        if name not in known:
            raise ValueError(f"check {check_id}: broken_by names unknown quirk {name!r}")
    return lvl


def check(
    id: str,
    *,
    title: str,
    section: str,
    level: Level | str,
    tags: Sequence[str],
    needs: Sequence[str] = (),
    broken_by: Sequence[str] = (),
    source: str = "",
    registry: Registry | None = None,
    serial: bool = False,
) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check function. Its docstring is required: it quotes the RFC sentence enforced.

    `okta-*` / `entra-*` checks are interop checks: `section` is "Okta interop" / "Entra interop"
    and `source` the public URL that documents what the IdP sends (the docstring still quotes the
    RFC sentences that bear on it).
    `serial=True` marks a check that must not run beside others: it races on purpose, or it judges
    the whole collection, which the other checks' writes change."""
    lvl = _validate(id, level, tags, needs, broken_by, section, source)

    def decorator(func: CheckFunc) -> CheckFunc:
        doc = (func.__doc__ or "").strip()
        if not doc:
            raise ValueError(f"check {id}: a docstring quoting the RFC requirement is required")
        (registry if registry is not None else REGISTRY).register(
            Check(
                id=id,
                title=title,
                section=section,
                level=lvl,
                tags=tuple(tags),
                needs=tuple(needs),
                broken_by=tuple(str(q) for q in broken_by),
                func=func,
                doc=doc,
                source=source,
                serial=serial,
            )
        )
        return func

    return decorator


def all_checks(tag: str | None = None, *, suite: str | None = None) -> list[Check]:
    """Registered checks (registration order), optionally only those carrying `tag`, or only those
    whose suite is `suite` (so a check with several tags runs once)."""
    return [c for c in REGISTRY if (tag is None or tag in c.tags) and (suite is None or c.suite == suite)]


def get_check(check_id: str) -> Check:
    return REGISTRY.get(check_id)


_INFRASTRUCTURE = frozenset({"registry", "context", "runner"})


def load_catalogue() -> Registry:
    """Import every check module in `scimitar.checks` so the registry is complete; idempotent."""
    import scimitar.checks as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name in _INFRASTRUCTURE or info.name.startswith("_"):
            continue
        importlib.import_module(f"{package.__name__}.{info.name}")
    return REGISTRY


class CheckFailed(AssertionError):
    """The target does not do what the check requires; carries the exchanges that prove it."""

    def __init__(
        self,
        message: str,
        *,
        expected: Any = None,
        actual: Any = None,
        exchanges: Sequence[Exchange] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.actual = actual
        self.exchanges: list[Exchange] = list(exchanges)

    def __str__(self) -> str:
        parts = [self.message]
        if self.expected is not None:
            parts.append(f"expected: {self.expected}")
        if self.actual is not None:
            parts.append(f"actual: {self.actual}")
        return "; ".join(parts)


class CheckSkipped(Exception):
    """The check cannot run against this target (feature not offered, precondition missing)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
