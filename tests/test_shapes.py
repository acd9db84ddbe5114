"""Server shapes (`scimitar serve --shape/--schemas`) and the schema-aware data factory.

The shapes prove the harness's claim that its data follows what a target declares: the reference
server declares and enforces a narrower schema, and the whole catalogue must still give no false
failure (tests/test_honesty.py runs every check in every shape)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from scimitar.factory import DataFactory
from scimitar.schema import CORE_USER, ENTERPRISE_USER
from scimitar.server.cli import add_arguments, build_config
from scimitar.shapes import ShapeError, load_shape_file, named_shape, shape_from_json
from tests.server_client import make_client

H = {"Content-Type": "application/scim+json"}


def client(shape: str) -> httpx.Client:
    return make_client(shape=named_shape(shape))


def user(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [CORE_USER],
        "userName": "ann@example.com",
        "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
        "emails": [{"value": "ann@example.com"}],
    }
    body.update(extra)
    return body


def test_minimal_serves_its_schemas_and_no_extension() -> None:
    c = client("minimal")
    schemas = c.get("/Schemas", headers=H).json()["Resources"]
    ids = {s["id"] for s in schemas}
    assert CORE_USER in ids and ENTERPRISE_USER not in ids
    user_schema = next(s for s in schemas if s["id"] == CORE_USER)
    emails = next(a for a in user_schema["attributes"] if a["name"] == "emails")
    assert [s["name"] for s in emails["subAttributes"]] == ["value"]
    rts = c.get("/ResourceTypes", headers=H).json()["Resources"]
    assert next(r for r in rts if r["name"] == "User")["schemaExtensions"] == []


def test_minimal_enforces_what_it_declares() -> None:
    c = client("minimal")
    assert c.post("/Users", headers=H, json=user()).status_code == 201
    # an undeclared sub-attribute: refused (RFC 7644 §3.3: the body does not conform to the schema)
    typed = c.post("/Users", headers=H, json=user(userName="b@example.com",
                                                          emails=[{"value": "b@example.com", "type": "work"}]))
    assert typed.status_code == 400 and typed.json()["scimType"] == "invalidSyntax"
    undeclared = c.post("/Users", headers=H, json=user(userName="c@example.com", displayName="C"))
    assert undeclared.status_code == 400
    # a required sub-attribute missing: refused
    no_formatted = c.post(
        "/Users", headers=H, json=user(userName="d@example.com", name={"givenName": "D"})
    )
    assert no_formatted.status_code == 400 and no_formatted.json()["scimType"] == "invalidValue"


def test_no_filter_sort_declares_and_behaves() -> None:
    c = client("no-filter-sort")
    spc = c.get("/ServiceProviderConfig", headers=H).json()
    assert spc["filter"]["supported"] is False and spc["sort"]["supported"] is False
    refused = c.get("/Users", headers=H, params={"filter": 'userName eq "x"'})
    assert refused.status_code == 400 and refused.json()["scimType"] == "invalidFilter"
    assert c.get("/Users", headers=H, params={"sortBy": "userName"}).status_code == 200


def test_rfc_shape_is_todays_server() -> None:
    spc = client("rfc").get("/ServiceProviderConfig", headers=H).json()
    assert spc["filter"]["supported"] is True and spc["sort"]["supported"] is True


def test_schemas_file_listresponse_and_cli(tmp_path: Path) -> None:
    minimal = json.loads((Path(__file__).parent.parent / "fixtures/shapes/minimal.json").read_text())
    listing = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "Resources": minimal["Schemas"]}
    path = tmp_path / "schemas.json"
    path.write_text(json.dumps(listing))
    shape = load_shape_file(path)
    assert shape.registry.schema(ENTERPRISE_USER) is None
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config, _ = build_config(parser.parse_args(["--schemas", str(path), "--token", "t"]), environ={})
    assert config.shape is not None and config.shape.name == "schemas"
    config, _ = build_config(parser.parse_args(["--shape", "clickhouse", "--token", "t"]), environ={})
    assert config.profile == "clickhouse"


def test_shape_without_group_is_refused() -> None:
    minimal = json.loads((Path(__file__).parent.parent / "fixtures/shapes/minimal.json").read_text())
    with pytest.raises(ShapeError):
        shape_from_json([s for s in minimal["Schemas"] if s["id"] == CORE_USER])


def _discovery(shape: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    c = client(shape)
    return (c.get("/Schemas", headers=H).json()["Resources"],
            c.get("/ResourceTypes", headers=H).json()["Resources"])


def test_factory_follows_the_target_schemas() -> None:
    factory = DataFactory("scimitar-t-", seed=1)
    assert factory.adopt(*_discovery("minimal")) == "target"
    body = factory.user(enterprise=True)
    assert set(body) <= {"schemas", "userName", "name", "emails", "active", "externalId"}
    assert body["schemas"] == [CORE_USER]
    assert body["emails"] == [{"value": body["userName"]}]
    assert body["name"]["formatted"]
    # queries: no top-level writable string but userName; name.givenName stands in
    assert factory.writable_string() is None
    found = factory.string_to_write()
    assert found is not None and found.path.startswith("name.")
    assert factory.multi_complex_with("type") is None
    assert factory.undeclared("User", {"nickName": "x"}) == "nickName"


def test_factory_rfc_fallback_and_clickhouse_profile() -> None:
    factory = DataFactory("scimitar-t-", seed=1)
    assert factory.adopt(None, None) == "rfc-fallback"
    assert factory.adopt(*_discovery("rfc"), profile="clickhouse") == "target"
    upper = factory.user(userName="SCIMITAR-T-ANN@EXAMPLE.COM")
    assert upper["emails"][0]["value"] == upper["userName"]
    # emails are tied to userName in that profile: checks get phoneNumbers instead
    typed = factory.multi_complex_with("type")
    assert typed is not None and typed.attribute.name != "emails"


def test_run_records_where_the_schemas_came_from() -> None:
    from scimitar.checks.context import Discovery
    from scimitar.options import RunOptions
    from scimitar.pytest_plugin import ScimSession
    from scimitar.run import Run
    from scimitar.target import Target, TargetOptions

    target = Target(TargetOptions(shape="minimal"))
    session = ScimSession(target, Run(seed=1), RunOptions(seed=1))
    try:
        target.probe(session.masker, session.recorder)
        session.discovery = Discovery.fetch(session.client)
        assert session.adopt_schemas() == "target"
        assert session.results.target["schema_source"] == "target"
        assert session.results.target["shape"] == "minimal"
        assert not session.run.data.declares("User", "displayName")
    finally:
        target.close()


def test_factory_falls_back_on_a_user_schema_without_username() -> None:
    factory = DataFactory("scimitar-t-", seed=1)
    empty_user = [{"id": CORE_USER, "attributes": []}]
    assert factory.adopt(empty_user, None) == "rfc-fallback"
    assert factory.declares("User", "displayName")


def test_factory_mutability_queries_on_the_rfc_schema() -> None:
    factory = DataFactory("scimitar-t-", seed=1)
    factory.adopt(*_discovery("rfc"))
    read_only = factory.read_only()
    assert read_only is not None and read_only.attribute.mutability == "readOnly"
    assert factory.read_only("Group") is None  # the RFC Group declares no readOnly attribute
    typed = factory.multi_complex_with("type")
    assert typed is not None and typed.path == "emails"


def test_scimitar_test_profile_clickhouse_exits_0(tmp_path: Path) -> None:
    """Issue 9.11: the bundled server in the clickhouse profile passes its own catalogue and
    scenarios (test users' userName is their primary email, lower case)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_")}  # the embedded server
    result = subprocess.run(
        [sys.executable, "-m", "scimitar.cli", "test", "-q", "--profile", "clickhouse",
         "--reports-dir", str(tmp_path), "--json", str(tmp_path / "results.json")],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent.parent, env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = json.loads((tmp_path / "results.json").read_text())["summary"]
    assert summary["failed"] == 0 and summary["warnings"] == 0 and summary["errors"] == 0, summary


def test_factory_knows_resource_types_by_their_core_schema() -> None:
    schemas, rts = _discovery("minimal")
    renamed = [{**rt, "name": rt["name"] + "s"} for rt in rts]  # "Users", "Groups"
    factory = DataFactory("scimitar-t-", seed=1)
    assert factory.adopt(schemas, renamed) == "target"
    assert factory.declares("User", "emails") and not factory.declares("User", "emails.type")


# -- scenarios in every shape: a flow fails only where the IdP would, and says why ---------------
#: What the failed step's message must start with in a shape that lacks something the IdPs need:
#: the shape's own declaration, named (scimitar/scenario/explain.py), never a bare status.
SHAPE_REASONS = {
    "minimal": ("which the target's /Schemas do not declare", "the target's /Schemas require"),
    "no-filter-sort": ("the target declares filter unsupported",),
}


def _scenarios_in(shape: str) -> list[Any]:
    """Every scenario against one embedded server in `shape`, as `scimitar test --shape` runs them."""
    from scimitar.run import Run
    from scimitar.scenario.engine import Environment, run_scenario
    from scimitar.scenario.loader import discover, load_scenario
    from scimitar.target import Target, TargetOptions

    root = Path(__file__).parent.parent / "scenarios"
    profile = "clickhouse" if shape == "clickhouse" else "rfc"
    target = Target(TargetOptions(profile=profile, shape=shape if shape in SHAPE_REASONS else None))
    run = Run(run_id="shapes" + shape.replace("-", "")[:8], seed=1)
    try:
        env = Environment(target=target, run=run)
        return [run_scenario(load_scenario(f), env) for f in discover(root)]
    finally:
        target.close()


@pytest.mark.parametrize("shape", ["rfc", "minimal", "no-filter-sort", "clickhouse"])
def test_scenarios_fail_only_where_the_shape_refuses_the_idp(shape: str) -> None:
    """rfc and clickhouse: every flow succeeds. minimal (emails.value only, name.formatted required)
    and no-filter-sort: a flow succeeds, or fails at the first step the server refused (4xx) with a
    message that opens with what the shape declares it lacks -- Okta's and Entra's real bodies carry
    emails[].type/primary and no name.formatted, and both IdPs look users up with `filter=userName eq`
    (sources in explain.py), so these are the IdPs' own failures, never the harness's."""
    results = _scenarios_in(shape)
    assert len(results) >= 20
    for result in results:
        if shape not in SHAPE_REASONS:
            assert result.outcome == "passed", result.render(transcripts=False)
            continue
        assert result.outcome in ("passed", "failed"), result.render(transcripts=False)
        if result.outcome == "passed":
            continue
        failed = [s for s in result.steps if s.outcome == "failed"]
        assert len(failed) == 1, result.render(transcripts=False)
        reason, _, status = failed[0].message.rpartition(": status ")
        assert status.startswith("4"), result.render(transcripts=False)  # refused by the server
        assert any(r in reason for r in SHAPE_REASONS[shape]), result.render(transcripts=False)
    if shape in SHAPE_REASONS:  # the shape does refuse some IdP flows: the test is not vacuous
        assert any(r.outcome == "failed" for r in results)


def test_refusal_reasons_state_only_what_the_target_declares() -> None:
    """The explanation is built from the target's own discovery: nothing on the RFC shape (it declares
    everything Okta sends), the exact gaps on the minimal one, and no filter reason where filtering is on."""
    from scimitar.checks.context import Discovery
    from scimitar.scenario import explain

    okta_body = {"schemas": [CORE_USER], "userName": "a@x.example", "name": {"givenName": "A", "familyName": "B"},
                 "emails": [{"primary": True, "value": "a@x.example", "type": "work"}], "displayName": "A B",
                 "active": True}
    rfc = Discovery(*[{"filter": {"supported": True}}, *_discovery("rfc")])
    assert explain.body_reason("Okta", "POST", "/Users", okta_body, rfc) is None
    assert explain.filter_reason("Okta", "/Users", {"filter": 'userName eq "a"'}, rfc) is None
    minimal = Discovery(None, *_discovery("minimal"))
    reason = explain.body_reason("Okta", "POST", "/Users", okta_body, minimal)
    assert reason == ("Okta's body carries emails.primary, emails.type, displayName, which the target's /Schemas "
                      "do not declare; the target's /Schemas require name.formatted, which Okta does not send")
    assert explain.body_reason("Okta", "GET", "/Users", okta_body, minimal) is None
    off = Discovery({"filter": {"supported": False}}, *_discovery("no-filter-sort"))
    assert explain.filter_reason("Entra ID", "/Groups", {"filter": 'displayName eq "x"'}, off) == (
        "the target declares filter unsupported (ServiceProviderConfig filter.supported: false), "
        "and Entra ID looks groups up with filter=displayName eq")
