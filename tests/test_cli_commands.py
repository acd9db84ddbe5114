"""The wired subcommands (replay, load, serve), selection by IdP, the JSON shape and the baseline gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def scimitar(*argv: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM")}
    return subprocess.run(
        [sys.executable, "-m", "scimitar.cli", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("command", ["test", "replay", "serve", "checks", "cleanup", "load"])
def test_every_subcommand_has_help_with_examples(command: str) -> None:
    out = scimitar(command, "--help")
    assert out.returncode == 0, out.stderr
    assert "examples:" in out.stdout and f"scimitar {command}" in out.stdout


def test_replay_passes_then_reproduces_a_quirk(tmp_path: Path) -> None:
    scenario = str(REPO / "scenarios" / "okta" / "deactivate.yaml")
    ok = scimitar("replay", scenario, "--quiet", "--json", str(tmp_path / "r.json"), cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    entry = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["scenarios"][0]
    assert entry["id"] == "scenarios/okta/deactivate.yaml" and entry["outcome"] == "passed"
    broken = scimitar("replay", scenario, "--quirk", "patch-active-ignored", cwd=tmp_path)
    assert broken.returncode == 1 and "FAIL" in broken.stdout and "$SCIM_TOKEN" in broken.stdout
    missing = scimitar("replay", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert missing.returncode == 2


def test_load_lists_workloads() -> None:
    out = scimitar("load", "--list-workloads")
    assert out.returncode == 0 and "okta-burst" in out.stdout


def test_idp_selection_json_shape_and_junit_steps(tmp_path: Path) -> None:
    out = scimitar("test", "-q", "--idp", "entra", "--json", "r.json", "--junit", "j.xml", cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert set(data["summary"]) == {"passed", "failed", "warnings", "skipped", "errors", "interrupted"}
    assert data["summary"]["interrupted"] is False and data["verdict"] == "PASS"
    assert data["scenarios"] and {s["idp"] for s in data["scenarios"]} == {"entra"}
    for scenario in data["scenarios"]:
        assert scenario["id"].startswith("scenarios/entra/") and scenario["id"].endswith(".yaml")
        assert {"id", "idp", "outcome", "steps"} <= set(scenario)
        assert all(set(step) >= {"name", "outcome", "message"} for step in scenario["steps"])
    assert all(c["id"].startswith("entra-") for c in data["checks"])
    for check in data["checks"]:
        assert {"id", "section", "requirement", "outcome", "message"} <= set(check)
        assert check["outcome"] in ("passed", "failed", "warning", "skipped", "error")
    cases = list(ET.parse(tmp_path / "j.xml").getroot().iter("testcase"))
    steps = sum(len(s["steps"]) for s in data["scenarios"])
    assert len(cases) == len(data["checks"]) + steps
    assert (tmp_path / "reports" / "latest" / "report.html").is_file()


def test_baseline_gate(tmp_path: Path) -> None:
    select = ("-q", "--tag", "sort")
    first = scimitar("test", *select, "--quirk", "sort-order-ignored", "--json", "base.json", cwd=tmp_path)
    assert first.returncode == 1, first.stdout[-2000:]
    known = scimitar(
        "test",
        *select,
        "--quirk",
        "sort-order-ignored",
        "--baseline",
        "base.json",
        "--json",
        "k.json",
        cwd=tmp_path,
    )
    assert known.returncode == 0, known.stdout[-2000:]
    assert "0 new failure(s)" in known.stdout and "known" in known.stdout
    assert json.loads((tmp_path / "k.json").read_text(encoding="utf-8"))["baseline"]["ok"] is True
    worse = scimitar(
        "test",
        *select,
        "--quirk",
        "sort-order-ignored",
        "--quirk",
        "sort-ignored",
        "--baseline",
        "base.json",
        cwd=tmp_path,
    )
    assert worse.returncode == 1 and "NEW" in worse.stdout
    fixed = scimitar("test", *select, "--baseline", "base.json", cwd=tmp_path)
    assert fixed.returncode == 0 and "fixed" in fixed.stdout
    bad = scimitar("test", "--baseline", "missing.json", cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_serve_reads_the_token_from_the_environment_and_binds_port_0() -> None:
    """`scimitar serve --port 0` prints the bound port; the token comes from $SCIMITAR_SERVE_TOKEN
    (so it is not in `ps`); `--allow-duplicate-group-names` lifts displayName uniqueness."""
    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM")}
    env["SCIMITAR_SERVE_TOKEN"] = "env-token-0123456789"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scimitar.cli", "serve", "--port", "0", "--allow-duplicate-group-names"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "scimitar reference server" in first, first + (proc.stderr.read() if proc.poll() is not None else "")
        url = first.split(" at ", 1)[1].strip()
        port = int(url.split(":")[2].split("/")[0])
        assert port not in (0, 8880)
        lines = [proc.stdout.readline() for _ in range(3)]
        assert any("$SCIMITAR_SERVE_TOKEN" in line for line in lines), lines
        assert not any("env-token" in line for line in lines)
        headers = {"Authorization": "Bearer env-token-0123456789"}
        with httpx.Client(base_url=url, headers=headers, timeout=10) as c:
            for _ in range(100):  # the socket is bound before uvicorn has started serving
                try:
                    r = c.get("/ServiceProviderConfig")
                    break
                except httpx.TransportError:
                    import time

                    time.sleep(0.05)
            assert r.status_code == 200
            group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Twins"}
            assert [c.post("/Groups", json=group).status_code for _ in range(2)] == [201, 201]
            assert c.get("/Users", headers={"Authorization": "Bearer wrong"}).status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_token_sources() -> None:
    import argparse

    from scimitar.server.cli import add_arguments, build_config

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config, notes = build_config(parser.parse_args([]), {"SCIM_TOKEN": "from-scim-token"})
    assert config.tokens == ["from-scim-token"] and notes == ["  Bearer token: from $SCIM_TOKEN"]
    env = {"SCIM_TOKEN": "b", "SCIMITAR_SERVE_TOKEN": "a"}
    assert build_config(parser.parse_args([]), env)[0].tokens == ["a"]
    assert build_config(parser.parse_args(["--token", "flag"]), env)[0].tokens == ["flag"]
    config, notes = build_config(parser.parse_args([]), {})
    assert len(config.tokens) == 1 and "shown once" in notes[0]
    assert config.group_display_name_unique
    assert not build_config(parser.parse_args(["--allow-duplicate-group-names"]), {})[0].group_display_name_unique
