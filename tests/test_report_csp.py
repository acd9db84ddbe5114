"""The report page runs no script but its own: a hash-based CSP (no `'unsafe-inline'` for scripts,
`base-uri 'none'`, `form-action 'none'`), and escaping that holds against hostile server output.

A SCIM server under test controls most of the text on the page (its error details, bodies, headers,
resource names). Escaping is the first defence; the CSP is the second: even a `<script>` that got
through would not run, because only the page's own script has the hash the policy names."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from scimitar.exchange import Exchange, Masker
from scimitar.report.html import CSP, SCRIPT, render
from scimitar.results import CheckResult, Outcome, Results

PAYLOADS = [
    "<script>document.title='pwned'</script>",
    "</script><script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "'><svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<base href=\"https://evil.example/\">",
    "<form action=\"https://evil.example/\"><button>go</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
    "<style>body{display:none}</style>",
    "<!--", "-->", "<![CDATA[", "]]>",
    "<details open ontoggle=alert(1)>",
    "<object data=\"data:text/html,<script>alert(1)</script>\">",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "\u2028\u2029<script>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]
HOSTILE = " ".join(PAYLOADS)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def _results(text: str) -> Results:
    request = httpx.Request(
        "POST", "https://scim.example.test/scim/v2/Users", params={"q": text},
        headers={"X-Echo": text.encode("ascii", "replace").decode()}, content=text.encode(),
    )
    request.read()
    response = httpx.Response(
        400, headers={"X-Detail": text.encode("ascii", "replace").decode()}, json={"detail": text}, request=request
    )
    exchange = Exchange.record(request, response, masker=Masker(), elapsed_ms=1)
    checks = [
        CheckResult(f"rfc7644-3.3-{i}", text, "RFC 7644 §3.3", "MUST", outcome, text, [exchange], 1.0,
                    expected=text, actual=text, evidence=[exchange])
        for i, outcome in enumerate((Outcome.FAILED, Outcome.WARNING, Outcome.ERROR, Outcome.PASSED))
    ]
    scenario = {"id": f"scenarios/okta/{text[:20]}.yaml", "idp": "okta", "outcome": "failed", "title": text,
                "steps": [{"name": text, "outcome": "failed", "message": text}]}
    return Results(run_id="csp", target={"description": text, "url": "https://scim.example.test"},
                   checks=checks, scenarios=[scenario])


def _policy(page: str) -> str:
    found = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    assert found, "no CSP meta"
    return found.group(1)


def test_csp_names_the_page_script_by_hash_and_forbids_base_and_forms() -> None:
    page = render(_results("plain"))
    policy = _policy(page)
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    assert directives["script-src"] == [f"'sha256-{digest}'"], policy
    assert "'unsafe-inline'" not in directives["script-src"]
    assert directives["base-uri"] == ["'none'"] and directives["form-action"] == ["'none'"]
    assert directives["default-src"] == ["'none'"] and policy == CSP


def test_hostile_text_is_escaped_everywhere() -> None:
    clean = _Tags()
    clean.feed(render(_results("plain")))
    parser = _Tags()
    page = render(_results(HOSTILE))
    parser.feed(page)
    assert parser.scripts == [SCRIPT], "a script element other than the page's own"
    assert {tag for tag, _ in parser.tags} == {tag for tag, _ in clean.tags}, "hostile text made new tags"
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name, value)
    assert _policy(page) == CSP


CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"]


def test_chromium_runs_the_page_script_and_refuses_a_smuggled_one(tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (tests/test_report.py installs it where it can)")
    page = render(_results("plain"))
    smuggled = "<script>document.body.setAttribute('data-pwned','yes')</script>"
    target = tmp_path / "report.html"
    target.write_text(page.replace("</main>", smuggled + "</main>", 1), encoding="utf-8")
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}"]
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    dom = subprocess.run([browser, *flags, "--dump-dom", target.as_uri() + "?open"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert "<details" in dom.stdout, dom.stderr[-2000:]
    assert 'data-pwned="yes"' not in dom.stdout, "a script without the page's hash ran"
    # `?open` makes the page's own script open every <details>: it ran under the policy.
    assert re.search(r"<details[^>]* open", dom.stdout), "the page's own script did not run"
