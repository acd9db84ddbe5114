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
    assert set(data["summary"]) == {"passed", "failed", "warnings", "skipped", "errors"}
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
