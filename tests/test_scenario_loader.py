"""The scenario loader's errors (file, step, field and line; never a traceback), templating and paths."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scimitar.scenario.assertions import MISSING, parse_assertion, parse_path, subset_mismatch
from scimitar.scenario.loader import ScenarioLoadError, load_scenario
from scimitar.scenario.templating import Scope, TemplateError, check_ref, parse_ref

GOOD = """\
name: tiny
description: one request
idp: generic
vars:
  email: "{{ run.prefix }}x@example.com"
steps:
  - name: list users
    request:
      method: GET
      path: /Users
    expect:
      status: 200
"""


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = tmp_path / "scenarios"
    root.mkdir()
    schema = Path(__file__).resolve().parents[1] / "scenarios" / "scenario.schema.json"
    (root / "scenario.schema.json").write_text(schema.read_text())

    def _write(text: str, name: str = "s.yaml") -> Path:
        path = root / name
        path.write_text(textwrap.dedent(text))
        return path

    return _write


def _error(path: Path) -> ScenarioLoadError:
    with pytest.raises(ScenarioLoadError) as info:
        load_scenario(path)
    return info.value


def test_good_file_loads_with_repository_relative_id(write) -> None:  # type: ignore[no-untyped-def]
    scenario = load_scenario(write(GOOD))
    assert scenario.id == "scenarios/s.yaml"
    assert scenario.steps[0].expect.status == (200,)


def test_malformed_yaml_names_file_line_step_and_field(write) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace("      status: 200", "      assert: [body.Resources[0].id exists]\n      status: 200")
    err = _error(write(text))
    assert err.file == "scenarios/s.yaml"
    assert err.line == 12
    assert err.step == (0, "list users")
    assert err.field == "assert"
    assert str(err).startswith("scenarios/s.yaml:12: step 1 (list users), field assert: invalid YAML")


def test_unknown_field(write) -> None:  # type: ignore[no-untyped-def]
    err = _error(write(GOOD.replace("      path: /Users", "      path: /Users\n      bogus: 1")))
    assert (err.line, err.step, err.field) == (11, (0, "list users"), "request.bogus")
    assert "unknown field 'bogus'" in str(err)


def test_missing_status(write) -> None:  # type: ignore[no-untyped-def]
    err = _error(write(GOOD.replace("      status: 200", "      schema: User")))
    assert err.step == (0, "list users")
    assert err.field == "expect.status"
    assert err.line == 11  # the `expect:` that lacks it
    assert "'status' is required" in str(err)


def test_bad_template_reference(write) -> None:  # type: ignore[no-untyped-def]
    err = _error(write(GOOD.replace("path: /Users", "path: /Users/{{ captured.user_id }}")))
    assert (err.line, err.step, err.field) == (10, (0, "list users"), "request.path")
    assert "bad template reference" in str(err) and "captured.user_id" in str(err)


def test_unknown_variable_and_bad_assertion(write) -> None:  # type: ignore[no-untyped-def]
    err = _error(write(GOOD.replace("path: /Users", "path: /Users/{{ emial }}")))
    assert "unknown variable 'emial'" in str(err)
    err = _error(write(GOOD.replace("      status: 200", "      status: 200\n      assert: ['body.x ~~ 1']")))
    assert err.field == "expect.assert[0]" and err.line == 13


def test_observe_step_needs_declared_observer_and_unknown_quirk(write) -> None:  # type: ignore[no-untyped-def]
    text = GOOD + "  - name: look\n    observe: {member: x}\n"
    err = _error(write(text))
    assert err.step == (1, "look") and "requires" in str(err)
    err = _error(write(GOOD.replace("idp: generic", "idp: generic\nbroken_by: [no-such-quirk]")))
    assert err.field == "broken_by[0]" and err.line == 4


def test_duplicate_key_and_empty_file(write) -> None:  # type: ignore[no-untyped-def]
    err = _error(write(GOOD.replace("      method: GET", "      method: GET\n      method: POST")))
    assert "duplicate key 'method'" in str(err) and err.line == 10
    assert "empty" in str(_error(write("")))


def test_collection_reports_a_broken_file_as_one_line(write) -> None:  # type: ignore[no-untyped-def]
    path = write(GOOD.replace("      status: 200", "      schema: User"))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "scimitar.scenario.collect",
         "-p", "no:cacheprovider", str(path)],
        capture_output=True, text=True, cwd=path.parent, check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "scenarios/s.yaml:11: step 1 (list users), field expect.status: 'status' is required" in out
    assert "Traceback" not in out


def test_collection_runs_a_good_file(write) -> None:  # type: ignore[no-untyped-def]
    path = write(GOOD)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "scimitar.scenario.collect", "-p", "no:cacheprovider",
         str(path)],
        capture_output=True, text=True, cwd=path.parent, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


# -- templating -------------------------------------------------------------------------------------


class _Faker:
    def first_name(self) -> str:
        return "Ada"


def _scope() -> Scope:
    return Scope(run_prefix="scimitar-abc-", run_id="abc", faker=_Faker(),
                 variables={"email": "Ada@Example.com", "n": 3}, captured={"active": False, "id": "42"})


def test_render_keeps_types_for_whole_templates_and_interpolates_otherwise() -> None:
    scope = _scope()
    assert scope.render("{{ captured.active }}") is False
    assert scope.render("{{ n }}") == 3
    assert scope.render("/Users/{{ captured.id }}?n={{ n }}") == "/Users/42?n=3"
    assert scope.render({"{{ run.prefix }}k": ["{{ email | upper }}"]}) == {"scimitar-abc-k": ["ADA@EXAMPLE.COM"]}
    assert scope.render("{{ fake.first_name }} {{ run.id }}") == "Ada abc"
    assert scope.render("{{ email | urlencode }}") == "Ada%40Example.com"
    assert len(scope.render("{{ uuid }}")) == 36


def test_template_errors() -> None:
    with pytest.raises(TemplateError):
        parse_ref("email | shout")
    with pytest.raises(TemplateError):
        parse_ref("1abc")
    assert check_ref(parse_ref("captured.x"), set(), {"y"}) is not None
    assert check_ref(parse_ref("fake.no_such_provider"), set(), set()) is not None
    assert check_ref(parse_ref("fake.first_name"), set(), set()) is None
    assert check_ref(parse_ref("run.secret"), set(), set()) is not None


# -- paths and assertions ------------------------------------------------------------------------------


BODY = {"Resources": [{"id": "1", "active": False, "members": [{"value": "a"}]}], "totalResults": 1,
        "urn:x:2.0:User": {"department": "R"}}


def test_paths() -> None:
    assert parse_path("body.Resources[0].active").evaluate(200, {}, BODY) is False
    assert parse_path("body.resources[0].ID").evaluate(200, {}, BODY) == "1"  # names ignore case
    assert parse_path('body["urn:x:2.0:User"].department').evaluate(200, {}, BODY) == "R"
    assert parse_path("body.Resources[*].members[*].value").evaluate(200, {}, BODY) == [["a"]]
    assert parse_path("body.nothing[*].value").evaluate(200, {}, BODY) == []
    assert parse_path("header.location").evaluate(201, {"Location": "/x"}, None) == "/x"
    assert parse_path("body.Resources[5]").evaluate(200, {}, BODY) is MISSING


def test_assertions() -> None:
    def holds(text: str, body: object = BODY) -> bool:
        a = parse_assertion(text)
        return a.check(a.path.evaluate(200, {}, body), a.expected) is None

    assert holds("body.Resources[0].active == false")
    assert not holds('body.Resources[0].active == "False"')  # a string is not a boolean
    assert holds("body.totalResults >= 1") and not holds("body.totalResults > 1")
    assert holds("len(body.Resources) == 1")
    assert holds('body.Resources[*].id contains "1"') and holds('body.Resources[*].id not contains "2"')
    assert holds("body.totalResults exists") and holds("body.missing not exists")
    assert subset_mismatch({"Resources": [{"id": "1"}]}, BODY) is None
    assert "expected" in (subset_mismatch({"totalResults": 2}, BODY) or "")


# -- expect.checks: the shared response assertions -------------------------------------------------


def test_unknown_response_assertion_fails_at_load(write) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace("      status: 200", "      status: 200\n      checks: [list-response, scim-eror-body]")
    err = _error(write(text))
    assert (err.file, err.line, err.step, err.field) == ("scenarios/s.yaml", 13, (0, "list users"), "expect.checks[1]")
    assert "unknown response assertion 'scim-eror-body'" in str(err) and "scim-error-body" in str(err)
    assert str(err).startswith("scenarios/s.yaml:13: step 1 (list users), field expect.checks[1]: ")


def test_catalogue_check_id_is_not_a_response_assertion(write) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace("      status: 200", "      status: 200\n      checks: [rfc7644-3.12-error-404-unknown-id]")
    err = _error(write(text))
    assert err.field == "expect.checks[0]" and "catalogue check ids run in the suites" in str(err)


def test_known_response_assertions_load(write) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace("      status: 200", "      status: 200\n      checks: [list-response, content-type-scim]")
    assert load_scenario(write(text)).steps[0].expect.checks == ("list-response", "content-type-scim")


def test_id_is_scenarios_relative_wherever_the_files_are(tmp_path: Path) -> None:
    """An installed wheel holds the files in `scimitar/_scenarios/`; ids stay `scenarios/<idp>/<file>`."""
    packaged = tmp_path / "site-packages" / "scimitar" / "_scenarios"
    (packaged / "okta").mkdir(parents=True)
    repo = Path(__file__).resolve().parents[1] / "scenarios"
    (packaged / "scenario.schema.json").write_text((repo / "scenario.schema.json").read_text())
    (packaged / "okta" / "deactivate.yaml").write_text((repo / "okta" / "deactivate.yaml").read_text())
    assert load_scenario(packaged / "okta" / "deactivate.yaml").id == "scenarios/okta/deactivate.yaml"
    assert load_scenario(repo / "okta" / "deactivate.yaml").id == "scenarios/okta/deactivate.yaml"


OKTA = GOOD.replace("idp: generic", "idp: okta")


def test_okta_idp_expectation_needs_a_source(write) -> None:  # type: ignore[no-untyped-def]
    err = _error(write(OKTA))
    assert err.file == "scenarios/s.yaml" and err.step == (0, "list users") and err.field == "expect.source"
    assert err.line == 11
    ok = load_scenario(write(OKTA.replace("idp: okta", "idp: okta\nsource: https://example.com/okta-doc")))
    assert ok.steps[0].source == "https://example.com/okta-doc"
    assert ok.steps[0].counts == {"idp": 1, "rfc": 0}


def test_rfc_expectation_must_name_an_existing_check(write) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace("      status: 200", "      status: 200\n      rfc:\n        - {check: rfc9999-no-such, checks: [content-type-scim]}")
    err = _error(write(text))
    assert err.field == "expect.rfc[0].check" and "rfc9999-no-such" in str(err) and err.line == 14
    good = load_scenario(write(text.replace("rfc9999-no-such", "rfc7644-3.8-response-scim-json")))
    assert good.steps[0].rfc[0].check == "rfc7644-3.8-response-scim-json"
    assert good.steps[0].counts == {"idp": 1, "rfc": 1}
    empty = _error(write(text.replace("rfc9999-no-such", "rfc7644-3.8-response-scim-json").replace(", checks: [content-type-scim]", "")))
    assert "at least one" in str(empty) and empty.field == "expect.rfc[0]"


def test_loose_equality_operator() -> None:
    assertion = parse_assertion("body.status ~= 401")
    assert assertion.check("401", 401) is None
    assert assertion.check(401, 401) is None
    assert assertion.check("404", 401) is not None
    assert parse_assertion("body.active ~= true").check("true", True) is None
    assert parse_assertion("body.x ~= 1").check(MISSING, 1) is not None


def test_second_credential_rules(write) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace("steps:", "requires: {second_credential: true}\nsteps:")
    assert "admin: true" in str(_error(write(text)))
    revoke = GOOD.replace("idp: generic", "idp: generic\nrequires: {admin: true}").replace(
        "steps:\n", "steps:\n  - name: revoke\n    admin: {action: revoke-credential, credential: second}\n")
    assert "second_credential" in str(_error(write(revoke)))
