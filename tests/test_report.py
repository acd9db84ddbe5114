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


def with_probe(page: str, probe: str) -> str:
    """The page with a test's probe script before `</body>`, its hash added to the page's CSP
    (which runs no script it does not name: see tests/test_report_csp.py)."""
    from scimitar.report.html import CSP, script_hash

    code = probe.split(">", 1)[1].rsplit("</script>", 1)[0]
    allowed = CSP.replace("script-src ", f"script-src {script_hash(code)} ", 1)
    return page.replace(CSP, allowed, 1).replace("</body>", probe, 1)


def test_report_in_a_real_browser(
    quirky_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """Chromium (headless, no DevTools) loads the page offline: the summary is visible, and a
    failure's details are closed until its summary is clicked, then show the curl line."""
    browser = chromium()
    work, _ = quirky_run
    page = (work / "out" / "report.html").read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(with_probe(page, PROBE), encoding="utf-8")
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
