"""The HTML report, the baseline gate, JUnit steps, secrets in every output, and a real browser.

The end-to-end tests run `scimitar test` once (module fixture) against the embedded server with a
known token and a few quirks switched on, so the outputs contain failures with transcripts: the
riskiest place for a credential to leak and the richest page for the browser test.
"""

from __future__ import annotations

import base64
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from scimitar.exchange import Exchange, Masker
from scimitar.report.baseline import compare
from scimitar.report.features import section_group
from scimitar.report.html import render
from scimitar.report.output import point_latest, write_outputs
from scimitar.results import CheckResult, Outcome, Results

REPO = Path(__file__).resolve().parent.parent
TOKEN = "tok-report-Zx81-known-secret-4e2f"
BASIC = ("scim_reportkey01", "basic-secret-Qm93-77")
QUIRKS = ("filter-ignored", "patch-active-ignored", "error-no-scimtype")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def secret_forms(*secrets: str) -> list[str]:
    """Each secret and its base64 forms (standard, URL-safe, unpadded)."""
    forms: set[str] = set()
    for secret in secrets:
        raw = secret.encode()
        forms.add(secret)
        for enc in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
            forms |= {enc, enc.rstrip("=")}
    return sorted(forms)


def scimitar(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SCIM")}
    return subprocess.run(
        [sys.executable, "-m", "scimitar.cli", *argv],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def exchange(status: int = 200, body: object = None) -> Exchange:
    masker = Masker([TOKEN])
    request = httpx.Request(
        "POST",
        "http://127.0.0.1/scim/v2/Users",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"userName": "a@example.com", "password": "hunter2-pass"},
    )
    response = httpx.Response(status, json=body if body is not None else {"detail": f"bad {TOKEN}"})
    return Exchange.record(request, response, masker=masker, elapsed_ms=1.5)


def small_results() -> Results:
    results = Results(run_id="abc123", target={"description": "t", "url": "https://x.example/scim/v2"})
    results.masker = Masker([TOKEN])
    evidence = exchange(200)
    results.add(
        CheckResult(
            id="rfc7644-3.3-create-201",
            title="create answers 201",
            section="RFC 7644 §3.3",
            requirement="MUST",
            outcome=Outcome.FAILED,
            message="POST /Users answered 200",
            exchanges=[evidence],
            duration_ms=3.0,
            expected=201,
            actual=200,
            evidence=[evidence],
        )
    )
    results.add(CheckResult("rfc7644-4-spc", "spc", "RFC 7644 §4", "MUST", Outcome.PASSED, "", [], 1.0))
    results.scenarios.append(
        {
            "id": "scenarios/okta/deactivate.yaml",
            "idp": "okta",
            "outcome": "failed",
            "title": "Okta deactivates",
            "steps": [
                {"name": "create", "outcome": "passed", "message": ""},
                {"name": "deactivate", "outcome": "failed", "message": "active is still true"},
            ],
        }
    )
    return results


# -- units -------------------------------------------------------------------------------------------


def test_html_is_self_contained_and_shows_failures() -> None:
    page = render(small_results())
    assert page.startswith("<!DOCTYPE html>")
    for needle in ("<link", 'src="http', "@import", "url(http", "fonts.googleapis"):
        assert needle not in page
    assert "default-src 'none'" in page  # the browser itself refuses any network request
    assert 'id="summary"' in page and "By feature" in page and "By RFC section" in page
    assert "RFC 7644 §3.3" in page and "creating resources" in page
    assert '<details class="failed" id="check-rfc7644-3.3-create-201">' in page
    assert "Bearer $SCIM_TOKEN" in page and "Bearer ****" in page
    assert "active is still true" in page and 'class="timeline"' in page
    assert TOKEN not in page and "hunter2-pass" not in page


def test_section_groups() -> None:
    assert section_group("RFC 7644 §3.4.2.2") == "RFC 7644 §3.4"
    assert section_group("RFC 7643 §4.1.1") == "RFC 7643 §4"
    assert section_group("RFC 7644 §3.14; RFC 7232 §3.1") == "RFC 7644 §3.14"
    assert section_group("Okta guide") == "Okta guide"


def test_baseline_new_known_fixed() -> None:
    before = {
        "checks": [
            {"id": "a", "outcome": "failed"},
            {"id": "b", "outcome": "failed"},
            {"id": "c", "outcome": "passed"},
        ],
        "scenarios": [{"id": "scenarios/okta/x.yaml", "outcome": "failed", "steps": []}],
    }
    now = {
        "checks": [
            {"id": "a", "outcome": "failed"},
            {"id": "b", "outcome": "passed"},
            {"id": "c", "outcome": "error"},
        ],
        "scenarios": [{"id": "scenarios/okta/x.yaml", "outcome": "failed", "steps": []}],
    }
    result = compare(now, before, "base.json")
    assert [e.id for e in result.new] == ["c"]
    assert sorted(e.id for e in result.known) == ["a", "scenarios/okta/x.yaml"]
    assert [e.id for e in result.fixed] == ["b"]
    assert not result.ok
    assert compare(before, before).ok


def test_outputs_scrub_base64_and_latest(tmp_path: Path) -> None:
    results = small_results()
    results.checks[0].message += " " + base64.b64encode(TOKEN.encode()).decode()  # a leak by hand
    written = write_outputs(
        results, reports_dir=tmp_path / "reports", junit_path=tmp_path / "j.xml", html_path=None
    )
    assert written.html == tmp_path / "reports" / "abc123" / "report.html"
    assert (tmp_path / "reports" / "latest" / "results.json").is_file()
    for path in (written.html, tmp_path / "j.xml", *written.json):
        text = path.read_text(encoding="utf-8")
        for form in secret_forms(TOKEN):
            assert form not in text, (path, form)
    junit = ET.parse(tmp_path / "j.xml").getroot()
    names = [case.get("name") for case in junit.iter("testcase")]
    assert "01 create" in names and "02 deactivate" in names
    failing = next(c for c in junit.iter("testcase") if c.get("name") == "02 deactivate")
    assert (
        failing.get("classname") == "scenarios/okta/deactivate.yaml" and failing.find("failure") is not None
    )
    # a second run moves latest; a plain folder in its place (a copy) is replaced too
    results.run_id = "def456"
    write_outputs(results, reports_dir=tmp_path / "reports")
    assert os.readlink(tmp_path / "reports" / "latest") == "def456"
    (tmp_path / "reports" / "latest").unlink()
    (tmp_path / "reports" / "latest").mkdir()
    point_latest(tmp_path / "reports", tmp_path / "reports" / "abc123")
    assert (tmp_path / "reports" / "latest" / "report.html").is_file()


# -- end to end ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quirky_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """`scimitar test` with a known token and three quirks: failures with transcripts everywhere."""
    work = tmp_path_factory.mktemp("run")
    args = ["test", "--token", TOKEN, "--run-id", "leaktest", "--json", "out/results.json"]
    args += ["--junit", "out/junit.xml", "--html", "out/report.html", "--reports-dir", "reports"]
    for quirk in QUIRKS:
        args += ["--quirk", quirk]
    out = scimitar(*args, "-v", cwd=work, env={"SCIM_TOKEN": TOKEN})
    return work, out


def test_no_secret_in_any_output(quirky_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    work, out = quirky_run
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr
    files = [p for p in work.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"results.json", "junit.xml", "report.html"} <= names, names
    data = json.loads((work / "out" / "results.json").read_text(encoding="utf-8"))
    assert data["summary"]["failed"] > 0 and data["scenarios"]
    forms = secret_forms(TOKEN)
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for form in forms:
            assert form not in text, f"{form!r} leaked into {path}"
    for form in forms:
        assert form not in out.stdout and form not in out.stderr, f"{form!r} leaked to the terminal"
    assert "Bearer ****" in out.stdout or "Bearer $SCIM_TOKEN" in out.stdout


def test_basic_credentials_never_leak(tmp_path: Path) -> None:
    """The ClickHouse profile with a Basic key and secret: the pair, its base64 and the secret."""
    out = scimitar(
        "test",
        "--profile",
        "clickhouse",
        "--basic",
        ":".join(BASIC),
        "--quirk",
        "filter-ignored",
        "--tag",
        "filter",
        "--tag",
        "auth",
        "--junit",
        "j.xml",
        "-v",
        cwd=tmp_path,
    )
    assert out.returncode in (0, 1), out.stdout[-2000:] + out.stderr
    forms = secret_forms(BASIC[1], ":".join(BASIC))
    for path in [p for p in tmp_path.rglob("*") if p.is_file()]:
        text = path.read_text(encoding="utf-8", errors="replace")
        for form in forms:
            assert form not in text, f"{form!r} leaked into {path}"
    for form in forms:
        assert form not in out.stdout + out.stderr


def test_terminal_summary_names_the_report(quirky_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    work, out = quirky_run
    tail = out.stdout.strip().splitlines()[-4:]
    assert any(line.startswith("scimitar: report  out/report.html") for line in tail), tail
    assert (work / "reports" / "leaktest" / "results.json").is_file()
    assert (work / "reports" / "latest").resolve() == (work / "reports" / "leaktest").resolve()


# -- a real browser ----------------------------------------------------------------------------------


def chromium() -> str:
    """The system Chromium, installed from Debian's packages when missing (skip if impossible)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("chromium is not installed and apt-get is not usable here (need root)")
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            check=True,
            capture_output=True,
            timeout=900,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"cannot install chromium: {exc}")
    found = shutil.which("chromium")
    if not found:
        pytest.skip("chromium installed but not on PATH")
    return found


PROBE = """<script>
(function(){
  function shown(el){
    if (!el) return false;
    var visible = el.checkVisibility ? el.checkVisibility({visibilityProperty: true}) : true;
    return visible && el.getBoundingClientRect().height > 0;
  }
  var out = {};
  var tiles = document.getElementById('summary');
  out.summaryVisible = shown(tiles) && tiles.innerText.indexOf('failed (MUST)') >= 0;
  out.matrixRows = document.querySelectorAll('#matrix ~ .matrices tbody tr').length;
  var d = document.querySelector('details.failed[id^="check-"]');
  var inner = d && d.querySelector('pre.curl');
  out.closedBefore = !!d && !d.open && !shown(inner);
  d.querySelector('summary').click();
  out.openAfter = d.open && shown(inner);
  out.curl = inner ? inner.textContent : '';
  var s = document.querySelector('details[id^="scenario-"].failed');
  s.querySelector('summary').click();
  out.timelineSteps = s.querySelectorAll('ol.timeline > li').length;
  out.timelineVisible = shown(s.querySelector('ol.timeline'));
  var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
  if (location.hash === '#shot') {
    document.querySelectorAll('main > *').forEach(function(el){
      if (el !== d && el.tagName !== 'H1' && el.id !== 'run-meta') el.style.display = 'none';
    });
  }
})();
</script></body>"""


def test_report_in_a_real_browser(
    quirky_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """Chromium (headless, no DevTools) loads the page offline: the summary is visible, and a
    failure's details are closed until its summary is clicked, then show the curl line."""
    browser = chromium()
    work, _ = quirky_run
    page = (work / "out" / "report.html").read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE, 1), encoding="utf-8")
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}"]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120
    )
    start = dom.stdout.find('<pre id="probe">')
    assert start >= 0, dom.stderr[-2000:]
    raw = dom.stdout[start + len('<pre id="probe">') : dom.stdout.index("</pre>", start)]
    result = json.loads(html.unescape(raw))
    assert result["summaryVisible"], result
    assert result["matrixRows"] >= 13
    assert result["closedBefore"] and result["openAfter"], result
    assert "$SCIM_TOKEN" in result["curl"] and TOKEN not in result["curl"]
    assert result["timelineSteps"] > 1 and result["timelineVisible"]

    shot = tmp_path / "report.png"
    subprocess.run(
        [
            browser,
            *flags[:-1],
            f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}",
            "--window-size=1280,1600",
            f"--screenshot={shot}",
            probe.as_uri() + "#shot",
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 20_000
    keep = os.environ.get("SCIMITAR_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report-failure.png")


# -- a failure tells its whole story (issue 12.4) ------------------------------------------------------


def _exchange_at(method: str, path: str, status: int, body: object, sent: object = None) -> Exchange:
    request = httpx.Request(
        method,
        f"http://127.0.0.1:8880/scim/v2{path}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json=sent,
    )
    return Exchange.record(request, httpx.Response(status, json=body), masker=Masker([TOKEN]), elapsed_ms=1.0)


def story_results() -> Results:
    """Okta's deactivate as the patch-active-ignored server answers it: created, PATCH accepted (200)
    and ignored, then the GET (the evidence) still says active."""
    create = _exchange_at("POST", "/Users", 201, {"id": "u1", "active": True}, {"userName": "x"})
    patch = _exchange_at(
        "PATCH", "/Users/u1", 200, {"id": "u1", "active": True}, {"Operations": [{"op": "replace", "value": {"active": False}}]}
    )
    read = _exchange_at("GET", "/Users/u1", 200, {"id": "u1", "active": True})
    results = Results(
        run_id="story1",
        target={"url": "http://127.0.0.1:8880/scim/v2", "embedded": True, "profile": "rfc",
                "quirks": ["patch-active-ignored"], "auth": "bearer", "description": "embedded"},
    )
    results.masker = Masker([TOKEN])
    results.add(
        CheckResult("okta-patch-deactivate", "deactivate", "RFC 7644 §3.5.2.3 (Okta)", "MUST", Outcome.FAILED,
                    "the user is not inactive", [create, patch, read], 2.0, actual=True, evidence=[read])
    )
    return results


def test_failure_shows_every_exchange_in_order_with_the_evidence_marked() -> None:
    page = render(story_results())
    body = page[page.index('id="check-okta-patch-deactivate"') :]
    positions = [body.index(f"{m} http://127.0.0.1:8880/scim/v2/Users") for m in ("POST", "PATCH", "GET")]
    assert positions == sorted(positions), positions  # in the order they were sent
    assert "3 exchange(s) in the order they were sent" in body
    assert body.count("decisive: the evidence") == 1
    decisive = body.index("decisive: the evidence")
    assert positions[2] < decisive and decisive - positions[2] < 400  # on the GET, not on the PATCH
    assert '&quot;active&quot;: false' in body  # the PATCH body that was accepted and ignored


def test_passing_scenario_steps_open_to_their_exchanges_and_json_keeps_them_capped() -> None:
    from scimitar.results import PASSING_TRANSCRIPT_CHARS, STEP_EXCHANGES_JSON, ScenarioDetail, StepDetail

    results = story_results()
    big = {"id": "u1", "description": "x" * 5000}
    steps = [
        StepDetail("create", "passed", "", exchanges=[_exchange_at("POST", "/Users", 201, big)]),
        StepDetail("poll", "passed", "", exchanges=[_exchange_at("GET", f"/Users?n={i}", 200, {}) for i in range(12)]),
        StepDetail("read back", "failed", "body.active is True",
                   exchanges=[_exchange_at("GET", "/Users/u1", 200, {"active": True})]),
    ]
    sid = "scenarios/okta/deactivate.yaml"
    results.scenarios.append({"id": sid, "idp": "okta", "outcome": "failed", "title": "t",
                              "steps": [{"name": s.name, "outcome": s.outcome, "message": s.message} for s in steps]})
    results.scenario_details[sid] = ScenarioDetail(sid, "t", "okta", "failed", steps=steps)
    page = render(results)
    timeline = page[page.index(f'id="scenario-{sid}"') :]
    assert '<details class="step passed">' in timeline  # a passing step opens too
    assert "POST http://127.0.0.1:8880/scim/v2/Users" in timeline
    data = results.to_json()
    entry = next(s for s in data["scenarios"] if s["id"] == sid)
    create, poll, failed = entry["steps"]
    assert create["requests"] == 1 and len(create["exchanges"]) == 1
    assert len(create["exchanges"][0]["transcript"]) <= PASSING_TRANSCRIPT_CHARS + 20
    assert poll["requests"] == 12 and len(poll["exchanges"]) == STEP_EXCHANGES_JSON
    assert "curl" in failed["exchanges"][0] and TOKEN not in json.dumps(data)


def test_first_failures_strip_comes_before_the_matrices() -> None:
    page = render(story_results())
    strip = page.index('id="first-failures"')
    assert strip < page.index('id="matrix"') and strip < page.index('id="run-meta"')
    assert 'href="#check-okta-patch-deactivate"' in page[strip : page.index('id="matrix"')]
    passing = small_results()
    passing.checks = [c for c in passing.checks if c.outcome is Outcome.PASSED]
    passing.scenarios = []
    assert 'id="first-failures"' not in render(passing)


def test_sort_paged_speaks_in_user_names() -> None:
    """The message once compared expected userNames with actual ids."""
    from scimitar.checks.context import Discovery
    from scimitar.checks.registry import load_catalogue
    from scimitar.options import RunOptions
    from scimitar.pytest_plugin import ScimSession
    from scimitar.quirks import Quirk
    from scimitar.run import Run
    from scimitar.target import Target, TargetOptions

    target = Target(TargetOptions(quirks=frozenset({Quirk.STARTINDEX_IGNORED})))
    session = ScimSession(target, Run(seed=3), RunOptions(seed=3))
    target.probe(session.masker, session.recorder)
    session.discovery = Discovery.fetch(session.client)
    check = next(c for c in load_catalogue() if c.id == "rfc7644-3.4.2.3-sort-paged")
    result = session.run_check(check)
    assert result.outcome is Outcome.FAILED, result.message
    import ast

    expected, actual = (ast.literal_eval(str(v)) for v in (result.expected, result.actual))
    assert expected and actual and expected != actual
    for value in [*expected, *actual]:
        assert value.endswith("@example.com"), (expected, actual)  # userNames, never ids


def test_scenario_messages_show_filled_templates(tmp_path: Path) -> None:
    out = scimitar(
        "replay", str(REPO / "scenarios/okta/import.yaml"), "--quirk", "startindex-ignored",
        "--reports-dir", "reports", cwd=tmp_path,
    )
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr
    data = json.loads(next((tmp_path / "reports").glob("*/results.json")).read_text(encoding="utf-8"))
    messages = [st["message"] for s in data["scenarios"] for st in s["steps"] if st["outcome"] == "failed"]
    assert any("not contains" in m for m in messages), messages
    assert not any("{{" in m for m in messages), messages


# -- support can reproduce (issue 12.6) ----------------------------------------------------------------


def test_serve_command_of_a_run() -> None:
    from scimitar.report.reproduce import serve_command

    assert serve_command({"embedded": False, "url": "https://x.example/scim/v2"}) is None
    line = serve_command(
        {"embedded": True, "url": "http://127.0.0.1:8880/scim/v2", "profile": "clickhouse",
         "quirks": ["filter-ignored"], "auth": "basic"}
    )
    assert line is not None
    assert "scimitar serve --port 8880 --profile clickhouse --quirk filter-ignored" in line
    assert '--basic "$SCIM_USERNAME:$SCIM_PASSWORD"' in line


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_recorded_curl_line_works_against_the_printed_serve_command(
    quirky_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """The report and the terminal print a `scimitar serve` line; started (on a free port instead of
    8880, which another process may hold), it answers a curl line the run recorded as the run's server
    did: same status, same quirk."""
    import re
    import shlex
    import socket
    import time

    work, out = quirky_run
    printed = [line for line in out.stdout.splitlines() if "need the same server on 127.0.0.1:8880" in line]
    assert printed, out.stdout[-2000:]
    serve_line = printed[-1].split(": ", 2)[-1]
    page = (work / "out" / "report.html").read_text(encoding="utf-8")
    assert html.escape(serve_line, quote=True) in page  # the report carries the same line
    export, command = serve_line.split("; ", 1)
    assert export.startswith("export SCIM_TOKEN=")
    argv = shlex.split(command)
    assert argv[:4] == ["scimitar", "serve", "--port", "8880"] and argv.count("--quirk") == len(QUIRKS)
    port = _free_port()
    argv[3] = str(port)
    local_token = "support-local-token-1"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM")} | {"SCIM_TOKEN": local_token}
    data = json.loads((work / "out" / "results.json").read_text(encoding="utf-8"))
    # a recorded filter request of a failing filter check: filter-ignored answers it with everything
    recorded = next(
        x for c in data["checks"] if c["outcome"] == "failed" and "filter" in c["id"]
        for x in c["exchanges"] if x["method"] == "GET" and "filter=" in x["url"]
    )
    curl = recorded["curl"].replace("127.0.0.1:8880", f"127.0.0.1:{port}")
    assert "$SCIM_TOKEN" in curl and TOKEN not in curl
    server = subprocess.Popen(
        [sys.executable, "-m", "scimitar.cli", *argv[1:]], env=env, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None and time.monotonic() < deadline, "scimitar serve did not start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        # a user the fresh server holds, so the ignored filter has something to return
        create = _exchange_at("POST", "/Users", 201, {}, {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                                          "userName": "support-probe@example.com"})
        seed = create.curl().replace("127.0.0.1:8880", f"127.0.0.1:{port}")
        if shutil.which("curl") is None:
            pytest.skip("curl is not installed")
        for line in (seed, curl):
            done = subprocess.run(["bash", "-c", line], env=env, capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, done.stderr
        status = int(re.match(r"HTTP/\S+ (\d{3})", done.stdout).group(1))  # type: ignore[union-attr]
        assert status == recorded["status"], done.stdout[:500]
        assert "support-probe@example.com" in done.stdout  # the filter was ignored, as in the run
    finally:
        server.terminate()
        server.wait(timeout=10)
