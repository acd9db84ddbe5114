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
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

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
  function onScreen(el){  // visible without scrolling
    if (!shown(el)) return false;
    var r = el.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth;
  }
  var mode = location.hash.slice(1);
  var out = {mode: mode, height: window.innerHeight, width: window.innerWidth};
  var verdict = document.querySelector('h1 .verdict');
  out.verdict = verdict ? verdict.textContent : '';
  out.verdictOnScreen = onScreen(verdict);
  var keep = null;
  if (mode === 'failing' || mode === 'passing') {
    var tiles = document.getElementById('summary');
    out.summaryVisible = onScreen(tiles) && tiles.innerText.indexOf('failed (MUST)') >= 0;
    out.matrixRows = document.querySelectorAll('#matrix ~ .matrices tbody tr').length;
    var first = document.querySelector('#first-failures li');
    out.strip = !!document.getElementById('first-failures');
    out.firstFailureOnScreen = onScreen(first);
    out.firstFailureText = first ? first.innerText : '';
  }
  if (mode === 'failing') {
    var d = document.querySelector('details.failed[id^="check-"]');
    var inner = d && d.querySelector('details.exchange pre.curl');
    out.closedBefore = !!d && !d.open && !shown(inner);
    d.querySelector('summary').click();
    out.openAfter = d.open && shown(inner);
    out.curl = inner ? inner.textContent : '';
    var s = document.querySelector('details[id^="scenario-"].failed');
    s.querySelector('summary').click();
    out.timelineSteps = s.querySelectorAll('ol.timeline > li').length;
    out.timelineVisible = shown(s.querySelector('ol.timeline'));
    out.passingStepsExpandable = s.querySelectorAll('ol.timeline > li.passed > details.step').length;
    d.open = false; s.open = false;
  }
  if (mode === 'expanded') {
    keep = document.getElementById('check-okta-patch-deactivate');
    keep.querySelector('summary').click();
    var xs = keep.querySelectorAll('details.exchange');
    out.exchanges = Array.prototype.map.call(xs, function(x){ return x.querySelector('summary').innerText; });
    var decisive = keep.querySelector('details.exchange.decisive');
    out.decisiveVisible = shown(decisive) && decisive.open;
    out.decisiveCurl = shown(decisive.querySelector('pre.curl')) ? decisive.querySelector('pre.curl').textContent : '';
    out.patchBodyVisible = Array.prototype.some.call(xs, function(x){
      return x.open && x.querySelector('.reqline').textContent.indexOf('PATCH') === 0 &&
             x.innerText.indexOf('"active": false') >= 0;
    });
    out.serveVisible = shown(keep.querySelector('pre.serve-cmd'));
  }
  if (mode === 'load') {
    var charts = document.querySelectorAll('.chart svg');
    out.charts = charts.length;
    out.chartsVisible = Array.prototype.filter.call(charts, shown).length;
    out.lines = document.querySelectorAll('.chart svg polyline').length;
    out.legend = Array.prototype.map.call(document.querySelectorAll('.chart .legend span'), function(e){return e.innerText;});
    var link = document.querySelector('a[href$="report.html"]');
    out.locustLink = link ? link.getAttribute('href') : '';
    out.locustLinkOnScreen = onScreen(link);
    out.audit = document.getElementById('audit') ? document.getElementById('audit').nextElementSibling.innerText : '';
  }
  var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  pre.style.display = 'none';
  document.body.appendChild(pre);
  if (keep) {  // the screenshot of an expanded failure: that failure alone under the title
    document.querySelectorAll('main > *').forEach(function(el){
      if (el !== keep && el.tagName !== 'H1') el.style.display = 'none';
    });
    window.scrollTo(0, 0);
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


def browse(browser: str, page: Path, mode: str, size: tuple[int, int], shot: Path, tmp_path: Path) -> dict[str, Any]:
    """Open `page` with the probe in headless Chromium at `size`: the probe's findings (from the DOM)
    and a screenshot of what a user sees at that size, with the same mode."""
    probe = tmp_path / f"probe-{mode}.html"
    text = page.read_text(encoding="utf-8")
    if "script-src" not in text:  # the load page runs no script at all; let only the probe in
        text = text.replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';", 1)
        probe.write_text(text.replace("</body>", PROBE, 1), encoding="utf-8")
    else:  # the report runs only the script its CSP names by hash: name the probe too
        probe.write_text(with_probe(text, PROBE), encoding="utf-8")
    # beside the original, so relative links (load/report.html) resolve the same
    probe_at = page.with_name(f".probe-{mode}.html")
    shutil.copy(probe, probe_at)
    url = f"{probe_at.as_uri()}#{mode}"
    window = f"--window-size={size[0]},{size[1]}"
    dom = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}", window, "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    start = dom.stdout.find('<pre id="probe"')
    assert start >= 0, dom.stderr[-2000:]
    start = dom.stdout.index(">", start) + 1
    found: dict[str, Any] = json.loads(html.unescape(dom.stdout[start : dom.stdout.index("</pre>", start)]))
    subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}", window,
         f"--screenshot={shot}", url],
        capture_output=True, timeout=120,
    )
    probe_at.unlink()
    assert shot.is_file() and shot.stat().st_size > 20_000, shot
    keep = os.environ.get("SCIMITAR_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
    return found


@pytest.fixture(scope="module")
def passing_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("pass")
    out = scimitar("test", "--tag", "discovery", "--run-id", "passing", "--reports-dir", "reports", cwd=work)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    return work / "reports" / "passing" / "report.html"


@pytest.fixture(scope="module")
def load_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A short real `scimitar load` run (at most 6 s or 4000 requests; a progress line every second)."""
    import importlib.util

    # find, never import: importing locust monkey-patches this process with gevent (threads hang)
    if importlib.util.find_spec("locust") is None:
        pytest.skip("locust is not installed")
    work = tmp_path_factory.mktemp("load")
    out = scimitar(
        "load", "--workload", "okta-burst", "--users", "3", "--duration", "6s", "--max-requests", "4000",
        "--max-p95-ms", "5000", "--progress-every", "1", "--token", TOKEN, "--run-id", "loadrep", "--reports-dir", "reports", cwd=work,
    )
    return work, out


def test_report_in_a_real_browser(
    quirky_run: tuple[Path, subprocess.CompletedProcess[str]],
    passing_run: Path,
    load_run: tuple[Path, subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    """Chromium (headless, no DevTools) loads each page offline, as a user sees it: a passing run, a
    failing run at 1400x900 (a failure visible without scrolling), an expanded failure (every exchange,
    the decisive one open) and a load report (charts drawn); a screenshot of each."""
    browser = chromium()
    work, _ = quirky_run

    passing = browse(browser, passing_run, "passing", (1400, 900), tmp_path / "report-passing.png", tmp_path)
    assert passing["verdict"] == "PASS" and passing["verdictOnScreen"], passing
    assert passing["summaryVisible"] and not passing["strip"], passing

    failing_page = work / "out" / "report.html"
    failing = browse(browser, failing_page, "failing", (1400, 900), tmp_path / "report-failing-1400x900.png", tmp_path)
    # a 1400x900 window; its viewport is shorter (headless Chromium, like a desktop browser, keeps
    # some of the height for itself), so "visible without scrolling" is judged on less than 900 px
    assert failing["width"] == 1400 and 600 < failing["height"] <= 900, failing
    assert failing["verdict"].startswith("FAIL") and failing["verdictOnScreen"], failing
    assert failing["summaryVisible"], failing
    assert failing["firstFailureOnScreen"] and "FAIL" in failing["firstFailureText"], failing
    assert failing["matrixRows"] >= 13
    assert failing["closedBefore"] and failing["openAfter"], failing
    assert "$SCIM_TOKEN" in failing["curl"] and TOKEN not in failing["curl"]
    assert failing["timelineSteps"] > 1 and failing["timelineVisible"]
    assert failing["passingStepsExpandable"] >= 1, failing

    expanded = browse(browser, failing_page, "expanded", (1400, 2600), tmp_path / "report-expanded-failure.png", tmp_path)
    methods = [line.split()[1] for line in expanded["exchanges"]]
    assert methods == ["POST", "PATCH", "GET"], expanded["exchanges"]
    assert "decisive" in expanded["exchanges"][-1] and expanded["decisiveVisible"], expanded
    assert "$SCIM_TOKEN" in expanded["decisiveCurl"] and expanded["patchBodyVisible"], expanded
    assert expanded["serveVisible"], expanded

    load_work, load_out = load_run
    assert load_out.returncode == 0, load_out.stdout[-2000:] + load_out.stderr
    load_page = load_work / "reports" / "loadrep" / "report.html"
    load = browse(browser, load_page, "load", (1400, 1800), tmp_path / "report-load.png", tmp_path)
    assert load["verdict"] == "PASS" and load["verdictOnScreen"], load
    assert load["charts"] >= 3 and load["chartsVisible"] == load["charts"], load
    assert load["lines"] >= 4 and "POST /Users" in load["legend"], load
    assert load["locustLink"] == "load/report.html" and load["locustLinkOnScreen"], load
    assert (load_page.parent / load["locustLink"]).is_file()
    assert load["audit"].startswith("clean"), load


def test_load_report_and_progress(load_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    work, out = load_run
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    progress = re.findall(r"^scimitar load: (\d)/6 s, (\d+) requests sent, 0 failed, 0 throttled$", out.stdout, re.M)
    assert progress, out.stdout
    assert [int(s) for s, _ in progress] == sorted(int(s) for s, _ in progress)  # while it runs, in order
    page = (work / "reports" / "loadrep" / "report.html").read_text(encoding="utf-8")
    assert f"scimitar load: report  {work / 'reports' / 'loadrep' / 'report.html'}" in out.stdout
    assert "default-src 'none'" in page and "<script" not in page
    for needle in ("<link", 'src="http', "@import", "url(http"):
        assert needle not in page
    assert page.count("<svg") >= 3 and "Requests per second, by request type" in page
    assert "95th percentile latency" in page and "<code>--max-p95-ms</code>" in page
    assert "Integrity audit" in page and "Retry-After" in page
    assert TOKEN not in page


def test_load_report_says_why_it_failed(tmp_path: Path) -> None:
    from scimitar.report.load import render_load

    (tmp_path / "locust_stats_history.csv").write_text(
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%\n"
        "100,2,POST,POST /Users,10,0,5,9\n100,2,,Aggregated,10,0,5,9\n"
        "101,2,POST,POST /Users,12,1,6,30\n101,2,,Aggregated,12,1,6,30\n",
        encoding="utf-8",
    )
    summary = {
        "verdict": "fail", "run_id": "r", "requests": 22, "errors": 1, "error_rate": 0.045,
        "latency_ms": {"p50": 5, "p95": 30, "p99": 30},
        "thresholds": [{"name": "max-p95-ms", "limit": 20.0, "value": 30.0, "passed": False}],
        "audit": {"passed": False, "findings": [{"kind": "lost", "severity": "fail",
                                                 "message": "user x was confirmed but is gone", "subject": "x"}]},
        "errors_by_status": {"500": 1}, "throttled": {"count": 0},
        "by_name": [{"name": "POST /Users", "method": "POST", "requests": 22, "failures": 1, "rps": 11,
                     "p50_ms": 5, "p95_ms": 30, "p99_ms": 30}],
    }
    page = render_load(summary, tmp_path)
    why = page[page.index("Why it failed") : page.index('id="run-meta"')]
    assert "max-p95-ms 30 (limit 20)" in why and "integrity audit found 1 problem" in why
    assert "user x was confirmed but is gone" in page and "<code>500</code>" in page
    assert page.count("<polyline") >= 3  # req/s, p95 and failures/s of POST /Users and the aggregate


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
    from scimitar.results import (
        PASSING_STEP_EXCHANGES_JSON,
        PASSING_TRANSCRIPT_CHARS,
        ScenarioDetail,
        StepDetail,
    )

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
    assert poll["requests"] == 12 and len(poll["exchanges"]) == PASSING_STEP_EXCHANGES_JSON
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


def test_a_long_story_keeps_its_ends_and_the_evidence() -> None:
    from scimitar.report.html import MAX_EXCHANGES

    results = story_results()
    many = [_exchange_at("GET", f"/Users?page={i}", 200, {}) for i in range(40)]
    check = results.checks[0]
    check.exchanges, check.evidence = many, [many[20]]
    page = render(results)
    shown = [i for i in range(40) if f"/Users?page={i} " in page or f"/Users?page={i}<" in page]
    assert 0 in shown and 39 in shown and 20 in shown, shown
    assert len(shown) == MAX_EXCHANGES + 1  # the first quarter, the rest from the end, and the evidence
    assert "exchange(s) left out here" in page
