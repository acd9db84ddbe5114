"""The `scimitar` command: catalogue listing, one-line errors and the documented exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scimitar.cli import main, suites_dir

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = (
    "rfc7644-4-spc-reachable",
    "rfc7643-5-spc-authentication-schemes",
    "rfc7644-4-resourcetypes-list",
    "rfc7644-4-schemas-list",
)


def scimitar(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_")}
    return subprocess.run(
        [sys.executable, "-m", "scimitar.cli", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_checks_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks"]) == 0
    out = capsys.readouterr().out
    for check_id in EXAMPLES:
        assert check_id in out
    assert "MUST" in out and "RFC 7643 §5" in out
    assert main(["checks", "--json", "--tag", "auth"]) == 0
    listed = json.loads(capsys.readouterr().out)
    by_id = {c["id"]: c for c in listed}
    assert all("auth" in c["tags"] for c in listed)
    spc = by_id["rfc7643-5-spc-authentication-schemes"]
    assert spc["broken_by"] == ["spc-no-auth-schemes"] and "REQUIRED" in spc["doc"]


def test_unreachable_target_exits_3_with_one_line() -> None:
    out = scimitar("test", "--target-url", "http://127.0.0.1:9")
    assert out.returncode == 3
    assert out.stdout == ""
    assert out.stderr.strip() == "scimitar: cannot reach http://127.0.0.1:9: connection refused"
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ("test", "--token", "x", "--basic", "a:b"),
        ("test", "--target-url", "http://127.0.0.1:9", "--quirk", "filter-ignored"),
        ("test", "--no-such-flag"),
        ("cleanup",),
        ("cleanup", "--target-url", "http://127.0.0.1:9"),  # no --run-id / --all-runs
        ("test", "--target", "nope", "--config", "/nonexistent/scimitar.yaml"),
    ],
)
def test_usage_and_config_errors_exit_2_with_one_line(argv: tuple[str, ...]) -> None:
    out = scimitar(*argv)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr


def test_help_shows_examples() -> None:
    out = scimitar("test", "--help")
    assert out.returncode == 0
    assert "examples:" in out.stdout and "--target-url" in out.stdout and "SCIM_TOKEN" in out.stdout


def test_suites_are_found() -> None:
    found = suites_dir()
    assert found is not None and (found / "test_discovery.py").is_file()


def test_cleanup_unreachable_exits_3() -> None:
    out = scimitar("cleanup", "--target-url", "http://127.0.0.1:9", "--run-id", "abc123")
    assert out.returncode == 3 and len(out.stderr.strip().splitlines()) == 1


def test_test_command_against_the_embedded_server(tmp_path: Path) -> None:
    reports = ["--reports-dir", str(tmp_path / "reports")]  # never the checkout's reports/
    ok = scimitar("test", "-q", "--tag", "discovery", "--json", str(tmp_path / "r.json"), *reports)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    from scimitar.checks.registry import all_checks, load_catalogue

    load_catalogue()
    discovery = len(all_checks("discovery"))
    assert f"scimitar: PASS: {discovery} passed, 0 failed" in ok.stdout
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["summary"]["passed"] == discovery
    broken = scimitar("test", "-q", "--quirk", "schemas-incomplete", "-k", "schemas", *reports)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "/Schemas omits schemas" in broken.stdout
