"""Each check deletes what it created when it ends; the run's cleanup reports what it could not do.

* isolation (issue 9.3): whatever a check's ending (pass, MUST failure, error, skip), the Users and
  Groups it created are gone before the next check runs, so no check sees another's leftovers;
* a cleanup that meets 401 (a revoked credential) or a soft-deleting server is reported on the
  terminal, in results.json's `cleanup` section and in the HTML report, never swallowed, and a run
  whose cleanup failed exits 1 with the `scimitar cleanup --run-id` line that finishes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from scimitar.checks.context import CheckContext, Discovery
from scimitar.checks.registry import Check, Level, Registry, check
from scimitar.exchange import Recorder
from scimitar.options import RunOptions
from scimitar.pytest_plugin import (
    _SESSION,
    ReportOptions,
    ScimSession,
    pytest_sessionfinish,
    pytest_terminal_summary,
)
from scimitar.quirks import Quirk
from scimitar.results import Outcome
from scimitar.run import Run
from scimitar.server.app import create_app
from scimitar.server.config import ServerConfig
from scimitar.target import Target, TargetOptions
from scimitar.transport import InProcessTransport

TOKEN = "isolation-test-token-4711"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def started(target: Target, run_id: str) -> ScimSession:
    session = ScimSession(target, Run(run_id=run_id), RunOptions())
    target.probe(session.masker, session.recorder)
    session.discovery = Discovery.fetch(session.client)
    return session


def make(name: str, func: Callable[[CheckContext], None]) -> Check:
    func.__doc__ = "RFC 7644 §3.3: a sentence."
    registry = Registry()
    check(f"rfc7644-test-{name}", title=name, section="RFC 7644 §3.3", level=Level.MUST, tags=("crud",),
          registry=registry)(func)
    return next(iter(registry))


def count_named(ctx: CheckContext) -> tuple[int, int]:
    prefix = ctx.run.prefix
    users = ctx.client.get("/Users", params={"filter": f'userName sw "{prefix}"'}).json()
    groups = ctx.client.get("/Groups", params={"filter": f'displayName sw "{prefix}"'}).json()
    return int(users["totalResults"]), int(groups["totalResults"])


ENDINGS = {"passes": Outcome.PASSED, "fails": Outcome.FAILED, "errors": Outcome.ERROR, "skips": Outcome.SKIPPED}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_what_a_check_created_is_gone_before_the_next_check(ending: str) -> None:
    session = started(Target(TargetOptions()), "iso1")
    created: list[str] = []

    def creator(ctx: CheckContext) -> None:
        # A plain POST: only the client's create hook records it (as for a "refused" create).
        response = ctx.client.post("/Users", json=ctx.data.user())
        created.append(f"/Users/{response.json()['id']}")
        created.append(f"/Groups/{ctx.create_group()['id']}")
        ctx.expect(response.status == 201, "the plain POST created the User")  # exercised, not vacuous
        if ending == "fails":
            ctx.fail("a MUST failure after the creates")
        if ending == "errors":
            raise RuntimeError("the check broke after the creates")
        if ending == "skips":
            ctx.skip("skipped after the creates")

    def observer(ctx: CheckContext) -> None:
        seen = count_named(ctx)
        ctx.expect(seen == (0, 0), "an earlier check's resources are still there", expected=(0, 0), actual=seen)

    first = session.run_check(make("creator", creator))
    second = session.run_check(make("observer", observer))
    assert first.outcome is ENDINGS[ending], first.message
    assert second.outcome is Outcome.PASSED, second.message
    assert len(session.run.ledger) == 0
    assert sorted(session.run.ledger.gone) == sorted(created)
    assert all(exchange.method != "DELETE" for exchange in first.exchanges), "cleanup is not the check's evidence"
    session.finish()
    report = session.cleanup_report
    assert report is not None and report.complete
    assert sorted(report.deleted) == sorted(created), "the run's report counts what the checks deleted"


def test_a_check_that_deletes_its_own_resource_is_not_reported_twice() -> None:
    session = started(Target(TargetOptions()), "iso2")

    def deleter(ctx: CheckContext) -> None:
        user = ctx.create_user()
        ctx.expect_status(ctx.client.delete(f"/Users/{user['id']}"), 204)

    assert session.run_check(make("deleter", deleter)).outcome is Outcome.PASSED
    session.finish()
    assert session.cleanup_report is not None and len(session.cleanup_report.deleted) == 1


# -- cleanup problems are reported --------------------------------------------------------------------


class Gate:
    """The reference server behind a gate that can answer 401 to chosen methods (a revoked token)."""

    def __init__(self, quirks: frozenset[Quirk] = frozenset()) -> None:
        self.app = create_app(ServerConfig(tokens=[TOKEN], quirks=quirks))
        self.refused: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.refused:
            body = {"schemas": [ERROR], "status": "401", "detail": "the credential was revoked"}
            await JSONResponse(body, status_code=401, media_type="application/scim+json")(scope, receive, send)
            return
        await self.app(scope, receive, send)


def remote_session(gate: Gate, run_id: str, reports: Path) -> ScimSession:
    """A session on a remote-looking target (so the `scimitar cleanup` line is printed) whose
    requests go in-process to `gate` (a test seam: the target's httpx client is replaced)."""
    target = Target(TargetOptions(url="http://127.0.0.1:8880/scim/v2", token=TOKEN))
    target._http = httpx.Client(transport=InProcessTransport(gate))
    session = started(target, run_id)
    session.report = ReportOptions(reports_dir=str(reports))
    return session


def finish_like_pytest(session: ScimSession, exitstatus: int = 0) -> tuple[int, list[str]]:
    """Run the plugin's session-finish and terminal-summary hooks; the exit status and the lines."""
    stash = pytest.Stash()
    stash[_SESSION] = session
    config: Any = SimpleNamespace(stash=stash)
    fake: Any = SimpleNamespace(config=config, exitstatus=pytest.ExitCode(exitstatus))
    pytest_sessionfinish(fake, exitstatus)
    lines: list[str] = []
    reporter = SimpleNamespace(
        write_line=lambda line, **_: lines.append(line), section=lambda *a, **k: None
    )
    pytest_terminal_summary(reporter, int(fake.exitstatus), config)
    return int(fake.exitstatus), lines


def creates_a_user(ctx: CheckContext) -> None:
    ctx.create_user()


def test_a_401_during_cleanup_is_reported_and_fails_the_run(tmp_path: Path) -> None:
    """Issue 10.5: a check revoked the run's credential; cleanup got 401, left resources, exited 0."""
    gate = Gate()
    session = remote_session(gate, "deny1", tmp_path)
    created: list[str] = []

    def revokes(ctx: CheckContext) -> None:
        created.append(f"/Users/{ctx.create_user()['id']}")
        gate.refused = {"DELETE", "GET"}  # from now on the credential is refused
        ctx.expect(True, "exercised")  # a passing check, so the run would otherwise be green

    assert session.run_check(make("revokes", revokes)).outcome is Outcome.PASSED
    assert session.run.ledger.paths == created, "what the check could not delete waits for the run's cleanup"
    status, lines = finish_like_pytest(session)

    assert status == int(pytest.ExitCode.TESTS_FAILED), "a failed cleanup never exits 0"
    report = session.cleanup_report
    assert report is not None and not report.complete and not report.deleted
    assert (created[0], "DELETE answered 401") in report.failed
    assert any(path == "*" and "401" in why for path, why in report.failed), "the sweep's 401 is reported"
    text = "\n".join(lines)
    assert f"could not delete {created[0]}: DELETE answered 401" in text
    assert "finish with: scimitar cleanup --target-url http://127.0.0.1:8880/scim/v2 --run-id deny1" in text
    assert TOKEN not in text

    results = json.loads((tmp_path / "deny1" / "results.json").read_text(encoding="utf-8"))
    section = results["cleanup"]
    assert section["complete"] is False and section["deleted"] == 0
    assert {"path": created[0], "reason": "DELETE answered 401"} in section["failed"]
    assert section["finish_with"].endswith("--run-id deny1")
    html = (tmp_path / "deny1" / "report.html").read_text(encoding="utf-8")
    assert 'id="cleanup"' in html and "DELETE answered 401" in html and "--run-id deny1" in html


def test_a_complete_cleanup_keeps_the_exit_code(tmp_path: Path) -> None:
    session = remote_session(Gate(), "fine1", tmp_path)
    session.run_check(make("creates", creates_a_user))
    status, lines = finish_like_pytest(session)
    assert status == 0
    assert any("deleted 1 resource(s), 0 still present after DELETE, 0 could not be deleted" in line for line in lines)
    section = json.loads((tmp_path / "fine1" / "results.json").read_text(encoding="utf-8"))["cleanup"]
    assert section["complete"] is True and "finish_with" not in section


def test_soft_deleted_leftovers_are_counted_and_reported(tmp_path: Path) -> None:
    """Issue 9.5: the run printed "deleted 547" and left 259 users on a server whose DELETE deactivates."""
    session = remote_session(Gate(frozenset({Quirk.SOFT_DELETE})), "soft1", tmp_path)

    def creates_two(ctx: CheckContext) -> None:
        ctx.create_user()
        ctx.create_group()

    session.run_check(make("creates", creates_two))
    status, lines = finish_like_pytest(session)
    report = session.cleanup_report
    assert report is not None
    assert len(report.deleted) == 1 and report.deleted[0].startswith("/Groups/")
    assert len(report.still_present) == 1 and "active=false" in report.still_present[0][1]
    assert status == 0, "a soft delete is judged by the RFC 7644 §3.6 checks, not by the exit code"
    text = "\n".join(lines)
    assert "deleted 1 resource(s), 1 still present after DELETE, 0 could not be deleted" in text
    assert "still present after a successful DELETE" in text
    section = json.loads((tmp_path / "soft1" / "results.json").read_text(encoding="utf-8"))["cleanup"]
    assert section["deleted"] == 1 and len(section["still_present"]) == 1 and section["failed"] == []
    assert "active=false" in section["still_present"][0]["detail"]
    assert "Still present" in (tmp_path / "soft1" / "report.html").read_text(encoding="utf-8")


def test_replay_reports_an_incomplete_cleanup_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`scimitar replay` printed cleanup failures but still exited 0."""
    import argparse

    from scimitar.run import CleanupReport
    from scimitar.scenario import cli as replay

    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "okta" / "create.yaml"
    if not scenario.is_file():
        pytest.skip("needs the repository's scenarios/")
    failing = CleanupReport(
        deleted=["/Users/a"],
        still_present=[("/Users/b", "still readable after DELETE, with active=false (deactivated, not deleted)")],
        failed=[("/Users/c", "DELETE answered 401")],
    )
    monkeypatch.setattr(Run, "cleanup", lambda self, client, **_: failing)
    parser = argparse.ArgumentParser()
    replay.add_arguments(parser)
    code = replay.run(parser.parse_args([str(scenario), "--reports-dir", str(tmp_path), "--run-id", "rep1"]))
    err = capsys.readouterr().err
    assert code == 1
    assert "cleanup could not delete /Users/c: DELETE answered 401" in err
    assert "/Users/b is still present: still readable after DELETE, with active=false" in err
    section = json.loads((tmp_path / "rep1" / "results.json").read_text(encoding="utf-8"))["cleanup"]
    assert section["failed"] == [{"path": "/Users/c", "reason": "DELETE answered 401"}]
    assert section["deleted"] == 1 and section["complete"] is False


def test_a_location_outside_the_base_path_cannot_pass_for_deleted() -> None:
    """A Bulk response's `location` without the base path (`http://host/Users/<id>`, quirk
    `location-no-base-path`) is recorded as `/Users/<id>` under the SCIM base: the cleanup's DELETE
    and its re-read go to the resource, not to a URL that answers 404 for everything (which was
    reported as "deleted" and then "still listed", leaving the Users on the target)."""
    from scimitar.checks.registry import all_checks, load_catalogue

    load_catalogue()
    target = Target(TargetOptions(quirks=frozenset({Quirk.LOCATION_NO_BASE_PATH})))
    session = started(target, "iso3")
    for found in all_checks():
        if found.suite == "bulk":
            session.run_check(found)
    assert session.run.ledger.gone, "the bulk checks created and deleted resources"
    assert all(path.startswith(("/Users/", "/Groups/")) for path in session.run.ledger.gone)
    report = session.run.cleanup(session.client.with_recorder(Recorder()), settle_s=0)
    assert report.complete and not report.still_present, report.to_json()
    assert count_named(session.context()) == (0, 0)
    session.finish()
