"""The robustness checks (`scimitar/checks/robustness.py`, `scimitar/fuzz/`): bounded, seeded,
shrunk, harmless. The honesty test proves each passes strict and fails under its quirks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scimitar.checks.context import Discovery
from scimitar.checks.registry import CheckFailed, all_checks, get_check, load_catalogue
from scimitar.fuzz.explore import ENV_MAX_REQUESTS, Budget, explore
from scimitar.fuzz.strategies import Requests, declared_user_attributes
from scimitar.options import RunOptions
from scimitar.pytest_plugin import ScimSession
from scimitar.quirks import Quirk
from scimitar.results import Outcome
from scimitar.run import Run
from scimitar.target import Target, TargetOptions
from tests.test_cli import scimitar

load_catalogue()


def _session(quirks: frozenset[Quirk] = frozenset(), seed: int = 5, **options: object) -> ScimSession:
    target = Target(TargetOptions(quirks=quirks, **options))  # type: ignore[arg-type]
    session = ScimSession(target, Run(seed=seed), RunOptions(seed=seed))
    target.probe(session.masker, session.recorder)
    session.discovery = Discovery.fetch(session.client)
    return session


def _requests(session: ScimSession, ctx_own: str) -> Requests:
    return Requests(session.run.data.prefix, ctx_own, declared_user_attributes(session.discovery.schemas))


def test_budget_bounds_the_requests_sent() -> None:
    session = _session()
    ctx = session.context()
    user = ctx.create_user()
    sent = explore(
        ctx,
        _requests(session, f"/Users/{user['id']}").any_request(),
        lambda request, response: None,
        what="nothing",
        budget=Budget(max_requests=7, max_seconds=30, max_examples=40),
    )
    assert sent == 7
    assert len(ctx.recorder.exchanges) == 1 + 7  # the setup POST and the budget, nothing more
    session.finish()


def test_budget_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_MAX_REQUESTS, "12")
    assert Budget.from_env().max_requests == 12
    monkeypatch.setenv(ENV_MAX_REQUESTS, "0")
    with pytest.raises(ValueError):
        Budget.from_env()


def test_same_seed_sends_the_same_requests() -> None:
    def sent(seed: int) -> list[tuple[str, str, str]]:
        session = _session(seed=seed)
        result = session.run_check(get_check("rfc7644-3.12-fuzz-no-5xx"))
        assert result.outcome is Outcome.PASSED, result.message
        session.finish()
        return [(e.method, e.url.split("/Users", 1)[-1], e.request_body or "") for e in result.exchanges]

    first = sent(11)
    assert len(first) > 20
    # ids differ per server; the shapes (method, query, body) of the generated requests do not
    strip = [(m, u if u.startswith("?") else "", b[:40]) for m, u, b in first]
    again = [(m, u if u.startswith("?") else "", b[:40]) for m, u, b in sent(11)]
    assert strip == again


def test_failure_reports_smallest_request_curl_and_seed() -> None:
    session = _session(frozenset({Quirk.BAD_JSON_500}), seed=9)
    result = session.run_check(get_check("rfc7644-3.12-fuzz-no-5xx"))
    session.finish()
    assert result.outcome is Outcome.WARNING  # a SHOULD
    assert "invalid JSON" in result.message
    assert "curl -sS" in result.message and "--seed 9" in result.message
    assert result.evidence and result.evidence[0].status == 500


def test_a_hang_past_the_read_deadline_is_a_finding() -> None:
    """`--quirk slow` answers after 200 ms; once the read deadline is 50 ms, no answer is in time."""
    session = _session(frozenset({Quirk.SLOW}))
    ctx = session.context()
    user = ctx.create_user()  # before the deadline shrinks
    session.target.limits.read_deadline = 0.05
    with pytest.raises(CheckFailed) as failed:
        explore(
            ctx,
            _requests(session, f"/Users/{user['id']}").any_request(),
            lambda request, response: None,
            what="a malformed request got no answer",
            budget=Budget(max_requests=3, max_seconds=10, max_examples=10),
        )
    session.target.limits.read_deadline = None
    session.finish()
    assert "no usable answer" in failed.value.message and "read deadline" in failed.value.message
    assert "curl -sS" in failed.value.message


def test_only_run_prefixed_resources_are_created_and_all_are_cleaned() -> None:
    session = _session()
    prefix = session.run.data.prefix.lower()
    created: list[str] = []
    for c in all_checks("robustness"):
        result = session.run_check(c)
        assert result.outcome is Outcome.PASSED
        for e in result.exchanges:
            if e.method == "POST" and e.url.endswith("/Users") and 200 <= e.status < 300:
                created.append(str(json.loads(e.request_body)["userName"]))
    assert created and all(name.lower().startswith(prefix) for name in created), created
    # each check deleted what it created when it ended (verified); nothing is left for the run
    assert session.client.get("/Users").json()["totalResults"] == 0
    report = session.run.cleanup(session.client)
    assert not report.failed
    session.finish()


def test_fuzz_command_runs_the_robustness_checks_within_budget(tmp_path: Path) -> None:
    """`scimitar fuzz` = the robustness checks, --max-requests per check, a finding with its curl line."""
    strict = scimitar("fuzz", "--max-requests", "5", "--reports-dir", str(tmp_path / "a"), "--json", str(tmp_path / "a.json"))
    assert strict.returncode == 0, strict.stdout + strict.stderr
    results = json.loads((tmp_path / "a.json").read_text())
    checks = results["checks"]
    assert {c["id"] for c in checks} == {c.id for c in all_checks("robustness")}
    for c in checks:  # the setup POST, at most 5 generated requests, and re-reads of the own User
        generated = [e for e in c["exchanges"] if e["method"] != "GET"]
        assert len(generated) <= 1 + 5, c["id"]
    quirky = scimitar("fuzz", "--max-requests", "5", "--quirk", "bad-json-500", "--reports-dir", str(tmp_path / "b"))
    assert quirky.returncode == 0  # a SHOULD: a warning, not a failure
    assert "rfc7644-3.12-fuzz-no-5xx" in quirky.stdout and "curl -sS" in quirky.stdout
    assert scimitar("fuzz", "--max-requests", "0").returncode == 2


def test_a_run_leaves_no_hypothesis_folder_where_it_was_started(tmp_path: Path) -> None:
    """hypothesis caches under `.hypothesis/` in the working directory by default; scimitar keeps
    that in the user's cache, so running it in a folder leaves nothing there but its reports."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIM_", "HYPOTHESIS_"))}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    done = subprocess.run(
        [sys.executable, "-m", "scimitar.cli", "fuzz", "--max-requests", "4", "--reports-dir", str(tmp_path / "r")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert not (tmp_path / ".hypothesis").exists()
    assert (tmp_path / "cache" / "scimitar" / "hypothesis").is_dir()


def test_no_hypothesis_gc_callback_is_left_to_swallow_a_ctrl_c() -> None:
    """A KeyboardInterrupt raised while a gc callback runs is only printed ("Exception ignored"),
    so the callback hypothesis keeps in `gc.callbacks` could eat the Ctrl-C meant to stop the cleanup."""
    import gc

    target = Target(TargetOptions())
    session = ScimSession(target, Run(seed=2), RunOptions(seed=2))
    target.probe(session.masker, session.recorder)
    session.discovery = Discovery.fetch(session.client)
    try:
        assert session.run_check(get_check("rfc7644-3.12-fuzz-no-5xx")).outcome is Outcome.PASSED
        assert not [cb for cb in gc.callbacks if getattr(cb, "__module__", "").startswith("hypothesis")]
    finally:
        session.finish()
