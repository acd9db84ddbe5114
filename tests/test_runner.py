"""RFC 2119 outcomes, results in JSON and JUnit, exit codes, and the pytest plugin end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scimitar.checks.context import CheckContext, Discovery
from scimitar.checks.registry import Check, CheckFailed, Level, Registry, check
from scimitar.checks.runner import run_check
from scimitar.exchange import Masker, Recorder
from scimitar.results import Outcome, Results
from scimitar.run import Run
from scimitar.target import ScimClient
from scimitar.transport import InProcessTransport

REPO = Path(__file__).resolve().parent.parent
SECRET = "runner-secret-token-789"


async def users(request: Request) -> Response:
    return JSONResponse({"detail": f"token {SECRET} is fine"}, status_code=200)


def context(discovery: Discovery | None = None) -> CheckContext:
    app = Starlette(routes=[Route("/scim/v2/Users", users)])
    http = httpx.Client(transport=InProcessTransport(app, lifespan=False))
    recorder = Recorder()
    client = ScimClient(
        http,
        base_url="http://127.0.0.1/scim/v2",
        authorization=f"Bearer {SECRET}",
        masker=Masker([SECRET]),
        recorder=recorder,
    )
    return CheckContext(
        client=client, run=Run(seed=0, run_id="t1"), discovery=discovery or Discovery(), recorder=recorder
    )


def make(level: Level, body: Any, needs: tuple[str, ...] = ()) -> Check:
    def func(ctx: CheckContext) -> None:
        body(ctx)

    func.__doc__ = "RFC 7644 §3.4.2: a sentence."
    registry = Registry()
    check(
        f"rfc7644-test-{level.value.lower()}",
        title="t",
        section="RFC 7644 §3.4.2",
        level=level,
        tags=("crud",),
        needs=needs,
        registry=registry,
    )(func)
    return next(iter(registry))


def failing(ctx: CheckContext) -> None:
    response = ctx.client.get("/Users")
    ctx.expect(
        response.status == 404, "expected not found", expected=404, actual=response.status, response=response
    )


def succeeding(ctx: CheckContext) -> None:
    ctx.expect_status(ctx.client.get("/Users"), 200)


def test_must_should_may_outcomes() -> None:
    must = run_check(make(Level.MUST, failing), context())
    should = run_check(make(Level.SHOULD, failing), context())
    may = run_check(make(Level.MAY, failing), context())
    assert (must.outcome, should.outcome, may.outcome) == (Outcome.FAILED, Outcome.WARNING, Outcome.SKIPPED)
    assert may.message.startswith("optional (MAY) behaviour not present: expected not found")
    assert must.evidence and must.evidence[0].status == 200
    details = must.details()
    assert "RFC 7644 §3.4.2 (MUST): expected not found" in details
    assert "expected: 404" in details and "curl " in details and SECRET not in details


def test_pass_skip_error_and_unmet_needs() -> None:
    passed = run_check(make(Level.MUST, succeeding), context())
    assert passed.outcome is Outcome.PASSED and len(passed.exchanges) == 1 and passed.expectations == 1

    skipped = run_check(make(Level.MUST, lambda ctx: ctx.skip("no groups here")), context())
    assert (skipped.outcome, skipped.message) == (Outcome.SKIPPED, "no groups here")

    def broken(ctx: CheckContext) -> None:
        raise KeyError(f"oops {SECRET}")

    error = run_check(make(Level.SHOULD, broken), context())
    assert error.outcome is Outcome.ERROR
    assert error.message.startswith("KeyError:") and SECRET not in error.message

    no_patch = Discovery(service_provider_config={"patch": {"supported": False}})
    unmet = run_check(make(Level.MUST, failing, needs=("patch",)), context(no_patch))
    assert (unmet.outcome, unmet.message) == (
        Outcome.SKIPPED,
        "ServiceProviderConfig says patch.supported=false",
    )
    assert unmet.exchanges == []


def test_results_json_junit_and_exit_code(tmp_path: Path) -> None:
    results = Results(run_id="t1", target={"description": "test target"})
    for level in (Level.MUST, Level.SHOULD, Level.MAY):
        results.add(run_check(make(level, failing), context()))
    results.add(run_check(make(Level.MUST, succeeding), context()))
    assert results.summary == {"passed": 1, "failed": 1, "warnings": 1, "skipped": 1, "errors": 0}
    assert results.exit_code() == 1
    assert results.summary_line() == "scimitar: FAIL: 1 passed, 1 failed, 1 warnings, 1 skipped, 0 errors"

    results.write_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert set(data) == {"run", "verdict", "summary", "readiness", "checks", "scenarios"}
    assert {"id", "target", "started", "duration_s", "scimitar_version"} <= set(data["run"])
    assert set(data["checks"][0]) == {
        "id",
        "title",
        "section",
        "requirement",
        "outcome",
        "message",
        "requests",
        "exchanges",
    }
    assert {"transcript", "curl"} <= set(data["checks"][0]["exchanges"][0])
    assert SECRET not in (tmp_path / "r.json").read_text(encoding="utf-8")

    results.write_junit(tmp_path / "r.xml")
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1" and suite.get("tests") == "4"
    cases = suite.findall("testcase")
    assert cases[0].get("classname") == "RFC 7644 §3.4.2" and cases[0].find("failure") is not None
    assert cases[0].find("system-out") is not None
    assert (
        cases[1].find("failure") is None and cases[1].find("properties/property[@name='warning']") is not None
    )
    assert cases[2].find("skipped") is not None
    assert SECRET not in (tmp_path / "r.xml").read_text(encoding="utf-8")

    ok = Results()
    ok.add(run_check(make(Level.SHOULD, failing), context()))
    assert ok.exit_code() == 0


def test_registry_refuses_duplicates_and_bad_ids() -> None:
    registry = Registry()

    def func(ctx: CheckContext) -> None:
        """Quote."""

    check("rfc7644-x", title="t", section="s", level="MUST", tags=("crud",), registry=registry)(func)
    for kwargs in (
        {"id": "rfc7644-x"},
        {"id": "my-check"},
        {"id": "rfc7644-y", "tags": ("nosuchsuite",)},
        {"id": "rfc7644-z", "broken_by": ("no-such-quirk",)},
    ):
        args = {"title": "t", "section": "s", "level": "MUST", "tags": ("crud",), "registry": registry}
        args.update({k: v for k, v in kwargs.items() if k != "id"})
        try:
            check(str(kwargs["id"]), **args)(func)  # type: ignore[arg-type]
        except ValueError:
            continue
        raise AssertionError(f"accepted {kwargs}")
    assert isinstance(CheckFailed("m"), AssertionError)


INJECT = '''
from scimitar.checks.registry import Level, check

@check("rfc7644-test-should-fails", title="always misses a SHOULD", section="RFC 7644 §4",
       level=Level.SHOULD, tags=("discovery",))
def should_fails(ctx):
    """A SHOULD sentence."""
    ctx.expect(False, "a SHOULD is not met", response=ctx.client.get("/ServiceProviderConfig"))

@check("rfc7644-test-may-absent", title="optional feature", section="RFC 7644 §4",
       level=Level.MAY, tags=("discovery",))
def may_absent(ctx):
    """A MAY sentence."""
    ctx.fail("not offered")
'''


def _pytest_suites(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "inject_checks.py").write_text(INJECT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    for name in ("SCIM_TOKEN", "SCIM_USERNAME", "SCIM_PASSWORD"):
        env.pop(name, None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "suites/test_discovery.py",
            "-p",
            "inject_checks",
            "-p",
            "no:locust",
            "-rA",
            *extra,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pytest_plugin_end_to_end(tmp_path: Path) -> None:
    out = _pytest_suites(
        tmp_path, "--scim-json", str(tmp_path / "r.json"), "--scim-junit", str(tmp_path / "j.xml")
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "WARNING" in out.stdout and "warnings: 1" in out.stdout
    from scimitar.checks.registry import all_checks, load_catalogue

    load_catalogue()
    passed = len(all_checks(suite="discovery"))  # every real discovery check passes on the strict server
    assert f"scimitar: PASS: {passed} passed, 0 failed, 1 warnings, 1 skipped, 0 errors" in out.stdout
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["summary"]["warnings"] == 1 and (tmp_path / "j.xml").is_file()

    broken = _pytest_suites(tmp_path, "--scim-quirk", "spc-no-auth-schemes")
    assert broken.returncode == 1
    assert "RFC 7643 §5 (MUST): authenticationSchemes is missing or empty" in broken.stdout
    assert "Bearer $SCIM_TOKEN" in broken.stdout

    unreachable = _pytest_suites(tmp_path, "--scim-target-url", "http://127.0.0.1:9")
    assert unreachable.returncode == 3
    assert "cannot reach http://127.0.0.1:9: connection refused" in unreachable.stdout + unreachable.stderr


HTML = "<!doctype html><html><body><h1>Welcome</h1></body></html>"


async def html_page(request: Request) -> Response:
    """What a web server that is no SCIM endpoint answers: 200 text/html to every method and path."""
    return Response(HTML, status_code=200, media_type="text/html")


def html_client() -> ScimClient:
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = Starlette(routes=[Route("/{path:path}", html_page, methods=methods)])
    return ScimClient(
        httpx.Client(transport=InProcessTransport(app, lifespan=False)),
        base_url="http://127.0.0.1/scim/v2",
        authorization=f"Bearer {SECRET}",
        masker=Masker([SECRET]),
        recorder=Recorder(),
    )


def test_no_check_passes_against_a_server_that_answers_html_to_everything() -> None:
    """Issue 9.4: a target answering `200 text/html` to everything gets no MUST pass. The probe,
    which says "not a SCIM endpoint" first, is bypassed: this holds the runner and the catalogue."""
    from scimitar.checks.registry import all_checks, load_catalogue

    load_catalogue()
    client, run = html_client(), Run(seed=0, run_id="html1")
    discovery = Discovery.fetch(client)
    assert discovery.service_provider_config is None and discovery.schemas is None

    def ctx(c: Check) -> CheckContext:
        recorder = Recorder()
        return CheckContext(client=client.with_recorder(recorder), run=run, discovery=discovery,
                            recorder=recorder, check=c)

    try:
        results = {c.id: (c, run_check(c, ctx(c))) for c in all_checks()}
    finally:
        client.http.close()
    must_passes = [i for i, (c, r) in results.items() if c.level is Level.MUST and r.outcome is Outcome.PASSED]
    assert not must_passes, f"MUST checks passed against an HTML page: {must_passes}"
    for named in ("rfc7644-3.12-error-schemas-uri", "rfc7644-3.12-error-status-string",
                  "rfc7235-3.1-401-www-authenticate"):
        outcome, message = results[named][1].outcome, results[named][1].message
        assert outcome is Outcome.SKIPPED and message.startswith("not exercised: "), (named, message)
    assert "answered 200, not an error" in results["rfc7644-3.12-error-schemas-uri"][1].message
    passes = sorted(i for i, (_, r) in results.items() if r.outcome is Outcome.PASSED)
    assert not passes, f"checks passed against an HTML page: {passes}"


def test_a_check_that_evaluates_nothing_is_not_exercised() -> None:
    """A check that returns without an expectation is SKIPPED "not exercised", with its reason;
    setup (`ctx.setup()`, `ctx.create`) does not count as exercising the requirement."""
    def silent(ctx: CheckContext) -> None:
        ctx.client.get("/Users")

    def said_why(ctx: CheckContext) -> None:
        ctx.not_exercised("the server never answered 4xx")

    def setup_only(ctx: CheckContext) -> None:
        response = ctx.client.get("/Users")
        with ctx.setup():
            ctx.expect_status(response, 200)
            ctx.expect(True, "setup holds")

    for body, why in ((silent, "the check evaluated no expectation"),
                      (said_why, "the server never answered 4xx"),
                      (setup_only, "the check evaluated no expectation")):
        result = run_check(make(Level.MUST, body), context())
        assert (result.outcome, result.message, result.expectations) == (
            Outcome.SKIPPED, f"not exercised: {why}", 0)

    def two(ctx: CheckContext) -> None:
        response = ctx.client.get("/Users")
        ctx.expect_status(response, 200)
        ctx.expect(response.status == 200, "ok")
        ctx.not_exercised("ignored: something was exercised")

    passed = run_check(make(Level.MUST, two), context())
    assert (passed.outcome, passed.expectations) == (Outcome.PASSED, 2)


def test_interop_checks_carry_the_idp_label_and_source() -> None:
    """Issue 9.10: `okta-*` / `entra-*` checks test what an IdP sends beyond the RFC; they are
    labelled "Okta interop" / "Entra interop" (not an RFC section) and name a public https source."""
    from scimitar.checks.registry import INTEROP_LABELS, all_checks, load_catalogue

    load_catalogue()
    interop = [c for c in all_checks() if c.interop]
    assert {c.id.split("-")[0] for c in interop} == {"okta", "entra"}
    for c in interop:
        label = next(v for k, v in INTEROP_LABELS.items() if c.id.startswith(k))
        assert (c.section, c.source.startswith("https://")) == (label, True), c.id
    assert all(not c.source and c.section.startswith("RFC") for c in all_checks() if not c.interop)

    def func(ctx: CheckContext) -> None:
        """Quote."""

    registry = Registry()
    for section, source in (("RFC 7644 §3.4.2", "https://example.org"), ("Okta interop", "")):
        try:
            check("okta-x", title="t", section=section, level="MUST", tags=("crud",), source=source,
                  registry=registry)(func)
        except ValueError:
            continue
        raise AssertionError(f"accepted okta-x with section {section!r}, source {source!r}")


def test_report_groups_interop_checks_under_their_label() -> None:
    from scimitar.report.features import SECTION_TITLES, check_features, section_group, section_rows

    assert section_group("Okta interop") == "Okta interop"
    assert check_features({"id": "entra-start-index-echo", "section": "Entra interop"}, ("pagination",)) == [
        "pagination", "entra"]
    rows = section_rows([{"id": "okta-patch-deactivate", "section": "Okta interop", "outcome": "passed"},
                         {"id": "rfc7644-3.6-delete-204", "section": "RFC 7644 §3.6", "outcome": "passed"}])
    assert [r.key for r in rows] == ["RFC 7644 §3.6", "Okta interop"]
    assert "developer.okta.com" in rows[1].note and "Okta interop" in SECTION_TITLES


def test_collection_paging_needs_no_filter() -> None:
    """Issue 9.6: the collection paging checks pass on a target that declares filtering unsupported
    and answers 501 to any `filter`, where the `userName sw` paging checks cannot run."""
    from urllib.parse import parse_qs

    from starlette.types import Receive, Scope, Send

    from scimitar.checks.registry import all_checks, load_catalogue
    from scimitar.server.app import create_app
    from scimitar.server.config import ServerConfig

    token = "no-filter-token-4417"
    inner = create_app(ServerConfig(tokens=[token]))

    async def no_filter(scope: Scope, receive: Receive, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode()) if scope["type"] == "http" else {}
        if any(k.lower() == "filter" for k in query):
            body = b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"501"}'
            await send({"type": "http.response.start", "status": 501,
                        "headers": [(b"content-type", b"application/scim+json")]})
            await send({"type": "http.response.body", "body": body})
            return
        await inner(scope, receive, send)

    client = ScimClient(
        httpx.Client(transport=InProcessTransport(no_filter, lifespan=False)),
        base_url="http://127.0.0.1/scim/v2",
        authorization=f"Bearer {token}",
        masker=Masker([token]),
        recorder=Recorder(),
    )
    run = Run(seed=3, run_id="nof1")
    discovery = Discovery.fetch(client)
    assert discovery.service_provider_config is not None
    discovery.service_provider_config["filter"] = {"supported": False, "maxResults": 0}
    load_catalogue()
    try:
        outcomes = {}
        for c in all_checks(suite="pagination"):
            recorder = Recorder()
            ctx = CheckContext(client=client.with_recorder(recorder), run=run, discovery=discovery,
                               recorder=recorder, check=c)
            outcomes[c.id] = run_check(c, ctx)
    finally:
        client.http.close()
    collection = {i: r for i, r in outcomes.items() if "-collection-" in i}
    assert len(collection) == 7
    assert all(r.outcome is Outcome.PASSED for r in collection.values()), {
        i: (r.outcome, r.message) for i, r in collection.items()}
    assert outcomes["rfc7644-3.4.2.4-count-limits-page"].outcome is Outcome.SKIPPED
