"""The harness is honest: every check passes against the strict reference server and fails
against each quirk it declares in `broken_by` (a server bug that breaks exactly what it checks).

A check that no quirk can fail would be a check that cannot fail; it must either name a quirk or
be listed in `KNOWN_GAPS` with the reason, and that list is reported in the closing note.
"""

from __future__ import annotations

from functools import cache

import pytest

from scimitar.checks.context import Discovery
from scimitar.checks.registry import Check, Level, all_checks, load_catalogue
from scimitar.options import RunOptions
from scimitar.pytest_plugin import ScimSession
from scimitar.quirks import Quirk
from scimitar.results import Outcome
from scimitar.run import Run
from scimitar.target import Target, TargetOptions

load_catalogue()
CHECKS = all_checks()

#: Checks no quirk can break yet, with the reason. Keep this short; each entry is a known gap.
KNOWN_GAPS: dict[str, str] = {}

#: Checks whose precondition the strict server never offers, so they end "not exercised" there
#: (and are exercised, and fail, under their quirks). Each entry is a known gap of the strict run.
NOT_EXERCISED_ON_STRICT: dict[str, str] = {
    "rfc7644-3.11-me-alias-location": "the reference server's credentials belong to an IdP connection, "
    "not to a User, so /Me answers 501 and there is no served alias to hold to the Location rule",
}


@cache
def session(quirks: frozenset[Quirk] = frozenset()) -> ScimSession:
    target = Target(TargetOptions(quirks=quirks))
    s = ScimSession(target, Run(seed=1), RunOptions(seed=1))
    target.probe(s.masker, s.recorder)
    s.discovery = Discovery.fetch(s.client)
    return s


def _describe(check: Check, outcome: str, message: str) -> str:
    return f"{check.id} [{check.level}] -> {outcome}: {message}"


@pytest.mark.parametrize("check", CHECKS, ids=[c.id for c in CHECKS])
def test_passes_against_strict_reference(check: Check) -> None:
    result = session().run_check(check)
    if check.id in NOT_EXERCISED_ON_STRICT:
        assert result.outcome == Outcome.SKIPPED and result.message.startswith("not exercised: "), _describe(
            check, result.outcome, result.message)
        return
    assert result.outcome == Outcome.PASSED, _describe(check, result.outcome, result.message)
    # No vacuous pass: the check put its requirement to the test (the runner also enforces this).
    assert result.expectations >= 1, _describe(check, result.outcome, "evaluated no expectation")


PAIRS = [(c, q) for c in CHECKS for q in c.broken_by]


@pytest.mark.parametrize(("check", "quirk"), PAIRS, ids=[f"{c.id}--{q}" for c, q in PAIRS])
def test_fails_against_its_quirk(check: Check, quirk: str) -> None:
    result = session(frozenset({Quirk(quirk)})).run_check(check)
    if check.level is Level.MAY:
        assert result.outcome == Outcome.SKIPPED and "optional" in result.message, _describe(
            check, result.outcome, result.message)
    else:
        expected = Outcome.FAILED if check.level is Level.MUST else Outcome.WARNING
        assert result.outcome == expected, _describe(check, result.outcome, result.message)


def test_every_check_can_fail() -> None:
    unbreakable = [c.id for c in CHECKS if not c.broken_by and c.id not in KNOWN_GAPS]
    assert not unbreakable, f"checks no quirk breaks (add broken_by or a KNOWN_GAPS entry): {unbreakable}"


def test_known_gaps_are_real_checks() -> None:
    ids = {c.id for c in CHECKS}
    assert set(KNOWN_GAPS) <= ids
    assert set(NOT_EXERCISED_ON_STRICT) <= ids
    assert all(c.broken_by for c in CHECKS if c.id in NOT_EXERCISED_ON_STRICT)


#: Checks that must not fail when the server's only deviation is its scimType: the keyword is
#: "OPTIONAL" (RFC 7644 §3.12), and these sentences name none (issue 9.7).
KEYWORD_FREE = (
    "rfc7644-3.5.2-patch-readonly-attribute-rejected",
    "rfc7644-3.5.2-patch-immutable-attribute-rejected",
    "rfc7644-3.12-error-schemas-uri",
    "rfc7644-3.12-error-bodies-are-scim-errors",
    "rfc7644-3.12-not-found-bodies-are-scim-errors",
    "rfc7644-3.4.2.2-filter-unknown-attribute",
)
#: SHOULD checks of a status code that must not warn when the only thing missing is the keyword.
KEYWORD_OPTIONAL = (
    "rfc7644-3.12-invalid-json-400",
    "rfc7644-3.12-invalid-filter-400",
    "rfc7644-3.12-missing-required-400",
    "rfc7644-3.12-wrong-type-400",
    "rfc7644-3.4.2.2-filter-invalid-syntax",
    "rfc7644-3.12-patch-unknown-attribute-path",
    "rfc7644-3.12-patch-malformed-path-invalidpath",
    "rfc7644-3.5.1-put-rename-to-taken-409",
)


@pytest.mark.parametrize("check_id", KEYWORD_FREE)
def test_another_scim_type_is_not_a_failure(check_id: str) -> None:
    check = next(c for c in CHECKS if c.id == check_id)
    for quirk in (Quirk.SCIMTYPE_UNKNOWN, Quirk.ERROR_NO_SCIMTYPE):
        result = session(frozenset({quirk})).run_check(check)
        assert result.outcome == Outcome.PASSED, (quirk, _describe(check, result.outcome, result.message))


@pytest.mark.parametrize("check_id", KEYWORD_OPTIONAL)
def test_a_missing_scim_type_is_not_a_warning(check_id: str) -> None:
    check = next(c for c in CHECKS if c.id == check_id)
    result = session(frozenset({Quirk.ERROR_NO_SCIMTYPE})).run_check(check)
    assert result.outcome == Outcome.PASSED, _describe(check, result.outcome, result.message)
