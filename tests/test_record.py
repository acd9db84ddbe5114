"""`scimitar record`: the shipped Okta and Entra flows, recorded through the proxy in front of a
strict `scimitar serve`, replay on a fresh strict server and fail under each quirk the original
declares; the file validates, carries no credential and names the IdP; the proxy binds loopback,
bounds bodies and writes what it has on Ctrl-C; a HAR file gives the same scenario."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scimitar.record.model import Capture, Captured
from scimitar.record.proxy import ListenError, RecordingProxy, parse_listen
from scimitar.record.writer import build_scenario, guess_idp
from tests.recording import TOKEN, load, quirky_server, record, replay, scimitar_serve, to_har
from tests.uvicorn_server import serving

REPO = Path(__file__).resolve().parent.parent


def recordable() -> list[Path]:
    """Okta and Entra flows a proxy can see whole: no console or observer steps (those talk to the
    reference server's own console, not over SCIM), no credential switches."""
    files = sorted((REPO / "scenarios" / "okta").glob("*.yaml")) + sorted((REPO / "scenarios" / "entra").glob("*.yaml"))
    out = []
    for file in files:
        scenario = load(file)
        if scenario.requires.admin or any(s.kind in ("admin", "observe", "use_auth") for s in scenario.steps):
            continue
        out.append(file)
    return out


RECORDABLE = recordable()


@pytest.fixture(scope="module")
def strict_upstream() -> Iterator[str]:
    with scimitar_serve() as url:
        yield url


def test_most_shipped_okta_and_entra_flows_are_recordable() -> None:
    # token-rotation (console steps) is the only one left out
    assert len(RECORDABLE) >= 20, RECORDABLE


@pytest.mark.parametrize("file", RECORDABLE, ids=lambda f: f"{f.parent.name}/{f.name}")
def test_recording_replays_strict_and_fails_under_each_declared_quirk(
    file: Path, strict_upstream: str, tmp_path: Path
) -> None:
    out = tmp_path / "recording.yaml"
    code, text, _ = record(file, strict_upstream, tmp_path, out)
    assert code == 0, text  # the original passes through the proxy: it forwards unchanged
    original = load(file)
    recorded = load(out)  # validates against scenarios/scenario.schema.json (raises otherwise)
    assert recorded.idp == original.idp
    body = out.read_text(encoding="utf-8")
    assert TOKEN not in body and base64.b64encode(TOKEN.encode()).decode() not in body
    assert "Authorization" not in body and "1mz050nq" not in body  # credential and Okta's user password
    creates = any(s.kind == "request" and s.spec.get("method") == "POST" and s.spec.get("path") in ("/Users", "/Groups")
                  for s in original.steps)
    assert "capture:" in body or not creates  # the id the server assigned is captured
    assert "{{ run.prefix" in body
    code, text = replay([out], tmp_path)
    assert code == 0, text
    for quirk in original.broken_by:
        code, text = replay([out], tmp_path, "--quirk", quirk)
        assert code == 1, f"{quirk}: the recording should fail under it\n{text}"


def test_listen_is_loopback_unless_asked() -> None:
    assert parse_listen("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_listen("[::1]:8089") == ("::1", 8089)
    with pytest.raises(ListenError, match="--listen-any"):
        parse_listen("0.0.0.0:8089")
    assert parse_listen("0.0.0.0:8089", allow_any=True) == ("0.0.0.0", 8089)
    with pytest.raises(ListenError):
        parse_listen("8089")


def test_cli_refuses_a_public_listen_address(tmp_path: Path) -> None:
    from scimitar.cli import main

    assert main(["record", "--upstream", "http://127.0.0.1:1/scim/v2", "--listen", "0.0.0.0:0",
                 "--out", str(tmp_path / "x.yaml")]) == 2
    assert not (tmp_path / "x.yaml").exists()


def test_bodies_over_the_bound_are_refused_and_not_recorded() -> None:
    capture = Capture(upstream_host="upstream")
    with quirky_server() as upstream:
        app = RecordingProxy(upstream, capture, max_body_bytes=2048)
        with serving(app) as port, httpx.Client(timeout=10) as client:
            big = client.post(f"http://127.0.0.1:{port}/Users", content=b"x" * 4096,
                              headers={"Authorization": f"Bearer {TOKEN}"})
            ok = client.get(f"http://127.0.0.1:{port}/ServiceProviderConfig",
                            headers={"Authorization": f"Bearer {TOKEN}"})
    assert big.status_code == 413
    assert ok.status_code == 200
    assert [ex.path for ex in capture.exchanges] == ["/ServiceProviderConfig"]


def test_ctrl_c_writes_what_was_recorded_without_the_credential(tmp_path: Path) -> None:
    out = tmp_path / "rec.yaml"
    with quirky_server() as upstream:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scimitar.cli", "record", "--upstream", upstream, "--listen", "127.0.0.1:0",
             "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith("recording: http://127.0.0.1:"), line + (proc.stderr.read() if proc.stderr else "")
            proxy = line.split()[1]
            headers = {"Authorization": f"Bearer {TOKEN}", "User-Agent": "Okta SCIM Client 1.0.0",
                       "Content-Type": "application/scim+json; charset=utf-8"}
            with httpx.Client(timeout=10) as client:
                body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ctrl.c@example.com"}
                created = client.post(f"{proxy}/Users", content=json.dumps(body, separators=(",", ":")),
                                      headers=headers)
                assert created.status_code == 201, created.text
                read = client.get(f"{proxy}/Users/{created.json()['id']}", headers=headers)
                assert read.status_code == 200
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    assert proc.returncode == 0, stderr
    assert "recorded 2 requests (idp: okta)" in stdout
    text = out.read_text(encoding="utf-8")
    assert TOKEN not in text and TOKEN not in stdout + stderr
    scenario = load(out)
    assert [s.name.split(" ->")[0] for s in scenario.steps] == ["POST /Users", f"GET /Users/{created.json()['id']}"]
    assert "{{ captured.user_1_id }}" in text and "{{ user_1_name }}" in text
    assert scenario.variables["user_1_name"] == "{{ run.prefix }}ctrl.c@example.com"
    code, report = replay([out], tmp_path)
    assert code == 0, report


def test_nothing_recorded_writes_nothing(tmp_path: Path) -> None:
    import io

    from scimitar.record.cli import write

    assert write(Capture(upstream_host="x"), str(tmp_path / "none.yaml"), None, io.StringIO()) == 4
    assert not (tmp_path / "none.yaml").exists()


def test_from_har_gives_a_replayable_scenario_without_the_secret(strict_upstream: str, tmp_path: Path) -> None:
    file = REPO / "scenarios" / "entra" / "create-user.yaml"
    _, _, capture = record(file, strict_upstream, tmp_path, tmp_path / "proxy.yaml")
    secret = "har-secret-token-9d8c7b6a"
    har = tmp_path / "capture.har"
    har.write_text(json.dumps(to_har(capture, "https://customer.example/scim/v2", f"Bearer {secret}")))
    from scimitar.cli import main

    out = tmp_path / "from-har.yaml"
    assert main(["record", "--from-har", str(har), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert secret not in text and base64.b64encode(secret.encode()).decode() not in text
    scenario = load(out)
    assert scenario.idp == "entra"
    assert "customer.example" in scenario.description
    assert len(scenario.steps) == len(capture.exchanges)
    code, report = replay([out], tmp_path)
    assert code == 0, report
    code, report = replay([out], tmp_path, "--quirk", "filter-empty-404")
    assert code == 1, report


def test_har_that_is_not_one_is_a_usage_error(tmp_path: Path) -> None:
    from scimitar.cli import main

    bad = tmp_path / "bad.har"
    bad.write_text('{"log": {}}')
    assert main(["record", "--from-har", str(bad), "--out", str(tmp_path / "o.yaml")]) == 2


def _captured(method: str, path: str, query: str = "", body: bytes = b"", agent: str | None = None) -> Captured:
    headers = [("User-Agent", agent)] if agent else []
    return Captured(method, path, query, headers, body, 200, {}, b"")


def test_idp_guessed_from_user_agent_then_request_forms() -> None:
    assert guess_idp([_captured("GET", "/Users", agent="Okta SCIM Client 1.0.0")]) == "okta"
    assert guess_idp([_captured("GET", "/Users", agent="Azure AD SCIM Client")]) == "entra"
    assert guess_idp([_captured("GET", "/Users", "filter=userName%20eq%20%22a%22&startIndex=1&count=100")]) == "okta"
    assert guess_idp([_captured("PATCH", "/Users/1", "aadOptscim062020",
                                b'{"Operations":[{"op":"Replace","path":"active","value":false}]}')]) == "entra"
    assert guess_idp([_captured("GET", "/Users")]) == "generic"


def test_a_query_the_engine_would_encode_differently_is_kept_raw() -> None:
    capture = Capture(upstream_host="h")
    capture.add(_captured("GET", "/Users", "filter=userName+eq+%22a%22", agent="x"))
    capture.add(_captured("GET", "/Users", "filter=userName%20eq%20%22a%22", agent="x"))
    steps = build_scenario(capture)["steps"]
    assert steps[0]["request"]["path"] == "/Users?filter=userName+eq+%22a%22"
    assert steps[1]["request"]["query"] == {"filter": 'userName eq "a"'}


def test_names_the_idp_chose_go_under_the_run_prefix_and_echoed_secrets_are_masked() -> None:
    from scimitar.record.model import keep_headers
    from scimitar.record.writer import to_yaml

    capture = Capture(upstream_host="scim.customer.example")
    kept, authorized = keep_headers([("Authorization", "Bearer cust-secret-token-abc123"),
                                     ("User-Agent", "Okta SCIM Client 1.0.0")], capture.masker)
    create = b'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Engineering"}'
    answer = (b'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g-77","displayName":"Engineering",'
              b'"note":"seen cust-secret-token-abc123"}')
    capture.add(Captured("POST", "/Groups", "", [*kept, ("Content-Type", "application/scim+json; charset=utf-8")],
                         create, 201, {"content-type": "application/scim+json"}, answer, authorized))
    capture.add(Captured("GET", "/Groups/g-77", "", kept, b"", 200, {"content-type": "application/scim+json"},
                         answer, authorized))
    scenario = build_scenario(capture)
    text = to_yaml(scenario, capture.masker)
    assert "cust-secret-token-abc123" not in text
    assert scenario["vars"] == {"group_1_name": "{{ run.prefix }}Engineering"}
    body = scenario["steps"][0]["request"]["json"]
    assert body == {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "{{ group_1_name }}"}
    assert scenario["steps"][0]["capture"] == {"group_1_id": "body.id"}
    assert scenario["steps"][1]["request"]["path"] == "/Groups/{{ captured.group_1_id }}"
    assert scenario["steps"][1]["expect"]["json"]["id"] == "{{ captured.group_1_id }}"
