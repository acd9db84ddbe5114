"""Every encoding of every secret is masked in every output: unit level (the `Masker`) and end to end
(Bearer, Basic, `user:pass@` in the target URL, a query-string secret, `--header` values; each
run with a quirk so there are failures to render, every output file and the terminal searched)."""

from __future__ import annotations

import base64
import html
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest

from scimitar.exchange import MASK, Exchange, Masker, redact_url, secret_encodings
from scimitar.results import CheckResult, Outcome, Results

REPO = Path(__file__).resolve().parent.parent
TOKEN = 'tok/en+4"Q"&<y>\'z=='
PASSWORD = 'pä/ss "wörd"&<1>+'
HEADER_SECRET = "hdr/Val+ue&<k>"
QUERY_SECRET = "q/ry+Secret&x"


def every_form(secret: str) -> set[str]:
    """The encodings a test expects masked, written out independently of `secret_encodings`."""
    raw = secret.encode()
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret, safe="/"),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(json.dumps(secret)[1:-1])[1:-1],
        html.escape(secret),
        html.escape(secret, quote=False),
        html.escape(json.dumps(secret)[1:-1]),
        html.escape(json.dumps(secret, ensure_ascii=False)[1:-1]),
    }
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms |= {encoded, encoded.rstrip("=")}
    return forms


def leaks(text: str, secrets: list[str]) -> list[str]:
    return sorted({form for secret in secrets for form in every_form(secret) if form in text})


def test_every_encoding_is_derived_and_masked() -> None:
    masker = Masker([TOKEN])
    masker.add_basic("scim_user", PASSWORD)
    for secret in (TOKEN, PASSWORD, f"scim_user:{PASSWORD}"):
        missing = every_form(secret) - secret_encodings(secret)
        assert not missing, (secret, missing)
        for form in every_form(secret):
            assert masker.mask_text(f"before {form} after") == f"before {MASK} after", form


def test_an_exchange_renders_no_form_in_any_output() -> None:
    masker = Masker([TOKEN])
    masker.add_basic("scim_user", PASSWORD)
    body = {"userName": "a", "note": f"echo {TOKEN} {PASSWORD}"}
    request = httpx.Request(
        "POST",
        "https://scim.example.test/scim/v2/Users",
        params={"t": TOKEN},
        headers={"Authorization": f"Bearer {TOKEN}"},
        content=json.dumps(body).encode(),
    )
    response = httpx.Response(400, json={"detail": f"bad {TOKEN} / {PASSWORD}"}, request=request)
    request.read()
    exchange = Exchange.record(request, response, masker=masker, elapsed_ms=1)
    result = CheckResult(
        "x-check", "t", "RFC 7644 §3.3", "MUST", Outcome.FAILED, f"message {quote(TOKEN, safe='/')}",
        [exchange], 1.0, evidence=[exchange],
    )
    results = Results(run_id="r", masker=masker, checks=[result])
    outputs = [exchange.transcript(), exchange.curl(), result.details(), json.dumps(results.to_json())]
    for text in outputs:
        assert not leaks(masker.mask_text(text), [TOKEN, PASSWORD]), text


def test_redact_url_hides_userinfo_and_query() -> None:
    url = f"https://u:{quote(PASSWORD, safe='')}@h.example/scim/v2?api_key={quote(QUERY_SECRET)}&x=1"
    assert redact_url(url) == "https://u:****@h.example/scim/v2?api_key=****&x=****"


def test_target_url_userinfo_becomes_basic_and_query_values_are_secrets() -> None:
    import argparse

    from scimitar.options import resolve_target_options
    from scimitar.target import Target

    url = f"http://scim_u:{quote(PASSWORD, safe='')}@127.0.0.1:9/scim/v2"
    options = resolve_target_options(argparse.Namespace(target_url=url), environ={})
    assert options.basic == ("scim_u", PASSWORD) and options.url == "http://127.0.0.1:9/scim/v2"
    target = Target(options)
    assert target.describe()["auth"] == "basic"
    query = resolve_target_options(
        argparse.Namespace(target_url=f"http://127.0.0.1:9/scim/v2?api_key={quote(QUERY_SECRET)}"), environ={}
    )
    assert Target(query).describe()["auth"] == "URL query"
    assert QUERY_SECRET in Target(query).masker().secrets
    header = resolve_target_options(
        argparse.Namespace(target_url="http://127.0.0.1:9", header=[f"X-Tenant-Key: {HEADER_SECRET}"]), environ={}
    )
    assert Target(header).describe()["auth"] == "header X-Tenant-Key"
    assert HEADER_SECRET in Target(header).masker().secrets


# -- end to end ---------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIM_", "SCIMITAR_"))}
    env.pop("PYTEST_ADDOPTS", None)
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scimitar.cli", *argv],
        cwd=cwd, env=env or _env(), capture_output=True, text=True, timeout=240,
    )


def _scan(tmp_path: Path, out: subprocess.CompletedProcess[str], secrets: list[str]) -> int:
    """Search the terminal and every file under tmp_path; returns how many files were searched."""
    found = leaks(out.stdout + out.stderr, secrets)
    assert not found, f"terminal shows {found}"
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    for path in files:
        found = leaks(path.read_text(encoding="utf-8", errors="replace"), secrets)
        assert not found, f"{path.name} shows {found}"
    return len(files)


SELECT = ["--tag", "auth", "--tag", "filter", "--quirk", "filter-ignored"]


@pytest.mark.parametrize(
    ("name", "credential", "secrets"),
    [
        # with the Okta scenarios: token rotation sends credentials in bodies and paths
        ("bearer", ["--token", TOKEN, "--header", f"X-Tenant-Key: {HEADER_SECRET}", "--idp", "okta"],
         [TOKEN, HEADER_SECRET]),
        ("basic", ["--basic", f"scim_u:{PASSWORD}", "--no-scenarios"], [PASSWORD, f"scim_u:{PASSWORD}"]),
    ],
)
def test_embedded_runs_with_failures_leak_no_encoding(
    tmp_path: Path, name: str, credential: list[str], secrets: list[str]
) -> None:
    argv = ["test", *credential, *SELECT, "--reports-dir", "reports", "--json", "r.json", "--junit", "j.xml",
            "--", "-v"]  # -v: every exchange in full on the terminal too
    out = _run(argv, tmp_path)
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr  # filter-ignored breaks the filter checks
    assert "FAILED" in out.stdout or "failed" in out.stdout
    assert _scan(tmp_path, out, secrets) >= 4  # results.json, report.html, r.json, j.xml


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def basic_server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "scimitar.cli", "serve", "--port", str(port), "--basic", f"scim_u:{PASSWORD}",
         "--quirk", "filter-ignored"],
        env=_env(), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                httpx.get(f"http://127.0.0.1:{port}/scim/v2/ServiceProviderConfig", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield f"127.0.0.1:{port}/scim/v2"
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_userinfo_in_the_target_url_is_a_masked_basic_credential(tmp_path: Path, basic_server: str) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    url = f"http://scim_u:{quote(PASSWORD, safe='')}@{basic_server}"
    out = _run(["test", "--target-url", url, *SELECT[:-2], "--no-scenarios", "--json", "r.json", "--junit", "j.xml"],
               run_dir)
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr
    data = json.loads((run_dir / "r.json").read_text(encoding="utf-8"))
    assert data["run"]["target_details"]["auth"] == "basic"
    assert "(basic auth)" in data["run"]["target"]
    assert _scan(run_dir, out, [PASSWORD, f"scim_u:{PASSWORD}"]) >= 4


def test_query_secret_is_masked_in_the_exit_3_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:9/scim/v2?api_key={quote(QUERY_SECRET, safe='')}"
    for command in ("test", "cleanup"):
        extra = ["--run-id", "abc123"] if command == "cleanup" else []
        out = _run([command, "--target-url", url, *extra], tmp_path)
        assert out.returncode == 3, out.stderr
        assert "cannot reach" in out.stderr and MASK in out.stderr, out.stderr
        assert not leaks(out.stdout + out.stderr, [QUERY_SECRET]), out.stderr


class _EchoHandler(BaseHTTPRequestHandler):
    """A hostile target: answers every request with a ServiceProviderConfig-looking body, and echoes
    the credential it was sent in the encodings a careless server uses (percent-encoded with `/`
    kept, HTML-escaped, JSON-escaped inside a string) in headers and body."""

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        secret = auth.split(" ", 1)[-1]
        body = json.dumps({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": False}, "bulk": {"supported": False}, "filter": {"supported": False},
            "changePassword": {"supported": False}, "sort": {"supported": False}, "etag": {"supported": False},
            "authenticationSchemes": [],
            "detail": f"you sent {html.escape(secret)} / {quote(secret, safe='/')}",
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/scim+json")
        self.send_header("X-Echo-Url", quote(secret, safe="/"))
        self.send_header("X-Echo-Html", html.escape(secret))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_target_echoing_the_token_in_other_encodings_leaks_nothing(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/scim/v2"
        env = {**_env(), "SCIM_TOKEN": TOKEN}
        argv = ["test", "--target-url", url, "--tag", "discovery", "--no-scenarios", "--reports-dir", "reports",
                "--json", "r.json", "--junit", "j.xml", "--", "-v"]
        out = _run(argv, tmp_path, env)
    finally:
        server.shutdown()
        server.server_close()
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr  # discovery checks fail on this target
    assert "X-Echo-Url: ****" in out.stdout, out.stdout[-3000:]
    assert _scan(tmp_path, out, [TOKEN]) >= 4
