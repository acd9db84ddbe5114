"""Honesty test of the scenario files: each passes against the strict reference server (in its
required profile) and fails against every quirk it declares in `broken_by`.

A scenario that passes against a broken server proves nothing, so each file must name at least
one quirk that breaks what it exercises, and this test holds it to that.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scimitar.exchange import Recorder
from scimitar.quirks import Quirk
from scimitar.run import Run
from scimitar.scenario.engine import Environment, ScenarioResult, run_scenario
from scimitar.scenario.format import Scenario
from scimitar.scenario.loader import discover, load_scenario
from scimitar.target import Target, TargetOptions

ROOT = Path(__file__).resolve().parents[1] / "scenarios"
FILES = discover(ROOT)
SCENARIOS = {f.relative_to(ROOT.parent).as_posix(): load_scenario(f) for f in FILES}
CASES = [(sid, None) for sid in SCENARIOS] + [
    (sid, quirk) for sid, sc in SCENARIOS.items() for quirk in sc.broken_by
]
TOLERATED = [(sid, quirk) for sid, sc in SCENARIOS.items() for quirk in sc.tolerates]


@pytest.fixture(scope="module")
def run() -> Run:
    return Run(run_id="honesty")


def _run(scenario: Scenario, run: Run, quirk: str | None) -> ScenarioResult:
    quirks = frozenset({Quirk(quirk)}) if quirk else frozenset()
    target = Target(TargetOptions(profile=scenario.requires.profile or "rfc", quirks=quirks))
    try:
        result = run_scenario(scenario, Environment(target=target, run=run))
        run.ledger.cleanup(target.client(target.masker(), Recorder()))
        return result
    finally:
        target.close()


def test_every_idp_has_scenarios() -> None:
    idps = {sc.idp for sc in SCENARIOS.values()}
    assert {"okta", "entra"} <= idps
    assert any(sc.requires.profile == "clickhouse" for sc in SCENARIOS.values())
    assert len(SCENARIOS) >= 20


@pytest.mark.parametrize("sid", sorted(SCENARIOS))
def test_scenario_declares_a_breaking_quirk(sid: str) -> None:
    assert SCENARIOS[sid].broken_by, f"{sid} must name at least one quirk in broken_by"


@pytest.mark.parametrize(("sid", "quirk"), CASES, ids=[f"{s}-{q or 'strict'}" for s, q in CASES])
def test_scenario_honesty(sid: str, quirk: str | None, run: Run) -> None:
    result = _run(SCENARIOS[sid], run, quirk)
    if quirk is None:
        assert result.outcome == "passed", result.render()
        assert not result.warnings, result.render()
    else:
        assert result.outcome == "failed", f"{sid} did not fail with quirk {quirk}:\n{result.render()}"


@pytest.mark.parametrize(("sid", "quirk"), TOLERATED, ids=[f"{s}-{q}" for s, q in TOLERATED])
def test_tolerated_quirks_only_warn(sid: str, quirk: str, run: Run) -> None:
    """Under a quirk the IdP tolerates the flow still succeeds: only rfc expectations fire, each a
    warning naming an existing catalogue check."""
    result = _run(SCENARIOS[sid], run, quirk)
    assert result.outcome == "warning", f"{sid} under {quirk}:\n{result.render()}"
    assert result.warnings
    from scimitar.checks.registry import load_catalogue

    ids = {c.id for c in load_catalogue()}
    for step in result.warnings:
        assert step.warnings and all(w["check"] in ids for w in step.warnings), step


def test_every_idp_expectation_has_a_public_source() -> None:
    for sid, sc in SCENARIOS.items():
        for step in sc.steps:
            if step.counts["idp"]:
                assert step.source and step.source.startswith("https://"), f"{sid} {step.label}"
        text = sc.file.read_text(encoding="utf-8")
        assert "shared/" not in text and ("/" + "work/") not in text, sid


def test_unique_identifiers_per_scenario() -> None:
    """No literal externalId or userName shared between scenarios: a server enforcing uniqueness would
    answer the second one 409 (issue: the hard-coded 00ujl29u0le5T6Aj10h7)."""
    import re

    seen: dict[str, str] = {}
    for sid, sc in SCENARIOS.items():
        text = sc.file.read_text(encoding="utf-8")
        for literal in re.findall(r"externalId: ([^\s{\"][^\s,}]*)", text):
            assert literal not in seen, f"{sid} and {seen[literal]} share externalId {literal}"
            seen[literal] = sid
        assert "00ujl29u0le5T6Aj10h7" not in text, sid


def test_names_are_unique_across_scenarios() -> None:
    """Every userName/displayName a scenario creates is its own: scenarios share one run (and one
    target) in `scimitar test`, so two that create the same name would make the second answer 409."""
    import re

    seen: dict[str, str] = {}
    for sid, sc in SCENARIOS.items():
        for name, value in sc.variables.items():
            if not isinstance(value, str) or "run.prefix" not in value:
                continue
            key = re.sub(r"\{\{ fake\.\w+ \}\}", "*", value).lower()
            other = seen.setdefault(key, sid)
            assert other == sid, f"{sid} (var {name}) and {other} create the same name {value}"


def test_results_entry_shape(run: Run) -> None:
    sid = "scenarios/okta/deactivate.yaml"
    entry = _run(SCENARIOS[sid], run, None).to_json()
    assert entry["id"] == sid
    assert entry["idp"] == "okta"
    assert entry["outcome"] == "passed"
    keys = {"name", "outcome", "message", "expectations", "source", "warnings"}
    assert all(set(step) == keys for step in entry["steps"])
    assert entry["steps"][2]["expectations"]["idp"] >= 1
    assert entry["steps"][2]["source"].startswith("https://")


def test_created_resources_go_to_the_ledger_with_the_prefix() -> None:
    run = Run(run_id="ledger1")
    target = Target(TargetOptions())
    try:
        result = run_scenario(SCENARIOS["scenarios/okta/create.yaml"], Environment(target=target, run=run))
        assert result.outcome == "passed"
        # Recorded in the run's ledger, then deleted when the scenario ended and verified gone.
        assert len(run.ledger) == 0
        gone = run.ledger.gone  # the colleague already in the app, and the user Okta created
        assert len(gone) == 2 and all(path.startswith("/Users/") for path in gone)
        client = target.client(target.masker(), Recorder())
        assert all(client.get(path).status == 404 for path in gone)
        body = next(step for step in result.steps if step.name == "create the user").exchanges[0].request_body
        assert run.prefix in body
    finally:
        target.close()


def test_remote_target_skips_observer_and_profile_scenarios(run: Run) -> None:
    target = Target(TargetOptions(url="https://scim.invalid/scim/v2", token="t0ken-value"))
    try:
        env = Environment(target=target, run=run)
        plan = run_scenario(SCENARIOS["scenarios/clickhouse/test-plan.yaml"], env)
        assert plan.outcome == "skipped" and "clickhouse" in plan.reason
        env.declared_profile = "clickhouse"
        plan = run_scenario(SCENARIOS["scenarios/clickhouse/test-plan.yaml"], env)
        assert plan.outcome == "skipped" and "observer" in plan.reason
        rotation = run_scenario(SCENARIOS["scenarios/okta/token-rotation.yaml"], env)
        assert rotation.outcome == "skipped" and "console" in rotation.reason
        env.observer_factory = lambda _target: _FakeConsole()
        rotation = run_scenario(SCENARIOS["scenarios/okta/token-rotation.yaml"], env)
        assert rotation.outcome == "skipped" and "second credential" in rotation.reason, rotation.reason
        assert "SCIMITAR_SECOND_TOKEN" in rotation.reason
    finally:
        target.close()


class _FakeConsole:
    """A console that must never be called: the scenario is skipped before any step."""

    def admin(self, action: str, params: object) -> tuple[int, object]:
        raise AssertionError(f"console called: {action}")

    def member(self, user_name: str) -> None:
        raise AssertionError("observer called")

    def can_sign_in(self, user_name: str) -> bool:
        raise AssertionError("observer called")

    def roles(self) -> dict[str, object]:
        raise AssertionError("observer called")


def test_whole_set_is_fast(run: Run) -> None:
    """The whole scenario set against strict servers runs in a few seconds in-process."""
    started = time.perf_counter()
    for scenario in SCENARIOS.values():
        assert _run(scenario, run, None).outcome == "passed"
    elapsed = time.perf_counter() - started
    print(f"\n{len(SCENARIOS)} scenarios in {elapsed:.2f} s")
    assert elapsed < 10


def test_spec_test_passes_where_okta_passes_and_fails_where_it_fails(run: Run) -> None:
    """Okta's own Spec Test passes with a numeric Error status, application/json responses and a
    case-sensitive userName lookup, and fails on a 404 for an empty filter and on create answering
    200 (measured: tests/test_idp_requests.py transcribes the collection). The scenario agrees."""
    sid = "scenarios/okta/spec-test.yaml"
    spec = SCENARIOS[sid]
    tolerated = {"error-status-number", "content-type-json", "username-case-sensitive"}
    assert tolerated <= set(spec.tolerates)
    assert {"filter-empty-404", "create-200"} <= set(spec.broken_by)
    for quirk in sorted(tolerated):
        result = _run(spec, run, quirk)
        assert result.outcome == "warning", result.render()
        assert all(s.outcome in ("passed", "warning") for s in result.steps), result.render()
    for quirk in ("filter-empty-404", "create-200"):
        assert _run(spec, run, quirk).outcome == "failed"
