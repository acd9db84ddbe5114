"""The named response assertions (`scimitar/checks/assertions.py`): one set, used by catalogue checks
and by scenario steps (`expect: {checks: [...]}`), with the same verdict on the same response."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scimitar.checks import assertions as a
from scimitar.quirks import Quirk
from scimitar.run import Run
from scimitar.scenario.engine import Environment, run_scenario
from scimitar.scenario.loader import load_scenario
from scimitar.target import Target, TargetOptions

SCIM = {"Content-Type": "application/scim+json"}
ERROR = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404", "detail": "no such user"}
LIST = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 1, "startIndex": 1,
        "itemsPerPage": 1, "Resources": [{"id": "1", "userName": "ann", "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User"]}]}


def _problems(name: str, status: int, headers: dict[str, str], body: object, path: str = "/Users") -> list[str]:
    return a.problems(name, a.Reply(status, headers, body, path))


def test_scim_error_body() -> None:
    assert _problems("scim-error-body", 404, SCIM, ERROR) == []
    assert _problems("scim-error-body", 404, SCIM, {**ERROR, "status": 404})  # a number, not a string
    assert _problems("scim-error-body", 404, SCIM, {"status": "404"})  # no Error schema URI
    assert "HTTP status is 409" in _problems("scim-error-body", 409, SCIM, ERROR)[0]


def test_list_response_and_paging() -> None:
    assert _problems("list-response", 200, SCIM, LIST) == []
    assert _problems("list-response-paging", 200, SCIM, LIST) == []
    assert _problems("list-response", 200, SCIM, {**LIST, "totalResults": "1"})
    assert _problems("list-response-paging", 200, SCIM, {**LIST, "itemsPerPage": "1"}) == [
        "itemsPerPage is '1', expected an integer"
    ]
    bad_user = {**LIST, "Resources": [{"id": "1", "userName": "ann", "active": "true"}]}
    assert _problems("list-response", 200, SCIM, bad_user)  # Resources are judged as Users
    assert a._resource_type("http://h/scim/v2/Groups?filter=x") == "Group"
    assert a._resource_type("/scim/v2/Schemas") == "Schema"


def test_headers_assertions() -> None:
    assert _problems("content-type-scim", 200, {"content-type": "application/scim+json; charset=utf-8"}, {}) == []
    assert _problems("content-type-scim", 200, {"Content-Type": "application/json"}, {})
    assert _problems("content-type-scim", 204, {}, None) == []
    user = {"id": "1", "meta": {"version": 'W/"3"', "location": "http://h/scim/v2/Users/1"}}
    assert _problems("etag-matches-version", 200, {"ETag": 'W/"3"'}, user) == []
    assert _problems("etag-matches-version", 200, {"ETag": 'W/"4"'}, user)
    assert _problems("location-matches-meta", 201, {"Location": "http://h/scim/v2/Users/1"}, user) == []
    assert _problems("location-matches-meta", 201, {}, user) == ["the response has no Location header"]


def test_unknown_name() -> None:
    with pytest.raises(KeyError, match="no response assertion"):
        _problems("nope", 200, {}, {})


def test_catalogue_checks_call_the_shared_assertions() -> None:
    """The catalogue and the scenarios judge with the same functions: no second copy to drift."""
    root = Path(a.__file__).parent
    used = {name for name in a.ASSERTIONS for f in root.glob("*.py") if f.name != "assertions.py"
            and f'require(ctx, "{name}"' in f.read_text()}
    assert {"scim-error-body", "content-type-scim", "etag-matches-version", "list-response-paging",
            "location-matches-meta"} <= used


STEP = """\
name: unknown user answers a SCIM Error
description: a step judged by a named response assertion
idp: generic
broken_by: [error-status-number]
steps:
  - name: read an unknown id
    request: {method: GET, path: /Users/00000000-unknown}
    expect:
      status: 404
      checks: [scim-error-body, content-type-scim]
"""


@pytest.mark.parametrize(("quirk", "fails"), [
    (None, None),
    (Quirk.ERROR_STATUS_NUMBER, "scim-error-body: not a valid SCIM Error: /status"),
    (Quirk.ERROR_NO_SCHEMAS, "scim-error-body: not a valid SCIM Error: /schemas"),
    (Quirk.CONTENT_TYPE_JSON, "content-type-scim: Content-Type is 'application/json'"),
])
def test_a_response_violating_the_named_assertion_fails_the_step(
    tmp_path: Path, quirk: Quirk | None, fails: str | None
) -> None:
    root = tmp_path / "scenarios"
    root.mkdir()
    schema = Path(__file__).resolve().parents[1] / "scenarios" / "scenario.schema.json"
    (root / "scenario.schema.json").write_text(schema.read_text())
    (root / "s.yaml").write_text(textwrap.dedent(STEP))
    scenario = load_scenario(root / "s.yaml")
    target = Target(TargetOptions(quirks=frozenset({quirk}) if quirk else frozenset()))
    try:
        result = run_scenario(scenario, Environment(target=target, run=Run(run_id="assert1")))
    finally:
        target.close()
    if fails is None:
        assert result.outcome == "passed", result.render()
    else:
        assert result.outcome == "failed", result.render()
        assert fails in result.steps[0].message, result.steps[0].message
