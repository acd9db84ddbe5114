"""The readiness verdict (one line per IdP) and step-level warning counts, in replay, JSON and HTML."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from scimitar.readiness import lines, verdicts

REPO = Path(__file__).resolve().parent.parent


def _entry(sid: str, outcome: str, *steps: tuple[str, str, str]) -> dict[str, object]:
    return {"id": sid, "idp": sid.split("/")[1], "outcome": outcome,
            "steps": [{"name": n, "outcome": o, "message": m} for n, o, m in steps]}


def test_one_line_per_idp_with_the_blocking_step() -> None:
    entries = [
        _entry("scenarios/okta/create.yaml", "passed", ("a", "passed", "")),
        _entry("scenarios/okta/deactivate.yaml", "failed", ("a", "passed", ""), ("b", "passed", ""),
               ("c", "failed", "body.active == false: body.active is True"), ("d", "skipped", "not run")),
        _entry("scenarios/okta/spec-test.yaml", "warning", ("a", "warning", "tolerated"), ("b", "warning", "x")),
        _entry("scenarios/okta/token-rotation.yaml", "skipped"),
        _entry("scenarios/entra/groups.yaml", "passed", ("a", "passed", "")),
        _entry("scenarios/clickhouse/test-plan.yaml", "error", ("a", "error", "target vanished")),
    ]
    assert lines(entries, {"scenarios/clickhouse/test-plan.yaml": "clickhouse"}) == [
        "Okta: provisioning would succeed on 2 of 3 flows; blocking: deactivate (step 3: body.active == false: "
        "body.active is True); 1 skipped; 2 tolerated RFC deviation(s) (warnings)",
        "Entra ID: provisioning would succeed on 1 of 1 flows",
        "ClickHouse (test plan, Okta's calls): provisioning would succeed on 0 of 1 flows; blocking: test-plan "
        "(step 1: target vanished)",
    ]
    okta = verdicts(entries)[0]
    assert (okta.flows, okta.succeeded, okta.skipped, okta.warnings) == (3, 2, 1, 2) and not okta.ready


def test_replay_prints_readiness_and_counts_step_warnings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM")}
    out = subprocess.run(
        [sys.executable, "-m", "scimitar.cli", "replay", str(REPO / "scenarios" / "okta" / "spec-test.yaml"),
         str(REPO / "scenarios" / "okta" / "deactivate.yaml"), "--quirk", "error-status-number",
         "--quirk", "patch-active-ignored", "--reports-dir", str(tmp_path / "reports")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr
    warn_lines = len(re.findall(r"^\s+WARN\s", out.stdout, re.M))
    assert warn_lines == 4, out.stdout  # the Spec Test's four numeric Error statuses, tolerated by Okta
    verdict = next(line for line in out.stdout.splitlines() if line.strip().startswith("Okta:"))
    assert verdict.strip().startswith("Okta: provisioning would succeed on 1 of 2 flows; blocking: deactivate (step 3:")
    summary = next(line for line in out.stdout.splitlines() if line.startswith("scimitar: ") and "passed" in line)
    assert summary == f"scimitar: FAIL: 0 passed, 1 failed, {warn_lines} warnings, 0 skipped, 0 errors"
    folder = next((tmp_path / "reports").glob("*/results.json")).parent
    document = json.loads((folder / "results.json").read_text())
    assert document["summary"]["warnings"] == warn_lines
    assert [v["line"] for v in document["readiness"]] == [verdict.strip()]
    spec = next(s for s in document["scenarios"] if s["id"] == "scenarios/okta/spec-test.yaml")
    assert spec["outcome"] == "warning"
    assert {w["check"] for st in spec["steps"] for w in st["warnings"]} == {"rfc7644-3.12-error-status-string",
                                                                          "rfc7644-3.3-error-409-uniqueness"}
    html = (folder / "report.html").read_text()
    assert 'id="readiness"' in html and html.index('id="readiness"') < html.index('id="summary"')
    assert "Okta: provisioning would succeed on 1 of 2 flows" in html
    assert "shared/" not in html + (folder / "results.json").read_text()
