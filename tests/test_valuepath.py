"""Value selection filters follow what the target declares (issue 9 leftover).

RFC 7644 §3.4.2.2 value filters work on any sub-attribute (`emails[value eq "a@x"]`), so the
value-filter checks must run where `emails` declares `value` alone (the `minimal` shape, measured
on a real server) instead of skipping for want of `emails.type`, and still fail under their quirks.
The RFC shape keeps the `type` form.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import pytest

from scimitar.checks.context import Discovery
from scimitar.checks.registry import Level, all_checks, load_catalogue
from scimitar.factory import DataFactory
from scimitar.options import RunOptions
from scimitar.pytest_plugin import ScimSession
from scimitar.quirks import Quirk
from scimitar.results import CheckResult, Outcome
from scimitar.run import Run
from scimitar.schema import CORE_USER, SchemaRegistry
from scimitar.shapes import Shape, named_shape, shape_from_json
from scimitar.target import Target, TargetOptions

load_catalogue()
CHECKS = {c.id: c for c in all_checks()}

#: The checks that skipped in the minimal shape before, and the quirks that must still break them.
VALUE_FILTER_CHECKS = {
    "rfc7644-3.4.2.2-filter-complex-value-path": Quirk.FILTER_NO_COMPLEX,
    "rfc7644-3.5.2.3-patch-replace-value-filter": Quirk.PATCH_NO_VALUE_FILTER,
    "rfc7644-3.5.2.2-patch-remove-value-filter": Quirk.PATCH_NO_VALUE_FILTER,
    "rfc7644-3.5.2.3-patch-replace-filter-no-match-notarget": Quirk.PATCH_REPLACE_NO_TARGET_ADDS,
    "rfc7644-3.12-patch-remove-filter-no-match-notarget": Quirk.PATCH_NO_TARGET_IGNORED,
}


def _rfc_user_with_emails(subs: tuple[str, ...]) -> Shape:
    """The RFC schemas with `emails` cut down to the sub-attributes `subs` and no other writable
    multi-valued complex attribute (`phoneNumbers` would offer its `type`): a custom shape, as
    `scimitar serve --schemas FILE` would serve it."""
    schemas = copy.deepcopy(SchemaRegistry.default().raw_schemas)
    user = next(s for s in schemas if s["id"] == CORE_USER)
    user["attributes"] = [
        a for a in user["attributes"]
        if a["name"] in ("emails", "groups") or not (a["type"] == "complex" and a.get("multiValued"))
    ]
    emails = next(a for a in user["attributes"] if a["name"] == "emails")
    emails["subAttributes"] = [s for s in emails["subAttributes"] if s["name"] in subs]
    return shape_from_json({"Schemas": schemas}, name="emails-" + "-".join(subs))


@pytest.fixture
def run_in() -> Iterator[Any]:
    """Run one check on an embedded server of a given shape (and quirks); servers are closed after."""
    targets: list[Target] = []

    def run(check_id: str, shape: Shape, *quirks: Quirk) -> CheckResult:
        target = Target(TargetOptions(quirks=frozenset(quirks)))
        targets.append(target)
        config = target.embedded_config
        assert config is not None
        config.shape = shape  # a shape no name stands for: set before the server is first built
        session = ScimSession(target, Run(seed=1), RunOptions(seed=1))
        target.probe(session.masker, session.recorder)
        session.discovery = Discovery.fetch(session.client)
        session.adopt_schemas()
        return session.run_check(CHECKS[check_id])

    yield run
    for target in targets:
        target.close()


def _filters_sent(result: CheckResult) -> str:
    """Every PATCH body and query string the check sent, URL-decoded, for asserting the form."""
    return " ".join(unquote_plus(e.url) + " " + e.request_body for e in result.exchanges)


@pytest.mark.parametrize("check_id", sorted(VALUE_FILTER_CHECKS))
def test_runs_on_emails_value_alone_and_fails_under_its_quirk(check_id: str, run_in: Any) -> None:
    minimal = named_shape("minimal")
    strict = run_in(check_id, minimal)
    assert strict.outcome == Outcome.PASSED, (strict.outcome, strict.message)
    assert strict.expectations >= 1
    sent = _filters_sent(strict)
    assert "emails[value " in sent and "[type " not in sent, sent[:2000]
    broken = run_in(check_id, minimal, VALUE_FILTER_CHECKS[check_id])
    if CHECKS[check_id].level is Level.MAY:
        assert broken.outcome == Outcome.SKIPPED and "optional" in broken.message, broken.message
    else:
        assert broken.outcome == Outcome.FAILED, (broken.outcome, broken.message)


@pytest.mark.parametrize("check_id", sorted(VALUE_FILTER_CHECKS))
def test_the_rfc_shape_keeps_the_type_form(check_id: str, run_in: Any) -> None:
    result = run_in(check_id, named_shape("rfc"))
    assert result.outcome == Outcome.PASSED, result.message
    assert "emails[type eq " in _filters_sent(result)


def test_filtered_sub_attribute_removal_selects_by_value_where_display_is_declared(run_in: Any) -> None:
    """`emails` with `value` and `display` but no `type`: `emails[value eq ...].display` is the
    same requirement, and the quirk that keeps the sub-attribute fails it."""
    check_id = "rfc7644-3.5.2.2-patch-remove-filtered-sub-attribute"
    shape = _rfc_user_with_emails(("value", "display"))
    strict = run_in(check_id, shape)
    assert strict.outcome == Outcome.PASSED, strict.message
    assert "emails[value eq " in _filters_sent(strict) and '].display"' in _filters_sent(strict)
    for quirk in CHECKS[check_id].broken_by:
        broken = run_in(check_id, shape, Quirk(quirk))
        assert broken.outcome == Outcome.FAILED, (quirk, broken.message)


def test_filtered_sub_attribute_removal_skips_on_value_alone(run_in: Any) -> None:
    result = run_in("rfc7644-3.5.2.2-patch-remove-filtered-sub-attribute", named_shape("minimal"))
    assert result.outcome == Outcome.SKIPPED and "'display'" in result.message, result.message


def _factory(shape: Shape) -> DataFactory:
    factory = DataFactory("scimitar-t-", seed=1)
    factory.adopt(shape.registry.raw_schemas, None)  # the RFC resource types stand in
    return factory


def test_value_selector_prefers_type_then_value() -> None:
    rfc = _factory(named_shape("rfc")).value_selector()
    assert rfc is not None and rfc.path == "emails.type"
    minimal = _factory(named_shape("minimal")).value_selector()
    assert minimal is not None and minimal.path == "emails.value"
    assert _factory(named_shape("minimal")).value_selector(also=("display",)) is None
    with_display = _factory(_rfc_user_with_emails(("value", "display"))).value_selector(also=("display",))
    assert with_display is not None and with_display.path == "emails.value"


def _with_email_type(**characteristics: Any) -> Shape:
    schemas = copy.deepcopy(SchemaRegistry.default().raw_schemas)
    user = next(s for s in schemas if s["id"] == CORE_USER)
    for attr in user["attributes"]:
        if attr.get("type") == "complex" and attr.get("multiValued"):
            for sub in attr["subAttributes"]:
                if sub["name"] == "type":
                    sub.update(characteristics)
    return shape_from_json({"Schemas": schemas}, name="typed")


def test_value_selector_falls_back_where_type_cannot_tell_two_values_apart() -> None:
    """A `type` with one canonical value, or one the client cannot write, cannot select one of
    two values: `value` selects instead."""
    one = _factory(_with_email_type(canonicalValues=["work"])).value_selector()
    assert one is not None and one.path == "emails.value"
    read_only = _factory(_with_email_type(mutability="readOnly")).value_selector()
    assert read_only is not None and read_only.path == "emails.value"
    two = _factory(_with_email_type(canonicalValues=["Work", "Home"])).value_selector()
    assert two is not None and two.path == "emails.type"
