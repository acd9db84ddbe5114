"""Exit codes and one-line errors (README's exit-code table): a malformed scenario file is a
usage error (2), not Ctrl-C (130); `serve --port 99999` is one line and 2; a run that verified
nothing says so and exits 4; a YAML syntax error is blamed on the step that holds it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scimitar.scenario.loader import ScenarioLoadError, load_scenario

REPO = Path(__file__).resolve().parent.parent
DEACTIVATE = REPO / "scenarios" / "okta" / "deactivate.yaml"


def scimitar(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIM_", "SCIMITAR_"))}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-m", "scimitar.cli", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)


def _scenario_tree(tmp_path: Path, name: str, text: str) -> Path:
    tree = tmp_path / "scenarios"
    tree.mkdir()
    shutil.copy(REPO / "scenarios" / "scenario.schema.json", tree)
    (tree / name).write_text(text, encoding="utf-8")
    return tree


def test_malformed_yaml_under_scenarios_exits_2_not_130(tmp_path: Path) -> None:
    tree = _scenario_tree(tmp_path, "broken.yaml", "name: broken\n  steps: [\n")
    out = scimitar("test", "--tag", "discovery", "--reports-dir", "reports", "--", str(tree), cwd=tmp_path)
    assert out.returncode == 2, out.stdout[-2000:] + out.stderr
    assert "broken.yaml:2" in out.stdout and "invalid YAML" in out.stdout
    assert out.stderr.strip().splitlines()[-1].startswith("scimitar: 1 file(s) could not be loaded")
    assert "Traceback" not in out.stdout + out.stderr


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_serve_with_a_bad_port_is_one_line_and_exit_2(tmp_path: Path, port: str) -> None:
    out = scimitar("serve", "--port", port, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip() == f"scimitar: --port {port} is not a TCP port (0-65535; 0 picks a free one)"


def test_a_run_that_verified_nothing_says_so_and_exits_4(tmp_path: Path) -> None:
    # This check skips when /ServiceProviderConfig advertises no bulk.maxPayloadSize (the quirk).
    out = scimitar("test", "--quirk", "spc-incomplete", "-k", "rfc7644-3.7.4-bulk-max-payload-413",
                   "--json", "r.json", "--reports-dir", "reports", cwd=tmp_path)
    assert out.returncode == 4, out.stdout[-2000:] + out.stderr
    assert "scimitar: SKIPPED: 0 passed, 0 failed, 0 warnings, 1 skipped" in out.stdout
    assert "nothing was verified" in out.stdout
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["verdict"] == "SKIPPED"
    html = next((tmp_path / "reports").glob("*/report.html")).read_text(encoding="utf-8")
    assert "SKIPPED: nothing was verified" in html and ">PASS<" not in html


def test_yaml_syntax_error_is_blamed_on_the_step_that_holds_it(tmp_path: Path) -> None:
    """An unclosed quote in step 1 is noticed by the parser 14 lines later, inside step 2."""
    text = DEACTIVATE.read_text(encoding="utf-8")
    broken = text.replace("        displayName: Test User", '        displayName: "Test User', 1)
    assert broken != text
    tree = _scenario_tree(tmp_path, "quote.yaml", broken)
    with pytest.raises(ScenarioLoadError) as caught:
        load_scenario(tree / "quote.yaml")
    message = str(caught.value)
    assert "step 1 (assign the user (create))" in message, message
    assert "step 2" not in message
    (tmp_path / "b").mkdir()
    flow = _scenario_tree(tmp_path / "b", "flow.yaml", text.replace("type: work}]", "type: work}", 1))
    with pytest.raises(ScenarioLoadError) as caught:
        load_scenario(flow / "flow.yaml")
    assert "step 1" in str(caught.value) and "field emails" in str(caught.value), str(caught.value)
